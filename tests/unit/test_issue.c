/*
 * test_issue.c - certificate issuance for keys made on the card (issue.h)
 * on the virtual PIV and GIDS cards through the in-process reader.
 *
 * The judges are OpenSSL's own API (the request's signature, the chain to
 * the CA as `openssl verify` builds it, the extensions) and the card's
 * state read back by another route; the external CA is a shell script
 * around `openssl x509 -req`, and its failure modes (refusal, hang,
 * garbage, an oversized answer, a certificate for another key) are small
 * scripts too.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cardforge/cert.h>
#include <cardforge/issue.h>

#include "card_fixture.h"
#include "issue/issue_int.h"

#define DEFAULT_KEY "010203040506070801020304050607080102030405060708"

/* A throw-away CA in a directory of its own: ca.pem, ca.key (0600). */
struct test_ca {
    char dir[64];
    char cert[128], key[128];
    X509 *x;
};

static void make_ca(struct test_ca *ca)
{
    snprintf(ca->dir, sizeof(ca->dir), "/tmp/cf-test-ca-XXXXXX");
    assert_non_null(mkdtemp(ca->dir));
    snprintf(ca->cert, sizeof(ca->cert), "%s/ca.pem", ca->dir);
    snprintf(ca->key, sizeof(ca->key), "%s/ca.key", ca->dir);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    assert_non_null(k);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Test Issuing CA", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_EXTENSION *ku =
        X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_EXTENSION *ski = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(x, bc, -1);
    X509_add_ext(x, ku, -1);
    X509_add_ext(x, ski, -1);
    X509_EXTENSION_free(bc);
    X509_EXTENSION_free(ku);
    X509_EXTENSION_free(ski);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    FILE *f = fopen(ca->cert, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    int fd = open(ca->key, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(k);
    ca->x = x;
}

static void drop_ca(struct test_ca *ca)
{
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ca->dir);
    assert_int_equal(system(cmd), 0);
    X509_free(ca->x);
}

/* A shell script in the CA's directory; returns its path (static). */
static const char *script(struct test_ca *ca, const char *name, const char *body)
{
    static char path[200];
    snprintf(path, sizeof(path), "%s/%s", ca->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0700);
    return path;
}

/* Does der chain to ca as `openssl verify -CAfile` would see it, for
 * client authentication? */
static int chains_to(const struct test_ca *ca, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(st, ca->x);
    int ok = x != NULL && X509_STORE_CTX_init(ctx, st, x, NULL) == 1 &&
             X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1 &&
             X509_verify_cert(ctx) == 1;
    if (!ok)
        fprintf(stderr, "verify: %s\n",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(x);
    return ok;
}

static const cf_dn_entry_t holder_dn[] = {{"CN", "Doe, Jane / Ops"}, {"O", "Example Bureau"}};

static cf_issue_request_t request(const char *slot, cf_key_alg_t alg, const cf_secret_t *pin)
{
    cf_issue_request_t r;
    memset(&r, 0, sizeof(r));
    r.slot = slot;
    r.keygen.alg = alg;
    r.names.subject = holder_dn;
    r.names.n_subject = 2;
    r.names.upn = "jane.doe@corp.example";
    r.names.email = "jane@example.org";
    r.validity_days = 30;
    r.pin = pin;
    return r;
}

static void open_yubikey(struct fx *f, const cf_secret_t **pin)
{
    assert_int_equal(fx_open(f, "yubikey", NULL, 12345678, NULL), CF_OK);
    *pin = fx_s(f, "123456");
    assert_int_equal(cf_card_verify_pin(f->card, *pin), CF_OK);
    assert_int_equal(cf_card_admin_auth(f->card, fx_h(f, DEFAULT_KEY), 0), CF_OK);
}

static void open_gids(struct fx *f, const cf_secret_t **pin)
{
    assert_int_equal(fx_open(f, "gids", "gemalto", 4711, NULL), CF_OK);
    *pin = fx_s(f, "0000");
    assert_int_equal(cf_card_verify_pin(f->card, *pin), CF_OK);
}

/* The UPN otherName and the email of a certificate's or request's SAN. */
static void check_san(GENERAL_NAMES *gens)
{
    assert_non_null(gens);
    int upn = 0, email = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_OTHERNAME && OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
            g->d.otherName->value->type == V_ASN1_UTF8STRING) {
            ASN1_UTF8STRING *s = g->d.otherName->value->value.utf8string;
            assert_int_equal(ASN1_STRING_length(s), strlen("jane.doe@corp.example"));
            assert_memory_equal(ASN1_STRING_get0_data(s), "jane.doe@corp.example",
                                strlen("jane.doe@corp.example"));
            upn = 1;
        }
        if (g->type == GEN_EMAIL) {
            assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.rfc822Name),
                                "jane@example.org");
            email = 1;
        }
    }
    assert_true(upn && email);
    GENERAL_NAMES_free(gens);
}

