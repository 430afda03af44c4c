/*
 * test_keys.c - key derivation, the unblock response and random values.
 *
 * Known answers come from published sources: RFC 4493 (AES-CMAC), the NIST
 * CAVP SP 800-108 counter-mode vectors (KBKDF with CMAC-AES), FIPS-197
 * appendix C (AES), docs/gids-reference.md 3.4 (3DES responses). Our own
 * construction is additionally rebuilt byte by byte on top of plain CMAC,
 * and the vectors published in docs/key-derivation.md are recomputed from
 * the document itself so the document cannot drift from the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cardforge/keys.h>

#include "keys/keys_int.h"
#include "util/hex.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    assert_int_equal(cf_hex_decode(hex, 2 * n, out, cap), CF_OK);
    return n;
}

static cf_secret_t *secret_hex(const char *hex)
{
    cf_secret_t *s = NULL;
    assert_int_equal(cf_secret_from_hex(hex, strlen(hex), &s), CF_OK);
    return s;
}

static cf_master_key_t *master_hex(const char *hex)
{
    cf_secret_t *s = secret_hex(hex);
    cf_master_key_t *mk = NULL;
    assert_int_equal(cf_master_key_new("test", 1, s, &mk), CF_OK);
    cf_secret_free(s);
    return mk;
}

static void assert_secret_hex(const cf_secret_t *s, const char *hex)
{
    char got[130];
    assert_true(cf_secret_len(s) * 2 < sizeof(got));
    cf_hex_encode(cf_secret_data(s), cf_secret_len(s), got);
    assert_true(strlen(hex) == strlen(got));
    for (size_t i = 0; hex[i]; i++)
        assert_true((hex[i] | 0x20) == (got[i] | 0x20));
}

/* ---- primitives against published vectors ------------------------------- */

static void test_cmac_matches_rfc4493_examples(void **state)
{
    (void)state;
    static const char *const msg =
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
    static const struct {
        size_t len;
        const char *tag;
    } ex[] = {
        {0, "bb1d6929e95937287fa37d129b756746"},
        {16, "070a16b46b4d4144f79bdd9dd04a287c"},
        {40, "dfa66747de9ae63030ca32611497c827"},
        {64, "51f0bebf7e3b9d92fc49741779363cfe"},
    };
    uint8_t key[16], m[64], want[16], tag[16];
    unhex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key));
    unhex(msg, m, sizeof(m));
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    assert_non_null(mac);
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", 0),
                          OSSL_PARAM_construct_end()};
        size_t tlen = 0;
        assert_int_equal(EVP_MAC_init(ctx, key, sizeof(key), p), 1);
        assert_int_equal(EVP_MAC_update(ctx, m, ex[i].len), 1);
        assert_int_equal(EVP_MAC_final(ctx, tag, &tlen, sizeof(tag)), 1);
        assert_int_equal(tlen, 16);
        unhex(ex[i].tag, want, sizeof(want));
        assert_memory_equal(tag, want, 16);
        EVP_MAC_CTX_free(ctx);
    }
    EVP_MAC_free(mac);
}

/* NIST CAVP KBKDF800-108 CounterMode, CTRLOCATION=BEFORE_FIXED, RLEN=32_BITS:
 * K(i) = CMAC(KI, [i]32 || FixedInputData). In OpenSSL terms: no label, the
 * fixed data as context, no separator, no [L]. */
