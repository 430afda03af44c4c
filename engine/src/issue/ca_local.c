/*
 * ca_local.c - a certification authority in this process: an OpenSSL CA
 * certificate and its private key, for small offices and tests.
 *
 * The CA key is a secret like the master keys: its file is checked the
 * same way (keys_int.h: owner, mode 0600/0400, no symbolic link), its
 * bytes are wiped after parsing, an encrypted key is refused rather than
 * prompted for (the library never asks anything). What it issues is the
 * smart-card logon profile and nothing a request could ask to change:
 * the request only contributes its subject and its (verified) key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cardforge/secret.h>

#include "issue/issue_int.h"
#include "keys/keys_int.h"

#define CA_KEY_MAX_BYTES (64 * 1024)
#define CA_CERT_MAX_BYTES (64 * 1024)
#define MAX_VALIDITY_DAYS 7300

/* PEM callback that never prompts: an encrypted key fails to load. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static X509 *load_cert(const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cf_keys_errf(errbuf, errlen, "%s: cannot open the CA certificate", path);
        return NULL;
    }
    X509 *x = PEM_read_X509(f, NULL, no_password, NULL);
    fclose(f);
    if (x == NULL)
        cf_keys_errf(errbuf, errlen, "%s: not a PEM certificate", path);
    return x;
}

static cf_err_t load_key(const char *path, EVP_PKEY **out, char *errbuf, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    char why[256] = "";
    cf_err_t err =
        cf_keys_read_checked(path, "CA key file", CA_KEY_MAX_BYTES, &buf, &len, why, sizeof(why));
    if (err != CF_OK) {
        cf_keys_errf(errbuf, errlen, "%s", why);
        if (buf != NULL)
            cf_wipe(buf, CA_KEY_MAX_BYTES + 1);
        free(buf);
        return err;
    }
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
    BIO_free(bio);
    cf_wipe(buf, CA_KEY_MAX_BYTES + 1);
    free(buf);
    if (*out == NULL) {
        cf_keys_errf(errbuf, errlen,
                     "%s: not an unencrypted PEM private key (an encrypted CA key is not "
                     "supported: cardforge never prompts from the library)",
                     path);
        return CF_ERR_PARSE;
    }
    return CF_OK;
}

cf_err_t cf_ca_open_local(const char *cert_path, const char *key_path, char *errbuf, size_t errlen,
                          cf_ca_t **out)
{
    *out = NULL;
    if (cert_path == NULL || key_path == NULL) {
        cf_keys_errf(errbuf, errlen, "local CA: the CA certificate and key files are needed");
        return CF_ERR_ARG;
    }
    cf_ca_t *ca = calloc(1, sizeof(*ca));
    if (ca == NULL)
        return CF_ERR_NOMEM;
    ca->kind = CA_LOCAL;
    cf_err_t err = CF_OK;
    ca->cert = load_cert(cert_path, errbuf, errlen);
    if (ca->cert == NULL)
        err = CF_ERR_PARSE;
    if (err == CF_OK)
        err = load_key(key_path, &ca->key, errbuf, errlen);
    time_t now = time(NULL);
    if (err == CF_OK && X509_check_ca(ca->cert) == 0) {
        cf_keys_errf(errbuf, errlen, "%s: not a CA certificate (basicConstraints CA:TRUE)",
                     cert_path);
        err = CF_ERR_INVALID;
    } else if (err == CF_OK && (X509_cmp_time(X509_get0_notAfter(ca->cert), &now) <= 0 ||
                                X509_cmp_time(X509_get0_notBefore(ca->cert), &now) >= 0)) {
        cf_keys_errf(errbuf, errlen, "%s: the CA certificate is not valid now", cert_path);
        err = CF_ERR_INVALID;
    } else if (err == CF_OK && X509_check_private_key(ca->cert, ca->key) != 1) {
        cf_keys_errf(errbuf, errlen, "%s: the key is not the CA certificate's key (%s)", key_path,
                     cert_path);
        err = CF_ERR_INVALID;
    }
    if (err != CF_OK) {
        cf_ca_free(ca);
        return err;
    }
    char subj[120] = "";
    X509_NAME_oneline(X509_get_subject_name(ca->cert), subj, sizeof(subj));
    snprintf(ca->describe, sizeof(ca->describe), "local CA %s", subj);
    *out = ca;
    return CF_OK;
}

/* A positive serial from 16 random bytes (RFC 5280: at most 20 octets). */
static int random_serial(X509 *x)
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return 0;
    b[0] &= 0x7f;
    b[0] |= 0x01; /* never shorter than 16 bytes, never zero */
    BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* The smart-card logon profile (the extensions a Windows domain and most
 * PIV middleware look for). Constant texts only go through the config
 * parser; the names from the batch are built as structures (cf_issue_san). */
static int add_extensions(cf_ca_t *ca, X509 *x, const cf_issue_names_t *names)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
    if (!add_conf_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_conf_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
        !add_conf_ext(x, &ctx, NID_ext_key_usage, "clientAuth,msSmartcardLogin") ||
        !add_conf_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
        !add_conf_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
        return 0;
    int none = 0;
    GENERAL_NAMES *gens = names != NULL ? cf_issue_san(names, &none) : NULL;
    if (names == NULL || none)
        return 1;
    int ok = gens != NULL &&
             X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(gens);
    return ok;
}

cf_err_t cf_ca_issue_local(cf_ca_t *ca, X509_REQ *req, const cf_issue_names_t *names,
                           unsigned validity_days, uint8_t **cert, size_t *cert_len, char *errbuf,
                           size_t errlen)
{
    if (validity_days == 0 || validity_days > MAX_VALIDITY_DAYS) {
        cf_keys_errf(errbuf, errlen, "local CA: validity of %u days (1 to %d)", validity_days,
                     MAX_VALIDITY_DAYS);
        return CF_ERR_ARG;
    }
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    if (pub == NULL || X509_REQ_verify(req, pub) != 1) {
        cf_keys_errf(errbuf, errlen, "local CA: the request's signature does not verify");
        return CF_ERR_INVALID;
    }
    X509 *x = X509_new();
    int ok = x != NULL && X509_set_version(x, 2) == 1 && random_serial(x) &&
             X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1 &&
             X509_set_subject_name(x, X509_REQ_get_subject_name(req)) == 1 &&
             X509_set_pubkey(x, pub) == 1 && X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), (int)validity_days, 0, NULL) != NULL;
    /* Never beyond the CA's own end: a certificate outliving its issuer
     * fails path validation anyway. */
    if (ok && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca->cert)) > 0)
        ok = X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)) == 1;
    ok = ok && add_extensions(ca, x, names);
    ok = ok && X509_sign(x, ca->key, EVP_sha256()) > 0;
    unsigned char *der = NULL;
    int dl = ok ? i2d_X509(x, &der) : -1;
    X509_free(x);
    if (dl <= 0) {
        cf_keys_errf(errbuf, errlen, "local CA: cannot issue the certificate (OpenSSL failed)");
        return CF_ERR_CRYPTO;
    }
    cf_err_t err = cf_issue_copy(der, (size_t)dl, cert, cert_len);
    OPENSSL_free(der);
    return err;
}
