/*
 * secret.c - owned, wiped, locked buffers for secret values.
 *
 * The struct and its bytes are one allocation so a single wipe covers both
 * the length and the value. mlock failures are ignored on purpose: an
 * unprivileged process may have a small RLIMIT_MEMLOCK, and refusing to work
 * would be worse than an unlocked page (swap is the risk mlock addresses).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include <cardforge/secret.h>

#include "util/hex.h"

struct cf_secret {
    size_t len;
    size_t alloc; /* bytes allocated for the whole struct, for the wipe */
    int locked;
    uint8_t data[]; /* len bytes + NUL */
};

cf_secret_t *cf_secret_new(const void *data, size_t len)
{
    if (len > (1u << 20) || (len > 0 && data == NULL))
        return NULL;
    size_t alloc = sizeof(struct cf_secret) + len + 1;
    cf_secret_t *s = malloc(alloc);
    if (s == NULL)
        return NULL;
    s->len = len;
    s->alloc = alloc;
    s->locked = mlock(s, alloc) == 0;
    if (len > 0)
        memcpy(s->data, data, len);
    s->data[len] = 0;
    return s;
}

cf_err_t cf_secret_from_hex(const char *hex, size_t hexlen, cf_secret_t **out)
{
    *out = NULL;
    if (hex == NULL || hexlen % 2 != 0)
        return CF_ERR_PARSE;
    size_t n = hexlen / 2;
    uint8_t *tmp = malloc(n ? n : 1);
    if (tmp == NULL)
        return CF_ERR_NOMEM;
    cf_err_t err = cf_hex_decode(hex, hexlen, tmp, n);
    if (err == CF_OK) {
        *out = cf_secret_new(tmp, n);
        if (*out == NULL)
            err = CF_ERR_NOMEM;
    }
    OPENSSL_cleanse(tmp, n);
    free(tmp);
    return err;
}

cf_secret_t *cf_secret_dup(const cf_secret_t *s)
{
    return s ? cf_secret_new(s->data, s->len) : NULL;
}

void cf_secret_free(cf_secret_t *s)
{
    if (s == NULL)
        return;
    size_t alloc = s->alloc;
    int locked = s->locked;
    OPENSSL_cleanse(s, alloc);
    if (locked)
        munlock(s, alloc);
    free(s);
}

const uint8_t *cf_secret_data(const cf_secret_t *s)
{
    return s ? s->data : NULL;
}

const char *cf_secret_str(const cf_secret_t *s)
{
    return s ? (const char *)s->data : NULL;
}

size_t cf_secret_len(const cf_secret_t *s)
{
    return s ? s->len : 0;
}

int cf_secret_equal(const cf_secret_t *a, const cf_secret_t *b)
{
    if (a == NULL || b == NULL || a->len != b->len)
        return 0;
    return CRYPTO_memcmp(a->data, b->data, a->len) == 0;
}

void cf_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}
