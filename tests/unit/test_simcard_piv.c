/*
 * test_simcard_piv.c - the piv virtual card, driven through the public
 * cf_simcard_* API with the raw APDUs yubico-piv-tool 2.2.0 and OpenSC 0.23
 * send (piv-reference.md): every instruction, every error path, every
 * counter edge, persistence before acting, and the clients' sequences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "simcard_tx.h"

#define SELECT_PIV "00 A4 04 00 05 A0 00 00 03 08"
#define VERIFY_123456 "00 20 00 80 08 31 32 33 34 35 36 FF FF"
#define VERIFY_WRONG "00 20 00 80 08 39 39 39 39 39 39 FF FF"
#define VERIFY_STATUS "00 20 00 80 00"
#define PUK_12345678 "31 32 33 34 35 36 37 38"
#define PUK_WRONG "39 39 39 39 39 39 39 39"
#define PIN_123456 "31 32 33 34 35 36 FF FF"
#define PIN_654321 "36 35 34 33 32 31 FF FF"
#define SERIAL 0x01020304u

static const uint8_t default_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                        5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

static cf_simcard_t *new_card(void)
{
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", NULL, SERIAL, &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    return c;
}

static cf_simcard_t *new_card_with_state(void)
{
    cf_simcard_t *c = new_card();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    return c;
}

/* Make the state file unwritable: remove it and its directory. */
static void break_state_dir(void)
{
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

static void repair_state_dir(void)
{
    assert_int_equal(mkdir(dir, 0700), 0);
}

static const char *state(const char *key)
{
    static char buf[40000];
    return tx_state_value(path, key, buf, sizeof(buf));
}

/* ---- host side of the 9B management key authentication ---- */

static void send_witness_request(cf_simcard_t *c, uint8_t alg, uint8_t *enc_witness)
{
    size_t bl = alg == 0x03 ? 8 : 16;
    uint8_t a1[] = {0x00, 0x87, alg, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00};
    assert_int_equal(tx_raw(c, a1, sizeof(a1)), 0x9000);
    assert_int_equal(tx_len, 4 + bl);
    assert_int_equal(tx_resp[0], 0x7C);
    assert_int_equal(tx_resp[1], 2 + bl);
    assert_int_equal(tx_resp[2], 0x80);
    assert_int_equal(tx_resp[3], bl);
    memcpy(enc_witness, tx_resp + 4, bl);
}

/* Build the second mutual step from a decrypted witness. Returns length. */
static size_t build_witness_answer(uint8_t alg, const uint8_t *witness, const uint8_t *chal,
                                   uint8_t *a2)
{
    size_t bl = alg == 0x03 ? 8 : 16, n = 0;
    a2[n++] = 0x00;
    a2[n++] = 0x87;
    a2[n++] = alg;
    a2[n++] = 0x9B;
    a2[n++] = (uint8_t)(6 + 2 * bl);
    a2[n++] = 0x7C;
    a2[n++] = (uint8_t)(4 + 2 * bl);
    a2[n++] = 0x80;
    a2[n++] = (uint8_t)bl;
    memcpy(a2 + n, witness, bl);
    n += bl;
    a2[n++] = 0x81;
    a2[n++] = (uint8_t)bl;
    memcpy(a2 + n, chal, bl);
    return n + bl;
}

/* Full mutual authentication with key; checks the card's proof when the
 * card accepts. Returns the second step's status word. */
static uint16_t mgm_auth(cf_simcard_t *c, uint8_t alg, const uint8_t *key, size_t klen)
{
    int aes = alg != 0x03;
    size_t bl = aes ? 16 : 8;
    uint8_t enc[16], w[16], a2[64], expect[16];
    uint8_t chal[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                        0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01};
    send_witness_request(c, alg, enc);
    assert_int_equal(tx_block(key, klen, aes, 0, enc, w), 0);
    size_t n = build_witness_answer(alg, w, chal, a2);
    uint16_t sw = tx_raw(c, a2, n);
    if (sw == 0x9000) {
        assert_int_equal(tx_block(key, klen, aes, 1, chal, expect), 0);
        assert_int_equal(tx_len, 4 + bl);
        assert_int_equal(tx_resp[0], 0x7C);
        assert_int_equal(tx_resp[2], 0x82);
        assert_memory_equal(tx_resp + 4, expect, bl);
    }
    return sw;
}

static void auth_default(cf_simcard_t *c)
{
    assert_int_equal(mgm_auth(c, 0x03, default_key, sizeof(default_key)), 0x9000);
}

/* Is the card admin-authenticated? PUT DATA of an unused object tells. */
static int is_admin(cf_simcard_t *c)
{
    uint16_t sw = tx_hex(c, "00 DB 3F FF 07 5C 03 5F C1 20 53 00");
    return sw == 0x9000;
}

static void block_pin(cf_simcard_t *c)
{
    while (tx_hex(c, VERIFY_WRONG) != 0x6983)
        ;
}

static void block_puk(cf_simcard_t *c)
{
    while (tx_hex(c, "00 24 00 81 10 " PUK_WRONG " " PUK_WRONG) != 0x6983)
        ;
}

/* ---- identity: ATR, factory, SELECT ---- */

static void test_atr_is_yubikey5_usb_offering_t1(void **st)
{
    (void)st;
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", "default", 1, &c), CF_OK);
    uint8_t atr[33], want[33];
    size_t n = cf_simcard_atr(c, atr, sizeof(atr));
    size_t wn = tx_unhex("3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 40",
                         want, sizeof(want));
    assert_int_equal(n, wn);
    assert_memory_equal(atr, want, n);
    /* TD1 and TD2 announce T=1 only; TCK makes the XOR of T0..TCK zero. */
    assert_int_equal(atr[5] & 0x0F, 1);
    assert_int_equal(atr[6] & 0x0F, 1);
    uint8_t x = 0;
    for (size_t i = 1; i < n; i++)
        x ^= atr[i];
    assert_int_equal(x, 0);
    assert_int_equal(cf_simcard_atr(c, atr, 5), 0);
    cf_simcard_free(c);
}

static void test_unknown_factory_state_is_not_found(void **st)
{
    (void)st;
    cf_simcard_t *c = (cf_simcard_t *)1;
    assert_int_equal(cf_simcard_new("yubikey", "gemalto", 1, &c), CF_ERR_NOT_FOUND);
    assert_null(c);
}

static void test_select_full_and_truncated_aids_answer_the_apt(void **st)
{
    (void)st;
    static const char *const selects[] = {
        "00 A4 04 00 05 A0 00 00 03 08",
        "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00",
        "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00",
    };
    for (size_t i = 0; i < 3; i++) {
        cf_simcard_t *c = NULL;
        assert_int_equal(cf_simcard_new("yubikey", NULL, 1, &c), CF_OK);
        cf_simcard_power_on(c);
        assert_int_equal(tx_hex(c, selects[i]), 0x9000);
        assert_true(tx_data_is("61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08"));
        assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x9000);
        cf_simcard_free(c);
    }
}

static void test_select_with_p2_0c_returns_no_data(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 A4 04 0C 05 A0 00 00 03 08"), 0x9000);
    assert_int_equal(tx_len, 0);
    cf_simcard_free(c);
}

