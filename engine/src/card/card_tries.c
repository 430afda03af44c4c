/*
 * card_tries.c - reading a retry counter without spending a try.
 *
 * The profile says how: a command, where the "tries left" byte (and the
 * maximum) sit in the answer, which status words mean "this card cannot
 * tell" (CF_TRIES_UNKNOWN), and what an answer without the value means (a
 * YubiKey's 9B metadata has no counter: CF_TRIES_UNLIMITED). The kind read
 * is remembered for the guards.
 *
 * Every refusal of a read means "cannot tell", whatever its status word:
 * cards answer a missing object with 6A88, 6A82 or 6984 and an unknown
 * instruction with 6D00, and none of these is a reason to stop. The PIV
 * PIN counter of a card without vendor extensions is read from the status
 * word of an empty VERIFY (SP 800-73-4), which spends nothing.
 */
#include <string.h>

#include "card/card_int.h"

static cf_err_t read_tries(cf_card_t *card, cf_cred_t c, cf_tries_t *out, int fresh);

cf_err_t cf_card_tries(cf_card_t *card, cf_cred_t c, cf_tries_t *out)
{
    return read_tries(card, c, out, 0);
}

cf_err_t cf_card_tries_now(cf_card_t *card, cf_cred_t c, cf_tries_t *out)
{
    return read_tries(card, c, out, 1);
}

static cf_err_t read_tries(cf_card_t *card, cf_cred_t c, cf_tries_t *out, int fresh)
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
    } else if (!fresh && st->told && st->exact) {
        *out = st->tries; /* what the card said, and nothing since changed it */
    } else if (st->kind_known && st->kind == CF_TRIES_UNLIMITED) {
        /* The card said this credential has no counter (a YubiKey's 9B);
         * none appears within a session, so asking again only costs an
         * APDU. */
        out->kind = CF_TRIES_UNLIMITED;
    } else {
        cf_tmpl_vals_t v;
        cf_rapdu_t r;
        cf_card_base_vals(card, NULL, &v);
        cf_err_t err = cf_card_cmd(card, what, &ctr->cmd, &v,
                                   CF_CMD_PLAIN | (fresh ? CF_CMD_FRESH : 0u), c, &r, NULL);
        if (err == CF_OK && ctr->from_sw) {
            /* The empty VERIFY succeeded: the credential is verified in
             * this session, and the card does not say how many tries. */
            out->kind = CF_TRIES_UNKNOWN;
            out->sw = r.sw;
        } else if (err == CF_ERR_CARD_STATUS && ctr->from_sw &&
                   ((r.sw & 0xFFF0) == 0x63C0 || r.sw == 0x6983)) {
            out->kind = CF_TRIES_KNOWN;
            out->left = r.sw == 0x6983 ? 0 : (r.sw & 0x0F);
        } else if (err == CF_ERR_CARD_STATUS) {
            /* Whatever the word (6A88, 6A82, 6984, 6D00, ...), a refused
             * read says only that the card cannot tell: the guards then
             * treat the counter as unknown. */
            out->kind = CF_TRIES_UNKNOWN;
            out->sw = r.sw;
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
    /* A verified PIN's empty VERIFY (9000) tells nothing that outlives the
     * session; everything else the card said stands until it changes. */
    if (ctr->readable && !(out->kind == CF_TRIES_UNKNOWN && out->sw == 0x9000))
        cf_card_told(card, c, out);
    cf_card_ok(card);
    return CF_OK;
}
