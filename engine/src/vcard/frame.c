/*
 * frame.c - the vpcd wire framing, card side.
 *
 * Bytes are consumed in place: a taken message stays where it is until the
 * next read asks for space, and only then is the unread tail moved to the
 * front. With the request/response rhythm of vpcd the tail is almost always
 * empty, so the move costs nothing in practice.
 */
#include <string.h>

#include "util/cursor.h"
#include "vcard/frame.h"

void cf_vcard_rx_reset(cf_vcard_rx *rx)
{
    rx->off = 0;
    rx->have = 0;
}

uint8_t *cf_vcard_rx_space(cf_vcard_rx *rx, size_t *room)
{
    if (rx->off > 0) {
        memmove(rx->buf, rx->buf + rx->off, rx->have - rx->off);
        rx->have -= rx->off;
        rx->off = 0;
    }
    *room = sizeof(rx->buf) - rx->have;
    return rx->buf + rx->have;
}

void cf_vcard_rx_commit(cf_vcard_rx *rx, size_t n)
{
    size_t room = sizeof(rx->buf) - rx->have;
    rx->have += n <= room ? n : room;
}

int cf_vcard_rx_take(cf_vcard_rx *rx, const uint8_t **msg, size_t *len)
{
    cf_rcursor c = cf_rcursor_init(rx->buf + rx->off, rx->have - rx->off);
    uint16_t n16;
    if (cf_rc_u16be(&c, &n16) < 0)
        return 0;
    size_t n = n16;
    if (n == 0 || n > CF_VCARD_MSG_MAX)
        return -1;
    const uint8_t *p;
    if (cf_rc_bytes(&c, n, &p) < 0)
        return 0;
    rx->off += 2 + n;
    *msg = p;
    *len = n;
    return 1;
}

int cf_vcard_rx_partial(const cf_vcard_rx *rx)
{
    return rx->have > rx->off;
}

int cf_vcard_frame_header(size_t len, uint8_t hdr[2])
{
    if (len == 0 || len > CF_VCARD_WIRE_MAX)
        return -1;
    hdr[0] = (uint8_t)(len >> 8);
    hdr[1] = (uint8_t)len;
    return 0;
}
