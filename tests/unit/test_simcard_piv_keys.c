/*
 * test_simcard_piv_keys.c - the asymmetric keys of the piv and yubikey
 * cards, driven with the raw APDUs yubico-piv-tool and ykman send:
 * GENERATE (47), IMPORT (FE), GENERAL AUTHENTICATE with a slot key (87),
 * GET METADATA of a key slot (F7), ATTEST (F9), the PIN rules, the cost
 * counters, and the key lines of the state file. Every card result is
 * checked with OpenSSL on the host side (signatures verified, ECDH
 * recomputed, attestation chain verified against the test CA).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "simcard_tx.h"

#define SELECT_PIV "00 A4 04 00 05 A0 00 00 03 08"
#define VERIFY_123456 "00 20 00 80 08 31 32 33 34 35 36 FF FF"
#define VERIFY_WRONG "00 20 00 80 08 39 39 39 39 39 39 FF FF"
#define SERIAL 0x01020304u

static const uint8_t default_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                        5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

static cf_simcard_t *new_card_of(const char *type)
{
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new(type, NULL, SERIAL, &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    return c;
}

static cf_simcard_t *new_yk(void)
{
    return new_card_of("yubikey");
}

static void admin(cf_simcard_t *c)
{
    assert_int_equal(tx_piv_mutual(c, default_key), 0x9000);
}

static const char *state(const char *key)
{
    static char buf[40000];
    return tx_state_value(path, key, buf, sizeof(buf));
}

/* The whole answer to a command sent as ykpiv sends it: data in 255-byte
 * links (CLA 10 on all but the last), then GET RESPONSE while 61xx. The
 * data lands in got[0..*got_len). */
static uint8_t got[4096];
static size_t got_len;

static uint16_t send_long(cf_simcard_t *c, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                          size_t n)
{
    uint8_t apdu[5 + 255];
    size_t off = 0;
    uint16_t sw;
    do {
        size_t piece = n - off > 255 ? 255 : n - off;
        apdu[0] = off + piece < n ? 0x10 : 0x00;
        apdu[1] = ins;
        apdu[2] = p1;
        apdu[3] = p2;
        apdu[4] = (uint8_t)piece;
        if (piece > 0)
            memcpy(apdu + 5, data + off, piece);
        sw = tx_raw(c, apdu, 5 + piece);
        off += piece;
        if (off < n && sw != 0x9000)
            return sw;
    } while (off < n);
    got_len = 0;
    for (;;) {
        memcpy(got + got_len, tx_resp, tx_len);
        got_len += tx_len;
        if ((sw >> 8) != 0x61)
            return sw;
        sw = tx_hex(c, "00 C0 00 00 00");
    }
}

/* GENERATE in slot with alg and optional extra template bytes (AA/AB). */
static uint16_t generate(cf_simcard_t *c, uint8_t slot, uint8_t alg, const uint8_t *extra,
                         size_t extra_len)
{
    uint8_t d[16] = {0xAC, (uint8_t)(3 + extra_len), 0x80, 0x01, alg};
    if (extra_len > 0)
        memcpy(d + 5, extra, extra_len);
    return send_long(c, 0x47, 0x00, slot, d, 5 + extra_len);
}

/* The host's EVP_PKEY from a 7F49 answer (or the inner TLVs of F7's 04). */
static EVP_PKEY *public_from(const uint8_t *p, size_t n, int inner)
{
    const uint8_t *v = p, *n_, *e_, *pt;
    size_t vl = n, nl, el, pl;
    if (!inner) {
        assert_int_equal(p[0], 0x7F);
        assert_int_equal(p[1], 0x49);
        size_t hdr = p[2] == 0x82 ? 5 : p[2] == 0x81 ? 4 : 3;
        v = p + hdr;
        vl = n - hdr;
    }
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (v[0] == 0x81) {
        /* 81 82 01 00 <256> 82 03 01 00 01 */
        assert_int_equal(v[1], 0x82);
        nl = 256;
        n_ = v + 4;
        assert_int_equal(v[4 + 256], 0x82);
        el = v[5 + 256];
        e_ = v + 6 + 256;
        assert_int_equal(vl, 6 + 256 + el);
        BIGNUM *bn = BN_bin2bn(n_, (int)nl, NULL), *be = BN_bin2bn(e_, (int)el, NULL);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
        OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
        OSSL_PARAM_free(params);
        BN_free(bn);
        BN_free(be);
    } else {
        assert_int_equal(v[0], 0x86);
        pl = v[1];
        pt = v + 2;
        assert_int_equal(vl, 2 + pl);
        assert_true(pl == 65 || pl == 97);
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        pl == 65 ? "P-256" : "P-384", 0);
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pl);
        OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
        OSSL_PARAM_free(params);
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

