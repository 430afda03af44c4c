/*
 * card_cert_int.h - what the certificate operations (cert.h) share inside
 * engine/src/card: the command sender, the parsers of what the card holds
 * (each bounds-checked and fuzzed: tests/fuzz/fuzz_cert_parse.c), and the
 * operations of each `keys:` scheme (card_cert_piv.c, card_cert_gids.c).
 */
#ifndef CF_CARD_CERT_INT_H
#define CF_CARD_CERT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/cert.h>

#include "card/card_int.h"

/* ---- sending ------------------------------------------------------------ */

#define CF_CERT_SECRET_DATA 0x100u /* the command data is a secret (an import) */

/* Send one command built here (the scheme's byte layout), flags as
 * cf_card_cmd's CF_CMD_WRITE plus CF_CERT_SECRET_DATA. CF_OK on 9000;
 * otherwise the card's answer in words: 6982 CF_ERR_REFUSED ("security
 * status not satisfied": PIN or admin key), 6A84 CF_ERR_CARD_STATUS
 * ("the card is full"), 6A82/6A88 CF_ERR_NOT_FOUND, anything else
 * CF_ERR_CARD_STATUS; transport errors as they are. le: 0 none, 1..256. */
cf_err_t cf_cert_apdu(cf_card_t *card, const char *what, uint8_t ins, uint8_t p1, uint8_t p2,
                      const uint8_t *data, size_t len, size_t le, unsigned flags, cf_rapdu_t *resp);

/* CF_ERR_REFUSED (nothing sent) unless the PIN was verified in this
 * session, and with need_admin unless the admin key was too. */
cf_err_t cf_cert_need_auth(cf_card_t *card, const char *what, int need_admin);

/* ---- parsers of untrusted bytes ------------------------------------------ */

/* A PIV certificate object's value (the 53 template): 70 certificate,
 * 71 CertInfo, FE error detection. 0 with *der borrowed from buf and
 * *compressed the CertInfo flag; 1 when the object is empty (deleted);
 * -1 malformed. */
int cf_cert_piv_object(const uint8_t *buf, size_t len, const uint8_t **der, size_t *dlen,
                       int *compressed);

/* A PIV public key template's content (inside 7F49, or GET METADATA's 04):
 * 81 modulus 82 exponent (RSA-2048) or 86 uncompressed point, as
 * SubjectPublicKeyInfo DER (malloc'd). 0, or -1 when malformed or not of
 * alg. */
int cf_cert_piv_spki(const uint8_t *buf, size_t len, cf_key_alg_t alg, uint8_t **spki,
                     size_t *slen);

/* A GIDS masterfile entry (DO DF1F of EF A000). */
#define CF_GIDS_MAX_ENTRIES 64
struct cf_gids_entry {
    char dir[10], name[10]; /* up to 9 characters, NUL-terminated */
    uint16_t tag;           /* DO */
    uint16_t ef;
};
/* 0 and *n entries; -1 malformed (first byte not 01, a partial record,
 * more than cap). */
int cf_gids_masterfile_parse(const uint8_t *buf, size_t len, struct cf_gids_entry *out, size_t cap,
                             size_t *n);

/* A cmapfile record (86 bytes). */
#define CF_GIDS_MAX_CONTAINERS 16
#define CF_GIDS_CMAP_RECORD 86
struct cf_gids_cmap {
    char label[41]; /* ASCII of the UTF-16LE label; '?' for other characters */
    uint8_t flags;  /* 01 valid, 02 default */
    uint16_t sig_bits, kx_bits;
};
/* 0 and *n records; -1 when len is not a multiple of 86 or more than cap. */
int cf_gids_cmap_parse(const uint8_t *buf, size_t len, struct cf_gids_cmap *out, size_t cap,
                       size_t *n);

/* A GIDS certificate DO value (01 00 <length LE16> <zlib>) inflated into
 * a malloc'd DER of exactly that length. 0, or -1 malformed. */
int cf_gids_cert_inflate(const uint8_t *buf, size_t len, uint8_t **der, size_t *dlen);
/* The reverse, for writing. 0, or -1. */
int cf_gids_cert_deflate(const uint8_t *der, size_t dlen, uint8_t **out, size_t *olen);

