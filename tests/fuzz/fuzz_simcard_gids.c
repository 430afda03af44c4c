/*
 * fuzz_simcard_gids.c - throws APDU sequences at the gids virtual card.
 *
 * Input: one byte choosing the factory state (bit 0: gemalto, else blank)
 * and the quirks (the other bits, fuzz_variant.h), then records of <length
 * byte> <that many APDU bytes>; a length of 0 is a warm reset. Sequences matter more than single
 * APDUs for this card (the file system, the PIN, pending challenges), so the seeds are real command
 * sequences: gids-tool -X on a blank card, a PIN session, the helpdesk
 * challenge request, container keys (key file, generation, public key,
 * MSE + sign / decipher, a chained key import in OpenSC's format, and the
 * refusals). The card must answer every APDU with a status word.
 *
 * At most one GENERATE ASYMMETRIC KEY PAIR per input reaches the card: an
 * RSA 4096 generation can take seconds, and run_fuzzer.sh allows an input
 * 10; the rest of a sequence still runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cardforge/simcard.h>

#include "fuzz_variant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t resp[CF_SIMCARD_MAX_RESPONSE];
    if (size < 1)
        return 0;
    cf_simcard_t *card = fuzz_variant_card(1, data[0], 1);
    cf_simcard_power_on(card);
    size_t off = 1, generations = 0;
    while (off < size) {
        size_t len = data[off++];
        if (len == 0) {
            cf_simcard_reset(card);
            continue;
        }
        if (len > size - off)
            len = size - off;
        if (len >= 2 && data[off + 1] == 0x47 && generations++ > 0) {
            off += len;
            continue;
        }
        size_t rlen = 0;
        if (cf_simcard_transmit(card, data + off, len, resp, &rlen) != CF_OK || rlen < 2 ||
            rlen > CF_SIMCARD_MAX_RESPONSE)
            abort();
        off += len;
    }
    cf_simcard_free(card);
    return 0;
}
