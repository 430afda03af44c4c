/*
 * response.c - the offline unblock response: the card's challenge encrypted
 * under its admin key.
 *
 * The challenge length chooses the cipher because that is how the cards
 * themselves tell the two apart (docs/gids-reference.md 3.1, 3.3): an
 * 8-byte challenge is one 3DES block (Gemalto .NET, GIDS external
 * authentication, Windows minidriver tools), a 16-byte challenge one AES
 * block (HID Crescendo style). One block, so ECB is exactly the CBC-with-
 * zero-IV that Microsoft's sample code uses.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cardforge/keys.h>

#include "keys/keys_int.h"

static const char *cipher_for(size_t chlen, size_t keylen)
{
    if (chlen == 8 && (keylen == 16 || keylen == 24))
        return "DES-EDE3-ECB";
    if (chlen == 16) {
        switch (keylen) {
        case 16:
            return "AES-128-ECB";
        case 24:
            return "AES-192-ECB";
        case 32:
            return "AES-256-ECB";
        }
    }
    return NULL;
}

/* Encrypt one block of len bytes with cipher name under key. */
static cf_err_t encrypt_block(const char *name, const uint8_t *key, const uint8_t *in, size_t len,
                              uint8_t *out)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    int ok = c != NULL && ctx != NULL && EVP_EncryptInit_ex2(ctx, c, key, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
             EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1 &&
             EVP_EncryptFinal_ex(ctx, out + n, &m) == 1 && (size_t)(n + m) == len;
    EVP_CIPHER_CTX_free(ctx); /* clears the key schedule */
    EVP_CIPHER_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, len);
        return CF_ERR_CRYPTO;
    }
    return CF_OK;
}

cf_err_t cf_keys_unblock_response(const cf_secret_t *admin_key, const uint8_t *challenge,
                                  size_t chlen, cf_secret_t **out)
{
    *out = NULL;
    if (admin_key == NULL || challenge == NULL)
        return CF_ERR_ARG;
    size_t keylen = cf_secret_len(admin_key);
    const char *name = cipher_for(chlen, keylen);
    if (name == NULL)
        return CF_ERR_INVALID;
    uint8_t key[32], resp[16];
    memcpy(key, cf_secret_data(admin_key), keylen);
    if (chlen == 8 && keylen == 16)
        memcpy(key + 16, key, 8); /* two-key 3DES: K3 = K1 */
    cf_err_t err = encrypt_block(name, key, challenge, chlen, resp);
    if (err == CF_OK) {
        *out = cf_secret_new(resp, chlen);
        if (*out == NULL)
            err = CF_ERR_NOMEM;
    }
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(resp, sizeof(resp));
    return err;
}
