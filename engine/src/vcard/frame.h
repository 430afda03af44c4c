/*
 * frame.h - the vpcd wire framing, card side (internal).
 *
 * Every vpcd message, both ways, is a 2-byte big-endian length and that
 * many bytes. The decoder below takes bytes as the socket delivers them
 * (any split: one byte at a time, several messages at once) and hands out
 * whole messages, so the daemon never blocks inside a half-read message
 * and can notice a peer that hangs up in the middle of one.
 *
 * The decoder owns its buffer (one message at most, 65537 bytes: heap-
 * allocate the struct). It is not thread-safe.
 */
#ifndef CF_VCARD_FRAME_H
#define CF_VCARD_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* The longest command a card can meaningfully receive: an extended APDU,
 * 4 header + 3 Lc + 65535 data + 2 Le bytes. A 16-bit length cannot exceed
 * 65535, so over vpcd this bound is never reached; it is checked anyway so
 * that widening the length field cannot silently lift it. */
#define CF_VCARD_MSG_MAX 65544u
/* The longest payload the 2-byte length can announce. */
#define CF_VCARD_WIRE_MAX 65535u

/* 1-byte control messages from the reader driver. */
#define CF_VPCD_POWER_OFF 0x00
#define CF_VPCD_POWER_ON 0x01
#define CF_VPCD_RESET 0x02
#define CF_VPCD_GET_ATR 0x04

typedef struct cf_vcard_rx {
    size_t off;  /* start of the bytes not yet handed out */
    size_t have; /* end of the bytes received */
    uint8_t buf[2 + CF_VCARD_WIRE_MAX];
} cf_vcard_rx;

/* Forget everything buffered (a new connection). */
void cf_vcard_rx_reset(cf_vcard_rx *rx);

/* Where the next read may write, and how much: *room > 0 unless a whole
 * message is buffered and not yet taken (take it first). Invalidates the
 * pointer the last cf_vcard_rx_take returned. */
uint8_t *cf_vcard_rx_space(cf_vcard_rx *rx, size_t *room);

/* Record that n bytes (n <= room) were written at the space pointer. */
void cf_vcard_rx_commit(cf_vcard_rx *rx, size_t n);

/* The next whole message: 1 with *msg (borrowed, valid until the next
 * cf_vcard_rx_space or cf_vcard_rx_reset) and *len set; 0 when more bytes
 * are needed; -1 on a framing error (a length of 0 or above
 * CF_VCARD_MSG_MAX), after which the stream cannot be resynchronised. */
int cf_vcard_rx_take(cf_vcard_rx *rx, const uint8_t **msg, size_t *len);

/* Non-zero when part of a message is buffered: EOF now is EOF mid-message. */
int cf_vcard_rx_partial(const cf_vcard_rx *rx);

/* Write the 2-byte length of a len-byte payload into hdr. -1 when len is 0
 * or does not fit the wire format. */
int cf_vcard_frame_header(size_t len, uint8_t hdr[2]);

#endif
