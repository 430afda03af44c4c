/*
 * piv_crypto.c - the management key (reference 9B): GENERAL AUTHENTICATE
 * and the YubiKey's SET MANAGEMENT KEY.
 *
 * GENERAL AUTHENTICATE with 9B comes in two forms, both exactly as
 * yubico-piv-tool 2.2.0 and OpenSC frame them (piv-reference.md 3.1):
 *   mutual:   7C 02 80 00            -> 7C L 80 n E_K(W)
 *             7C L 80 n W 81 n C     -> 7C L 82 n E_K(C)   (admin authenticated)
 *   external: 7C 02 81 00            -> 7C L 81 n C
 *             7C L 82 n E_K(C)       -> 9000               (admin authenticated)
 * with n the cipher's block (8 for 3DES, 16 for AES) and P1 the key's
 * algorithm. P1 00 with 7C 02 81 00 is OpenSC's GET CHALLENGE: 8 random
 * bytes, no state. A challenge is good for one answer: any GENERAL
 * AUTHENTICATE consumes it, so a replayed response finds nothing to match.
 * The management key has no retry counter (a YubiKey has none, nor does
 * the standard name one): a wrong response costs nothing but the
 * authentication, answered 6982 unless a wrong-* quirk says otherwise. A
 * missing or replayed challenge is not a wrong cryptogram: always 6982.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "simcard/piv_int.h"

#define TAG_DYN_AUTH 0x7C
#define TAG_WITNESS 0x80
#define TAG_CHALLENGE 0x81
#define TAG_RESPONSE 0x82

size_t piv_mgm_block(uint8_t alg)
{
    switch (alg) {
    case PIV_ALG_3DES:
        return 8;
    case PIV_ALG_AES128:
    case PIV_ALG_AES192:
    case PIV_ALG_AES256:
        return 16;
    default:
        return 0;
    }
}

size_t piv_mgm_keylen(uint8_t alg)
{
    switch (alg) {
    case PIV_ALG_3DES:
        return 24;
    case PIV_ALG_AES128:
        return 16;
    case PIV_ALG_AES192:
        return 24;
    case PIV_ALG_AES256:
        return 32;
    default:
        return 0;
    }
}

static const char *cipher_name(uint8_t alg)
{
    switch (alg) {
    case PIV_ALG_3DES:
        return "DES-EDE3-ECB";
    case PIV_ALG_AES128:
        return "AES-128-ECB";
    case PIV_ALG_AES192:
        return "AES-192-ECB";
    default:
        return "AES-256-ECB";
    }
}

/* out = E_K(in) for one block under the card's management key. */
static int mgm_encrypt(cf_simcard_t *card, const uint8_t *in, uint8_t *out)
{
    const struct piv_nv *nv = &piv_of(card)->nv;
    size_t bl = piv_mgm_block(nv->mgm_alg);
    int ok = 0, outl = 0, finl = 0;
    cf_simcard_count_crypto(card);
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher_name(nv->mgm_alg), NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (c != NULL && ctx != NULL && bl > 0 && (size_t)EVP_CIPHER_get_key_length(c) == nv->mgm_len &&
        EVP_EncryptInit_ex2(ctx, c, nv->mgm_key, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_EncryptUpdate(ctx, out, &outl, in, (int)bl) == 1 &&
        EVP_EncryptFinal_ex(ctx, out + outl, &finl) == 1 && outl + finl == (int)bl)
        ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

/* The elements of one 7C template: each of 80, 81, 82 at most once. */
struct dyn_auth {
    const uint8_t *val[3];
    size_t len[3];
    int has[3];
};

static int parse_dyn_auth(const cf_apdu_t *cmd, struct dyn_auth *da)
{
    memset(da, 0, sizeof(*da));
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    unsigned tag;
    const uint8_t *inner;
    size_t inner_len;
    if (cf_rc_tlv(&c, &tag, &inner, &inner_len) < 0 || tag != TAG_DYN_AUTH || c.left != 0)
        return -1;
    cf_rcursor in = cf_rcursor_init(inner, inner_len);
    while (in.left > 0) {
        const uint8_t *v;
        size_t vl;
        if (cf_rc_tlv(&in, &tag, &v, &vl) < 0)
            return -1;
        if (tag < TAG_WITNESS || tag > TAG_RESPONSE)
            return -1;
        unsigned i = tag - TAG_WITNESS;
        if (da->has[i])
            return -1;
        da->has[i] = 1;
        da->val[i] = v;
        da->len[i] = vl;
    }
    return 0;
}

static int is(const struct dyn_auth *da, unsigned tag, size_t len)
{
    unsigned i = tag - TAG_WITNESS;
    return da->has[i] && da->len[i] == len;
}

static int absent(const struct dyn_auth *da, unsigned tag)
{
    return !da->has[tag - TAG_WITNESS];
}

/* 7C { tag bl value } */
static void put_dyn_auth(cf_wcursor *resp, unsigned tag, const uint8_t *val, size_t bl)
{
    cf_wc_u8(resp, TAG_DYN_AUTH);
    cf_wc_berlen(resp, 2 + bl);
    cf_wc_tlv(resp, tag, val, bl);
}

static uint16_t get_challenge(const struct dyn_auth *da, cf_wcursor *resp)
{
    uint8_t r[8];
    if (!(is(da, TAG_CHALLENGE, 0) && absent(da, TAG_WITNESS) && absent(da, TAG_RESPONSE)))
        return SW_WRONG_DATA;
    if (RAND_bytes(r, sizeof(r)) != 1)
        return SW_UNKNOWN;
    put_dyn_auth(resp, TAG_CHALLENGE, r, sizeof(r));
    return SW_OK;
}

uint16_t piv_general_authenticate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    /* Take the pending challenge out of the card: it answers this command
     * or none. */
    enum piv_chal pending = pc->chal;
    uint8_t pending_alg = pc->chal_alg;
    uint8_t expect[PIV_BLOCK_MAX], block[PIV_BLOCK_MAX];
    memcpy(expect, pc->chal_buf, sizeof(expect));
    pc->chal = PIV_CHAL_NONE;
    OPENSSL_cleanse(pc->chal_buf, sizeof(pc->chal_buf));
    uint16_t sw;

    if (cmd->p2 != PIV_REF_MGM) {
        sw = piv_key_authenticate(card, cmd, resp); /* a slot key: piv_keys.c */
        goto out;
    }
    struct dyn_auth da;
    if (parse_dyn_auth(cmd, &da) < 0) {
        sw = SW_WRONG_DATA;
        goto out;
    }
    if (cmd->p1 == 0x00) {
        sw = get_challenge(&da, resp);
        goto out;
    }
    if (cmd->p1 != pc->nv.mgm_alg) {
        sw = SW_WRONG_DATA;
        goto out;
    }
    size_t bl = piv_mgm_block(cmd->p1);

    if (is(&da, TAG_WITNESS, 0) && absent(&da, TAG_CHALLENGE) && absent(&da, TAG_RESPONSE)) {
        /* mutual, step 1: a fresh witness, sent encrypted */
        if (RAND_bytes(pc->chal_buf, (int)bl) != 1 || mgm_encrypt(card, pc->chal_buf, block) < 0) {
            OPENSSL_cleanse(pc->chal_buf, sizeof(pc->chal_buf));
            sw = SW_UNKNOWN;
            goto out;
        }
        pc->chal = PIV_CHAL_WITNESS;
        pc->chal_alg = cmd->p1;
        put_dyn_auth(resp, TAG_WITNESS, block, bl);
        sw = SW_OK;
    } else if (is(&da, TAG_WITNESS, bl) && is(&da, TAG_CHALLENGE, bl) &&
               (absent(&da, TAG_RESPONSE) || is(&da, TAG_RESPONSE, 0))) {
        /* mutual, step 2: the host proves it decrypted the witness */
        pc->admin = 0;
        if (pending != PIV_CHAL_WITNESS || pending_alg != cmd->p1)
            sw = SW_SECURITY_STATUS; /* nothing to answer: not a cryptogram */
        else if (CRYPTO_memcmp(da.val[0], expect, bl) != 0)
            sw = cf_simcard_wrong_sw(card, SW_SECURITY_STATUS, 0);
        else if (mgm_encrypt(card, da.val[1], block) < 0)
            sw = SW_UNKNOWN;
        else {
            pc->admin = 1;
            put_dyn_auth(resp, TAG_RESPONSE, block, bl);
            sw = SW_OK;
        }
    } else if (is(&da, TAG_CHALLENGE, 0) && absent(&da, TAG_WITNESS) && absent(&da, TAG_RESPONSE)) {
        /* external, step 1: a challenge in the clear */
        if (RAND_bytes(pc->chal_buf, (int)bl) != 1) {
            OPENSSL_cleanse(pc->chal_buf, sizeof(pc->chal_buf));
            sw = SW_UNKNOWN;
            goto out;
        }
        pc->chal = PIV_CHAL_EXTERNAL;
        pc->chal_alg = cmd->p1;
        put_dyn_auth(resp, TAG_CHALLENGE, pc->chal_buf, bl);
        sw = SW_OK;
    } else if (is(&da, TAG_RESPONSE, bl) && absent(&da, TAG_WITNESS) &&
               absent(&da, TAG_CHALLENGE)) {
        /* external, step 2: the host's E_K(C) */
        pc->admin = 0;
        if (pending != PIV_CHAL_EXTERNAL || pending_alg != cmd->p1)
            sw = SW_SECURITY_STATUS;
        else if (mgm_encrypt(card, expect, block) < 0)
            sw = SW_UNKNOWN;
        else if (CRYPTO_memcmp(da.val[2], block, bl) != 0)
            sw = cf_simcard_wrong_sw(card, SW_SECURITY_STATUS, 0);
        else {
            pc->admin = 1;
            sw = SW_OK;
        }
    } else {
        sw = SW_WRONG_DATA;
    }
out:
    OPENSSL_cleanse(expect, sizeof(expect));
    OPENSSL_cleanse(block, sizeof(block));
    return sw;
}

/* YubiKey FF: P1 FF, P2 FF (no touch) or FE (touch); data alg 9B len key. */
uint16_t piv_set_mgm_key(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    if (cmd->p1 != 0xFF || (cmd->p2 != 0xFF && cmd->p2 != 0xFE))
        return SW_INCORRECT_P1P2;
    if (!pc->admin)
        return SW_SECURITY_STATUS;
    if (cmd->nc < 3)
        return SW_WRONG_DATA;
    uint8_t alg = cmd->data[0];
    size_t klen = piv_mgm_keylen(alg);
    if (klen == 0 || cmd->data[1] != PIV_REF_MGM || cmd->data[2] != klen || cmd->nc != 3 + klen)
        return SW_WRONG_DATA;
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    pc->nv.mgm_alg = alg;
    memset(pc->nv.mgm_key, 0, sizeof(pc->nv.mgm_key));
    memcpy(pc->nv.mgm_key, cmd->data + 3, klen);
    pc->nv.mgm_len = klen;
    pc->nv.mgm_touch = cmd->p2 == 0xFE;
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    return SW_OK;
}