static void test_foreign_selects_answer_6a82_never_9000(void **st)
{
    (void)st;
    static const char *const probes[] = {
        "00 A4 04 00 07 62 76 01 FF 00 00 00",                         /* coolkey */
        "00 A4 04 00 06 A0 00 00 00 01 01",                            /* MuscleCard */
        "00 A4 04 0C 0B E8 2B 06 01 04 01 81 C3 1F 02 01",             /* SmartCard-HSM */
        "00 A4 04 0C 0F D2 33 00 00 00 45 73 74 45 49 44 20 76 33 35", /* mcrd */
        "00 A4 04 00 08 A0 00 00 05 27 20 01 01",                      /* YubiKey OTP */
        "00 A4 04 00 08 A0 00 00 05 27 47 11 17",                      /* YubiKey management */
        "00 A4 04 00 0C A0 00 00 00 63 50 4B 43 53 2D 31 35",          /* PKCS#15 */
        "00 A4 04 00 06 D2 76 00 01 24 01",                            /* OpenPGP */
        "00 A4 04 00 09 A0 00 00 03 97 42 54 46 59",                   /* GIDS */
        "00 A4 04 00 04 A0 00 00 03",                                  /* too short a prefix */
        "00 A4 04 00 0C A0 00 00 03 08 00 00 10 00 01 00 00",          /* longer than the AID */
        "00 A4 04 00 05 A0 00 00 03 09", /* differs in the last byte */
        "00 A4 00 00 02 3F 00",          /* by file id */
        "00 A4 04 00",                   /* no AID */
    };
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", NULL, 1, &c), CF_OK);
    cf_simcard_power_on(c);
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        assert_int_equal(tx_hex(c, probes[i]), 0x6A82);
        assert_int_equal(tx_len, 0);
    }
    /* Nothing above selected anything. */
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x6D00);
    cf_simcard_free(c);
}

static void test_foreign_select_keeps_piv_selected_and_security_state(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 A4 04 00 08 A0 00 00 05 27 47 11 17"), 0x6A82);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x9000);
    assert_true(is_admin(c));
    cf_simcard_free(c);
}

static void test_reselect_keeps_pin_and_admin_state_like_yubikey5(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x9000);
    assert_true(is_admin(c));
    cf_simcard_free(c);
}

static void test_reset_clears_pin_admin_and_selection(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x6D00); /* PIV no longer selected */
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_false(is_admin(c));
    cf_simcard_free(c);
}

static void test_power_cycle_clears_pin_and_admin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    cf_simcard_power_off(c);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0); /* no answer: not powered */
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_false(is_admin(c));
    cf_simcard_free(c);
}

static void test_reset_drops_pending_challenge(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t enc[8], w[8], a2[64], chal[8] = {0};
    send_witness_request(c, 0x03, enc);
    assert_int_equal(tx_block(default_key, 24, 0, 0, enc, w), 0);
    size_t n = build_witness_answer(0x03, w, chal, a2);
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_raw(c, a2, n), 0x6982);
    assert_false(is_admin(c));
    cf_simcard_free(c);
}

/* ---- version, serial, metadata ---- */

static void test_instructions_before_select_answer_6d00(void **st)
{
    (void)st;
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", NULL, 1, &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x6D00);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x6D00);
    assert_int_equal(tx_hex(c, "00 F8 00 00 00"), 0x6D00);
    cf_simcard_free(c);
}

static void test_get_version_reports_5_4_3(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x9000);
    assert_true(tx_data_is("05 04 03"));
    assert_int_equal(tx_hex(c, "00 FD 00 00 03"), 0x9000); /* OpenSC's form */
    assert_true(tx_data_is("05 04 03"));
    assert_int_equal(tx_hex(c, "00 FD 00 00 01 00"), 0x6700);
    cf_simcard_free(c);
}

static void test_get_serial_is_the_serial_big_endian(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 F8 00 00 00"), 0x9000);
    assert_true(tx_data_is("01 02 03 04"));
    assert_int_equal(tx_hex(c, "00 F8 00 00 01 00"), 0x6700);
    cf_simcard_free(c);
}

static void test_metadata_pin_and_puk_report_tries_without_spending_one(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 F7 00 80 00"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 03"));
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 02"));
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000); /* reading cost nothing */
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 02"));
    assert_int_equal(tx_hex(c, "00 F7 00 81"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 03"));
    cf_simcard_free(c);
}

static void test_metadata_reports_changed_pin_as_not_default(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " " PIN_654321), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 00 06 02 03 03"));
    cf_simcard_free(c);
}

static void test_metadata_mgm_key_reports_algorithm_touch_and_default(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 F7 00 9B"), 0x9000);
    assert_true(tx_data_is("01 01 03 02 02 00 01 05 01 01"));
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 FF FF FE 13 08 9B 10 00 11 22 33 44 55 66 77 88 99 AA BB "
                               "CC DD EE FF"),
                     0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 9B"), 0x9000);
    assert_true(tx_data_is("01 01 08 02 02 00 02 05 01 00"));
    cf_simcard_free(c);
}

static void test_metadata_errors(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 F7 00 9A"), 0x6A82); /* empty key slot */
    assert_int_equal(tx_hex(c, "00 F7 00 85"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 F7 00 42"), 0x6A88);
    assert_int_equal(tx_hex(c, "00 F7 01 80"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 F7 00 80 01 00"), 0x6700);
    cf_simcard_free(c);
}

/* ---- VERIFY ---- */

static void test_verify_status_query_both_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x63C3); /* OpenSC: 4 bytes */
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3); /* ykpiv: 5 bytes */
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x9000);
    cf_simcard_free(c);
}

static void test_verify_status_query_reports_blocked(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    block_pin(c);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x6983);
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x6983);
    cf_simcard_free(c);
}

static void test_verify_wrong_pin_counts_down_then_blocks(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C1);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C0); /* the last try */
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x6983);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x6983); /* right PIN, too late */
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x6983);
    cf_simcard_free(c);
}

static void test_verify_right_pin_on_last_try_restores_counter(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C1);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 03"));
    cf_simcard_free(c);
}

static void test_verify_wrong_pin_clears_verified_state(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C2);
    cf_simcard_free(c);
}

static void test_verify_p1_ff_logs_out(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 FF 80"), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_int_equal(tx_hex(c, "00 20 FF 80 08 31 32 33 34 35 36 FF FF"), 0x6700);
    assert_int_equal(tx_hex(c, "00 20 FF 81"), 0x6A88);
    cf_simcard_free(c);
}

static void test_verify_bad_forms_cost_nothing(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 20 00 80 06 39 39 39 39 39 39"), 0x6700);
    assert_int_equal(tx_hex(c, "00 20 00 80 09 39 39 39 39 39 39 FF FF FF"), 0x6700);
    assert_int_equal(tx_hex(c, "00 20 01 80 08 39 39 39 39 39 39 FF FF"), 0x6A86);
    /* OpenSC's SO login: VERIFY of the PUK is not a PIV operation */
    assert_int_equal(tx_hex(c, "00 20 00 81 08 " PUK_12345678), 0x6A88);
    assert_int_equal(tx_hex(c, "00 20 00 00 08 " PIN_123456), 0x6A88);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_int_equal(tx_hex(c, "00 F7 00 81"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 03"));
    cf_simcard_free(c);
}

static void test_verify_wrong_pin_decrements_before_answer(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_string_equal(state("pin_tries"), "3");
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_string_equal(state("pin_tries"), "2");
    /* The file is the card: a card loaded from it has spent the try. */
    cf_simcard_t *again = NULL;
    char err[256];
    assert_int_equal(cf_simcard_load(path, err, sizeof(err), &again), CF_OK);
    cf_simcard_power_on(again);
    assert_int_equal(tx_hex(again, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(again, VERIFY_STATUS), 0x63C2);
    cf_simcard_free(again);
    cf_simcard_free(c);
}

static void test_verify_right_pin_writes_decrement_then_restore(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    /* two saves: the spent try, then the restored counter */
    assert_int_equal(cf_simcard_last_cost(c).nv_writes, 2);
    assert_string_equal(state("pin_tries"), "3");
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x9000);
    assert_int_equal(cf_simcard_last_cost(c).nv_writes, 0);
    cf_simcard_free(c);
}

static void test_verify_right_pin_refused_when_state_unwritable(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    break_state_dir();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x6581);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3); /* not verified, no try spent */
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x6581);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    repair_state_dir();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_string_equal(state("pin_tries"), "3");
    cf_simcard_free(c);
}

/* ---- CHANGE REFERENCE DATA, RESET RETRY COUNTER ---- */

