/*
 * fuzz_vcard_args.c - cardforge-vcard's option value parsers (numbers,
 * milliseconds, fault specs) against arbitrary strings, and the fault
 * lookup against arbitrary APDUs. Parsed values must respect the bounds
 * the parsers promise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vcard/args.h"
#include "vcard/fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;

    uint32_t v;
    if (cf_vcard_parse_u32(s, 1, 65535, &v) == CF_OK && (v < 1 || v > 65535))
        abort();
    if (cf_vcard_parse_ms(s, 60000, &v) == CF_OK && v > 60000000u)
        abort();

    cf_vcard_faults_t f;
    memset(&f, 0, sizeof(f));
    char err[128];
    if (cf_vcard_fault_set_drop(&f, s, err, sizeof(err)) == CF_OK &&
        (f.drop_after < 1 || f.drop_after > CF_VCARD_FAULT_MAX_DROP))
        abort();
    if (cf_vcard_fault_set_drop_ins(&f, s, err, sizeof(err)) == CF_OK &&
        (strlen(s) != 2 || !f.drop_on))
        abort();
    (void)cf_vcard_fault_drop(&f, size, data, size);
    /* The same spec twice, then the input cut into 7-byte specs. */
    cf_vcard_fault_add_sw(&f, s, err, sizeof(err));
    if (cf_vcard_fault_add_sw(&f, s, err, sizeof(err)) == CF_OK)
        abort(); /* a duplicate INS must be refused */
    for (size_t off = 0; off + 7 <= size; off += 7) {
        char spec[8];
        memcpy(spec, s + off, 7);
        spec[7] = 0;
        cf_vcard_fault_add_sw(&f, spec, NULL, 0);
    }
    if (f.nsw > CF_VCARD_FAULT_MAX_SW)
        abort();
    uint16_t sw;
    if (cf_vcard_fault_sw(&f, data, size, &sw)) {
        unsigned sw1 = sw >> 8;
        if (size < 4 || !((sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F)))
            abort();
    }
    free(s);
    return 0;
}
