/* cursor.c - see cursor.h. */
#include <string.h>

#include "util/cursor.h"

int cf_rc_u8(cf_rcursor *c, uint8_t *out)
{
    if (c->left < 1)
        return -1;
    *out = c->p[0];
    c->p++;
    c->left--;
    return 0;
}

int cf_rc_u16be(cf_rcursor *c, uint16_t *out)
{
    if (c->left < 2)
        return -1;
    *out = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    c->left -= 2;
    return 0;
}

int cf_rc_bytes(cf_rcursor *c, size_t n, const uint8_t **out)
{
    if (c->left < n)
        return -1;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return 0;
}

int cf_rc_skip(cf_rcursor *c, size_t n)
{
    const uint8_t *ignored;
    return cf_rc_bytes(c, n, &ignored);
}

int cf_rc_tlv(cf_rcursor *c, unsigned *tag, const uint8_t **val, size_t *vlen)
{
    cf_rcursor t = *c;
    uint8_t b, l;
    if (cf_rc_u8(&t, &b) < 0)
        return -1;
    unsigned tg = b;
    if ((b & 0x1f) == 0x1f) { /* multi-byte tag: up to three bytes */
        uint8_t b2;
        if (cf_rc_u8(&t, &b2) < 0)
            return -1;
        tg = (tg << 8) | b2;
        if (b2 & 0x80) {
            uint8_t b3;
            if (cf_rc_u8(&t, &b3) < 0 || (b3 & 0x80))
                return -1;
            tg = (tg << 8) | b3;
        }
    }
    if (cf_rc_u8(&t, &l) < 0)
        return -1;
    size_t len;
    if (l < 0x80) {
        len = l;
    } else if (l == 0x81) {
        uint8_t x;
        if (cf_rc_u8(&t, &x) < 0)
            return -1;
        len = x;
    } else if (l == 0x82) {
        uint16_t x;
        if (cf_rc_u16be(&t, &x) < 0)
            return -1;
        len = x;
    } else {
        return -1;
    }
    if (cf_rc_bytes(&t, len, val) < 0)
        return -1;
    *tag = tg;
    *vlen = len;
    *c = t;
    return 0;
}

int cf_tlv_find(const uint8_t *buf, size_t len, unsigned tag, const uint8_t **val,
                size_t *vlen)
{
    cf_rcursor c = cf_rcursor_init(buf, len);
    unsigned t;
    while (c.left > 0) {
        if (cf_rc_tlv(&c, &t, val, vlen) < 0)
            return -1;
        if (t == tag)
            return 0;
    }
    return -1;
}

void cf_wc_bytes(cf_wcursor *c, const void *p, size_t n)
{
    if (c->overflow || c->cap - c->len < n) {
        c->overflow = 1;
        return;
    }
    if (n > 0)
        memcpy(c->p + c->len, p, n);
    c->len += n;
}

void cf_wc_u8(cf_wcursor *c, uint8_t v)
{
    cf_wc_bytes(c, &v, 1);
}

void cf_wc_u16be(cf_wcursor *c, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    cf_wc_bytes(c, b, 2);
}

void cf_wc_berlen(cf_wcursor *c, size_t len)
{
    if (len < 0x80) {
        cf_wc_u8(c, (uint8_t)len);
    } else if (len <= 0xff) {
        uint8_t b[2] = {0x81, (uint8_t)len};
        cf_wc_bytes(c, b, 2);
    } else if (len <= 0xffff) {
        uint8_t b[3] = {0x82, (uint8_t)(len >> 8), (uint8_t)len};
        cf_wc_bytes(c, b, 3);
    } else {
        c->overflow = 1;
    }
}

void cf_wc_tlv(cf_wcursor *c, unsigned tag, const void *val, size_t len)
{
    if (tag > 0xffff)
        cf_wc_u8(c, (uint8_t)(tag >> 16));
    if (tag > 0xff)
        cf_wc_u8(c, (uint8_t)(tag >> 8));
    cf_wc_u8(c, (uint8_t)tag);
    cf_wc_berlen(c, len);
    cf_wc_bytes(c, val, len);
}
