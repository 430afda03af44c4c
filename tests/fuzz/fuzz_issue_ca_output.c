/*
 * fuzz_issue_ca_output.c - what a CA command hands back (PEM, DER, a
 * chain, garbage) through the path cf_issue_run takes: the output parser,
 * then the certificate check against a key and a time, and the journal's
 * facts about the certificate.
 *
 * Beyond not crashing: whatever the parser accepts is one DER certificate
 * of at most CF_CERT_MAX_DER bytes that parses to exactly its length; the
 * check, given the certificate's own key, either accepts it with
 * NUL-terminated facts or refuses with a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "issue/issue_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *der = NULL;
    size_t dlen = 0;
    char err[256];
    cf_err_t e = cf_issue_parse_ca_output(data, size, &der, &dlen, err, sizeof(err));
    if (e != CF_OK) {
        if (der != NULL || memchr(err, 0, sizeof(err)) == NULL)
            abort();
        ERR_clear_error();
        return 0;
    }
    if (der == NULL || dlen == 0 || dlen > CF_CERT_MAX_DER)
        abort();
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)dlen);
    if (x == NULL || (size_t)(p - der) != dlen)
        abort();
    unsigned char *spki = NULL;
    int sl = X509_get0_pubkey(x) != NULL ? i2d_PUBKEY(X509_get0_pubkey(x), &spki) : -1;
    if (sl > 0) {
        cf_cert_info_t info;
        e = cf_issue_check_cert(der, dlen, spki, (size_t)sl, (time_t)1767225600, &info, err,
                                sizeof(err));
        if (e == CF_OK &&
            (memchr(info.serial, 0, sizeof(info.serial)) == NULL || strlen(info.sha256) != 64 ||
             memchr(info.issuer, 0, sizeof(info.issuer)) == NULL))
            abort();
    }
    OPENSSL_free(spki);
    X509_free(x);
    free(der);
    ERR_clear_error();
    return 0;
}
