/*
 * test_profile_load.c - the real profiles in profiles/ load and say what
 * the cards are; extends, identification order, policies, key types,
 * capabilities; loading from memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/card.h>

#include "profile/profile_int.h"

static cf_profiles_t *load_real(void)
{
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    cf_err_t err = cf_profiles_load(CF_SOURCE_DIR "/profiles", d, &set);
    if (err != CF_OK)
        cf_diag_print(d, stderr);
    assert_int_equal(err, CF_OK);
    assert_int_equal(cf_diag_count(d), 0);
    cf_diag_list_free(d);
    return set;
}

static cf_secret_t *sec(const char *s)
{
    cf_secret_t *x = cf_secret_new(s, strlen(s));
    assert_non_null(x);
    return x;
}

static void test_real_profiles_load_by_name(void **state)
{
    (void)state;
    cf_profiles_t *set = load_real();
    assert_int_equal(cf_profiles_count(set), 5);
    static const char *const names[] = {"gids", "gids-counter", "gids-gemalto", "piv",
                                        "piv-yubikey"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(cf_profile_name(cf_profiles_at(set, i)), names[i]);
    assert_null(cf_profiles_at(set, 5));
    const cf_profile_t *piv = cf_profiles_find(set, "piv-yubikey");
    const cf_profile_t *gids = cf_profiles_find(set, "gids");
    const cf_profile_t *gem = cf_profiles_find(set, "gids-gemalto");
    assert_non_null(piv);
    assert_non_null(gids);
    assert_non_null(gem);
    assert_null(cf_profiles_find(set, "nope"));
    assert_string_equal(cf_profile_family(piv), "piv");
    assert_string_equal(cf_profile_family(gids), "gids");
    assert_string_equal(cf_profile_family(gem), "gids");
    assert_true(strlen(cf_profile_description(piv)) > 0);
    cf_profiles_free(set);
}

static void test_extending_profile_is_identified_before_its_base(void **state)
{
    (void)state;
    cf_profiles_t *set = load_real();
    assert_int_equal(cf_profiles_ident_count(set), 5);
    static const char *const order[] = {"gids-counter", "gids-gemalto", "gids", "piv-yubikey",
                                        "piv"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(cf_profile_name(cf_profiles_ident_at(set, i)), order[i]);
    cf_profiles_free(set);
}

static void test_factory_values_follow_the_profiles(void **state)
{
    (void)state;
    cf_profiles_t *set = load_real();
    const cf_profile_t *piv = cf_profiles_find(set, "piv-yubikey");
    const cf_profile_t *gids = cf_profiles_find(set, "gids");
    const cf_profile_t *gem = cf_profiles_find(set, "gids-gemalto");

    cf_secret_t *pin = sec("123456"), *puk = sec("12345678"), *gpin = sec("0000");
    assert_true(cf_secret_equal(cf_profile_factory(piv, CF_CRED_PIN), pin));
    assert_true(cf_secret_equal(cf_profile_factory(piv, CF_CRED_PUK), puk));
    static const uint8_t defkey[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                       5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    const cf_secret_t *k = cf_profile_factory(piv, CF_CRED_ADMIN);
    assert_int_equal(cf_secret_len(k), 24);
    assert_memory_equal(cf_secret_data(k), defkey, 24);

    /* gids names no factory values; gids-gemalto adds them and changes nothing else */
    assert_null(cf_profile_factory(gids, CF_CRED_PIN));
    assert_null(cf_profile_factory(gids, CF_CRED_ADMIN));
    assert_null(cf_profile_factory(gids, CF_CRED_PUK));
    assert_true(cf_secret_equal(cf_profile_factory(gem, CF_CRED_PIN), gpin));
    static const uint8_t zero[24] = {0};
    k = cf_profile_factory(gem, CF_CRED_ADMIN);
    assert_int_equal(cf_secret_len(k), 24);
    assert_memory_equal(cf_secret_data(k), zero, 24);
    assert_null(cf_profile_factory(gem, CF_CRED_PUK));
    assert_string_equal(cf_profile_pin_policy_text(gem), cf_profile_pin_policy_text(gids));
    for (int c = 0; c < CF_CAP_EXTERNAL_AUTH + 1; c++)
        assert_int_equal(cf_profile_can(gem, (cf_card_cap_t)c),
                         cf_profile_can(gids, (cf_card_cap_t)c));
    assert_int_equal(gem->admin.auth.scheme, CF_SCHEME_GIDS_MUTUAL);
    assert_int_equal(gem->admin.external.scheme, CF_SCHEME_GIDS_EXTERNAL);
    assert_string_equal(gem->base, "gids");

    cf_secret_free(pin);
    cf_secret_free(puk);
    cf_secret_free(gpin);
    cf_profiles_free(set);
}

