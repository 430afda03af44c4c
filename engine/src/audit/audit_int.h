/*
 * audit_int.h - the audit log's internals shared by the writer, the
 * verifier and their tests (internal).
 *
 * A line is parsed by cf_audit_parse_line alone, writer (reopening a log)
 * and verifier alike: the writer continues only a log whose last line the
 * verifier would accept.
 */
#ifndef CF_AUDIT_AUDIT_INT_H
#define CF_AUDIT_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

#include <cardforge/audit.h>

#define CF_AUDIT_HASH_LEN 32u
#define CF_AUDIT_SIG_LEN 64u
#define CF_AUDIT_KEYID_LEN 8u /* bytes of the SHA-256 of the public key naming it */
#define CF_AUDIT_SIG_TAIL_LEN (sizeof(",\"sig\":\"\"}") - 1 + 2 * CF_AUDIT_SIG_LEN)

/* What the chain and the signatures need from one line. */
typedef struct cf_audit_line {
    uint64_t seq;
    uint8_t prev[CF_AUDIT_HASH_LEN];
    int checkpoint; /* an event "checkpoint" */
    int final;      /* a checkpoint written at close */
    uint8_t keyid[CF_AUDIT_KEYID_LEN];
    uint8_t sig[CF_AUDIT_SIG_LEN];
    size_t signed_len; /* checkpoints: the bytes the signature covers */
} cf_audit_line_t;

/* Parse one line s[0..n), without its line end. 0 when it is an audit line
 * (a JSON object with seq >= 1, a time, an event and a 64-digit prev; a
 * checkpoint also has final, a 16-digit key and the 128-digit sig as its
 * last member), -1 when not. */
int cf_audit_parse_line(const char *s, size_t n, cf_audit_line_t *out);

/* ---- keys (key.c) ---------------------------------------------------------- */

/* snprintf into err (ignored when NULL or errlen is 0). */
void cf_audit_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The Ed25519 private key at path, checked like a master-key file (regular,
 * owned by the caller, 0600 or 0400). NULL with err set. */
EVP_PKEY *cf_audit_load_private(const char *path, char *err, size_t errlen);
/* The Ed25519 public key (PEM) at path. NULL with err set. */
EVP_PKEY *cf_audit_load_public(const char *path, char *err, size_t errlen);
/* The key's id: the first bytes of the SHA-256 of its raw public key. */
int cf_audit_key_id(EVP_PKEY *key, uint8_t id[CF_AUDIT_KEYID_LEN]);
int cf_audit_sign(EVP_PKEY *key, const void *msg, size_t n, uint8_t sig[CF_AUDIT_SIG_LEN]);
/* 1 when sig is key's signature of msg. */
int cf_audit_sig_ok(EVP_PKEY *key, const void *msg, size_t n, const uint8_t sig[CF_AUDIT_SIG_LEN]);

/* ---- verification (verify.c) ---------------------------------------------- */

/* Verify the log read from f with the public key pub. */
void cf_audit_verify_stream(FILE *f, EVP_PKEY *pub, unsigned flags, cf_audit_report_t *rep);

#endif
