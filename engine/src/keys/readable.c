/*
 * readable.c - hex values as people read them over the phone: grouped for
 * reading aloud, parsed forgivingly, and guarded by a check value.
 *
 * The check value is the hex digits, with a leading "1", read as one number
 * in base 16, modulo 97; shown as two decimal digits. Why this and not a
 * CRC: it is reproducible in one line anywhere (`int("1"+s, 16) % 97`), and
 * its guarantees follow from 97 being prime and larger than 16 (full proof
 * in docs/helpdesk-guide.md):
 *   - one wrong digit changes the sum by d * 16^k with 0 < |d| < 16: never a
 *     multiple of 97;
 *   - two neighbours a,b swapped change it by (b - a) * 15 * 16^k: never a
 *     multiple of 97 either.
 * The leading "1" makes a dropped or added leading zero visible too.
 * Digits are read by value, so upper and lower case give the same check.
 */
#include <stdio.h>
#include <string.h>

#include <cardforge/keys.h>

#include "keys/keys_int.h"
#include "util/hex.h"

#define CHECK_MOD 97u

int cf_keys_is_separator(int c)
{
    return c == ' ' || c == '\t' || c == '-';
}

/* Called with each digit's position among the digits and its value. */
typedef void (*digit_fn)(void *arg, size_t index, unsigned v);

/* Visit the digit values of text in order (fn may be NULL). Returns the
 * number of digits, or -1 when a character is neither a hex digit nor a
 * separator. */
static long walk_digits(const char *text, digit_fn fn, void *arg)
{
    if (text == NULL)
        return -1;
    long n = 0;
    for (size_t i = 0; text[i] != 0; i++) {
        if (cf_keys_is_separator((unsigned char)text[i]))
            continue;
        int v = cf_hex_digit((unsigned char)text[i]);
        if (v < 0)
            return -1;
        if (fn != NULL)
            fn(arg, (size_t)n, (unsigned)v);
        n++;
    }
    return n;
}

struct bytes_sink {
    uint8_t *out;
    size_t cap;
};

static void put_nibble(void *arg, size_t index, unsigned v)
{
    struct bytes_sink *s = arg;
    if (index / 2 >= s->cap)
        return;
    if (index % 2 == 0)
        s->out[index / 2] = (uint8_t)(v << 4);
    else
        s->out[index / 2] |= (uint8_t)v;
}

cf_err_t cf_keys_parse_hex(const char *text, uint8_t *out, size_t cap, size_t *outlen)
{
    *outlen = 0;
    long n = walk_digits(text, NULL, NULL);
    if (n <= 0 || n % 2 != 0)
        return CF_ERR_PARSE;
    if ((size_t)n / 2 > cap)
        return CF_ERR_BUFFER;
    struct bytes_sink s = {out, cap};
    walk_digits(text, put_nibble, &s);
    *outlen = (size_t)n / 2;
    return CF_OK;
}

struct text_sink {
    char *out;
    size_t cap;
};

static void put_upper(void *arg, size_t index, unsigned v)
{
    struct text_sink *s = arg;
    if (index < s->cap)
        s->out[index] = "0123456789ABCDEF"[v];
}

cf_err_t cf_keys_serial_normalize(const char *serial, char *out, size_t outlen)
{
    if (outlen > 0)
        out[0] = 0;
    long n = walk_digits(serial, NULL, NULL);
    if (n <= 0 || n > CF_KEYS_SERIAL_MAX)
        return CF_ERR_PARSE;
    if ((size_t)n >= outlen)
        return CF_ERR_BUFFER;
    struct text_sink s = {out, outlen};
    walk_digits(serial, put_upper, &s);
    out[n] = 0;
    return CF_OK;
}

static void put_check(void *arg, size_t index, unsigned v)
{
    unsigned *acc = arg;
    (void)index;
    *acc = (*acc * 16u + v) % CHECK_MOD;
}

static void format_check(unsigned acc, char out[CF_KEYS_CHECK_SIZE])
{
    out[0] = (char)('0' + acc / 10);
    out[1] = (char)('0' + acc % 10);
    out[2] = 0;
}

cf_err_t cf_keys_check_value(const char *text, char out[CF_KEYS_CHECK_SIZE])
{
    out[0] = 0;
    unsigned acc = 1;
    if (walk_digits(text, put_check, &acc) <= 0)
        return CF_ERR_PARSE;
    format_check(acc, out);
    return CF_OK;
}

void cf_keys_check_value_bytes(const uint8_t *data, size_t n, char out[CF_KEYS_CHECK_SIZE])
{
    unsigned acc = 1;
    for (size_t i = 0; i < n; i++) {
        put_check(&acc, 2 * i, data[i] >> 4);
        put_check(&acc, 2 * i + 1, data[i] & 0x0f);
    }
    format_check(acc, out);
}

cf_err_t cf_keys_check_matches(const char *text, const char *typed)
{
    if (typed == NULL)
        return CF_ERR_PARSE;
    size_t i = 0, len = strlen(typed);
    while (i < len && (typed[i] == ' ' || typed[i] == '\t'))
        i++;
    while (len > i && (typed[len - 1] == ' ' || typed[len - 1] == '\t'))
        len--;
    if (len - i != 2 || typed[i] < '0' || typed[i] > '9' || typed[i + 1] < '0' ||
        typed[i + 1] > '9')
        return CF_ERR_PARSE;
    unsigned want = (unsigned)(typed[i] - '0') * 10 + (unsigned)(typed[i + 1] - '0');
    if (want >= CHECK_MOD)
        return CF_ERR_PARSE;
    char have[CF_KEYS_CHECK_SIZE];
    cf_err_t err = cf_keys_check_value(text, have);
    if (err != CF_OK)
        return err;
    unsigned got = (unsigned)(have[0] - '0') * 10 + (unsigned)(have[1] - '0');
    return got == want ? CF_OK : CF_ERR_INVALID;
}

struct group_sink {
    char *out;
    size_t cap;
    size_t len;
    int overflow;
};

static void put_grouped(void *arg, size_t index, unsigned v)
{
    struct group_sink *s = arg;
    size_t need = index > 0 && index % 4 == 0 ? 2 : 1;
    if (s->overflow || s->len + need + 1 > s->cap) {
        s->overflow = 1;
        return;
    }
    if (need == 2)
        s->out[s->len++] = ' ';
    s->out[s->len++] = "0123456789ABCDEF"[v];
}

cf_err_t cf_keys_group(const char *text, char *out, size_t outlen)
{
    if (outlen > 0)
        out[0] = 0;
    if (walk_digits(text, NULL, NULL) <= 0)
        return CF_ERR_PARSE;
    struct group_sink s = {out, outlen, 0, 0};
    walk_digits(text, put_grouped, &s);
    if (s.overflow || outlen == 0) {
        if (outlen > 0)
            out[0] = 0;
        return CF_ERR_BUFFER;
    }
    out[s.len] = 0;
    return CF_OK;
}

cf_err_t cf_keys_group_bytes(const uint8_t *data, size_t n, char *out, size_t outlen)
{
    if (outlen < CF_KEYS_GROUPED_SIZE(n)) {
        if (outlen > 0)
            out[0] = 0;
        return CF_ERR_BUFFER;
    }
    struct group_sink s = {out, outlen, 0, 0};
    for (size_t i = 0; i < n; i++) {
        put_grouped(&s, 2 * i, data[i] >> 4);
        put_grouped(&s, 2 * i + 1, data[i] & 0x0f);
    }
    out[s.len] = 0;
    return CF_OK;
}
