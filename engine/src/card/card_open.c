/*
 * card_open.c - identifying a card, reading its serial and version, the
 * card object's lifetime, and starting a clean session (reselect).
 *
 * Recognition is the standard's: a card is a PIV or a GIDS card because its
 * application answers SELECT of that application's AID. The ATR differs by
 * vendor, model and interface, so it never decides anything: a profile
 * whose ATR patterns name the card is only tried first. A profile that
 * extends another (a vendor's extensions over the standard) is chosen
 * automatically only when the card proves what distinguishes it: a probe,
 * a read that spends no try (GET VERSION of a YubiKey), or its ATR
 * patterns; otherwise it is used only when named, since nothing on the
 * card can show it (factory values, for instance).
 *
 * The profiles are tried most specific first (children before their
 * base). Each answer is kept while identifying, so a SELECT or a probe that
 * several profiles share goes to the card once: every APDU here is sent to
 * every card of a batch. The serial is read right after: it is what keys
 * are derived from and what the journal records, so a card whose serial
 * cannot be read is not opened.
 */
#include <stdarg.h>
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

/* One read-only command sent while identifying, and its answer. */
#define IDENT_MAX_SEEN 16
#define IDENT_MAX_ANSWER 258
struct seen {
    uint8_t bytes[4 + 255 + 1];
    size_t len;
    int sel; /* the SELECT in effect when it was sent (-1: none / unknown) */
    uint16_t sw;
    int ok; /* a success status word of the command */
    uint8_t data[IDENT_MAX_ANSWER];
    size_t dlen;
    int cached; /* the answer's data fit data[] */
};

struct ident {
    struct seen seen[IDENT_MAX_SEEN];
    size_t n;
    int selected; /* index of the SELECT the card holds now, -1 when unknown */
};

