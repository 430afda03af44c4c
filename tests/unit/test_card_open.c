/*
 * test_card_open.c - identification and what a card may answer: unknown
 * cards, named profiles, malformed answers, lost cards, a card whose
 * cryptogram is wrong (scripted reader); and the third card type of
 * docs/profiles.md, loaded from the documentation itself and run on the
 * virtual PIV card.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "transport/script.h"

#define GIDS_FCI "61 12 4F 0B A0 00 00 03 97 42 54 46 59 02 01 73 03 40 01 C0 90 00"
#define PIV_APT "61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00"
#define YUBIKEY_ATR "3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 40"

struct sfx {
    cf_transport_t *t;
    cf_profiles_t *set;
    cf_card_t *card;
    char err[512];
};

/* The real profiles plus a PIV profile that accepts the scripted reader's
 * ATR (3B 80 80 01 01). */
static void sfx_new(struct sfx *s)
{
    memset(s, 0, sizeof(*s));
    s->set = fx_profiles();
    static const char y[] = "extends: piv-yubikey\nidentify:\n  atr: [\"3B 80 80 01 01\"]\n";
    assert_int_equal(cf_profiles_add_mem(&s->set, "piv-script", y, strlen(y), NULL), CF_OK);
    assert_int_equal(cf_script_open("Script 0", &s->t), CF_OK);
}

static void sfx_free(struct sfx *s)
{
    cf_card_free(s->card);
    cf_transport_close(s->t, CF_DISPOSE_LEAVE);
    cf_profiles_free(s->set);
}

static void test_unknown_card_is_named_with_its_atr(void **state)
{
    (void)state;
    struct sfx s;
    sfx_new(&s);
    assert_int_equal(cf_script_repeat(s.t, (const uint8_t *)"\x6A\x82", 2), CF_OK);
    assert_int_equal(cf_card_open(s.t, s.set, NULL, &s.card, s.err, sizeof(s.err)),
                     CF_ERR_UNKNOWN_CARD);
    assert_null(s.card);
    assert_non_null(strstr(s.err, "no card profile recognises the card in reader 'Script 0'"));
    assert_non_null(strstr(s.err, "ATR 3B80800101"));
    /* piv-script (its ATR pattern names the card, so it goes first) sent
     * the PIV SELECT and gids-counter the GIDS SELECT; every other profile
     * shares one of these refused SELECTs (gids-gemalto, a child without a
     * probe, is not even tried) */
    assert_int_equal(cf_script_sent_count(s.t), 2);
    assert_non_null(strstr(s.err, "no application of theirs answers SELECT"));
    sfx_free(&s);
}

static void test_named_profile_errors(void **state)
{
    (void)state;
    struct sfx s;
    sfx_new(&s);
    assert_int_equal(cf_card_open(s.t, s.set, "nope", &s.card, s.err, sizeof(s.err)),
                     CF_ERR_NOT_FOUND);
    assert_non_null(strstr(s.err, "no card profile named 'nope'"));
    assert_int_equal(cf_script_sent_count(s.t), 0);
    /* A named profile needs no ATR of its own (the card's is 3B 80 80 01
     * 01): its SELECT decides. */
    assert_int_equal(cf_script_answer_hex(s.t, "6A82"), CF_OK);
    assert_int_equal(cf_card_open(s.t, s.set, "piv-yubikey", &s.card, s.err, sizeof(s.err)),
                     CF_ERR_UNKNOWN_CARD);
    assert_non_null(strstr(s.err, "is not a piv-yubikey card: its application does not answer"));
    assert_non_null(strstr(s.err, "6A82 (file or application not found)"));
    assert_int_equal(cf_script_sent_count(s.t), 1);
    assert_int_equal(cf_script_answer_hex(s.t, "6A82"), CF_OK);
    assert_int_equal(cf_card_open(s.t, s.set, "gids", &s.card, s.err, sizeof(s.err)),
                     CF_ERR_UNKNOWN_CARD);
    assert_non_null(strstr(s.err, "answered 6A82 (file or application not found)"));
    assert_int_equal(cf_card_open(NULL, s.set, NULL, &s.card, s.err, sizeof(s.err)), CF_ERR_ARG);
    assert_int_equal(cf_card_open(s.t, NULL, NULL, &s.card, NULL, 0), CF_ERR_ARG);
    assert_int_equal(cf_card_open(s.t, s.set, NULL, NULL, NULL, 0), CF_ERR_ARG);
    sfx_free(&s);
}

