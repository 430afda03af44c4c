/*
 * utf8.c - see utf8.h.
 *
 * Batch files are mostly ASCII, so the loop runs through ASCII bytes with
 * one comparison each and only decodes when it meets a lead byte. The
 * second byte's allowed range depends on the lead byte: that is where
 * overlongs (E0, F0), surrogates (ED) and values above U+10FFFF (F4) are
 * excluded, as in the table of RFC 3629 section 4.
 */
#include "util/utf8.h"

cf_utf8_result_t cf_utf8_check(const uint8_t *s, size_t len, size_t *bad_off)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c >= 0x01 && c <= 0x7f) {
            i++;
            continue;
        }
        cf_utf8_result_t bad = CF_UTF8_INVALID;
        size_t need = 0;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c == 0x00) {
            bad = CF_UTF8_NUL;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c == 0xe0) {
            need = 2;
            lo = 0xa0;
        } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
            need = 2;
        } else if (c == 0xed) {
            need = 2;
            hi = 0x9f;
        } else if (c == 0xf0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3) {
            need = 3;
        } else if (c == 0xf4) {
            need = 3;
            hi = 0x8f;
        }
        int ok = need > 0 && len - i - 1 >= need && s[i + 1] >= lo && s[i + 1] <= hi;
        for (size_t k = 2; ok && k <= need; k++)
            ok = (s[i + k] & 0xc0) == 0x80;
        if (!ok) {
            if (bad_off != NULL)
                *bad_off = i;
            return bad;
        }
        i += need + 1;
    }
    return CF_UTF8_OK;
}
