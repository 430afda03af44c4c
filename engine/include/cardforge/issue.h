/*
 * issue.h - a certificate for a key made on the card: the key pair is
 * generated in a slot, a PKCS#10 request is signed BY THE CARD (the private
 * key never leaves it), a certification authority turns the request into a
 * certificate, and the certificate is checked, written to the slot and
 * proven there.
 *
 * The CA is pluggable (cf_ca_t):
 *   - local: an OpenSSL CA certificate and its private key file, for small
 *     offices and tests. The key file is checked as the key files of
 *     keys.h are: a regular file (no symbolic link) owned by the user
 *     running cardforge, mode 0600 or 0400;
 *   - command: an external program run through /bin/sh in a process group
 *     of its own: the request (PEM) on its standard input, the certificate
 *     (PEM or DER) expected on its standard output, a deadline after which
 *     the whole group is killed, a bounded output, the exit status checked,
 *     the start of its standard error kept for the message. The request is
 *     public, so nothing secret is ever handed to the program.
 *
 * Whatever the CA returns is untrusted: parsed with bounds, its public key
 * must be the card's and it must be valid now.
 *
 * Messages (errbuf) never hold a PIN or a private key.
 */
#ifndef CARDFORGE_ISSUE_H
#define CARDFORGE_ISSUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cardforge/card.h>
#include <cardforge/cert.h>
#include <cardforge/error.h>
#include <cardforge/secret.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One attribute of a distinguished name, as OpenSSL names it ("CN", "O",
 * "OU", "C", "emailAddress", ...) and its value (UTF-8). Kept as pairs,
 * not as one "/CN=.../O=..." string, so that a value from a batch record may
 * hold any character. */
typedef struct cf_dn_entry {
    const char *attr;
    const char *value;
} cf_dn_entry_t;

/* What the certificate is to name. Borrowed by every call. */
typedef struct cf_issue_names {
    const cf_dn_entry_t *subject; /* at least one entry, in order (most significant first) */
    size_t n_subject;
    const char *upn;   /* SAN otherName UPN (smart-card logon); NULL or "": none */
    const char *email; /* SAN rfc822Name; NULL or "": none */
} cf_issue_names_t;

/* Longest CSR or certificate a CA exchange accepts (the card takes at most
 * CF_CERT_MAX_DER; a CA may add a chain after the certificate in PEM). */
#define CF_ISSUE_MAX_OUTPUT (64 * 1024)

/* Build the PKCS#10 request for the key in slot whose public key is spki
 * (DER SubjectPublicKeyInfo, as cf_cert_generate gives it), alg that key's
 * algorithm: the request info is hashed (SHA-256; SHA-384 for P-384) and
 * signed on the card with cf_cert_sign (RSA PKCS#1 v1.5 or ECDSA), then
 * verified with OpenSSL against spki before it is returned. The SAN (UPN,
 * email) is asked for in an extensionRequest attribute. *csr (DER,
 * malloc'd) is the caller's. The PIN must be verified as the slot's policy
 * says. CF_ERR_ARG for a bad name (message says which), CF_ERR_CRYPTO when
 * the card's signature does not verify, card errors as they are. */
cf_err_t cf_issue_csr(cf_card_t *card, const char *slot, cf_key_alg_t alg, const uint8_t *spki,
                      size_t spki_len, const cf_issue_names_t *names, uint8_t **csr,
                      size_t *csr_len, char *errbuf, size_t errlen);

/* ---- certification authorities ----------------------------------------- */

typedef struct cf_ca cf_ca_t;

/* A local CA from a PEM certificate (must be a CA certificate, valid now)
 * and a PEM private key (unencrypted; checked like a key file, see above;
 * must match the certificate). The key is read into memory that is wiped.
 * CF_ERR_PERMISSION (owner, mode, symbolic link), CF_ERR_IO, CF_ERR_PARSE,
 * CF_ERR_INVALID (not a CA, expired, key does not match). *out is the
 * caller's (cf_ca_free). */
cf_err_t cf_ca_open_local(const char *cert_path, const char *key_path, char *errbuf, size_t errlen,
                          cf_ca_t **out);

/* A CA that is an external command (run as `/bin/sh -c command`), given
 * timeout_ms to answer each request (0: 30 seconds). Nothing is run yet.
 * CF_ERR_ARG for an empty command. *out is the caller's. */
cf_err_t cf_ca_open_command(const char *command, unsigned timeout_ms, char *errbuf, size_t errlen,
                            cf_ca_t **out);

void cf_ca_free(cf_ca_t *ca); /* NULL is fine */

/* "local CA <subject>" or "CA command" (for messages; borrowed). */
const char *cf_ca_describe(const cf_ca_t *ca);

