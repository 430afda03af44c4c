/*
 * fuzz_tlv.c - BER-TLV cursor and command-APDU parser on arbitrary bytes.
 *
 * Both parse bytes that come from the other side of a card interface; the
 * checks below restate their contracts so a fuzzer finds violations, not
 * only crashes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "apdu/apdu.h"
#include "util/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_rcursor c = cf_rcursor_init(data, size);
    unsigned tag;
    const uint8_t *val;
    size_t vlen;
    while (c.left > 0 && cf_rc_tlv(&c, &tag, &val, &vlen) == 0) {
        /* The value lies inside the input. */
        if (val < data || val + vlen > data + size)
            abort();
    }

    cf_apdu_t a;
    if (cf_apdu_parse(data, size, &a) == 0) {
        if (a.nc > 0 && (a.data < data || a.data + a.nc > data + size))
            abort();
        if (a.nc == 0 && a.data != NULL)
            abort();
    }

    /* Round trip: what the writer produces, the reader reads back. */
    if (size >= 1) {
        uint8_t out[70000];
        cf_wcursor w = cf_wcursor_init(out, sizeof(out));
        cf_wc_tlv(&w, 0x5fc105, data + 1, size - 1);
        if (!w.overflow) {
            if (cf_tlv_find(out, w.len, 0x5fc105, &val, &vlen) != 0 || vlen != size - 1)
                abort();
        }
    }
    return 0;
}