static void test_gids_by_select_and_cardid(void **state)
{
    (void)state;
    struct sfx s;
    sfx_new(&s);
    /* piv-script's ATR pattern names this card, so its SELECT goes first
     * (refused), then the GIDS profiles' */
    assert_int_equal(cf_script_answer_hex(s.t, "6A82"), CF_OK);
    assert_int_equal(cf_script_answer_hex(s.t, GIDS_FCI), CF_OK);
    /* gids-counter's probe: the card has no DO 7F7A, so it is a gids card
     * (whose SELECT, the same, is still in effect: not sent again) */
    assert_int_equal(cf_script_answer_hex(s.t, "6A88"), CF_OK);
    assert_int_equal(cf_script_answer_hex(s.t, "DF 20 10 00 11 22 33 44 55 66 77 88 99 AA BB CC "
                                               "DD EE FF 90 00"),
                     CF_OK);
    assert_int_equal(cf_card_open(s.t, s.set, NULL, &s.card, s.err, sizeof(s.err)), CF_OK);
    assert_string_equal(cf_card_serial(s.card), "00112233445566778899aabbccddeeff");
    assert_string_equal(cf_profile_name(cf_card_profile(s.card)), "gids");
    assert_int_equal(cf_script_sent_count(s.t), 4);
    size_t len;
    const uint8_t *sel = cf_script_sent(s.t, 1, &len);
    static const uint8_t want[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                                   0x03, 0x97, 0x42, 0x54, 0x46, 0x59, 0x00};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(sel, want, sizeof(want));
    const uint8_t *ser = cf_script_sent(s.t, 3, &len);
    static const uint8_t want2[] = {0x00, 0xCB, 0xA0, 0x12, 0x04, 0x5C, 0x02, 0xDF, 0x20, 0x00};
    assert_int_equal(len, sizeof(want2));
    assert_memory_equal(ser, want2, sizeof(want2));
    sfx_free(&s);
}

static void test_select_answer_must_be_the_expected_application(void **state)
{
    (void)state;
    struct sfx s;
    sfx_new(&s);
    /* 9000 to every SELECT but another AID in the answer: neither a GIDS
     * nor a PIV card */
    assert_int_equal(cf_script_repeat(s.t, (const uint8_t *)"\x61\x03\x4F\x01\x01\x90\x00", 7),
                     CF_OK);
    assert_int_equal(cf_card_open(s.t, s.set, NULL, &s.card, s.err, sizeof(s.err)),
                     CF_ERR_UNKNOWN_CARD);
    assert_non_null(strstr(s.err, "no card profile recognises"));
    sfx_free(&s);
}

static void test_malformed_serial_is_a_bad_response(void **state)
{
    (void)state;
    static const char *const serials[] = {
        "DF 20 02 00 01 90 00",                                           /* too short */
        "DF 20 10 00 01 90 00",                                           /* truncated TLV */
        "DF 21 10 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 90 00", /* other tag */
        "90 00",                                                          /* nothing */
    };
    for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
        struct sfx s;
        sfx_new(&s);
        assert_int_equal(cf_script_answer_hex(s.t, GIDS_FCI), CF_OK);
        assert_int_equal(cf_script_answer_hex(s.t, serials[i]), CF_OK);
        assert_int_equal(cf_card_open(s.t, s.set, "gids", &s.card, s.err, sizeof(s.err)),
                         CF_ERR_BAD_RESPONSE);
        assert_non_null(strstr(s.err, "does not hold the value"));
        sfx_free(&s);
    }
}

static void test_card_lost_during_identification(void **state)
{
    (void)state;
    struct sfx s;
    sfx_new(&s);
    assert_int_equal(cf_script_fail(s.t, CF_ERR_CARD_REMOVED), CF_OK);
    assert_int_equal(cf_card_open(s.t, s.set, NULL, &s.card, s.err, sizeof(s.err)),
                     CF_ERR_CARD_REMOVED);
    assert_non_null(strstr(s.err, "selecting the application"));
    sfx_free(&s);
}

