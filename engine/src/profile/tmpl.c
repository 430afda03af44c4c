/*
 * tmpl.c - compiling and expanding APDU templates (see tmpl.h).
 *
 * A compiled template is a flat list of items: literal byte runs,
 * placeholders, and TLV opens/closes (each open knows its close, so the
 * expander can measure a TLV's content before writing its length). The
 * expander writes through a bounds-checked cursor; nothing a profile says
 * can make it write past the caller's buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "profile/tmpl.h"
#include "util/cursor.h"
#include "util/hex.h"

enum item_kind { IT_LIT, IT_PH, IT_OPEN, IT_CLOSE };

struct item {
    enum item_kind kind;
    size_t off, len; /* IT_LIT: bytes in pool */
    cf_ph_t ph;      /* IT_PH */
    uint8_t tag[3];  /* IT_OPEN */
    size_t taglen;
    size_t end; /* IT_OPEN: index of its IT_CLOSE */
};

struct hdr_byte {
    int is_ph;
    uint8_t byte;
    cf_ph_t ph;
};

struct cf_tmpl {
    struct hdr_byte hdr[4];
    struct item items[CF_TMPL_MAX_ITEMS];
    size_t n;
    uint8_t pool[CF_TMPL_MAX_TEXT / 2];
    size_t pool_len;
    unsigned uses;
};

static const struct {
    const char *name;
    int secret;
    size_t size; /* fixed size in bytes, 0 = variable */
} ph_info[CF_PH_COUNT] = {
    [CF_PH_PIN] = {"pin", 1, 0},
    [CF_PH_NEW_PIN] = {"new_pin", 1, 0},
    [CF_PH_PUK] = {"puk", 1, 0},
    [CF_PH_NEW_PUK] = {"new_puk", 1, 0},
    [CF_PH_PIN_REF] = {"pin_ref", 0, 1},
    [CF_PH_PUK_REF] = {"puk_ref", 0, 1},
    [CF_PH_ADMIN_REF] = {"admin_ref", 0, 1},
    [CF_PH_ALG] = {"alg", 0, 1},
    [CF_PH_NEW_KEY] = {"new_key", 1, 0},
    [CF_PH_KCV] = {"kcv", 0, 3},
    [CF_PH_WITNESS] = {"witness", 1, 0},
    [CF_PH_CHALLENGE] = {"challenge", 0, 0},
    [CF_PH_HOST_RANDOM] = {"host_random", 0, 16},
    [CF_PH_CRYPTOGRAM] = {"cryptogram", 1, 40},
    [CF_PH_RESPONSE] = {"response", 1, 0},
};

const char *cf_ph_name(cf_ph_t ph)
{
    return ph < CF_PH_COUNT ? ph_info[ph].name : "?";
}

int cf_ph_secret(cf_ph_t ph)
{
    return ph < CF_PH_COUNT && ph_info[ph].secret;
}

void cf_tmpl_free(cf_tmpl_t *t)
{
    free(t);
}

unsigned cf_tmpl_uses(const cf_tmpl_t *t)
{
    return t->uses;
}

static int is_hex(char c)
{
    return cf_hex_digit((unsigned char)c) >= 0;
}

/* A BER tag of 1..3 bytes is well formed when its continuation bits say
 * exactly that many bytes (cf_rc_tlv reads tags the same way). */
static int tag_ok(const uint8_t *b, size_t n)
{
    if (n == 1)
        return (b[0] & 0x1f) != 0x1f;
    if ((b[0] & 0x1f) != 0x1f)
        return 0;
    if (n == 2)
        return (b[1] & 0x80) == 0;
    return n == 3 && (b[1] & 0x80) != 0 && (b[2] & 0x80) == 0;
}