/* Have ca issue a certificate for the request csr (DER). A local CA
 * verifies the request's signature, takes its subject and public key, and
 * issues for validity_days (1..7300) with the smart-card logon profile:
 * KeyUsage digitalSignature (critical), ExtendedKeyUsage clientAuth and
 * msSmartcardLogin, the SAN of names (UPN, email), a 16-byte random serial.
 * A command CA gets the request as PEM and decides itself (names and
 * validity_days are not passed; the request carries the SAN).
 * *cert is the certificate as DER (malloc'd, the caller's), parsed but not
 * yet checked against the key (cf_issue_check_cert). CF_ERR_REFUSED when
 * the command exits non-zero or is killed (its standard error in the
 * message), CF_ERR_TIMEOUT when it does not finish in time (its group is
 * killed), CF_ERR_PARSE when the output is not a certificate, CF_ERR_BUFFER
 * when it is longer than CF_ISSUE_MAX_OUTPUT. */
cf_err_t cf_ca_issue(cf_ca_t *ca, const uint8_t *csr, size_t csr_len, const cf_issue_names_t *names,
                     unsigned validity_days, uint8_t **cert, size_t *cert_len, char *errbuf,
                     size_t errlen);

/* ---- what came back ----------------------------------------------------- */

/* What a journal records about an issued certificate (all public). */
typedef struct cf_cert_info {
    char serial[2 * 20 + 1]; /* hex, upper case, as `openssl x509 -serial` prints it */
    char sha256[65];         /* of the DER, lower-case hex */
    char issuer[256];        /* RFC 2253, truncated to fit */
    char not_after[21];      /* "2027-12-05T13:38:56Z" */
} cf_cert_info_t;

/* Check a certificate the CA returned before it goes near the card:
 * at most CF_CERT_MAX_DER bytes of DER that parse exactly; its public key
 * is spki; valid at now (not before its notBefore minus 5 minutes of clock
 * skew, not after its notAfter). info (may be NULL) is filled.
 * CF_ERR_PARSE, CF_ERR_BUFFER (too long for a card), CF_ERR_INVALID (other
 * key, not valid now). */
cf_err_t cf_issue_check_cert(const uint8_t *der, size_t len, const uint8_t *spki, size_t spki_len,
                             time_t now, cf_cert_info_t *info, char *errbuf, size_t errlen);

/* ---- the whole step ------------------------------------------------------ */

/* What one issuance asks for. */
typedef struct cf_issue_request {
    const char *slot;       /* "9a".."9e"; GIDS: NULL or "" for the first free container */
    cf_keygen_t keygen;     /* algorithm, policies, label */
    cf_issue_names_t names; /* subject and SAN */
    unsigned validity_days; /* for a local CA */
    const cf_secret_t *pin; /* verified again before each signature (borrowed) */
} cf_issue_request_t;

/* Where the card stands after cf_issue_run, whatever it returned. */
typedef enum cf_issue_state {
    CF_ISSUE_UNTOUCHED = 0, /* no key generated: the card is as it was */
    CF_ISSUE_KEY_GENERATED, /* a new key pair in the slot, no certificate written
                               (a certificate already in the slot no longer matches) */
    CF_ISSUE_CERT_UNKNOWN,  /* the certificate write was in flight when the card was
                               lost: the slot may or may not hold it */
    CF_ISSUE_CERT_WRITTEN,  /* the certificate is in the slot (read back), not proven
                               by a signature */
    CF_ISSUE_DONE,          /* written, read back byte for byte, and a signature by
                               the card verified with the certificate's key */
} cf_issue_state_t;

/* "untouched", "key-generated", "certificate-unknown",
 * "certificate-written", "done". */
const char *cf_issue_state_name(cf_issue_state_t s);

typedef struct cf_issue_result {
    cf_issue_state_t state;
    char slot[CF_CERT_SLOT_NAME]; /* the slot used ("" before generation) */
    cf_key_alg_t alg;
    cf_cert_info_t cert; /* filled once the CA's certificate passed cf_issue_check_cert */
    int have_cert;       /* 1 when cert is filled */
} cf_issue_result_t;

/* Generate the key, have the card sign the request, have ca issue the
 * certificate, check it, write it, read it back byte for byte from a fresh
 * session, and prove it with one signature by the card verified with the
 * certificate's key. The PIN (and on PIV the admin key) must have been
 * verified before; req->pin is presented again after each re-selection.
 * res says exactly where the card stands, also on failure (a CA that
 * refuses, hangs or returns garbage leaves CF_ISSUE_KEY_GENERATED). */
cf_err_t cf_issue_run(cf_card_t *card, const cf_issue_request_t *req, cf_ca_t *ca,
                      cf_issue_result_t *res, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