static void csr_verifies(const char *type, const char *slot, cf_key_alg_t alg, int sig_nid)
{
    struct fx f;
    const cf_secret_t *pin;
    if (strcmp(type, "gids") == 0)
        open_gids(&f, &pin);
    else
        open_yubikey(&f, &pin);
    uint8_t *spki = NULL, *csr = NULL;
    size_t sl = 0, cl = 0;
    char used[CF_CERT_SLOT_NAME];
    cf_keygen_t g = {.alg = alg};
    assert_int_equal(cf_cert_generate(f.card, slot, &g, &spki, &sl, used), CF_OK);
    cf_issue_request_t r = request(slot, alg, pin);
    char err[256] = "";
    assert_int_equal(cf_card_verify_pin(f.card, pin), CF_OK);
    cf_err_t e = cf_issue_csr(f.card, used, alg, spki, sl, &r.names, &csr, &cl, err, sizeof(err));
    if (e != CF_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(e, CF_OK);

    const unsigned char *p = csr, *q = spki;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)cl);
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &q, (long)sl);
    assert_non_null(req);
    assert_ptr_equal(p, csr + cl);
    assert_int_equal(X509_REQ_verify(req, pub), 1); /* made by the card's key */
    assert_int_equal(X509_REQ_get_signature_nid(req), sig_nid);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Doe, Jane / Ops"); /* any character survives */
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    assert_non_null(exts);
    int at = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    assert_true(at >= 0);
    check_san(X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, at)));
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    EVP_PKEY_free(pub);
    free(csr);
    free(spki);
    fx_close(&f);
}

static void test_csr_signed_by_card_verifies_with_openssl(void **state)
{
    (void)state;
    csr_verifies("yubikey", "9a", CF_KEYALG_RSA2048, NID_sha256WithRSAEncryption);
    csr_verifies("yubikey", "9c", CF_KEYALG_ECCP256, NID_ecdsa_with_SHA256);
    csr_verifies("yubikey", "9d", CF_KEYALG_ECCP384, NID_ecdsa_with_SHA384);
    csr_verifies("gids", NULL, CF_KEYALG_RSA2048, NID_sha256WithRSAEncryption);
}

static void test_csr_refuses_unknown_attribute_and_empty_subject(void **state)
{
    (void)state;
    struct fx f;
    const cf_secret_t *pin;
    open_yubikey(&f, &pin);
    uint8_t *spki = NULL, *csr = NULL;
    size_t sl = 0, cl = 0;
    cf_keygen_t g = {.alg = CF_KEYALG_ECCP256};
    assert_int_equal(cf_cert_generate(f.card, "9a", &g, &spki, &sl, NULL), CF_OK);
    cf_issue_request_t r = request("9a", CF_KEYALG_ECCP256, pin);
    cf_dn_entry_t bad[] = {{"CN", "x"}, {"NoSuchAttr", "y"}};
    r.names.subject = bad;
    char err[256] = "";
    assert_int_equal(cf_issue_csr(f.card, "9a", CF_KEYALG_ECCP256, spki, sl, &r.names, &csr, &cl,
                                  err, sizeof(err)),
                     CF_ERR_ARG);
    assert_non_null(strstr(err, "NoSuchAttr"));
    r.names.n_subject = 0;
    assert_int_equal(cf_issue_csr(f.card, "9a", CF_KEYALG_ECCP256, spki, sl, &r.names, &csr, &cl,
                                  err, sizeof(err)),
                     CF_ERR_ARG);
    assert_null(csr);
    free(spki);
    fx_close(&f);
}

/* The whole step with ca on a card; the certificate must be on the card,
 * chain to the CA, name the holder and carry the logon profile. */
