/*
 * keys.h - master keys, per-card keys, the offline unblock response and the
 * check values that make hex strings safe to read over the phone.
 *
 * Four jobs that belong together because the helpdesk needs all of them at
 * once:
 *
 *  - A key file holds named, versioned AES master keys (format in
 *    docs/key-derivation.md). It is read only when it is a regular file owned
 *    by the running user with mode 0600 or 0400.
 *  - A card's keys are derived from a master key and the card serial with
 *    NIST SP 800-108 counter-mode KBKDF over AES-CMAC (OpenSSL's "KBKDF"),
 *    so a key never has to be stored per card. The exact construction and
 *    test vectors are published in docs/key-derivation.md so that any other
 *    tool can reproduce every card's key.
 *  - The offline unblock response is the challenge encrypted under the card's
 *    admin key: 8-byte challenge -> 3DES, 16-byte challenge -> AES.
 *  - A two-digit check value beside every hex string a person reads aloud
 *    catches every single mistyped character and every swap of two
 *    neighbouring characters (proof in docs/helpdesk-guide.md).
 *
 * Every key, derived value and response is returned in a cf_secret_t the
 * caller owns and frees with cf_secret_free. No function here prints, logs
 * or puts a key into an error message.
 */
#ifndef CARDFORGE_KEYS_H
#define CARDFORGE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>
#include <cardforge/secret.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- card key types and purposes --------------------------------------- */

typedef enum cf_card_key_type {
    CF_CARD_KEY_3DES2 = 0, /* 16 bytes: two-key 3DES (K1 K2, K3 = K1), odd parity */
    CF_CARD_KEY_3DES = 1,  /* 24 bytes: three-key 3DES, odd parity */
    CF_CARD_KEY_AES128 = 2,
    CF_CARD_KEY_AES192 = 3,
    CF_CARD_KEY_AES256 = 4,
} cf_card_key_type_t;

/* Length in bytes of a key of type t (0 for a value outside the enum). */
size_t cf_card_key_len(cf_card_key_type_t t);
/* "3des2", "3des", "aes128", "aes192", "aes256"; "?" outside the enum. */
const char *cf_card_key_type_name(cf_card_key_type_t t);
/* Inverse of cf_card_key_type_name. CF_ERR_PARSE for any other name. */
cf_err_t cf_card_key_type_parse(const char *name, cf_card_key_type_t *out);

/* What a derived value is for. Each purpose has its own KDF label, so the
 * values of different purposes are independent even for the same card. */
typedef enum cf_key_purpose {
    CF_KEY_PURPOSE_ADMIN = 0, /* card manager / admin key (also the C/R key) */
    CF_KEY_PURPOSE_PUK = 1,   /* PUK, as digits */
    CF_KEY_PURPOSE_PIN = 2,   /* initial PIN, as digits */
} cf_key_purpose_t;

/* The KDF label of purpose p ("cardforge admin key", ...); NULL outside the
 * enum. Static, never freed. */
const char *cf_key_purpose_label(cf_key_purpose_t p);

/* ---- master keys and the key file -------------------------------------- */

typedef struct cf_master_key cf_master_key_t;
typedef struct cf_keyfile cf_keyfile_t;

/* Recommended size of the errbuf arguments below. */
#define CF_KEYS_ERRLEN 256
/* Longest master key name. */
#define CF_KEYS_NAME_MAX 64
/* Highest master key version; versions start at 1 (0 means "newest"). */
#define CF_KEYS_VERSION_MAX 999999u

/* Read a key file. Refused (CF_ERR_PERMISSION) unless path names a regular
 * file, not a symbolic link, owned by the effective user, with mode 0600 or
 * 0400; the checks are made on the opened descriptor. CF_ERR_IO when it
 * cannot be opened or read, CF_ERR_PARSE / CF_ERR_INVALID for its content.
 * On failure errbuf (errlen bytes, may be NULL) gets "path:line: reason";
 * the reason never quotes a key. The caller owns *out (cf_keyfile_free). */
cf_err_t cf_keyfile_load(const char *path, cf_keyfile_t **out, char *errbuf, size_t errlen);

/* Parse key-file text from memory (len bytes, need not be NUL-ended). name
 * is used in messages only. Same errors as cf_keyfile_load for the content.
 * The caller still owns (and should wipe) text. */
cf_err_t cf_keyfile_parse(const char *name, const char *text, size_t len, cf_keyfile_t **out,
                          char *errbuf, size_t errlen);

