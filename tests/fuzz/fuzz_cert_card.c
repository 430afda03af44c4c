/*
 * fuzz_cert_card.c - the certificate operations (cert.h) against a card
 * that answers anything, through the scripted transport: listing slots and
 * containers, reading certificates and public keys, signing, deleting and
 * setting the default container with whatever masterfile, cmapfile,
 * certificate objects and key templates the card returns.
 *
 * Input: byte 0 chooses the profile (bit 0: a YubiKey PIV profile that
 * accepts the scripted ATR; else identification) and whether the PIN is
 * verified first (bit 1); then the card's answers, each a length byte and
 * that many bytes (data + SW). Beyond not crashing: a successful operation
 * leaves no error message, what it returns is as long as it says, and an
 * operation refused for want of the PIN sent nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/card.h>
#include <cardforge/cert.h>

#include "transport/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cf_profiles_t *profiles(void)
{
    static cf_profiles_t *set;
    if (set == NULL) {
        if (cf_profiles_load(cf_profiles_default_dir(), NULL, &set) != CF_OK)
            abort();
        static const char y[] = "extends: piv-yubikey\nidentify:\n  atr: [\"3B 80 80 01 01\"]\n";
        if (cf_profiles_add_mem(&set, "piv-script", y, strlen(y), NULL) != CF_OK)
            abort();
    }
    return set;
}

static void check(cf_card_t *card, cf_err_t e, const uint8_t *out, size_t len)
{
    if (e == CF_OK && (cf_card_errmsg(card)[0] != 0 || out == NULL || len == 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    cf_transport_t *t = NULL;
    if (cf_script_open("Fuzz", &t) != CF_OK)
        abort();
    size_t i = 1, n = 0;
    while (i < size && n < 256) {
        size_t len = data[i++];
        if (len > size - i)
            len = size - i;
        cf_script_answer(t, data + i, len);
        i += len;
        n++;
    }
    cf_card_t *card = NULL;
    char err[256];
    if (cf_card_open(t, profiles(), (mode & 1) ? "piv-script" : NULL, &card, err, sizeof(err)) ==
        CF_OK) {
        int pin = 0;
        if (mode & 2) {
            cf_secret_t *s = cf_secret_new("123456", 6);
            pin = cf_card_verify_pin(card, s) == CF_OK;
            cf_secret_free(s);
        }
        cf_key_slot_t slots[CF_CERT_MAX_SLOTS];
        size_t ns = 0;
        if (cf_cert_slots(card, 1, slots, CF_CERT_MAX_SLOTS, &ns) == CF_OK &&
            ns > CF_CERT_MAX_SLOTS)
            abort();
        const char *names[] = {"9a", "9c", "0", "1"};
        for (size_t k = 0; k < 4; k++) {
            uint8_t *out = NULL;
            size_t ol = 0;
            check(card, cf_cert_read(card, names[k], &out, &ol), out, ol);
            free(out);
            out = NULL;
            check(card, cf_cert_public_key(card, names[k], &out, &ol), out, ol);
            free(out);
            uint8_t dg[32] = {1};
            uint8_t *sig = NULL;
            size_t sl = 0;
            check(card, cf_cert_sign(card, names[k], "sha256", dg, sizeof(dg), &sig, &sl), sig, sl);
            free(sig);
        }
        uint64_t before = cf_transport_apdu_count(t);
        cf_err_t e = cf_cert_set_default(card, "1");
        if (!pin && e == CF_ERR_REFUSED && cf_transport_apdu_count(t) != before)
            abort();
        (void)cf_cert_delete(card, "1", mode & 4);
    }
    cf_card_free(card);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    return 0;
}
