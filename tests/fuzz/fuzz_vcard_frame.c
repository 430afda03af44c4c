/*
 * fuzz_vcard_frame.c - the vpcd framing decoder against arbitrary byte
 * streams. The first byte of the input chooses how the stream is cut into
 * reads, so splits at every position get explored; every message handed
 * out must lie inside what was fed and have a length of 1..65535.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vcard/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cf_vcard_rx rx;
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;
    cf_vcard_rx_reset(&rx);
    size_t total_out = 0;
    while (size > 0) {
        size_t room;
        uint8_t *dst = cf_vcard_rx_space(&rx, &room);
        if (room == 0)
            abort(); /* a whole message is always taken before reading more */
        size_t k = size < piece ? size : piece;
        if (k > room)
            k = room;
        memcpy(dst, data, k);
        cf_vcard_rx_commit(&rx, k);
        data += k;
        size -= k;
        for (;;) {
            const uint8_t *msg;
            size_t len;
            int t = cf_vcard_rx_take(&rx, &msg, &len);
            if (t < 0)
                return 0; /* framing error: the daemon drops the link */
            if (t == 0)
                break;
            if (len == 0 || len > CF_VCARD_WIRE_MAX || msg < rx.buf ||
                msg + len > rx.buf + sizeof(rx.buf))
                abort();
            total_out += 2 + len;
        }
    }
    (void)total_out;
    (void)cf_vcard_rx_partial(&rx);
    return 0;
}
