/*
 * card_open.c - identifying a card, reading its serial and version, the
 * card object's lifetime, and starting a clean session (reselect).
 *
 * Identification tries the profiles in the set's identification order
 * (most specific first): ATR patterns, then the profile's SELECT and its
 * expected answer. Profiles with ATR patterns are tried before those
 * without, which match any ATR and are decided by their SELECT alone (GIDS
 * cards, as OpenSC recognises them); a SELECT the card refused is not sent
 * twice. Each probe is an APDU on every card of a batch. The
 * serial is read right after: it is what keys are derived from and what the
 * journal records, so a card whose serial cannot be read is not opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "card/card_int.h"
#include "util/hex.h"

static void set_errbuf(char *errbuf, size_t errlen, const char *msg)
{
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", msg);
}

/* The bytes of p's SELECT, to recognise one the card already refused. */
#define CF_CARD_MAX_SEEN_SELECTS 8
struct select_seen {
    uint8_t bytes[4 + 255 + 1];
    size_t len;
};

static int select_bytes(cf_card_t *card, const cf_profile_t *p, struct select_seen *out)
{
    if (!p->select.present)
        return -1;
    const cf_profile_t *keep = card->p;
    card->p = p;
    cf_tmpl_vals_t v;
    cf_card_base_vals(card, NULL, &v);
    card->p = keep;
    uint8_t data[CF_TMPL_MAX_DATA];
    size_t len = 0, off = 0, slen = 0;
    if (cf_tmpl_expand(p->select.apdu, &v, out->bytes, data, sizeof(data), &len, &off, &slen) !=
            CF_OK ||
        len > 255)
        return -1;
    memcpy(out->bytes + 4, data, len);
    out->bytes[4 + len] = (uint8_t)(p->select.le & 0xFF);
    out->len = 4 + len + 1;
    return 0;
}

static int select_refused(const struct select_seen *seen, size_t n, const struct select_seen *s)
{
    for (size_t i = 0; i < n; i++)
        if (seen[i].len == s->len && memcmp(seen[i].bytes, s->bytes, s->len) == 0)
            return 1;
    return 0;
}

/* 1 when p's ATR patterns (if any) let the card through to its SELECT. */
static int atr_allows(cf_card_t *card, const cf_profile_t *p)
{
    size_t alen = 0;
    const uint8_t *atr = cf_transport_atr(card->t, &alen);
    if (p->n_atr == 0)
        return 1;
    for (size_t i = 0; i < p->n_atr; i++)
        if (cf_atr_match(&p->atr[i], atr, alen))
            return 1;
    return 0;
}

/* Does the card answer as p says? *match 1/0; errors are the transport's. */
static cf_err_t try_profile(cf_card_t *card, const cf_profile_t *p, int *match, char *why,
                            size_t whylen, int *sel_refused)
{
    *match = 0;
    *sel_refused = 0;
    size_t alen = 0;
    const uint8_t *atr = cf_transport_atr(card->t, &alen);
    if (p->n_atr > 0) {
        int any = 0;
        for (size_t i = 0; i < p->n_atr && !any; i++)
            any = cf_atr_match(&p->atr[i], atr, alen);
        if (!any) {
            snprintf(why, whylen, "its ATR is not one of %s's", p->name);
            return CF_OK;
        }
    }
    if (p->select.present) {
        const cf_profile_t *keep = card->p;
        card->p = p;
        cf_tmpl_vals_t v;
        cf_rapdu_t r;
        cf_card_base_vals(card, NULL, &v);
        cf_err_t err = cf_card_cmd(card, "selecting the application", &p->select, &v, CF_CMD_PLAIN,
                                   CF_CRED_COUNT, &r, NULL);
        card->p = keep;
        if (err == CF_ERR_CARD_STATUS) {
            *sel_refused = 1;
            snprintf(why, whylen, "SELECT of %s's application answered %04X (%s)", p->name, r.sw,
                     cf_sw_meaning(r.sw));
            return CF_OK;
        }
        if (err != CF_OK)
            return err;
        if (p->select_expect) {
            const uint8_t *val;
            size_t vl;
            if (cf_tlv_path_find(&p->expect_field.path, r.data, r.len, &val, &vl) < 0 ||
                vl < p->expect_len || memcmp(val, p->expect_prefix, p->expect_len) != 0) {
                snprintf(why, whylen, "the answer to SELECT is not %s's", p->name);
                return CF_OK;
            }
        }
    }
    *match = 1;
    return CF_OK;
}