/* GENERAL AUTHENTICATE: 7C { 82 00, tag in }; the 82 value lands in got. */
static uint16_t key_op(cf_simcard_t *c, uint8_t alg, uint8_t slot, uint8_t tag, const uint8_t *in,
                       size_t n)
{
    uint8_t d[600];
    size_t i = 0, inner = 2 + (n < 128 ? 2 : n < 256 ? 3 : 4) + n;
    d[i++] = 0x7C;
    if (inner >= 256) {
        d[i++] = 0x82;
        d[i++] = (uint8_t)(inner >> 8);
    } else if (inner >= 128) {
        d[i++] = 0x81;
    }
    d[i++] = (uint8_t)inner;
    d[i++] = 0x82;
    d[i++] = 0x00;
    d[i++] = tag;
    if (n >= 256) {
        d[i++] = 0x82;
        d[i++] = (uint8_t)(n >> 8);
    } else if (n >= 128) {
        d[i++] = 0x81;
    }
    d[i++] = (uint8_t)n;
    memcpy(d + i, in, n);
    uint16_t sw = send_long(c, 0x87, alg, slot, d, i + n);
    if (sw == 0x9000) { /* unwrap 7C L 82 L value */
        size_t off = 1;
        off += got[off] == 0x82 ? 3 : got[off] == 0x81 ? 2 : 1;
        assert_int_equal(got[off], 0x82);
        off++;
        size_t vl = got[off];
        if (vl == 0x81) {
            vl = got[off + 1];
            off += 2;
        } else if (vl == 0x82) {
            vl = (size_t)got[off + 1] << 8 | got[off + 2];
            off += 3;
        } else {
            off += 1;
        }
        assert_int_equal(off + vl, got_len);
        memmove(got, got + off, vl);
        got_len = vl;
    }
    return sw;
}

static const uint8_t hash32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* Sign hash32 with an EC slot and verify the signature on the host. */
static uint16_t ec_sign_and_check(cf_simcard_t *c, uint8_t alg, uint8_t slot, EVP_PKEY *pub)
{
    uint8_t in[48] = {0};
    memcpy(in, hash32, 32);
    uint16_t sw = key_op(c, alg, slot, 0x81, in, alg == 0x11 ? 32 : 48);
    if (sw != 0x9000)
        return sw;
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(v), 1);
    uint8_t sent[48]; /* what key_op sent: hash32, then zeros up to 48 */
    memcpy(sent, hash32, 32);
    memset(sent + 32, 0, 16);
    assert_int_equal(EVP_PKEY_verify(v, got, got_len, sent, alg == 0x11 ? 32 : 48), 1);
    EVP_PKEY_CTX_free(v);
    return sw;
}

/* A raw RSA block below the modulus; the card's m^d, raised to e by the
 * host, must give it back. */
static uint16_t rsa_raw_and_check(cf_simcard_t *c, uint8_t slot, EVP_PKEY *pub)
{
    uint8_t m[256];
    memset(m, 0x5A, sizeof(m));
    m[0] = 0x00;
    uint16_t sw = key_op(c, 0x07, slot, 0x81, m, sizeof(m));
    if (sw != 0x9000)
        return sw;
    assert_int_equal(got_len, 256);
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    uint8_t back[256];
    size_t bl = sizeof(back);
    assert_int_equal(EVP_PKEY_verify_recover_init(v), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(v, RSA_NO_PADDING), 1);
    assert_int_equal(EVP_PKEY_verify_recover(v, back, &bl, got, got_len), 1);
    assert_int_equal(bl, 256);
    assert_memory_equal(back, m, 256);
    EVP_PKEY_CTX_free(v);
    return sw;
}

static EVP_PKEY *gen_ok(cf_simcard_t *c, uint8_t slot, uint8_t alg, const uint8_t *extra,
                        size_t extra_len)
{
    assert_int_equal(generate(c, slot, alg, extra, extra_len), 0x9000);
    return public_from(got, got_len, 0);
}

/* ---- GENERATE ---- */

static void test_generate_needs_management_key(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    assert_int_equal(generate(c, 0x9A, 0x11, NULL, 0), 0x6982);
    assert_int_equal(tx_hex(c, "00 F7 00 9A 00"), 0x6A82); /* still empty */
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);    /* the PIN is not enough */
    assert_int_equal(generate(c, 0x9A, 0x11, NULL, 0), 0x6982);
    cf_simcard_free(c);
}

static void test_generate_p256_answers_the_point_and_persists(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9A, 0x11, NULL, 0);
    assert_int_equal(got_len, 2 + 1 + 2 + 65); /* 7F49 43 86 41 04 X Y */
    assert_int_equal(got[2], 0x43);
    assert_int_equal(cf_simcard_last_cost(c).keygen_ec, 1);
    assert_int_equal(cf_simcard_last_cost(c).nv_writes, 1);
    const char *line = state("key_9A");
    assert_non_null(line);
    assert_memory_equal(line, "eccp256 once never generated ", 29);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    cf_simcard_free(c);

    /* the reloaded card signs with the same key */
    char err[200];
    cf_err_t rc = cf_simcard_load(path, err, sizeof(err), &c);
    if (rc != CF_OK)
        fail_msg("%s", err);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9A, pub), 0x9000);
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