static void issue_and_check(struct fx *f, const cf_secret_t *pin, const char *slot,
                            cf_key_alg_t alg, struct test_ca *tca, cf_ca_t *ca, int local)
{
    cf_issue_request_t r = request(slot, alg, pin);
    cf_issue_result_t res;
    char err[512] = "";
    cf_err_t e = cf_issue_run(f->card, &r, ca, &res, err, sizeof(err));
    if (e != CF_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(e, CF_OK);
    assert_int_equal(res.state, CF_ISSUE_DONE);
    assert_string_equal(cf_issue_state_name(res.state), "done");
    assert_int_equal(res.have_cert, 1);

    uint8_t *der = NULL;
    size_t dl = 0;
    assert_int_equal(cf_card_reselect(f->card), CF_OK);
    assert_int_equal(cf_cert_read(f->card, res.slot, &der, &dl), CF_OK);
    assert_true(chains_to(tca, der, dl));
    assert_int_equal(cf_card_verify_pin(f->card, pin), CF_OK);
    assert_int_equal(cf_cert_check_pair(f->card, res.slot, der, dl), CF_OK);

    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)dl);
    assert_non_null(x);
    /* the journal's facts are the certificate's */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = BN_bn2hex(bn);
    assert_string_equal(res.cert.serial, hex);
    OPENSSL_free(hex);
    uint8_t md[32];
    unsigned int ml = 0;
    X509_digest(x, EVP_sha256(), md, &ml);
    char fp[65];
    for (unsigned i = 0; i < ml; i++)
        snprintf(fp + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(res.cert.sha256, fp);
    assert_string_equal(res.cert.issuer, "CN=Test Issuing CA");
    assert_int_equal(strlen(res.cert.not_after), 20);
    if (local) {
        assert_int_equal(BN_num_bytes(bn), 16); /* 16 random bytes */
        int crit = 0;
        ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
        assert_non_null(ku);
        assert_int_equal(crit, 1);
        assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
        ASN1_BIT_STRING_free(ku);
        EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
        assert_non_null(eku);
        int client = 0, logon = 0;
        for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
            int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
            client |= nid == NID_client_auth;
            logon |= nid == NID_ms_smartcard_login;
        }
        assert_true(client && logon);
        EXTENDED_KEY_USAGE_free(eku);
        time_t in29 = time(NULL) + 29L * 86400, in31 = time(NULL) + 31L * 86400;
        assert_true(X509_cmp_time(X509_get0_notAfter(x), &in29) > 0);
        assert_true(X509_cmp_time(X509_get0_notAfter(x), &in31) < 0);
    }
    check_san(X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL));
    BN_free(bn);
    X509_free(x);
    free(der);
}

static void test_local_ca_issues_logon_certificate_proven_on_card(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    cf_ca_t *ca = NULL;
    char err[512] = "";
    assert_int_equal(cf_ca_open_local(tca.cert, tca.key, err, sizeof(err), &ca), CF_OK);
    assert_string_equal(cf_ca_describe(ca), "local CA /CN=Test Issuing CA");
    struct fx f;
    const cf_secret_t *pin;
    open_yubikey(&f, &pin);
    issue_and_check(&f, pin, "9a", CF_KEYALG_ECCP256, &tca, ca, 1);
    fx_close(&f);
    assert_int_equal(fx_open(&f, "piv", NULL, 555, NULL), CF_OK); /* standard PIV, RSA */
    pin = fx_s(&f, "123456");
    assert_int_equal(cf_card_verify_pin(f.card, pin), CF_OK);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, DEFAULT_KEY), 0), CF_OK);
    issue_and_check(&f, pin, "9c", CF_KEYALG_RSA2048, &tca, ca, 1);
    fx_close(&f);
    open_gids(&f, &pin);
    issue_and_check(&f, pin, NULL, CF_KEYALG_RSA2048, &tca, ca, 1);
    fx_close(&f);
    cf_ca_free(ca);
    drop_ca(&tca);
}