static void test_change_pin_then_verify_new_pin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " " PIN_654321), 0x9000);
    assert_string_equal(state("pin"), "363534333231");
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x63C2);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 " PIN_654321), 0x9000);
    /* eight-byte PIN, no padding */
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_654321 " 31 32 33 34 35 36 37 38"), 0x9000);
    assert_string_equal(state("pin"), "3132333435363738");
    cf_simcard_free(c);
}

static void test_change_pin_wrong_old_pin_decrements_before_answer(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_654321 " " PIN_654321), 0x63C2);
    assert_string_equal(state("pin_tries"), "2");
    assert_string_equal(state("pin"), "313233343536");
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C2); /* and logged out */
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_654321 " " PIN_654321), 0x63C1);
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_654321 " " PIN_654321), 0x63C0);
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " " PIN_654321), 0x6983);
    assert_string_equal(state("pin"), "313233343536");
    cf_simcard_free(c);
}

static void test_change_pin_short_new_pin_refused_after_right_old_pin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " 31 32 33 34 35 FF FF FF"), 0x6A80);
    assert_string_equal(state("pin"), "313233343536");
    assert_string_equal(state("pin_tries"), "3"); /* the old PIN was right */
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " FF FF FF FF FF FF FF FF"), 0x6A80);
    cf_simcard_free(c);
}

static void test_change_reference_bad_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 24 00 80 08 " PIN_123456), 0x6700);
    assert_int_equal(tx_hex(c, "00 24 00 80"), 0x6700);
    assert_int_equal(tx_hex(c, "00 24 01 80 10 " PIN_123456 " " PIN_654321), 0x6A86);
    assert_int_equal(tx_hex(c, "00 24 00 9B 10 " PIN_123456 " " PIN_654321), 0x6A88);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    cf_simcard_free(c);
}

static void test_change_pin_refused_when_state_unwritable(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    break_state_dir();
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " " PIN_654321), 0x6581);
    repair_state_dir();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000); /* PIN unchanged */
    cf_simcard_free(c);
}

static void test_change_puk_three_wrong_block_the_puk(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    const char *wrong = "00 24 00 81 10 " PUK_WRONG " " PUK_WRONG;
    assert_int_equal(tx_hex(c, wrong), 0x63C2);
    assert_string_equal(state("puk_tries"), "2");
    assert_int_equal(tx_hex(c, wrong), 0x63C1);
    assert_int_equal(tx_hex(c, wrong), 0x63C0);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_12345678 " " PUK_WRONG), 0x6983);
    assert_string_equal(state("puk_tries"), "0");
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3); /* the PIN is untouched */
    cf_simcard_free(c);
}

static void test_change_puk_right_restores_counter_and_sets_puk(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_WRONG " " PUK_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_12345678 " " PUK_WRONG), 0x9000);
    assert_string_equal(state("puk"), "3939393939393939");
    assert_string_equal(state("puk_tries"), "3");
    cf_simcard_free(c);
}

static void test_unblock_pin_with_puk_sets_new_pin_and_counters(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    block_pin(c);
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_WRONG " " PIN_654321), 0x63C2);
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_12345678 " " PIN_654321), 0x9000);
    assert_string_equal(state("pin"), "363534333231");
    assert_string_equal(state("pin_tries"), "3");
    assert_string_equal(state("puk_tries"), "3");
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 " PIN_654321), 0x9000);
    cf_simcard_free(c);
}

static void test_unblock_wrong_puk_decrements_puk_before_answer(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_WRONG " " PIN_654321), 0x63C2);
    assert_string_equal(state("puk_tries"), "2");
    assert_string_equal(state("pin"), "313233343536");
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_WRONG " " PIN_654321), 0x63C1);
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_WRONG " " PIN_654321), 0x63C0);
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_12345678 " " PIN_654321), 0x6983);
    assert_string_equal(state("pin"), "313233343536");
    cf_simcard_free(c);
}

static void test_unblock_with_ff_bytes_spends_puk_tries_like_ykman(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    const char *ff = "00 2C 00 80 10 FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF";
    assert_int_equal(tx_hex(c, ff), 0x63C2);
    assert_int_equal(tx_hex(c, ff), 0x63C1);
    assert_int_equal(tx_hex(c, ff), 0x63C0);
    assert_int_equal(tx_hex(c, ff), 0x6983);
    cf_simcard_free(c);
}

static void test_unblock_with_invalid_new_pin_keeps_pin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_12345678 " 31 32 FF FF FF FF FF FF"), 0x6A80);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 81"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 03"));
    cf_simcard_free(c);
}

static void test_unblock_bad_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 2C 00 80 08 " PUK_12345678), 0x6700);
    assert_int_equal(tx_hex(c, "00 2C 00 81 10 " PUK_12345678 " " PIN_654321), 0x6A88);
    assert_int_equal(tx_hex(c, "00 2C 01 80 10 " PUK_12345678 " " PIN_654321), 0x6A86);
    cf_simcard_free(c);
}

static void test_unblock_refused_when_state_unwritable(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    block_pin(c);
    break_state_dir();
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_12345678 " " PIN_654321), 0x6581);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x6983);
    repair_state_dir();
    cf_simcard_free(c);
}

/* ---- 9B management key ---- */

