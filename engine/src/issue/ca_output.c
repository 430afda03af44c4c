/*
 * ca_output.c - the certificate in what a CA hands back.
 *
 * A CA command is a program nobody here wrote: its output may be PEM or
 * DER, followed by a chain, or garbage. Only a certificate that parses to
 * exactly the bytes it occupies and fits a card slot comes out of here;
 * the checks against the card's key follow in cert_check.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "issue/issue_int.h"

cf_err_t cf_issue_copy(const void *p, size_t n, uint8_t **out, size_t *outlen)
{
    *out = malloc(n > 0 ? n : 1);
    if (*out == NULL)
        return CF_ERR_NOMEM;
    memcpy(*out, p, n);
    *outlen = n;
    return CF_OK;
}

static int is_blank(uint8_t b)
{
    return b == ' ' || b == '\t' || b == '\r' || b == '\n';
}

/* DER bytes of exactly one certificate: d2i must consume all of them. */
static cf_err_t der_exact(const uint8_t *p, size_t n, char *errbuf, size_t errlen)
{
    if (n == 0 || n > CF_ISSUE_MAX_OUTPUT) {
        cf_keys_errf(errbuf, errlen, "the CA returned %s", n == 0 ? "nothing" : "too much");
        return CF_ERR_PARSE;
    }
    const unsigned char *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    size_t used = x != NULL ? (size_t)(q - p) : 0;
    X509_free(x);
    if (x == NULL) {
        cf_keys_errf(errbuf, errlen,
                     "the CA's output is neither a PEM certificate nor a DER certificate");
        return CF_ERR_PARSE;
    }
    if (used != n) {
        cf_keys_errf(errbuf, errlen,
                     "the CA's certificate is followed by %zu bytes that are not part of it",
                     n - used);
        return CF_ERR_PARSE;
    }
    if (n > CF_CERT_MAX_DER) {
        cf_keys_errf(errbuf, errlen,
                     "the CA's certificate is %zu bytes; a card slot takes at most %d", n,
                     CF_CERT_MAX_DER);
        return CF_ERR_BUFFER;
    }
    return CF_OK;
}

/* The first CERTIFICATE block of PEM text; other blocks (a chain) are
 * skipped. */
static cf_err_t from_pem(const uint8_t *buf, size_t len, uint8_t **der, size_t *dlen, char *errbuf,
                         size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL)
        return CF_ERR_NOMEM;
    cf_err_t err = CF_ERR_PARSE;
    cf_keys_errf(errbuf, errlen, "the CA's PEM output holds no CERTIFICATE block");
    for (int i = 0; i < 16; i++) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long n = 0;
        if (PEM_read_bio(bio, &name, &header, &data, &n) != 1)
            break;
        int is_cert = strcmp(name, "CERTIFICATE") == 0;
        if (is_cert) {
            err = der_exact(data, (size_t)n, errbuf, errlen);
            if (err == CF_OK)
                err = cf_issue_copy(data, (size_t)n, der, dlen);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        if (is_cert)
            break;
    }
    BIO_free(bio);
    return err;
}

cf_err_t cf_issue_parse_ca_output(const uint8_t *buf, size_t len, uint8_t **der, size_t *dlen,
                                  char *errbuf, size_t errlen)
{
    *der = NULL;
    *dlen = 0;
    if (buf == NULL || len == 0) {
        cf_keys_errf(errbuf, errlen, "the CA returned nothing");
        return CF_ERR_PARSE;
    }
    if (len > CF_ISSUE_MAX_OUTPUT) {
        cf_keys_errf(errbuf, errlen, "the CA returned more than %d bytes", CF_ISSUE_MAX_OUTPUT);
        return CF_ERR_BUFFER;
    }
    size_t start = 0;
    while (start < len && is_blank(buf[start]))
        start++;
    static const char pem[] = "-----BEGIN ";
    if (len - start >= sizeof(pem) - 1 && memcmp(buf + start, pem, sizeof(pem) - 1) == 0)
        return from_pem(buf + start, len - start, der, dlen, errbuf, errlen);
    cf_err_t err = der_exact(buf, len, errbuf, errlen);
    return err == CF_OK ? cf_issue_copy(buf, len, der, dlen) : err;
}
