/*
 * match.c - ATR patterns, TLV paths and fields (see match.h).
 */
#include <stdio.h>
#include <string.h>

#include "profile/match.h"
#include "util/cursor.h"
#include "util/hex.h"

/* Tag bytes b[0..n) as cf_rc_tlv would read them, or -1. */
static int tag_value(const uint8_t *b, size_t n, unsigned *out)
{
    int ok;
    if (n == 1)
        ok = (b[0] & 0x1f) != 0x1f;
    else if (n == 2)
        ok = (b[0] & 0x1f) == 0x1f && (b[1] & 0x80) == 0;
    else
        ok = n == 3 && (b[0] & 0x1f) == 0x1f && (b[1] & 0x80) && (b[2] & 0x80) == 0;
    if (!ok)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    *out = v;
    return 0;
}

int cf_tlv_path_parse(const char *text, cf_tlv_path_t *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    const char *p = text;
    if (*p == 0)
        return 0;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        uint8_t b[3];
        if (out->n >= CF_PATH_MAX) {
            snprintf(why, whylen, "TLV path '%s' too deep (at most %d tags)", text, CF_PATH_MAX);
            return -1;
        }
        if (n == 0 || n > 6 || n % 2 != 0 || cf_hex_decode(p, n, b, sizeof(b)) != CF_OK ||
            tag_value(b, n / 2, &out->tags[out->n]) < 0) {
            snprintf(why, whylen, "TLV path '%.64s': '%.*s' is not a BER tag in hex (1-3 bytes)",
                     text, (int)(n > 16 ? 16 : n), p);
            return -1;
        }
        out->n++;
        if (e == NULL)
            return 0;
        p = e + 1;
    }
}

int cf_tlv_path_find(const cf_tlv_path_t *path, const uint8_t *data, size_t len,
                     const uint8_t **val, size_t *vlen)
{
    const uint8_t *v = data;
    size_t vl = len;
    for (size_t i = 0; i < path->n; i++) {
        if (cf_tlv_find(v, vl, path->tags[i], &v, &vl) < 0)
            return -1;
    }
    *val = v;
    *vlen = vl;
    return 0;
}

int cf_field_get(const cf_field_t *f, const uint8_t *data, size_t len, const uint8_t **val,
                 size_t *vlen)
{
    const uint8_t *v;
    size_t vl;
    if (cf_tlv_path_find(&f->path, data, len, &v, &vl) < 0) {
        /* Absent or malformed: tell them apart by a bounded scan. */
        cf_rcursor c = cf_rcursor_init(data, len);
        for (size_t depth = 0; depth < f->path.n; depth++) {
            unsigned t;
            const uint8_t *iv;
            size_t il;
            int found = 0;
            while (c.left > 0) {
                if (cf_rc_tlv(&c, &t, &iv, &il) < 0)
                    return -1;
                if (t == f->path.tags[depth]) {
                    found = 1;
                    break;
                }
            }
            if (!found)
                return 1;
            c = cf_rcursor_init(iv, il);
        }
        return -1;
    }
    cf_rcursor c = cf_rcursor_init(v, vl);
    const uint8_t *out;
    if (cf_rc_skip(&c, f->offset) < 0)
        return -1;
    size_t n = f->length ? f->length : c.left;
    if (cf_rc_bytes(&c, n, &out) < 0)
        return -1;
    *val = out;
    *vlen = n;
    return 0;
}

int cf_atr_match(const cf_atr_pattern_t *p, const uint8_t *atr, size_t len)
{
    if (len != p->len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((atr[i] & p->mask[i]) != (p->value[i] & p->mask[i]))
            return 0;
    return 1;
}

int cf_expect_met(const cf_expect_t *e, const uint8_t *data, size_t len)
{
    if (!e->present)
        return 1;
    const uint8_t *val;
    size_t vl;
    if (cf_field_get(&e->field, data, len, &val, &vl) != 0)
        return 0;
    for (size_t i = 0; i < e->n_prefix; i++)
        if (vl >= e->prefix_len[i] && memcmp(val, e->prefix[i], e->prefix_len[i]) == 0)
            return 1;
    return 0;
}
