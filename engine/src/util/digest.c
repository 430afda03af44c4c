/*
 * digest.c - SHA-256 fingerprints as lower-case hex.
 */
#include "digest.h"

static void lower_hex(const unsigned char *md, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * len] = '\0';
}

cf_err_t cf_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md))
        return CF_ERR_CRYPTO;
    lower_hex(md, sizeof(md), out);
    return CF_OK;
}

cf_err_t cf_sha256_final_hex(EVP_MD_CTX *ctx, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
        return CF_ERR_CRYPTO;
    lower_hex(md, sizeof(md), out);
    return CF_OK;
}
