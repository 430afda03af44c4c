/*
 * kdf.c - per-card keys and values derived from a master key.
 *
 * One construction for everything: NIST SP 800-108 KDF in counter mode with
 * AES-CMAC as the PRF, as OpenSSL's "KBKDF" implements it with its defaults
 * (32-bit counter before the fixed data, a 0x00 separator between label and
 * context, the output length in bits as a 32-bit suffix). The label says
 * what the value is for, the context says which card. Nothing is chosen
 * that a second implementation could get wrong silently: the serial is
 * normalized to one spelling before it becomes the context, and the whole
 * input is spelled out byte by byte in docs/key-derivation.md.
 *
 * The counter loop is ours (cf_keys_kbkdf_counter) and calls one CMAC block
 * at a time through cf_master_key_cmac, so a key in the file (OpenSSL's
 * CMAC) and a key in a PKCS#11 token (C_Sign with CKM_AES_CMAC) share every
 * line above that block. OpenSSL's own KBKDF (cf_keys_kbkdf_cmac) stays as
 * the independent judge the tests compare the loop with.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cardforge/keys.h>

#include "keys/keys_int.h"
#include "keys/p11.h"

/* Enough for 32 digits with overwhelming margin: see cf_keys_derive_digits. */
#define DIGITS_KDF_BYTES 64
#define DIGITS_MAX 32

static const struct {
    const char *name;
    size_t len;
} key_types[] = {
    [CF_CARD_KEY_3DES2] = {"3des2", 16},   [CF_CARD_KEY_3DES] = {"3des", 24},
    [CF_CARD_KEY_AES128] = {"aes128", 16}, [CF_CARD_KEY_AES192] = {"aes192", 24},
    [CF_CARD_KEY_AES256] = {"aes256", 32},
};
#define NKEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

static const char *const purpose_labels[] = {
    [CF_KEY_PURPOSE_ADMIN] = "cardforge admin key",
    [CF_KEY_PURPOSE_PUK] = "cardforge puk",
    [CF_KEY_PURPOSE_PIN] = "cardforge pin",
};
#define NPURPOSES (sizeof(purpose_labels) / sizeof(purpose_labels[0]))

size_t cf_card_key_len(cf_card_key_type_t t)
{
    return (unsigned)t < NKEY_TYPES ? key_types[t].len : 0;
}

const char *cf_card_key_type_name(cf_card_key_type_t t)
{
    return (unsigned)t < NKEY_TYPES ? key_types[t].name : "?";
}

cf_err_t cf_card_key_type_parse(const char *name, cf_card_key_type_t *out)
{
    for (size_t i = 0; name != NULL && i < NKEY_TYPES; i++)
        if (strcmp(name, key_types[i].name) == 0) {
            *out = (cf_card_key_type_t)i;
            return CF_OK;
        }
    return CF_ERR_PARSE;
}

const char *cf_key_purpose_label(cf_key_purpose_t p)
{
    return (unsigned)p < NPURPOSES ? purpose_labels[p] : NULL;
}

void cf_keys_set_odd_parity(uint8_t *key, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned b = key[i] & 0xfe, ones = 0;
        for (unsigned v = b; v != 0; v >>= 1)
            ones += v & 1;
        key[i] = (uint8_t)(b | ((ones & 1) ? 0 : 1));
    }
}

cf_err_t cf_keys_card_key_from_bytes(cf_card_key_type_t type, uint8_t *buf, size_t len,
                                     cf_secret_t **out)
{
    if (type == CF_CARD_KEY_3DES || type == CF_CARD_KEY_3DES2)
        cf_keys_set_odd_parity(buf, len);
    *out = cf_secret_new(buf, len);
    return *out != NULL ? CF_OK : CF_ERR_NOMEM;
}

static const char *cmac_cipher(size_t keylen)
{
    switch (keylen) {
    case 16:
        return "AES-128-CBC";
    case 24:
        return "AES-192-CBC";
    case 32:
        return "AES-256-CBC";
    default:
        return NULL;
    }
}