static void test_reference_test_vector_holds_for_host_cipher(void **st)
{
    (void)st;
    uint8_t in[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, out[8];
    uint8_t want[8] = {0x6C, 0x5E, 0x94, 0xDC, 0xAD, 0xD3, 0x9F, 0x1D};
    assert_int_equal(tx_block(default_key, 24, 0, 1, in, out), 0);
    assert_memory_equal(out, want, 8);
}

static void test_mgm_auth_3des_as_yubico_piv_tool_frames_it(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_false(is_admin(c));
    assert_int_equal(mgm_auth(c, 0x03, default_key, 24), 0x9000);
    assert_true(is_admin(c));
    assert_int_equal(cf_simcard_last_cost(c).nv_writes, 1); /* the PUT DATA */
    cf_simcard_free(c);
}

static void test_mgm_auth_counts_crypto_operations(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t enc[8];
    send_witness_request(c, 0x03, enc);
    assert_int_equal(cf_simcard_last_cost(c).crypto_ops, 1);
    cf_simcard_free(c);
}

static void test_mgm_auth_aes_keys_of_each_size(void **st)
{
    (void)st;
    static const struct {
        uint8_t alg;
        size_t len;
    } algs[] = {{0x08, 16}, {0x0A, 24}, {0x0C, 32}};
    uint8_t key[32];
    for (size_t i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xA0 + i);
    for (size_t i = 0; i < 3; i++) {
        cf_simcard_t *c = new_card();
        auth_default(c);
        uint8_t apdu[64] = {0x00,
                            0xFF,
                            0xFF,
                            0xFF,
                            (uint8_t)(3 + algs[i].len),
                            algs[i].alg,
                            0x9B,
                            (uint8_t)algs[i].len};
        memcpy(apdu + 8, key, algs[i].len);
        assert_int_equal(tx_raw(c, apdu, 8 + algs[i].len), 0x9000);
        cf_simcard_reset(c);
        assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
        /* the old 3DES form is now refused */
        assert_int_equal(tx_hex(c, "00 87 03 9B 04 7C 02 80 00"), 0x6A80);
        assert_int_equal(mgm_auth(c, algs[i].alg, key, algs[i].len), 0x9000);
        assert_true(is_admin(c));
        cf_simcard_free(c);
    }
}

static void test_mgm_auth_wrong_witness_is_refused_and_costs_nothing(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t other_key[24];
    memset(other_key, 0x42, sizeof(other_key));
    assert_int_equal(mgm_auth(c, 0x03, other_key, 24), 0x6982);
    assert_int_equal(tx_len, 0);
    assert_false(is_admin(c));
    /* no counter on the management key: the right key still works */
    for (int i = 0; i < 5; i++)
        assert_int_equal(mgm_auth(c, 0x03, other_key, 24), 0x6982);
    assert_int_equal(mgm_auth(c, 0x03, default_key, 24), 0x9000);
    cf_simcard_free(c);
}

static void test_mgm_auth_failure_drops_previous_authentication(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    auth_default(c);
    uint8_t other_key[24];
    memset(other_key, 0x42, sizeof(other_key));
    assert_int_equal(mgm_auth(c, 0x03, other_key, 24), 0x6982);
    assert_false(is_admin(c));
    cf_simcard_free(c);
}

static void test_mgm_auth_replayed_response_is_rejected(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t enc[8], w[8], a2[64], chal[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    send_witness_request(c, 0x03, enc);
    assert_int_equal(tx_block(default_key, 24, 0, 0, enc, w), 0);
    size_t n = build_witness_answer(0x03, w, chal, a2);
    assert_int_equal(tx_raw(c, a2, n), 0x9000);
    /* the same answer again: the witness was used up */
    assert_int_equal(tx_raw(c, a2, n), 0x6982);
    assert_false(is_admin(c));
    /* nor does it answer a fresh witness */
    send_witness_request(c, 0x03, enc);
    assert_int_equal(tx_raw(c, a2, n), 0x6982);
    cf_simcard_free(c);
}

static void test_mgm_auth_answer_without_request_is_refused(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t a2[64], zero[8] = {0};
    size_t n = build_witness_answer(0x03, zero, zero, a2);
    assert_int_equal(tx_raw(c, a2, n), 0x6982);
    assert_int_equal(tx_hex(c, "00 87 03 9B 0C 7C 0A 82 08 00 00 00 00 00 00 00 00"), 0x6982);
    cf_simcard_free(c);
}

static void test_mgm_auth_other_command_drops_pending_witness(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t enc[8], w[8], a2[64], chal[8] = {0};
    send_witness_request(c, 0x03, enc);
    assert_int_equal(tx_block(default_key, 24, 0, 0, enc, w), 0);
    size_t n = build_witness_answer(0x03, w, chal, a2);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_int_equal(tx_raw(c, a2, n), 0x6982);
    cf_simcard_free(c);
}

static void test_mgm_auth_external_form(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 87 03 9B 04 7C 02 81 00"), 0x9000);
    assert_int_equal(tx_len, 12);
    assert_memory_equal(tx_resp, "\x7C\x0A\x81\x08", 4);
    uint8_t r[8], a[32] = {0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x82, 0x08};
    assert_int_equal(tx_block(default_key, 24, 0, 1, tx_resp + 4, r), 0);
    memcpy(a + 9, r, 8);
    assert_int_equal(tx_raw(c, a, 17), 0x9000);
    assert_int_equal(tx_len, 0);
    assert_true(is_admin(c));
    /* replay */
    assert_int_equal(tx_raw(c, a, 17), 0x6982);
    cf_simcard_free(c);
}

static void test_mgm_auth_external_wrong_response_is_refused(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 87 03 9B 04 7C 02 81 00"), 0x9000);
    uint8_t a[32] = {0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x82, 0x08};
    memcpy(a + 9, tx_resp + 4, 8); /* the challenge itself, not E_K of it */
    assert_int_equal(tx_raw(c, a, 17), 0x6982);
    assert_false(is_admin(c));
    cf_simcard_free(c);
}

static void test_mgm_auth_answer_of_the_other_form_is_refused(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    /* external challenge pending, mutual answer sent */
    assert_int_equal(tx_hex(c, "00 87 03 9B 04 7C 02 81 00"), 0x9000);
    uint8_t a2[64], w[8] = {0}, chal[8] = {0};
    memcpy(w, tx_resp + 4, 8);
    size_t n = build_witness_answer(0x03, w, chal, a2);
    assert_int_equal(tx_raw(c, a2, n), 0x6982);
    /* mutual witness pending, external answer sent */
    uint8_t enc[8], r[8], a[32] = {0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x82, 0x08};
    send_witness_request(c, 0x03, enc);
    assert_int_equal(tx_block(default_key, 24, 0, 0, enc, w), 0);
    assert_int_equal(tx_block(default_key, 24, 0, 1, w, r), 0);
    memcpy(a + 9, r, 8);
    assert_int_equal(tx_raw(c, a, 17), 0x6982);
    assert_false(is_admin(c));
    cf_simcard_free(c);
}

static void test_get_challenge_with_p1_00_returns_random(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 87 00 9B 04 7C 02 81 00 00"), 0x9000);
    assert_int_equal(tx_len, 12);
    assert_memory_equal(tx_resp, "\x7C\x0A\x81\x08", 4);
    uint8_t first[8];
    memcpy(first, tx_resp + 4, 8);
    assert_int_equal(tx_hex(c, "00 87 00 9B 04 7C 02 81 00 00"), 0x9000);
    assert_memory_not_equal(first, tx_resp + 4, 8);
    assert_int_equal(tx_hex(c, "00 87 00 9B 04 7C 02 80 00 00"), 0x6A80);
    cf_simcard_free(c);
}

static void test_mgm_auth_malformed_templates_answer_6a80(void **st)
{
    (void)st;
    static const char *const bad[] = {
        "00 87 03 9B 04 7D 02 80 00",             /* not 7C */
        "00 87 03 9B 05 7C 02 80 00 00",          /* trailing byte */
        "00 87 03 9B 04 7C 03 80 00",             /* 7C longer than data */
        "00 87 03 9B 06 7C 04 80 00 80 00",       /* 80 twice */
        "00 87 03 9B 04 7C 02 83 00",             /* unknown tag */
        "00 87 03 9B 04 7C 02 82 00",             /* empty response */
        "00 87 03 9B 08 7C 06 80 04 00 00 00 00", /* witness of 4 bytes */
        "00 87 03 9B 06 7C 04 80 00 81 00",       /* witness and challenge requests */
        "00 87 03 9B 02 7C 00",                   /* empty template */
        "00 87 07 9B 04 7C 02 80 00",             /* RSA algorithm for 9B */
        "00 87 08 9B 04 7C 02 80 00",             /* AES-128 while the key is 3DES */
        "00 87 03 9B",                            /* no data */
    };
    cf_simcard_t *c = new_card();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tx_hex(c, bad[i]), 0x6A80);
    assert_int_equal(tx_hex(c, "00 87 07 9A 0A 7C 08 82 00 81 04 01 02 03 04"), 0x6A88);
    cf_simcard_free(c);
}

/* ---- SET MANAGEMENT KEY ---- */

static void test_set_mgm_key_needs_admin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 FF FF FF 1B 03 9B 18 "
                               "0102030405060708 0102030405060708 "
                               "0102030405060709"),
                     0x6982);
    cf_simcard_free(c);
}

static void test_set_mgm_key_3des_as_yubico_piv_tool_sends_it(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    uint8_t key[24];
    for (size_t i = 0; i < 24; i++)
        key[i] = (uint8_t)(0x10 + i);
    assert_int_equal(tx_hex(c, "00 FF FF FF 1B 03 9B 18 101112131415161718191A1B1C1D1E1F"
                               "2021222324252627"),
                     0x9000);
    assert_string_equal(state("mgm_key"), "101112131415161718191A1B1C1D1E1F2021222324252627");
    assert_string_equal(state("mgm_alg"), "3des");
    assert_string_equal(state("mgm_touch"), "never");
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(mgm_auth(c, 0x03, default_key, 24), 0x6982);
    assert_int_equal(mgm_auth(c, 0x03, key, 24), 0x9000);
    cf_simcard_free(c);
}

