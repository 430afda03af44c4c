/*
 * build.c - a merged YAML tree checked against the profile schema and
 * compiled into a cf_profile_t (docs/profiles.md is the schema's reference).
 *
 * Every section is read even after an error, so one load lists every
 * problem. Checks that involve two sections (a template that names the PUK
 * of a card without one, an operation that needs the admin key, an
 * algorithm a scheme cannot do) are made here too, so a profile that loads
 * can always be executed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "profile/schema.h"

#define B CF_PH_BIT

static const char *const top_keys[] = {
    "extends", "family",    "description", "identify", "serial", "version", "pin",
    "puk",     "admin_key", "operations",  "reselect", "keys",   NULL};

/* Placeholders every command may use: the references of the credentials
 * the card has, and the admin key's algorithm. */
static unsigned common_ph(const cf_profile_t *p)
{
    unsigned m = B(CF_PH_PIN_REF);
    if (p->puk.present)
        m |= B(CF_PH_PUK_REF);
    if (p->admin.present)
        m |= B(CF_PH_ADMIN_REF) | B(CF_PH_ALG);
    return m;
}

/* Report the placeholders of need that the template does not use. */
static void need_uses(cf_sctx_t *s, const cf_prof_cmd_t *c, const char *what, unsigned need)
{
    if (!c->present)
        return;
    unsigned missing = need & ~cf_tmpl_uses(c->apdu);
    for (int ph = 0; ph < CF_PH_COUNT; ph++)
        if (missing & B(ph))
            cf_s_err_line(s, c->file, c->line, "%s: the APDU never sends {%s}", what,
                          cf_ph_name((cf_ph_t)ph));
}

/* ---- identify ----------------------------------------------------------- */

static void read_atr(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n)
{
    if (cf_s_kind(s, n, CF_Y_SEQ, "identify.atr") < 0)
        return;
    if (n->n > CF_PROF_MAX_ATR) {
        cf_s_err(s, n, "identify.atr: at most %d patterns", CF_PROF_MAX_ATR);
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const cf_ynode_t *it = n->items[i];
        cf_atr_pattern_t *a = &p->atr[p->n_atr];
        const cf_ynode_t *value = it, *mask = NULL;
        if (it->kind == CF_Y_MAP) {
            static const char *const keys[] = {"value", "mask", NULL};
            cf_s_keys(s, it, "identify.atr", keys);
            value = cf_s_need(s, it, "value", "identify.atr");
            mask = cf_s_get(it, "mask");
        }
        if (value == NULL || cf_s_hex(s, value, "identify.atr", a->value, CF_ATR_MAX, &a->len) < 0)
            continue;
        memset(a->mask, 0xff, sizeof(a->mask));
        if (mask != NULL) {
            size_t ml;
            if (cf_s_hex(s, mask, "identify.atr.mask", a->mask, CF_ATR_MAX, &ml) < 0)
                continue;
            if (ml != a->len) {
                cf_s_err(s, mask, "identify.atr.mask: %zu bytes, the ATR value has %zu", ml,
                         a->len);
                continue;
            }
        }
        p->n_atr++;
    }
}

/* `expect: { path: ..., prefix: hex | [hex, ...] }` */
static void read_expect(cf_sctx_t *s, const cf_ynode_t *ex, const char *what, cf_expect_t *e)
{
    if (cf_s_kind(s, ex, CF_Y_MAP, what) < 0)
        return;
    static const char *const ekeys[] = {"path", "prefix", NULL};
    cf_s_keys(s, ex, what, ekeys);
    char sub[80];
    int ok = 1;
    const cf_ynode_t *path = cf_s_get(ex, "path");
    if (path != NULL) {
        snprintf(sub, sizeof(sub), "%s.path", what);
        ok &= cf_s_path(s, path, sub, &e->field.path) == 0;
    }
    const cf_ynode_t *prefix = cf_s_need(s, ex, "prefix", what);
    snprintf(sub, sizeof(sub), "%s.prefix", what);
    if (prefix == NULL) {
        ok = 0;
    } else if (prefix->kind == CF_Y_SEQ) {
        if (prefix->n == 0 || prefix->n > CF_EXPECT_MAX_PREFIX) {
            cf_s_err(s, prefix, "%s: 1 to %d prefixes expected", sub, CF_EXPECT_MAX_PREFIX);
            ok = 0;
        }
        for (size_t i = 0; ok && i < prefix->n; i++)
            ok &= cf_s_hex(s, prefix->items[i], sub, e->prefix[i], CF_EXPECT_PREFIX_LEN,
                           &e->prefix_len[i]) == 0;
        e->n_prefix = ok ? prefix->n : 0;
    } else {
        ok &= cf_s_hex(s, prefix, sub, e->prefix[0], CF_EXPECT_PREFIX_LEN, &e->prefix_len[0]) == 0;
        e->n_prefix = 1;
    }
    e->present = ok;
}

