/*
 * secret.c - owned, wiped, locked buffers for secret values.
 *
 * The struct and its bytes are one allocation so a single wipe covers both
 * the length and the value. The allocation is whole pages of its own, so
 * that the pages can be marked MADV_DONTDUMP (left out of any core dump,
 * should one be written despite cf_process_protect) and mlocked without
 * touching anyone else's memory: munlock of a page shared with a live secret
 * would unlock that one too. A page per secret is cheap: a run holds a few
 * dozen per card in flight.
 *
 * mlock and madvise failures are ignored on purpose: an unprivileged process
 * may have a small RLIMIT_MEMLOCK, and refusing to work would be worse than
 * an unlocked page (swap is the risk mlock addresses); madvise only fails on
 * kernels older than 3.4.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cardforge/secret.h>

#include "util/hex.h"

struct cf_secret {
    size_t len;
    size_t alloc; /* bytes allocated for the whole struct, for the wipe */
    int locked;
    int nodump;
    uint8_t data[]; /* len bytes + NUL */
};

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

cf_secret_t *cf_secret_new(const void *data, size_t len)
{
    if (len > (1u << 20) || (len > 0 && data == NULL))
        return NULL;
    size_t pg = page_size();
    size_t alloc = (sizeof(struct cf_secret) + len + 1 + pg - 1) / pg * pg;
    void *mem = NULL;
    if (posix_memalign(&mem, pg, alloc) != 0)
        return NULL;
    cf_secret_t *s = mem;
    s->len = len;
    s->alloc = alloc;
    s->nodump = madvise(s, alloc, MADV_DONTDUMP) == 0;
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
    int locked = s->locked, nodump = s->nodump;
    OPENSSL_cleanse(s, alloc);
    if (locked)
        munlock(s, alloc);
    if (nodump) /* the pages go back to the heap: ordinary memory again */
        madvise(s, alloc, MADV_DODUMP);
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
