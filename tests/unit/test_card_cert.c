/*
 * test_card_cert.c - the certificate operations of cert.h on the virtual
 * PIV cards (yubikey and standard piv) through the in-process reader:
 * every change checked by another route (a fresh read, GET METADATA, a
 * signature verified with OpenSSL, the card's own state file), every
 * refusal checked to have sent nothing that changes the card.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cardforge/cert.h>

#include "card/card_cert_int.h"
#include "card_fixture.h"

#define DEFAULT_KEY "010203040506070801020304050607080102030405060708"

static void open_card(struct fx *f, const char *type)
{
    cf_err_t err = fx_open(f, type, NULL, 12345678, NULL);
    if (err != CF_OK)
        fprintf(stderr, "%s\n", f->errbuf);
    assert_int_equal(err, CF_OK);
}

static void login(struct fx *f, int admin)
{
    assert_int_equal(cf_card_verify_pin(f->card, fx_s(f, "123456")), CF_OK);
    if (admin)
        assert_int_equal(cf_card_admin_auth(f->card, fx_h(f, DEFAULT_KEY), 0), CF_OK);
}

/* A certificate for the public key spki, issued by a throw-away CA key,
 * valid from now + from_days to now + to_days. Caller frees. */
static uint8_t *issue(const uint8_t *spki, size_t sl, long from_days, long to_days, size_t *len)
{
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)sl);
    EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    assert_non_null(pub);
    assert_non_null(ca);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4711);
    X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Card Holder", -1, -1,
                               0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, pub);
    assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int dl = i2d_X509(x, &der);
    assert_true(dl > 0);
    uint8_t *out = malloc((size_t)dl);
    memcpy(out, der, (size_t)dl);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(ca);
    *len = (size_t)dl;
    return out;
}

static int verify(const uint8_t *spki, size_t sl, const uint8_t *dg, const uint8_t *sig, size_t sgl)
{
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)sl);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    int ok = EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1;
    if (ok && EVP_PKEY_is_a(pub, "RSA"))
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_PKEY_verify(c, sig, sgl, dg, 32) == 1;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pub);
    return ok;
}

static void generate_write_read_sign(const char *type, cf_key_alg_t alg)
{
    struct fx f;
    open_card(&f, type);
    login(&f, 1);
    uint8_t *spki = NULL;
    size_t sl = 0;
    cf_keygen_t g = {.alg = alg};
    cf_err_t ge = cf_cert_generate(f.card, "9a", &g, &spki, &sl, NULL);
    if (ge != CF_OK)
        fprintf(stderr, "%s\n", cf_card_errmsg(f.card));
    assert_int_equal(ge, CF_OK);
    assert_true(fx_state(&f, "key_9A") != NULL);
    size_t dl = 0;
    uint8_t *der = issue(spki, sl, -1, 365, &dl);
    assert_int_equal(cf_cert_check_pair(f.card, "9a", der, dl), CF_OK);
    assert_int_equal(cf_cert_write(f.card, "9a", der, dl), CF_OK);
    uint8_t *back = NULL;
    size_t bl = 0;
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    assert_int_equal(cf_cert_read(f.card, "9a", &back, &bl), CF_OK);
    assert_int_equal(bl, dl);
    assert_memory_equal(back, der, dl);

    cf_key_slot_t slots[CF_CERT_MAX_SLOTS];
    size_t n = 0;
    assert_int_equal(cf_cert_slots(f.card, 0, slots, CF_CERT_MAX_SLOTS, &n), CF_OK);
    assert_int_equal(n, 1);
    assert_string_equal(slots[0].name, "9a");
    assert_int_equal(slots[0].has_cert, 1);
    assert_int_equal(slots[0].alg, alg);
    assert_int_equal(slots[0].key, strcmp(type, "yubikey") == 0 ? CF_KEY_PRESENT : CF_KEY_UNKNOWN);
    assert_int_equal(slots[0].is_default, 0);

    /* a signature by the card verifies with the certificate's key */
    login(&f, 0);
    uint8_t dg[32], *sig = NULL;
    size_t sgl = 0;
    SHA256((const unsigned char *)"to be signed", 12, dg);
    assert_int_equal(cf_cert_sign(f.card, "9a", "sha256", dg, sizeof(dg), &sig, &sgl), CF_OK);
    assert_true(verify(spki, sl, dg, sig, sgl));
    free(sig);
    free(back);
    free(der);
    free(spki);
    fx_close(&f);
}

