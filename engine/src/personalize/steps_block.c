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

/* The block spent none of this counter's tries. Before is what the card
 * last said of it, which successes since may have raised (never lowered);
 * after is asked anew. */
static int same_counter(const cf_tries_t *a, const cf_tries_t *b)
{
    if (a->kind != CF_TRIES_KNOWN || b->kind != CF_TRIES_KNOWN)
        return 1; /* nothing to compare; nothing the step did touches it */
    return b->left >= a->left;
}

/* 1 when the card told the counter before and after (so "not spent" was seen). */
static int compared(const cf_tries_t *a, const cf_tries_t *b)
{
    return a->kind == CF_TRIES_KNOWN && b->kind == CF_TRIES_KNOWN;
}

/* What the proof saw of the PUK and admin-key counters, in words that claim
 * only that. */
static void counters_seen(const cf_profile_t *pr, const cf_tries_t *puk0, const cf_tries_t *puk1,
                          const cf_tries_t *adm0, const cf_tries_t *adm1, char *out, size_t cap)
{
    const char *puk = !cf_profile_has(pr, CF_CRED_PUK) ? NULL
                      : compared(puk0, puk1)           ? "no PUK try spent"
                                                       : "PUK counter not readable";
    const char *adm = !cf_profile_has(pr, CF_CRED_ADMIN) ? NULL
                      : adm0->kind == CF_TRIES_UNLIMITED ? "admin key has no counter"
                      : compared(adm0, adm1)             ? "no admin-key try spent"
                                                         : "admin-key counter not readable";
    if (puk != NULL && adm != NULL && compared(puk0, puk1) && compared(adm0, adm1))
        snprintf(out, cap, "no PUK or admin-key try spent");
    else if (puk != NULL && adm != NULL)
        snprintf(out, cap, "%s; %s", puk, adm);
    else
        snprintf(out, cap, "%s", puk != NULL ? puk : adm != NULL ? adm : "no other counter");
}

cf_err_t pers_step_block_pin(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    const cf_profile_t *pr = cf_card_profile(ps->card);
    cf_tries_t puk0, adm0;
    /* Before: what the card last said (a lower bound is enough to see that
     * nothing was spent), else read. None: unknown, nothing sent. */
    if (cf_card_tries_said(ps->card, CF_CRED_PUK, &puk0, NULL) != CF_OK)
        pers_read_tries(ps->card, CF_CRED_PUK, &puk0);
    if (cf_card_tries_said(ps->card, CF_CRED_ADMIN, &adm0, NULL) != CF_OK)
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
    /* The PIN counter is what the card answered to the last wrong PIN
     * (63C0 or 6983); the others are asked again: "not lowered" is the
     * proof. */
    pers_read_tries(ps->card, CF_CRED_PIN, &pin1);
    pers_read_tries_now(ps->card, CF_CRED_PUK, &puk1);
    pers_read_tries_now(ps->card, CF_CRED_ADMIN, &adm1);
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
    char seen[120];
    counters_seen(pr, &puk0, &puk1, &adm0, &adm1, seen, sizeof(seen));
    pers_msg(r, "PIN blocked with %u wrong PIN%s; %s", spent, spent == 1 ? "" : "s", seen);
    return CF_OK;
}
