/*
 * card_pin.c - PIN and PUK operations: verify, change, unblock with the
 * PUK, change the PUK, set the PIN with the admin key's authority, block
 * the PIN on purpose.
 *
 * Each follows one pattern: check what can be checked without the card (a
 * new value against the profile's policy, an old value can at least be
 * encoded), run the guards, send the profile's template with the values
 * padded as the profile says, record the outcome for the guards. A new
 * value must fit the policy; an old value only has to be sendable, since
 * it may have been set by another tool with another policy.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "card/card_int.h"

#define SECRET_MAX 64

static cf_err_t need_op(cf_card_t *card, cf_op_t op, const char *what)
{
    if (card->p->ops[op].present)
        return CF_OK;
    return cf_card_fail(card, CF_ERR_UNSUPPORTED, "%s: card type %s cannot do this", what,
                        card->p->name);
}

static cf_err_t check_new(cf_card_t *card, const char *what, cf_cred_t c, const cf_secret_t *v)
{
    char why[200];
    if (cf_profile_check_policy(card->p, c, v, why, sizeof(why)) != CF_OK)
        return cf_card_fail(card, CF_ERR_POLICY,
                            "%s: the new value breaks the policy: %s (nothing sent)", what,
                            why); /* why names the credential */
    return CF_OK;
}

/* One operation that presents credential `cred` (value `old`, may be NULL
 * when the operation presents none) and maybe sets `set_cred` to `nv`. */
struct pin_op {
    const char *what;
    cf_op_t op;
    cf_cred_t cred;
    const cf_secret_t *old;
    cf_ph_t old_ph;
    cf_cred_t set_cred;
    const cf_secret_t *nv;
    cf_ph_t new_ph;
    unsigned flags;
};

static cf_err_t run_pin_op(cf_card_t *card, const struct pin_op *o)
{
    card->last_write = CF_WRITE_NONE;
    uint8_t oldb[SECRET_MAX], newb[SECRET_MAX];
    size_t ol = 0, nl = 0;
    cf_err_t err = need_op(card, o->op, o->what);
    if (err == CF_OK && o->old != NULL)
        err = cf_card_encode_secret(card, o->what, o->cred, o->old, oldb, sizeof(oldb), &ol);
    if (err == CF_OK && o->nv != NULL &&
        (err = check_new(card, o->what, o->set_cred, o->nv)) == CF_OK)
        err = cf_card_encode_secret(card, o->what, o->set_cred, o->nv, newb, sizeof(newb), &nl);
    if (err == CF_OK && o->old != NULL)
        err = cf_card_guard(card, o->what, o->cred, o->old, o->flags);
    int sent = 0;
    if (err == CF_OK) {
        cf_tmpl_vals_t v;
        cf_rapdu_t r;
        cf_card_base_vals(card, NULL, &v);
        if (o->old != NULL) {
            v.p[o->old_ph] = oldb;
            v.len[o->old_ph] = ol;
        }
        if (o->nv != NULL) {
            v.p[o->new_ph] = newb;
            v.len[o->new_ph] = nl;
        }
        unsigned f = CF_CMD_WRITE | (o->old != NULL ? CF_CMD_PRESENTS : 0);
        err = cf_card_cmd(card, o->what, &card->p->ops[o->op], &v, f, o->cred, &r, &sent);
        if (o->old != NULL)
            cf_card_after(card, o->cred, o->old, err, sent);
    }
    OPENSSL_cleanse(oldb, sizeof(oldb));
    OPENSSL_cleanse(newb, sizeof(newb));
    if (err == CF_OK) {
        if (o->nv != NULL) {
            cf_card_cred_changed(card, o->set_cred);
            cf_card_counter_raised(card, o->set_cred); /* a new value: a fresh counter */
        }
        cf_card_ok(card);
    }
    return err;
}