static void test_yubikey_generate_rsa_write_read_list_sign(void **state)
{
    (void)state;
    generate_write_read_sign("yubikey", CF_KEYALG_RSA2048);
}

static void test_yubikey_generate_p256_write_read_list_sign(void **state)
{
    (void)state;
    generate_write_read_sign("yubikey", CF_KEYALG_ECCP256);
}

static void test_piv_generate_p384_write_read_list_sign(void **state)
{
    (void)state;
    generate_write_read_sign("piv", CF_KEYALG_ECCP384);
}

static void test_changes_without_pin_or_admin_send_nothing(void **state)
{
    (void)state;
    struct fx f;
    open_card(&f, "yubikey");
    uint64_t before = cf_transport_apdu_count(f.t);
    cf_keygen_t g = {.alg = CF_KEYALG_ECCP256};
    assert_int_equal(cf_cert_generate(f.card, "9a", &g, NULL, NULL, NULL), CF_ERR_REFUSED);
    assert_non_null(strstr(cf_card_errmsg(f.card), "PIN must be verified"));
    assert_int_equal(cf_cert_delete(f.card, "9a", 0), CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), before);
    /* PIN alone: PIV wants the management key for writes */
    login(&f, 0);
    before = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_cert_generate(f.card, "9a", &g, NULL, NULL, NULL), CF_ERR_REFUSED);
    assert_non_null(strstr(cf_card_errmsg(f.card), "management key"));
    assert_int_equal(cf_transport_apdu_count(f.t), before);
    assert_int_equal(cf_card_last_write(f.card), CF_WRITE_NONE);
    /* a reselect ends the PIN state */
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, DEFAULT_KEY), 0), CF_OK);
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    assert_int_equal(cf_cert_generate(f.card, "9a", &g, NULL, NULL, NULL), CF_ERR_REFUSED);
    assert_null(fx_state(&f, "key_9A"));
    fx_close(&f);
}

static void test_bad_slots_and_piv_refusals_are_clear(void **state)
{
    (void)state;
    struct fx f;
    open_card(&f, "piv");
    login(&f, 1);
    uint64_t before = cf_transport_apdu_count(f.t);
    uint8_t *der = NULL;
    size_t dl = 0;
    assert_int_equal(cf_cert_read(f.card, "9b", &der, &dl), CF_ERR_ARG);
    assert_int_equal(cf_cert_read(f.card, "82", &der, &dl),
                     CF_ERR_ARG); /* not on a standard card */
    assert_int_equal(cf_cert_set_default(f.card, "9a"), CF_ERR_UNSUPPORTED);
    assert_non_null(strstr(cf_card_errmsg(f.card), "no default container"));
    assert_int_equal(cf_cert_delete(f.card, "9a", 1), CF_ERR_UNSUPPORTED);
    cf_keygen_t g = {.alg = CF_KEYALG_ECCP256, .pin_policy = 3};
    assert_int_equal(cf_cert_generate(f.card, "9a", &g, NULL, NULL, NULL), CF_ERR_UNSUPPORTED);
    cf_secret_t *k = fx_s(&f, "not a key");
    assert_int_equal(cf_cert_import_key(f.card, "9a", k, NULL, NULL), CF_ERR_UNSUPPORTED);
    assert_non_null(strstr(cf_card_errmsg(f.card), "no import command"));
    assert_int_equal(cf_transport_apdu_count(f.t), before);
    /* empty slot: read and delete say not found */
    assert_int_equal(cf_cert_read(f.card, "9c", &der, &dl), CF_ERR_NOT_FOUND);
    assert_int_equal(cf_cert_delete(f.card, "9c", 0), CF_ERR_NOT_FOUND);
    assert_int_equal(cf_card_last_write(f.card), CF_WRITE_NONE);
    /* damaged DER is refused before anything is sent */
    uint8_t junk[] = {0x30, 0x82, 0x01, 0x00, 0x01};
    before = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_cert_write(f.card, "9a", junk, sizeof(junk)), CF_ERR_PARSE);
    assert_int_equal(cf_transport_apdu_count(f.t), before);
    fx_close(&f);
}