/* A scripted PIV card up to an opened cf_card_t. */
static void open_script_piv(struct sfx *s)
{
    sfx_new(s);
    assert_int_equal(cf_script_answer_hex(s->t, PIV_APT), CF_OK);
    assert_int_equal(cf_script_answer_hex(s->t, "00 BC 61 4E 90 00"), CF_OK);
    assert_int_equal(cf_script_answer_hex(s->t, "6D 00"), CF_OK); /* no version: fine */
    assert_int_equal(cf_card_open(s->t, s->set, "piv-script", &s->card, s->err, sizeof(s->err)),
                     CF_OK);
    assert_string_equal(cf_card_serial(s->card), "12345678");
    assert_string_equal(cf_card_version(s->card), "");
}

static void test_counter_answers(void **state)
{
    (void)state;
    struct sfx s;
    open_script_piv(&s);
    cf_tries_t t;
    /* firmware without GET METADATA: unknown, and the word is kept */
    assert_int_equal(cf_script_answer_hex(s.t, "6D00"), CF_OK);
    assert_int_equal(cf_card_tries(s.card, CF_CRED_PIN, &t), CF_OK);
    assert_int_equal(t.kind, CF_TRIES_UNKNOWN);
    assert_int_equal(t.sw, 0x6D00);
    /* asked again, it is what the card said: nothing sent */
    uint64_t n = cf_transport_apdu_count(s.t);
    assert_int_equal(cf_card_tries(s.card, CF_CRED_PIN, &t), CF_OK);
    assert_int_equal(t.sw, 0x6D00);
    assert_int_equal(cf_transport_apdu_count(s.t), n);
    /* an answer without the counter (a proof's read always asks) */
    assert_int_equal(cf_script_answer_hex(s.t, "01 01 FF 90 00"), CF_OK);
    assert_int_equal(cf_card_tries_now(s.card, CF_CRED_PIN, &t), CF_ERR_BAD_RESPONSE);
    /* a malformed TLV */
    assert_int_equal(cf_script_answer_hex(s.t, "06 05 03 90 00"), CF_OK);
    assert_int_equal(cf_card_tries_now(s.card, CF_CRED_PUK, &t), CF_ERR_BAD_RESPONSE);
    /* any other refusal of a read says only that the card cannot tell:
     * "not there" (6A88, 6A82, 6984) or "not now" (6982) */
    static const char *const refusals[] = {"6A88", "6A82", "6984", "6982", "6A80"};
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        assert_int_equal(cf_script_answer_hex(s.t, refusals[i]), CF_OK);
        assert_int_equal(cf_card_tries_now(s.card, CF_CRED_PUK, &t), CF_OK);
        assert_int_equal(t.kind, CF_TRIES_UNKNOWN);
        assert_int_equal(t.sw, cf_card_last_sw(s.card));
        assert_int_equal(t.sw, (uint16_t)strtoul(refusals[i], NULL, 16));
    }
    /* 06 = max, left */
    assert_int_equal(cf_script_answer_hex(s.t, "06 02 05 02 90 00"), CF_OK);
    assert_int_equal(cf_card_tries_now(s.card, CF_CRED_PUK, &t), CF_OK);
    assert_int_equal(t.kind, CF_TRIES_KNOWN);
    assert_int_equal(t.left, 2);
    assert_int_equal(t.max, 5);
    sfx_free(&s);
}