static void test_set_mgm_key_bad_forms(void **st)
{
    (void)st;
    static const char *const bad[] = {
        "00 FF FF FF 1A 03 9B 18 0102030405060708 0102030405060708 01020304050607", /* short */
        "00 FF FF FF 1B 03 9A 18 0102030405060708 0102030405060708 0102030405060708",
        "00 FF FF FF 1B 03 9B 10 0102030405060708 0102030405060708 0102030405060708",
        "00 FF FF FF 1B 07 9B 18 0102030405060708 0102030405060708 0102030405060708",
        "00 FF FF FF 13 0A 9B 10 0102030405060708 0102030405060708", /* AES-192, 16 bytes */
        "00 FF FF FF 02 03 9B",
    };
    cf_simcard_t *c = new_card();
    auth_default(c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tx_hex(c, bad[i]), 0x6A80);
    assert_int_equal(tx_hex(c, "00 FF FF 00 1B 03 9B 18 0102030405060708 0102030405060708 "
                               "0102030405060708"),
                     0x6A86);
    assert_int_equal(tx_hex(c, "00 FF 00 FF 1B 03 9B 18 0102030405060708 0102030405060708 "
                               "0102030405060708"),
                     0x6A86);
    /* the key did not change */
    assert_int_equal(mgm_auth(c, 0x03, default_key, 24), 0x9000);
    cf_simcard_free(c);
}

static void test_set_mgm_key_refused_when_state_unwritable(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    break_state_dir();
    assert_int_equal(tx_hex(c, "00 FF FF FF 1B 03 9B 18 101112131415161718191A1B1C1D1E1F"
                               "2021222324252627"),
                     0x6581);
    assert_int_equal(mgm_auth(c, 0x03, default_key, 24), 0x9000);
    repair_state_dir();
    cf_simcard_free(c);
}

/* ---- SET PIN RETRIES ---- */

static void test_set_pin_retries_needs_admin_and_pin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 FA 09 07 00"), 0x6982);
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 FA 09 07 00"), 0x6982);
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 FA 09 07 00"), 0x6982);
    cf_simcard_free(c);
}

static void test_set_pin_retries_sets_maxima_and_resets_pin_and_puk(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " " PIN_654321), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 " PIN_654321), 0x9000);
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 FA 09 07 00"), 0x9000);
    assert_string_equal(state("pin_max"), "9");
    assert_string_equal(state("puk_max"), "7");
    assert_string_equal(state("pin"), "313233343536");
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C8);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_WRONG " " PUK_WRONG), 0x63C6);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 09 09"));
    cf_simcard_free(c);
}

static void test_set_pin_retries_caps_reported_tries_at_15(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 FA FF 20 00"), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63CF);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 FF FE"));
    cf_simcard_free(c);
}

static void test_set_pin_retries_bad_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 FA 00 03 00"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 FA 03 00 00"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 FA 03 03 01 00"), 0x6700);
    cf_simcard_free(c);
}

static void test_set_pin_retries_refused_when_state_unwritable(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    break_state_dir();
    assert_int_equal(tx_hex(c, "00 FA 09 07 00"), 0x6581);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 03"));
    repair_state_dir();
    cf_simcard_free(c);
}

/* ---- RESET ---- */

static void test_reset_refused_unless_pin_and_puk_both_blocked(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 FB 00 00 00"), 0x6985);
    block_pin(c);
    assert_int_equal(tx_hex(c, "00 FB 00 00 00"), 0x6985);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_WRONG " " PUK_WRONG), 0x63C2);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_WRONG " " PUK_WRONG), 0x63C1);
    assert_int_equal(tx_hex(c, "00 FB 00 00 00"), 0x6985); /* one PUK try left */
    cf_simcard_free(c);

    c = new_card();
    block_puk(c);
    assert_int_equal(tx_hex(c, "00 FB 00 00 00"), 0x6985); /* PUK only */
    cf_simcard_free(c);
}

static void test_reset_restores_factory_state_keeping_attestation(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x9000);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F FF 01 53 03 30 01 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 FF FF FE 13 08 9B 10 00 11 22 33 44 55 66 77 88 99 AA BB "
                               "CC DD EE FF"),
                     0x9000);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 FA 05 04 00"), 0x9000);
    block_pin(c);
    block_puk(c);
    assert_int_equal(tx_hex(c, "00 FB 00 00 00"), 0x9000);
    assert_int_equal(tx_len, 0);
    assert_false(is_admin(c)); /* reset logs out */
    assert_string_equal(state("pin"), "313233343536");
    assert_string_equal(state("puk"), "3132333435363738");
    assert_string_equal(state("pin_tries"), "3");
    assert_string_equal(state("pin_max"), "3");
    assert_string_equal(state("puk_tries"), "3");
    assert_string_equal(state("mgm_alg"), "3des");
    assert_string_equal(state("mgm_key"), "010203040506070801020304050607080102030405060708");
    assert_string_equal(state("mgm_touch"), "never");
    assert_null(state("obj_5FC102"));
    assert_string_equal(state("obj_5FFF01"), "300100");
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x6A82);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    auth_default(c);
    cf_simcard_free(c);
}

static void test_reset_refused_when_state_unwritable(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x9000);
    block_pin(c);
    block_puk(c);
    break_state_dir();
    assert_int_equal(tx_hex(c, "00 FB 00 00 00"), 0x6581);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x6983);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x9000);
    repair_state_dir();
    cf_simcard_free(c);
}

static void test_reset_bad_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    block_pin(c);
    block_puk(c);
    assert_int_equal(tx_hex(c, "00 FB 01 00 00"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 FB 00 00 01 00"), 0x6700);
    cf_simcard_free(c);
}

/* ---- GET DATA, PUT DATA ---- */

static void test_discovery_object_as_opensc_reads_it(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
    assert_true(tx_data_is("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00"));
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E"), 0x9000); /* no Le */
    assert_int_equal(tx_len, 20);
    cf_simcard_free(c);
}

static void test_get_data_absent_objects_answer_6a82(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 07"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0C 08"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F FF 00"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 12 34 56"), 0x6A82); /* no such id */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 04 5C 02 7F 61"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7F"), 0x6A82);
    cf_simcard_free(c);
}

static void test_get_data_bad_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 CB 3F 00 05 5C 03 5F C1 02"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 CB 00 FF 05 5C 03 5F C1 02"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5D 03 5F C1 02"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 06 5C 04 5F C1 02 00"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 02 5C 00"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 06 5C 03 5F C1 02 00"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 04 5C 03 5F C1"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 00"), 0x6A80);
    cf_simcard_free(c);
}

static void test_pin_protected_objects_need_the_pin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0B 5C 03 5F C1 09 53 04 88 02 89 00"), 0x9000);
    static const char *const ids[] = {"5F C1 03", "5F C1 08", "5F C1 09", "5F C1 21"};
    char apdu[64];
    for (size_t i = 0; i < 4; i++) {
        snprintf(apdu, sizeof(apdu), "00 CB 3F FF 05 5C 03 %s", ids[i]);
        assert_int_equal(tx_hex(c, apdu), 0x6982);
    }
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 09"), 0x9000);
    assert_true(tx_data_is("53 04 88 02 89 00"));
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 03"), 0x6A82);
    cf_simcard_free(c);
}

static void test_put_data_needs_admin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x6982);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000); /* the PIN is not enough */
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x6982);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x6A82);
    cf_simcard_free(c);
}

static void test_put_data_of_chuid_ccc_and_key_history_needs_admin(void **st)
{
    (void)st;
    static const char *const puts[] = {
        "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03",                /* CHUID */
        "00 DB 3F FF 0A 5C 03 5F C1 07 53 03 F0 01 00",                /* CCC */
        "00 DB 3F FF 0F 5C 03 5F C1 0C 53 08 C1 01 00 C2 01 00 FE 00", /* key history */
    };
    for (int yk = 0; yk < 2; yk++) {
        cf_simcard_t *c = NULL;
        assert_int_equal(cf_simcard_new(yk ? "yubikey" : "piv", NULL, SERIAL, &c), CF_OK);
        cf_simcard_power_on(c);
        assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
        assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000); /* the PIN is not enough */
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(tx_hex(c, puts[i]), 0x6982);
        auth_default(c);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(tx_hex(c, puts[i]), 0x9000);
        assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 07"), 0x9000);
        assert_true(tx_data_is("53 03 F0 01 00"));
        cf_simcard_free(c);
    }
}