static void test_generate_rsa2048_chained_through_get_response(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    uint8_t d[] = {0x00, 0x47, 0x00, 0x9C, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x07};
    assert_int_equal(tx_raw(c, d, sizeof(d)), 0x6100 | (270 - 256));
    assert_int_equal(tx_len, 256);
    assert_true(memcmp(tx_resp, "\x7F\x49\x82\x01\x09\x81\x82\x01\x00", 9) == 0);
    assert_int_equal(cf_simcard_last_cost(c).keygen_rsa, 1);
    assert_int_equal(tx_hex(c, "00 C0 00 00 00"), 0x9000);
    assert_int_equal(tx_len, 14);
    assert_true(memcmp(tx_resp + 9, "\x82\x03\x01\x00\x01", 5) == 0);
    cf_simcard_free(c);
}

static void test_generate_p384_and_every_retired_slot_on_yubikey(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9D, 0x14, NULL, 0);
    assert_int_equal(got_len, 2 + 1 + 2 + 97);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x14, 0x9D, pub), 0x9000);
    EVP_PKEY_free(pub);
    for (unsigned s = 0x82; s <= 0x95; s++)
        assert_int_equal(generate(c, (uint8_t)s, 0x11, NULL, 0), 0x9000);
    cf_simcard_free(c);
}

static void test_generate_bad_forms(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    assert_int_equal(tx_hex(c, "00 47 01 9A 05 AC 03 80 01 11"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 47 00 9B 05 AC 03 80 01 11"), 0x6B00); /* not a key slot */
    assert_int_equal(tx_hex(c, "00 47 00 F9 05 AC 03 80 01 11"), 0x6B00); /* attestation */
    assert_int_equal(tx_hex(c, "00 47 00 96 05 AC 03 80 01 11"), 0x6B00);
    assert_int_equal(tx_hex(c, "00 47 00 9A 05 AC 03 80 01 06"), 0x6A80); /* RSA-1024 */
    assert_int_equal(tx_hex(c, "00 47 00 9A 05 AC 03 80 01 FF"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 00"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 05 AD 03 80 01 11"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 06 AC 03 80 01 11 00"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 08 AC 06 80 01 11 80 01 11"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 06 AC 04 80 02 00 11"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 08 AC 06 80 01 11 AA 01 04"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 08 AC 06 80 01 11 AB 01 04"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 08 AC 06 80 01 11 AC 01 01"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 05 AC 05 80 01 11"), 0x6A80); /* short */
    assert_int_equal(tx_hex(c, "00 F7 00 9A 00"), 0x6A82);
    assert_int_equal(cf_simcard_last_cost(c).nv_writes, 0);
    cf_simcard_free(c);
}

static void test_standard_card_generates_only_the_four_keys_without_policies(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card_of("piv");
    admin(c);
    assert_int_equal(tx_hex(c, "00 47 00 82 05 AC 03 80 01 11"), 0x6A86); /* retired */
    assert_int_equal(tx_hex(c, "00 47 00 9A 08 AC 06 80 01 11 AA 01 01"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 47 00 9A 08 AC 06 80 01 11 AB 01 01"), 0x6A80);
    EVP_PKEY *pub = gen_ok(c, 0x9E, 0x11, NULL, 0);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9E, pub), 0x9000); /* 9E: no PIN */
    EVP_PKEY_free(pub);
    assert_int_equal(tx_hex(c, "00 FE 11 9A 00"), 0x6D00);
    assert_int_equal(tx_hex(c, "00 F9 9E 00 00"), 0x6D00);
    cf_simcard_free(c);
}

static void test_generate_refused_when_state_unwritable_keeps_old_key(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9E, 0x11, NULL, 0);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(generate(c, 0x9E, 0x11, NULL, 0), 0x6581);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9E, pub), 0x9000);
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

/* ---- PIN rules ---- */

static void test_9a_needs_the_pin_once_per_session(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9A, 0x11, NULL, 0);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9A, pub), 0x6982);
    assert_int_equal(cf_simcard_last_cost(c).private_ec, 0);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9A, pub), 0x9000);
    assert_int_equal(cf_simcard_last_cost(c).private_ec, 1);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9A, pub), 0x9000);
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9A, pub), 0x6982);
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

