/*
 * steps_admin.c - authenticating with the admin key, rotating it, and
 * proving the challenge-response key.
 *
 * Which key the card holds is never guessed: it is the description's
 * CardManagerKey (or, with none, the profile's factory key). The one
 * exception is recovery (recover.c): a card whose rotation was cut off
 * after the write holds NewCardManagerKey. Where the card reports its
 * admin tries, the new key is tried once after CardManagerKey is refused,
 * only when the card layer's guard allows it (two or more tries left, or
 * no counter at all); where it cannot, the new key is presented only when
 * the journal shows the unfinished rotation, and then first, and at most one
 * value per run. If the new key authenticates, the rotation is reported as
 * already done: that authentication is its proof.
 */
#include <stdio.h>

#include <cardforge/keys.h>

#include "personalize/pers_int.h"

static cf_err_t try_admin_key(struct pers *ps, const cf_secret_t *key)
{
    return cf_card_admin_auth(ps->card, key, ps->op_flags);
}

cf_err_t pers_step_auth_admin(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    (void)st;
    struct pers_cand cand[2];
    size_t n = pers_candidates(ps, CF_CRED_ADMIN, ps->admin_key, CF_PARAM_CARD_MANAGER_KEY,
                               pers_value(ps, CF_PARAM_NEW_CARD_MANAGER_KEY),
                               CF_PARAM_NEW_CARD_MANAGER_KEY, CF_STEP_ROTATE_ADMIN_KEY, cand);
    size_t k = 0;
    cf_err_t e = pers_present(ps, r, CF_CRED_ADMIN, "authenticate with the admin key", cand, n,
                              try_admin_key, &k);
    if (e != CF_OK)
        return e;
    ps->admin_key = cand[k].value;
    ps->admin_authed = 1;
    ps->rotation_found_done = cand[k].is_new;
    return CF_OK;
}

static void set_kcv(cf_step_result_t *r, const cf_secret_t *key)
{
    char kcv[7];
    if (cf_card_key_check_value(key, kcv) == CF_OK)
        snprintf(r->kcv, sizeof(r->kcv), "%s", kcv);
}

/* One external challenge-response with key, as the helpdesk will do it:
 * the card's challenge, the response computed from it, the card's verdict.
 * On failure r is filled (a refused response is CF_ERR_PROOF_FAILED). */
static cf_err_t challenge_response(struct pers *ps, const cf_secret_t *key, cf_step_result_t *r)
{
    uint8_t ch[32];
    size_t chlen = 0;
    cf_err_t e = cf_card_get_challenge(ps->card, ch, sizeof(ch), &chlen, ps->op_flags);
    if (e != CF_OK) {
        pers_fail(ps, r, e, "get a challenge");
        return r->err;
    }
    cf_secret_t *resp = NULL;
    e = cf_keys_unblock_response(key, ch, chlen, &resp);
    cf_wipe(ch, sizeof(ch));
    if (e != CF_OK) {
        r->err = e;
        r->outcome = CF_OUTCOME_FAILED;
        pers_msg(r, "compute the response: %s", cf_strerror(e));
        return e;
    }
    e = cf_card_external_auth(ps->card, resp);
    cf_secret_free(resp);
    if (e != CF_OK) {
        pers_fail(ps, r, e == CF_ERR_WRONG_SECRET ? CF_ERR_PROOF_FAILED : e,
                  "the card refused the challenge-response with its admin key");
        return r->err;
    }
    return CF_OK;
}

cf_err_t pers_step_rotate_admin_key(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    const cf_secret_t *new_key = pers_value(ps, st->new_value);
    if (ps->rotation_found_done) {
        r->outcome = CF_OUTCOME_ALREADY;
        set_kcv(r, new_key);
        pers_msg(r, "the card already holds NewCardManagerKey (proven by authenticating "
                    "with it)");
        return CF_OK;
    }
    cf_err_t e = pers_begin_admin_change(ps, st, r);
    if (e != CF_OK)
        return e;
    e = cf_card_set_admin_key(ps->card, new_key);
    if (pers_admin_session_lost(ps, e)) {
        e = pers_ensure_admin(ps, r);
        if (e != CF_OK)
            return e;
        e = cf_card_set_admin_key(ps->card, new_key);
    }
    r->reached = pers_reached(ps, e);
    if (e != CF_OK) {
        pers_fail(ps, r, e, "write the new admin key");
        if (r->reached == CF_REACHED_UNKNOWN) {
            char m[CF_MSG_MAX];
            snprintf(m, sizeof(m),
                     "%.120s; the card holds the old or the new key: run the "
                     "description again to finish it",
                     r->message);
            snprintf(r->message, sizeof(r->message), "%s", m);
        }
        return r->err;
    }
    ps->admin_key = new_key;
    set_kcv(r, new_key);

    /* Proof from a fresh session: the old authentication must not count.
     * When the plan makes this key the challenge-response key, the proof is
     * that challenge-response (external authentication): it proves the
     * card holds the new key as well as a mutual authentication would, and
     * it is the install step's proof too, so it is not done twice. */
    ps->admin_authed = 0;
    int by_cr = pers_plan_has(ps, CF_STEP_INSTALL_CR_KEY) &&
                cf_profile_can(cf_card_profile(ps->card), CF_CAP_EXTERNAL_AUTH);
    e = cf_card_reselect(ps->card);
    if (e == CF_OK && by_cr) {
        e = challenge_response(ps, new_key, r);
        if (e != CF_OK)
            return e;
        ps->cr_proven = new_key;
    } else if (e == CF_OK) {
        e = cf_card_admin_auth(ps->card, new_key, ps->op_flags);
    }
    if (e != CF_OK) {
        pers_fail(ps, r, e == CF_ERR_WRONG_SECRET ? CF_ERR_PROOF_FAILED : e,
                  "the new admin key was written but does not authenticate");
        return r->err;
    }
    ps->admin_authed = 1;
    return CF_OK;
}

cf_err_t pers_step_install_cr_key(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    (void)st;
    /* The challenge-response key is the admin key the card holds now; the
     * proof is one external challenge-response, as the helpdesk will do it. */
    const cf_secret_t *key = ps->admin_key;
    if (ps->cr_proven != NULL && ps->cr_proven == key) {
        set_kcv(r, key);
        pers_msg(r, "challenge-response answered with the card's admin key (the rotation's "
                    "proof, from a fresh session)");
        return CF_OK;
    }
    cf_err_t e = challenge_response(ps, key, r);
    if (e != CF_OK)
        return e;
    ps->admin_authed = 1;
    set_kcv(r, key);
    pers_msg(r, "challenge-response answered with the card's admin key");
    return CF_OK;
}
