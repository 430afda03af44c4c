/*
 * card_cmd.c - one profile command to the card and the meaning of its
 * answer; error messages; status-word meanings.
 *
 * Every operation goes through cf_card_cmd so that three rules hold
 * everywhere: the secret part of each command is marked for the trace, the
 * expanded command (which holds the secret) is wiped as soon as it is sent,
 * and a status word means the same thing in every operation (63Cx and 6983
 * are about the credential the operation presents; anything else is the
 * card refusing the command).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card/card_int.h"

cf_err_t cf_card_fail(cf_card_t *card, cf_err_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(card->errmsg, sizeof(card->errmsg), fmt, ap);
    va_end(ap);
    return err;
}

void cf_card_ok(cf_card_t *card)
{
    card->errmsg[0] = 0;
}

static const struct {
    uint16_t sw;
    const char *text;
} sw_table[] = {
    {0x9000, "success"},
    {0x6281, "part of returned data may be corrupted"},
    {0x6283, "selected file deactivated"},
    {0x6285, "selected file in termination state"},
    {0x6300, "verification failed"},
    {0x6581, "memory failure"},
    {0x6700, "wrong length"},
    {0x6881, "logical channel not supported"},
    {0x6882, "secure messaging not supported"},
    {0x6981, "command incompatible with file structure"},
    {0x6982, "security status not satisfied"},
    {0x6983, "authentication method blocked"},
    {0x6984, "reference data not usable"},
    {0x6985, "conditions of use not satisfied"},
    {0x6986, "command not allowed"},
    {0x6A80, "incorrect data"},
    {0x6A81, "function not supported"},
    {0x6A82, "file or application not found"},
    {0x6A84, "not enough memory"},
    {0x6A86, "incorrect P1-P2"},
    {0x6A88, "referenced data not found"},
    {0x6A89, "file already exists"},
    {0x6B00, "wrong parameters P1-P2"},
    {0x6D00, "instruction not supported"},
    {0x6E00, "class not supported"},
    {0x6F00, "no precise diagnosis"},
};

const char *cf_sw_meaning(uint16_t sw)
{
    if ((sw & 0xFFF0) == 0x63C0)
        return "verification failed, counter in SW2";
    if ((sw & 0xFF00) == 0x6100)
        return "more data available";
    if ((sw & 0xFF00) == 0x6C00)
        return "wrong Le";
    for (size_t i = 0; i < sizeof(sw_table) / sizeof(sw_table[0]); i++)
        if (sw_table[i].sw == sw)
            return sw_table[i].text;
    return "unknown status";
}

int cf_sw_in(uint16_t sw, const uint16_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == sw)
            return 1;
    return 0;
}

void cf_card_base_vals(const cf_card_t *card, const cf_prof_alg_t *alg, cf_tmpl_vals_t *v)
{
    const cf_profile_t *p = card->p;
    memset(v, 0, sizeof(*v));
    v->p[CF_PH_PIN_REF] = &p->pin.ref;
    v->len[CF_PH_PIN_REF] = 1;
    if (p->puk.present) {
        v->p[CF_PH_PUK_REF] = &p->puk.ref;
        v->len[CF_PH_PUK_REF] = 1;
    }
    if (p->admin.present) {
        v->p[CF_PH_ADMIN_REF] = &p->admin.ref;
        v->len[CF_PH_ADMIN_REF] = 1;
    }
    if (alg != NULL) {
        v->p[CF_PH_ALG] = &alg->id;
        v->len[CF_PH_ALG] = 1;
    }
}

cf_err_t cf_card_encode_secret(cf_card_t *card, const char *what, cf_cred_t c, const cf_secret_t *s,
                               uint8_t *out, size_t cap, size_t *len)
{
    const cf_prof_cred_t *cr = cf_prof_cred(card->p, c);
    size_t n = cf_secret_len(s);
    size_t limit = cr->padded ? cr->pad_to : cap;
    if (n == 0 || n > limit || n > cap)
        return cf_card_fail(card, CF_ERR_POLICY,
                            "%s: a %s of %zu characters cannot be sent to a %s card (1-%zu); "
                            "nothing sent",
                            what, cf_cred_name(c), n, card->p->name, limit < cap ? limit : cap);
    memcpy(out, cf_secret_data(s), n);
    if (cr->padded) {
        memset(out + n, cr->pad_byte, cr->pad_to - n);
        n = cr->pad_to;
    }
    *len = n;
    return CF_OK;
}

/* The message for a status word that is not success. */
static cf_err_t map_sw(cf_card_t *card, const char *what, const cf_prof_cmd_t *cmd, unsigned flags,
                       cf_cred_t cred, uint16_t sw)
{
    const char *name = cred < CF_CRED_COUNT ? cf_cred_name(cred) : "secret";
    int presents = (flags & (CF_CMD_PRESENTS | CF_CMD_CRYPTOGRAM)) && cred < CF_CRED_COUNT;
    if (presents) {
        /* What the card said of the presented credential's counter: 63Cx
         * and 6983 state it; any other refusal may have spent a try
         * without saying, so the next guard asks. */
        if ((sw & 0xFFF0) == 0x63C0 || sw == 0x6983) {
            cf_tries_t t = {.kind = CF_TRIES_KNOWN, .left = sw == 0x6983 ? 0 : (sw & 0x0Fu)};
            cf_card_told(card, cred, &t);
        } else {
            cf_card_forget_counter(card, cred);
        }
    }
    if (!(flags & CF_CMD_PLAIN)) {
        if ((sw & 0xFFF0) == 0x63C0) {
            unsigned left = sw & 0x0F;
            if (left == 0)
                return cf_card_fail(card, CF_ERR_WRONG_SECRET,
                                    "%s: wrong %s, no tries left: it is now blocked (%04X)", what,
                                    name, sw);
            return cf_card_fail(card, CF_ERR_WRONG_SECRET, "%s: wrong %s, %u %s left (%04X)", what,
                                name, left, left == 1 ? "try" : "tries", sw);
        }
        if (sw == 0x6983)
            return cf_card_fail(card, CF_ERR_BLOCKED, "%s: the %s is blocked (%04X %s)", what, name,
                                sw, cf_sw_meaning(sw));
        /* 6982 refuses a presented secret on many cards (a YubiKey's 9B
         * answer), and 6A80 a well-formed cryptogram that did not decrypt
         * (other PIV cards): both can only mean the secret is wrong. */
        int standard = ((flags & (CF_CMD_PRESENTS | CF_CMD_CRYPTOGRAM)) && sw == 0x6982) ||
                       ((flags & CF_CMD_CRYPTOGRAM) && sw == 0x6A80);
        if (standard || cf_sw_in(sw, cmd->wrong, cmd->n_wrong))
            return cf_card_fail(card, CF_ERR_WRONG_SECRET,
                                "%s: wrong %s (%04X %s; the card does not say how many tries "
                                "are left)",
                                what, name, sw, cf_sw_meaning(sw));
    }
    return cf_card_fail(card, CF_ERR_CARD_STATUS, "%s: the card answered %04X (%s)", what, sw,
                        cf_sw_meaning(sw));
}

