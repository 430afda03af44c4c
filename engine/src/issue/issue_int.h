/*
 * issue_int.h - what the files of the issuance module share (internal):
 * the CA handle, the one message writer, the parser of what a CA hands
 * back (fuzzed: tests/fuzz/fuzz_issue_ca_output.c) and the bounded runner
 * of a CA command.
 */
#ifndef CF_ISSUE_INT_H
#define CF_ISSUE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cardforge/issue.h>

#include "keys/keys_int.h" /* cf_keys_errf, cf_keys_read_checked */

enum ca_kind { CA_LOCAL = 1, CA_COMMAND = 2 };

struct cf_ca {
    enum ca_kind kind;
    X509 *cert;          /* CA_LOCAL */
    EVP_PKEY *key;       /* CA_LOCAL */
    char *command;       /* CA_COMMAND */
    unsigned timeout_ms; /* CA_COMMAND */
    char describe[160];
};

/* *out := a malloc'd copy of the n bytes at p (the caller's), *outlen n.
 * CF_ERR_NOMEM (and *out NULL) when out of memory. */
cf_err_t cf_issue_copy(const void *p, size_t n, uint8_t **out, size_t *outlen);

/* The certificate in a CA's output: PEM (the first CERTIFICATE block;
 * blocks after it, a chain, are ignored) or DER that parses to exactly
 * len bytes. *der (malloc'd, the caller's) is the certificate's DER as
 * received, *dlen at most CF_CERT_MAX_DER. CF_ERR_PARSE with the reason in
 * errbuf; CF_ERR_BUFFER when the certificate is longer than a card takes. */
cf_err_t cf_issue_parse_ca_output(const uint8_t *buf, size_t len, uint8_t **der, size_t *dlen,
                                  char *errbuf, size_t errlen);

/* A finished run of a command. */
struct cmd_result {
    int exited; /* 1: exited with status; 0: killed by signal sig */
    int status, sig;
    uint8_t *out; /* standard output (malloc'd) */
    size_t out_len;
    char err[512]; /* start of standard error, printable ASCII only */
};

/* Run `/bin/sh -c command` in its own process group with in on its
 * standard input; collect at most max_out bytes of standard output.
 * CF_ERR_TIMEOUT when it is not done within timeout_ms (the group is
 * killed), CF_ERR_BUFFER when it writes more than max_out (killed too),
 * CF_ERR_IO when it cannot be started. On CF_OK r->out is the caller's. */
cf_err_t cf_issue_run_command(const char *command, unsigned timeout_ms, const uint8_t *in,
                              size_t in_len, size_t max_out, struct cmd_result *r, char *errbuf,
                              size_t errlen);

/* The SAN of names (UPN as otherName 1.3.6.1.4.1.311.20.2.3, email as
 * rfc822Name) as GENERAL_NAMES, the caller's; NULL with *none set when
 * names has neither, NULL alone when out of memory. */
GENERAL_NAMES *cf_issue_san(const cf_issue_names_t *names, int *none);

/* The two kinds of CA behind cf_ca_issue (ca.c). req has been parsed
 * from the caller's DER; *cert is DER, the caller's. */
cf_err_t cf_ca_issue_local(cf_ca_t *ca, X509_REQ *req, const cf_issue_names_t *names,
                           unsigned validity_days, uint8_t **cert, size_t *cert_len, char *errbuf,
                           size_t errlen);
cf_err_t cf_ca_issue_command(cf_ca_t *ca, X509_REQ *req, uint8_t **cert, size_t *cert_len,
                             char *errbuf, size_t errlen);

/* The digest a key of alg signs with: "sha256" (RSA-2048, P-256) or
 * "sha384" (P-384). */
const char *cf_issue_md_name(cf_key_alg_t alg);

#endif