static struct item *add_item(cf_tmpl_t *t, enum item_kind kind)
{
    if (t->n >= CF_TMPL_MAX_ITEMS)
        return NULL;
    struct item *it = &t->items[t->n++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    return it;
}

/* Move the first four bytes into t->hdr. */
static int take_header(cf_tmpl_t *t, char *why, size_t whylen)
{
    size_t got = 0, i = 0;
    while (got < 4 && i < t->n) {
        struct item *it = &t->items[i];
        if (it->kind == IT_LIT) {
            while (got < 4 && it->len > 0) {
                t->hdr[got].is_ph = 0;
                t->hdr[got++].byte = t->pool[it->off];
                it->off++;
                it->len--;
            }
            if (it->len == 0)
                i++;
        } else if (it->kind == IT_PH && ph_info[it->ph].size == 1) {
            t->hdr[got].is_ph = 1;
            t->hdr[got++].ph = it->ph;
            i++;
        } else {
            snprintf(why, whylen,
                     "the first four bytes (CLA INS P1 P2) must be hex bytes or one-byte "
                     "placeholders");
            return -1;
        }
    }
    if (got < 4) {
        snprintf(why, whylen, "an APDU needs at least the four bytes CLA INS P1 P2");
        return -1;
    }
    memmove(t->items, t->items + i, (t->n - i) * sizeof(t->items[0]));
    t->n -= i;
    for (size_t k = 0; k < t->n; k++)
        if (t->items[k].kind == IT_OPEN)
            t->items[k].end -= i;
    return 0;
}

static int lookup_ph(const char *name, size_t n, cf_ph_t *out)
{
    for (int p = 0; p < CF_PH_COUNT; p++) {
        if (strlen(ph_info[p].name) == n && memcmp(ph_info[p].name, name, n) == 0) {
            *out = (cf_ph_t)p;
            return 0;
        }
    }
    return -1;
}

cf_err_t cf_tmpl_compile(const char *text, unsigned allowed, cf_tmpl_t **out, char *why,
                         size_t whylen)
{
    *out = NULL;
    size_t tl = strlen(text);
    if (tl > CF_TMPL_MAX_TEXT) {
        snprintf(why, whylen, "APDU template too long (at most %u characters)", CF_TMPL_MAX_TEXT);
        return CF_ERR_PARSE;
    }
    cf_tmpl_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(why, whylen, "out of memory");
        return CF_ERR_NOMEM;
    }
    size_t stack[CF_TMPL_MAX_DEPTH], depth = 0, i = 0;
    const char *toomany = "APDU template has too many parts";
    while (i < tl) {
        char c = text[i];
        if (c == ' ' || c == '\t') {
            i++;
        } else if (c == '{') {
            size_t j = i + 1;
            while (j < tl && text[j] != '}' && j - i <= 32)
                j++;
            if (j >= tl || text[j] != '}') {
                snprintf(why, whylen, "unclosed '{' at character %zu", i + 1);
                goto bad;
            }
            cf_ph_t ph;
            if (lookup_ph(text + i + 1, j - i - 1, &ph) < 0) {
                snprintf(why, whylen, "unknown placeholder {%.*s}", (int)(j - i - 1), text + i + 1);
                goto bad;
            }
            if (!(allowed & CF_PH_BIT(ph))) {
                snprintf(why, whylen, "placeholder {%s} has no value in this command",
                         ph_info[ph].name);
                goto bad;
            }
            struct item *it = add_item(t, IT_PH);
            if (it == NULL) {
                snprintf(why, whylen, "%s", toomany);
                goto bad;
            }
            it->ph = ph;
            t->uses |= CF_PH_BIT(ph);
            i = j + 1;
        } else if (c == ')') {
            if (depth == 0) {
                snprintf(why, whylen, "')' without '(' at character %zu", i + 1);
                goto bad;
            }
            struct item *it = add_item(t, IT_CLOSE);
            if (it == NULL) {
                snprintf(why, whylen, "%s", toomany);
                goto bad;
            }
            t->items[stack[--depth]].end = t->n - 1;
            i++;
        } else if (is_hex(c)) {
            size_t j = i;
            while (j < tl && is_hex(text[j]))
                j++;
            size_t nd = j - i;
            if (nd % 2 != 0) {
                snprintf(why, whylen, "odd number of hex digits at character %zu", i + 1);
                goto bad;
            }
            uint8_t bytes[CF_TMPL_MAX_TEXT / 2];
            if (cf_hex_decode(text + i, nd, bytes, sizeof(bytes)) != CF_OK) {
                snprintf(why, whylen, "bad hex at character %zu", i + 1);
                goto bad;
            }
            if (j < tl && text[j] == '(') {
                if (nd > 6 || !tag_ok(bytes, nd / 2)) {
                    snprintf(why, whylen, "'%.*s' before '(' is not a BER-TLV tag of 1 to 3 bytes",
                             (int)nd, text + i);
                    goto bad;
                }
                if (depth >= CF_TMPL_MAX_DEPTH) {
                    snprintf(why, whylen, "TLVs nested too deeply (at most %u)", CF_TMPL_MAX_DEPTH);
                    goto bad;
                }
                struct item *it = add_item(t, IT_OPEN);
                if (it == NULL) {
                    snprintf(why, whylen, "%s", toomany);
                    goto bad;
                }
                memcpy(it->tag, bytes, nd / 2);
                it->taglen = nd / 2;
                stack[depth++] = t->n - 1;
                i = j + 1;
            } else {
                struct item *it = add_item(t, IT_LIT);
                if (it == NULL) {
                    snprintf(why, whylen, "%s", toomany);
                    goto bad;
                }
                it->off = t->pool_len;
                it->len = nd / 2;
                memcpy(t->pool + t->pool_len, bytes, nd / 2);
                t->pool_len += nd / 2;
                i = j;
            }
        } else if (c == '(') {
            snprintf(why, whylen, "'(' must follow a hex tag, at character %zu", i + 1);
            goto bad;
        } else {
            snprintf(why, whylen, "unexpected character '%c' at character %zu",
                     (c >= 0x20 && c < 0x7f) ? c : '?', i + 1);
            goto bad;
        }
    }
    if (depth != 0) {
        snprintf(why, whylen, "unclosed '('");
        goto bad;
    }
    if (take_header(t, why, whylen) < 0)
        goto bad;
    *out = t;
    return CF_OK;
bad:
    free(t);
    return CF_ERR_PARSE;
}