static void test_kbkdf_matches_nist_cavp_counter_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *ki, *fixed, *ko;
    } v[] = {
        {"c10b152e8c97b77e18704e0f0bd38305",
         "98cd4cbbbebe15d17dc86e6dbad800a2dcbd64f7c7ad0e78e9cf94ffdba89d03e97eadf6c4f7b806caf52a"
         "a38f09d0eb71d71f497bcc6906b48d36c4",
         "26faf61908ad9ee881b8305c221db53f"},
        {"695f1b1a16c949cea51cdf2554ec9d42",
         "4fce5942832a390aa1cbe8a0bf9d202cb799e986c9d6b51f45e4d597a6b57f06a4ebfec6467335d116b7f5"
         "f9c5b954062f661820f5db2a5bbb3e0625",
         "d34b601ec18c34dfa0f9e0b7523e218bdddb9befe8d08b6c0202d75ace0dba89"},
        {"f4267280cb8667c2cf82bb37f389da6391f58cc74deba0cc",
         "34abbc9f7b12622309a827de5abfdd51fb5bb824838fcde88ca7bc5f3953abdcb445147f13e809e294f75e"
         "6d4e3f13b66e47f2dfc881ed392e3a1bf6",
         "2d1b4b5694b6741b2ed9c02c05474225"},
        {"d0b1b3b70b2393c48ca05159e7e28cbeadea93f28a7cdae964e5136070c45d5c",
         "dd2f151a3f173492a6fbbb602189d51ddf8ef79fc8e96b8fcbe6dabe73a35b48104f9dff2d63d48786d2b3"
         "af177091d646a9efae005bdfacb61a1214",
         "8c449fb474d1c1d4d2a33827103b656a"},
        {"d54b6fd94f7cf98fd955517f937e9927f9536caebe148fba1818c1ba46bba3a4",
         "94c4a0c69526196c1377cebf0a2ae0fb4b57797c61bea8eeb0518ca08652d14a5e1bd1b116b1794ac8a476"
         "acbdbbcd4f6142d7b8515bad09ec72f7af",
         "2e1efed4aef3fdd324e098c0a07c0d97f8fd2c748a996ce29861ca042474daea"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t ki[32], fixed[60], want[32], got[32];
        size_t kl = unhex(v[i].ki, ki, sizeof(ki));
        size_t fl = unhex(v[i].fixed, fixed, sizeof(fixed));
        size_t ol = unhex(v[i].ko, want, sizeof(want));
        assert_int_equal(cf_keys_kbkdf_cmac(ki, kl, NULL, 0, fixed, fl, 0, 0, got, ol), CF_OK);
        assert_memory_equal(got, want, ol);
    }
}

/* Our construction rebuilt by hand on plain CMAC: the loop of SP 800-108
 * section 4.1 with [i]32 || label || 0x00 || context || [L]32. */
static void manual_kbkdf(const uint8_t *key, size_t keylen, const char *label, const char *context,
                         uint8_t *out, size_t outlen)
{
    const char *cipher = keylen == 16   ? "AES-128-CBC"
                         : keylen == 24 ? "AES-192-CBC"
                                        : "AES-256-CBC";
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    assert_non_null(mac);
    uint32_t bits = (uint32_t)outlen * 8;
    uint8_t l[4] = {(uint8_t)(bits >> 24), (uint8_t)(bits >> 16), (uint8_t)(bits >> 8),
                    (uint8_t)bits};
    size_t done = 0;
    for (uint32_t i = 1; done < outlen; i++) {
        uint8_t ctr[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        uint8_t zero = 0, block[16];
        size_t blen = 0;
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0),
            OSSL_PARAM_construct_end()};
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        assert_int_equal(EVP_MAC_init(ctx, key, keylen, p), 1);
        assert_int_equal(EVP_MAC_update(ctx, ctr, 4), 1);
        assert_int_equal(EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label)), 1);
        assert_int_equal(EVP_MAC_update(ctx, &zero, 1), 1);
        assert_int_equal(EVP_MAC_update(ctx, (const uint8_t *)context, strlen(context)), 1);
        assert_int_equal(EVP_MAC_update(ctx, l, 4), 1);
        assert_int_equal(EVP_MAC_final(ctx, block, &blen, sizeof(block)), 1);
        EVP_MAC_CTX_free(ctx);
        size_t take = outlen - done < 16 ? outlen - done : 16;
        memcpy(out + done, block, take);
        done += take;
    }
    EVP_MAC_free(mac);
}

static void test_kbkdf_matches_manual_counter_loop(void **state)
{
    (void)state;
    uint8_t key[32];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(0xa0 + 7 * i);
    static const size_t keylens[] = {16, 24, 32};
    static const size_t outlens[] = {8, 16, 24, 32, 40, 64};
    for (size_t k = 0; k < 3; k++)
        for (size_t o = 0; o < sizeof(outlens) / sizeof(outlens[0]); o++) {
            uint8_t a[64], b[64];
            const char *label = "cardforge admin key", *ctx = "00A1B2C3D4E5F607";
            assert_int_equal(cf_keys_kbkdf_cmac(key, keylens[k], (const uint8_t *)label,
                                                strlen(label), (const uint8_t *)ctx, strlen(ctx), 1,
                                                1, a, outlens[o]),
                             CF_OK);
            manual_kbkdf(key, keylens[k], label, ctx, b, outlens[o]);
            assert_memory_equal(a, b, outlens[o]);
        }
}