static void test_wrong_card_cryptogram_does_not_authenticate(void **state)
{
    (void)state;
    struct sfx s;
    open_script_piv(&s);
    cf_secret_t *key = NULL;
    assert_int_equal(
        cf_secret_from_hex("010203040506070801020304050607080102030405060708", 48, &key), CF_OK);
    /* one metadata read: no counter, algorithm 3des */
    assert_int_equal(cf_script_answer_hex(s.t, "01 01 03 90 00"), CF_OK);
    assert_int_equal(cf_script_answer_hex(s.t, "7C 0A 80 08 11 22 33 44 55 66 77 88 90 00"), CF_OK);
    assert_int_equal(cf_script_answer_hex(s.t, "7C 0A 82 08 00 00 00 00 00 00 00 00 90 00"), CF_OK);
    assert_int_equal(cf_card_admin_auth(s.card, key, 0), CF_ERR_BAD_RESPONSE);
    assert_non_null(strstr(cf_card_errmsg(s.card), "does not hold this key"));
    /* the witness went out decrypted, as D_K(11..88), never as the key */
    size_t len;
    const uint8_t *ans = cf_script_sent(s.t, cf_script_sent_count(s.t) - 1, &len);
    assert_int_equal(len, 5 + 22 + 1);
    assert_int_equal(ans[2], 0x03);
    assert_int_equal(ans[5], 0x7C);
    assert_int_equal(ans[6], 0x14);
    /* not authenticated: setting a key is refused without sending */
    size_t n = cf_script_sent_count(s.t);
    assert_int_equal(cf_card_set_admin_key(s.card, key), CF_ERR_REFUSED);
    assert_int_equal(cf_script_sent_count(s.t), n);

    /* a witness of the wrong size; the card already said its 9B has no
     * counter and holds a 3DES key, so only the witness is asked for */
    n = cf_script_sent_count(s.t);
    assert_int_equal(cf_script_answer_hex(s.t, "7C 06 80 04 11 22 33 44 90 00"), CF_OK);
    cf_secret_t *key2 = NULL;
    assert_int_equal(
        cf_secret_from_hex("010203040506070801020304050607080102030405060709", 48, &key2), CF_OK);
    assert_int_equal(cf_card_admin_auth(s.card, key2, 0), CF_ERR_BAD_RESPONSE);
    assert_int_equal(cf_script_sent_count(s.t), n + 1);
    sfx_free(&s);

    /* a card algorithm the profile does not know (a fresh session) */
    open_script_piv(&s);
    assert_int_equal(cf_script_answer_hex(s.t, "90 00"), CF_OK);
    assert_int_equal(cf_script_answer_hex(s.t, "01 01 99 90 00"), CF_OK);
    assert_int_equal(cf_card_admin_auth(s.card, key2, 0), CF_ERR_BAD_RESPONSE);
    assert_non_null(strstr(cf_card_errmsg(s.card), "algorithm"));
    cf_secret_free(key);
    cf_secret_free(key2);
    sfx_free(&s);
}

static void test_card_reset_mid_operation_ends_the_session(void **state)
{
    (void)state;
    struct sfx s;
    open_script_piv(&s);
    cf_secret_t *pin = cf_secret_new("123456", 6);
    assert_int_equal(cf_script_fail(s.t, CF_ERR_CARD_RESET), CF_OK);
    assert_int_equal(cf_card_verify_pin(s.card, pin), CF_ERR_CARD_RESET);
    assert_non_null(strstr(cf_card_errmsg(s.card), "reselect"));
    /* reselect of a YubiKey profile: reset, then SELECT */
    unsigned resets = cf_script_resets(s.t);
    assert_int_equal(cf_script_answer_hex(s.t, PIV_APT), CF_OK);
    assert_int_equal(cf_card_reselect(s.card), CF_OK);
    assert_int_equal(cf_script_resets(s.t), resets + 1);
    assert_int_equal(cf_script_answer_hex(s.t, "6A80"), CF_OK);
    assert_int_equal(cf_card_reselect(s.card), CF_ERR_CARD_STATUS);
    cf_secret_free(pin);
    sfx_free(&s);
}

/* ---- the third card type of docs/profiles.md ----------------------------- */