/* Keys in a PKCS#11 token. In the file, a key's hex may be replaced by an
 * RFC 7512 URI naming a secret key in a token,
 *     NAME VERSION ALGORITHM pkcs11:token=LABEL;object=LABEL
 * with the module named by a `module /path/to/module.so` line and the token
 * PIN's file by a `pin-file /path` line (a PIN file passes the key file's
 * checks; without one the PIN is asked at the terminal without echo).
 * cf_keyfile_load then loads the module, logs in once (a refused PIN is
 * never retried) and finds every token key, so these fail at load with
 * errbuf naming the cause, never the PIN:
 *   CF_ERR_IO           the module cannot be loaded
 *   CF_ERR_NOT_FOUND    no such token, or no such key in it
 *   CF_ERR_WRONG_SECRET the token refused the PIN (CKR_PIN_INCORRECT)
 *   CF_ERR_LAST_TRY / CF_ERR_BLOCKED   the token's PIN is at its last try /
 *                       locked: not tried
 *   CF_ERR_INVALID      the key is not an AES key of the algorithm's length
 *                       that may sign
 *   CF_ERR_UNSUPPORTED  the token does not offer CKM_AES_CMAC for it
 *   CF_ERR_PERMISSION   the PIN file fails the checks, or there is neither a
 *                       PIN file nor a terminal to ask at
 * cf_keyfile_parse only parses: its token keys cannot derive
 * (CF_ERR_UNSUPPORTED). Derivation through the token is thread-safe and
 * gives the same bytes as the key's value in the file would. */

/* What the token said that should be seen but does not stop the load (a
 * key that could be read out, few PIN tries left), in order; NULL for
 * i >= count. Borrowed from kf. */
size_t cf_keyfile_warning_count(const cf_keyfile_t *kf);
const char *cf_keyfile_warning(const cf_keyfile_t *kf, size_t i);

/* 1 when the key lives in a token, 0 when its bytes are in the file. */
int cf_master_key_in_token(const cf_master_key_t *mk);

/* Wipe and free; NULL is fine. Invalidates every cf_master_key_t from it. */
void cf_keyfile_free(cf_keyfile_t *kf);

/* The keys in file order; cf_keyfile_key returns NULL for i >= count.
 * Pointers are borrowed from kf. */
size_t cf_keyfile_count(const cf_keyfile_t *kf);
const cf_master_key_t *cf_keyfile_key(const cf_keyfile_t *kf, size_t i);

/* The key named name (exact, case-sensitive) with version version, or its
 * highest version when version is 0. NULL when there is none. Borrowed. */
const cf_master_key_t *cf_keyfile_find(const cf_keyfile_t *kf, const char *name, unsigned version);

/* A stand-alone master key (tests, keys from elsewhere than a file). key must
 * be 16, 24 or 32 bytes and is copied; name follows the key-file rules.
 * CF_ERR_ARG otherwise. Free with cf_master_key_free. */
cf_err_t cf_master_key_new(const char *name, unsigned version, const cf_secret_t *key,
                           cf_master_key_t **out);
/* Frees only keys made by cf_master_key_new; NULL is fine. */
void cf_master_key_free(cf_master_key_t *mk);

const char *cf_master_key_name(const cf_master_key_t *mk);
unsigned cf_master_key_version(const cf_master_key_t *mk);
/* 16, 24 or 32. */
size_t cf_master_key_len(const cf_master_key_t *mk);

/* ---- derivation -------------------------------------------------------- */

/* Longest serial, in hex digits after separators are removed. */
#define CF_KEYS_SERIAL_MAX 64

/* The serial as the KDF sees it: spaces, tabs and dashes removed, hex digits
 * upper-cased, 1..CF_KEYS_SERIAL_MAX digits of 0-9 A-F (a decimal serial is
 * a valid hex string and is taken as is, leading zeros included). out needs
 * CF_KEYS_SERIAL_MAX + 1 bytes. CF_ERR_PARSE for another character or an
 * empty or too long serial. */
cf_err_t cf_keys_serial_normalize(const char *serial, char *out, size_t outlen);

/* The card key of type `type` for purpose and serial:
 *   KBKDF-CMAC-counter(K = master key, label = cf_key_purpose_label(purpose),
 *                      context = normalized serial as ASCII, L = key length)
 * with odd parity set on 3DES keys. CF_ERR_PARSE for a bad serial, CF_ERR_ARG
 * for a bad type or purpose, CF_ERR_CRYPTO when OpenSSL fails. The caller
 * owns *out. */