/* A command with an optional `expect:` (identify.select, identify.probe). */
static void read_ident_cmd(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n, const char *what,
                           cf_prof_cmd_t *cmd, cf_expect_t *e)
{
    static const char *const extra[] = {"expect", NULL};
    if (cf_s_cmd(s, n, what, common_ph(p), CF_S_CMD_READS, extra, cmd) != 0 || n->kind != CF_Y_MAP)
        return;
    const cf_ynode_t *ex = cf_s_get(n, "expect");
    char sub[64];
    snprintf(sub, sizeof(sub), "%s.expect", what);
    if (ex != NULL)
        read_expect(s, ex, sub, e);
}

static void read_identify(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n)
{
    if (cf_s_kind(s, n, CF_Y_MAP, "identify") < 0)
        return;
    static const char *const keys[] = {"atr", "select", "probe", NULL};
    cf_s_keys(s, n, "identify", keys);
    const cf_ynode_t *atr = cf_s_get(n, "atr"), *sel = cf_s_get(n, "select");
    const cf_ynode_t *probe = cf_s_get(n, "probe");
    if (atr != NULL)
        read_atr(s, p, atr);
    if (sel != NULL)
        read_ident_cmd(s, p, sel, "identify.select", &p->select, &p->select_expect);
    else
        cf_s_err(s, n,
                 "identify: needs a 'select' command: the application answering its SELECT "
                 "is what recognises a card (ATR patterns only put a profile first in line)");
    if (probe != NULL)
        read_ident_cmd(s, p, probe, "identify.probe", &p->probe, &p->probe_expect);
}

/* ---- serial and version ------------------------------------------------- */

static const char *const format_names[] = {"decimal", "hex-lower", "hex-upper", "dotted", NULL};

static void read_value(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n, const char *what,
                       int need_format, cf_text_format_t dflt, cf_prof_read_t *out)
{
    static const char *const extra[] = {"value", "format", NULL};
    out->format = dflt;
    if (cf_s_kind(s, n, CF_Y_MAP, what) < 0)
        return;
    if (cf_s_cmd(s, n, what, common_ph(p), CF_S_CMD_READS, extra, &out->cmd) < 0)
        return;
    char sub[64];
    const cf_ynode_t *v = cf_s_get(n, "value");
    if (v != NULL) {
        snprintf(sub, sizeof(sub), "%s.value", what);
        cf_s_field(s, v, sub, 0, &out->value);
    }
    v = need_format ? cf_s_need(s, n, "format", what) : cf_s_get(n, "format");
    int f;
    snprintf(sub, sizeof(sub), "%s.format", what);
    if (v != NULL && cf_s_enum(s, v, sub, format_names, &f) == 0)
        out->format = (cf_text_format_t)f;
    if (out->format == CF_FMT_DECIMAL && out->value.length > 8)
        cf_s_err(s, n, "%s: a decimal value is at most 8 bytes long", what);
    if (out->format != CF_FMT_DECIMAL && out->value.length > 32)
        cf_s_err(s, n, "%s: a value shown as text is at most 32 bytes long", what);
}

/* "APDU 00 F8 00 00, field 53/34": where a value is read, as written. */
static void describe_read(const cf_ynode_t *n, char *out, size_t cap)
{
    const cf_ynode_t *apdu = n->kind == CF_Y_MAP ? cf_s_get(n, "apdu") : n;
    const cf_ynode_t *val = n->kind == CF_Y_MAP ? cf_s_get(n, "value") : NULL;
    const cf_ynode_t *path = val != NULL && val->kind == CF_Y_MAP ? cf_s_get(val, "path") : NULL;
    snprintf(out, cap, "APDU %s%s%s", apdu != NULL && apdu->kind == CF_Y_SCALAR ? apdu->text : "?",
             path != NULL && path->kind == CF_Y_SCALAR && path->text[0] ? ", field " : "",
             path != NULL && path->kind == CF_Y_SCALAR ? path->text : "");
}