static void test_key_history_counts_the_retired_certificates_on_a_piv_card(void **st)
{
    (void)st;
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("piv", NULL, SERIAL, &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    /* SP 800-73-4: C1 keysWithOnCardCerts, C2 keysWithOffCardCerts, FE */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0C"), 0x9000);
    assert_true(tx_data_is("53 08 C1 01 00 C2 01 00 FE 00"));
    auth_default(c);
    /* certificates for 82 and 83, then one for 85 after a gap: 2 count */
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 0D 53 03 70 01 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 0E 53 03 70 01 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 10 53 03 70 01 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0C"), 0x9000);
    assert_true(tx_data_is("53 08 C1 01 02 C2 01 00 FE 00"));
    /* a written key history is the card's from then on */
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0F 5C 03 5F C1 0C 53 08 C1 01 01 C2 01 00 FE 00"),
                     0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0C"), 0x9000);
    assert_true(tx_data_is("53 08 C1 01 01 C2 01 00 FE 00"));
    cf_simcard_free(c);

    /* the yubikey card has none, as a real YubiKey */
    c = new_card();
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0C"), 0x6A82);
    cf_simcard_free(c);
}

static void test_put_data_writes_replaces_and_deletes(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x9000);
    assert_int_equal(tx_len, 0); /* ykpiv gives PUT DATA no room for data */
    assert_string_equal(state("obj_5FC102"), "010203");
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x9000);
    assert_true(tx_data_is("53 03 01 02 03"));
    assert_int_equal(tx_hex(c, "00 DB 3F FF 09 5C 03 5F C1 02 53 02 AA BB"), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x9000);
    assert_true(tx_data_is("53 02 AA BB"));
    /* delete-certificate's form */
    assert_int_equal(tx_hex(c, "00 DB 3F FF 07 5C 03 5F C1 02 53 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x6A82);
    assert_null(state("obj_5FC102"));
    assert_int_equal(tx_hex(c, "00 DB 3F FF 07 5C 03 5F C1 02 53 00"), 0x9000);
    cf_simcard_free(c);
}

static void test_put_data_bad_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    auth_default(c);
    static const char *const bad[] = {
        "00 DB 3F FF 08 5C 01 7E 53 03 01 02 03",       /* discovery is read-only */
        "00 DB 3F FF 0A 5C 03 12 34 56 53 03 01 02 03", /* no such object */
        "00 DB 3F FF 0A 5C 03 5F C1 02 54 03 01 02 03", /* not 53 */
        "00 DB 3F FF 0A 5C 03 5F C1 02 53 04 01 02 03", /* 53 overruns */
        "00 DB 3F FF 0A 5C 03 5F C1 02 53 02 01 02 03", /* trailing byte */
        "00 DB 3F FF 05 5C 03 5F C1 02",                /* no 53 */
        "00 DB 3F FF 05 53 03 01 02 03",                /* no 5C */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tx_hex(c, bad[i]), 0x6A80);
    assert_int_equal(tx_hex(c, "00 DB 3F 00 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x6A86);
    cf_simcard_free(c);
}

static void put_big(cf_simcard_t *c, uint32_t id, size_t vlen, uint16_t want_last)
{
    static uint8_t data[8192], apdu[300];
    size_t n = 0;
    data[n++] = 0x5C;
    data[n++] = 0x03;
    data[n++] = (uint8_t)(id >> 16);
    data[n++] = (uint8_t)(id >> 8);
    data[n++] = (uint8_t)id;
    data[n++] = 0x53;
    data[n++] = 0x82;
    data[n++] = (uint8_t)(vlen >> 8);
    data[n++] = (uint8_t)vlen;
    for (size_t i = 0; i < vlen; i++)
        data[n++] = (uint8_t)(i * 7 + 3);
    /* ykpiv and OpenSC: 255-byte pieces, CLA 10 on all but the last */
    for (size_t off = 0; off < n; off += 255) {
        size_t len = n - off > 255 ? 255 : n - off;
        int last = off + len == n;
        apdu[0] = last ? 0x00 : 0x10;
        apdu[1] = 0xDB;
        apdu[2] = 0x3F;
        apdu[3] = 0xFF;
        apdu[4] = (uint8_t)len;
        memcpy(apdu + 5, data + off, len);
        uint16_t sw = tx_raw(c, apdu, 5 + len);
        assert_int_equal(sw, last ? want_last : 0x9000);
        assert_int_equal(tx_len, 0);
    }
}

static void check_big(const uint8_t *got, size_t len, size_t vlen)
{
    assert_int_equal(len, vlen + 4);
    assert_int_equal(got[0], 0x53);
    assert_int_equal(got[1], 0x82);
    assert_int_equal((got[2] << 8) | got[3], vlen);
    for (size_t i = 0; i < vlen; i++)
        assert_int_equal(got[4 + i], (uint8_t)(i * 7 + 3));
}

static void test_chained_2k_certificate_round_trip_ykpiv_style(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    auth_default(c);
    put_big(c, 0x5FC105, 2048, 0x9000);
    /* ykpiv: no Le, then 00 C0 00 00 00 while SW1 = 61 */
    static uint8_t got[4096];
    size_t len = 0;
    uint16_t sw = tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 05");
    for (;;) {
        assert_true(tx_len <= 256);
        memcpy(got + len, tx_resp, tx_len);
        len += tx_len;
        if ((sw >> 8) != 0x61)
            break;
        assert_int_equal(tx_len, 256);
        sw = tx_hex(c, "00 C0 00 00 00");
    }
    assert_int_equal(sw, 0x9000);
    check_big(got, len, 2048);
    cf_simcard_free(c);
}

static void test_chained_certificate_read_opensc_style(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    auth_default(c);
    put_big(c, 0x5FC10A, 443, 0x9000); /* 447 bytes with the 53 header */
    /* first 8 bytes to learn the length */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0A 08"), 0x6100);
    assert_int_equal(tx_len, 8);
    /* then the whole object: Le 00 -> 256 + 61BF, C0 with Le BF -> the rest */
    static uint8_t got[1024];
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0A 00"), 0x61BF);
    assert_int_equal(tx_len, 256);
    memcpy(got, tx_resp, 256);
    assert_int_equal(tx_hex(c, "00 C0 00 00 BF"), 0x9000);
    assert_int_equal(tx_len, 0xBF);
    memcpy(got + 256, tx_resp, 0xBF);
    check_big(got, 256 + 0xBF, 443);
    cf_simcard_free(c);
}

static void test_put_data_largest_object_fits_and_one_more_byte_does_not(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    put_big(c, 0x5FC101, 3068, 0x9000);
    assert_non_null(state("obj_5FC101"));
    assert_int_equal(strlen(state("obj_5FC101")), 2 * 3068);
    put_big(c, 0x5FC10B, 3069, 0x6A84);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0B"), 0x6A82);
    cf_simcard_free(c);
}

static void test_put_data_refused_when_state_unwritable_keeps_old_object(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x9000);
    break_state_dir();
    assert_int_equal(tx_hex(c, "00 DB 3F FF 09 5C 03 5F C1 02 53 02 AA BB"), 0x6581);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 07 5C 03 5F C1 02 53 00"), 0x6581);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 09 5C 03 5F C1 05 53 02 AA BB"), 0x6581);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x9000);
    assert_true(tx_data_is("53 03 01 02 03"));
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 05"), 0x6A82);
    repair_state_dir();
    cf_simcard_free(c);
}

/* ---- the clients' sequences ---- */

static void test_yubico_piv_tool_connect_sequence(void **st)
{
    (void)st;
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", NULL, 12345678, &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_true(tx_len <= 253);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x9000);
    assert_true(tx_data_is("05 04 03"));
    assert_int_equal(tx_hex(c, "00 F8 00 00 00"), 0x9000);
    assert_true(tx_data_is("00 BC 61 4E"));
    cf_simcard_free(c);
}

