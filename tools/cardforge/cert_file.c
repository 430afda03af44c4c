/*
 * cert_file.c - the files `cardforge cert import` takes: a certificate
 * (.cer/.der DER, or PEM) or a PKCS#12 bundle (.pfx/.p12) whose password
 * is asked at the terminal without echo. Everything in the file is
 * untrusted and goes through OpenSSL's parsers; the private key leaves
 * here only as PKCS#8 DER in a cf_secret_t, and every copy of it and of
 * the password is wiped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <cardforge/cert.h>

#include "cert_file.h"
#include "commands.h"
#include "tty_secret.h"

/* Larger than any certificate or PKCS#12 bundle a card takes. */
#define FILE_MAX (256 * 1024)

static int has_ext(const char *path, const char *ext)
{
    size_t pl = strlen(path), el = strlen(ext);
    return pl > el && strcasecmp(path + pl - el, ext) == 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
    int bad = ferror(f) || n > FILE_MAX || n == 0;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int x509_der(const char *cmd, const char *path, X509 *x, struct cert_import *ci)
{
    unsigned char *der = NULL;
    int dl = i2d_X509(x, &der);
    if (dl <= 0 || (size_t)dl > CF_CERT_MAX_DER) {
        OPENSSL_free(der);
        fprintf(stderr, "%s: %s: the certificate is larger than a card takes (%d bytes)\n", cmd,
                path, CF_CERT_MAX_DER);
        return CF_EXIT_USAGE;
    }
    ci->der = malloc((size_t)dl);
    if (ci->der == NULL) {
        OPENSSL_free(der);
        return CF_EXIT_FAIL;
    }
    memcpy(ci->der, der, (size_t)dl);
    ci->der_len = (size_t)dl;
    OPENSSL_free(der);
    return CF_EXIT_OK;
}

static int load_p12(const char *cmd, const char *path, const uint8_t *buf, size_t len,
                    struct cert_import *ci)
{
    const unsigned char *p = buf;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
    if (p12 == NULL) {
        fprintf(stderr, "%s: %s: not a PKCS#12 file (damaged?); nothing was sent to the card\n",
                cmd, path);
        return CF_EXIT_USAGE;
    }
    char prompt[300];
    snprintf(prompt, sizeof(prompt), "Password of %s (not shown): ", path);
    cf_secret_t *pw = NULL;
    cf_err_t e = tty_ask_secret(prompt, 256, &pw);
    if (e != CF_OK) {
        PKCS12_free(p12);
        fprintf(stderr, "%s: %s\n", cmd,
                e == CF_ERR_UNSUPPORTED ? "standard input is not a terminal; the password is "
                                          "only read from a terminal"
                : e == CF_ERR_ARG       ? "the password is empty or too long"
                                        : "no password read");
        return CF_EXIT_USAGE;
    }
    EVP_PKEY *pk = NULL;
    X509 *x = NULL;
    STACK_OF(X509) *ca = NULL;
    int st = CF_EXIT_OK;
    /* Bundles exported by older Windows and by `openssl pkcs12 -legacy`
     * encrypt with RC2-40, which OpenSSL 3 keeps in its legacy provider;
     * the default provider stays (retain_fallbacks). Only decryption uses
     * it: nothing is encrypted here. */
    OSSL_PROVIDER *legacy = OSSL_PROVIDER_try_load(NULL, "legacy", 1);
    if (PKCS12_verify_mac(p12, cf_secret_str(pw), (int)cf_secret_len(pw)) != 1) {
        fprintf(stderr,
                "%s: %s: wrong password (or a damaged file); nothing was sent to the "
                "card\n",
                cmd, path);
        st = CF_EXIT_FAIL;
    } else if (PKCS12_parse(p12, cf_secret_str(pw), &pk, &x, &ca) != 1) {
        fprintf(stderr,
                "%s: %s: the PKCS#12 contents cannot be read (damaged, or encrypted with an "
                "algorithm this OpenSSL does not offer); nothing was sent\n",
                cmd, path);
        st = CF_EXIT_FAIL;
    } else if (pk == NULL) {
        fprintf(stderr,
                "%s: %s holds no private key; import its certificate as a .cer, or use "
                "a .p12 with the key; nothing was sent\n",
                cmd, path);
        st = CF_EXIT_FAIL;
    } else if (x == NULL) {
        fprintf(stderr, "%s: %s holds no certificate for its key; nothing was sent\n", cmd, path);
        st = CF_EXIT_FAIL;
    } else if (X509_check_private_key(x, pk) != 1) {
        fprintf(stderr,
                "%s: %s: the certificate does not belong to the private key; nothing "
                "was sent\n",
                cmd, path);
        st = CF_EXIT_FAIL;
    }
    if (legacy != NULL)
        OSSL_PROVIDER_unload(legacy);
    ERR_clear_error();
    cf_secret_free(pw);
    if (st == CF_EXIT_OK)
        st = x509_der(cmd, path, x, ci);
    if (st == CF_EXIT_OK) {
        PKCS8_PRIV_KEY_INFO *inf = EVP_PKEY2PKCS8(pk);
        unsigned char *k = NULL;
        int kl = inf ? i2d_PKCS8_PRIV_KEY_INFO(inf, &k) : -1;
        if (kl > 0)
            ci->key = cf_secret_new(k, (size_t)kl);
        if (k != NULL)
            OPENSSL_clear_free(k, (size_t)kl);
        PKCS8_PRIV_KEY_INFO_free(inf);
        if (ci->key == NULL) {
            fprintf(stderr, "%s: %s: the private key cannot be encoded\n", cmd, path);
            st = CF_EXIT_FAIL;
        }
    }
    EVP_PKEY_free(pk);
    X509_free(x);
    sk_X509_pop_free(ca, X509_free);
    PKCS12_free(p12);
    return st;
}

int cert_file_load(const char *cmd, const char *path, struct cert_import *ci)
{
    memset(ci, 0, sizeof(*ci));
    size_t len = 0;
    uint8_t *buf = slurp(path, &len);
    if (buf == NULL) {
        fprintf(stderr, "%s: %s: cannot be read (missing, empty, or larger than %d bytes)\n", cmd,
                path, FILE_MAX);
        return CF_EXIT_USAGE;
    }
    int st;
    if (has_ext(path, ".p12") || has_ext(path, ".pfx")) {
        st = load_p12(cmd, path, buf, len, ci);
    } else {
        X509 *x = NULL;
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        if (b != NULL && len > 10 && memmem(buf, len, "-----BEGIN", 10) != NULL)
            x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        if (x == NULL) {
            const unsigned char *p = buf;
            x = d2i_X509(NULL, &p, (long)len);
            if (x != NULL && p != buf + len) {
                X509_free(x);
                x = NULL;
            }
        }
        ERR_clear_error();
        if (x == NULL) {
            fprintf(stderr,
                    "%s: %s: not a certificate (DER or PEM), or damaged; nothing was sent "
                    "to the card\n",
                    cmd, path);
            st = CF_EXIT_USAGE;
        } else {
            st = x509_der(cmd, path, x, ci);
            X509_free(x);
        }
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (st != CF_EXIT_OK)
        cert_import_free(ci);
    return st;
}

void cert_import_free(struct cert_import *ci)
{
    free(ci->der);
    cf_secret_free(ci->key);
    memset(ci, 0, sizeof(*ci));
}