static void test_local_ca_key_file_checked_like_a_key_file(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    cf_ca_t *ca = NULL;
    char err[512] = "";
    assert_int_equal(chmod(tca.key, 0644), 0);
    assert_int_equal(cf_ca_open_local(tca.cert, tca.key, err, sizeof(err), &ca), CF_ERR_PERMISSION);
    assert_non_null(strstr(err, "0600 or 0400"));
    assert_null(ca);
    assert_int_equal(chmod(tca.key, 0400), 0);
    char link[160];
    snprintf(link, sizeof(link), "%s/link.key", tca.dir);
    assert_int_equal(symlink(tca.key, link), 0);
    assert_int_equal(cf_ca_open_local(tca.cert, link, err, sizeof(err), &ca), CF_ERR_PERMISSION);
    assert_non_null(strstr(err, "symbolic link"));
    /* the key must be the certificate's */
    char other[160];
    snprintf(other, sizeof(other), "%s/other.key", tca.dir);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    int fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
    FILE *fo = fdopen(fd, "w");
    PEM_write_PrivateKey(fo, k, NULL, NULL, 0, NULL, NULL);
    fclose(fo);
    EVP_PKEY_free(k);
    assert_int_equal(cf_ca_open_local(tca.cert, other, err, sizeof(err), &ca), CF_ERR_INVALID);
    assert_non_null(strstr(err, "not the CA certificate's key"));
    /* a certificate that is not a CA's */
    assert_int_equal(cf_ca_open_local(tca.key, tca.key, err, sizeof(err), &ca), CF_ERR_PARSE);
    assert_int_equal(cf_ca_open_local(tca.cert, tca.key, err, sizeof(err), &ca), CF_OK);
    cf_ca_free(ca);
    drop_ca(&tca);
}

static void test_command_ca_openssl_x509_req_issues_for_gids_and_piv(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    char body[600];
    snprintf(body, sizeof(body),
             "exec openssl x509 -req -CA '%s' -CAkey '%s' -CAcreateserial -CAserial '%s/ca.srl' "
             "-days 20 -copy_extensions copy -outform %s 2>/dev/null",
             tca.cert, tca.key, tca.dir, "DER");
    cf_ca_t *ca = NULL;
    char err[512] = "";
    assert_int_equal(
        cf_ca_open_command(script(&tca, "ca-der.sh", body), 10000, err, sizeof(err), &ca), CF_OK);
    assert_string_equal(cf_ca_describe(ca), "CA command");
    struct fx f;
    const cf_secret_t *pin;
    open_gids(&f, &pin);
    issue_and_check(&f, pin, NULL, CF_KEYALG_RSA2048, &tca, ca, 0);
    fx_close(&f);
    cf_ca_free(ca);
    /* PEM this time, with the CA certificate after it (a chain) */
    snprintf(body, sizeof(body),
             "openssl x509 -req -CA '%s' -CAkey '%s' -CAcreateserial -CAserial '%s/ca.srl' "
             "-days 20 -copy_extensions copy 2>/dev/null && cat '%s'",
             tca.cert, tca.key, tca.dir, tca.cert);
    assert_int_equal(
        cf_ca_open_command(script(&tca, "ca-pem.sh", body), 10000, err, sizeof(err), &ca), CF_OK);
    open_yubikey(&f, &pin);
    issue_and_check(&f, pin, "9e", CF_KEYALG_ECCP256, &tca, ca, 0);
    fx_close(&f);
    cf_ca_free(ca);
    drop_ca(&tca);
}

/* A CA command that fails in some way: the call fails with want, the
 * message holds needle, and the card holds the new key and no
 * certificate (state key-generated). name NULL: body is the command
 * itself, not a script. */
static void failing_ca(struct test_ca *tca, const char *name, const char *body, unsigned timeout,
                       cf_err_t want, const char *needle)
{
    cf_ca_t *ca = NULL;
    char err[512] = "";
    const char *cmd = name != NULL ? script(tca, name, body) : body;
    assert_int_equal(cf_ca_open_command(cmd, timeout, err, sizeof(err), &ca), CF_OK);
    struct fx f;
    const cf_secret_t *pin;
    open_yubikey(&f, &pin);
    cf_issue_request_t r = request("9a", CF_KEYALG_ECCP256, pin);
    cf_issue_result_t res;
    assert_int_equal(cf_issue_run(f.card, &r, ca, &res, err, sizeof(err)), want);
    if (strstr(err, needle) == NULL)
        fprintf(stderr, "message: %s\n", err);
    assert_non_null(strstr(err, needle));
    assert_int_equal(res.state, CF_ISSUE_KEY_GENERATED);
    assert_string_equal(res.slot, "9a");
    assert_non_null(fx_state(&f, "key_9A")); /* the key is there */
    uint8_t *der = NULL;
    size_t dl = 0;
    assert_int_equal(cf_cert_read(f.card, "9a", &der, &dl), CF_ERR_NOT_FOUND);
    fx_close(&f);
    cf_ca_free(ca);
}

