/*
 * test_card_piv.c - every card operation on the virtual YubiKey PIV card
 * through the in-process reader, each checked afterwards by another route:
 * the card's own state file, a fresh session, the counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"

#define DEFAULT_KEY "010203040506070801020304050607080102030405060708"
#define AES128_KEY "00112233445566778899AABBCCDDEEFF"
#define AES256_KEY "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"

static void open_piv(struct fx *f)
{
    cf_err_t err = fx_open(f, "yubikey", NULL, 12345678, NULL);
    if (err != CF_OK)
        fprintf(stderr, "%s\n", f->errbuf);
    assert_int_equal(err, CF_OK);
}

static void test_open_identifies_yubikey_and_reads_serial_and_version(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    assert_string_equal(cf_profile_name(cf_card_profile(f.card)), "piv-yubikey");
    assert_string_equal(cf_card_serial(f.card), "12345678");
    assert_string_equal(cf_card_version(f.card), "5.4.3");
    assert_string_equal(cf_card_errmsg(f.card), "");
    assert_int_equal(cf_card_last_sw(f.card), 0x9000);
    assert_ptr_equal(cf_card_transport(f.card), f.t);
    assert_string_equal(f.errbuf, "");
    fx_close(&f);

    /* the largest serial: decimal of 4 bytes */
    assert_int_equal(fx_open(&f, "yubikey", NULL, 4294967295u, "piv-yubikey"), CF_OK);
    assert_string_equal(cf_card_serial(f.card), "4294967295");
    fx_close(&f);
}

static void test_tries_are_read_without_spending(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    for (int i = 0; i < 3; i++) {
        cf_tries_t t = fx_tries(&f, CF_CRED_PIN);
        assert_int_equal(t.kind, CF_TRIES_KNOWN);
        assert_int_equal(t.left, 3);
        assert_int_equal(t.max, 3);
        t = fx_tries(&f, CF_CRED_PUK);
        assert_int_equal(t.kind, CF_TRIES_KNOWN);
        assert_int_equal(t.left, 3);
        /* a YubiKey has no counter on the management key */
        t = fx_tries(&f, CF_CRED_ADMIN);
        assert_int_equal(t.kind, CF_TRIES_UNLIMITED);
    }
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 3);
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 3);
    cf_tries_t t;
    assert_int_equal(cf_card_tries(f.card, CF_CRED_COUNT, &t), CF_ERR_ARG);
    fx_close(&f);
}

static void test_verify_pin_right_wrong_and_counter(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "123456")), CF_OK);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "654321")), CF_ERR_WRONG_SECRET);
    assert_non_null(strstr(cf_card_errmsg(f.card), "wrong PIN, 2 tries left (63C2)"));
    assert_int_equal(cf_card_last_sw(f.card), 0x63C2);
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 2);
    assert_int_equal(fx_tries(&f, CF_CRED_PIN).left, 2);
    /* the right PIN restores the counter */
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "123456")), CF_OK);
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 3);
    assert_string_equal(cf_card_errmsg(f.card), "");
    /* a PIN that cannot be encoded (longer than the 8-byte field): nothing sent */
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "123456789")), CF_ERR_POLICY);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    fx_close(&f);
}

static void test_change_pin_then_only_new_pin_verifies(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "123456"), fx_s(&f, "24681357")), CF_OK);
    assert_true(fx_state_is(&f, "pin", "3234363831333537"));
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "24681357")), CF_OK);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "123456")), CF_ERR_WRONG_SECRET);

    /* the new PIN is checked against the policy before anything is sent */
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "24681357"), fx_s(&f, "123")),
                     CF_ERR_POLICY);
    assert_non_null(strstr(cf_card_errmsg(f.card), "policy"));
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    /* a wrong old PIN costs a try and changes nothing */
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "00000000"), fx_s(&f, "11112222")),
                     CF_ERR_WRONG_SECRET);
    assert_true(fx_state_is(&f, "pin", "3234363831333537"));
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 1);
    fx_close(&f);
}

static void test_block_pin_spends_only_pin_tries(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    unsigned spent = 99;
    assert_int_equal(cf_card_block_pin(f.card, fx_s(&f, "123456"), &spent), CF_OK);
    assert_int_equal(spent, 3);
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 0);
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 3);
    cf_tries_t t = fx_tries(&f, CF_CRED_PIN);
    assert_int_equal(t.kind, CF_TRIES_KNOWN);
    assert_int_equal(t.left, 0);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "123456")), CF_ERR_BLOCKED);
    assert_non_null(strstr(cf_card_errmsg(f.card), "PIN is blocked (6983"));
    /* already blocked: nothing more to spend */
    assert_int_equal(cf_card_block_pin(f.card, fx_s(&f, "123456"), &spent), CF_OK);
    assert_int_equal(spent, 0);
    assert_int_equal(cf_card_block_pin(f.card, NULL, &spent), CF_ERR_ARG);
    fx_close(&f);
}

