/*
 * card_crypto.c - the block cipher of an admin key, the key check value.
 *
 * The admin-key schemes need raw block operations (one or a few blocks,
 * no padding, ECB or CBC with a zero IV); all of it is OpenSSL EVP. A
 * two-key 3DES key (16 bytes) is used as K1 K2 K1. Key copies are wiped on
 * every path; EVP_CIPHER_CTX_free clears the key schedule.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "card/card_int.h"

size_t cf_card_block_size(cf_card_key_type_t type)
{
    return type == CF_CARD_KEY_3DES || type == CF_CARD_KEY_3DES2 ? 8 : 16;
}

static const char *cipher_name(cf_card_key_type_t type, int cbc)
{
    switch (type) {
    case CF_CARD_KEY_3DES2:
    case CF_CARD_KEY_3DES:
        return cbc ? "DES-EDE3-CBC" : "DES-EDE3-ECB";
    case CF_CARD_KEY_AES128:
        return cbc ? "AES-128-CBC" : "AES-128-ECB";
    case CF_CARD_KEY_AES192:
        return cbc ? "AES-192-CBC" : "AES-192-ECB";
    case CF_CARD_KEY_AES256:
        return cbc ? "AES-256-CBC" : "AES-256-ECB";
    default:
        return NULL;
    }
}

cf_err_t cf_card_cipher(cf_card_key_type_t type, const cf_secret_t *key, int cbc, int encrypt,
                        const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t zero_iv[16] = {0};
    const char *name = cipher_name(type, cbc);
    size_t block = cf_card_block_size(type), klen = cf_secret_len(key);
    if (name == NULL || klen != cf_card_key_len(type) || len == 0 || len % block != 0 ||
        len > 1024)
        return CF_ERR_ARG;
    uint8_t k[32];
    memcpy(k, cf_secret_data(key), klen);
    if (type == CF_CARD_KEY_3DES2)
        memcpy(k + 16, k, 8); /* K3 = K1 */
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = c != NULL && ctx != NULL &&
             EVP_CipherInit_ex2(ctx, c, k, cbc ? zero_iv : NULL, encrypt, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
             EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len &&
             EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && fin == 0;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    OPENSSL_cleanse(k, sizeof(k));
    if (!ok) {
        OPENSSL_cleanse(out, len);
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

cf_err_t cf_card_kcv(cf_card_key_type_t type, const cf_secret_t *key, uint8_t out[3])
{
    static const uint8_t zero[16] = {0};
    uint8_t enc[16];
    cf_err_t err = cf_card_cipher(type, key, 0, 1, zero, cf_card_block_size(type), enc);
    if (err == CF_OK)
        memcpy(out, enc, 3);
    OPENSSL_cleanse(enc, sizeof(enc));
    return err;
}

cf_err_t cf_card_key_check_value(const cf_secret_t *key, char out[7])
{
    if (out != NULL)
        out[0] = 0;
    if (key == NULL || out == NULL)
        return CF_ERR_ARG;
    /* Without a card the length says the type, as the shipped profiles
     * default it: 24 bytes 3DES, 16 AES-128, 32 AES-256. */
    cf_card_key_type_t type;
    switch (cf_secret_len(key)) {
    case 24:
        type = CF_CARD_KEY_3DES;
        break;
    case 16:
        type = CF_CARD_KEY_AES128;
        break;
    case 32:
        type = CF_CARD_KEY_AES256;
        break;
    default:
        return CF_ERR_ARG;
    }
    uint8_t kcv[3];
    cf_err_t err = cf_card_kcv(type, key, kcv);
    if (err == CF_OK)
        snprintf(out, 7, "%02X%02X%02X", kcv[0], kcv[1], kcv[2]);
    return err;
}