static size_t berlen_size(size_t n)
{
    return n < 0x80 ? 1 : n <= 0xff ? 2 : 3;
}

/* Bytes items[from..to) expand to; -1 when a value is missing, -2 when
 * the total passes CF_TMPL_MAX_DATA. */
static int measure(const cf_tmpl_t *t, const cf_tmpl_vals_t *v, size_t from, size_t to,
                   size_t *out)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        const struct item *it = &t->items[i];
        if (it->kind == IT_LIT) {
            n += it->len;
        } else if (it->kind == IT_PH) {
            if (v->p[it->ph] == NULL)
                return -1;
            if (v->len[it->ph] > CF_TMPL_MAX_DATA)
                return -2;
            n += v->len[it->ph];
        } else if (it->kind == IT_OPEN) {
            size_t inner;
            int r = measure(t, v, i + 1, it->end, &inner);
            if (r < 0)
                return r;
            n += it->taglen + berlen_size(inner) + inner;
            i = it->end;
        }
        if (n > CF_TMPL_MAX_DATA)
            return -2;
    }
    *out = n;
    return 0;
}

static void write_items(const cf_tmpl_t *t, const cf_tmpl_vals_t *v, size_t from, size_t to,
                        cf_wcursor *w, size_t *lo, size_t *hi)
{
    for (size_t i = from; i < to; i++) {
        const struct item *it = &t->items[i];
        if (it->kind == IT_LIT) {
            cf_wc_bytes(w, t->pool + it->off, it->len);
        } else if (it->kind == IT_PH) {
            size_t at = w->len, n = v->len[it->ph];
            cf_wc_bytes(w, v->p[it->ph], n);
            if (ph_info[it->ph].secret && n > 0) {
                if (at < *lo)
                    *lo = at;
                if (at + n > *hi)
                    *hi = at + n;
            }
        } else if (it->kind == IT_OPEN) {
            size_t inner = 0;
            (void)measure(t, v, i + 1, it->end, &inner); /* succeeded for the whole */
            cf_wc_bytes(w, it->tag, it->taglen);
            cf_wc_berlen(w, inner);
            write_items(t, v, i + 1, it->end, w, lo, hi);
            i = it->end;
        }
    }
}

cf_err_t cf_tmpl_expand(const cf_tmpl_t *t, const cf_tmpl_vals_t *v, uint8_t hdr[4], uint8_t *data,
                        size_t cap, size_t *len, size_t *sec_off, size_t *sec_len)
{
    *len = 0;
    *sec_off = 0;
    *sec_len = 0;
    for (int k = 0; k < 4; k++) {
        const struct hdr_byte *h = &t->hdr[k];
        if (!h->is_ph) {
            hdr[k] = h->byte;
        } else if (v->p[h->ph] != NULL && v->len[h->ph] == 1) {
            hdr[k] = v->p[h->ph][0];
        } else {
            return CF_ERR_INTERNAL;
        }
    }
    size_t total = 0;
    int r = measure(t, v, 0, t->n, &total);
    if (r < 0)
        return r == -2 ? CF_ERR_BUFFER : CF_ERR_INTERNAL;
    if (total > cap)
        return CF_ERR_BUFFER;
    cf_wcursor w = cf_wcursor_init(data, cap);
    size_t lo = SIZE_MAX, hi = 0;
    write_items(t, v, 0, t->n, &w, &lo, &hi);
    if (w.overflow || w.len != total) {
        OPENSSL_cleanse(data, cap);
        return CF_ERR_INTERNAL;
    }
    *len = w.len;
    if (hi > 0) {
        *sec_off = lo;
        *sec_len = hi - lo;
    }
    return CF_OK;
}