static void test_yubico_piv_tool_set_chuid_then_status(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    auth_default(c);
    const char *chuid = "30 19 D4 E7 39 DA 73 9C ED 39 CE 73 9D 83 68 58 21 08 42 10 84 21 C8 "
                        "42 10 C3 EB 34 10 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 35 "
                        "08 32 30 33 30 30 31 30 31 3E 00 FE 00";
    char apdu[512];
    snprintf(apdu, sizeof(apdu), "00 DB 3F FF 42 5C 03 5F C1 02 53 3B %s", chuid);
    assert_int_equal(tx_hex(c, apdu), 0x9000);
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x9000);
    char want[512];
    snprintf(want, sizeof(want), "53 3B %s", chuid);
    assert_true(tx_data_is(want));
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 07"), 0x6A82);
    for (unsigned id = 0x5FC10D; id <= 0x5FC120; id++) {
        snprintf(apdu, sizeof(apdu), "00 CB 3F FF 05 5C 03 %02X %02X %02X", id >> 16,
                 (id >> 8) & 0xFF, id & 0xFF);
        assert_int_equal(tx_hex(c, apdu), 0x6A82);
    }
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    cf_simcard_free(c);
}

static void test_opensc_match_sequence_reproduces_recorded_trace(void **st)
{
    (void)st;
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", NULL, 1, &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, "00 A4 04 00 07 62 76 01 FF 00 00 00"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 A4 04 00 06 A0 00 00 00 01 01"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 CA DF 30 05"), 0x6D00);
    /* M1 */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x6D00);
    /* M2 */
    assert_int_equal(tx_hex(c, "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00"), 0x9000);
    assert_true(tx_data_is("61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08"));
    /* M3: Le honoured */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x610C);
    assert_true(tx_data_is("7E 12 4F 0B A0 00 00 03"));
    /* M4 */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 14"), 0x9000);
    assert_true(tx_data_is("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00"));
    /* I2, I3 */
    assert_int_equal(tx_hex(c, "00 FD 00 00 03"), 0x9000);
    assert_true(tx_data_is("05 04 03"));
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 0C 08"), 0x6A82);
    cf_simcard_free(c);
}

static void test_pkcs11_login_change_and_unlock_sequence(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x63C3);                /* C_GetTokenInfo */
    assert_int_equal(tx_hex(c, "00 20 00 80 08 " PIN_123456), 0x9000); /* C_Login */
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " " PIN_654321), 0x9000);
    /* --unlock-pin with the default config: CHANGE REFERENCE DATA with the PUK */
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PUK_12345678 " " PIN_123456), 0x63C2);
    /* with user_pin_unblock_style = set_pin_in_unlogged_session */
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 " PUK_12345678 " " PIN_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x63C3);
    cf_simcard_free(c);
}

/* ---- general error paths ---- */

static void test_malformed_apdus_answer_6700_and_card_survives(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    static const char *const bad[] = {
        "",
        "00",
        "00 20 00",
        "00 20 00 80 08 31 32",       /* Lc 8, two bytes */
        "00 20 00 80 02 31 32 33 34", /* Lc 2, four bytes */
        "00 CB 3F FF 00 00 00 00",    /* extended with Lc 0 */
        "00 CB 3F FF 00 00 05 5C 03", /* extended, short data */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tx_hex(c, bad[i]), 0x6700);
        assert_int_equal(tx_len, 0);
    }
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    cf_simcard_free(c);
}

static void test_unknown_instruction_and_class(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    /* key generation exists now, behind the management key */
    assert_int_equal(tx_hex(c, "00 47 00 9A 05 AC 03 80 01 11"), 0x6982);
    assert_int_equal(tx_hex(c, "00 B0 00 00 00"), 0x6D00);
    assert_int_equal(tx_hex(c, "80 FD 00 00 00"), 0x6E00);
    assert_int_equal(tx_hex(c, "04 FD 00 00 00"), 0x6E00);
    assert_int_equal(tx_hex(c, "01 A4 04 00 05 A0 00 00 03 08"), 0x6E00);
    cf_simcard_free(c);
}

static void test_get_response_without_pending_answer_6985(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 C0 00 00 00"), 0x6985);
    cf_simcard_free(c);
}

static void test_extended_apdus_are_understood(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 20 00 80 00 00 08 31 32 33 34 35 36 FF FF"), 0x9000);
    auth_default(c);
    put_big(c, 0x5FC105, 1000, 0x9000);
    /* an extended Le gets the whole object at once */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 00 00 05 5C 03 5F C1 05 00 00"), 0x9000);
    check_big(tx_resp, tx_len, 1000);
    cf_simcard_free(c);
}

/* ---- state file ---- */

static void test_state_file_keys_of_factory_card(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    assert_string_equal(state("type"), "yubikey");
    assert_string_equal(state("factory"), "default");
    assert_string_equal(state("serial"), "16909060");
    assert_string_equal(state("pin"), "313233343536");
    assert_string_equal(state("puk"), "3132333435363738");
    assert_string_equal(state("pin_max"), "3");
    assert_string_equal(state("pin_tries"), "3");
    assert_string_equal(state("puk_max"), "3");
    assert_string_equal(state("puk_tries"), "3");
    assert_string_equal(state("mgm_alg"), "3des");
    assert_string_equal(state("mgm_key"), "010203040506070801020304050607080102030405060708");
    assert_string_equal(state("mgm_touch"), "never");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    cf_simcard_free(c);
}

static void test_state_file_round_trip_keeps_every_item(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_with_state();
    auth_default(c);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 0A 5C 03 5F C1 02 53 03 01 02 03"), 0x9000);
    put_big(c, 0x5FC105, 2000, 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 FA 06 05 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 24 00 80 10 " PIN_123456 " " PIN_654321), 0x9000);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_12345678 " " PUK_WRONG), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C5);
    assert_int_equal(tx_hex(c, "00 FF FF FE 23 0C 9B 20 000102030405060708090A0B0C0D0E0F"
                               "101112131415161718191A1B1C1D1E1F"),
                     0x9000);
    cf_simcard_free(c);

    char err[256];
    assert_int_equal(cf_simcard_load(path, err, sizeof(err), &c), CF_OK);
    assert_string_equal(cf_simcard_type(c), "yubikey");
    assert_int_equal(cf_simcard_serial(c), SERIAL);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 00 06 02 06 05"));
    assert_int_equal(tx_hex(c, "00 F7 00 81"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 00 06 02 05 05"));
    assert_int_equal(tx_hex(c, "00 F7 00 9B"), 0x9000);
    assert_true(tx_data_is("01 01 0C 02 02 00 02 05 01 00"));
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x9000);
    assert_true(tx_data_is("53 03 01 02 03"));
    assert_int_equal(tx_hex(c, "00 CB 3F FF 00 00 05 5C 03 5F C1 05 00 00"), 0x9000);
    check_big(tx_resp, tx_len, 2000);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 " PIN_654321), 0x9000);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 " PUK_WRONG " " PUK_WRONG), 0x9000);
    uint8_t key[32];
    for (size_t i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    assert_int_equal(mgm_auth(c, 0x0C, key, 32), 0x9000);
    cf_simcard_free(c);
}

static void expect_load_error(const char *body, const char *fragment)
{
    char text[512], p[128], err[256] = "";
    snprintf(text, sizeof(text), "type=piv\nfactory=default\nserial=7\n%s", body);
    tx_write_file(dir, "bad", text, p, sizeof(p));
    cf_simcard_t *c = (cf_simcard_t *)1;
    assert_int_equal(cf_simcard_load(p, err, sizeof(err), &c), CF_ERR_PARSE);
    assert_null(c);
    if (strstr(err, fragment) == NULL)
        fail_msg("load error '%s' does not mention '%s'", err, fragment);
}

static void test_load_rejects_bad_values_with_a_message(void **st)
{
    (void)st;
    expect_load_error("pin=3132333435\n", "pin: expected 6 to 8 bytes");
    expect_load_error("pin=313233343536373839\n", "pin: expected 6 to 8 bytes");
    expect_load_error("pin=31323334353637FF\n", "not ending in FF");
    expect_load_error("puk=zz\n", "puk: expected");
    expect_load_error("pin_tries=256\n", "pin_tries: expected a number from 0 to 255");
    expect_load_error("pin_max=0\n", "pin_max: expected a number from 1 to 255");
    expect_load_error("puk_tries=-1\n", "puk_tries: expected");
    expect_load_error("puk_max=3x\n", "puk_max: expected");
    expect_load_error("pin_tries=4\n", "pin_tries 4 is above pin_max 3");
    expect_load_error("puk_max=2\n", "puk_tries 3 is above puk_max 2");
    expect_load_error("mgm_alg=des\n", "mgm_alg: expected 3des");
    expect_load_error("mgm_key=0102\n", "mgm_key: expected 16, 24 or 32 bytes");
    expect_load_error("mgm_alg=aes128\n", "mgm_key is 24 bytes, mgm_alg aes128 needs 16");
    expect_load_error("mgm_touch=sometimes\n", "mgm_touch: expected never or always");
    expect_load_error("obj_123456=00\n", "no such data object");
    expect_load_error("obj_5FC1=00\n", "no such data object");
    expect_load_error("obj_5FC102=\n", "expected 1 to 3068 bytes");
    expect_load_error("obj_5FC102=0\n", "expected 1 to 3068 bytes");
    expect_load_error("obj_5FC102=0G\n", "expected 1 to 3068 bytes");
    expect_load_error("colour=blue\n", "colour: unknown key");
}

static void test_load_accepts_hand_written_file_in_any_order(void **st)
{
    (void)st;
    char p[128], err[256] = "";
    tx_write_file(dir, "other",
                  "type=piv\nserial=9\n# a comment\n\nmgm_key=000102030405060708090A0B0C0D0E0F\n"
                  "mgm_alg=aes128\npin_tries=5\npin_max=5\nobj_5fc102=aabb\n",
                  p, sizeof(p));
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_load(p, err, sizeof(err), &c), CF_OK);
    assert_string_equal(cf_simcard_factory(c), "default");
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C5);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02"), 0x9000);
    assert_true(tx_data_is("53 02 AA BB"));
    uint8_t key[16];
    for (size_t i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    assert_int_equal(mgm_auth(c, 0x08, key, 16), 0x9000);
    cf_simcard_free(c);
}