static void test_9c_needs_the_pin_before_each_use(void **st)
{
    (void)st;
    const char *types[] = {"yubikey", "piv"};
    for (int t = 0; t < 2; t++) {
        cf_simcard_t *c = new_card_of(types[t]);
        admin(c);
        EVP_PKEY *pub = gen_ok(c, 0x9C, 0x11, NULL, 0);
        assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
        assert_int_equal(ec_sign_and_check(c, 0x11, 0x9C, pub), 0x9000);
        assert_int_equal(ec_sign_and_check(c, 0x11, 0x9C, pub), 0x6982);
        assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
        assert_int_equal(ec_sign_and_check(c, 0x11, 0x9C, pub), 0x9000);
        EVP_PKEY_free(pub);
        cf_simcard_free(c);
    }
}

static void test_pin_always_survives_other_commands_until_the_use(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9C, 0x11, NULL, 0);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    /* OpenSC reads the discovery object at each transaction */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9C, pub), 0x9000);
    /* a wrong VERIFY after a right one takes the PIN away again */
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9C, pub), 0x6982);
    /* and so does VERIFY's log-out form */
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 FF 80 00"), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9C, pub), 0x6982);
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

static void test_wrong_pin_refuses_the_key_without_using_it(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9D, 0x11, NULL, 0);
    assert_int_equal(tx_hex(c, VERIFY_WRONG), 0x63C2);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9D, pub), 0x6982);
    assert_int_equal(cf_simcard_last_cost(c).private_ec, 0);
    assert_int_equal(tx_len, 0);
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

static void test_yubikey_pin_policy_tag_overrides_the_slot_default(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    static const uint8_t never[] = {0xAA, 0x01, 0x01}, always[] = {0xAA, 0x01, 0x03};
    static const uint8_t touch[] = {0xAB, 0x01, 0x02};
    EVP_PKEY *a = gen_ok(c, 0x9A, 0x11, never, sizeof(never));
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9A, a), 0x9000);
    EVP_PKEY *b = gen_ok(c, 0x9E, 0x11, always, sizeof(always));
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9E, b), 0x6982);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9E, b), 0x9000);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9E, b), 0x6982);
    EVP_PKEY *t = gen_ok(c, 0x82, 0x11, touch, sizeof(touch));
    assert_int_equal(tx_hex(c, "00 F7 00 82 00"), 0x9000);
    assert_true(memcmp(tx_resp, "\x01\x01\x11\x02\x02\x02\x02\x03\x01\x01", 10) == 0);
    assert_int_equal(tx_hex(c, "00 F7 00 9E 00"), 0x9000);
    assert_true(memcmp(tx_resp, "\x01\x01\x11\x02\x02\x03\x01\x03\x01\x01", 10) == 0);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(t);
    cf_simcard_free(c);
}

/* ---- private-key operations ---- */

static void test_rsa_raw_operation_signs_and_decrypts(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9D, 0x07, NULL, 0);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(rsa_raw_and_check(c, 0x9D, pub), 0x9000);
    /* decryption: a PKCS#1 v1.5 block made by the host, unpadded by it */
    uint8_t ct[256], msg[] = "session key";
    size_t cl = sizeof(ct);
    EVP_PKEY_CTX *e = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(e), 1);
    assert_int_equal(EVP_PKEY_encrypt(e, ct, &cl, msg, sizeof(msg)), 1);
    EVP_PKEY_CTX_free(e);
    assert_int_equal(key_op(c, 0x07, 0x9D, 0x81, ct, cl), 0x9000);
    assert_int_equal(got_len, 256);
    assert_int_equal(got[0], 0x00);
    assert_int_equal(got[1], 0x02);
    assert_memory_equal(got + 256 - sizeof(msg), msg, sizeof(msg));
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

static void test_ecdh_gives_the_shared_x_coordinate(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9D, 0x11, NULL, 0);
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t pt[65], want[32];
    size_t pl = 0, wl = sizeof(want);
    assert_int_equal(
        EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl), 1);
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    assert_int_equal(EVP_PKEY_derive_init(d), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(d, pub), 1);
    assert_int_equal(EVP_PKEY_derive(d, want, &wl), 1);
    EVP_PKEY_CTX_free(d);
    assert_int_equal(key_op(c, 0x11, 0x9D, 0x85, pt, pl), 0x6982); /* 9D: PIN once */
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    assert_int_equal(key_op(c, 0x11, 0x9D, 0x85, pt, pl), 0x9000);
    assert_int_equal(got_len, 32);
    assert_memory_equal(got, want, 32);
    pt[64] ^= 1; /* off the curve */
    assert_int_equal(key_op(c, 0x11, 0x9D, 0x85, pt, pl), 0x6A80);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

