/*
 * apdu.h - command APDU parsing (ISO 7816-4 cases 1-4, short and extended).
 *
 * Used by the virtual cards, where every byte comes from an untrusted host,
 * and by the host side to check what it is about to send.
 */
#ifndef CF_APDU_APDU_H
#define CF_APDU_APDU_H

#include <stddef.h>
#include <stdint.h>

typedef struct cf_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* borrowed from the parsed buffer; NULL when nc == 0 */
    size_t nc;           /* command data length */
    size_t ne;           /* expected response length; 0 when absent */
    int has_le;          /* an Le field was present (Le=00 means 256 / 65536) */
    int extended;
} cf_apdu_t;

/* Parse buf[0..len). Returns 0, or -1 when the bytes are not a well-formed
 * APDU of any case (the card then answers 6700). */
int cf_apdu_parse(const uint8_t *buf, size_t len, cf_apdu_t *out);

#endif
