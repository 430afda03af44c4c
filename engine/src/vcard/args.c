/*
 * args.c - bounds-checked parsing of cardforge-vcard's option values.
 *
 * Hand-rolled digit loops rather than strtoul: strtoul accepts leading
 * blanks, a sign and "0x", and wraps "-1" to ULONG_MAX, all of which would
 * turn a typo into a valid-looking value.
 */
#include <stddef.h>

#include "vcard/args.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits of s[0..n) into *v, failing past limit. */
static cf_err_t digits(const char *s, size_t n, uint64_t limit, uint64_t *v)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return CF_ERR_PARSE;
        acc = acc * 10 + (uint64_t)(s[i] - '0');
        if (acc > limit)
            return CF_ERR_INVALID;
    }
    *v = acc;
    return CF_OK;
}

cf_err_t cf_vcard_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    if (s == NULL || s[0] == 0)
        return CF_ERR_PARSE;
    size_t n = 0;
    while (s[n] != 0)
        n++;
    uint64_t v;
    cf_err_t err = digits(s, n, max, &v);
    if (err != CF_OK)
        return err;
    if (v < min)
        return CF_ERR_INVALID;
    *out = (uint32_t)v;
    return CF_OK;
}

cf_err_t cf_vcard_parse_ms(const char *s, uint32_t max_ms, uint32_t *us)
{
    if ((uint64_t)max_ms * 1000 > UINT32_MAX)
        return CF_ERR_ARG;
    if (s == NULL || !is_digit(s[0]))
        return CF_ERR_PARSE;
    size_t whole = 0;
    while (s[whole] != 0 && s[whole] != '.')
        whole++;
    uint64_t ms;
    cf_err_t err = digits(s, whole, max_ms, &ms);
    if (err != CF_OK)
        return err;
    uint64_t frac = 0;
    if (s[whole] == '.') {
        const char *f = s + whole + 1;
        size_t nf = 0;
        while (f[nf] != 0)
            nf++;
        if (nf == 0)
            return CF_ERR_PARSE;
        if (nf > 3) {
            for (size_t i = 0; i < nf; i++)
                if (!is_digit(f[i]))
                    return CF_ERR_PARSE;
            return CF_ERR_INVALID; /* finer than a microsecond */
        }
        err = digits(f, nf, 999, &frac);
        if (err != CF_OK)
            return err;
        for (size_t i = nf; i < 3; i++)
            frac *= 10;
    }
    uint64_t total = ms * 1000 + frac;
    if (total > (uint64_t)max_ms * 1000)
        return CF_ERR_INVALID;
    *us = (uint32_t)total;
    return CF_OK;
}
