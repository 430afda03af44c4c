/*
 * fuzz_cert_parse.c - the parsers of what a card holds about its keys and
 * certificates (card_cert_parse.c), and the PKCS#12 path `cardforge cert
 * import` takes, on arbitrary bytes.
 *
 * Byte 0 chooses the parser; the rest is its input. Beyond not crashing:
 * a certificate found in a PIV object lies inside the input; a parsed
 * masterfile or cmapfile has at most the entries asked for, with
 * NUL-terminated names; inflated DER has exactly the length the header
 * announced; whatever the DER check accepts has a key algorithm answer;
 * deflate then inflate gives the input back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "card/card_cert_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void piv_object(const uint8_t *p, size_t n)
{
    const uint8_t *der;
    size_t dl;
    int comp;
    int r = cf_cert_piv_object(p, n, &der, &dl, &comp);
    if (r == 0 && (der < p || der + dl > p + n || dl == 0))
        abort();
}

static void spki(const uint8_t *p, size_t n)
{
    for (int a = CF_KEYALG_RSA2048; a <= CF_KEYALG_ECCP384; a++) {
        uint8_t *out = NULL;
        size_t ol = 0;
        if (cf_cert_piv_spki(p, n, (cf_key_alg_t)a, &out, &ol) == 0 && (out == NULL || ol == 0))
            abort();
        free(out);
    }
}

static void gids_files(const uint8_t *p, size_t n)
{
    struct cf_gids_entry e[8];
    size_t k = 0;
    if (cf_gids_masterfile_parse(p, n, e, 8, &k) == 0) {
        if (k > 8)
            abort();
        for (size_t i = 0; i < k; i++)
            if (strlen(e[i].dir) > 9 || strlen(e[i].name) > 9)
                abort();
    }
    struct cf_gids_cmap c[4];
    if (cf_gids_cmap_parse(p, n, c, 4, &k) == 0 && (k > 4 || k * CF_GIDS_CMAP_RECORD != n))
        abort();
}

static void inflate(const uint8_t *p, size_t n)
{
    uint8_t *der = NULL;
    size_t dl = 0;
    if (cf_gids_cert_inflate(p, n, &der, &dl) == 0) {
        if (n < 4 || dl != ((size_t)p[2] | ((size_t)p[3] << 8)))
            abort();
        free(der);
    }
    if (cf_cert_gunzip(p, n, &der, &dl) == 0) {
        if (dl == 0 || dl > CF_CERT_MAX_READ)
            abort();
        free(der);
    }
    uint8_t *z = NULL;
    size_t zl = 0;
    if (n > 0 && n <= CF_CERT_MAX_DER && cf_gids_cert_deflate(p, n, &z, &zl) == 0) {
        if (cf_gids_cert_inflate(z, zl, &der, &dl) != 0 || dl != n || memcmp(der, p, n) != 0)
            abort();
        free(der);
        free(z);
    }
}

static void der(const uint8_t *p, size_t n)
{
    if (cf_cert_der_check(p, n) == 0)
        (void)cf_cert_der_alg(p, n);
}

/* What cert_file.c does with a .p12 (a fixed password). */
static void p12(const uint8_t *p, size_t n)
{
    const unsigned char *q = p;
    PKCS12 *b = d2i_PKCS12(NULL, &q, (long)n);
    if (b != NULL && PKCS12_verify_mac(b, "pw", 2) == 1) {
        EVP_PKEY *pk = NULL;
        X509 *x = NULL;
        STACK_OF(X509) *ca = NULL;
        if (PKCS12_parse(b, "pw", &pk, &x, &ca) == 1 && pk != NULL && x != NULL)
            (void)X509_check_private_key(x, pk);
        EVP_PKEY_free(pk);
        X509_free(x);
        sk_X509_pop_free(ca, X509_free);
    }
    PKCS12_free(b);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0:
        piv_object(p, n);
        break;
    case 1:
        spki(p, n);
        break;
    case 2:
        gids_files(p, n);
        break;
    case 3:
        inflate(p, n);
        break;
    case 4:
        der(p, n);
        break;
    default:
        p12(p, n);
        break;
    }
    return 0;
}
