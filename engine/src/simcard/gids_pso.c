/*
 * gids_pso.c - private-key operations of the gids virtual card: MANAGE
 * SECURITY ENVIRONMENT SET for computation / decipherment and PERFORM
 * SECURITY OPERATION with a container key (gids_keys.c holds the keys).
 *
 * As OpenSC 0.23 drives them (card-gids.c gids_set_security_env, then
 * iso7816.c):
 *   00 22 41 B6 06 80 01 <alg> 84 01 <ref>    sign
 *   00 22 41 B8 06 80 01 <alg> 84 01 <ref>    decipher
 *   00 2A 9E 9A Lc <data> 00                  COMPUTE DIGITAL SIGNATURE
 *   00 2A 80 86 Lc <cryptogram> 00            DECIPHER (chained: 256 bytes,
 *                                             no padding indicator byte)
 * The algorithm's high nibble chooses the padding (GIDS table 43, GidsApplet):
 * sign 5x = the card adds PKCS#1 v1.5 type 1 padding to what it gets (OpenSC
 * sends the DigestInfo), 1x = the host padded, a raw private-key operation;
 * decipher 4x = PKCS#1 v1.5, 8x = OAEP, 0x = raw. MSE accepts only an
 * algorithm one of the key file's CRTs of that kind (B6 / B8) names.
 *
 * Access: MSE needs the key file's MSE condition (the user PIN in the FCP
 * OpenSC writes). PERFORM SECURITY OPERATION checks that condition again,
 * so a PIN that is no longer verified (failed VERIFY, log-out, reset)
 * stops the key even after a successful MSE (the reference applet checks
 * only at MSE). The environment lasts until the next MSE, reset, re-SELECT
 * or log-out.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "simcard/gids_int.h"

#define PAD_SIGN_PKCS1 0x50
#define PAD_SIGN_RAW 0x10
#define PAD_DEC_PKCS1 0x40
#define PAD_DEC_OAEP 0x80
#define PAD_DEC_RAW 0x00
#define PKCS1_OVERHEAD 11 /* 00 01 FF..FF (8 at least) 00 */

void cf_gids_clear_se(struct gids_card *g)
{
    g->se_key = 0;
    g->se_op = 0;
    g->se_alg = 0;
}

/* Whether one of the key file's CRTs of kind op names alg. */
static int crt_allows(const struct gids_ef *ef, uint8_t op, uint8_t alg)
{
    cf_rcursor c = cf_rcursor_init(ef->fcp, ef->fcp_len);
    const uint8_t *inner, *a5, *v, *a;
    size_t ilen, alen, vl, al;
    unsigned t;
    if (cf_rc_tlv(&c, &t, &inner, &ilen) < 0 || cf_tlv_find(inner, ilen, 0xa5, &a5, &alen) < 0)
        return 0;
    cf_rcursor crts = cf_rcursor_init(a5, alen);
    while (crts.left > 0) {
        if (cf_rc_tlv(&crts, &t, &v, &vl) < 0)
            return 0;
        if (t == op && cf_tlv_find(v, vl, 0x80, &a, &al) == 0 && al == 1 && a[0] == alg)
            return 1;
    }
    return 0;
}

uint16_t cf_gids_mse_key(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    if (cmd->p2 != GIDS_CRT_SIGN && cmd->p2 != GIDS_CRT_DECIPHER)
        return SW_INCORRECT_P1P2;
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;
    /* Whatever follows, the old environment (admin or key) is gone. */
    cf_gids_clear_se(g);
    g->mse_admin = 0;
    cf_gids_clear_challenge(g);
    const uint8_t *alg = NULL, *ref = NULL, *v;
    size_t vl;
    unsigned t;
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    while (c.left > 0) {
        if (cf_rc_tlv(&c, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        if (t == 0x80 && alg == NULL && vl == 1)
            alg = v;
        else if (t == 0x84 && ref == NULL && vl == 1)
            ref = v;
        else
            return SW_WRONG_DATA;
    }
    if (alg == NULL || ref == NULL)
        return SW_WRONG_DATA;
    struct gids_ef *ef;
    uint16_t sw = cf_gids_key_access(g, ref[0], GIDS_OP_KEY_MSE, &ef);
    if (sw != 0)
        return sw;
    if (!crt_allows(ef, cmd->p2, alg[0]))
        return SW_WRONG_DATA; /* not an algorithm this key is made for */
    if (ef->pkey == NULL)
        return SW_REF_NOT_FOUND;
    g->se_key = ref[0];
    g->se_op = cmd->p2;
    g->se_alg = alg[0];
    return SW_OK;
}

/* One RSA private-key operation through EVP: sign (PKCS#1 type 1 or raw)
 * or decrypt. Returns the output length, or -1. */
static long rsa_private(cf_simcard_t *card, EVP_PKEY *pkey, int decrypt, int padding,
                        const uint8_t *in, size_t inlen, uint8_t *out, size_t cap)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    size_t outlen = cap;
    int ok = ctx != NULL;
    if (ok)
        ok = (decrypt ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_sign_init(ctx)) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, padding) > 0;
    if (ok)
        ok = (decrypt ? EVP_PKEY_decrypt(ctx, out, &outlen, in, inlen)
                      : EVP_PKEY_sign(ctx, out, &outlen, in, inlen)) == 1;
    EVP_PKEY_CTX_free(ctx);
    cf_simcard_count(card, CF_SIM_COST_PRIVATE_RSA);
    return ok ? (long)outlen : -1;
}