static void test_mismatching_certificate_is_detected(void **state)
{
    (void)state;
    const char *types[] = {"yubikey", "piv"};
    for (size_t t = 0; t < 2; t++) {
        struct fx f;
        open_card(&f, types[t]);
        login(&f, 1);
        cf_keygen_t g = {.alg = CF_KEYALG_ECCP256};
        assert_int_equal(cf_cert_generate(f.card, "9d", &g, NULL, NULL, NULL), CF_OK);
        EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        unsigned char *spki = NULL;
        int sl = i2d_PUBKEY(other, &spki);
        size_t dl = 0;
        uint8_t *der = issue(spki, (size_t)sl, -1, 30, &dl);
        login(&f, 0);
        assert_int_equal(cf_cert_check_pair(f.card, "9d", der, dl), CF_ERR_INVALID);
        assert_non_null(strstr(cf_card_errmsg(f.card), "does not match"));
        /* and an empty slot has no key to match */
        assert_int_equal(cf_cert_check_pair(f.card, "9e", der, dl),
                         t == 0 ? CF_ERR_INVALID : CF_ERR_NOT_FOUND);
        free(der);
        OPENSSL_free(spki);
        EVP_PKEY_free(other);
        fx_close(&f);
    }
}

static void test_yubikey_import_with_policy_and_delete_certificate(void **state)
{
    (void)state;
    struct fx f;
    open_card(&f, "yubikey");
    login(&f, 1);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    unsigned char *p8 = NULL;
    int pl = i2d_PrivateKey(k, &p8); /* PKCS#1 for RSA: d2i_AutoPrivateKey takes both */
    PKCS8_PRIV_KEY_INFO *inf = EVP_PKEY2PKCS8(k);
    unsigned char *p8b = NULL;
    int p8l = i2d_PKCS8_PRIV_KEY_INFO(inf, &p8b);
    cf_secret_t *s = fx_keep(&f, cf_secret_new(p8b, (size_t)p8l));
    cf_keygen_t pol = {.pin_policy = 3, .touch_policy = 1};
    char used[CF_CERT_SLOT_NAME] = "";
    assert_int_equal(cf_cert_import_key(f.card, "9c", s, &pol, used), CF_OK);
    assert_string_equal(used, "9c");
    uint8_t *spki = NULL;
    size_t sl = 0;
    assert_int_equal(cf_cert_public_key(f.card, "9c", &spki, &sl), CF_OK);
    unsigned char *want = NULL;
    int wl = i2d_PUBKEY(k, &want);
    assert_int_equal((size_t)wl, sl);
    assert_memory_equal(spki, want, sl);
    /* the import is no secret in the error message of a refusal */
    size_t dl = 0;
    uint8_t *der = issue(spki, sl, -1, 30, &dl);
    assert_int_equal(cf_cert_write(f.card, "9c", der, dl), CF_OK);
    assert_int_equal(cf_cert_delete(f.card, "9c", 0), CF_OK);
    uint8_t *back = NULL;
    size_t bl = 0;
    assert_int_equal(cf_cert_read(f.card, "9c", &back, &bl), CF_ERR_NOT_FOUND);
    /* the key stays */
    free(spki);
    assert_int_equal(cf_cert_public_key(f.card, "9c", &spki, &sl), CF_OK);
    free(spki);
    free(der);
    OPENSSL_free(want);
    OPENSSL_clear_free(p8, (size_t)pl);
    OPENSSL_clear_free(p8b, (size_t)p8l);
    PKCS8_PRIV_KEY_INFO_free(inf);
    EVP_PKEY_free(k);
    fx_close(&f);
}