static cf_err_t master_prf(const void *ctx, const uint8_t *msg, size_t len, uint8_t out[16])
{
    return cf_master_key_cmac(ctx, msg, len, out);
}

/* The engine's own counter loop, one cf_master_key_cmac block at a time
 * (the level where a file key and a token key part), against OpenSSL's
 * KBKDF for every key size, output length and switch of the fixed data. */
static void test_counter_loop_over_master_cmac_matches_openssl_kbkdf(void **state)
{
    (void)state;
    uint8_t key[32];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(0x31 * i + 5);
    static const size_t keylens[] = {16, 24, 32};
    const char *label = "cardforge puk", *ctx = "0123456789ABCDEF";
    for (size_t k = 0; k < 3; k++) {
        cf_secret_t *s = cf_secret_new(key, keylens[k]);
        cf_master_key_t *mk = NULL;
        assert_int_equal(cf_master_key_new("loop", 1, s, &mk), CF_OK);
        for (size_t outlen = 1; outlen <= 64; outlen++)
            for (int flags = 0; flags < 4; flags++) {
                uint8_t a[64], b[64];
                int use_l = flags & 1, sep = (flags >> 1) & 1;
                assert_int_equal(cf_keys_kbkdf_counter(master_prf, mk, (const uint8_t *)label,
                                                       strlen(label), (const uint8_t *)ctx,
                                                       strlen(ctx), use_l, sep, a, outlen),
                                 CF_OK);
                assert_int_equal(cf_keys_kbkdf_cmac(key, keylens[k], (const uint8_t *)label,
                                                    strlen(label), (const uint8_t *)ctx,
                                                    strlen(ctx), use_l, sep, b, outlen),
                                 CF_OK);
                assert_memory_equal(a, b, outlen);
            }
        cf_master_key_free(mk);
        cf_secret_free(s);
    }
}

static int prf_calls;
static cf_err_t failing_prf(const void *ctx, const uint8_t *msg, size_t len, uint8_t out[16])
{
    (void)ctx, (void)msg, (void)len;
    memset(out, 0xAA, 16);
    return ++prf_calls == 2 ? CF_ERR_CRYPTO : CF_OK;
}

static void test_counter_loop_stops_and_wipes_when_a_block_fails(void **state)
{
    (void)state;
    uint8_t out[48];
    prf_calls = 0;
    assert_int_equal(cf_keys_kbkdf_counter(failing_prf, NULL, NULL, 0, NULL, 0, 1, 1, out, 48),
                     CF_ERR_CRYPTO);
    assert_int_equal(prf_calls, 2);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0);
}

static void test_kbkdf_rejects_bad_key_length(void **state)
{
    (void)state;
    uint8_t key[20] = {0}, out[16];
    assert_int_equal(cf_keys_kbkdf_cmac(key, 20, NULL, 0, NULL, 0, 1, 1, out, 16), CF_ERR_ARG);
    assert_int_equal(cf_keys_kbkdf_cmac(key, 16, NULL, 0, NULL, 0, 1, 1, out, 0), CF_ERR_ARG);
}

/* ---- derivation ---------------------------------------------------------- */

static void test_derive_uses_documented_construction(void **state)
{
    (void)state;
    /* cf_keys_derive = KBKDF(master, label of the purpose, normalized serial). */
    static const char *mkhex = "000102030405060708090a0b0c0d0e0f";
    cf_master_key_t *mk = master_hex(mkhex);
    uint8_t key[16], want[32];
    unhex(mkhex, key, sizeof(key));
    cf_secret_t *s = NULL;
    assert_int_equal(
        cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "0a1b-2c3d 4e5f", CF_CARD_KEY_AES256, &s), CF_OK);
    manual_kbkdf(key, 16, "cardforge admin key", "0A1B2C3D4E5F", want, 32);
    assert_int_equal(cf_secret_len(s), 32);
    assert_memory_equal(cf_secret_data(s), want, 32);
    cf_secret_free(s);
    cf_master_key_free(mk);
}

static int parity_odd(uint8_t b)
{
    int ones = 0;
    for (; b; b >>= 1)
        ones += b & 1;
    return ones & 1;
}

