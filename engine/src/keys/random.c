/*
 * random.c - random per-card keys and PINs.
 *
 * For descriptions that ask for a fresh random value per card instead of a
 * derived one. Bytes come from RAND_bytes only. Turning bytes into
 * characters is done by rejection (cf_keys_sample_charset) because
 * `byte % 10` would make 0-5 appear 26/256 of the time and 6-9 only 25/256:
 * small, but a PIN generator has no business being biased at all.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cardforge/keys.h>

#include "keys/keys_int.h"

#define PIN_MAX 127
#define RAND_CHUNK 64

size_t cf_keys_sample_charset(const uint8_t *rnd, size_t n, const char *charset, size_t m,
                              char *out, size_t want)
{
    if (m < 2 || m > 255)
        return 0;
    unsigned limit = 256u - 256u % (unsigned)m; /* largest multiple of m <= 256 */
    size_t got = 0;
    for (size_t i = 0; i < n && got < want; i++)
        if (rnd[i] < limit)
            out[got++] = charset[rnd[i] % m];
    return got;
}

cf_err_t cf_keys_random_key(cf_card_key_type_t type, cf_secret_t **out)
{
    *out = NULL;
    size_t len = cf_card_key_len(type);
    if (len == 0)
        return CF_ERR_ARG;
    uint8_t buf[32];
    cf_err_t err = CF_OK;
    if (RAND_bytes(buf, (int)len) != 1) {
        err = CF_ERR_CRYPTO;
    } else {
        err = cf_keys_card_key_from_bytes(type, buf, len, out);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return err;
}

/* 1 when charset has 2..255 characters and none repeats (a repeated
 * character would be drawn twice as often). */
static int charset_ok(const char *charset, size_t m)
{
    if (m < 2 || m > 255)
        return 0;
    unsigned char seen[256] = {0};
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)charset[i];
        if (seen[c])
            return 0;
        seen[c] = 1;
    }
    return 1;
}

cf_err_t cf_keys_random_pin(size_t len, const char *charset, cf_secret_t **out)
{
    *out = NULL;
    if (charset == NULL || len == 0 || len > PIN_MAX)
        return CF_ERR_ARG;
    size_t m = strlen(charset);
    if (!charset_ok(charset, m))
        return CF_ERR_ARG;
    char pin[PIN_MAX + 1];
    uint8_t rnd[RAND_CHUNK];
    size_t got = 0;
    cf_err_t err = CF_OK;
    /* Each byte is accepted with probability > 1/2, so this ends quickly;
     * the bound only stops a broken RNG from spinning forever. */
    for (int round = 0; got < len && round < 1000; round++) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            err = CF_ERR_CRYPTO;
            break;
        }
        got += cf_keys_sample_charset(rnd, sizeof(rnd), charset, m, pin + got, len - got);
    }
    if (err == CF_OK && got < len)
        err = CF_ERR_CRYPTO;
    if (err == CF_OK) {
        *out = cf_secret_new(pin, len);
        if (*out == NULL)
            err = CF_ERR_NOMEM;
    }
    OPENSSL_cleanse(pin, sizeof(pin));
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return err;
}