static void test_parsers_refuse_malformed_bytes(void **state)
{
    (void)state;
    const uint8_t *d;
    size_t dl;
    int comp;
    uint8_t empty70[] = {0x70, 0x00, 0x71, 0x01, 0x00};
    assert_int_equal(cf_cert_piv_object(empty70, 0, &d, &dl, &comp), 1);
    uint8_t trunc[] = {0x70, 0x05, 0x30};
    assert_int_equal(cf_cert_piv_object(trunc, sizeof(trunc), &d, &dl, &comp), -1);
    struct cf_gids_entry e[4];
    size_t n;
    uint8_t mf[1 + 28] = {0x02};
    assert_int_equal(cf_gids_masterfile_parse(mf, sizeof(mf), e, 4, &n), -1);
    mf[0] = 0x01;
    assert_int_equal(cf_gids_masterfile_parse(mf, sizeof(mf) - 1, e, 4, &n), -1);
    assert_int_equal(cf_gids_masterfile_parse(mf, sizeof(mf), e, 4, &n), 0);
    assert_int_equal(n, 1);
    /* names that fill all 9 bytes, no NUL (the fuzzer found the overflow) */
    memset(mf + 1, 'a', 18);
    assert_int_equal(cf_gids_masterfile_parse(mf, sizeof(mf), e, 4, &n), 0);
    assert_int_equal(strlen(e[0].dir), 9);
    assert_int_equal(strlen(e[0].name), 9);
    struct cf_gids_cmap c[2];
    uint8_t cm[86 * 3] = {0};
    assert_int_equal(cf_gids_cmap_parse(cm, 85, c, 2, &n), -1);
    assert_int_equal(cf_gids_cmap_parse(cm, sizeof(cm), c, 2, &n), -1); /* more than cap */
    uint8_t *der = NULL;
    uint8_t z[] = {0x01, 0x00, 0x10, 0x00, 0x78, 0x9c, 0x00};
    assert_int_equal(cf_gids_cert_inflate(z, sizeof(z), &der, &dl), -1);
    /* round trip */
    uint8_t blob[300];
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (uint8_t)(i * 7);
    uint8_t *packed = NULL;
    size_t pl = 0;
    assert_int_equal(cf_gids_cert_deflate(blob, sizeof(blob), &packed, &pl), 0);
    assert_int_equal(cf_gids_cert_inflate(packed, pl, &der, &dl), 0);
    assert_int_equal(dl, sizeof(blob));
    assert_memory_equal(der, blob, dl);
    free(der);
    free(packed);
}

static void open_gids(struct fx *f)
{
    cf_err_t err = fx_open(f, "gids", "gemalto", 4711, NULL);
    if (err != CF_OK)
        fprintf(stderr, "%s\n", f->errbuf);
    assert_int_equal(err, CF_OK);
    assert_int_equal(cf_card_verify_pin(f->card, fx_s(f, "0000")), CF_OK);
}

static size_t gids_list(struct fx *f, cf_key_slot_t *slots)
{
    size_t n = 0;
    assert_int_equal(cf_cert_slots(f->card, 0, slots, CF_CERT_MAX_SLOTS, &n), CF_OK);
    return n;
}

