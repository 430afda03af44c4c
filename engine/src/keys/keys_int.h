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

struct cf_master_key {
    char name[CF_KEYS_NAME_MAX + 1];
    unsigned version;
    cf_secret_t *key;   /* 16, 24 or 32 bytes */
    unsigned long line; /* where the key file defines it; 0 for cf_master_key_new */
};

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
