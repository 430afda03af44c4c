/*
 * cursor.h - bounds-checked reading and writing of byte buffers (internal).
 *
 * Untrusted bytes (APDUs, card responses, TLV) are never walked with raw
 * pointer arithmetic: a cf_rcursor remembers how much is left and every get
 * fails cleanly instead of over-reading. A failed get leaves the cursor
 * unchanged. cf_wcursor is the writing twin: a put that does not fit sets
 * the sticky overflow flag and writes nothing, so a builder can do all its
 * puts and check once at the end.
 */
#ifndef CF_UTIL_CURSOR_H
#define CF_UTIL_CURSOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct cf_rcursor {
    const uint8_t *p;
    size_t left;
} cf_rcursor;

typedef struct cf_wcursor {
    uint8_t *p;
    size_t cap;
    size_t len;
    int overflow;
} cf_wcursor;

static inline cf_rcursor cf_rcursor_init(const uint8_t *p, size_t len)
{
    cf_rcursor c = {p, len};
    return c;
}

/* Each returns 0 on success, -1 when not enough bytes are left. */
int cf_rc_u8(cf_rcursor *c, uint8_t *out);
int cf_rc_u16be(cf_rcursor *c, uint16_t *out);
int cf_rc_bytes(cf_rcursor *c, size_t n, const uint8_t **out); /* borrowed */
int cf_rc_skip(cf_rcursor *c, size_t n);

/* BER-TLV (ISO 7816-4): tag of one to three bytes, length in short or long form
 * up to 0x82 (65535). On success *tag, *val (borrowed) and *vlen are set. */
int cf_rc_tlv(cf_rcursor *c, unsigned *tag, const uint8_t **val, size_t *vlen);

/* Find the first TLV with tag in the flat sequence buf[0..len). 0 found. */
int cf_tlv_find(const uint8_t *buf, size_t len, unsigned tag, const uint8_t **val,
                size_t *vlen);

static inline cf_wcursor cf_wcursor_init(uint8_t *p, size_t cap)
{
    cf_wcursor c = {p, cap, 0, 0};
    return c;
}

void cf_wc_u8(cf_wcursor *c, uint8_t v);
void cf_wc_u16be(cf_wcursor *c, uint16_t v);
void cf_wc_bytes(cf_wcursor *c, const void *p, size_t n);
/* BER length in the shortest form. */
void cf_wc_berlen(cf_wcursor *c, size_t len);
/* Tag (one to three bytes), BER length, value. */
void cf_wc_tlv(cf_wcursor *c, unsigned tag, const void *val, size_t len);

#endif