static void test_derive_3des_keys_have_odd_parity_and_differ_only_in_parity(void **state)
{
    (void)state;
    cf_master_key_t *mk = master_hex("2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6");
    for (int serial = 0; serial < 50; serial++) {
        char sn[16];
        snprintf(sn, sizeof(sn), "%d", 1000 + serial);
        cf_secret_t *des = NULL, *aes = NULL;
        assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, sn, CF_CARD_KEY_3DES, &des),
                         CF_OK);
        assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, sn, CF_CARD_KEY_AES192, &aes),
                         CF_OK);
        assert_int_equal(cf_secret_len(des), 24);
        for (size_t i = 0; i < 24; i++) {
            assert_true(parity_odd(cf_secret_data(des)[i]));
            assert_int_equal(cf_secret_data(des)[i] & 0xfe, cf_secret_data(aes)[i] & 0xfe);
        }
        cf_secret_free(des);
        cf_secret_free(aes);
    }
    cf_master_key_free(mk);
}

static void test_set_odd_parity_fixes_every_byte_value(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v++) {
        uint8_t b = (uint8_t)v;
        cf_keys_set_odd_parity(&b, 1);
        assert_true(parity_odd(b));
        assert_int_equal(b & 0xfe, v & 0xfe);
    }
}

static void test_derive_separates_serials_purposes_and_masters(void **state)
{
    (void)state;
    cf_master_key_t *m1 = master_hex("00000000000000000000000000000001");
    cf_master_key_t *m2 = master_hex("00000000000000000000000000000002");
    cf_secret_t *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
    assert_int_equal(cf_keys_derive(m1, CF_KEY_PURPOSE_ADMIN, "1234", CF_CARD_KEY_AES128, &a),
                     CF_OK);
    assert_int_equal(cf_keys_derive(m1, CF_KEY_PURPOSE_ADMIN, "1235", CF_CARD_KEY_AES128, &b),
                     CF_OK);
    assert_int_equal(cf_keys_derive(m1, CF_KEY_PURPOSE_PUK, "1234", CF_CARD_KEY_AES128, &c), CF_OK);
    assert_int_equal(cf_keys_derive(m2, CF_KEY_PURPOSE_ADMIN, "1234", CF_CARD_KEY_AES128, &d),
                     CF_OK);
    assert_int_equal(cf_keys_derive(m1, CF_KEY_PURPOSE_ADMIN, "1234", CF_CARD_KEY_AES128, &e),
                     CF_OK);
    assert_false(cf_secret_equal(a, b));
    assert_false(cf_secret_equal(a, c));
    assert_false(cf_secret_equal(a, d));
    assert_true(cf_secret_equal(a, e));
    cf_secret_free(a);
    cf_secret_free(b);
    cf_secret_free(c);
    cf_secret_free(d);
    cf_secret_free(e);
    cf_master_key_free(m1);
    cf_master_key_free(m2);
}

static void test_derive_same_key_for_every_spelling_of_a_serial(void **state)
{
    (void)state;
    cf_master_key_t *mk = master_hex("00112233445566778899aabbccddeeff");
    cf_secret_t *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(
        cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "00a1b2c3d4e5f607", CF_CARD_KEY_3DES, &a), CF_OK);
    assert_int_equal(
        cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "00A1 B2C3 D4E5 F607", CF_CARD_KEY_3DES, &b),
        CF_OK);
    assert_int_equal(
        cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "0A1B2C3D4E5F607", CF_CARD_KEY_3DES, &c), CF_OK);
    assert_true(cf_secret_equal(a, b));
    assert_false(cf_secret_equal(a, c)); /* leading zeros are part of the serial */
    cf_secret_free(a);
    cf_secret_free(b);
    cf_secret_free(c);
    cf_master_key_free(mk);
}

static void test_derive_rejects_bad_serial_type_and_purpose(void **state)
{
    (void)state;
    cf_master_key_t *mk = master_hex("00112233445566778899aabbccddeeff");
    cf_secret_t *s = NULL;
    char long_serial[CF_KEYS_SERIAL_MAX + 2];
    memset(long_serial, '1', sizeof(long_serial) - 1);
    long_serial[sizeof(long_serial) - 1] = 0;
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "12G4", CF_CARD_KEY_3DES, &s),
                     CF_ERR_PARSE);
    assert_null(s);
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "", CF_CARD_KEY_3DES, &s),
                     CF_ERR_PARSE);
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, " - ", CF_CARD_KEY_3DES, &s),
                     CF_ERR_PARSE);
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, long_serial, CF_CARD_KEY_3DES, &s),
                     CF_ERR_PARSE);
    long_serial[CF_KEYS_SERIAL_MAX] = 0; /* exactly the maximum is fine */
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, long_serial, CF_CARD_KEY_3DES, &s),
                     CF_OK);
    cf_secret_free(s);
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "1", (cf_card_key_type_t)9, &s),
                     CF_ERR_ARG);
    assert_int_equal(cf_keys_derive(mk, (cf_key_purpose_t)7, "1", CF_CARD_KEY_3DES, &s),
                     CF_ERR_ARG);
    assert_int_equal(cf_keys_derive(NULL, CF_KEY_PURPOSE_ADMIN, "1", CF_CARD_KEY_3DES, &s),
                     CF_ERR_ARG);
    assert_null(s);
    cf_master_key_free(mk);
}

