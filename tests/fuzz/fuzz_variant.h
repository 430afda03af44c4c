/*
 * fuzz_variant.h - a virtual card type (BASE[+QUIRK...]) chosen by one
 * input byte, so that the simcard fuzz targets run every quirk's code and
 * not only the bases'. Bits, for both families:
 *   bit 0    piv: the piv base (else yubikey); gids: factory gemalto (else blank)
 *   bit 1    piv: aid-full; gids: admin-counter
 *   bits 2-3 none, wrong-6a80, wrong-6982, wrong-63cx (gids; none on piv)
 *   bits 4-5 none, absent-6a82, absent-6984, none
 *   bit 6    atr-other
 *   bit 7    piv: no-verify-status; gids: atr-yubikey instead of atr-other
 * A combination the card refuses (wrong-63cx on a card that counts no
 * admin tries) falls back to the bare base.
 */
#ifndef CF_FUZZ_VARIANT_H
#define CF_FUZZ_VARIANT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cardforge/simcard.h>

/* A new card of the family ("piv" or "gids") as v says; aborts if even
 * the bare base cannot be made. */
static inline cf_simcard_t *fuzz_variant_card(int gids, uint8_t v, uint32_t serial)
{
    static const char *const wrong[] = {"", "+wrong-6a80", "+wrong-6982", "+wrong-63cx"};
    static const char *const absent[] = {"", "+absent-6a82", "+absent-6984", ""};
    const char *atr = (v & 0x40) ? ((gids && (v & 0x80)) ? "+atr-yubikey" : "+atr-other") : "";
    char type[CF_SIMCARD_TYPE_MAX];
    const char *factory = NULL;
    if (gids) {
        factory = (v & 1) ? "gemalto" : "blank";
        snprintf(type, sizeof(type), "gids%s%s%s%s", (v & 2) ? "+admin-counter" : "",
                 wrong[(v >> 2) & 3], absent[(v >> 4) & 3], atr);
    } else {
        snprintf(type, sizeof(type), "%s%s%s%s%s%s", (v & 1) ? "piv" : "yubikey",
                 (v & 2) ? "+aid-full" : "", ((v >> 2) & 3) == 3 ? "" : wrong[(v >> 2) & 3],
                 absent[(v >> 4) & 3], atr, (v & 0x80) ? "+no-verify-status" : "");
    }
    cf_simcard_t *card = NULL;
    if (cf_simcard_new(type, factory, serial, &card) != CF_OK &&
        cf_simcard_new(gids ? "gids" : "yubikey", factory, serial, &card) != CF_OK)
        abort();
    return card;
}

#endif
