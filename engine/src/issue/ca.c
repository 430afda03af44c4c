/*
 * ca.c - the CA handle: a local CA (ca_local.c) or an external command,
 * one cf_ca_issue for both.
 *
 * The request is parsed here, once, from the caller's DER and with its
 * exact length, so that both kinds see the same object. The command kind
 * hands it on as PEM and takes back whatever ca_output.c accepts; its
 * refusal (a non-zero exit, a signal) is reported with the start of what
 * it wrote to standard error, which is the CA's own words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/pem.h>

#include "issue/issue_int.h"

#define DEFAULT_TIMEOUT_MS 30000u

cf_err_t cf_ca_open_command(const char *command, unsigned timeout_ms, char *errbuf, size_t errlen,
                            cf_ca_t **out)
{
    *out = NULL;
    if (command == NULL || command[strspn(command, " \t")] == '\0') {
        cf_keys_errf(errbuf, errlen, "CA command: empty");
        return CF_ERR_ARG;
    }
    cf_ca_t *ca = calloc(1, sizeof(*ca));
    if (ca == NULL || (ca->command = strdup(command)) == NULL) {
        free(ca);
        return CF_ERR_NOMEM;
    }
    ca->kind = CA_COMMAND;
    ca->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
    snprintf(ca->describe, sizeof(ca->describe), "CA command");
    *out = ca;
    return CF_OK;
}

void cf_ca_free(cf_ca_t *ca)
{
    if (ca == NULL)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca->command);
    free(ca);
}

const char *cf_ca_describe(const cf_ca_t *ca)
{
    return ca != NULL ? ca->describe : "no CA";
}

cf_err_t cf_ca_issue_command(cf_ca_t *ca, X509_REQ *req, uint8_t **cert, size_t *cert_len,
                             char *errbuf, size_t errlen)
{
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *pem = NULL;
    if (b == NULL || PEM_write_bio_X509_REQ(b, req) != 1 || BIO_get_mem_ptr(b, &pem) != 1) {
        BIO_free(b);
        return CF_ERR_NOMEM;
    }
    struct cmd_result r;
    cf_err_t err = cf_issue_run_command(ca->command, ca->timeout_ms, (const uint8_t *)pem->data,
                                        pem->length, CF_ISSUE_MAX_OUTPUT, &r, errbuf, errlen);
    BIO_free(b);
    if (err != CF_OK)
        return err;
    if (!r.exited || r.status != 0) {
        char how[40];
        if (r.exited)
            snprintf(how, sizeof(how), "exited with status %d", r.status);
        else
            snprintf(how, sizeof(how), "was killed by signal %d", r.sig);
        cf_keys_errf(errbuf, errlen, "CA command refused the request: it %s%s%s", how,
                     r.err[0] ? "; it said: " : " and said nothing on standard error", r.err);
        free(r.out);
        return CF_ERR_REFUSED;
    }
    char why[200] = "";
    err = cf_issue_parse_ca_output(r.out, r.out_len, cert, cert_len, why, sizeof(why));
    if (err != CF_OK)
        cf_keys_errf(errbuf, errlen, "CA command exited 0 but %s", why);
    free(r.out);
    return err;
}

cf_err_t cf_ca_issue(cf_ca_t *ca, const uint8_t *csr, size_t csr_len, const cf_issue_names_t *names,
                     unsigned validity_days, uint8_t **cert, size_t *cert_len, char *errbuf,
                     size_t errlen)
{
    *cert = NULL;
    *cert_len = 0;
    if (ca == NULL || csr == NULL || csr_len == 0 || csr_len > CF_ISSUE_MAX_OUTPUT) {
        cf_keys_errf(errbuf, errlen, "issue: no CA or no request");
        return CF_ERR_ARG;
    }
    const unsigned char *p = csr;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
    if (req == NULL || (size_t)(p - csr) != csr_len) {
        X509_REQ_free(req);
        cf_keys_errf(errbuf, errlen, "issue: the request is not one DER PKCS#10 request");
        return CF_ERR_PARSE;
    }
    cf_err_t err =
        ca->kind == CA_LOCAL
            ? cf_ca_issue_local(ca, req, names, validity_days, cert, cert_len, errbuf, errlen)
            : cf_ca_issue_command(ca, req, cert, cert_len, errbuf, errlen);
    X509_REQ_free(req);
    return err;
}