static void test_derive_digits_are_decimal_stable_and_bounded(void **state)
{
    (void)state;
    cf_master_key_t *mk = master_hex("00112233445566778899aabbccddeeff0011223344556677");
    cf_secret_t *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(cf_keys_derive_digits(mk, CF_KEY_PURPOSE_PUK, "42", 8, &a), CF_OK);
    assert_int_equal(cf_keys_derive_digits(mk, CF_KEY_PURPOSE_PUK, "42", 8, &b), CF_OK);
    assert_int_equal(cf_keys_derive_digits(mk, CF_KEY_PURPOSE_PIN, "42", 8, &c), CF_OK);
    assert_int_equal(cf_secret_len(a), 8);
    assert_int_equal(strspn(cf_secret_str(a), "0123456789"), 8);
    assert_true(cf_secret_equal(a, b));
    assert_false(cf_secret_equal(a, c));
    cf_secret_free(a);
    cf_secret_free(b);
    cf_secret_free(c);
    assert_int_equal(cf_keys_derive_digits(mk, CF_KEY_PURPOSE_PUK, "42", 32, &a), CF_OK);
    assert_int_equal(cf_secret_len(a), 32);
    cf_secret_free(a);
    assert_int_equal(cf_keys_derive_digits(mk, CF_KEY_PURPOSE_PUK, "42", 0, &a), CF_ERR_ARG);
    assert_int_equal(cf_keys_derive_digits(mk, CF_KEY_PURPOSE_PUK, "42", 33, &a), CF_ERR_ARG);
    assert_int_equal(cf_keys_derive_digits(mk, CF_KEY_PURPOSE_PUK, "x", 8, &a), CF_ERR_PARSE);
    assert_null(a);
    cf_master_key_free(mk);
}

static void test_card_key_type_names_round_trip(void **state)
{
    (void)state;
    for (int t = CF_CARD_KEY_3DES2; t <= CF_CARD_KEY_AES256; t++) {
        cf_card_key_type_t back;
        assert_int_equal(
            cf_card_key_type_parse(cf_card_key_type_name((cf_card_key_type_t)t), &back), CF_OK);
        assert_int_equal(back, t);
    }
    cf_card_key_type_t x;
    assert_int_equal(cf_card_key_type_parse("des", &x), CF_ERR_PARSE);
    assert_int_equal(cf_card_key_type_parse(NULL, &x), CF_ERR_PARSE);
    assert_string_equal(cf_card_key_type_name((cf_card_key_type_t)99), "?");
    assert_int_equal(cf_card_key_len((cf_card_key_type_t)99), 0);
    assert_null(cf_key_purpose_label((cf_key_purpose_t)99));
}

/* ---- vectors published in docs/key-derivation.md ------------------------- */

/* Split a markdown table row into at most max cells without backticks and
 * blanks. Returns the number of cells. */
static size_t table_cells(char *line, char **cells, size_t max)
{
    size_t n = 0;
    char *p = strchr(line, '|');
    while (p != NULL && n < max) {
        char *start = p + 1, *end = strchr(start, '|');
        if (end == NULL)
            break;
        *end = 0;
        while (*start == ' ' || *start == '`')
            start++;
        char *e = start + strlen(start);
        while (e > start && (e[-1] == ' ' || e[-1] == '`'))
            *--e = 0;
        cells[n++] = start;
        p = end;
    }
    return n;
}

static cf_key_purpose_t purpose_named(const char *s)
{
    if (strcmp(s, "admin") == 0)
        return CF_KEY_PURPOSE_ADMIN;
    if (strcmp(s, "puk") == 0)
        return CF_KEY_PURPOSE_PUK;
    assert_string_equal(s, "pin");
    return CF_KEY_PURPOSE_PIN;
}

