/*
 * schema.c - typed readers of YAML nodes with diagnostics (see schema.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/schema.h"
#include "util/hex.h"

static void vreport(cf_sctx_t *s, const char *file, unsigned long line, const char *fmt,
                    va_list ap) __attribute__((format(printf, 4, 0)));

static void vreport(cf_sctx_t *s, const char *file, unsigned long line, const char *fmt,
                    va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    cf_diag_add(s->diags, CF_SEV_ERROR, file, line, "%s", msg);
    s->errors++;
}

void cf_s_err(cf_sctx_t *s, const cf_ynode_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(s, at ? at->file : "?", at ? at->line : 0, fmt, ap);
    va_end(ap);
}

void cf_s_err_line(cf_sctx_t *s, const char *file, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(s, file, line, fmt, ap);
    va_end(ap);
}

int cf_s_kind(cf_sctx_t *s, const cf_ynode_t *n, cf_ykind_t k, const char *what)
{
    if (n->kind == k)
        return 0;
    cf_s_err(s, n, "%s: expected a %s, found a %s", what, cf_ykind_name(k),
             cf_ykind_name(n->kind));
    return -1;
}

void cf_s_keys(cf_sctx_t *s, const cf_ynode_t *map, const char *what, const char *const *allowed)
{
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->pairs[i].key;
        int ok = 0;
        for (size_t k = 0; allowed[k] != NULL && !ok; k++)
            ok = strcmp(key, allowed[k]) == 0;
        if (ok)
            continue;
        char list[256] = "";
        for (size_t k = 0; allowed[k] != NULL; k++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof(list) - l, "%s%s", k ? ", " : "", allowed[k]);
        }
        cf_s_err_line(s, map->pairs[i].val->file, map->pairs[i].line,
                      "%s: unknown key '%.64s' (known keys: %s)", what, key, list);
    }
}

const cf_ynode_t *cf_s_get(const cf_ynode_t *map, const char *key)
{
    const cf_ynode_t *v = cf_ymap_get(map, key);
    return cf_ynode_is_null(v) ? NULL : v;
}

const cf_ynode_t *cf_s_need(cf_sctx_t *s, const cf_ynode_t *map, const char *key,
                            const char *what)
{
    const cf_ynode_t *v = cf_s_get(map, key);
    if (v == NULL)
        cf_s_err(s, map, "%s: missing key '%s'", what, key);
    return v;
}

int cf_s_text(cf_sctx_t *s, const cf_ynode_t *n, const char *what, size_t maxlen,
              const char **out)
{
    if (cf_s_kind(s, n, CF_Y_SCALAR, what) < 0)
        return -1;
    if (n->len > maxlen) {
        cf_s_err(s, n, "%s: too long (at most %zu characters)", what, maxlen);
        return -1;
    }
    *out = n->text;
    return 0;
}

int cf_s_uint(cf_sctx_t *s, const cf_ynode_t *n, const char *what, unsigned long min,
              unsigned long max, unsigned long *out)
{
    if (cf_s_kind(s, n, CF_Y_SCALAR, what) < 0)
        return -1;
    unsigned long v = 0;
    int ok = n->len > 0 && n->len <= 9;
    for (size_t i = 0; ok && i < n->len; i++) {
        ok = n->text[i] >= '0' && n->text[i] <= '9';
        v = v * 10 + (unsigned long)(n->text[i] - '0');
    }
    if (!ok || v < min || v > max) {
        cf_s_err(s, n, "%s: '%.32s' is not a whole number from %lu to %lu", what, n->text, min,
                 max);
        return -1;
    }
    *out = v;
    return 0;
}

int cf_s_hex(cf_sctx_t *s, const cf_ynode_t *n, const char *what, uint8_t *out, size_t cap,
             size_t *len)
{
    if (cf_s_kind(s, n, CF_Y_SCALAR, what) < 0)
        return -1;
    size_t k = 0;
    const char *t = n->text;
    for (size_t i = 0; i < n->len;) {
        if (t[i] == ' ' || t[i] == '\t' || t[i] == ':') {
            i++;
            continue;
        }
        int hi = cf_hex_digit((unsigned char)t[i]);
        int lo = i + 1 < n->len ? cf_hex_digit((unsigned char)t[i + 1]) : -1;
        if (hi < 0 || lo < 0) {
            cf_s_err(s, n, "%s: bad hex at character %zu (hex bytes like \"3B 8B 80\" expected)",
                     what, i + 1);
            return -1;
        }
        if (k >= cap) {
            cf_s_err(s, n, "%s: too many bytes (at most %zu)", what, cap);
            return -1;
        }
        out[k++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    if (k == 0) {
        cf_s_err(s, n, "%s: no hex bytes", what);
        return -1;
    }
    *len = k;
    return 0;
}

int cf_s_byte(cf_sctx_t *s, const cf_ynode_t *n, const char *what, uint8_t *out)
{
    uint8_t b[1];
    size_t len;
    if (n->kind == CF_Y_SCALAR && n->len != 2) {
        cf_s_err(s, n, "%s: expected one hex byte like \"9B\"", what);
        return -1;
    }
    if (cf_s_hex(s, n, what, b, 1, &len) < 0)
        return -1;
    *out = b[0];
    return 0;
}

int cf_s_enum(cf_sctx_t *s, const cf_ynode_t *n, const char *what, const char *const *names,
              int *out)
{
    if (cf_s_kind(s, n, CF_Y_SCALAR, what) < 0)
        return -1;
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(n->text, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    char list[200] = "";
    for (size_t k = 0; names[k] != NULL; k++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, "%s%s", k ? ", " : "", names[k]);
    }
    cf_s_err(s, n, "%s: '%.32s' is not one of: %s", what, n->text, list);
    return -1;
}

static int one_sw(cf_sctx_t *s, const cf_ynode_t *n, const char *what, uint16_t *out)
{
    uint8_t b[2];
    size_t len;
    if (n->kind == CF_Y_SCALAR && (n->len < 4 || n->len > 5)) {
        cf_s_err(s, n, "%s: expected a status word like \"6A88\"", what);
        return -1;
    }
    if (cf_s_hex(s, n, what, b, 2, &len) < 0)
        return -1;
    if (len != 2) {
        cf_s_err(s, n, "%s: expected a status word like \"6A88\"", what);
        return -1;
    }
    *out = (uint16_t)(b[0] << 8 | b[1]);
    return 0;
}

int cf_s_sw_list(cf_sctx_t *s, const cf_ynode_t *n, const char *what, uint16_t *out, size_t cap,
                 size_t *count)
{
    *count = 0;
    if (n->kind == CF_Y_SCALAR) {
        if (one_sw(s, n, what, &out[0]) < 0)
            return -1;
        *count = 1;
        return 0;
    }
    if (cf_s_kind(s, n, CF_Y_SEQ, what) < 0)
        return -1;
    if (n->n == 0 || n->n > cap) {
        cf_s_err(s, n, "%s: 1 to %zu status words expected", what, cap);
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < n->n; i++)
        bad |= one_sw(s, n->items[i], what, &out[i]) < 0;
    if (bad)
        return -1;
    *count = n->n;
    return 0;
}

int cf_s_path(cf_sctx_t *s, const cf_ynode_t *n, const char *what, cf_tlv_path_t *out)
{
    if (cf_s_kind(s, n, CF_Y_SCALAR, what) < 0)
        return -1;
    char why[160];
    if (cf_tlv_path_parse(n->text, out, why, sizeof(why)) < 0) {
        cf_s_err(s, n, "%s: %s", what, why);
        return -1;
    }
    return 0;
}

int cf_s_field(cf_sctx_t *s, const cf_ynode_t *n, const char *what, size_t fixed_len,
               cf_field_t *out)
{
    memset(out, 0, sizeof(*out));
    if (cf_s_kind(s, n, CF_Y_MAP, what) < 0)
        return -1;
    static const char *const keys[] = {"path", "offset", "length", NULL};
    static const char *const fixed_keys[] = {"path", "offset", NULL};
    cf_s_keys(s, n, what, fixed_len ? fixed_keys : keys);
    size_t before = s->errors;
    char sub[96];
    const cf_ynode_t *v;
    if ((v = cf_s_get(n, "path")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.path", what);
        cf_s_path(s, v, sub, &out->path);
    }
    unsigned long u;
    if ((v = cf_s_get(n, "offset")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.offset", what);
        if (cf_s_uint(s, v, sub, 0, 255, &u) == 0)
            out->offset = u;
    }
    out->length = fixed_len;
    if (!fixed_len && (v = cf_s_get(n, "length")) != NULL) {
        snprintf(sub, sizeof(sub), "%s.length", what);
        if (cf_s_uint(s, v, sub, 1, 255, &u) == 0)
            out->length = u;
    }
    return s->errors == before ? 0 : -1;
}

void cf_prof_cmd_clear(cf_prof_cmd_t *c)
{
    cf_tmpl_free(c->apdu);
    memset(c, 0, sizeof(*c));
}

int cf_s_cmd(cf_sctx_t *s, const cf_ynode_t *n, const char *what, unsigned allowed,
             unsigned features, const char *const *extra_keys, cf_prof_cmd_t *out)
{
    memset(out, 0, sizeof(*out));
    out->file = n->file;
    out->line = n->line;
    out->ok[0] = 0x9000;
    out->n_ok = 1;
    out->le = (features & CF_S_CMD_READS) ? 256 : 0;
    size_t before = s->errors;
    const cf_ynode_t *apdu = n;
    char sub[96];
    if (n->kind == CF_Y_MAP) {
        const char *keys[24];
        size_t k = 0;
        keys[k++] = "apdu";
        keys[k++] = "le";
        keys[k++] = "sw";
        if (features & CF_S_CMD_WRONG)
            keys[k++] = "wrong_sw";
        if (features & CF_S_CMD_RESPONSE)
            keys[k++] = "response";
        if (features & CF_S_CMD_UNKNOWN)
            keys[k++] = "unknown_sw";
        for (size_t e = 0; extra_keys != NULL && extra_keys[e] != NULL && k < 23; e++)
            keys[k++] = extra_keys[e];
        keys[k] = NULL;
        cf_s_keys(s, n, what, keys);
        apdu = cf_s_need(s, n, "apdu", what);
        const cf_ynode_t *v;
        unsigned long u;
        if ((v = cf_s_get(n, "le")) != NULL) {
            snprintf(sub, sizeof(sub), "%s.le", what);
            if (cf_s_uint(s, v, sub, 0, 256, &u) == 0)
                out->le = u;
        }
        if ((v = cf_s_get(n, "sw")) != NULL) {
            snprintf(sub, sizeof(sub), "%s.sw", what);
            cf_s_sw_list(s, v, sub, out->ok, CF_PROF_MAX_SW, &out->n_ok);
        }
        if ((features & CF_S_CMD_WRONG) && (v = cf_s_get(n, "wrong_sw")) != NULL) {
            snprintf(sub, sizeof(sub), "%s.wrong_sw", what);
            cf_s_sw_list(s, v, sub, out->wrong, CF_PROF_MAX_SW, &out->n_wrong);
        }
        if ((features & CF_S_CMD_UNKNOWN) && (v = cf_s_get(n, "unknown_sw")) != NULL) {
            snprintf(sub, sizeof(sub), "%s.unknown_sw", what);
            cf_s_sw_list(s, v, sub, out->unknown, CF_PROF_MAX_SW, &out->n_unknown);
        }
        if ((features & CF_S_CMD_RESPONSE) && (v = cf_s_get(n, "response")) != NULL) {
            snprintf(sub, sizeof(sub), "%s.response", what);
            if (cf_s_path(s, v, sub, &out->response) == 0)
                out->has_response = 1;
        }
    } else if (n->kind != CF_Y_SCALAR) {
        cf_s_err(s, n, "%s: expected an APDU template or a mapping with 'apdu:', found a %s",
                 what, cf_ykind_name(n->kind));
        return -1;
    }
    if (apdu != NULL) {
        snprintf(sub, sizeof(sub), "%s.apdu", what);
        const char *text;
        if (cf_s_text(s, apdu, sub, CF_TMPL_MAX_TEXT, &text) == 0) {
            char why[200];
            if (cf_tmpl_compile(text, allowed, &out->apdu, why, sizeof(why)) != CF_OK)
                cf_s_err(s, apdu, "%s: %s", sub, why);
        }
    }
    if (s->errors != before) {
        cf_prof_cmd_clear(out);
        return -1;
    }
    out->present = 1;
    return 0;
}