/* Format value[0..n) as the profile says into out. -1 when it cannot. */
static int format_value(cf_text_format_t f, const uint8_t *val, size_t n, char *out, size_t cap)
{
    out[0] = 0;
    if (n == 0)
        return -1;
    switch (f) {
    case CF_FMT_DECIMAL: {
        if (n > 8)
            return -1;
        unsigned long long x = 0;
        for (size_t i = 0; i < n; i++)
            x = x << 8 | val[i];
        snprintf(out, cap, "%llu", x);
        return 0;
    }
    case CF_FMT_HEX_LOWER:
    case CF_FMT_HEX_UPPER:
        if (2 * n + 1 > cap)
            return -1;
        cf_hex_encode(val, n, out);
        if (f == CF_FMT_HEX_LOWER)
            for (size_t i = 0; out[i]; i++)
                if (out[i] >= 'A' && out[i] <= 'F')
                    out[i] = (char)(out[i] - 'A' + 'a');
        return 0;
    case CF_FMT_DOTTED: {
        if (n > 8)
            return -1;
        size_t l = 0;
        for (size_t i = 0; i < n; i++)
            l += (size_t)snprintf(out + l, cap - l, "%s%u", i ? "." : "", val[i]);
        return 0;
    }
    }
    return -1;
}

static cf_err_t read_text(cf_card_t *card, const char *what, const cf_prof_read_t *rd, char *out,
                          size_t cap)
{
    cf_tmpl_vals_t v;
    cf_rapdu_t r;
    cf_card_base_vals(card, NULL, &v);
    cf_err_t err = cf_card_cmd(card, what, &rd->cmd, &v, CF_CMD_PLAIN, CF_CRED_COUNT, &r, NULL);
    if (err != CF_OK)
        return err;
    const uint8_t *val;
    size_t vl;
    if (cf_field_get(&rd->value, r.data, r.len, &val, &vl) != 0 ||
        format_value(rd->format, val, vl, out, cap) < 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "%s: the card's answer (%zu bytes) does not hold the value %s:%lu "
                            "describes",
                            what, r.len, rd->cmd.file, rd->cmd.line);
    return CF_OK;
}

static cf_err_t open_once(cf_transport_t *t, const cf_profiles_t *profiles,
                          const char *profile_name, cf_card_t **out, char *errbuf, size_t errlen)
{
    set_errbuf(errbuf, errlen, "");
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (t == NULL || profiles == NULL) {
        set_errbuf(errbuf, errlen, "cf_card_open: no transport or no profiles");
        return CF_ERR_ARG;
    }
    cf_card_t *card = calloc(1, sizeof(*card));
    if (card == NULL) {
        set_errbuf(errbuf, errlen, "out of memory");
        return CF_ERR_NOMEM;
    }
    card->t = t;
    card->set = profiles;
    const char *reader = cf_transport_reader(t);
    char why[200] = "";
    cf_err_t err = CF_OK;
    int match = 0, refused = 0;
    if (profile_name != NULL) {
        const cf_profile_t *p = cf_profiles_find(profiles, profile_name);
        if (p == NULL) {
            cf_card_fail(card, CF_ERR_NOT_FOUND, "no card profile named '%s'", profile_name);
            err = CF_ERR_NOT_FOUND;
        } else if ((err = try_profile(card, p, &match, why, sizeof(why), &refused)) == CF_OK) {
            if (match)
                card->p = p;
            else
                err = cf_card_fail(card, CF_ERR_UNKNOWN_CARD,
                                   "the card in reader '%s' is not a %s card: %s", reader,
                                   profile_name, why);
        }
    } else {
        /* A SELECT the card already refused is not sent again for the next
         * profile (a profile that extends another usually shares it). */
        struct select_seen seen[CF_CARD_MAX_SEEN_SELECTS];
        size_t n_seen = 0;
        /* Two passes: profiles whose ATR patterns name this card first,
         * then those that recognise cards by their SELECT alone. */
        size_t n = cf_profiles_ident_count(profiles);
        for (size_t k = 0; k < 2 * n && err == CF_OK && !match; k++) {
            const cf_profile_t *p = cf_profiles_ident_at(profiles, k % n);
            if ((k < n) != (p->n_atr > 0))
                continue;
            struct select_seen cur;
            int have = select_bytes(card, p, &cur) == 0;
            /* Skipped only when the ATR would let this profile reach its
             * SELECT and the card refused these very bytes (an answer that
             * merely failed another profile's expectation proves nothing). */
            if (have && atr_allows(card, p) && select_refused(seen, n_seen, &cur))
                continue;
            err = try_profile(card, p, &match, why, sizeof(why), &refused);
            if (err == CF_OK && match)
                card->p = p;
            else if (err == CF_OK && have && refused && n_seen < CF_CARD_MAX_SEEN_SELECTS)
                seen[n_seen++] = cur;
        }
        if (err == CF_OK && !match) {
            size_t alen = 0;
            const uint8_t *atr = cf_transport_atr(t, &alen);
            char hex[2 * CF_ATR_MAX + 1] = "";
            if (alen <= CF_ATR_MAX)
                cf_hex_encode(atr, alen, hex);
            err = cf_card_fail(card, CF_ERR_UNKNOWN_CARD,
                               "no card profile recognises the card in reader '%s' (ATR %s)",
                               reader, hex);
        }
    }
    if (err == CF_OK) {
        char what[96];
        snprintf(what, sizeof(what), "reading the serial of the %s card", card->p->name);
        err = read_text(card, what, &card->p->serial, card->serial, sizeof(card->serial));
    }
    if (err == CF_OK && card->p->version.cmd.present &&
        read_text(card, "reading the version", &card->p->version, card->version,
                  sizeof(card->version)) != CF_OK)
        card->version[0] = 0; /* the version is informational */
    if (err != CF_OK) {
        set_errbuf(errbuf, errlen, card->errmsg);
        cf_card_free(card);
        return err;
    }
    cf_card_ok(card);
    *out = card;
    return CF_OK;
}

