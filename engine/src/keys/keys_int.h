/*
 * keys_int.h - what the files of the keys module share (internal).
 *
 * The master key struct is here, not in keyfile.c, because derivation needs
 * its bytes and the key file needs to own them. The raw KBKDF entry point
 * and the charset sampler are exposed so the unit tests can check them
 * against published vectors and hand-made random bytes.
 */
#ifndef CF_KEYS_INT_H
#define CF_KEYS_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/keys.h>

struct cf_p11_token;
struct cf_p11_uri;

/* A master key is either bytes held here (key != NULL) or a key inside a
 * PKCS#11 token (uri != NULL; token and handle set once the token is
 * opened). Everything above cf_master_key_cmac treats both alike. */
struct cf_master_key {
    char name[CF_KEYS_NAME_MAX + 1];
    unsigned version;
    size_t len;                 /* 16, 24 or 32: from the algorithm */
    cf_secret_t *key;           /* the bytes, or NULL for a token key */
    struct cf_p11_uri *uri;     /* where the token key is, or NULL */
    struct cf_p11_token *token; /* borrowed from the key file, NULL until opened */
    unsigned long handle;       /* the key's object handle in the token */
    unsigned long line;         /* where the key file defines it; 0 for cf_master_key_new */
};

/* One AES-CMAC block under the master key: out = CMAC(mk, msg). The key's
 * bytes through OpenSSL, or one C_Sign(CKM_AES_CMAC) in the token.
 * CF_ERR_CRYPTO when either fails; CF_ERR_UNSUPPORTED for a token key whose
 * token is not open. out is wiped on failure. */
cf_err_t cf_master_key_cmac(const struct cf_master_key *mk, const uint8_t *msg, size_t len,
                            uint8_t out[16]);

/* The PRF under the KDF loop: one 16-byte block of msg under ctx. */
typedef cf_err_t (*cf_keys_prf_fn)(const void *ctx, const uint8_t *msg, size_t len,
                                   uint8_t out[16]);

/* SP 800-108 counter mode (r = 32) over any 16-byte-block PRF, as
 * cf_keys_kbkdf_cmac below, one prf call per output block. */
cf_err_t cf_keys_kbkdf_counter(cf_keys_prf_fn prf, const void *ctx, const uint8_t *label,
                               size_t label_len, const uint8_t *context, size_t context_len,
                               int use_l, int use_separator, uint8_t *out, size_t outlen);

/* snprintf into errbuf (errlen bytes; nothing when NULL or 0): the one
 * message writer of the keys module. */
void cf_keys_errf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read a file of secrets we may trust (what: "key file", "PIN file", "CA
 * key file" for messages): a regular file, not a symbolic link, owned by
 * the effective user, mode 0600 or 0400, at most max bytes. *buf is a new
 * buffer of max + 1 bytes holding *len bytes, wiped and freed by the
 * caller. CF_ERR_PERMISSION (link, owner, mode, not a regular file),
 * CF_ERR_IO, CF_ERR_INVALID (too large), CF_ERR_NOMEM. */
cf_err_t cf_keys_read_checked(const char *path, const char *what, size_t max, char **buf,
                              size_t *len, char *errbuf, size_t errlen);

/* 1 when name is 1..CF_KEYS_NAME_MAX characters of A-Z a-z 0-9 _ . - */
int cf_keys_name_valid(const char *name, size_t len);

/* SP 800-108 counter mode, PRF = AES-CMAC, r = 32, through OpenSSL's KBKDF:
 *   K(i) = CMAC(key, [i]32 || label || 0x00 || context || [L]32)
 * where the 0x00 is present only when use_separator and [L]32 (output bits,
 * big-endian) only when use_l. label/context may be NULL when their length
 * is 0. keylen 16, 24 or 32; CF_ERR_ARG otherwise, CF_ERR_CRYPTO when
 * OpenSSL fails. out is wiped on failure. */
cf_err_t cf_keys_kbkdf_cmac(const uint8_t *key, size_t keylen, const uint8_t *label,
                            size_t label_len, const uint8_t *context, size_t context_len, int use_l,
                            int use_separator, uint8_t *out, size_t outlen);

/* Set the low bit of every byte so that each byte has an odd number of ones
 * (the DES key parity convention). */
void cf_keys_set_odd_parity(uint8_t *key, size_t len);

/* A card key of the given type from len fresh bytes (derived or random):
 * DES parity for 3DES types, then a new secret in *out. buf is modified
 * (parity) but not wiped: the caller owns and wipes it. */
cf_err_t cf_keys_card_key_from_bytes(cf_card_key_type_t type, uint8_t *buf, size_t len,
                                     cf_secret_t **out);

/* Turn random bytes into characters of charset (m = its length, 2..255)
 * without bias: a byte b is used only when b < 256 - 256 % m, and then gives
 * charset[b % m]; other bytes are skipped. Writes at most want characters to
 * out and returns how many were written. */
size_t cf_keys_sample_charset(const uint8_t *rnd, size_t n, const char *charset, size_t m,
                              char *out, size_t want);

#endif