static void test_block_pin_when_known_pin_is_wrong_is_a_failed_proof(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    /* the card holds 123456 but the caller believes 000000: the blocking
     * value (000000 is excluded, so 111111) differs from both; change the
     * card's PIN to 111111 to force the case */
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "123456"), fx_s(&f, "111111")), CF_OK);
    unsigned spent = 0;
    assert_int_equal(cf_card_block_pin(f.card, fx_s(&f, "000000"), &spent), CF_ERR_PROOF_FAILED);
    assert_int_equal(spent, 1);
    fx_close(&f);
}

static void test_unblock_pin_with_puk(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    unsigned spent;
    assert_int_equal(cf_card_block_pin(f.card, fx_s(&f, "123456"), &spent), CF_OK);
    assert_int_equal(
        cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "97531864"), 0), CF_OK);
    assert_true(fx_state_is(&f, "pin", "3937353331383634"));
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 3);
    assert_int_equal(fx_tries(&f, CF_CRED_PIN).left, 3);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "97531864")), CF_OK);
    /* a wrong PUK spends a PUK try, not a PIN try */
    assert_int_equal(
        cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "87654321"), fx_s(&f, "11223344"), 0),
        CF_ERR_WRONG_SECRET);
    assert_non_null(strstr(cf_card_errmsg(f.card), "wrong PUK, 2 tries left"));
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 2);
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 3);
    assert_true(fx_state_is(&f, "pin", "3937353331383634"));
    /* the new PIN must fit the policy: nothing sent */
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "1"), 0),
                     CF_ERR_POLICY);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    fx_close(&f);
}

static void test_change_puk(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "ABCDEFGH"), 0),
                     CF_OK);
    assert_true(fx_state_is(&f, "puk", "4142434445464748"));
    /* the new PUK works, the old one does not */
    unsigned spent;
    assert_int_equal(cf_card_block_pin(f.card, fx_s(&f, "123456"), &spent), CF_OK);
    assert_int_equal(
        cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "222333"), 0),
        CF_ERR_WRONG_SECRET);
    assert_int_equal(
        cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "ABCDEFGH"), fx_s(&f, "222333"), 0), CF_OK);
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 3);
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "ABCDEFGH"), fx_s(&f, "12"), 0),
                     CF_ERR_POLICY);
    fx_close(&f);
}

static void test_admin_auth_and_set_key_every_algorithm(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    static const struct {
        const char *hex;
        const char *alg;
    } keys[] = {
        {AES128_KEY, "aes128"},
        {AES256_KEY, "aes256"},
        {"111213141516171821222324252627283132333435363738", "3des"},
    };
    const char *current = DEFAULT_KEY;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, current), 0), CF_OK);
        assert_int_equal(cf_card_set_admin_key(f.card, fx_h(&f, keys[i].hex)), CF_OK);
        assert_true(fx_state_is(&f, "mgm_key", keys[i].hex));
        assert_true(fx_state_is(&f, "mgm_alg", keys[i].alg));
        /* a fresh session: the old key is refused, the new one authenticates */
        assert_int_equal(cf_card_reselect(f.card), CF_OK);
        if (strlen(current) == strlen(keys[i].hex))
            assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, current), 0), CF_ERR_WRONG_SECRET);
        assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, keys[i].hex), 0), CF_OK);
        assert_int_equal(cf_card_reselect(f.card), CF_OK);
        current = keys[i].hex;
    }
    fx_close(&f);
}

/* A card whose 24-byte key is AES-192 (a YubiKey 5.7 default): the card
 * says so in its metadata and the key is used as AES-192, not 3DES. */
static void test_admin_auth_follows_the_algorithm_the_card_reports(void **state)
{
    (void)state;
    char path[] = "/tmp/cf-card-piv-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "type=piv\nfactory=default\nserial=77\nmgm_alg=aes192\n"
                               "mgm_key=" DEFAULT_KEY "\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    struct fx f;
    memset(&f, 0, sizeof(f));
    f.set = fx_profiles();
    assert_int_equal(cf_simcard_load(path, NULL, 0, &f.sim), CF_OK);
    unlink(path);
    assert_int_equal(cf_transport_open_sim(f.sim, "Sim", &f.t), CF_OK);
    assert_int_equal(cf_card_open(f.t, f.set, NULL, &f.card, NULL, 0), CF_OK);
    assert_string_equal(cf_card_serial(f.card), "77");
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, DEFAULT_KEY), 0), CF_OK);
    fx_close(&f);
}

static void test_admin_key_of_the_wrong_length_for_the_card_is_not_sent(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    /* the card reports a 3DES key; a 16-byte key cannot be it */
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, AES128_KEY), 0), CF_ERR_POLICY);
    assert_non_null(strstr(cf_card_errmsg(f.card), "3des"));
    /* only the metadata read went out, once: it tells the counter and the
     * algorithm */
    assert_int_equal(cf_transport_apdu_count(f.t), n + 1);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, "0102030405"), 0), CF_ERR_POLICY);
    fx_close(&f);
}