static void check_kdf_row(char **c)
{
    cf_master_key_t *mk = master_hex(c[1]);
    cf_secret_t *s = NULL;
    if (strncmp(c[4], "digits:", 7) == 0) {
        size_t n = (size_t)atoi(c[4] + 7);
        assert_int_equal(cf_keys_derive_digits(mk, purpose_named(c[3]), c[2], n, &s), CF_OK);
        assert_string_equal(cf_secret_str(s), c[5]);
    } else {
        cf_card_key_type_t t;
        assert_int_equal(cf_card_key_type_parse(c[4], &t), CF_OK);
        assert_int_equal(cf_keys_derive(mk, purpose_named(c[3]), c[2], t, &s), CF_OK);
        assert_secret_hex(s, c[5]);
    }
    cf_secret_free(s);
    cf_master_key_free(mk);
}

static void check_response_row(char **c)
{
    cf_master_key_t *mk = master_hex(c[1]);
    cf_card_key_type_t t;
    assert_int_equal(cf_card_key_type_parse(c[3], &t), CF_OK);
    cf_secret_t *key = NULL, *resp = NULL;
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, c[2], t, &key), CF_OK);
    uint8_t ch[16];
    size_t chlen = 0;
    assert_int_equal(cf_keys_parse_hex(c[4], ch, sizeof(ch), &chlen), CF_OK);
    assert_int_equal(cf_keys_unblock_response(key, ch, chlen, &resp), CF_OK);
    char grouped[CF_KEYS_GROUPED_SIZE(16)], check[CF_KEYS_CHECK_SIZE];
    assert_int_equal(cf_keys_group_bytes(cf_secret_data(resp), chlen, grouped, sizeof(grouped)),
                     CF_OK);
    assert_string_equal(grouped, c[5]);
    cf_keys_check_value_bytes(cf_secret_data(resp), chlen, check);
    assert_string_equal(check, c[6]);
    cf_secret_free(key);
    cf_secret_free(resp);
    cf_master_key_free(mk);
}

static void test_published_vectors_in_key_derivation_doc_hold(void **state)
{
    (void)state;
    FILE *f = fopen(CF_SOURCE_DIR "/docs/key-derivation.md", "r");
    assert_non_null(f);
    char line[512];
    int section = 0; /* 1 = KDF vectors, 2 = response vectors */
    size_t kdf_rows = 0, resp_rows = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "<!-- vectors:kdf -->"))
            section = 1;
        else if (strstr(line, "<!-- vectors:response -->"))
            section = 2;
        else if (strstr(line, "<!-- /vectors -->"))
            section = 0;
        if (section == 0 || line[0] != '|')
            continue;
        char *c[8];
        size_t n = table_cells(line, c, 8);
        if (n == 0 || c[0][0] < '0' || c[0][0] > '9')
            continue; /* header or rule */
        if (section == 1) {
            assert_int_equal(n, 6);
            check_kdf_row(c);
            kdf_rows++;
        } else {
            assert_int_equal(n, 7);
            check_response_row(c);
            resp_rows++;
        }
    }
    fclose(f);
    assert_true(kdf_rows >= 8);
    assert_true(resp_rows >= 3);
}

/* ---- unblock response ---------------------------------------------------- */