static void test_key_operation_errors(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    uint8_t b[300];
    memset(b, 0x11, sizeof(b));
    assert_int_equal(key_op(c, 0x11, 0x9A, 0x81, b, 32), 0x6A88); /* empty slot */
    assert_int_equal(key_op(c, 0x11, 0x80, 0x81, b, 32), 0x6A88); /* not a key */
    assert_int_equal(key_op(c, 0x11, 0xF9, 0x81, b, 32), 0x6A88); /* attestation key */
    EVP_PKEY *ec = gen_ok(c, 0x9A, 0x11, NULL, 0);
    EVP_PKEY *rsa = gen_ok(c, 0x9D, 0x07, NULL, 0);
    assert_int_equal(key_op(c, 0x14, 0x9A, 0x81, b, 32), 0x6A86); /* algorithm */
    assert_int_equal(key_op(c, 0x11, 0x9A, 0x81, b, 33), 0x6A80); /* hash too long */
    assert_int_equal(key_op(c, 0x11, 0x9A, 0x85, b, 33), 0x6A80); /* point length */
    assert_int_equal(key_op(c, 0x07, 0x9D, 0x81, b, 255), 0x6A80);
    assert_int_equal(key_op(c, 0x07, 0x9D, 0x81, b, 257), 0x6A80);
    assert_int_equal(key_op(c, 0x07, 0x9D, 0x85, b, 256), 0x6A80); /* no ECDH with RSA */
    memset(b, 0xFF, 256);
    assert_int_equal(key_op(c, 0x07, 0x9D, 0x81, b, 256), 0x6A80);           /* not below n */
    assert_int_equal(tx_hex(c, "00 87 11 9A 04 7C 02 81 01 00"), 0x6A80);    /* no 82 */
    assert_int_equal(tx_hex(c, "00 87 11 9A 06 7C 04 82 00 82 00"), 0x6A80); /* no 81 */
    assert_int_equal(tx_hex(c, "00 87 11 9A 09 7C 07 82 00 81 01 00 85 00"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 87 11 9A 06 7C 05 82 00 81 01"), 0x6A80); /* truncated */
    assert_int_equal(tx_hex(c, "00 87 11 9A 07 7D 05 82 00 81 01 00"), 0x6A80);
    /* a hash shorter than the field is left-padded, as clients do */
    assert_int_equal(key_op(c, 0x11, 0x9A, 0x81, hash32, 20), 0x9000);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    cf_simcard_free(c);
}

/* ---- IMPORT ---- */

/* Append TLV t with the BN's value, zero-left-padded to width. */
static size_t put_bn(uint8_t *d, size_t i, uint8_t t, const BIGNUM *bn, int width)
{
    d[i++] = t;
    if (width >= 128)
        d[i++] = 0x81;
    d[i++] = (uint8_t)width;
    assert_true(BN_bn2binpad(bn, d + i, width) == width);
    return i + (size_t)width;
}

static size_t ec_import_data(EVP_PKEY *k, uint8_t *d, int width)
{
    BIGNUM *priv = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
    size_t n = put_bn(d, 0, 0x06, priv, width);
    BN_clear_free(priv);
    return n;
}

static size_t rsa_import_data(EVP_PKEY *k, uint8_t *d)
{
    static const char *const names[5] = {
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    size_t i = 0;
    for (int t = 0; t < 5; t++) {
        BIGNUM *bn = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(k, names[t], &bn), 1);
        i = put_bn(d, i, (uint8_t)(t + 1), bn, 128);
        BN_clear_free(bn);
    }
    return i;
}

static void test_import_ec_key_then_sign_and_report_origin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t d[64];
    size_t n = ec_import_data(k, d, 32);
    d[n++] = 0xAA;
    d[n++] = 0x01;
    d[n++] = 0x01; /* PIN never */
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9A, d, n), 0x9000);
    assert_int_equal(tx_len, 0);
    assert_int_equal(ec_sign_and_check(c, 0x11, 0x9A, k), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 9A 00"), 0x9000);
    assert_true(
        memcmp(tx_resp, "\x01\x01\x11\x02\x02\x01\x01\x03\x01\x02\x04\x43\x86\x41\x04", 15) == 0);
    EVP_PKEY_free(k);
    cf_simcard_free(c);
}

static void test_import_rsa_crt_key_then_sign(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    uint8_t d[700];
    size_t n = rsa_import_data(k, d);
    assert_int_equal(send_long(c, 0xFE, 0x07, 0x9E, d, n), 0x9000);
    assert_int_equal(rsa_raw_and_check(c, 0x9E, k), 0x9000);
    /* an inconsistent set of parts (q's last byte changed) is refused */
    d[3 + 128 + 3 + 127] ^= 0x02;
    assert_int_equal(send_long(c, 0xFE, 0x07, 0x9C, d, n), 0x6A80);
    assert_int_equal(tx_hex(c, "00 F7 00 9C 00"), 0x6A82);
    EVP_PKEY_free(k);
    cf_simcard_free(c);
}

