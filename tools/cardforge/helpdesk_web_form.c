/*
 * helpdesk_web_form.c - decoding form bodies
 * (application/x-www-form-urlencoded), untrusted input from the network.
 *
 * The body (at most WEB_MAX_BODY bytes, bounded before this is called) is
 * decoded into the form's own fixed buffer: '+' is a space, %XX a byte,
 * anything malformed refuses the whole body. A decoded NUL, a control
 * character, a repeated key or more than WEB_MAX_FIELDS fields are refused
 * too, so a field read later is one plain C string the browser sent once.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "helpdesk_web.h"
#include "util/hex.h"

/* Decode s[0..n) into out; its length, or -1. */
static long decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = cf_hex_digit(s[i + 1]), lo = cf_hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return (long)o;
}

int web_form_parse(web_form_t *f, const char *body, size_t len)
{
    memset(f->key, 0, sizeof(f->key));
    memset(f->val, 0, sizeof(f->val));
    f->n = 0;
    if (len > WEB_MAX_BODY)
        return -1;
    size_t pos = 0, used = 0;
    while (pos < len) {
        const char *amp = memchr(body + pos, '&', len - pos);
        size_t end = amp ? (size_t)(amp - body) : len;
        /* Decoded keys and values never outgrow their text: with the '='
         * and '&' they replace, the NULs fit in buf. */
        const char *eq = memchr(body + pos, '=', end - pos);
        if (eq == NULL || f->n == WEB_MAX_FIELDS)
            return -1;
        size_t klen = (size_t)(eq - body) - pos, vlen = end - (size_t)(eq - body) - 1;
        char *k = f->buf + used;
        long kn = decode(body + pos, klen, k);
        if (kn <= 0)
            return -1;
        used += (size_t)kn + 1;
        char *v = f->buf + used;
        long vn = decode(eq + 1, vlen, v);
        if (vn < 0)
            return -1;
        used += (size_t)vn + 1;
        if (web_form_get(f, k) != NULL)
            return -1;
        f->key[f->n] = k;
        f->val[f->n] = v;
        f->n++;
        pos = amp ? end + 1 : len;
    }
    return 0;
}

const char *web_form_get(const web_form_t *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->key[i], key) == 0)
            return f->val[i];
    return NULL;
}

void web_form_wipe(web_form_t *f)
{
    OPENSSL_cleanse(f->buf, sizeof(f->buf));
    f->n = 0;
}

int web_key_choice(const char *sel, char *name, unsigned *version)
{
    const char *slash = strrchr(sel, '/');
    size_t nl = slash != NULL ? (size_t)(slash - sel) : strlen(sel);
    if (nl == 0 || nl > CF_KEYS_NAME_MAX)
        return -1;
    memcpy(name, sel, nl);
    name[nl] = 0;
    *version = 0;
    if (slash == NULL)
        return 0;
    if (slash[1] < '1' || slash[1] > '9' || strlen(slash + 1) > 6)
        return -1;
    char *end;
    unsigned long v = strtoul(slash + 1, &end, 10);
    if (*end != 0)
        return -1;
    *version = (unsigned)v;
    return 0;
}