static void test_unblock_response_matches_gids_reference_table(void **state)
{
    (void)state;
    static const struct {
        const char *key, *ch, *resp;
    } v[] = {
        {"000000000000000000000000000000000000000000000000", "0000000000000000",
         "8CA64DE9C1B123A7"},
        {"000000000000000000000000000000000000000000000000", "0102030405060708",
         "CEAD373DB80EABF8"},
        {"010203040506070801020304050607080102030405060708", "0000000000000000",
         "B073DC3FB209536D"},
        {"010203040506070801020304050607080102030405060708", "0102030405060708",
         "77A7D6BCF57962B9"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cf_secret_t *k = secret_hex(v[i].key), *r = NULL;
        uint8_t ch[8];
        unhex(v[i].ch, ch, sizeof(ch));
        assert_int_equal(cf_keys_unblock_response(k, ch, 8, &r), CF_OK);
        assert_secret_hex(r, v[i].resp);
        cf_secret_free(k);
        cf_secret_free(r);
    }
}

static void test_unblock_response_two_key_3des_is_k1_k2_k1(void **state)
{
    (void)state;
    cf_secret_t *k2 = secret_hex("0123456789abcdeffedcba9876543210");
    cf_secret_t *k3 = secret_hex("0123456789abcdeffedcba98765432100123456789abcdef");
    cf_secret_t *k3x = secret_hex("0123456789abcdeffedcba98765432100123456789abcdee");
    uint8_t ch[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    cf_secret_t *r2 = NULL, *r3 = NULL, *rx = NULL;
    assert_int_equal(cf_keys_unblock_response(k2, ch, 8, &r2), CF_OK);
    assert_int_equal(cf_keys_unblock_response(k3, ch, 8, &r3), CF_OK);
    /* The low bit of each byte is DES parity: changing it changes nothing. */
    assert_int_equal(cf_keys_unblock_response(k3x, ch, 8, &rx), CF_OK);
    assert_true(cf_secret_equal(r2, r3));
    assert_true(cf_secret_equal(r3, rx));
    cf_secret_free(k2);
    cf_secret_free(k3);
    cf_secret_free(k3x);
    cf_secret_free(r2);
    cf_secret_free(r3);
    cf_secret_free(rx);
}

/* FIPS-197 appendix C: plaintext 00112233..ff under keys 000102.. */
static void test_unblock_response_aes_matches_fips197(void **state)
{
    (void)state;
    static const struct {
        const char *key, *resp;
    } v[] = {
        {"000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"},
        {"000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"},
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         "8ea2b7ca516745bfeafc49904b496089"},
    };
    uint8_t ch[16];
    unhex("00112233445566778899aabbccddeeff", ch, sizeof(ch));
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cf_secret_t *k = secret_hex(v[i].key), *r = NULL;
        assert_int_equal(cf_keys_unblock_response(k, ch, 16, &r), CF_OK);
        assert_secret_hex(r, v[i].resp);
        cf_secret_free(k);
        cf_secret_free(r);
    }
}

static void test_unblock_response_rejects_mismatched_lengths(void **state)
{
    (void)state;
    cf_secret_t *k32 =
        secret_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    cf_secret_t *k8 = secret_hex("0001020304050607");
    cf_secret_t *k16 = secret_hex("000102030405060708090a0b0c0d0e0f");
    uint8_t ch[32] = {0};
    cf_secret_t *r = NULL;
    assert_int_equal(cf_keys_unblock_response(k32, ch, 8, &r), CF_ERR_INVALID);
    assert_int_equal(cf_keys_unblock_response(k8, ch, 8, &r), CF_ERR_INVALID);
    assert_int_equal(cf_keys_unblock_response(k16, ch, 12, &r), CF_ERR_INVALID);
    assert_int_equal(cf_keys_unblock_response(k16, ch, 32, &r), CF_ERR_INVALID);
    assert_int_equal(cf_keys_unblock_response(k16, ch, 0, &r), CF_ERR_INVALID);
    assert_int_equal(cf_keys_unblock_response(NULL, ch, 8, &r), CF_ERR_ARG);
    assert_int_equal(cf_keys_unblock_response(k16, NULL, 8, &r), CF_ERR_ARG);
    assert_null(r);
    cf_secret_free(k32);
    cf_secret_free(k8);
    cf_secret_free(k16);
}

/* ---- random values ------------------------------------------------------- */

static void test_random_keys_have_type_length_parity_and_differ(void **state)
{
    (void)state;
    for (int t = CF_CARD_KEY_3DES2; t <= CF_CARD_KEY_AES256; t++) {
        cf_secret_t *a = NULL, *b = NULL;
        assert_int_equal(cf_keys_random_key((cf_card_key_type_t)t, &a), CF_OK);
        assert_int_equal(cf_keys_random_key((cf_card_key_type_t)t, &b), CF_OK);
        assert_int_equal(cf_secret_len(a), cf_card_key_len((cf_card_key_type_t)t));
        assert_false(cf_secret_equal(a, b));
        if (t == CF_CARD_KEY_3DES2 || t == CF_CARD_KEY_3DES)
            for (size_t i = 0; i < cf_secret_len(a); i++)
                assert_true(parity_odd(cf_secret_data(a)[i]));
        cf_secret_free(a);
        cf_secret_free(b);
    }
    cf_secret_t *s = NULL;
    assert_int_equal(cf_keys_random_key((cf_card_key_type_t)9, &s), CF_ERR_ARG);
    assert_null(s);
}

