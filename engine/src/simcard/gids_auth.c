/*
 * gids_auth.c - the admin key of the gids virtual card: MANAGE SECURITY
 * ENVIRONMENT, GENERAL AUTHENTICATE in both forms, writing the key, and the
 * admin try counter where the card has one.
 *
 * The admin key is a 24-byte 3-key 3DES key, reference 80, in key file
 * B080. MSE SET P1=41 (a container key) and PUT DATA of a container key
 * (reference 81..) are handed to gids_pso.c and gids_keys.c. Authentication is GENERAL AUTHENTICATE
 * (INS 87) after MSE SET:
 *  - mutual (what OpenSC's gids-tool does): host sends R1 (16 bytes), card
 *    answers R2 (16); host sends C1 = 3DES-CBC(R2 | R1 | Z1[7] | 80), IV 0;
 *    card answers C2 = 3DES-CBC(R1 | R2 | Z2[7] | 80). Note the order
 *    asymmetry and CBC: that is what the deployed implementations do.
 *  - external (the Windows minidriver's challenge-response, the offline
 *    helpdesk unblock): card gives an 8-byte challenge CH; host answers
 *    3DES-ECB(K, CH); card answers 9000 with no data.
 * A challenge is single-use: any answer, right or wrong, consumes it, and
 * reset, power, re-SELECT, MSE and a new witness request drop it.
 *
 * A wrong cryptogram answers 6982, as GidsApplet does: GIDS has no admin
 * retry counter. The gemalto stock counts tries all the same (5, the
 * seeds' Gemalto .NET card): a wrong cryptogram spends one, a blocked key
 * answers 6983 to every GENERAL AUTHENTICATE, a right one restores the
 * counter; the try is spent and saved before the cryptogram is checked.
 * A card initialised from blank counts nothing. The admin-counter quirk
 * adds the counter to any card and shows it: 63Cx for a wrong cryptogram,
 * GET DATA 3FFF 7F7A to read it without spending anything; the wrong-*
 * quirks choose another status word (docs/cards/vcard.md, "Variants").
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "simcard/gids_int.h"

#define MUTUAL_RND 16
#define MUTUAL_CRYPTOGRAM 40
#define EXTERNAL_CHALLENGE 8

/* One 3DES pass over len bytes (a multiple of 8), no padding; CBC with a
 * zero IV or ECB. Returns 0 or -1. */