static void test_gids_generate_write_sign_default_delete(void **state)
{
    (void)state;
    struct fx f;
    open_gids(&f);
    assert_int_equal(cf_cert_has_default(f.card), 1);
    assert_int_equal(cf_cert_needs_admin(f.card), 0);
    uint8_t *spki0 = NULL, *spki1 = NULL;
    size_t sl0 = 0, sl1 = 0;
    char used[CF_CERT_SLOT_NAME];
    cf_keygen_t g = {.alg = CF_KEYALG_RSA2048, .label = "alice"};
    assert_int_equal(cf_cert_generate(f.card, NULL, &g, &spki0, &sl0, used), CF_OK);
    assert_string_equal(used, "0");
    g.label = NULL;
    assert_int_equal(cf_cert_generate(f.card, "", &g, &spki1, &sl1, used), CF_OK);
    assert_string_equal(used, "1");
    cf_key_slot_t slots[CF_CERT_MAX_SLOTS];
    assert_int_equal(gids_list(&f, slots), 2);
    assert_string_equal(slots[0].label, "alice");
    assert_string_equal(slots[1].label, "cardforge-1");
    assert_int_equal(slots[0].is_default, 1); /* the first key on the card */
    assert_int_equal(slots[1].is_default, 0);
    assert_int_equal(slots[1].key, CF_KEY_PRESENT);
    assert_int_equal(slots[1].alg, CF_KEYALG_RSA2048);

    size_t dl = 0;
    uint8_t *der = issue(spki0, sl0, -1, 30, &dl);
    assert_int_equal(cf_cert_check_pair(f.card, "0", der, dl), CF_OK);
    assert_int_equal(cf_cert_check_pair(f.card, "1", der, dl), CF_ERR_INVALID);
    assert_int_equal(cf_cert_write(f.card, "0", der, dl), CF_OK);
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    uint8_t *back = NULL;
    size_t bl = 0;
    assert_int_equal(cf_cert_read(f.card, "0", &back, &bl), CF_OK);
    assert_int_equal(bl, dl);
    assert_memory_equal(back, der, dl);
    assert_int_equal(gids_list(&f, slots), 2);
    assert_int_equal(slots[0].has_cert, 1);
    assert_int_equal(slots[1].has_cert, 0);

    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "0000")), CF_OK);
    uint8_t dg[32], *sig = NULL;
    size_t sgl = 0;
    SHA256((const unsigned char *)"gids", 4, dg);
    assert_int_equal(cf_cert_sign(f.card, "0", "sha256", dg, sizeof(dg), &sig, &sgl), CF_OK);
    assert_true(verify(spki0, sl0, dg, sig, sgl));

    assert_int_equal(cf_cert_set_default(f.card, "1"), CF_OK);
    assert_int_equal(gids_list(&f, slots), 2);
    assert_int_equal(slots[0].is_default, 0);
    assert_int_equal(slots[1].is_default, 1);
    assert_int_equal(cf_cert_set_default(f.card, "7"), CF_ERR_NOT_FOUND);

    assert_int_equal(cf_cert_delete(f.card, "0", 1), CF_OK);
    assert_int_equal(gids_list(&f, slots), 1);
    assert_string_equal(slots[0].name, "1");
    uint8_t *gone = NULL;
    size_t gl = 0;
    assert_int_equal(cf_cert_public_key(f.card, "0", &gone, &gl), CF_ERR_NOT_FOUND);
    /* the freed container is the next one taken */
    assert_int_equal(cf_cert_generate(f.card, NULL, &g, NULL, NULL, used), CF_OK);
    assert_string_equal(used, "0");
    free(sig);
    free(back);
    free(der);
    free(spki0);
    free(spki1);
    fx_close(&f);
}