static void ident_log(cf_card_t *card, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ident_log(cf_card_t *card, const char *fmt, ...)
{
    size_t used = strlen(card->ident_log);
    if (used + 1 >= sizeof(card->ident_log))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(card->ident_log + used, sizeof(card->ident_log) - used, fmt, ap);
    va_end(ap);
}

/* The bytes of cmd as profile p would send them (reads only: no secret). */
static int cmd_bytes(cf_card_t *card, const cf_profile_t *p, const cf_prof_cmd_t *cmd,
                     struct seen *out)
{
    const cf_profile_t *keep = card->p;
    card->p = p;
    cf_tmpl_vals_t v;
    cf_card_base_vals(card, NULL, &v);
    card->p = keep;
    uint8_t data[CF_TMPL_MAX_DATA];
    size_t len = 0, off = 0, slen = 0;
    if (cf_tmpl_expand(cmd->apdu, &v, out->bytes, data, sizeof(data), &len, &off, &slen) != CF_OK ||
        len > 255)
        return -1;
    memcpy(out->bytes + 4, data, len);
    out->bytes[4 + len] = (uint8_t)(cmd->le & 0xFF);
    out->len = 4 + len + 1;
    return 0;
}

/* Send cmd of profile p (a SELECT when is_select), or take its answer from
 * what was seen. *hit: the seen entry (its data valid while identifying).
 * Errors are the transport's; a refusal is hit->ok == 0. */
static cf_err_t ident_send(cf_card_t *card, struct ident *id, const cf_profile_t *p,
                           const cf_prof_cmd_t *cmd, int is_select, const char *what,
                           const struct seen **hit)
{
    struct seen cur;
    memset(&cur, 0, sizeof(cur));
    if (cmd_bytes(card, p, cmd, &cur) == 0) {
        cur.sel = is_select ? -1 : id->selected;
        for (size_t i = 0; i < id->n; i++) {
            struct seen *e = &id->seen[i];
            if (e->len != cur.len || memcmp(e->bytes, cur.bytes, cur.len) != 0 || !e->cached)
                continue;
            /* A refused SELECT is refused again; a successful one is
             * still in effect only when no other SELECT went out since.
             * Other reads are the same while the same SELECT holds. */
            if ((is_select && (!e->ok || id->selected == (int)i)) ||
                (!is_select && e->sel == cur.sel && cur.sel >= 0)) {
                *hit = e;
                return CF_OK;
            }
        }
    }
    const cf_profile_t *keep = card->p;
    card->p = p;
    cf_tmpl_vals_t v;
    cf_rapdu_t r;
    cf_card_base_vals(card, NULL, &v);
    cf_err_t err = cf_card_cmd(card, what, cmd, &v, CF_CMD_PLAIN, CF_CRED_COUNT, &r, NULL);
    card->p = keep;
    if (err != CF_OK && err != CF_ERR_CARD_STATUS)
        return err;
    cur.sw = r.sw;
    cur.ok = err == CF_OK;
    cur.cached = cur.len > 0 && r.len <= sizeof(cur.data);
    if (r.len <= sizeof(cur.data)) {
        memcpy(cur.data, r.data, r.len);
        cur.dlen = r.len;
    }
    size_t slot = id->n < IDENT_MAX_SEEN ? id->n++ : IDENT_MAX_SEEN - 1;
    if (is_select) {
        /* A refused SELECT may or may not leave the earlier one in
         * effect: take it as unknown, so the next one is sent again. */
        id->selected = cur.ok ? (int)slot : -1;
    } else if (id->selected == (int)slot) {
        id->selected = -1; /* the SELECT's entry is overwritten: resend it */
    }
    id->seen[slot] = cur;
    *hit = &id->seen[slot];
    return CF_OK;
}

/* 1 when one of p's ATR patterns names the card. */
static int atr_listed(cf_card_t *card, const cf_profile_t *p)
{
    size_t alen = 0;
    const uint8_t *atr = cf_transport_atr(card->t, &alen);
    for (size_t i = 0; i < p->n_atr; i++)
        if (cf_atr_match(&p->atr[i], atr, alen))
            return 1;
    return 0;
}

/* Does the card answer as p says? With `named`, only the SELECT has to
 * succeed (the operator said which card this is). *match 1/0; errors are
 * the transport's. */
static cf_err_t try_profile(cf_card_t *card, struct ident *id, const cf_profile_t *p, int named,
                            int *match)
{
    *match = 0;
    const struct seen *sel = NULL;
    cf_err_t err = ident_send(card, id, p, &p->select, 1, "selecting the application", &sel);
    if (err != CF_OK)
        return err;
    if (!sel->ok) {
        ident_log(card, "%s: SELECT answered %04X (%s)\n", p->name, sel->sw,
                  cf_sw_meaning(sel->sw));
        return CF_OK;
    }
    if (!named && !cf_expect_met(&p->select_expect, sel->data, sel->dlen)) {
        ident_log(card, "%s: the SELECT answer is not the one it expects\n", p->name);
        return CF_OK;
    }
    card->sel_len = sel->dlen < sizeof(card->sel_answer) ? sel->dlen : sizeof(card->sel_answer);
    memcpy(card->sel_answer, sel->data, card->sel_len);
    if (!named && p->probe.present) {
        const struct seen *pr = NULL;
        err = ident_send(card, id, p, &p->probe, 0, "probing the card", &pr);
        if (err != CF_OK)
            return err;
        if (!pr->ok || !cf_expect_met(&p->probe_expect, pr->data, pr->dlen)) {
            if (!pr->ok)
                ident_log(card, "%s: its probe answered %04X (%s)\n", p->name, pr->sw,
                          cf_sw_meaning(pr->sw));
            else
                ident_log(card, "%s: its probe's answer is not the one it expects\n", p->name);
            return CF_OK;
        }
        ident_log(card, "%s: SELECT and probe answered as it expects\n", p->name);
    } else {
        ident_log(card, "%s: %s\n", p->name,
                  named ? "named: its SELECT answered, nothing else checked"
                        : "SELECT answered as it expects");
    }
    *match = 1;
    return CF_OK;
}

/* Identify the card: ATR-listed profiles first, then every profile the
 * card can prove, most specific first. */
static cf_err_t identify(cf_card_t *card, struct ident *id, int *match)
{
    size_t n = cf_profiles_ident_count(card->set);
    *match = 0;
    for (int pass = 0; pass < 2 && !*match; pass++) {
        for (size_t k = 0; k < n && !*match; k++) {
            const cf_profile_t *p = cf_profiles_ident_at(card->set, k);
            int listed = atr_listed(card, p);
            if (pass == 0 && !listed)
                continue;
            if (pass == 1 && listed)
                continue; /* tried in the first pass */
            if (pass == 1 && p->base != NULL && !p->probe.present) {
                ident_log(card, "%s: not tried: only its name or its ATR can choose it\n", p->name);
                continue;
            }
            if (pass == 0)
                ident_log(card, "%s: its ATR patterns name this card: tried first\n", p->name);
            cf_err_t err = try_profile(card, id, p, 0, match);
            if (err != CF_OK)
                return err;
            if (*match)
                card->p = p;
        }
    }
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

static cf_err_t read_text(cf_card_t *card, struct ident *id, const char *what,
                          const cf_prof_read_t *rd, char *out, size_t cap)
{
    const struct seen *r = NULL;
    cf_err_t err = ident_send(card, id, card->p, &rd->cmd, 0, what, &r);
    if (err != CF_OK)
        return err;
    if (!r->ok)
        return cf_card_fail(card, CF_ERR_CARD_STATUS, "%s: the card answered %04X (%s)", what,
                            r->sw, cf_sw_meaning(r->sw));
    const uint8_t *val;
    size_t vl;
    if (!r->cached || cf_field_get(&rd->value, r->data, r->dlen, &val, &vl) != 0 ||
        format_value(rd->format, val, vl, out, cap) < 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "%s: the card's answer (%zu bytes) does not hold the value %s:%lu "
                            "describes",
                            what, r->dlen, rd->cmd.file, rd->cmd.line);
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
    struct ident *id = calloc(1, sizeof(*id));
    if (card == NULL || id == NULL) {
        free(card);
        free(id);
        set_errbuf(errbuf, errlen, "out of memory");
        return CF_ERR_NOMEM;
    }
    id->selected = -1;
    card->t = t;
    card->set = profiles;
    const char *reader = cf_transport_reader(t);
    cf_err_t err = CF_OK;
    int match = 0;
    if (profile_name != NULL) {
        const cf_profile_t *p = cf_profiles_find(profiles, profile_name);
        if (p == NULL) {
            err = cf_card_fail(card, CF_ERR_NOT_FOUND, "no card profile named '%s'", profile_name);
        } else if ((err = try_profile(card, id, p, 1, &match)) == CF_OK) {
            if (match)
                card->p = p;
            else
                err =
                    cf_card_fail(card, CF_ERR_UNKNOWN_CARD,
                                 "the card in reader '%s' is not a %s card: its application "
                                 "does not answer (SELECT answered %04X (%s))",
                                 reader, profile_name, card->last_sw, cf_sw_meaning(card->last_sw));
        }
    } else if ((err = identify(card, id, &match)) == CF_OK && !match) {
        size_t alen = 0;
        const uint8_t *atr = cf_transport_atr(t, &alen);
        char hex[2 * CF_ATR_MAX + 1] = "";
        if (alen <= CF_ATR_MAX)
            cf_hex_encode(atr, alen, hex);
        err = cf_card_fail(card, CF_ERR_UNKNOWN_CARD,
                           "no card profile recognises the card in reader '%s' (ATR %s): no "
                           "application of theirs answers SELECT",
                           reader, hex);
    }
    if (err == CF_OK) {
        char what[96];
        snprintf(what, sizeof(what), "reading the serial of the %s card", card->p->name);
        err = read_text(card, id, what, &card->p->serial, card->serial, sizeof(card->serial));
    }
    if (err == CF_OK && card->p->version.cmd.present &&
        read_text(card, id, "reading the version", &card->p->version, card->version,
                  sizeof(card->version)) != CF_OK)
        card->version[0] = 0; /* the version is informational */
    free(id);
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

const char *cf_card_ident_log(const cf_card_t *card)
{
    return card ? card->ident_log : "";
}

const uint8_t *cf_card_select_answer(const cf_card_t *card, size_t *len)
{
    if (len != NULL)
        *len = card ? card->sel_len : 0;
    return card ? card->sel_answer : NULL;
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
    card->pin_ok = 0;
    card->last_read_len = 0; /* a reset or a new SELECT: the card answers anew */
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