cf_err_t cf_keys_derive(const cf_master_key_t *mk, cf_key_purpose_t purpose, const char *serial,
                        cf_card_key_type_t type, cf_secret_t **out);

/* A ndigits-long decimal value (1..32 digits) for purpose and serial: the
 * KDF (as above) with L = 64 bytes, each output byte below 250 giving the
 * digit byte % 10, bytes 250..255 skipped. The result is text ("04718265").
 * Errors as cf_keys_derive; CF_ERR_ARG for ndigits out of range. */
cf_err_t cf_keys_derive_digits(const cf_master_key_t *mk, cf_key_purpose_t purpose,
                               const char *serial, size_t ndigits, cf_secret_t **out);

/* ---- random per-card values -------------------------------------------- */

/* A random key of type `type` from RAND_bytes (odd parity on 3DES keys).
 * The caller owns *out. */
cf_err_t cf_keys_random_key(cf_card_key_type_t type, cf_secret_t **out);

#define CF_KEYS_DIGITS "0123456789"

/* A random len-character (1..127) text value over charset (2..255 distinct
 * characters, none of them NUL), e.g. CF_KEYS_DIGITS for a PIN. Uniform:
 * random bytes that would favour some characters are rejected, never
 * reduced modulo the charset size. CF_ERR_ARG for a bad len or charset. */
cf_err_t cf_keys_random_pin(size_t len, const char *charset, cf_secret_t **out);

/* ---- the offline unblock response -------------------------------------- */

/* response = E_K(challenge) in ECB, one block:
 *   8-byte challenge:  3DES (DES-EDE3); admin_key of 24 bytes, or 16 bytes
 *                      used as K1 K2 K1;
 *   16-byte challenge: AES-128/192/256 by admin_key length (16/24/32).
 * CF_ERR_INVALID for any other combination, CF_ERR_CRYPTO when OpenSSL
 * fails. The response is as long as the challenge; the caller owns *out. */
cf_err_t cf_keys_unblock_response(const cf_secret_t *admin_key, const uint8_t *challenge,
                                  size_t chlen, cf_secret_t **out);

/* ---- values read over the phone ---------------------------------------- */

/* Size of a check value buffer: two decimal digits and a NUL. */
#define CF_KEYS_CHECK_SIZE 3
/* Size of the grouped form of n bytes ("1A2B 3C4D ..."), NUL included. */
#define CF_KEYS_GROUPED_SIZE(n) (2 * (n) + ((n) + 1) / 2 + 1)

/* 1 for the separators a person may type inside a hex value: space, tab
 * and '-'. */
int cf_keys_is_separator(int c);

/* Decode hex typed by a person: either case, separators anywhere. *outlen
 * gets the byte count. CF_ERR_PARSE for another character, an odd number of
 * digits or no digits; CF_ERR_BUFFER when more than cap bytes. */
cf_err_t cf_keys_parse_hex(const char *text, uint8_t *out, size_t cap, size_t *outlen);

/* The check value of the hex digits in text (separators ignored, either
 * case): (the number "1" followed by the digits, read in base 16) mod 97,
 * as two decimal digits "00".."96". CF_ERR_PARSE as cf_keys_parse_hex,
 * except that an odd number of digits is fine (serials). */
cf_err_t cf_keys_check_value(const char *text, char out[CF_KEYS_CHECK_SIZE]);

/* The check value of the upper-case hex form of n bytes. */
void cf_keys_check_value_bytes(const uint8_t *data, size_t n, char out[CF_KEYS_CHECK_SIZE]);

/* Compare a check value a person typed (two digits, surrounding blanks
 * allowed) with the check value of text. CF_OK when they match,
 * CF_ERR_INVALID when they do not, CF_ERR_PARSE when typed is not two digits
 * 00..96 or text is not hex. */
cf_err_t cf_keys_check_matches(const char *text, const char *typed);

/* text (hex, separators and either case allowed) in groups of four
 * upper-case digits separated by one space, for reading aloud. CF_ERR_PARSE
 * as cf_keys_check_value, CF_ERR_BUFFER when out (outlen bytes) is short. */
cf_err_t cf_keys_group(const char *text, char *out, size_t outlen);

/* The grouped form of n bytes; out needs CF_KEYS_GROUPED_SIZE(n) bytes.
 * CF_ERR_BUFFER when outlen is smaller. */
cf_err_t cf_keys_group_bytes(const uint8_t *data, size_t n, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