static int des3(cf_simcard_t *card, const char *alg, int enc, const uint8_t key[24],
                const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t zero_iv[8] = {0};
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, alg, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok = cipher != NULL && ctx != NULL &&
             EVP_CipherInit_ex2(ctx, cipher, key, zero_iv, enc, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
             EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len &&
             EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && fin == 0;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    cf_simcard_count_crypto(card);
    return ok ? 0 : -1;
}

static struct gids_ef *admin_key_file(struct gids_card *g)
{
    struct gids_ef *ef = cf_gids_find_ef(g, GIDS_FID_ADMIN_KEY);
    return ef != NULL && ef->type == GIDS_EF_KEY ? ef : NULL;
}

uint16_t cf_gids_admin_status(const struct gids_card *g, unsigned tag, cf_wcursor *resp)
{
    if (!g->has_admin_key)
        return SW_REF_NOT_FOUND;
    return cf_gids_counter_status(tag, g->admin_tries, g->admin_max, resp);
}

uint16_t cf_gids_mse(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    /* SET for computation / decipherment: a container key (gids_pso.c). */
    if (cmd->p1 == 0x41)
        return cf_gids_mse_key(card, cmd);
    /* SET for authentication: C1 (OpenSC) or 81 (Windows style), CRT A4. */
    if ((cmd->p1 != 0xc1 && cmd->p1 != 0x81) || cmd->p2 != 0xa4)
        return SW_INCORRECT_P1P2;
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    const uint8_t *ref = NULL, *v;
    size_t vl;
    unsigned t;
    while (c.left > 0) {
        if (cf_rc_tlv(&c, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        if (t == 0x83) {
            if (ref != NULL || vl != 1)
                return SW_WRONG_DATA;
            ref = v;
        }
    }
    if (ref == NULL)
        return SW_WRONG_DATA;
    struct gids_ef *ef = admin_key_file(g);
    if (ref[0] != GIDS_ADMIN_KEY_REF || ef == NULL || !g->has_admin_key)
        return SW_REF_NOT_FOUND;
    uint16_t sw = cf_gids_check_access(g, ef, GIDS_OP_KEY_MSE);
    if (sw != 0)
        return sw;
    cf_gids_clear_challenge(g);
    cf_gids_clear_se(g); /* one security environment at a time */
    g->mse_admin = 1;
    return SW_OK;
}

/* 81: the host asks for a challenge (empty: external form) or sends its
 * own random R1 (16 bytes: mutual form). Either way, start over. */
static uint16_t witness_request(struct gids_card *g, const uint8_t *v, size_t vl, cf_wcursor *resp)
{
    cf_gids_clear_challenge(g);
    g->admin_auth = 0;
    size_t n;
    if (vl == MUTUAL_RND)
        n = MUTUAL_RND;
    else if (vl == 0)
        n = EXTERNAL_CHALLENGE;
    else
        return SW_WRONG_DATA;
    if (RAND_bytes(g->card_rnd, (int)n) != 1)
        return SW_UNKNOWN;
    if (vl == MUTUAL_RND) {
        memcpy(g->host_rnd, v, MUTUAL_RND);
        g->challenge = GIDS_CH_MUTUAL;
    } else {
        g->challenge = GIDS_CH_EXTERNAL;
    }
    uint8_t inner[2 + MUTUAL_RND];
    inner[0] = 0x81;
    inner[1] = (uint8_t)n;
    memcpy(inner + 2, g->card_rnd, n);
    cf_wc_tlv(resp, 0x7c, inner, 2 + n);
    return SW_OK;
}

/* The answer to a well-formed cryptogram that does not prove the key (the
 * try, if the card counts, already spent). */
static uint16_t wrong_cryptogram(cf_simcard_t *card)
{
    struct gids_card *g = gids_of(card);
    uint16_t dflt = cf_simcard_has(card, CF_Q_ADMIN_COUNTER) ? SW_GIDS_TRIES(g->admin_tries)
                                                             : SW_SECURITY_STATUS;
    return cf_simcard_wrong_sw(card, dflt, g->admin_tries);
}

/* A proven key: the counter, if the card keeps one, back to its limit.
 * -1 when that cannot be saved (the caller answers 6581, not granted). */
static int admin_proven(cf_simcard_t *card)
{
    struct gids_card *g = gids_of(card);
    if (!g->counts_admin)
        return 0;
    return cf_gids_restore_tries(card, &g->admin_tries, g->admin_max);
}

/* Mutual form, the card's half: check C1, answer C2. Tries already spent. */
static uint16_t mutual_answer(cf_simcard_t *card, const uint8_t *c1, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    uint8_t plain[MUTUAL_CRYPTOGRAM], reply[4 + MUTUAL_CRYPTOGRAM];
    uint16_t sw;
    if (des3(card, "DES-EDE3-CBC", 0, g->admin_key, c1, MUTUAL_CRYPTOGRAM, plain) < 0) {
        sw = SW_UNKNOWN;
        goto out;
    }
    int bad = CRYPTO_memcmp(plain, g->card_rnd, MUTUAL_RND) != 0;
    bad |= CRYPTO_memcmp(plain + MUTUAL_RND, g->host_rnd, MUTUAL_RND) != 0;
    bad |= plain[MUTUAL_CRYPTOGRAM - 1] != 0x80;
    if (bad) {
        sw = wrong_cryptogram(card);
        goto out;
    }
    if (admin_proven(card) < 0) {
        sw = SW_MEMORY_FAILURE;
        goto out;
    }
    /* R1 | R2 | Z2 (7 random bytes) | 80 */
    memcpy(plain, g->host_rnd, MUTUAL_RND);
    memcpy(plain + MUTUAL_RND, g->card_rnd, MUTUAL_RND);
    if (RAND_bytes(plain + 2 * MUTUAL_RND, 7) != 1) {
        sw = SW_UNKNOWN;
        goto out;
    }
    plain[MUTUAL_CRYPTOGRAM - 1] = 0x80;
    reply[0] = 0x7c;
    reply[1] = 2 + MUTUAL_CRYPTOGRAM;
    reply[2] = 0x82;
    reply[3] = MUTUAL_CRYPTOGRAM;
    if (des3(card, "DES-EDE3-CBC", 1, g->admin_key, plain, MUTUAL_CRYPTOGRAM, reply + 4) < 0) {
        sw = SW_UNKNOWN;
        goto out;
    }
    cf_wc_bytes(resp, reply, sizeof(reply));
    g->admin_auth = 1;
    sw = SW_OK;
out:
    OPENSSL_cleanse(plain, sizeof(plain));
    return sw;
}

/* External form: the answer must be 3DES-ECB(K, CH). Tries already spent. */
static uint16_t external_answer(cf_simcard_t *card, const uint8_t *r)
{
    struct gids_card *g = gids_of(card);
    uint8_t expect[EXTERNAL_CHALLENGE];
    uint16_t sw;
    if (des3(card, "DES-EDE3-ECB", 1, g->admin_key, g->card_rnd, EXTERNAL_CHALLENGE, expect) < 0) {
        sw = SW_UNKNOWN;
    } else if (CRYPTO_memcmp(expect, r, EXTERNAL_CHALLENGE) != 0) {
        sw = wrong_cryptogram(card);
    } else if (admin_proven(card) < 0) {
        sw = SW_MEMORY_FAILURE;
    } else {
        g->admin_auth = 1;
        sw = SW_OK;
    }
    OPENSSL_cleanse(expect, sizeof(expect));
    return sw;
}

/* 82: the host's answer to the pending challenge. */
static uint16_t challenge_answer(cf_simcard_t *card, const uint8_t *v, size_t vl, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    enum gids_challenge ch = g->challenge;
    if (ch == GIDS_CH_NONE)
        return SW_CONDITIONS; /* no challenge, or a replay */
    size_t want = ch == GIDS_CH_MUTUAL ? MUTUAL_CRYPTOGRAM : EXTERNAL_CHALLENGE;
    uint16_t sw;
    if (vl != want) {
        sw = SW_WRONG_DATA; /* not a guess: no try spent, challenge gone */
    } else if (g->counts_admin && cf_gids_spend_try(card, &g->admin_tries) < 0) {
        sw = SW_MEMORY_FAILURE;
    } else if (ch == GIDS_CH_MUTUAL) {
        sw = mutual_answer(card, v, resp);
    } else {
        sw = external_answer(card, v);
    }
    cf_gids_clear_challenge(g);
    return sw;
}

uint16_t cf_gids_general_authenticate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    if (!g->operational)
        return SW_GIDS_NOT_ALLOWED;
    if (cmd->p1 != 0x00 || cmd->p2 != 0x00) /* key and algorithm come from MSE */
        return SW_INCORRECT_P1P2;
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;

    /* 7C { 81 witness-request | 82 response } and nothing after it. */
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    const uint8_t *tpl, *v, *witness = NULL, *answer = NULL;
    size_t tlen, vl, wlen = 0, alen = 0;
    unsigned t;
    int have81 = 0, have82 = 0;
    if (cf_rc_tlv(&c, &t, &tpl, &tlen) < 0 || t != 0x7c || c.left != 0)
        return SW_WRONG_DATA;
    cf_rcursor in = cf_rcursor_init(tpl, tlen);
    while (in.left > 0) {
        if (cf_rc_tlv(&in, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        if (t == 0x81) {
            have81++;
            witness = v;
            wlen = vl;
        } else if (t == 0x82) {
            have82++;
            answer = v;
            alen = vl;
        }
    }
    if (have81 + have82 != 1)
        return SW_WRONG_DATA;

    if (g->counts_admin && g->admin_tries == 0)
        return SW_AUTH_BLOCKED;
    if (!g->mse_admin)
        return SW_CONDITIONS;
    if (have81)
        return witness_request(g, witness, wlen, resp);
    return challenge_answer(card, answer, alen, resp);
}

uint16_t cf_gids_put_key(cf_simcard_t *card, const uint8_t *data, size_t len)
{
    struct gids_card *g = gids_of(card);
    cf_rcursor c = cf_rcursor_init(data, len);
    const uint8_t *tpl, *v, *ref = NULL, *a5 = NULL, *key = NULL;
    size_t tlen, vl, a5len = 0, klen = 0;
    unsigned t;
    if (cf_rc_tlv(&c, &t, &tpl, &tlen) < 0 || t != GIDS_DO_KEY_TEMPLATE || c.left != 0)
        return SW_WRONG_DATA;
    cf_rcursor in = cf_rcursor_init(tpl, tlen);
    while (in.left > 0) {
        if (cf_rc_tlv(&in, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        if (t == 0x84 && ref == NULL && vl == 1)
            ref = v;
        else if (t == 0xa5 && a5 == NULL) {
            a5 = v;
            a5len = vl;
        } else
            return SW_WRONG_DATA;
    }
    if (ref == NULL || a5 == NULL)
        return SW_WRONG_DATA;
    if (ref[0] >= GIDS_KEY_REF_FIRST) /* a container key: import (gids_keys.c) */
        return cf_gids_import_key(card, ref[0], a5, a5len);
    struct gids_ef *ef = admin_key_file(g);
    if (ref[0] != GIDS_ADMIN_KEY_REF || ef == NULL)
        return SW_REF_NOT_FOUND;
    uint16_t sw = cf_gids_check_access(g, ef, GIDS_OP_KEY_PUT);
    if (sw != 0)
        return sw;

    /* 87: the key; 88: a check value, which OpenSC always sends as B0 73 DC
     * whatever the key is, so it is accepted and ignored. */
    cf_rcursor k = cf_rcursor_init(a5, a5len);
    while (k.left > 0) {
        if (cf_rc_tlv(&k, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        if (t == 0x87 && key == NULL) {
            key = v;
            klen = vl;
        } else if (t != 0x88) {
            return SW_WRONG_DATA;
        }
    }
    if (key == NULL || klen != GIDS_ADMIN_KEY_LEN)
        return SW_WRONG_DATA;

    uint8_t old[GIDS_ADMIN_KEY_LEN];
    int old_has = g->has_admin_key;
    unsigned old_tries = g->admin_tries;
    memcpy(old, g->admin_key, sizeof(old));
    memcpy(g->admin_key, key, GIDS_ADMIN_KEY_LEN);
    g->has_admin_key = 1;
    g->admin_tries = g->admin_max; /* a new key starts with a full counter */
    sw = SW_OK;
    if (cf_simcard_persist(card) < 0) {
        memcpy(g->admin_key, old, sizeof(old));
        g->has_admin_key = old_has;
        g->admin_tries = old_tries;
        sw = SW_MEMORY_FAILURE;
    }
    OPENSSL_cleanse(old, sizeof(old));
    return sw;
}
