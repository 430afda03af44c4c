/*
 * cert_check.c - is the certificate a CA returned the one this card needs?
 *
 * Checked before anything is written: it parses to exactly its bytes, fits
 * a slot, carries the public key the card generated (a CA that answers for
 * another request, or a substituted certificate, is caught here), and is
 * valid now. The journal's facts about it (serial, fingerprint, issuer,
 * not-after) are taken from the same parse.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "issue/issue_int.h"

/* Certificates issued a moment ago by a CA whose clock runs ahead. */
#define CLOCK_SKEW_SECONDS 300

const char *cf_issue_md_name(cf_key_alg_t alg)
{
    return alg == CF_KEYALG_ECCP384 ? "sha384" : "sha256";
}

static void hex_lower(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static cf_err_t fill_info(X509 *x, const uint8_t *der, size_t len, cf_cert_info_t *info)
{
    memset(info, 0, sizeof(*info));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    if (hex == NULL)
        return CF_ERR_NOMEM;
    snprintf(info->serial, sizeof(info->serial), "%s", hex);
    OPENSSL_free(hex);

    uint8_t md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md))
        return CF_ERR_CRYPTO;
    hex_lower(md, sizeof(md), info->sha256);

    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return CF_ERR_NOMEM;
    /* RFC 2253 escapes control characters and non-ASCII bytes: the issuer
     * is text from outside, printed into journals and terminals. */
    X509_NAME_print_ex(b, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_UTF8_CONVERT);
    int n = BIO_read(b, info->issuer, (int)sizeof(info->issuer) - 1);
    info->issuer[n > 0 ? n : 0] = '\0';
    BIO_free(b);

    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
        return CF_ERR_PARSE;
    char when[80];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(info->not_after, sizeof(info->not_after), "%.20s", when);
    return CF_OK;
}

cf_err_t cf_issue_check_cert(const uint8_t *der, size_t len, const uint8_t *spki, size_t spki_len,
                             time_t now, cf_cert_info_t *info, char *errbuf, size_t errlen)
{
    if (der == NULL || spki == NULL || len == 0 || spki_len == 0) {
        cf_keys_errf(errbuf, errlen, "check certificate: nothing to check");
        return CF_ERR_ARG;
    }
    if (len > CF_CERT_MAX_DER) {
        cf_keys_errf(errbuf, errlen, "check certificate: %zu bytes; a card slot takes at most %d",
                     len, CF_CERT_MAX_DER);
        return CF_ERR_BUFFER;
    }
    const unsigned char *p = der, *q = spki;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *card_key = d2i_PUBKEY(NULL, &q, (long)spki_len);
    cf_err_t err = CF_OK;
    if (x == NULL || (size_t)(p - der) != len) {
        cf_keys_errf(errbuf, errlen, "check certificate: not exactly one DER certificate");
        err = CF_ERR_PARSE;
    } else if (card_key == NULL) {
        cf_keys_errf(errbuf, errlen, "check certificate: the card's public key does not parse");
        err = CF_ERR_ARG;
    } else if (X509_get0_pubkey(x) == NULL || EVP_PKEY_eq(X509_get0_pubkey(x), card_key) != 1) {
        cf_keys_errf(errbuf, errlen,
                     "check certificate: its public key is not the key generated on the card "
                     "(the CA answered for another request)");
        err = CF_ERR_INVALID;
    } else {
        time_t early = now + CLOCK_SKEW_SECONDS;
        if (X509_cmp_time(X509_get0_notBefore(x), &early) >= 0) {
            cf_keys_errf(errbuf, errlen,
                         "check certificate: not valid yet (notBefore is later "
                         "than now plus 5 minutes)");
            err = CF_ERR_INVALID;
        } else if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
            cf_keys_errf(errbuf, errlen, "check certificate: expired (notAfter has passed)");
            err = CF_ERR_INVALID;
        }
    }
    if (err == CF_OK && info != NULL) {
        err = fill_info(x, der, len, info);
        if (err != CF_OK)
            cf_keys_errf(errbuf, errlen, "check certificate: cannot read its serial or dates");
    }
    X509_free(x);
    EVP_PKEY_free(card_key);
    return err;
}