#define T(f) cmocka_unit_test(f)
#define TS(f) cmocka_unit_test_setup_teardown(f, with_dir, without_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_data_of_chuid_ccc_and_key_history_needs_admin),
        T(test_key_history_counts_the_retired_certificates_on_a_piv_card),
        T(test_atr_is_yubikey5_usb_offering_t1),
        T(test_unknown_factory_state_is_not_found),
        T(test_select_full_and_truncated_aids_answer_the_apt),
        T(test_select_with_p2_0c_returns_no_data),
        T(test_foreign_selects_answer_6a82_never_9000),
        T(test_foreign_select_keeps_piv_selected_and_security_state),
        T(test_reselect_keeps_pin_and_admin_state_like_yubikey5),
        T(test_reset_clears_pin_admin_and_selection),
        T(test_power_cycle_clears_pin_and_admin),
        T(test_reset_drops_pending_challenge),
        T(test_instructions_before_select_answer_6d00),
        T(test_get_version_reports_5_4_3),
        T(test_get_serial_is_the_serial_big_endian),
        T(test_metadata_pin_and_puk_report_tries_without_spending_one),
        T(test_metadata_reports_changed_pin_as_not_default),
        T(test_metadata_mgm_key_reports_algorithm_touch_and_default),
        T(test_metadata_errors),
        T(test_verify_status_query_both_forms),
        T(test_verify_status_query_reports_blocked),
        T(test_verify_wrong_pin_counts_down_then_blocks),
        T(test_verify_right_pin_on_last_try_restores_counter),
        T(test_verify_wrong_pin_clears_verified_state),
        T(test_verify_p1_ff_logs_out),
        T(test_verify_bad_forms_cost_nothing),
        TS(test_verify_wrong_pin_decrements_before_answer),
        TS(test_verify_right_pin_writes_decrement_then_restore),
        TS(test_verify_right_pin_refused_when_state_unwritable),
        TS(test_change_pin_then_verify_new_pin),
        TS(test_change_pin_wrong_old_pin_decrements_before_answer),
        TS(test_change_pin_short_new_pin_refused_after_right_old_pin),
        T(test_change_reference_bad_forms),
        TS(test_change_pin_refused_when_state_unwritable),
        TS(test_change_puk_three_wrong_block_the_puk),
        TS(test_change_puk_right_restores_counter_and_sets_puk),
        TS(test_unblock_pin_with_puk_sets_new_pin_and_counters),
        TS(test_unblock_wrong_puk_decrements_puk_before_answer),
        T(test_unblock_with_ff_bytes_spends_puk_tries_like_ykman),
        T(test_unblock_with_invalid_new_pin_keeps_pin),
        T(test_unblock_bad_forms),
        TS(test_unblock_refused_when_state_unwritable),
        T(test_reference_test_vector_holds_for_host_cipher),
        T(test_mgm_auth_3des_as_yubico_piv_tool_frames_it),
        T(test_mgm_auth_counts_crypto_operations),
        T(test_mgm_auth_aes_keys_of_each_size),
        T(test_mgm_auth_wrong_witness_is_refused_and_costs_nothing),
        T(test_mgm_auth_failure_drops_previous_authentication),
        T(test_mgm_auth_replayed_response_is_rejected),
        T(test_mgm_auth_answer_without_request_is_refused),
        T(test_mgm_auth_other_command_drops_pending_witness),
        T(test_mgm_auth_external_form),
        T(test_mgm_auth_external_wrong_response_is_refused),
        T(test_mgm_auth_answer_of_the_other_form_is_refused),
        T(test_get_challenge_with_p1_00_returns_random),
        T(test_mgm_auth_malformed_templates_answer_6a80),
        T(test_set_mgm_key_needs_admin),
        TS(test_set_mgm_key_3des_as_yubico_piv_tool_sends_it),
        T(test_set_mgm_key_bad_forms),
        TS(test_set_mgm_key_refused_when_state_unwritable),
        T(test_set_pin_retries_needs_admin_and_pin),
        TS(test_set_pin_retries_sets_maxima_and_resets_pin_and_puk),
        T(test_set_pin_retries_caps_reported_tries_at_15),
        T(test_set_pin_retries_bad_forms),
        TS(test_set_pin_retries_refused_when_state_unwritable),
        T(test_reset_refused_unless_pin_and_puk_both_blocked),
        TS(test_reset_restores_factory_state_keeping_attestation),
        TS(test_reset_refused_when_state_unwritable),
        T(test_reset_bad_forms),
        T(test_discovery_object_as_opensc_reads_it),
        T(test_get_data_absent_objects_answer_6a82),
        T(test_get_data_bad_forms),
        T(test_pin_protected_objects_need_the_pin),
        T(test_put_data_needs_admin),
        TS(test_put_data_writes_replaces_and_deletes),
        T(test_put_data_bad_forms),
        T(test_chained_2k_certificate_round_trip_ykpiv_style),
        T(test_chained_certificate_read_opensc_style),
        TS(test_put_data_largest_object_fits_and_one_more_byte_does_not),
        TS(test_put_data_refused_when_state_unwritable_keeps_old_object),
        T(test_yubico_piv_tool_connect_sequence),
        T(test_yubico_piv_tool_set_chuid_then_status),
        T(test_opensc_match_sequence_reproduces_recorded_trace),
        T(test_pkcs11_login_change_and_unlock_sequence),
        T(test_malformed_apdus_answer_6700_and_card_survives),
        T(test_unknown_instruction_and_class),
        T(test_get_response_without_pending_answer_6985),
        T(test_extended_apdus_are_understood),
        TS(test_state_file_keys_of_factory_card),
        TS(test_state_file_round_trip_keeps_every_item),
        TS(test_load_rejects_bad_values_with_a_message),
        TS(test_load_accepts_hand_written_file_in_any_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
