/* hex.c - hex conversion without locale or sscanf surprises. */
#include "util/hex.h"

int cf_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

cf_err_t cf_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
    if (hexlen % 2 != 0 || outlen < hexlen / 2)
        return CF_ERR_PARSE;
    for (size_t i = 0; i < hexlen / 2; i++) {
        int hi = cf_hex_digit(hex[2 * i]), lo = cf_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CF_ERR_PARSE;
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return CF_OK;
}

int cf_hex_valid(const char *s, size_t len)
{
    if (len == 0 || len % 2 != 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (cf_hex_digit(s[i]) < 0)
            return 0;
    return 1;
}

void cf_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = 0;
}