static void test_sample_charset_rejects_biased_bytes_and_is_uniform(void **state)
{
    (void)state;
    /* Every byte value once: exactly 25 of each digit, bytes 250..255 unused. */
    uint8_t all[256];
    for (unsigned i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char out[256];
    size_t got = cf_keys_sample_charset(all, 256, CF_KEYS_DIGITS, 10, out, sizeof(out));
    assert_int_equal(got, 250);
    unsigned count[10] = {0};
    for (size_t i = 0; i < got; i++)
        count[out[i] - '0']++;
    for (int d = 0; d < 10; d++)
        assert_int_equal(count[d], 25);
    uint8_t high[6] = {250, 251, 252, 253, 254, 255};
    assert_int_equal(cf_keys_sample_charset(high, 6, CF_KEYS_DIGITS, 10, out, 6), 0);
    /* A charset dividing 256 rejects nothing; want caps the output. */
    assert_int_equal(cf_keys_sample_charset(high, 6, "0123456789ABCDEF", 16, out, 4), 4);
    assert_int_equal(cf_keys_sample_charset(high, 6, "x", 1, out, 4), 0);
}

static void test_random_pin_uses_only_charset(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        cf_secret_t *p = NULL;
        assert_int_equal(cf_keys_random_pin(8, CF_KEYS_DIGITS, &p), CF_OK);
        assert_int_equal(cf_secret_len(p), 8);
        assert_int_equal(strspn(cf_secret_str(p), CF_KEYS_DIGITS), 8);
        cf_secret_free(p);
    }
    cf_secret_t *p = NULL;
    assert_int_equal(cf_keys_random_pin(127, "ab", &p), CF_OK);
    assert_int_equal(strspn(cf_secret_str(p), "ab"), 127);
    cf_secret_free(p);
}

static void test_random_pin_rejects_bad_length_and_charset(void **state)
{
    (void)state;
    cf_secret_t *p = NULL;
    assert_int_equal(cf_keys_random_pin(0, CF_KEYS_DIGITS, &p), CF_ERR_ARG);
    assert_int_equal(cf_keys_random_pin(128, CF_KEYS_DIGITS, &p), CF_ERR_ARG);
    assert_int_equal(cf_keys_random_pin(4, "7", &p), CF_ERR_ARG);
    assert_int_equal(cf_keys_random_pin(4, "0123456789 0", &p), CF_ERR_ARG);
    assert_int_equal(cf_keys_random_pin(4, NULL, &p), CF_ERR_ARG);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmac_matches_rfc4493_examples),
        cmocka_unit_test(test_kbkdf_matches_nist_cavp_counter_vectors),
        cmocka_unit_test(test_kbkdf_matches_manual_counter_loop),
        cmocka_unit_test(test_kbkdf_rejects_bad_key_length),
        cmocka_unit_test(test_counter_loop_over_master_cmac_matches_openssl_kbkdf),
        cmocka_unit_test(test_counter_loop_stops_and_wipes_when_a_block_fails),
        cmocka_unit_test(test_derive_uses_documented_construction),
        cmocka_unit_test(test_derive_3des_keys_have_odd_parity_and_differ_only_in_parity),
        cmocka_unit_test(test_set_odd_parity_fixes_every_byte_value),
        cmocka_unit_test(test_derive_separates_serials_purposes_and_masters),
        cmocka_unit_test(test_derive_same_key_for_every_spelling_of_a_serial),
        cmocka_unit_test(test_derive_rejects_bad_serial_type_and_purpose),
        cmocka_unit_test(test_derive_digits_are_decimal_stable_and_bounded),
        cmocka_unit_test(test_card_key_type_names_round_trip),
        cmocka_unit_test(test_published_vectors_in_key_derivation_doc_hold),
        cmocka_unit_test(test_unblock_response_matches_gids_reference_table),
        cmocka_unit_test(test_unblock_response_two_key_3des_is_k1_k2_k1),
        cmocka_unit_test(test_unblock_response_aes_matches_fips197),
        cmocka_unit_test(test_unblock_response_rejects_mismatched_lengths),
        cmocka_unit_test(test_random_keys_have_type_length_parity_and_differ),
        cmocka_unit_test(test_sample_charset_rejects_biased_bytes_and_is_uniform),
        cmocka_unit_test(test_random_pin_uses_only_charset),
        cmocka_unit_test(test_random_pin_rejects_bad_length_and_charset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