static void test_import_errors(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t d[80];
    size_t n = ec_import_data(k, d, 32);
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9A, d, n), 0x6982); /* no 9B */
    admin(c);
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9B, d, n), 0x6B00);
    assert_int_equal(send_long(c, 0xFE, 0x11, 0xF9, d, n), 0x6B00);
    assert_int_equal(send_long(c, 0xFE, 0x06, 0x9A, d, n), 0x6A86);
    assert_int_equal(send_long(c, 0xFE, 0x07, 0x9A, d, n), 0x6A80); /* EC parts for RSA */
    /* a shorter scalar is a valid P-384 key too (left-padded) */
    assert_int_equal(send_long(c, 0xFE, 0x14, 0x9A, d, n), 0x9000);
    uint8_t zero[34] = {0x06, 0x20};
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9A, zero, sizeof(zero)), 0x6A80);
    uint8_t big[34] = {0x06, 0x20};
    memset(big + 2, 0xFF, 32); /* above the group order */
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9A, big, sizeof(big)), 0x6A80);
    uint8_t longer[35] = {0x06, 0x21, 0x01};
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9A, longer, sizeof(longer)), 0x6A80);
    d[n++] = 0xAA;
    d[n++] = 0x01;
    d[n++] = 0x07;
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9A, d, n), 0x6A80); /* bad PIN policy */
    d[n - 1] = 0x02;
    d[n++] = 0x06;
    d[n++] = 0x01;
    d[n++] = 0x01;
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9A, d, n), 0x6A80); /* 06 twice */
    assert_int_equal(tx_hex(c, "00 FE 11 9A 00"), 0x6A80);
    EVP_PKEY_free(k);
    cf_simcard_free(c);
}

/* ---- metadata ---- */

static void test_metadata_of_a_generated_key_carries_its_public_key(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    assert_int_equal(generate(c, 0x9D, 0x07, NULL, 0), 0x9000);
    uint8_t pubtlv[300];
    size_t pl = got_len - 5; /* 7F49 82 01 09 */
    memcpy(pubtlv, got + 5, pl);
    assert_int_equal(send_long(c, 0xF7, 0x00, 0x9D, NULL, 0), 0x9000);
    /* 01 01 07, 02 02 02 01 (once, never), 03 01 01 (generated), 04 82 01 09 ... */
    assert_true(memcmp(got, "\x01\x01\x07\x02\x02\x02\x01\x03\x01\x01\x04\x82\x01\x09", 14) == 0);
    assert_int_equal(got_len, 14 + pl);
    assert_memory_equal(got + 14, pubtlv, pl);
    assert_int_equal(tx_hex(c, "00 F7 00 95 00"), 0x6A82);
    cf_simcard_free(c);
}

/* ---- attestation ---- */

static X509 *der_cert(const uint8_t *p, size_t n)
{
    const uint8_t *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    assert_non_null(x);
    assert_ptr_equal(q, p + n);
    return x;
}

static void expect_ext(X509 *x, const char *oid, const uint8_t *val, size_t len)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int i = X509_get_ext_by_OBJ(x, o, -1);
    ASN1_OBJECT_free(o);
    assert_true(i >= 0);
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(x, i));
    assert_int_equal(ASN1_STRING_length(v), len);
    assert_memory_equal(ASN1_STRING_get0_data(v), val, len);
}

static void test_attestation_chains_to_the_test_ca(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    admin(c);
    EVP_PKEY *pub = gen_ok(c, 0x9A, 0x11, NULL, 0);
    assert_int_equal(send_long(c, 0xF9, 0x9A, 0x00, NULL, 0), 0x9000);
    X509 *leaf = der_cert(got, got_len);
    assert_non_null(state("key_F9"));
    assert_non_null(state("obj_5FFF01"));
    /* the F9 certificate, as yubico-piv-tool -a read-certificate -s f9 reads it */
    assert_int_equal(send_long(c, 0xCB, 0x3F, 0xFF, (const uint8_t *)"\x5C\x03\x5F\xFF\x01", 5),
                     0x9000);
    assert_int_equal(got[0], 0x53);
    size_t hdr = got[1] == 0x82 ? 4 : got[1] == 0x81 ? 3 : 2;
    assert_int_equal(got[hdr], 0x70);
    size_t ch = got[hdr + 1] == 0x82 ? 4 : got[hdr + 1] == 0x81 ? 3 : 2;
    size_t cl = got[hdr + 1] == 0x82   ? ((size_t)got[hdr + 2] << 8 | got[hdr + 3])
                : got[hdr + 1] == 0x81 ? got[hdr + 2]
                                       : got[hdr + 1];
    X509 *f9 = der_cert(got + hdr + ch, cl);

    char *pem = NULL;
    assert_int_equal(cf_simcard_attestation_ca_pem(&pem), CF_OK);
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    assert_non_null(ca);

    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, f9);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
    assert_int_equal(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);

    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "YubiKey PIV Attestation 9a");
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), pub), 1);
    expect_ext(leaf, "1.3.6.1.4.1.41482.3.3", (const uint8_t *)"\x05\x04\x03", 3);
    expect_ext(leaf, "1.3.6.1.4.1.41482.3.7", (const uint8_t *)"\x02\x04\x01\x02\x03\x04", 6);
    expect_ext(leaf, "1.3.6.1.4.1.41482.3.8", (const uint8_t *)"\x02\x01", 2);
    expect_ext(leaf, "1.3.6.1.4.1.41482.3.9", (const uint8_t *)"\x01", 1);
    X509_free(leaf);
    X509_free(f9);
    X509_free(ca);
    EVP_PKEY_free(pub);
    cf_simcard_free(c);
}

