/*
 * steps_block.c - block the PIN, so that a card lost in the mail is useless
 * until its holder has it unblocked.
 *
 * The PIN tries are spent with a value the card certainly does not hold
 * (the card layer picks it from the PIN the executor knows). The proof is
 * the PIN counter at zero, and the PUK and admin-key counters exactly as
 * they were before: blocking must never cost the credentials that unblock.
 */
#include <stdio.h>

#include "personalize/pers_int.h"

static int same_counter(const cf_tries_t *a, const cf_tries_t *b)
{
    if (a->kind != CF_TRIES_KNOWN || b->kind != CF_TRIES_KNOWN)
        return 1; /* nothing to compare; nothing the step did touches it */
    return a->left == b->left;
}

cf_err_t pers_step_block_pin(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    const cf_profile_t *pr = cf_card_profile(ps->card);
    cf_tries_t puk0, adm0;
    pers_read_tries(ps->card, CF_CRED_PUK, &puk0); /* none: unknown, nothing sent */
    pers_read_tries(ps->card, CF_CRED_ADMIN, &adm0);

    cf_err_t e = pers_intent(ps, st, r);
    if (e != CF_OK)
        return e;
    const cf_secret_t *known = ps->pin;
    if (known == NULL)
        known = cf_profile_factory(pr, CF_CRED_PIN);
    unsigned spent = 0;
    e = cf_card_block_pin(ps->card, known, &spent);
    r->reached = pers_reached(ps, e);
    if (e != CF_OK) {
        pers_fail(ps, r, e, "block the PIN");
        return r->err;
    }

    cf_tries_t pin1, puk1, adm1;
    pers_read_tries(ps->card, CF_CRED_PIN, &pin1);
    pers_read_tries(ps->card, CF_CRED_PUK, &puk1);
    pers_read_tries(ps->card, CF_CRED_ADMIN, &adm1);
    if (pin1.kind == CF_TRIES_KNOWN && pin1.left != 0) {
        r->err = CF_ERR_PROOF_FAILED;
        r->outcome = CF_OUTCOME_FAILED;
        pers_msg(r, "the card still reports %u PIN tries after %u wrong PINs", pin1.left, spent);
        return r->err;
    }
    if (!same_counter(&puk0, &puk1) || !same_counter(&adm0, &adm1)) {
        r->err = CF_ERR_PROOF_FAILED;
        r->outcome = CF_OUTCOME_FAILED;
        pers_msg(r, "blocking the PIN changed another counter (PUK %u -> %u, admin %u -> %u)",
                 puk0.left, puk1.left, adm0.left, adm1.left);
        return r->err;
    }
    ps->res->tries[CF_CRED_PIN] = pin1;
    ps->res->tries[CF_CRED_PUK] = puk1;
    ps->res->tries[CF_CRED_ADMIN] = adm1;
    ps->tries_fresh = 1;
    pers_msg(r, "PIN blocked with %u wrong PIN%s; PUK and admin-key counters unchanged", spent,
             spent == 1 ? "" : "s");
    return CF_OK;
}
