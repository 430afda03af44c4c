/*
 * test_card_gids.c - every card operation on the virtual GIDS card (Gemalto
 * factory values) through the in-process reader, checked by the card's own
 * state file and by fresh sessions; the blank factory card, which is not
 * personalizable until initialised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <cardforge/keys.h>

#include "card_fixture.h"

#define ZERO_KEY "000000000000000000000000000000000000000000000000"
#define NEW_KEY "0123456789ABCDEFFEDCBA98765432100011223344556677"
#define KEY2 "A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8C1C2C3C4C5C6C7C8"

/* A gemalto card: "gids" counts admin-key tries unseen, as GIDS cards do;
 * "gids+admin-counter" shows the counter (7F7A, 63Cx), which the tests of
 * the card layer's counting need. */
static void open_gids(struct fx *f, const char *type, const char *profile)
{
    cf_err_t err = fx_open(f, type, "gemalto", 1234567890, profile);
    if (err != CF_OK)
        fprintf(stderr, "%s\n", f->errbuf);
    assert_int_equal(err, CF_OK);
}

static void test_open_identifies_gids_and_reads_cardid(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids", NULL);
    /* A GIDS card that cannot report its admin tries (GIDS has no way):
     * gids. Factory values cannot be shown by a card, so gids-gemalto is
     * never chosen by itself. */
    assert_string_equal(cf_profile_name(cf_card_profile(f.card)), "gids");
    /* CARDID: "CFGIDS" 00 00 + the serial in BCD, as 32 lowercase hex digits */
    assert_string_equal(cf_card_serial(f.card), "43464749445300000000001234567890");
    assert_string_equal(cf_card_version(f.card), "");
    fx_close(&f);

    /* the base profile by name */
    open_gids(&f, "gids", "gids");
    assert_string_equal(cf_profile_name(cf_card_profile(f.card)), "gids");
    assert_null(cf_profile_factory(cf_card_profile(f.card), CF_CRED_PIN));
    fx_close(&f);

    /* a card that reports its admin tries: its probe proves gids-counter */
    open_gids(&f, "gids+admin-counter", NULL);
    assert_string_equal(cf_profile_name(cf_card_profile(f.card)), "gids-counter");
    fx_close(&f);

    /* the factory values' profile by name */
    open_gids(&f, "gids", "gids-gemalto");
    assert_string_equal(cf_profile_name(cf_card_profile(f.card)), "gids-gemalto");
    assert_non_null(cf_profile_factory(cf_card_profile(f.card), CF_CRED_PIN));
    fx_close(&f);
}

static void test_blank_card_is_identified_but_not_opened(void **state)
{
    (void)state;
    struct fx f;
    assert_int_equal(fx_open(&f, "gids", "blank", 5, NULL), CF_ERR_CARD_STATUS);
    assert_null(f.card);
    assert_non_null(strstr(f.errbuf, "reading the serial of the gids"));
    assert_non_null(strstr(f.errbuf, "6A82"));
    fx_close(&f);
}

static void test_tries_pin_and_admin_known_no_puk(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids+admin-counter", NULL);
    cf_tries_t t = fx_tries(&f, CF_CRED_PIN);
    assert_int_equal(t.kind, CF_TRIES_KNOWN);
    assert_int_equal(t.left, 5);
    assert_int_equal(t.max, 5);
    t = fx_tries(&f, CF_CRED_ADMIN);
    assert_int_equal(t.kind, CF_TRIES_KNOWN);
    assert_int_equal(t.left, 5);
    assert_int_equal(t.max, 5);
    assert_int_equal(cf_card_tries(f.card, CF_CRED_PUK, &t), CF_ERR_UNSUPPORTED);
    assert_non_null(strstr(cf_card_errmsg(f.card), "has no PUK"));
    /* the PUK operations are refused the same way */
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "1234"), fx_s(&f, "5678"), 0),
                     CF_ERR_UNSUPPORTED);
    assert_int_equal(cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "1234"), fx_s(&f, "5678"), 0),
                     CF_ERR_UNSUPPORTED);
    fx_close(&f);
}

static void test_verify_and_change_pin(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids", NULL);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "0000")), CF_OK);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "9999")), CF_ERR_WRONG_SECRET);
    assert_non_null(strstr(cf_card_errmsg(f.card), "4 tries left"));
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 4);
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "0000"), fx_s(&f, "135792468")), CF_OK);
    assert_true(fx_state_is(&f, "pin", "313335373932343638"));
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 5);
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "135792468")), CF_OK);
    /* 16 characters: the card takes it, the policy (15, PKCS#11) does not */
    assert_int_equal(
        cf_card_change_pin(f.card, fx_s(&f, "135792468"), fx_s(&f, "1234567890123456")),
        CF_ERR_POLICY);
    fx_close(&f);
}

static void test_admin_mutual_auth_right_and_wrong_key(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids+admin-counter", NULL);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_OK);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 5);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, KEY2), 0), CF_ERR_WRONG_SECRET);
    assert_non_null(strstr(cf_card_errmsg(f.card), "wrong admin key, 4 tries left"));
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 4);
    assert_int_equal(fx_tries(&f, CF_CRED_ADMIN).left, 4);
    /* the right key restores the counter */
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_OK);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 5);
    /* GIDS keys are 3DES only */
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, "00112233445566778899AABBCCDDEEFF"), 0),
                     CF_ERR_POLICY);
    fx_close(&f);
}

