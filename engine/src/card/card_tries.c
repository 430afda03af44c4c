/*
 * card_tries.c - reading a retry counter without spending a try.
 *
 * The profile says how: a command, where the "tries left" byte (and the
 * maximum) sit in the answer, which status words mean "this card cannot
 * tell" (CF_TRIES_UNKNOWN), and what an answer without the value means (a
 * YubiKey's 9B metadata has no counter: CF_TRIES_UNLIMITED). The kind read
 * is remembered for the guards.
 */
#include <string.h>

#include "card/card_int.h"

cf_err_t cf_card_tries(cf_card_t *card, cf_cred_t c, cf_tries_t *out)
{
    if (card == NULL || out == NULL || c >= CF_CRED_COUNT)
        return CF_ERR_ARG;
    memset(out, 0, sizeof(*out));
    char what[48];
    snprintf(what, sizeof(what), "reading the %s counter", cf_cred_name(c));
    if (!cf_prof_has_cred(card->p, c))
        return cf_card_fail(card, CF_ERR_UNSUPPORTED, "%s: card type %s has no %s", what,
                            card->p->name, cf_cred_name(c));
    const cf_prof_counter_t *ctr = cf_prof_counter(card->p, c);
    struct cf_cred_state *st = &card->cred[c];
    if (!ctr->readable) {
        out->kind = ctr->kind;
    } else if (st->kind_known && st->kind == CF_TRIES_UNLIMITED) {
        /* The card said this credential has no counter (a YubiKey's 9B);
         * none appears within a session, so asking again only costs an
         * APDU. */
        out->kind = CF_TRIES_UNLIMITED;
    } else {
        cf_tmpl_vals_t v;
        cf_rapdu_t r;
        cf_card_base_vals(card, NULL, &v);
        cf_err_t err = cf_card_cmd(card, what, &ctr->cmd, &v, CF_CMD_PLAIN, c, &r, NULL);
        if (err == CF_ERR_CARD_STATUS && cf_sw_in(r.sw, ctr->cmd.unknown, ctr->cmd.n_unknown)) {
            out->kind = CF_TRIES_UNKNOWN;
        } else if (err != CF_OK) {
            return err;
        } else {
            const uint8_t *val;
            size_t vl;
            int rc = cf_field_get(&ctr->left, r.data, r.len, &val, &vl);
            if (rc == 1 && ctr->absent_set) {
                out->kind = ctr->absent;
            } else if (rc != 0) {
                return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                                    "%s: the card's answer does not hold the counter", what);
            } else {
                out->kind = CF_TRIES_KNOWN;
                out->left = val[0];
                if (ctr->has_max) {
                    rc = cf_field_get(&ctr->max, r.data, r.len, &val, &vl);
                    if (rc < 0)
                        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                                            "%s: malformed maximum in the card's answer", what);
                    if (rc == 0)
                        out->max = val[0];
                }
            }
        }
    }
    st->kind_known = 1;
    st->kind = out->kind;
    cf_card_ok(card);
    return CF_OK;
}