cf_err_t cf_card_open(cf_transport_t *t, const cf_profiles_t *profiles, const char *profile_name,
                      cf_card_t **out, char *errbuf, size_t errlen)
{
    cf_err_t e = open_once(t, profiles, profile_name, out, errbuf, errlen);
    /* A card seen a moment after insertion may not answer yet (measured
     * with pcscd + vpcd: SCARD_E_NOT_TRANSACTED on the first SELECT, for
     * some tens of milliseconds). Identification only reads: try again
     * after a short pause and a warm reset, for at most 200 ms. */
    for (int again = 0; again < 8 && (e == CF_ERR_TRANSPORT || e == CF_ERR_CARD_RESET) &&
                        strcmp(cf_transport_kind(t), "pcsc") == 0;
         again++) {
        struct timespec ts = {0, 25 * 1000000L};
        nanosleep(&ts, NULL);
        cf_transport_reset(t);
        e = open_once(t, profiles, profile_name, out, errbuf, errlen);
    }
    return e;
}

void cf_card_free(cf_card_t *card)
{
    if (card == NULL)
        return;
    for (int c = 0; c < CF_CRED_COUNT; c++)
        cf_card_cred_changed(card, (cf_cred_t)c);
    cf_card_session_ended(card);
    cf_wipe(card, sizeof(*card));
    free(card);
}

cf_transport_t *cf_card_transport(const cf_card_t *card)
{
    return card ? card->t : NULL;
}

const cf_profile_t *cf_card_profile(const cf_card_t *card)
{
    return card ? card->p : NULL;
}

const char *cf_card_serial(const cf_card_t *card)
{
    return card ? card->serial : "";
}

const char *cf_card_version(const cf_card_t *card)
{
    return card ? card->version : "";
}

const char *cf_card_errmsg(const cf_card_t *card)
{
    return card ? card->errmsg : "";
}

uint16_t cf_card_last_sw(const cf_card_t *card)
{
    return card ? card->last_sw : 0;
}

cf_err_t cf_card_reselect(cf_card_t *card)
{
    if (card == NULL)
        return CF_ERR_ARG;
    cf_card_session_ended(card);
    if (card->p->reselect == CF_RESELECT_RESET) {
        cf_err_t err = cf_transport_reset(card->t);
        if (err != CF_OK)
            return cf_card_fail(card, err, "reselect: reset: %s", cf_transport_errmsg(card->t));
    }
    if (card->p->select.present) {
        cf_tmpl_vals_t v;
        cf_rapdu_t r;
        cf_card_base_vals(card, NULL, &v);
        cf_err_t err = cf_card_cmd(card, "reselect", &card->p->select, &v, CF_CMD_PLAIN,
                                   CF_CRED_COUNT, &r, NULL);
        if (err != CF_OK)
            return err;
    }
    cf_card_ok(card);
    return CF_OK;
}