static void test_command_ca_refusal_is_reported_with_its_words(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    failing_ca(&tca, "no.sh", "cat >/dev/null; echo 'policy: subject not allowed' >&2; exit 1",
               10000, CF_ERR_REFUSED, "exited with status 1; it said: policy: subject not allowed");
    failing_ca(&tca, NULL, "kill -9 $$", 10000, CF_ERR_REFUSED, "killed by signal 9");
    drop_ca(&tca);
}

static void test_command_ca_inherits_no_descriptor_but_its_three(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    /* a descriptor the caller left inheritable (no O_CLOEXEC) */
    int fd = open(tca.cert, O_RDONLY);
    assert_true(fd > 2);
    char body[200], needle[32];
    snprintf(body, sizeof(body),
             "cat >/dev/null; [ -e /proc/$$/fd/%d ] && echo 'inherited %d' >&2; exit 4", fd, fd);
    snprintf(needle, sizeof(needle), "inherited %d", fd);
    char err[512] = "";
    struct cmd_result r;
    const uint8_t in[] = "request";
    assert_int_equal(cf_issue_run_command(body, 10000, in, sizeof(in), 1024, &r, err, sizeof(err)),
                     CF_OK);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.status, 4);
    assert_null(strstr(r.err, needle));
    free(r.out);
    /* the check can see one: the same command with the descriptor given on purpose */
    snprintf(body, sizeof(body), "[ -e /proc/$$/fd/1 ] && echo 'inherited 1' >&2; exit 4");
    assert_int_equal(cf_issue_run_command(body, 10000, in, sizeof(in), 1024, &r, err, sizeof(err)),
                     CF_OK);
    assert_non_null(strstr(r.err, "inherited 1"));
    free(r.out);
    close(fd);
    drop_ca(&tca);
}

static void test_command_ca_garbage_and_oversize_are_refused(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    failing_ca(&tca, "garbage.sh", "cat >/dev/null; echo 'here is your certificate!'", 10000,
               CF_ERR_PARSE, "neither a PEM certificate nor a DER certificate");
    failing_ca(&tca, "badpem.sh",
               "cat >/dev/null; printf -- '-----BEGIN CERTIFICATE-----\\nAAAA\\n"
               "-----END CERTIFICATE-----\\n'",
               10000, CF_ERR_PARSE, "exited 0 but");
    failing_ca(&tca, "flood.sh", "cat >/dev/null; head -c 200000 /dev/zero", 10000, CF_ERR_BUFFER,
               "wrote more than 65536 bytes");
    /* a valid certificate, for another key: the CA's own */
    char body[300];
    snprintf(body, sizeof(body), "cat >/dev/null; cat '%s'", tca.cert);
    failing_ca(&tca, "other.sh", body, 10000, CF_ERR_INVALID, "not the key generated on the card");
    drop_ca(&tca);
}

static void test_command_ca_that_hangs_is_killed_with_its_group(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    char body[300], pidfile[160];
    snprintf(pidfile, sizeof(pidfile), "%s/pgid", tca.dir);
    /* a child in the background holds the output open; the shell waits */
    snprintf(body, sizeof(body), "echo $$ > '%s'; sleep 60 & sleep 60", pidfile);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    failing_ca(&tca, "hang.sh", body, 700, CF_ERR_TIMEOUT, "did not finish within 700 ms");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 20);
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    long pgid = 0;
    assert_int_equal(fscanf(f, "%ld", &pgid), 1);
    fclose(f);
    assert_true(pgid > 1);
    /* nothing of its process group is left */
    assert_int_equal(kill(-(pid_t)pgid, 0), -1);
    assert_int_equal(errno, ESRCH);
    drop_ca(&tca);
}

static void test_command_exiting_early_leaving_a_child_is_not_waited_for(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    /* garbage, then exit 0 while a background child keeps stdout open:
     * the answer is judged at the exit, not at the deadline */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    failing_ca(&tca, "leave.sh", "cat >/dev/null; echo nonsense; sleep 60 &", 30000, CF_ERR_PARSE,
               "neither a PEM");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 20);
    drop_ca(&tca);
}