static void test_capabilities_differ_between_piv_and_gids(void **state)
{
    (void)state;
    cf_profiles_t *set = load_real();
    const cf_profile_t *piv = cf_profiles_find(set, "piv-yubikey");
    const cf_profile_t *gids = cf_profiles_find(set, "gids");
    assert_true(cf_profile_can(piv, CF_CAP_PUK));
    assert_true(cf_profile_can(piv, CF_CAP_PIN_BY_PUK));
    assert_true(cf_profile_can(piv, CF_CAP_CHANGE_PUK));
    assert_false(cf_profile_can(piv, CF_CAP_PIN_BY_ADMIN));
    assert_true(cf_profile_can(piv, CF_CAP_SET_ADMIN_KEY));
    assert_false(cf_profile_can(piv, CF_CAP_EXTERNAL_AUTH));
    assert_false(cf_profile_can(gids, CF_CAP_PUK));
    assert_false(cf_profile_can(gids, CF_CAP_PIN_BY_PUK));
    assert_false(cf_profile_can(gids, CF_CAP_CHANGE_PUK));
    assert_true(cf_profile_can(gids, CF_CAP_PIN_BY_ADMIN));
    assert_true(cf_profile_can(gids, CF_CAP_SET_ADMIN_KEY));
    assert_true(cf_profile_can(gids, CF_CAP_EXTERNAL_AUTH));
    assert_false(cf_profile_can(NULL, CF_CAP_PUK));
    cf_profiles_free(set);
}

static void test_admin_key_type_follows_length_and_card(void **state)
{
    (void)state;
    cf_profiles_t *set = load_real();
    const cf_profile_t *piv = cf_profiles_find(set, "piv-yubikey");
    const cf_profile_t *gids = cf_profiles_find(set, "gids");
    cf_card_key_type_t t;
    assert_int_equal(cf_profile_admin_key_type(piv, 24, &t), CF_OK);
    assert_int_equal(t, CF_CARD_KEY_3DES);
    assert_int_equal(cf_profile_admin_key_type(piv, 16, &t), CF_OK);
    assert_int_equal(t, CF_CARD_KEY_AES128);
    assert_int_equal(cf_profile_admin_key_type(piv, 32, &t), CF_OK);
    assert_int_equal(t, CF_CARD_KEY_AES256);
    assert_int_equal(cf_profile_admin_key_type(piv, 8, &t), CF_ERR_POLICY);
    assert_int_equal(cf_profile_admin_key_type(gids, 24, &t), CF_OK);
    assert_int_equal(t, CF_CARD_KEY_3DES);
    assert_int_equal(cf_profile_admin_key_type(gids, 16, &t), CF_ERR_POLICY);
    assert_int_equal(cf_profile_admin_key_type(gids, 32, &t), CF_ERR_POLICY);
    assert_int_equal(cf_profile_admin_key_type(NULL, 24, &t), CF_ERR_ARG);
    cf_profiles_free(set);
}