cf_err_t cf_card_verify_pin(cf_card_t *card, const cf_secret_t *pin)
{
    if (card == NULL || pin == NULL)
        return CF_ERR_ARG;
    struct pin_op o = {.what = "verify PIN",
                       .op = CF_OP_VERIFY_PIN,
                       .cred = CF_CRED_PIN,
                       .old = pin,
                       .old_ph = CF_PH_PIN};
    cf_err_t err = run_pin_op(card, &o);
    /* The certificate operations (cert.h) require it; a failed VERIFY
     * ends the verified state on PIV and GIDS cards. */
    card->pin_ok = err == CF_OK;
    return err;
}

cf_err_t cf_card_change_pin(cf_card_t *card, const cf_secret_t *old_pin, const cf_secret_t *new_pin)
{
    if (card == NULL || old_pin == NULL || new_pin == NULL)
        return CF_ERR_ARG;
    struct pin_op o = {.what = "change PIN",
                       .op = CF_OP_CHANGE_PIN,
                       .cred = CF_CRED_PIN,
                       .old = old_pin,
                       .old_ph = CF_PH_PIN,
                       .set_cred = CF_CRED_PIN,
                       .nv = new_pin,
                       .new_ph = CF_PH_NEW_PIN};
    return run_pin_op(card, &o);
}

cf_err_t cf_card_unblock_pin_by_puk(cf_card_t *card, const cf_secret_t *puk,
                                    const cf_secret_t *new_pin, unsigned flags)
{
    if (card == NULL || puk == NULL || new_pin == NULL)
        return CF_ERR_ARG;
    struct pin_op o = {.what = "unblock PIN with the PUK",
                       .op = CF_OP_UNBLOCK_PIN_BY_PUK,
                       .cred = CF_CRED_PUK,
                       .old = puk,
                       .old_ph = CF_PH_PUK,
                       .set_cred = CF_CRED_PIN,
                       .nv = new_pin,
                       .new_ph = CF_PH_NEW_PIN,
                       .flags = flags};
    cf_err_t err = run_pin_op(card, &o);
    if (err == CF_OK)
        card->cred[CF_CRED_PUK].failed = 0;
    return err;
}

cf_err_t cf_card_change_puk(cf_card_t *card, const cf_secret_t *old_puk, const cf_secret_t *new_puk,
                            unsigned flags)
{
    if (card == NULL || old_puk == NULL || new_puk == NULL)
        return CF_ERR_ARG;
    struct pin_op o = {.what = "change PUK",
                       .op = CF_OP_CHANGE_PUK,
                       .cred = CF_CRED_PUK,
                       .old = old_puk,
                       .old_ph = CF_PH_PUK,
                       .set_cred = CF_CRED_PUK,
                       .nv = new_puk,
                       .new_ph = CF_PH_NEW_PUK,
                       .flags = flags};
    return run_pin_op(card, &o);
}

cf_err_t cf_card_unblock_pin_by_admin(cf_card_t *card, const cf_secret_t *new_pin)
{
    if (card == NULL || new_pin == NULL)
        return CF_ERR_ARG;
    const char *what = "set PIN with the admin key";
    cf_err_t err = need_op(card, CF_OP_UNBLOCK_PIN_BY_ADMIN, what);
    if (err != CF_OK)
        return err;
    if (!card->admin_auth)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: authenticate with the admin key first (nothing sent)", what);
    struct pin_op o = {.what = what,
                       .op = CF_OP_UNBLOCK_PIN_BY_ADMIN,
                       .cred = CF_CRED_ADMIN,
                       .set_cred = CF_CRED_PIN,
                       .nv = new_pin,
                       .new_ph = CF_PH_NEW_PIN};
    err = run_pin_op(card, &o);
    /* GIDS logs everybody out after RESET RETRY COUNTER; assume every
     * card does, so nothing relies on an admin session that may be gone. */
    if (err == CF_OK)
        card->admin_auth = 0;
    return err;
}

/* A value that fits the PIN policy and is not known_pin: the policy's
 * shortest length, one repeated character of its set. */
