/*
 * p11.h - master keys inside a PKCS#11 token (internal to the keys module).
 *
 * Two parts: the RFC 7512 URI that names a key in the key file (p11_uri.c,
 * pure parsing, fuzzed through the key file parser) and the token itself
 * (p11.c: the module loaded with dlopen, one login, a pool of sessions so
 * that reader threads sign in parallel, one C_Sign with CKM_AES_CMAC per
 * KDF block). The key's value is never asked for.
 */
#ifndef CF_KEYS_P11_H
#define CF_KEYS_P11_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/keys.h>

/* Field sizes of CK_TOKEN_INFO; the object label and id have our limits. */
#define CF_P11_TOKEN_LABEL_MAX 32
#define CF_P11_SERIAL_MAX 16
#define CF_P11_OBJECT_MAX 128
#define CF_P11_ID_MAX 64

/* What a key-file URI says. A field that the URI leaves out matches
 * anything; the object must be named by label, id or both. */
struct cf_p11_uri {
    char token[CF_P11_TOKEN_LABEL_MAX + 1];
    char serial[CF_P11_SERIAL_MAX + 1];
    char object[CF_P11_OBJECT_MAX + 1];
    uint8_t id[CF_P11_ID_MAX];
    size_t id_len;
    unsigned has_token : 1, has_serial : 1, has_object : 1, has_id : 1;
};

/* Parse "pkcs11:attr=value;..." (len bytes, no NUL needed) into *out.
 * Accepted path attributes: token, serial, object, id, type (which must be
 * secret-key). Any query ('?', where pin-value would go) and any other
 * attribute are refused: the module and PIN have their own key-file lines.
 * On failure returns CF_ERR_PARSE with *why a static reason that quotes
 * nothing from the URI. */
cf_err_t cf_p11_uri_parse(const char *s, size_t len, struct cf_p11_uri *out, const char **why);

/* 1 when both URIs name the same token (by label and serial, where given). */
int cf_p11_uri_same_token(const struct cf_p11_uri *a, const struct cf_p11_uri *b);

typedef struct cf_p11_token cf_p11_token_t;

/* Where the token PIN comes from: pin, or when NULL, asked at the terminal
 * without echo (refused when there is none). */
struct cf_p11_open_args {
    const char *module;           /* absolute path of the PKCS#11 module */
    const struct cf_p11_uri *uri; /* which token (the object part is ignored) */
    const cf_secret_t *pin;       /* the PIN file's content, or NULL */
    const char *keyfile;          /* for messages */
};

/* Load the module, find the token, log in once. Never retries a PIN.
 * Errors (errbuf names the module or token, never the PIN):
 *   CF_ERR_IO          the module cannot be loaded or has no C_GetFunctionList
 *   CF_ERR_NOT_FOUND   no token matches the URI
 *   CF_ERR_WRONG_SECRET the token refused the PIN (CKR_PIN_INCORRECT)
 *   CF_ERR_LAST_TRY    the token says the next wrong PIN locks it: not tried
 *   CF_ERR_BLOCKED     the token's user PIN is locked
 *   CF_ERR_PERMISSION  no PIN file and no terminal to ask at
 *   CF_ERR_CRYPTO      any other PKCS#11 failure (its CKR_ name is given)
 * warn(ctx, text) is called for what should be seen but does not stop us
 * (few PIN tries left). The caller owns *out (cf_p11_close). */
typedef void (*cf_p11_warn_fn)(void *ctx, const char *text);
cf_err_t cf_p11_open(const struct cf_p11_open_args *a, cf_p11_token_t **out, cf_p11_warn_fn warn,
                     void *wctx, char *errbuf, size_t errlen);

/* Find the key of uri, check it can be a CMAC key of keylen bytes (CKK_AES,
 * CKA_SIGN true, CKA_VALUE_LEN keylen) and that the token offers
 * CKM_AES_CMAC; warn when the key could be read out (CKA_SENSITIVE false or
 * CKA_EXTRACTABLE true). CF_ERR_NOT_FOUND (no such object, or two),
 * CF_ERR_INVALID (wrong type, length or no CKA_SIGN), CF_ERR_UNSUPPORTED
 * (no CKM_AES_CMAC for this key size), CF_ERR_CRYPTO otherwise. what names
 * the key in messages ("issuing version 2"). */
cf_err_t cf_p11_find_key(cf_p11_token_t *t, const struct cf_p11_uri *uri, size_t keylen,
                         const char *what, unsigned long *handle, cf_p11_warn_fn warn, void *wctx,
                         char *errbuf, size_t errlen);

/* out = AES-CMAC(key, msg) in the token, on a session of the pool (opened
 * when every other one is busy, so threads do not wait for each other).
 * Thread-safe. CF_ERR_CRYPTO on failure, out wiped. */
cf_err_t cf_p11_cmac(cf_p11_token_t *t, unsigned long handle, const uint8_t *msg, size_t len,
                     uint8_t out[16]);

/* Close every session (which logs out) and release the module; NULL fine. */
void cf_p11_close(cf_p11_token_t *t);

/* Read a PIN at the controlling terminal without echo. CF_ERR_PERMISSION
 * when there is no terminal; the caller owns *out. */
cf_err_t cf_p11_prompt_pin(const char *prompt, cf_secret_t **out);

#endif
