/*
 * steps_pin.c - setting the PIN (with the PUK or the admin key) and
 * changing the PUK.
 *
 * Each step proves its change: the new PIN verifies; the new PUK is
 * accepted by the card (CHANGE REFERENCE DATA from the new PUK to itself,
 * which touches nothing but the PUK counter, and resets it).
 *
 * Recovery: a run cut off after the PUK was changed leaves a card that
 * refuses InitialPUK. When the plan also names the new PUK, it is presented
 * by the rules of recover.c: after InitialPUK where the card reports its
 * PUK tries (the card layer refuses it when it could spend the last one),
 * first and alone where it cannot and the journal shows the unfinished
 * change, so finishing such a card costs at most one PUK try.
 */
#include <stdio.h>

#include "personalize/pers_int.h"

/* Prove the PIN the card should now hold, from the PIN counter's side. */
static cf_err_t prove_pin(struct pers *ps, cf_step_result_t *r, const cf_secret_t *pin)
{
    cf_err_t e = cf_card_verify_pin(ps->card, pin);
    if (e == CF_OK) {
        ps->pin = pin;
        return CF_OK;
    }
    pers_fail(ps, r, e == CF_ERR_WRONG_SECRET ? CF_ERR_PROOF_FAILED : e,
              "the PIN was set but the new PIN does not verify");
    return r->err;
}

static cf_err_t try_puk(struct pers *ps, const cf_secret_t *puk)
{
    return cf_card_unblock_pin_by_puk(ps->card, puk, ps->new_pin, ps->op_flags);
}

cf_err_t pers_step_set_pin_by_puk(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    const cf_secret_t *pin = pers_value(ps, st->new_value);
    struct pers_cand cand[2];
    size_t n =
        pers_candidates(ps, CF_CRED_PUK, ps->puk, CF_PARAM_INITIAL_PUK,
                        pers_value(ps, CF_PARAM_PUK), CF_PARAM_PUK, CF_STEP_CHANGE_PUK, cand);
    cf_err_t e = pers_intent(ps, st, r);
    if (e != CF_OK)
        return e;
    size_t k = 0;
    ps->new_pin = pin;
    e = pers_present(ps, r, CF_CRED_PUK, "set the PIN with the PUK", cand, n, try_puk, &k);
    ps->new_pin = NULL;
    if (e != CF_OK)
        return e;
    ps->puk = cand[k].value;
    ps->puk_found_changed = cand[k].is_new;
    /* RESET RETRY COUNTER with the PUK leaves the admin session as it is
     * (SP 800-73-4); should a card end it, the rotation notices (6982) and
     * authenticates again before anything is written. */
    return prove_pin(ps, r, pin);
}

cf_err_t pers_step_change_puk(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    const cf_secret_t *new_puk = pers_value(ps, st->new_value);
    if (ps->puk_found_changed) {
        r->outcome = CF_OUTCOME_ALREADY;
        pers_msg(r, "the card already holds the new PUK (proven while setting the PIN)");
        return CF_OK;
    }
    cf_err_t e = pers_intent(ps, st, r);
    if (e != CF_OK)
        return e;
    e = cf_card_change_puk(ps->card, ps->puk, new_puk, ps->op_flags);
    r->reached = pers_reached(ps, e);
    if (e != CF_OK) {
        pers_fail(ps, r, e, "change the PUK");
        return r->err;
    }
    ps->puk = new_puk;
    e = cf_card_change_puk(ps->card, new_puk, new_puk, ps->op_flags);
    if (e != CF_OK) {
        pers_fail(ps, r, e == CF_ERR_WRONG_SECRET ? CF_ERR_PROOF_FAILED : e,
                  "the PUK was changed but the new PUK is not accepted");
        return r->err;
    }
    return CF_OK;
}

cf_err_t pers_step_set_pin_by_admin(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    const cf_secret_t *pin = pers_value(ps, st->new_value);
    cf_err_t e = pers_begin_admin_change(ps, st, r);
    if (e != CF_OK)
        return e;
    e = cf_card_unblock_pin_by_admin(ps->card, pin);
    r->reached = pers_reached(ps, e);
    if (e != CF_OK) {
        pers_fail(ps, r, e, "set the PIN with the admin key");
        return r->err;
    }
    /* GIDS logs everybody out after RESET RETRY COUNTER. */
    ps->admin_authed = 0;
    return prove_pin(ps, r, pin);
}