static int blocking_value(const cf_prof_cred_t *c, const cf_secret_t *known, uint8_t *out,
                          size_t *len)
{
    static const char cand[] = "0123456789";
    size_t n = c->min_len;
    for (size_t k = 0; k < sizeof(cand) - 1; k++) {
        if (c->padded && (uint8_t)cand[k] == c->pad_byte)
            continue;
        memset(out, cand[k], n);
        if (n != cf_secret_len(known) || CRYPTO_memcmp(out, cf_secret_data(known), n) != 0) {
            *len = n;
            return 0;
        }
    }
    return -1;
}

cf_err_t cf_card_block_pin(cf_card_t *card, const cf_secret_t *known_pin, unsigned *spent)
{
    if (spent != NULL)
        *spent = 0;
    if (card == NULL || known_pin == NULL || spent == NULL)
        return CF_ERR_ARG;
    const char *what = "block PIN";
    card->last_write = CF_WRITE_NONE;
    const cf_prof_cred_t *pc = &card->p->pin;
    uint8_t raw[SECRET_MAX], enc[SECRET_MAX];
    size_t rl = 0, el = 0;
    if (pc->min_len > sizeof(raw) || blocking_value(pc, known_pin, raw, &rl) < 0)
        return cf_card_fail(card, CF_ERR_INTERNAL, "%s: no value fits the PIN policy", what);
    cf_secret_t *wrong = cf_secret_new(raw, rl);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (wrong == NULL)
        return cf_card_fail(card, CF_ERR_NOMEM, "%s: out of memory", what);
    cf_err_t err = cf_card_encode_secret(card, what, CF_CRED_PIN, wrong, enc, sizeof(enc), &el);
    cf_secret_free(wrong);
    if (err != CF_OK)
        return err;

    /* At most one VERIFY per try the card reports, plus the one that
     * answers "blocked"; 256 covers any counter when it does not say. */
    cf_tries_t tr;
    unsigned bound = 256;
    /* Only what the card already said bounds the loop: the VERIFYs
     * themselves say how many tries are left, so no read is sent for it. */
    if (card->cred[CF_CRED_PIN].told && cf_card_tries(card, CF_CRED_PIN, &tr) == CF_OK &&
        tr.kind == CF_TRIES_KNOWN) {
        if (tr.left == 0) {
            OPENSSL_cleanse(enc, sizeof(enc));
            cf_card_ok(card);
            return CF_OK;
        }
        bound = tr.left + 1;
    }
    cf_tmpl_vals_t v;
    cf_card_base_vals(card, NULL, &v);
    v.p[CF_PH_PIN] = enc;
    v.len[CF_PH_PIN] = el;
    err = CF_ERR_CARD_STATUS;
    for (unsigned i = 0; i < bound; i++) {
        cf_rapdu_t r;
        int sent = 0;
        err = cf_card_cmd(card, what, &card->p->ops[CF_OP_VERIFY_PIN], &v,
                          CF_CMD_WRITE | CF_CMD_PRESENTS, CF_CRED_PIN, &r, &sent);
        if (sent)
            (*spent)++;
        if (err == CF_ERR_BLOCKED || (err == CF_ERR_WRONG_SECRET && r.sw == 0x63C0)) {
            err = CF_OK;
            break;
        }
        if (err == CF_OK) {
            err = cf_card_fail(card, CF_ERR_PROOF_FAILED,
                               "%s: the card accepted the blocking value: the PIN it holds is "
                               "not the one given",
                               what);
            break;
        }
        if (err != CF_ERR_WRONG_SECRET)
            break;
        if (i + 1 == bound)
            err = cf_card_fail(card, CF_ERR_CARD_STATUS,
                               "%s: the card still counts tries after %u wrong PINs", what, bound);
    }
    OPENSSL_cleanse(enc, sizeof(enc));
    card->cred[CF_CRED_PIN].failed = 1;
    if (err == CF_OK)
        cf_card_ok(card);
    return err;
}