static void test_ca_output_parser_takes_exactly_one_certificate(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    unsigned char *der = NULL;
    int dl = i2d_X509(tca.x, &der);
    assert_true(dl > 0);
    uint8_t buf[4096], *out = NULL;
    size_t ol = 0;
    char err[200];
    assert_int_equal(cf_issue_parse_ca_output(der, (size_t)dl, &out, &ol, err, sizeof(err)), CF_OK);
    assert_int_equal(ol, (size_t)dl);
    assert_memory_equal(out, der, ol);
    free(out);
    memcpy(buf, der, (size_t)dl);
    buf[dl] = 0;
    assert_int_equal(cf_issue_parse_ca_output(buf, (size_t)dl + 1, &out, &ol, err, sizeof(err)),
                     CF_ERR_PARSE);
    assert_non_null(strstr(err, "followed by 1 bytes"));
    assert_int_equal(cf_issue_parse_ca_output(der, (size_t)dl - 1, &out, &ol, err, sizeof(err)),
                     CF_ERR_PARSE);
    assert_int_equal(cf_issue_parse_ca_output(NULL, 0, &out, &ol, err, sizeof(err)), CF_ERR_PARSE);
    assert_null(out);
    /* a PEM chain: the first certificate is taken, exactly */
    BIO *b = BIO_new(BIO_s_mem());
    BIO_puts(b, "\n-----BEGIN PRIVACY NOTICE-----\nAAAA\n-----END PRIVACY NOTICE-----\n");
    PEM_write_bio_X509(b, tca.x);
    PEM_write_bio_X509(b, tca.x);
    char *pem = NULL;
    long pl = BIO_get_mem_data(b, &pem);
    assert_int_equal(
        cf_issue_parse_ca_output((const uint8_t *)pem, (size_t)pl, &out, &ol, err, sizeof(err)),
        CF_OK);
    assert_int_equal(ol, (size_t)dl);
    assert_memory_equal(out, der, ol);
    free(out);
    BIO_free(b);
    OPENSSL_free(der);
    drop_ca(&tca);
}

static void test_check_cert_refuses_expired_and_future(void **state)
{
    (void)state;
    struct test_ca tca;
    make_ca(&tca);
    unsigned char *der = NULL, *spki = NULL;
    int dl = i2d_X509(tca.x, &der);
    int sl = i2d_PUBKEY(X509_get0_pubkey(tca.x), &spki);
    char err[200];
    cf_cert_info_t info;
    time_t now = time(NULL);
    assert_int_equal(
        cf_issue_check_cert(der, (size_t)dl, spki, (size_t)sl, now, &info, err, sizeof(err)),
        CF_OK);
    assert_string_equal(info.serial, "01");
    assert_int_equal(cf_issue_check_cert(der, (size_t)dl, spki, (size_t)sl, now + 3651L * 86400,
                                         &info, err, sizeof(err)),
                     CF_ERR_INVALID);
    assert_non_null(strstr(err, "expired"));
    assert_int_equal(cf_issue_check_cert(der, (size_t)dl, spki, (size_t)sl, now - 86400, &info, err,
                                         sizeof(err)),
                     CF_ERR_INVALID);
    assert_non_null(strstr(err, "not valid yet"));
    OPENSSL_free(der);
    OPENSSL_free(spki);
    drop_ca(&tca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csr_signed_by_card_verifies_with_openssl),
        cmocka_unit_test(test_csr_refuses_unknown_attribute_and_empty_subject),
        cmocka_unit_test(test_local_ca_issues_logon_certificate_proven_on_card),
        cmocka_unit_test(test_local_ca_key_file_checked_like_a_key_file),
        cmocka_unit_test(test_command_ca_openssl_x509_req_issues_for_gids_and_piv),
        cmocka_unit_test(test_command_ca_refusal_is_reported_with_its_words),
        cmocka_unit_test(test_command_ca_garbage_and_oversize_are_refused),
        cmocka_unit_test(test_command_ca_inherits_no_descriptor_but_its_three),
        cmocka_unit_test(test_command_ca_that_hangs_is_killed_with_its_group),
        cmocka_unit_test(test_command_exiting_early_leaving_a_child_is_not_waited_for),
        cmocka_unit_test(test_ca_output_parser_takes_exactly_one_certificate),
        cmocka_unit_test(test_check_cert_refuses_expired_and_future),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