static void test_set_admin_key_sends_the_true_check_value(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids+admin-counter", NULL);
    char *buf = NULL;
    size_t blen = 0;
    FILE *mem = open_memstream(&buf, &blen);
    cf_trace_t *tr = NULL;
    assert_int_equal(cf_trace_new(mem, &tr), CF_OK);
    cf_transport_set_trace(f.t, tr);

    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_OK);
    assert_int_equal(cf_card_set_admin_key(f.card, fx_h(&f, NEW_KEY)), CF_OK);
    assert_true(fx_state_is(&f, "admin_key", NEW_KEY));
    cf_transport_set_trace(f.t, NULL);
    cf_trace_free(tr);
    fclose(mem);

    char kcv[7], want[32];
    assert_int_equal(cf_card_key_check_value(fx_h(&f, NEW_KEY), kcv), CF_OK);
    snprintf(want, sizeof(want), "88 03 %.2s %.2s %.2s", kcv, kcv + 2, kcv + 4);
    assert_non_null(strstr(buf, want));
    assert_null(strstr(buf, "88 03 B0 73 DC"));          /* not OpenSC's constant */
    assert_null(strstr(buf, "01 23 45 67 89 AB CD EF")); /* the key itself never */
    free(buf);

    /* the new key authenticates in a fresh session, the old one does not */
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_ERR_WRONG_SECRET);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, NEW_KEY), 0), CF_OK);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 5);
    fx_close(&f);
}

static void test_unblock_pin_by_admin_after_block(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids", NULL);
    unsigned spent = 0;
    assert_int_equal(cf_card_block_pin(f.card, fx_s(&f, "0000"), &spent), CF_OK);
    assert_int_equal(spent, 5);
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 0);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 5);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "0000")), CF_ERR_BLOCKED);
    /* not without the admin key */
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_unblock_pin_by_admin(f.card, fx_s(&f, "24680")), CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_OK);
    assert_int_equal(cf_card_unblock_pin_by_admin(f.card, fx_s(&f, "12")), CF_ERR_POLICY);
    assert_int_equal(cf_card_unblock_pin_by_admin(f.card, fx_s(&f, "24680")), CF_OK);
    assert_true(fx_state_is(&f, "pin", "3234363830"));
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 5);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "24680")), CF_OK);
    /* the card logged the admin out: a second unblock needs a new authentication */
    assert_int_equal(cf_card_unblock_pin_by_admin(f.card, fx_s(&f, "13579")), CF_ERR_REFUSED);
    fx_close(&f);
}

static void test_external_challenge_response(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids+admin-counter", NULL);
    uint8_t ch[32];
    size_t len = 0;
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_OK);
    assert_int_equal(len, 8);
    cf_secret_t *resp = NULL;
    assert_int_equal(cf_keys_unblock_response(fx_h(&f, ZERO_KEY), ch, len, &resp), CF_OK);
    fx_keep(&f, resp);
    assert_int_equal(cf_card_external_auth(f.card, resp), CF_OK);
    /* admin authority: set the PIN */
    assert_int_equal(cf_card_unblock_pin_by_admin(f.card, fx_s(&f, "8642")), CF_OK);
    assert_true(fx_state_is(&f, "pin", "38363432"));
    /* the challenge is single-use */
    assert_int_equal(cf_card_external_auth(f.card, resp), CF_ERR_ARG);

    /* a wrong response costs an admin try */
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_OK);
    assert_int_equal(cf_card_external_auth(f.card, fx_h(&f, "0011223344556677")),
                     CF_ERR_WRONG_SECRET);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 4);
    /* a response of the wrong size is not sent */
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_OK);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_external_auth(f.card, fx_h(&f, "00112233")), CF_ERR_POLICY);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    /* too small a buffer for the challenge */
    assert_int_equal(cf_card_get_challenge(f.card, ch, 4, &len, 0), CF_ERR_BUFFER);
    assert_int_equal(len, 0);
    fx_close(&f);
}

static void test_reselect_ends_the_admin_session_on_the_card(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f, "gids", NULL);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_OK);
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    /* RESET RETRY COUNTER sent directly: the card no longer has an admin */
    static const uint8_t pin[4] = {'1', '2', '3', '4'};
    cf_capdu_t c = {.ins = 0x2C, .p1 = 0x02, .p2 = 0x80, .data = pin, .len = 4};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(f.t, &c, &r), CF_OK);
    assert_int_equal(r.sw, 0x6982);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_identifies_gids_and_reads_cardid),
        cmocka_unit_test(test_blank_card_is_identified_but_not_opened),
        cmocka_unit_test(test_tries_pin_and_admin_known_no_puk),
        cmocka_unit_test(test_verify_and_change_pin),
        cmocka_unit_test(test_admin_mutual_auth_right_and_wrong_key),
        cmocka_unit_test(test_set_admin_key_sends_the_true_check_value),
        cmocka_unit_test(test_unblock_pin_by_admin_after_block),
        cmocka_unit_test(test_external_challenge_response),
        cmocka_unit_test(test_reselect_ends_the_admin_session_on_the_card),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