static void test_gids_import_and_refusals(void **state)
{
    (void)state;
    struct fx f;
    assert_int_equal(fx_open(&f, "gids", "gemalto", 4712, NULL), CF_OK);
    uint64_t before = cf_transport_apdu_count(f.t);
    cf_keygen_t g = {.alg = CF_KEYALG_RSA2048};
    assert_int_equal(cf_cert_generate(f.card, NULL, &g, NULL, NULL, NULL), CF_ERR_REFUSED);
    assert_int_equal(cf_cert_set_default(f.card, "0"), CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), before);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "0000")), CF_OK);
    before = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_cert_generate(f.card, "3", &g, NULL, NULL, NULL), CF_ERR_ARG);
    g.alg = CF_KEYALG_ECCP256;
    assert_int_equal(cf_cert_generate(f.card, NULL, &g, NULL, NULL, NULL), CF_ERR_UNSUPPORTED);
    assert_int_equal(cf_cert_delete(f.card, "9a", 0), CF_ERR_ARG);
    assert_int_equal(cf_transport_apdu_count(f.t), before);
    assert_int_equal(cf_cert_delete(f.card, "2", 0), CF_ERR_NOT_FOUND);
    assert_int_equal(cf_card_last_write(f.card), CF_WRITE_NONE);

    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    PKCS8_PRIV_KEY_INFO *inf = EVP_PKEY2PKCS8(k);
    unsigned char *p8 = NULL;
    int pl = i2d_PKCS8_PRIV_KEY_INFO(inf, &p8);
    char used[CF_CERT_SLOT_NAME] = "";
    cf_keygen_t lab = {.label = "imported"};
    assert_int_equal(
        cf_cert_import_key(f.card, NULL, fx_keep(&f, cf_secret_new(p8, (size_t)pl)), &lab, used),
        CF_OK);
    assert_string_equal(used, "0");
    uint8_t *spki = NULL;
    size_t sl = 0;
    assert_int_equal(cf_cert_public_key(f.card, "0", &spki, &sl), CF_OK);
    unsigned char *want = NULL;
    int wl = i2d_PUBKEY(k, &want);
    assert_int_equal((size_t)wl, sl);
    assert_memory_equal(spki, want, sl);
    cf_key_slot_t slots[CF_CERT_MAX_SLOTS];
    assert_int_equal(gids_list(&f, slots), 1);
    assert_string_equal(slots[0].label, "imported");
    /* a certificate for a container without a key is refused */
    size_t dl = 0;
    uint8_t *der = issue(spki, sl, -1, 30, &dl);
    assert_int_equal(cf_cert_write(f.card, "5", der, dl), CF_ERR_INVALID);
    free(der);
    free(spki);
    OPENSSL_free(want);
    OPENSSL_clear_free(p8, (size_t)pl);
    PKCS8_PRIV_KEY_INFO_free(inf);
    EVP_PKEY_free(k);
    fx_close(&f);
}

static void test_write_with_lost_answer_says_unknown(void **state)
{
    (void)state;
    struct fx f;
    open_card(&f, "yubikey");
    login(&f, 1);
    uint8_t *spki = NULL;
    size_t sl = 0;
    cf_keygen_t g = {.alg = CF_KEYALG_ECCP256};
    assert_int_equal(cf_cert_generate(f.card, "9e", &g, &spki, &sl, NULL), CF_OK);
    size_t dl = 0;
    uint8_t *der = issue(spki, sl, -1, 30, &dl);
    /* the card takes the PUT DATA, its answer never comes back */
    assert_int_equal(cf_transport_sim_pull_after(f.t, 1, CF_SIM_PULL_ANSWER_LOST), CF_OK);
    assert_int_equal(cf_cert_write(f.card, "9e", der, dl), CF_ERR_CARD_REMOVED);
    assert_int_equal(cf_card_last_write(f.card), CF_WRITE_UNKNOWN);
    assert_true(cf_card_errmsg(f.card)[0] != 0);
    /* and nothing more is sent: the session is over */
    assert_int_equal(cf_cert_delete(f.card, "9e", 0), CF_ERR_REFUSED);
    free(der);
    free(spki);
    fx_close(&f);
}

/* The production line's four steps (issue 19 item 3 builds on them): a
 * key made on the card, a PKCS#10 request whose signature the card makes,
 * a certificate from a CA for it, written and proven by a signature. */