cf_err_t cf_keys_kbkdf_cmac(const uint8_t *key, size_t keylen, const uint8_t *label,
                            size_t label_len, const uint8_t *context, size_t context_len, int use_l,
                            int use_separator, uint8_t *out, size_t outlen)
{
    const char *cipher = cmac_cipher(keylen);
    if (cipher == NULL || key == NULL || out == NULL || outlen == 0 ||
        (label == NULL && label_len > 0) || (context == NULL && context_len > 0))
        return CF_ERR_ARG;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return CF_ERR_CRYPTO;
    OSSL_PARAM params[9], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "counter", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, "CMAC", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CIPHER, (char *)cipher, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, keylen);
    if (label_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, label_len);
    if (context_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)context, context_len);
    int l = use_l ? 1 : 0, sep = use_separator ? 1 : 0;
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_L, &l);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_SEPARATOR, &sep);
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(kctx, out, outlen, params) == 1;
    /* The context holds a copy of the master key; freeing it clears it. */
    EVP_KDF_CTX_free(kctx);
    if (!ok) {
        OPENSSL_cleanse(out, outlen);
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

/* Fixed data longer than this is refused: labels and serials are short. */
#define KDF_MSG_MAX 512

cf_err_t cf_keys_kbkdf_counter(cf_keys_prf_fn prf, const void *ctx, const uint8_t *label,
                               size_t label_len, const uint8_t *context, size_t context_len,
                               int use_l, int use_separator, uint8_t *out, size_t outlen)
{
    if (prf == NULL || out == NULL || outlen == 0 || outlen > 0x1fffffff ||
        (label == NULL && label_len > 0) || (context == NULL && context_len > 0) ||
        label_len > KDF_MSG_MAX || context_len > KDF_MSG_MAX)
        return CF_ERR_ARG;
    /* [i]32 || label || 0x00 || context || [L]32 */
    uint8_t msg[4 + KDF_MSG_MAX + 1 + KDF_MSG_MAX + 4], block[16];
    size_t n = 4;
    if (label_len > 0)
        memcpy(msg + n, label, label_len);
    n += label_len;
    if (use_separator)
        msg[n++] = 0;
    if (context_len > 0)
        memcpy(msg + n, context, context_len);
    n += context_len;
    if (use_l) {
        uint32_t bits = (uint32_t)(outlen * 8);
        msg[n++] = (uint8_t)(bits >> 24);
        msg[n++] = (uint8_t)(bits >> 16);
        msg[n++] = (uint8_t)(bits >> 8);
        msg[n++] = (uint8_t)bits;
    }
    cf_err_t err = CF_OK;
    for (uint32_t i = 1, done = 0; done < outlen; i++) {
        msg[0] = (uint8_t)(i >> 24);
        msg[1] = (uint8_t)(i >> 16);
        msg[2] = (uint8_t)(i >> 8);
        msg[3] = (uint8_t)i;
        err = prf(ctx, msg, n, block);
        if (err != CF_OK)
            break;
        size_t take = outlen - done < 16 ? outlen - done : 16;
        memcpy(out + done, block, take);
        done += (uint32_t)take;
    }
    OPENSSL_cleanse(block, sizeof(block));
    if (err != CF_OK)
        OPENSSL_cleanse(out, outlen);
    return err;
}

/* AES-CMAC of msg under key bytes, through OpenSSL. */
static cf_err_t cmac_bytes(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
                           uint8_t out[16])
{
    const char *cipher = cmac_cipher(keylen);
    if (cipher == NULL)
        return CF_ERR_ARG;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0);
    params[1] = OSSL_PARAM_construct_end();
    size_t outl = 0;
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
             EVP_MAC_update(ctx, msg, len) == 1 && EVP_MAC_final(ctx, out, &outl, 16) == 1 &&
             outl == 16;
    EVP_MAC_CTX_free(ctx); /* clears the key schedule */
    if (!ok) {
        OPENSSL_cleanse(out, 16);
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

cf_err_t cf_master_key_cmac(const struct cf_master_key *mk, const uint8_t *msg, size_t len,
                            uint8_t out[16])
{
    if (mk == NULL)
        return CF_ERR_ARG;
    if (mk->key != NULL)
        return cmac_bytes(cf_secret_data(mk->key), cf_secret_len(mk->key), msg, len, out);
    if (mk->token == NULL)
        return CF_ERR_UNSUPPORTED; /* parsed, but the token was never opened */
    return cf_p11_cmac(mk->token, mk->handle, msg, len, out);
}

static cf_err_t master_prf(const void *ctx, const uint8_t *msg, size_t len, uint8_t out[16])
{
    return cf_master_key_cmac(ctx, msg, len, out);
}

/* KDF output for this master key, purpose and serial, into out. */
static cf_err_t derive_bytes(const cf_master_key_t *mk, cf_key_purpose_t purpose,
                             const char *serial, uint8_t *out, size_t outlen)
{
    const char *label = cf_key_purpose_label(purpose);
    if (mk == NULL || label == NULL)
        return CF_ERR_ARG;
    char ctx[CF_KEYS_SERIAL_MAX + 1];
    cf_err_t err = cf_keys_serial_normalize(serial, ctx, sizeof(ctx));
    if (err != CF_OK)
        return err;
    return cf_keys_kbkdf_counter(master_prf, mk, (const uint8_t *)label, strlen(label),
                                 (const uint8_t *)ctx, strlen(ctx), 1, 1, out, outlen);
}

cf_err_t cf_keys_derive(const cf_master_key_t *mk, cf_key_purpose_t purpose, const char *serial,
                        cf_card_key_type_t type, cf_secret_t **out)
{
    *out = NULL;
    size_t len = cf_card_key_len(type);
    if (len == 0)
        return CF_ERR_ARG;
    uint8_t buf[32];
    cf_err_t err = derive_bytes(mk, purpose, serial, buf, len);
    if (err == CF_OK)
        err = cf_keys_card_key_from_bytes(type, buf, len, out);
    OPENSSL_cleanse(buf, sizeof(buf));
    return err;
}

cf_err_t cf_keys_derive_digits(const cf_master_key_t *mk, cf_key_purpose_t purpose,
                               const char *serial, size_t ndigits, cf_secret_t **out)
{
    *out = NULL;
    if (ndigits == 0 || ndigits > DIGITS_MAX)
        return CF_ERR_ARG;
    uint8_t buf[DIGITS_KDF_BYTES];
    char digits[DIGITS_MAX + 1];
    cf_err_t err = derive_bytes(mk, purpose, serial, buf, sizeof(buf));
    if (err == CF_OK) {
        /* Running short needs more than 32 of 64 bytes >= 250: probability
         * below 1e-35, so it is reported rather than worked around. */
        if (cf_keys_sample_charset(buf, sizeof(buf), CF_KEYS_DIGITS, 10, digits, ndigits) !=
            ndigits) {
            err = CF_ERR_CRYPTO;
        } else {
            *out = cf_secret_new(digits, ndigits);
            if (*out == NULL)
                err = CF_ERR_NOMEM;
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(digits, sizeof(digits));
    return err;
}