cf_err_t cf_card_cmd(cf_card_t *card, const char *what, const cf_prof_cmd_t *cmd,
                     const cf_tmpl_vals_t *v, unsigned flags, cf_cred_t cred, cf_rapdu_t *resp,
                     int *sent)
{
    if (sent != NULL)
        *sent = 0;
    uint8_t hdr[4], data[CF_TMPL_MAX_DATA];
    size_t len = 0, off = 0, slen = 0;
    cf_err_t err = cf_tmpl_expand(cmd->apdu, v, hdr, data, sizeof(data), &len, &off, &slen);
    if (err != CF_OK) {
        OPENSSL_cleanse(data, sizeof(data));
        return cf_card_fail(card, err, "%s: the command of %s:%lu cannot be built (%s)", what,
                            cmd->file, cmd->line, cf_strerror(err));
    }
    /* The same plain read again with nothing sent in between: the card
     * would answer the same. */
    int cacheable = (flags & CF_CMD_PLAIN) && !(flags & (CF_CMD_SECRET_RESPONSE | CF_CMD_WRITE)) &&
                    slen == 0 && len <= 255;
    int reuse = cacheable && !(flags & CF_CMD_FRESH);
    uint8_t bytes[4 + 255 + 1];
    size_t blen = 0;
    if (cacheable) {
        memcpy(bytes, hdr, 4);
        memcpy(bytes + 4, data, len);
        bytes[4 + len] = (uint8_t)(cmd->le & 0xFF);
        blen = 4 + len + 1;
        if (reuse && card->last_read_len == blen && memcmp(card->last_read, bytes, blen) == 0 &&
            card->last_read_count == cf_transport_apdu_count(card->t)) {
            OPENSSL_cleanse(data, sizeof(data));
            resp->data = card->last_read_data;
            resp->len = card->last_read_dlen;
            resp->sw = card->last_read_sw;
            card->last_sw = resp->sw;
            if (cf_sw_in(resp->sw, cmd->ok, cmd->n_ok))
                return CF_OK;
            return map_sw(card, what, cmd, flags, cred, resp->sw);
        }
    }
    cf_capdu_t c = {
        .cla = hdr[0],
        .ins = hdr[1],
        .p1 = hdr[2],
        .p2 = hdr[3],
        .data = len ? data : NULL,
        .len = len,
        .le = cmd->le,
        .secret_off = off,
        .secret_len = slen,
        .flags = (flags & CF_CMD_SECRET_RESPONSE) ? CF_CAPDU_SECRET_RESPONSE : 0,
    };
    if (sent != NULL)
        *sent = 1;
    /* Handed to the reader: until the card answers, nobody knows whether
     * it acted on the command. */
    if (flags & CF_CMD_WRITE)
        card->last_write = CF_WRITE_UNKNOWN;
    err = cf_transport_transmit(card->t, &c, resp);
    if (err == CF_OK && (flags & CF_CMD_WRITE))
        card->last_write = CF_WRITE_DONE;
    OPENSSL_cleanse(data, sizeof(data));
    if (err != CF_OK) {
        if (err == CF_ERR_CARD_RESET || err == CF_ERR_CARD_REMOVED) {
            cf_card_session_ended(card);
            card->pin_ok = 0;
        }
        card->last_read_len = 0;
        if (err == CF_ERR_CARD_RESET)
            return cf_card_fail(card, err, "%s: %s (the card was reset: reselect it)", what,
                                cf_transport_errmsg(card->t));
        return cf_card_fail(card, err, "%s: %s", what, cf_transport_errmsg(card->t));
    }
    card->last_sw = resp->sw;
    card->last_read_len = 0;
    if (cacheable && resp->len <= sizeof(card->last_read_data)) {
        memcpy(card->last_read, bytes, blen);
        card->last_read_len = blen;
        card->last_read_count = cf_transport_apdu_count(card->t);
        memcpy(card->last_read_data, resp->data, resp->len);
        card->last_read_dlen = resp->len;
        card->last_read_sw = resp->sw;
    }
    if (cf_sw_in(resp->sw, cmd->ok, cmd->n_ok)) {
        if ((flags & (CF_CMD_PRESENTS | CF_CMD_CRYPTOGRAM)) && cred < CF_CRED_COUNT)
            cf_card_counter_raised(card, cred);
        return CF_OK;
    }
    return map_sw(card, what, cmd, flags, cred, resp->sw);
}
