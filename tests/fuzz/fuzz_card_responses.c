/*
 * fuzz_card_responses.c - the card layer against a card that answers
 * anything: identification, serial, retry counters, admin authentication
 * (both mutual schemes), the external challenge, PIN operations, the
 * CHUID and CCC writes (past a mutual authentication only when the
 * scripted card happens to answer it right; the parser of what a card
 * reads back has its own target, fuzz_idobj), through the scripted
 * transport.
 *
 * Input: byte 0 chooses the profile (bit 0: a PIV profile that accepts the
 * scripted ATR; else identification, which finds the GIDS profiles) and the
 * operations (bits 1-5); then the card's answers, each a length byte and
 * that many bytes (data + SW). Once they run out the reader fails, as a
 * pulled card does. Beyond not crashing: an opened card has a serial, a
 * known counter has left <= 255, a guard refusal never comes with a
 * transmitted APDU, and a successful operation leaves no error message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/card.h>
#include <cardforge/idobj.h>

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

static void check_ok(cf_card_t *card, cf_err_t err)
{
    if (err == CF_OK && cf_card_errmsg(card)[0] != 0)
        abort();
}

/* A guard refusal must not have sent anything but counter reads (which
 * the scripted card answers); at most two APDUs per refusal here. */
static void check_guard(cf_transport_t *t, uint64_t before, cf_err_t err)
{
    if ((err == CF_ERR_LAST_TRY || err == CF_ERR_REFUSED) &&
        cf_transport_apdu_count(t) > before + 2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cf_profiles_t *set = profiles();
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
    cf_err_t e = cf_card_open(t, set, (mode & 1) ? "piv-script" : NULL, &card, err, sizeof(err));
    if (e == CF_OK) {
        if (card == NULL || cf_card_serial(card)[0] == 0)
            abort();
        cf_tries_t tr;
        for (int c = 0; c < CF_CRED_COUNT; c++)
            if (cf_card_tries(card, (cf_cred_t)c, &tr) == CF_OK && tr.kind == CF_TRIES_KNOWN &&
                tr.left > 255)
                abort();
        static const uint8_t zero[24];
        cf_secret_t *key = cf_secret_new(zero, 24);
        cf_secret_t *pin = cf_secret_new("123456", 6), *npin = cf_secret_new("654321", 6);
        cf_secret_t *puk = cf_secret_new("12345678", 8);
        if (key == NULL || pin == NULL || npin == NULL || puk == NULL)
            abort();
        unsigned flags = (mode & 2) ? CF_OP_ALLOW_LAST_TRY : 0;
        uint64_t before = cf_transport_apdu_count(t);
        e = cf_card_admin_auth(card, key, flags);
        check_ok(card, e);
        check_guard(t, before, e);
        if (e == CF_OK && (mode & 16))
            check_ok(card, cf_card_set_admin_key(card, key));
        if (mode & 32) {
            static const uint8_t id[CF_CHUID_GUID_LEN] = {0x40};
            before = cf_transport_apdu_count(t);
            e = cf_card_write_chuid(card, id, "20300101");
            check_ok(card, e);
            /* refused without the admin key: nothing sent */
            if (e == CF_ERR_REFUSED && cf_card_last_write(card) == CF_WRITE_NONE &&
                cf_transport_apdu_count(t) != before)
                abort();
            check_ok(card, cf_card_write_ccc(card, id));
        }
        if (mode & 4) {
            uint8_t ch[32];
            size_t chlen = 0;
            before = cf_transport_apdu_count(t);
            e = cf_card_get_challenge(card, ch, sizeof(ch), &chlen, flags);
            check_guard(t, before, e);
            if (e == CF_OK) {
                if (chlen == 0 || chlen > sizeof(ch))
                    abort();
                cf_secret_t *r = cf_secret_new(ch, chlen);
                check_ok(card, cf_card_external_auth(card, r));
                cf_secret_free(r);
            }
        }
        if (mode & 8) {
            check_ok(card, cf_card_verify_pin(card, pin));
            check_ok(card, cf_card_change_pin(card, pin, npin));
            before = cf_transport_apdu_count(t);
            e = cf_card_unblock_pin_by_puk(card, puk, npin, flags);
            check_guard(t, before, e);
            check_ok(card, cf_card_unblock_pin_by_admin(card, npin));
            unsigned spent = 0;
            e = cf_card_block_pin(card, npin, &spent);
            if (spent > 257)
                abort();
        }
        check_ok(card, cf_card_reselect(card));
        cf_secret_free(key);
        cf_secret_free(pin);
        cf_secret_free(npin);
        cf_secret_free(puk);
    } else if (card != NULL) {
        abort();
    }
    cf_card_free(card);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    return 0;
}