/* What a signature signs and how (k: the modulus size). 0 or an SW. */
static uint16_t sign_input(uint8_t alg, size_t k, const cf_apdu_t *cmd, int *padding)
{
    if ((alg & 0xf0) == PAD_SIGN_PKCS1) {
        if (cmd->nc == 0 || cmd->nc > k - PKCS1_OVERHEAD)
            return SW_WRONG_LENGTH;
        *padding = RSA_PKCS1_PADDING;
    } else if ((alg & 0xf0) == PAD_SIGN_RAW) {
        if (cmd->nc != k)
            return SW_WRONG_LENGTH;
        *padding = RSA_NO_PADDING;
    } else {
        return SW_CONDITIONS; /* MSE chose no signature padding we know */
    }
    return 0;
}

/* The cryptogram of a decipherment and its padding. 0 or an SW. */
static uint16_t decipher_input(uint8_t alg, size_t k, const cf_apdu_t *cmd, int *padding,
                               const uint8_t **in)
{
    /* OpenSC 0.23 sends the bare cryptogram (k bytes, chained), as the
     * reference applet expects; ISO 7816-8's form with the padding
     * indicator 00 first (k + 1 bytes) is taken too. */
    *in = cmd->data;
    if (cmd->nc == k + 1) {
        if (cmd->data[0] != 0x00)
            return SW_WRONG_DATA;
        (*in)++;
    } else if (cmd->nc != k) {
        return SW_WRONG_LENGTH;
    }
    switch (alg & 0xf0) {
    case PAD_DEC_PKCS1:
        *padding = RSA_PKCS1_PADDING;
        break;
    case PAD_DEC_OAEP:
        *padding = RSA_PKCS1_OAEP_PADDING;
        break;
    case PAD_DEC_RAW:
        *padding = RSA_NO_PADDING;
        break;
    default:
        return SW_CONDITIONS;
    }
    return 0;
}

uint16_t cf_gids_pso(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    uint8_t op;
    if (cmd->p1 == 0x9e && cmd->p2 == 0x9a)
        op = GIDS_CRT_SIGN;
    else if (cmd->p1 == 0x80 && cmd->p2 == 0x86)
        op = GIDS_CRT_DECIPHER;
    else
        return SW_INCORRECT_P1P2;
    if (g->se_key == 0 || g->se_op != op)
        return SW_CONDITIONS; /* no MSE SET for this operation */
    struct gids_ef *ef = cf_gids_key_file(g, g->se_key);
    if (ef == NULL || ef->pkey == NULL)
        return SW_CONDITIONS;
    uint16_t sw = cf_gids_check_access(g, ef, GIDS_OP_KEY_MSE);
    if (sw != 0)
        return sw;
    size_t k = (size_t)EVP_PKEY_get_size(ef->pkey), inlen = cmd->nc;
    uint8_t out[512];
    const uint8_t *in = cmd->data;
    int padding = 0, decrypt = op == GIDS_CRT_DECIPHER;
    if (k > sizeof(out) || k <= PKCS1_OVERHEAD)
        return SW_UNKNOWN;
    if (decrypt) {
        sw = decipher_input(g->se_alg, k, cmd, &padding, &in);
        inlen = k;
    } else {
        sw = sign_input(g->se_alg, k, cmd, &padding);
    }
    if (sw != 0)
        return sw;
    long n = rsa_private(card, ef->pkey, decrypt, padding, in, inlen, out, sizeof(out));
    sw = SW_WRONG_DATA; /* an input not below the modulus, or bad padding */
    if (n >= 0) {
        cf_wc_bytes(resp, out, (size_t)n);
        sw = SW_OK;
    }
    OPENSSL_cleanse(out, sizeof(out));
    return sw;
}