static void test_policy_checks_length_charset_and_padding(void **state)
{
    (void)state;
    cf_profiles_t *set = load_real();
    const cf_profile_t *piv = cf_profiles_find(set, "piv-yubikey");
    const cf_profile_t *gids = cf_profiles_find(set, "gids");
    char why[200];
    struct {
        const cf_profile_t *p;
        cf_cred_t c;
        const char *v;
        cf_err_t want;
    } cases[] = {
        {piv, CF_CRED_PIN, "123456", CF_OK},
        {piv, CF_CRED_PIN, "12345", CF_ERR_POLICY},
        {piv, CF_CRED_PIN, "123456789", CF_ERR_POLICY},
        {piv, CF_CRED_PUK, "abcdefgh", CF_OK},
        {piv, CF_CRED_PIN, "12345\x01", CF_ERR_POLICY},
        {gids, CF_CRED_PIN, "0000", CF_OK},
        {gids, CF_CRED_PIN, "123456789012345", CF_OK},
        {gids, CF_CRED_PIN, "1234567890123456", CF_ERR_POLICY},
        {gids, CF_CRED_PUK, "12345678", CF_ERR_POLICY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cf_secret_t *v = sec(cases[i].v);
        why[0] = 'x';
        assert_int_equal(cf_profile_check_policy(cases[i].p, cases[i].c, v, why, sizeof(why)),
                         cases[i].want);
        if (cases[i].want != CF_OK) {
            assert_true(strlen(why) > 0);
            assert_null(strstr(why, cases[i].v)); /* the value is never quoted */
        }
        cf_secret_free(v);
    }
    /* the padding byte cannot be part of a padded PIN */
    uint8_t ff[6] = {'1', '2', '3', '4', '5', 0xFF};
    cf_secret_t *v = cf_secret_new(ff, sizeof(ff));
    assert_int_equal(cf_profile_check_policy(piv, CF_CRED_PIN, v, why, sizeof(why)), CF_ERR_POLICY);
    cf_secret_free(v);
    /* admin keys: by length */
    uint8_t key[32] = {0};
    v = cf_secret_new(key, 16);
    assert_int_equal(cf_profile_check_policy(piv, CF_CRED_ADMIN, v, why, sizeof(why)), CF_OK);
    assert_int_equal(cf_profile_check_policy(gids, CF_CRED_ADMIN, v, why, sizeof(why)),
                     CF_ERR_POLICY);
    assert_non_null(strstr(why, "16 bytes"));
    cf_secret_free(v);
    assert_string_equal(cf_profile_pin_policy_text(piv), "6-8 characters, printable ASCII");
    assert_string_equal(cf_profile_pin_policy_text(gids), "4-15 characters, printable ASCII");
    cf_profiles_free(set);
}

static void test_cred_names(void **state)
{
    (void)state;
    assert_string_equal(cf_cred_name(CF_CRED_PIN), "PIN");
    assert_string_equal(cf_cred_name(CF_CRED_PUK), "PUK");
    assert_string_equal(cf_cred_name(CF_CRED_ADMIN), "admin key");
}

static void test_default_dir_is_installed_or_source(void **state)
{
    (void)state;
    /* CF_DATADIR/profiles when installed, else the source tree's: either
     * way a directory that holds the profiles. */
    const char *d = cf_profiles_default_dir();
    struct stat st;
    assert_int_equal(stat(d, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    size_t n = strlen(d);
    if (strcmp(d, CF_SOURCE_DIR "/profiles") != 0) {
        assert_true(n >= 19);
        assert_string_equal(d + n - 19, "/cardforge/profiles");
    }
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

static void test_add_mem_resolves_extends_against_the_set(void **state)
{
    (void)state;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    size_t len;
    char *text = read_all(CF_SOURCE_DIR "/profiles/gids.yaml", &len);
    assert_int_equal(cf_profiles_add_mem(&set, "gids", text, len, d), CF_OK);
    assert_non_null(set);
    text = read_all(CF_SOURCE_DIR "/profiles/gids-gemalto.yaml", &len);
    assert_int_equal(cf_profiles_add_mem(&set, "gids-gemalto", text, len, d), CF_OK);
    assert_int_equal(cf_profiles_count(set), 2);
    assert_string_equal(cf_profile_name(cf_profiles_ident_at(set, 0)), "gids-gemalto");
    /* the same name again is refused, the set unchanged */
    assert_int_equal(cf_profiles_add_mem(&set, "gids", text, len, d), CF_ERR_INVALID);
    assert_int_equal(cf_profiles_count(set), 2);
    assert_int_equal(cf_diag_errors(d), 1);
    assert_string_equal(cf_diag_file(d, 0), "gids.yaml");
    cf_profiles_free(set);

    /* extends of a profile that is not loaded */
    set = NULL;
    assert_int_equal(cf_profiles_add_mem(&set, "gids-gemalto", text, len, d), CF_ERR_INVALID);
    assert_null(set);
    assert_int_equal(cf_diag_errors(d), 2);
    assert_string_equal(cf_diag_file(d, 1), "gids-gemalto.yaml");
    assert_int_equal(cf_diag_line(d, 1), 6);
    assert_non_null(strstr(cf_diag_message(d, 1), "no profile named 'gids'"));
    cf_diag_list_free(d);
}

static void test_null_and_bad_arguments(void **state)
{
    (void)state;
    cf_profiles_t *set = NULL;
    assert_int_equal(cf_profiles_load(NULL, NULL, &set), CF_ERR_ARG);
    assert_int_equal(cf_profiles_load("/x", NULL, NULL), CF_ERR_ARG);
    assert_int_equal(cf_profiles_add_mem(NULL, "x", "", 0, NULL), CF_ERR_ARG);
    assert_int_equal(cf_profiles_add_mem(&set, "bad name", "a: b", 4, NULL), CF_ERR_INVALID);
    assert_int_equal(cf_profiles_count(NULL), 0);
    assert_null(cf_profiles_at(NULL, 0));
    assert_null(cf_profiles_find(NULL, "x"));
    assert_string_equal(cf_profile_name(NULL), "");
    assert_string_equal(cf_profile_family(NULL), "");
    assert_string_equal(cf_profile_description(NULL), "");
    assert_null(cf_profile_factory(NULL, CF_CRED_PIN));
    cf_profiles_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_profiles_load_by_name),
        cmocka_unit_test(test_extending_profile_is_identified_before_its_base),
        cmocka_unit_test(test_factory_values_follow_the_profiles),
        cmocka_unit_test(test_capabilities_differ_between_piv_and_gids),
        cmocka_unit_test(test_admin_key_type_follows_length_and_card),
        cmocka_unit_test(test_policy_checks_length_charset_and_padding),
        cmocka_unit_test(test_cred_names),
        cmocka_unit_test(test_default_dir_is_installed_or_source),
        cmocka_unit_test(test_add_mem_resolves_extends_against_the_set),
        cmocka_unit_test(test_null_and_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
