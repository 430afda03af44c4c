/*
 * p11_uri.c - the PKCS#11 URI (RFC 7512) that puts a master key in a token.
 *
 * Only the part of RFC 7512 that names a secret key in one token: token,
 * serial, object, id and type. Everything else is refused rather than
 * ignored, because an ignored attribute would make the URI match a key its
 * writer did not mean. The query part is refused as a whole: it is where
 * pin-value and module-path would go, and the PIN must never sit beside the
 * key's name (it has its own file, checked like the key file).
 *
 * Values are percent-decoded into fixed buffers with a length check at every
 * byte; the input is the key file's text and is untrusted.
 */
#include <string.h>

#include "keys/p11.h"
#include "util/hex.h"

/* Percent-decode s[0..len) into out (cap bytes). Returns the decoded
 * length, or -1 for a bad escape or when it does not fit. */
static long pct_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int b = (unsigned char)s[i];
        if (s[i] == '%') {
            if (len - i < 3) /* '%' and two hex digits */
                return -1;
            int hi = cf_hex_digit(s[i + 1]), lo = cf_hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            b = hi * 16 + lo;
            i += 2;
        }
        if (n >= cap)
            return -1;
        out[n++] = (uint8_t)b;
    }
    return (long)n;
}

/* Decode a text attribute (no NUL inside) into a NUL-ended string. */
static int decode_text(const char *s, size_t len, char *out, size_t cap)
{
    long n = pct_decode(s, len, (uint8_t *)out, cap - 1);
    if (n <= 0 || memchr(out, 0, (size_t)n) != NULL)
        return -1;
    out[n] = 0;
    return 0;
}

static int attr_is(const char *a, size_t alen, const char *name)
{
    return alen == strlen(name) && memcmp(a, name, alen) == 0;
}

/* One "attr=value" of the path. */
static cf_err_t parse_attr(const char *a, size_t len, struct cf_p11_uri *u, const char **why)
{
    const char *eq = memchr(a, '=', len);
    if (eq == NULL) {
        *why = "a URI attribute without '='";
        return CF_ERR_PARSE;
    }
    size_t alen = (size_t)(eq - a), vlen = len - alen - 1;
    const char *v = eq + 1;
    if (attr_is(a, alen, "token")) {
        if (u->has_token || decode_text(v, vlen, u->token, sizeof(u->token)) != 0) {
            *why = "the URI's token= is repeated, empty, badly escaped or longer than 32 bytes";
            return CF_ERR_PARSE;
        }
        u->has_token = 1;
    } else if (attr_is(a, alen, "serial")) {
        if (u->has_serial || decode_text(v, vlen, u->serial, sizeof(u->serial)) != 0) {
            *why = "the URI's serial= is repeated, empty, badly escaped or longer than 16 bytes";
            return CF_ERR_PARSE;
        }
        u->has_serial = 1;
    } else if (attr_is(a, alen, "object")) {
        if (u->has_object || decode_text(v, vlen, u->object, sizeof(u->object)) != 0) {
            *why = "the URI's object= is repeated, empty, badly escaped or longer than 128 bytes";
            return CF_ERR_PARSE;
        }
        u->has_object = 1;
    } else if (attr_is(a, alen, "id")) {
        long n = u->has_id ? -1 : pct_decode(v, vlen, u->id, sizeof(u->id));
        if (n <= 0) {
            *why = "the URI's id= is repeated, empty, badly escaped or longer than 64 bytes";
            return CF_ERR_PARSE;
        }
        u->id_len = (size_t)n;
        u->has_id = 1;
    } else if (attr_is(a, alen, "type")) {
        if (!(vlen == 10 && memcmp(v, "secret-key", 10) == 0)) {
            *why = "the URI's type= must be secret-key (a master key is an AES secret key)";
            return CF_ERR_PARSE;
        }
    } else {
        *why = "the URI has an attribute other than token, serial, object, id and type";
        return CF_ERR_PARSE;
    }
    return CF_OK;
}

cf_err_t cf_p11_uri_parse(const char *s, size_t len, struct cf_p11_uri *out, const char **why)
{
    static const char scheme[] = "pkcs11:";
    memset(out, 0, sizeof(*out));
    *why = "";
    if (s == NULL || len < sizeof(scheme) - 1 || memcmp(s, scheme, sizeof(scheme) - 1) != 0) {
        *why = "not a pkcs11: URI";
        return CF_ERR_PARSE;
    }
    if (memchr(s, '?', len) != NULL) {
        *why = "the URI has a query part (?...): name the module and the PIN file on their own "
               "'module' and 'pin-file' lines, never a PIN in the URI";
        return CF_ERR_PARSE;
    }
    size_t pos = sizeof(scheme) - 1;
    while (pos < len) {
        const char *semi = memchr(s + pos, ';', len - pos);
        size_t end = semi ? (size_t)(semi - s) : len;
        if (end == pos) {
            *why = "the URI has an empty attribute";
            return CF_ERR_PARSE;
        }
        cf_err_t err = parse_attr(s + pos, end - pos, out, why);
        if (err != CF_OK)
            return err;
        pos = end + 1;
        if (semi != NULL && pos == len) {
            *why = "the URI ends with ';'";
            return CF_ERR_PARSE;
        }
    }
    if (!out->has_object && !out->has_id) {
        *why = "the URI names no key: give object= (its label), id= or both";
        return CF_ERR_PARSE;
    }
    return CF_OK;
}

int cf_p11_uri_same_token(const struct cf_p11_uri *a, const struct cf_p11_uri *b)
{
    return a->has_token == b->has_token && a->has_serial == b->has_serial &&
           (!a->has_token || strcmp(a->token, b->token) == 0) &&
           (!a->has_serial || strcmp(a->serial, b->serial) == 0);
}