/* The YAML block after the "example: piv-acme.yaml" marker. */
static char *doc_example(void)
{
    FILE *f = fopen(CF_SOURCE_DIR "/docs/profiles.md", "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strstr(text, "<!-- example: piv-acme.yaml -->");
    assert_non_null(p);
    p = strstr(p, "```yaml\n");
    assert_non_null(p);
    p += 8;
    char *e = strstr(p, "```");
    assert_non_null(e);
    *e = 0;
    return p;
}

static void test_documented_third_card_type_works(void **state)
{
    (void)state;
    struct fx f;
    memset(&f, 0, sizeof(f));
    f.set = fx_profiles();
    cf_diag_list_t *d = cf_diag_list_new();
    char *acme = doc_example();
    cf_err_t err = cf_profiles_add_mem(&f.set, "piv-acme", acme, strlen(acme), d);
    if (err != CF_OK)
        cf_diag_print(d, stderr);
    assert_int_equal(err, CF_OK);
    static const char sim[] = "extends: piv-acme\nidentify:\n  atr: [\"" YUBIKEY_ATR "\"]\n";
    assert_int_equal(cf_profiles_add_mem(&f.set, "piv-acme-sim", sim, strlen(sim), d), CF_OK);
    cf_diag_list_free(d);

    const cf_profile_t *p = cf_profiles_find(f.set, "piv-acme");
    assert_false(cf_profile_can(p, CF_CAP_SET_ADMIN_KEY));
    assert_true(cf_profile_can(p, CF_CAP_PIN_BY_PUK));
    cf_secret_t *fp = fx_s(&f, "77777777");
    assert_true(cf_secret_equal(cf_profile_factory(p, CF_CRED_PIN), fp));

    /* the virtual PIV card with a CHUID holding a GUID */
    assert_int_equal(cf_simcard_new("yubikey", NULL, 99, &f.sim), CF_OK);
    assert_int_equal(cf_transport_open_sim(f.sim, "Sim", &f.t), CF_OK);
    assert_int_equal(cf_card_open(f.t, f.set, "piv-yubikey", &f.card, NULL, 0), CF_OK);
    cf_secret_t *key = fx_h(&f, "010203040506070801020304050607080102030405060708");
    assert_int_equal(cf_card_admin_auth(f.card, key, 0), CF_OK);
    static const uint8_t chuid[] = {0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x53, 0x14, 0x34, 0x10,
                                    0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,
                                    0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0xFE, 0x00};
    cf_capdu_t put = {.ins = 0xDB, .p1 = 0x3F, .p2 = 0xFF, .data = chuid, .len = sizeof(chuid)};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(f.t, &put, &r), CF_OK);
    assert_int_equal(r.sw, 0x9000);
    cf_card_free(f.card);

    /* identified as the most specific matching profile */
    assert_int_equal(cf_card_open(f.t, f.set, NULL, &f.card, f.errbuf, sizeof(f.errbuf)), CF_OK);
    assert_string_equal(cf_profile_name(cf_card_profile(f.card)), "piv-acme-sim");
    assert_string_equal(cf_card_serial(f.card), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    assert_string_equal(cf_card_version(f.card), "");
    /* the PIN counter from the empty VERIFY, as SP 800-73-4 has it */
    assert_int_equal(fx_tries(&f, CF_CRED_PIN).kind, CF_TRIES_KNOWN);
    assert_int_equal(fx_tries(&f, CF_CRED_PIN).left, 3);
    assert_int_equal(fx_tries(&f, CF_CRED_PUK).kind, CF_TRIES_UNKNOWN);
    assert_int_equal(fx_tries(&f, CF_CRED_ADMIN).kind, CF_TRIES_UNKNOWN);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "123456")), CF_OK);
    assert_int_equal(cf_card_admin_auth(f.card, key, 0), CF_OK);
    assert_int_equal(cf_card_set_admin_key(f.card, key), CF_ERR_UNSUPPORTED);
    /* unknown PUK counter: one attempt, then refused */
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "00000000"), fx_s(&f, "11111111"), 0),
                     CF_ERR_WRONG_SECRET);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "11111111"),
                                        CF_OP_ALLOW_LAST_TRY),
                     CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_card_is_named_with_its_atr),
        cmocka_unit_test(test_named_profile_errors),
        cmocka_unit_test(test_gids_by_select_and_cardid),
        cmocka_unit_test(test_select_answer_must_be_the_expected_application),
        cmocka_unit_test(test_malformed_serial_is_a_bad_response),
        cmocka_unit_test(test_card_lost_during_identification),
        cmocka_unit_test(test_counter_answers),
        cmocka_unit_test(test_wrong_card_cryptogram_does_not_authenticate),
        cmocka_unit_test(test_card_reset_mid_operation_ends_the_session),
        cmocka_unit_test(test_documented_third_card_type_works),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
