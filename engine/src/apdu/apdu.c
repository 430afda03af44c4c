/*
 * apdu.c - command APDU parsing.
 *
 * The case is decided from the total length and the first length byte, as
 * ISO 7816-3 12.1 lays out; anything that fits no case is rejected rather
 * than guessed at.
 */
#include "apdu/apdu.h"

int cf_apdu_parse(const uint8_t *buf, size_t len, cf_apdu_t *out)
{
    if (buf == NULL || len < 4)
        return -1;
    cf_apdu_t a = {0};
    a.cla = buf[0];
    a.ins = buf[1];
    a.p1 = buf[2];
    a.p2 = buf[3];
    const uint8_t *b = buf + 4;
    size_t n = len - 4;

    if (n == 0) { /* case 1 */
        *out = a;
        return 0;
    }
    if (n == 1) { /* case 2 short */
        a.has_le = 1;
        a.ne = b[0] ? b[0] : 256;
        *out = a;
        return 0;
    }
    if (b[0] != 0) { /* short case 3 or 4 */
        size_t lc = b[0];
        if (n == 1 + lc) {
            a.data = b + 1;
            a.nc = lc;
        } else if (n == 2 + lc) {
            a.data = b + 1;
            a.nc = lc;
            a.has_le = 1;
            a.ne = b[1 + lc] ? b[1 + lc] : 256;
        } else {
            return -1;
        }
        *out = a;
        return 0;
    }
    /* b[0] == 0 and n >= 2: extended */
    a.extended = 1;
    if (n == 3) { /* case 2 extended */
        size_t le = ((size_t)b[1] << 8) | b[2];
        a.has_le = 1;
        a.ne = le ? le : 65536;
        *out = a;
        return 0;
    }
    if (n < 3)
        return -1;
    size_t lc = ((size_t)b[1] << 8) | b[2];
    if (lc == 0)
        return -1;
    if (n == 3 + lc) {
        a.data = b + 3;
        a.nc = lc;
    } else if (n == 5 + lc) {
        a.data = b + 3;
        a.nc = lc;
        size_t le = ((size_t)b[3 + lc] << 8) | b[4 + lc];
        a.has_le = 1;
        a.ne = le ? le : 65536;
    } else {
        return -1;
    }
    *out = a;
    return 0;
}