static void test_attestation_errors(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    assert_int_equal(tx_hex(c, "00 F9 9A 00 00"), 0x6A88); /* empty */
    assert_int_equal(tx_hex(c, "00 F9 9B 00 00"), 0x6A88);
    assert_int_equal(tx_hex(c, "00 F9 F9 00 00"), 0x6A88);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t d[40];
    size_t n = ec_import_data(k, d, 32);
    assert_int_equal(send_long(c, 0xFE, 0x11, 0x9C, d, n), 0x9000);
    assert_int_equal(tx_hex(c, "00 F9 9C 00 00"), 0x6A80); /* imported */
    assert_int_equal(generate(c, 0x9A, 0x11, NULL, 0), 0x9000);
    assert_int_equal(tx_hex(c, "00 F9 9A 01 00"), 0x6A86);
    assert_int_equal(tx_hex(c, "00 F9 9A 00 01 00"), 0x6700);
    assert_int_equal(send_long(c, 0xF9, 0x9A, 0x00, NULL, 0), 0x9000);
    assert_int_equal(got[0], 0x30);
    EVP_PKEY_free(k);
    cf_simcard_free(c);
}

static void test_attestation_certificate_is_remade_for_the_existing_key(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    assert_int_equal(send_long(c, 0xF7, 0x00, 0xF9, NULL, 0), 0x9000); /* makes key + cert */
    uint8_t pub[100];
    size_t pl = got_len - 10; /* after 01 01 11 02 02 01 01 03 01 02: 04 L 86 41 ... */
    memcpy(pub, got + 10, pl);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 07 5C 03 5F FF 01 53 00"), 0x9000); /* delete */
    assert_int_equal(send_long(c, 0xCB, 0x3F, 0xFF, (const uint8_t *)"\x5C\x03\x5F\xFF\x01", 5),
                     0x9000);
    size_t hdr = got[1] == 0x82 ? 4 : got[1] == 0x81 ? 3 : 2;
    size_t ch = got[hdr + 1] == 0x82 ? 4 : got[hdr + 1] == 0x81 ? 3 : 2;
    X509 *f9 = der_cert(got + hdr + ch, got_len - hdr - ch - 5);
    EVP_PKEY *same = public_from(pub + 2, pl - 2, 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(f9), same), 1);
    assert_int_equal(send_long(c, 0xF7, 0x00, 0xF9, NULL, 0), 0x9000);
    assert_memory_equal(got + 10, pub, pl); /* the key did not change */
    EVP_PKEY_free(same);
    X509_free(f9);
    cf_simcard_free(c);
}

/* ---- RESET and the state file ---- */

static void test_reset_deletes_slot_keys_and_keeps_attestation(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    admin(c);
    assert_int_equal(generate(c, 0x9A, 0x11, NULL, 0), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 F9 00"), 0x9000); /* makes the F9 key */
    char f9[4000];
    snprintf(f9, sizeof(f9), "%s", state("key_F9"));
    for (int i = 0; i < 3; i++) {
        tx_hex(c, VERIFY_WRONG);
        tx_hex(c, "00 2C 00 80 10 39 39 39 39 39 39 39 39 31 32 33 34 35 36 FF FF");
    }
    assert_int_equal(tx_hex(c, "00 FB 00 00 00"), 0x9000);
    assert_null(state("key_9A"));
    assert_string_equal(state("key_F9"), f9);
    assert_int_equal(tx_hex(c, "00 F7 00 9A 00"), 0x6A82);
    cf_simcard_free(c);
}

static void test_state_file_without_keys_loads_with_empty_slots(void **st)
{
    (void)st;
    char p[200], err[200];
    tx_write_file(dir, "other", "type=piv\nfactory=default\nserial=7\npin=313233343536\n", p,
                  sizeof(p));
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_load(p, err, sizeof(err), &c), CF_OK);
    assert_string_equal(cf_simcard_type(c), "yubikey");
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 9A 00"), 0x6A82);
    assert_int_equal(tx_hex(c, "00 F7 00 F9 00"), 0x9000); /* made on first use */
    cf_simcard_free(c);
}