/* ---- retry counters ----------------------------------------------------- */

static const char *const kind_names[] = {"known", "unknown", "unlimited", NULL};

static void read_counter(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n, const char *what,
                         cf_prof_counter_t *out)
{
    out->readable = 0;
    out->kind = CF_TRIES_UNKNOWN;
    if (n == NULL)
        return;
    int k;
    if (n->kind == CF_Y_SCALAR) {
        if (cf_s_enum(s, n, what, kind_names + 1, &k) == 0)
            out->kind = k == 0 ? CF_TRIES_UNKNOWN : CF_TRIES_UNLIMITED;
        return;
    }
    if (cf_s_kind(s, n, CF_Y_MAP, what) < 0)
        return;
    static const char *const extra[] = {"left", "max", "absent", NULL};
    if (cf_s_cmd(s, n, what, common_ph(p), CF_S_CMD_READS | CF_S_CMD_UNKNOWN, extra, &out->cmd) < 0)
        return;
    char sub[64];
    const cf_ynode_t *v = cf_s_need(s, n, "left", what);
    snprintf(sub, sizeof(sub), "%s.left", what);
    int ok = v != NULL;
    if (ok && v->kind == CF_Y_SCALAR && strcmp(v->text, "status-word") == 0)
        out->from_sw = 1;
    else if (ok)
        ok = cf_s_field(s, v, sub, 1, &out->left) == 0;
    if (out->from_sw && (cf_s_get(n, "max") != NULL || cf_s_get(n, "absent") != NULL)) {
        cf_s_err(s, n, "%s: a counter read from the status word has no 'max' or 'absent'", what);
        ok = 0;
    }
    if ((v = cf_s_get(n, "max")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.max", what);
        out->has_max = cf_s_field(s, v, sub, 1, &out->max) == 0;
        ok &= out->has_max;
    }
    if ((v = cf_s_get(n, "absent")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.absent", what);
        if (cf_s_enum(s, v, sub, kind_names + 1, &k) == 0) {
            out->absent_set = 1;
            out->absent = k == 0 ? CF_TRIES_UNKNOWN : CF_TRIES_UNLIMITED;
        } else {
            ok = 0;
        }
    }
    out->readable = ok;
}

/* ---- PIN and PUK -------------------------------------------------------- */

static const char *const charset_names[] = {"digits", "alnum", "ascii", "any", NULL};

static void read_cred(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n, const char *what,
                      cf_prof_cred_t *c)
{
    if (cf_s_kind(s, n, CF_Y_MAP, what) < 0)
        return;
    static const char *const keys[] = {"reference", "factory", "min_length", "max_length",
                                       "charset",   "pad",     "tries",      NULL};
    cf_s_keys(s, n, what, keys);
    size_t before = s->errors;
    char sub[64];
    const cf_ynode_t *v;
    unsigned long u;
    c->present = 1;
    c->charset = CF_CHARSET_ASCII;
    if ((v = cf_s_need(s, n, "reference", what)) != NULL) {
        snprintf(sub, sizeof(sub), "%s.reference", what);
        cf_s_byte(s, v, sub, &c->ref);
    }
    if ((v = cf_s_need(s, n, "min_length", what)) != NULL) {
        snprintf(sub, sizeof(sub), "%s.min_length", what);
        if (cf_s_uint(s, v, sub, 1, 64, &u) == 0)
            c->min_len = u;
    }
    if ((v = cf_s_need(s, n, "max_length", what)) != NULL) {
        snprintf(sub, sizeof(sub), "%s.max_length", what);
        if (cf_s_uint(s, v, sub, 1, 64, &u) == 0)
            c->max_len = u;
        if (c->min_len > c->max_len && c->max_len > 0)
            cf_s_err(s, v, "%s: max_length %zu is below min_length %zu", what, c->max_len,
                     c->min_len);
    }
    int k;
    if ((v = cf_s_get(n, "charset")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.charset", what);
        if (cf_s_enum(s, v, sub, charset_names, &k) == 0)
            c->charset = (cf_charset_t)k;
    }
    if ((v = cf_s_get(n, "pad")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.pad", what);
        if (cf_s_kind(s, v, CF_Y_MAP, sub) == 0) {
            static const char *const pkeys[] = {"byte", "to", NULL};
            cf_s_keys(s, v, sub, pkeys);
            const cf_ynode_t *b = cf_s_need(s, v, "byte", sub);
            const cf_ynode_t *to = cf_s_need(s, v, "to", sub);
            int ok = b != NULL && cf_s_byte(s, b, sub, &c->pad_byte) == 0;
            ok &= to != NULL && cf_s_uint(s, to, sub, 1, 64, &u) == 0;
            if (ok && u < c->max_len)
                cf_s_err(s, to, "%s: pads to %lu bytes, less than max_length %zu", sub, u,
                         c->max_len);
            else if (ok) {
                c->padded = 1;
                c->pad_to = u;
            }
        }
    }
    snprintf(sub, sizeof(sub), "%s.tries", what);
    read_counter(s, p, cf_s_get(n, "tries"), sub, &c->tries);
    if ((v = cf_s_get(n, "factory")) != NULL && s->errors == before) {
        snprintf(sub, sizeof(sub), "%s.factory", what);
        const char *text;
        char why[128];
        if (cf_s_text(s, v, sub, 64, &text) == 0) {
            if (cf_prof_policy_check(c, (const uint8_t *)text, v->len, why, sizeof(why)) < 0)
                cf_s_err(s, v, "%s: the factory value breaks the policy: %s", sub, why);
            else if ((c->factory = cf_secret_new(text, v->len)) == NULL)
                cf_s_err(s, v, "%s: out of memory", sub);
        }
    }
}

/* ---- admin key ---------------------------------------------------------- */

static const char *const scheme_names[] = {"piv-9b", "gids-mutual", "gids-external", NULL};

static void read_algs(cf_sctx_t *s, cf_prof_admin_t *a, const cf_ynode_t *n)
{
    const char *what = "admin_key.algorithms";
    if (cf_s_kind(s, n, CF_Y_SEQ, what) < 0)
        return;
    if (n->n == 0 || n->n > CF_PROF_MAX_ALGS) {
        cf_s_err(s, n, "%s: 1 to %d algorithms expected", what, CF_PROF_MAX_ALGS);
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const cf_ynode_t *it = n->items[i];
        if (cf_s_kind(s, it, CF_Y_MAP, what) < 0)
            continue;
        static const char *const keys[] = {"type", "id", NULL};
        cf_s_keys(s, it, what, keys);
        const cf_ynode_t *t = cf_s_need(s, it, "type", what);
        const cf_ynode_t *id = cf_s_need(s, it, "id", what);
        cf_prof_alg_t alg;
        int ok = id != NULL && cf_s_byte(s, id, "admin_key.algorithms.id", &alg.id) == 0;
        if (t != NULL && cf_s_kind(s, t, CF_Y_SCALAR, "admin_key.algorithms.type") == 0) {
            if (cf_card_key_type_parse(t->text, &alg.type) != CF_OK) {
                cf_s_err(s, t,
                         "admin_key.algorithms.type: '%.32s' is not one of: 3des2, 3des, aes128, "
                         "aes192, aes256",
                         t->text);
                ok = 0;
            }
        } else {
            ok = 0;
        }
        for (size_t j = 0; ok && j < a->n_algs; j++) {
            if (a->algs[j].type == alg.type || a->algs[j].id == alg.id) {
                cf_s_err(s, it, "%s: type %s or id %02X listed twice", what,
                         cf_card_key_type_name(alg.type), alg.id);
                ok = 0;
            }
        }
        if (ok)
            a->algs[a->n_algs++] = alg;
    }
}

static void read_auth(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n, const char *what,
                      int external, cf_prof_auth_t *out)
{
    if (cf_s_kind(s, n, CF_Y_MAP, what) < 0)
        return;
    static const char *const keys[] = {"scheme", "prepare", "challenge", "answer", NULL};
    cf_s_keys(s, n, what, keys);
    size_t before = s->errors;
    char sub[64];
    snprintf(sub, sizeof(sub), "%s.scheme", what);
    const cf_ynode_t *v = cf_s_need(s, n, "scheme", what);
    int sc;
    if (v == NULL || cf_s_enum(s, v, sub, scheme_names, &sc) < 0)
        return;
    out->scheme = (cf_scheme_t)sc;
    if (external && out->scheme != CF_SCHEME_GIDS_EXTERNAL) {
        cf_s_err(s, v, "%s: external authentication uses the scheme gids-external", sub);
        return;
    }
    if (!external && out->scheme == CF_SCHEME_GIDS_EXTERNAL) {
        cf_s_err(s, v, "%s: gids-external is one-way: write it under admin_key.external", sub);
        return;
    }
    unsigned base = common_ph(p);
    unsigned ch_ph = base, ans_ph = base, ch_need = 0, ans_need = 0;
    switch (out->scheme) {
    case CF_SCHEME_PIV_9B:
        ans_need = B(CF_PH_WITNESS) | B(CF_PH_CHALLENGE);
        break;
    case CF_SCHEME_GIDS_MUTUAL:
        ch_need = B(CF_PH_HOST_RANDOM);
        ans_need = B(CF_PH_CRYPTOGRAM);
        break;
    case CF_SCHEME_GIDS_EXTERNAL:
        ans_need = B(CF_PH_RESPONSE);
        break;
    }
    ch_ph |= ch_need;
    ans_ph |= ans_need;
    unsigned resp = CF_S_CMD_READS | CF_S_CMD_RESPONSE | CF_S_CMD_WRONG;
    if ((v = cf_s_get(n, "prepare")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.prepare", what);
        cf_s_cmd(s, v, sub, base, CF_S_CMD_WRONG, NULL, &out->prepare);
    }
    snprintf(sub, sizeof(sub), "%s.challenge", what);
    if ((v = cf_s_need(s, n, "challenge", what)) != NULL &&
        cf_s_cmd(s, v, sub, ch_ph, resp, NULL, &out->challenge) == 0) {
        need_uses(s, &out->challenge, sub, ch_need);
        if (!out->challenge.has_response)
            cf_s_err(s, v, "%s: needs 'response:', the TLV path of the card's challenge", sub);
    }
    snprintf(sub, sizeof(sub), "%s.answer", what);
    if ((v = cf_s_need(s, n, "answer", what)) != NULL &&
        cf_s_cmd(s, v, sub, ans_ph,
                 out->scheme == CF_SCHEME_GIDS_EXTERNAL ? (CF_S_CMD_WRONG | CF_S_CMD_RESPONSE)
                                                        : resp,
                 NULL, &out->answer) == 0) {
        need_uses(s, &out->answer, sub, ans_need);
        if (out->scheme != CF_SCHEME_GIDS_EXTERNAL && !out->answer.has_response)
            cf_s_err(s, v, "%s: needs 'response:', the TLV path of the card's cryptogram", sub);
    }
    out->present = s->errors == before;
}

static void read_admin(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n)
{
    const char *what = "admin_key";
    cf_prof_admin_t *a = &p->admin;
    static const char *const keys[] = {"reference", "factory", "algorithms", "algorithm_read",
                                       "tries",     "auth",    "external",   NULL};
    cf_s_keys(s, n, what, keys);
    const cf_ynode_t *v;
    if ((v = cf_s_need(s, n, "reference", what)) != NULL)
        cf_s_byte(s, v, "admin_key.reference", &a->ref);
    if ((v = cf_s_need(s, n, "algorithms", what)) != NULL)
        read_algs(s, a, v);
    if ((v = cf_s_get(n, "factory")) != NULL) {
        uint8_t key[32];
        size_t len;
        cf_card_key_type_t t;
        if (cf_s_hex(s, v, "admin_key.factory", key, sizeof(key), &len) == 0) {
            if (a->n_algs > 0 && cf_profile_admin_key_type(p, len, &t) != CF_OK)
                cf_s_err(s, v, "admin_key.factory: no algorithm of this profile has %zu-byte keys",
                         len);
            else if ((a->factory = cf_secret_new(key, len)) == NULL)
                cf_s_err(s, v, "admin_key.factory: out of memory");
        }
        OPENSSL_cleanse(key, sizeof(key));
    }
    if ((v = cf_s_get(n, "algorithm_read")) != NULL &&
        cf_s_kind(s, v, CF_Y_MAP, "admin_key.algorithm_read") == 0) {
        static const char *const extra[] = {"value", NULL};
        if (cf_s_cmd(s, v, "admin_key.algorithm_read", common_ph(p),
                     CF_S_CMD_READS | CF_S_CMD_UNKNOWN, extra, &a->alg_read.cmd) == 0) {
            const cf_ynode_t *f = cf_s_need(s, v, "value", "admin_key.algorithm_read");
            if (f != NULL)
                cf_s_field(s, f, "admin_key.algorithm_read.value", 1, &a->alg_read.value);
        }
    }
    read_counter(s, p, cf_s_get(n, "tries"), "admin_key.tries", &a->tries);
    if ((v = cf_s_need(s, n, "auth", what)) != NULL)
        read_auth(s, p, v, "admin_key.auth", 0, &a->auth);
    if ((v = cf_s_get(n, "external")) != NULL)
        read_auth(s, p, v, "admin_key.external", 1, &a->external);
    if (a->auth.present && a->auth.scheme == CF_SCHEME_GIDS_MUTUAL) {
        for (size_t i = 0; i < a->n_algs; i++)
            if (a->algs[i].type != CF_CARD_KEY_3DES)
                cf_s_err(s, n,
                         "admin_key: the gids-mutual scheme works with 3des keys only, "
                         "not %s",
                         cf_card_key_type_name(a->algs[i].type));
    }
}

/* ---- operations --------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned ph;   /* placeholders it may use beyond the common ones */
    unsigned need; /* placeholders it must use */
    int required;
    cf_cred_t needs; /* credential it needs (CF_CRED_PIN: always there) */
} op_info[CF_OP_COUNT] = {
    [CF_OP_VERIFY_PIN] = {"verify_pin", B(CF_PH_PIN), B(CF_PH_PIN), 1, CF_CRED_PIN},
    [CF_OP_CHANGE_PIN] = {"change_pin", B(CF_PH_PIN) | B(CF_PH_NEW_PIN),
                          B(CF_PH_PIN) | B(CF_PH_NEW_PIN), 1, CF_CRED_PIN},
    [CF_OP_UNBLOCK_PIN_BY_PUK] = {"unblock_pin_by_puk", B(CF_PH_PUK) | B(CF_PH_NEW_PIN),
                                  B(CF_PH_PUK) | B(CF_PH_NEW_PIN), 0, CF_CRED_PUK},
    [CF_OP_CHANGE_PUK] = {"change_puk", B(CF_PH_PUK) | B(CF_PH_NEW_PUK),
                          B(CF_PH_PUK) | B(CF_PH_NEW_PUK), 0, CF_CRED_PUK},
    [CF_OP_SET_ADMIN_KEY] = {"set_admin_key", B(CF_PH_NEW_KEY) | B(CF_PH_KCV), B(CF_PH_NEW_KEY), 0,
                             CF_CRED_ADMIN},
    [CF_OP_UNBLOCK_PIN_BY_ADMIN] = {"unblock_pin_by_admin", B(CF_PH_NEW_PIN), B(CF_PH_NEW_PIN), 0,
                                    CF_CRED_ADMIN},
};

static void read_ops(cf_sctx_t *s, cf_profile_t *p, const cf_ynode_t *n)
{
    if (cf_s_kind(s, n, CF_Y_MAP, "operations") < 0)
        return;
    const char *keys[CF_OP_COUNT + 1];
    for (int i = 0; i < CF_OP_COUNT; i++)
        keys[i] = op_info[i].name;
    keys[CF_OP_COUNT] = NULL;
    cf_s_keys(s, n, "operations", keys);
    for (int i = 0; i < CF_OP_COUNT; i++) {
        char what[64];
        snprintf(what, sizeof(what), "operations.%s", op_info[i].name);
        const cf_ynode_t *v = cf_s_get(n, op_info[i].name);
        if (v == NULL) {
            if (op_info[i].required)
                cf_s_err(s, n, "operations: the operation '%s' is missing", op_info[i].name);
            continue;
        }
        if (!cf_prof_has_cred(p, op_info[i].needs)) {
            cf_s_err(s, v, "%s: the card type has no %s section for it", what,
                     op_info[i].needs == CF_CRED_PUK ? "puk" : "admin_key");
            continue;
        }
        unsigned allowed = common_ph(p) | op_info[i].ph;
        if (cf_s_cmd(s, v, what, allowed, CF_S_CMD_WRONG, NULL, &p->ops[i]) == 0)
            need_uses(s, &p->ops[i], what, op_info[i].need);
    }
}

/* ---- the whole profile -------------------------------------------------- */

static const char *const family_names[] = {"piv", "gids", NULL};
static const char *const reselect_names[] = {"select", "reset", NULL};
/* In the order of cf_keys_scheme_t after CF_KEYS_NONE. */
static const char *const keys_names[] = {"piv", "yubikey", "gids-minidriver", NULL};

size_t cf_prof_build(cf_profile_t *p, const cf_ynode_t *tree, cf_diag_list_t *diags)
{
    cf_sctx_t s = {.diags = diags};
    cf_s_keys(&s, tree, "profile", top_keys);
    const cf_ynode_t *v;
    int k;
    if ((v = cf_s_need(&s, tree, "family", "profile")) != NULL &&
        cf_s_enum(&s, v, "family", family_names, &k) == 0)
        snprintf(p->family, sizeof(p->family), "%s", family_names[k]);
    const char *text = "";
    if ((v = cf_s_get(tree, "description")) != NULL)
        cf_s_text(&s, v, "description", 200, &text);
    p->description = strdup(text);
    if (p->description == NULL)
        cf_s_err(&s, tree, "out of memory");

    /* Which credentials exist decides which placeholders every command
     * may use, so it is settled before any command is compiled. */
    p->puk.present = cf_s_get(tree, "puk") != NULL;
    p->admin.present = cf_s_get(tree, "admin_key") != NULL;
    if ((v = cf_s_need(&s, tree, "pin", "profile")) != NULL)
        read_cred(&s, p, v, "pin", &p->pin);
    if ((v = cf_s_get(tree, "puk")) != NULL)
        read_cred(&s, p, v, "puk", &p->puk);
    if ((v = cf_s_get(tree, "admin_key")) != NULL && cf_s_kind(&s, v, CF_Y_MAP, "admin_key") == 0)
        read_admin(&s, p, v);
    cf_prof_policy_text(&p->pin, p->pin_policy_text, sizeof(p->pin_policy_text));

    if ((v = cf_s_need(&s, tree, "identify", "profile")) != NULL)
        read_identify(&s, p, v);
    if ((v = cf_s_need(&s, tree, "serial", "profile")) != NULL) {
        read_value(&s, p, v, "serial", 1, CF_FMT_HEX_LOWER, &p->serial);
        describe_read(v, p->serial_source, sizeof(p->serial_source));
    }
    if ((v = cf_s_get(tree, "version")) != NULL)
        read_value(&s, p, v, "version", 0, CF_FMT_DOTTED, &p->version);
    if ((v = cf_s_need(&s, tree, "operations", "profile")) != NULL)
        read_ops(&s, p, v);
    /* Without a SELECT command a new session can only come from a reset. */
    p->reselect = p->select.present ? CF_RESELECT_SELECT : CF_RESELECT_RESET;
    if ((v = cf_s_get(tree, "reselect")) != NULL &&
        cf_s_enum(&s, v, "reselect", reselect_names, &k) == 0) {
        p->reselect = (cf_reselect_how_t)k;
        if (p->reselect == CF_RESELECT_SELECT && !p->select.present)
            cf_s_err(&s, v, "reselect: 'select' needs identify.select");
    }
    p->keys = CF_KEYS_NONE;
    if ((v = cf_s_get(tree, "keys")) != NULL && cf_s_enum(&s, v, "keys", keys_names, &k) == 0)
        p->keys = (cf_keys_scheme_t)(k + 1);
    return s.errors;
}

static void clear_auth(cf_prof_auth_t *a)
{
    cf_prof_cmd_clear(&a->prepare);
    cf_prof_cmd_clear(&a->challenge);
    cf_prof_cmd_clear(&a->answer);
}

void cf_prof_free(cf_profile_t *p)
{
    if (p == NULL)
        return;
    free(p->description);
    free(p->base);
    cf_ynode_free(p->tree);
    cf_prof_cmd_clear(&p->select);
    cf_prof_cmd_clear(&p->probe);
    cf_prof_cmd_clear(&p->serial.cmd);
    cf_prof_cmd_clear(&p->version.cmd);
    cf_prof_cmd_clear(&p->pin.tries.cmd);
    cf_prof_cmd_clear(&p->puk.tries.cmd);
    cf_secret_free(p->pin.factory);
    cf_secret_free(p->puk.factory);
    cf_secret_free(p->admin.factory);
    cf_prof_cmd_clear(&p->admin.alg_read.cmd);
    cf_prof_cmd_clear(&p->admin.tries.cmd);
    clear_auth(&p->admin.auth);
    clear_auth(&p->admin.external);
    for (int i = 0; i < CF_OP_COUNT; i++)
        cf_prof_cmd_clear(&p->ops[i]);
    OPENSSL_cleanse(p, sizeof(*p));
    free(p);
}