/* 0 when der[0..len) is exactly one X.509 certificate of at most
 * CF_CERT_MAX_DER bytes (what we write), -1 otherwise. */
int cf_cert_der_check(const uint8_t *der, size_t len);
/* The same with another limit (what we read: CF_CERT_MAX_READ). */
#define CF_CERT_MAX_READ 16384
int cf_cert_der_check_max(const uint8_t *der, size_t len, size_t max);

/* A gzip stream (a PIV certificate object with CertInfo 01, as ykman
 * --compress writes it) inflated into a malloc'd buffer of at most
 * CF_CERT_MAX_READ bytes. 0, or -1. */
int cf_cert_gunzip(const uint8_t *buf, size_t len, uint8_t **der, size_t *dlen);

/* The key algorithm of a certificate's public key; UNKNOWN when another. */
cf_key_alg_t cf_cert_der_alg(const uint8_t *der, size_t len);

/* The EMSA-PKCS1-v1_5 block of a digest made with md ("sha256"...), k
 * bytes, for cards that sign a block the host padded. 0, or -1. */
int cf_cert_pkcs1_block(const char *md, const uint8_t *digest, size_t dlen, uint8_t *out, size_t k);

/* ---- schemes ------------------------------------------------------------- */

cf_err_t cf_piv_slots(cf_card_t *card, int all, cf_key_slot_t *out, size_t cap, size_t *n);
cf_err_t cf_piv_cert_read(cf_card_t *card, uint8_t ref, uint8_t **der, size_t *len);
cf_err_t cf_piv_cert_put(cf_card_t *card, uint8_t ref, const uint8_t *der, size_t len);
cf_err_t cf_piv_public_key(cf_card_t *card, uint8_t ref, uint8_t **spki, size_t *len,
                           cf_key_alg_t *alg);
cf_err_t cf_piv_generate(cf_card_t *card, uint8_t ref, const cf_keygen_t *g, uint8_t **spki,
                         size_t *len);
cf_err_t cf_piv_sign(cf_card_t *card, uint8_t ref, cf_key_alg_t alg, const char *md,
                     const uint8_t *digest, size_t dlen, uint8_t **sig, size_t *siglen);
cf_err_t cf_piv_import(cf_card_t *card, uint8_t ref, const cf_secret_t *pkcs8,
                       const cf_keygen_t *policy);
/* The slot reference of "9a" etc., or -1. */
int cf_piv_slot_ref(const cf_card_t *card, const char *slot);

/* GIDS data objects: read DO tag of EF ef (*len 0 when absent); write one
 * and prove it by reading it back. */
cf_err_t cf_gids_get_do(cf_card_t *card, const char *what, uint16_t ef, uint16_t tag, uint8_t *buf,
                        size_t cap, size_t *len);
cf_err_t cf_gids_put_do_proven(cf_card_t *card, const char *what, uint16_t ef, uint16_t tag,
                               const uint8_t *val, size_t len);
/* Count a change in the minidriver's cardcf (files and/or containers). */
cf_err_t cf_gids_bump_cardcf(cf_card_t *card, const char *what, int files, int containers);
cf_err_t cf_gids_slots(cf_card_t *card, cf_key_slot_t *out, size_t cap, size_t *n);
cf_err_t cf_gids_cert_read(cf_card_t *card, unsigned idx, uint8_t **der, size_t *len);
cf_err_t cf_gids_cert_write(cf_card_t *card, unsigned idx, const uint8_t *der, size_t len);
cf_err_t cf_gids_delete(cf_card_t *card, unsigned idx, int with_key);
cf_err_t cf_gids_set_default(cf_card_t *card, unsigned idx);
cf_err_t cf_gids_public_key(cf_card_t *card, unsigned idx, uint8_t **spki, size_t *len);
cf_err_t cf_gids_key_generate(cf_card_t *card, const cf_keygen_t *g, uint8_t **spki, size_t *len,
                              char *used);
cf_err_t cf_gids_key_import(cf_card_t *card, const cf_secret_t *pkcs8, const char *label,
                            char *used);
cf_err_t cf_gids_sign(cf_card_t *card, unsigned idx, const char *md, const uint8_t *digest,
                      size_t dlen, uint8_t **sig, size_t *siglen);

#endif