static void test_load_rejects_bad_key_lines(void **st)
{
    (void)st;
    /* a real key line to start from */
    cf_simcard_t *c = new_yk();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    admin(c);
    assert_int_equal(generate(c, 0x9A, 0x11, NULL, 0), 0x9000);
    cf_simcard_free(c);
    static char good[4000];
    snprintf(good, sizeof(good), "%s", state("key_9A"));
    const char *hex = strrchr(good, ' ') + 1;
    struct {
        const char *type, *key, *prefix;
        int hex;
        const char *msg;
    } cases[] = {
        {"yubikey", "key_9A", "eccp384 once never generated ", 1, "not a eccp384"},
        {"yubikey", "key_9A", "rsa2048 once never generated ", 1, "not a rsa2048"},
        {"yubikey", "key_9A", "eccp256 sometimes never generated ", 1, "expected ALG"},
        {"yubikey", "key_9A", "eccp256 once never bought ", 1, "expected ALG"},
        {"yubikey", "key_9A", "eccp256 once never generated ", 0, "not a eccp256"},
        {"yubikey", "key_9A", "eccp256 once never", 0, "expected ALG"},
        {"yubikey", "key_9B", "eccp256 once never generated ", 1, "no such key slot"},
        {"yubikey", "key_9", "eccp256 once never generated ", 1, "no such key slot"},
        {"piv", "key_82", "eccp256 once never generated ", 1, "no such key slot"},
        {"piv", "key_F9", "eccp256 once never generated ", 1, "no such key slot"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[5000], p[200], err[300];
        snprintf(text, sizeof(text), "type=%s\nquirks=\nfactory=default\nserial=7\n%s=%s%s\n",
                 cases[i].type, cases[i].key, cases[i].prefix, cases[i].hex ? hex : "3000");
        tx_write_file(dir, "bad", text, p, sizeof(p));
        cf_simcard_t *b = NULL;
        assert_int_equal(cf_simcard_load(p, err, sizeof(err), &b), CF_ERR_PARSE);
        assert_non_null(strstr(err, cases[i].msg));
        assert_null(strstr(err, hex)); /* the key never reaches a message */
    }
}

static void test_retired_certificate_objects_hold_the_largest_object(void **st)
{
    (void)st;
    cf_simcard_t *c = new_yk();
    admin(c);
    static uint8_t d[3100];
    size_t n = 0;
    memcpy(d, "\x5C\x03\x5F\xC1\x20\x53\x82\x0B\xFC", 9); /* 3068 bytes */
    n = 9 + 3068;
    memset(d + 9, 0xA5, 3068);
    assert_int_equal(send_long(c, 0xDB, 0x3F, 0xFF, d, n), 0x9000);
    assert_int_equal(send_long(c, 0xCB, 0x3F, 0xFF, (const uint8_t *)"\x5C\x03\x5F\xC1\x20", 5),
                     0x9000);
    assert_int_equal(got_len, 4 + 3068);
    d[8] = 0xFD; /* 3069 */
    d[9 + 3068] = 0xA5;
    assert_int_equal(send_long(c, 0xDB, 0x3F, 0xFF, d, n + 1), 0x6A84);
    cf_simcard_free(c);
}

#define T(f) cmocka_unit_test(f)
#define TS(f) cmocka_unit_test_setup_teardown(f, with_dir, without_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_generate_needs_management_key),
        TS(test_generate_p256_answers_the_point_and_persists),
        T(test_generate_rsa2048_chained_through_get_response),
        T(test_generate_p384_and_every_retired_slot_on_yubikey),
        T(test_generate_bad_forms),
        T(test_standard_card_generates_only_the_four_keys_without_policies),
        TS(test_generate_refused_when_state_unwritable_keeps_old_key),
        T(test_9a_needs_the_pin_once_per_session),
        T(test_9c_needs_the_pin_before_each_use),
        T(test_pin_always_survives_other_commands_until_the_use),
        T(test_wrong_pin_refuses_the_key_without_using_it),
        T(test_yubikey_pin_policy_tag_overrides_the_slot_default),
        T(test_rsa_raw_operation_signs_and_decrypts),
        T(test_ecdh_gives_the_shared_x_coordinate),
        T(test_key_operation_errors),
        T(test_import_ec_key_then_sign_and_report_origin),
        T(test_import_rsa_crt_key_then_sign),
        T(test_import_errors),
        T(test_metadata_of_a_generated_key_carries_its_public_key),
        TS(test_attestation_chains_to_the_test_ca),
        T(test_attestation_errors),
        T(test_attestation_certificate_is_remade_for_the_existing_key),
        TS(test_reset_deletes_slot_keys_and_keeps_attestation),
        TS(test_state_file_without_keys_loads_with_empty_slots),
        TS(test_load_rejects_bad_key_lines),
        T(test_retired_certificate_objects_hold_the_largest_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