static void production_flow(struct fx *f, const char *slot, cf_key_alg_t alg, const char *sigalg)
{
    uint8_t *spki = NULL;
    size_t sl = 0;
    char used[CF_CERT_SLOT_NAME];
    cf_keygen_t g = {.alg = alg};
    assert_int_equal(cf_cert_generate(f->card, slot, &g, &spki, &sl, used), CF_OK);
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)sl);
    X509_REQ *req = X509_REQ_new();
    assert_non_null(pub);
    X509_REQ_set_version(req, 0);
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Line Holder", -1, -1, 0);
    X509_REQ_set_pubkey(req, pub);
    X509_ALGOR *algo = X509_ALGOR_new();
    X509_ALGOR_set0(algo, OBJ_txt2obj(sigalg, 0),
                    strcmp(sigalg, "sha256WithRSAEncryption") == 0 ? V_ASN1_NULL : V_ASN1_UNDEF,
                    NULL);
    X509_REQ_set1_signature_algo(req, algo);
    unsigned char *tbs = NULL;
    int tl = i2d_re_X509_REQ_tbs(req, &tbs);
    assert_true(tl > 0);
    uint8_t dg[32], *sig = NULL;
    size_t sgl = 0;
    SHA256(tbs, (size_t)tl, dg);
    assert_int_equal(cf_card_verify_pin(f->card, fx_s(f, cf_secret_str(f->secrets[0]))), CF_OK);
    assert_int_equal(cf_cert_sign(f->card, used, "sha256", dg, sizeof(dg), &sig, &sgl), CF_OK);
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    ASN1_BIT_STRING_set(bs, sig, (int)sgl);
    X509_REQ_set0_signature(req, bs);
    assert_int_equal(X509_REQ_verify(req, pub), 1); /* OpenSSL accepts the card's signature */
    size_t dl = 0;
    uint8_t *der = issue(spki, sl, -1, 365, &dl);
    assert_int_equal(cf_cert_write(f->card, used, der, dl), CF_OK);
    assert_int_equal(cf_card_verify_pin(f->card, fx_s(f, cf_secret_str(f->secrets[0]))), CF_OK);
    assert_int_equal(cf_cert_check_pair(f->card, used, der, dl), CF_OK);
    free(der);
    free(sig);
    OPENSSL_free(tbs);
    X509_ALGOR_free(algo);
    X509_REQ_free(req);
    EVP_PKEY_free(pub);
    free(spki);
}

static void test_production_flow_on_yubikey_and_gids(void **state)
{
    (void)state;
    struct fx f;
    open_card(&f, "yubikey");
    login(&f, 1); /* f.secrets[0] is the PIN */
    production_flow(&f, "9c", CF_KEYALG_ECCP256, "ecdsa-with-SHA256");
    fx_close(&f);
    open_gids(&f);
    production_flow(&f, NULL, CF_KEYALG_RSA2048, "sha256WithRSAEncryption");
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yubikey_generate_rsa_write_read_list_sign),
        cmocka_unit_test(test_yubikey_generate_p256_write_read_list_sign),
        cmocka_unit_test(test_piv_generate_p384_write_read_list_sign),
        cmocka_unit_test(test_changes_without_pin_or_admin_send_nothing),
        cmocka_unit_test(test_bad_slots_and_piv_refusals_are_clear),
        cmocka_unit_test(test_mismatching_certificate_is_detected),
        cmocka_unit_test(test_yubikey_import_with_policy_and_delete_certificate),
        cmocka_unit_test(test_parsers_refuse_malformed_bytes),
        cmocka_unit_test(test_gids_generate_write_sign_default_delete),
        cmocka_unit_test(test_gids_import_and_refusals),
        cmocka_unit_test(test_write_with_lost_answer_says_unknown),
        cmocka_unit_test(test_production_flow_on_yubikey_and_gids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