static void test_set_admin_key_needs_authentication_and_a_valid_length(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_set_admin_key(f.card, fx_h(&f, AES128_KEY)), CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    assert_true(fx_state_is(&f, "mgm_key", DEFAULT_KEY));
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, DEFAULT_KEY), 0), CF_OK);
    assert_int_equal(cf_card_set_admin_key(f.card, fx_h(&f, "0011223344")), CF_ERR_POLICY);
    /* a reselect ends the authentication: on the card too */
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    assert_int_equal(cf_card_set_admin_key(f.card, fx_h(&f, AES128_KEY)), CF_ERR_REFUSED);
    static const uint8_t key[24] = {9};
    uint8_t data[27] = {0x03, 0x9B, 0x18};
    memcpy(data + 3, key, 24);
    cf_capdu_t c = {.cla = 0, .ins = 0xFF, .p1 = 0xFF, .p2 = 0xFF, .data = data, .len = 27};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(f.t, &c, &r), CF_OK);
    assert_int_equal(r.sw, 0x6982);
    fx_close(&f);
}

static void test_operations_piv_cannot_do(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    uint8_t ch[16];
    size_t len;
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_ERR_UNSUPPORTED);
    assert_int_equal(cf_card_external_auth(f.card, fx_h(&f, "0011223344556677")),
                     CF_ERR_UNSUPPORTED);
    assert_int_equal(cf_card_unblock_pin_by_admin(f.card, fx_s(&f, "123456")), CF_ERR_UNSUPPORTED);
    assert_non_null(strstr(cf_card_errmsg(f.card), "piv-yubikey cannot do this"));
    fx_close(&f);
}

static void test_key_check_values(void **state)
{
    (void)state;
    struct fx f;
    memset(&f, 0, sizeof(f));
    char kcv[7];
    assert_int_equal(cf_card_key_check_value(fx_h(&f, DEFAULT_KEY), kcv), CF_OK);
    assert_string_equal(kcv, "B073DC"); /* gids-reference 1.8 */
    assert_int_equal(
        cf_card_key_check_value(fx_h(&f, "000000000000000000000000000000000000000000000000"), kcv),
        CF_OK);
    assert_string_equal(kcv, "8CA64D"); /* gids-reference 3.4 */
    assert_int_equal(cf_card_key_check_value(fx_h(&f, "00000000000000000000000000000000"), kcv),
                     CF_OK);
    assert_string_equal(kcv, "66E94B"); /* AES-128, FIPS-197 zero key */
    assert_int_equal(cf_card_key_check_value(fx_h(&f, "0011"), kcv), CF_ERR_ARG);
    assert_int_equal(cf_card_key_check_value(NULL, kcv), CF_ERR_ARG);
    for (size_t i = 0; i < f.n_secrets; i++)
        cf_secret_free(f.secrets[i]);
}

static void test_null_arguments(void **state)
{
    (void)state;
    struct fx f;
    open_piv(&f);
    assert_int_equal(cf_card_verify_pin(NULL, fx_s(&f, "123456")), CF_ERR_ARG);
    assert_int_equal(cf_card_verify_pin(f.card, NULL), CF_ERR_ARG);
    assert_int_equal(cf_card_change_pin(f.card, NULL, NULL), CF_ERR_ARG);
    assert_int_equal(cf_card_admin_auth(f.card, NULL, 0), CF_ERR_ARG);
    assert_int_equal(cf_card_set_admin_key(NULL, NULL), CF_ERR_ARG);
    assert_int_equal(cf_card_reselect(NULL), CF_ERR_ARG);
    assert_string_equal(cf_card_serial(NULL), "");
    assert_string_equal(cf_card_version(NULL), "");
    assert_string_equal(cf_card_errmsg(NULL), "");
    assert_int_equal(cf_card_last_sw(NULL), 0);
    assert_null(cf_card_profile(NULL));
    assert_null(cf_card_transport(NULL));
    cf_card_free(NULL);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_identifies_yubikey_and_reads_serial_and_version),
        cmocka_unit_test(test_tries_are_read_without_spending),
        cmocka_unit_test(test_verify_pin_right_wrong_and_counter),
        cmocka_unit_test(test_change_pin_then_only_new_pin_verifies),
        cmocka_unit_test(test_block_pin_spends_only_pin_tries),
        cmocka_unit_test(test_block_pin_when_known_pin_is_wrong_is_a_failed_proof),
        cmocka_unit_test(test_unblock_pin_with_puk),
        cmocka_unit_test(test_change_puk),
        cmocka_unit_test(test_admin_auth_and_set_key_every_algorithm),
        cmocka_unit_test(test_admin_auth_follows_the_algorithm_the_card_reports),
        cmocka_unit_test(test_admin_key_of_the_wrong_length_for_the_card_is_not_sent),
        cmocka_unit_test(test_set_admin_key_needs_authentication_and_a_valid_length),
        cmocka_unit_test(test_operations_piv_cannot_do),
        cmocka_unit_test(test_key_check_values),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
