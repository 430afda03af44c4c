/*
 * fuzz_idobj.c - the CHUID parser (card_idobj.c) on arbitrary bytes: what a
 * card answers to GET DATA of 5FC102 is untrusted.
 *
 * Beyond not crashing: a parsed expiry is eight digits and a NUL; and what
 * the builder makes from the parsed GUID and expiry parses back to them
 * (the layout cardforge writes is one the parser accepts).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/idobj.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_chuid_t ch;
    if (cf_chuid_parse(data, size, &ch) != 0)
        return 0;
    if (strlen(ch.expiry) != 8 || strspn(ch.expiry, "0123456789") != 8)
        abort();
    uint8_t v[64];
    size_t n = cf_chuid_build(ch.guid, ch.expiry, v, sizeof(v));
    cf_chuid_t again;
    if (n == 0 || cf_chuid_parse(v, n, &again) != 0 ||
        memcmp(again.guid, ch.guid, sizeof(ch.guid)) != 0 || strcmp(again.expiry, ch.expiry) != 0 ||
        again.signature_len != 0 || !again.has_fascn)
        abort();
    return 0;
}
