/*
 * piv_keys.c - the asymmetric keys of the PIV cards: the slots and
 * algorithms, GENERATE ASYMMETRIC KEY PAIR (47), GENERAL AUTHENTICATE (87)
 * with a slot key, and GET METADATA (F7) of a key slot. The YubiKey's
 * IMPORT ASYMMETRIC KEY (FE) is in piv_import.c, the key lines of the state
 * file in piv_keyfile.c.
 *
 * Byte layouts (docs/cards/piv.md, "Keys", names the sources):
 *   GENERATE  P2 slot, AC { 80 alg [AA pin] [AB touch] } -> 7F49 { 81 n 82 e }
 *             or 7F49 { 86 point } (SP 800-73-4 part 2, 3.3.2; AA/AB on the
 *             YubiKey only)
 *   IMPORT    P1 alg, P2 slot, 01 p 02 q 03 dp 04 dq 05 qinv (RSA) or
 *             06 d (EC) [AA] [AB] (YubiKey)
 *   GENERAL AUTHENTICATE  P1 alg, P2 slot, 7C { 82 00, 81 in } -> 7C { 82 out }
 *             (RSA: the raw private operation on a padded block the host
 *             made; EC: ECDSA of a hash, DER signature out), or
 *             7C { 82 00, 85 point } -> 7C { 82 x } (ECDH)
 * Every key is an OpenSSL EVP_PKEY; the card never sees a private key
 * leave it except into its own state file.
 *
 * Which slots: 9A 9C 9D 9E on both bases; the retired key management
 * keys 82-95 on the yubikey only (on the standard card they stay empty:
 * SP 800-73-4 gives a retired key no way onto the card but the issuer's
 * own). F9 belongs to piv_attest.c.
 *
 * PIN rule before each private-key use: policy "never" (9E by default) no
 * PIN; "once" (9A, 9D, retired) the PIN verified in this session; "always"
 * (9C) a VERIFY since the last use of such a key. The yubikey takes the
 * policy from tag AA; the standard card always uses the slot's rule.
 * Touch policies are stored and reported but never asked for.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "simcard/piv_int.h"

#define TAG_DYN_AUTH 0x7C
#define TAG_CHALLENGE 0x81
#define TAG_RESPONSE 0x82
#define TAG_EXPONENTIATION 0x85
#define TAG_GEN_TEMPLATE 0xAC
#define TAG_GEN_ALG 0x80
#define TAG_PIN_POLICY 0xAA
#define TAG_TOUCH_POLICY 0xAB
#define TAG_PUBLIC_KEY 0x7F49
#define TAG_RSA_N 0x81
#define TAG_RSA_E 0x82
#define TAG_EC_POINT 0x86

/* Largest RSA modulus / EC field element in bytes. */
#define KEY_BYTES_MAX 256

static const uint8_t slot_refs[PIV_NSLOTS] = {
    0x9A, 0x9C, 0x9D, 0x9E, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,           0x8A,
    0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, PIV_SLOT_ATTEST};

int piv_slot_index(uint8_t ref)
{
    for (int i = 0; i < PIV_NSLOTS; i++)
        if (slot_refs[i] == ref)
            return i;
    return -1;
}

uint8_t piv_slot_ref(int index)
{
    return slot_refs[index];
}

/* The slots GENERATE, IMPORT and GENERAL AUTHENTICATE work on. */
int piv_usable_slot(const cf_simcard_t *card, uint8_t ref)
{
    if (ref == 0x9A || ref == 0x9C || ref == 0x9D || ref == 0x9E)
        return 1;
    return piv_is_yubikey(card) && ref >= 0x82 && ref <= 0x95;
}

void piv_key_clear(struct piv_key *k)
{
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

uint8_t piv_slot_default_pin(uint8_t ref)
{
    if (ref == 0x9C)
        return PIV_PIN_ALWAYS;
    if (ref == 0x9E || ref == PIV_SLOT_ATTEST)
        return PIV_PIN_NEVER;
    return PIV_PIN_ONCE;
}

uint8_t piv_pin_policy_resolve(uint8_t ref, uint8_t val)
{
    if (val == 0)
        return piv_slot_default_pin(ref);
    return val <= PIV_PIN_ALWAYS ? val : 0;
}

uint8_t piv_touch_policy_resolve(uint8_t val)
{
    if (val == 0)
        return PIV_TOUCH_NEVER;
    return val <= PIV_TOUCH_CACHED ? val : 0;
}

int piv_alg_is_rsa(uint8_t alg)
{
    return alg == PIV_ALG_RSA2048;
}

/* Modulus or field length in bytes; 0 for an algorithm the cards lack. */
size_t piv_alg_bytes(uint8_t alg)
{
    switch (alg) {
    case PIV_ALG_RSA2048:
        return 256;
    case PIV_ALG_ECCP256:
        return 32;
    case PIV_ALG_ECCP384:
        return 48;
    default:
        return 0;
    }
}

const char *piv_alg_group(uint8_t alg)
{
    return alg == PIV_ALG_ECCP256 ? "P-256" : "P-384";
}

/* 1 when pk is a key of algorithm alg. */
int piv_key_fits(const EVP_PKEY *pk, uint8_t alg)
{
    if (piv_alg_bytes(alg) == 0)
        return 0;
    if (piv_alg_is_rsa(alg))
        return EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) == 2048;
    /* OpenSSL names a curve either way ("prime256v1" or "P-256") */
    char group[32];
    size_t gl = 0;
    if (!EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
                                                                   group, sizeof(group), &gl) != 1)
        return 0;
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(group);
    return nid == (alg == PIV_ALG_ECCP256 ? NID_X9_62_prime256v1 : NID_secp384r1);
}

/* ---- public key encoding ---- */

static int put_public(cf_wcursor *w, const EVP_PKEY *pk, uint8_t alg)
{
    size_t bytes = piv_alg_bytes(alg);
    if (piv_alg_is_rsa(alg)) {
        BIGNUM *n = NULL, *e = NULL;
        uint8_t nb[KEY_BYTES_MAX], eb[8];
        int ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
                 EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
                 BN_num_bytes(e) <= (int)sizeof(eb) && BN_bn2binpad(n, nb, (int)bytes) > 0;
        int el = ok ? BN_bn2bin(e, eb) : 0;
        if (ok) {
            cf_wc_tlv(w, TAG_RSA_N, nb, bytes);
            cf_wc_tlv(w, TAG_RSA_E, eb, (size_t)el);
        }
        BN_free(n);
        BN_free(e);
        return ok ? 0 : -1;
    }
    uint8_t pt[1 + 2 * 48];
    size_t pl = 0;
    if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl) != 1 ||
        pl != 1 + 2 * bytes || pt[0] != 0x04)
        return -1;
    cf_wc_tlv(w, TAG_EC_POINT, pt, pl);
    return 0;
}

void piv_key_put_public(cf_wcursor *w, const struct piv_key *k)
{
    if (put_public(w, k->pkey, k->alg) < 0)
        w->overflow = 1; /* the card answers 6F00 rather than half a key */
}

/* ---- storing a key ---- */

/* Put pk into the slot durably; on failure pk is freed and the slot keeps
 * its old key. */
uint16_t piv_store_key(cf_simcard_t *card, uint8_t ref, EVP_PKEY *pk, uint8_t alg, uint8_t pin,
                       uint8_t touch, uint8_t origin)
{
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    /* the old key stays with saved; commit frees the loser */
    piv_key_set(card, ref, pk, alg, pin, origin);
    piv_of(card)->nv.key[piv_slot_index(ref)].touch_policy = touch;
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    return SW_OK;
}

void piv_key_set(cf_simcard_t *card, uint8_t ref, EVP_PKEY *pk, uint8_t alg, uint8_t pin,
                 uint8_t origin)
{
    struct piv_key *k = &piv_of(card)->nv.key[piv_slot_index(ref)];
    k->pkey = pk;
    k->alg = alg;
    k->pin_policy = pin;
    k->touch_policy = PIV_TOUCH_NEVER;
    k->origin = origin;
}

/* ---- GENERATE ---- */

struct gen_request {
    uint8_t alg, pin, touch;
};

/* AC { 80 alg [AA pin] [AB touch] }, each element once and one byte. */
static int parse_gen_template(const cf_simcard_t *card, const cf_apdu_t *cmd, struct gen_request *g)
{
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    unsigned tag;
    const uint8_t *v;
    size_t vl;
    if (cf_rc_tlv(&c, &tag, &v, &vl) < 0 || tag != TAG_GEN_TEMPLATE || c.left != 0)
        return -1;
    cf_rcursor in = cf_rcursor_init(v, vl);
    int have_alg = 0, have_pin = 0, have_touch = 0;
    uint8_t pin = 0, touch = 0;
    while (in.left > 0) {
        const uint8_t *e;
        size_t el;
        if (cf_rc_tlv(&in, &tag, &e, &el) < 0 || el != 1)
            return -1;
        if (tag == TAG_GEN_ALG && !have_alg) {
            have_alg = 1;
            g->alg = e[0];
        } else if (tag == TAG_PIN_POLICY && !have_pin && piv_is_yubikey(card)) {
            have_pin = 1;
            pin = e[0];
        } else if (tag == TAG_TOUCH_POLICY && !have_touch && piv_is_yubikey(card)) {
            have_touch = 1;
            touch = e[0];
        } else {
            return -1;
        }
    }
    g->pin = piv_pin_policy_resolve(cmd->p2, pin);
    g->touch = piv_touch_policy_resolve(touch);
    return have_alg && piv_alg_bytes(g->alg) > 0 && g->pin != 0 && g->touch != 0 ? 0 : -1;
}

static EVP_PKEY *keygen(cf_simcard_t *card, uint8_t alg)
{
    if (piv_alg_is_rsa(alg)) {
        cf_simcard_count(card, CF_SIM_COST_KEYGEN_RSA);
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    }
    cf_simcard_count(card, CF_SIM_COST_KEYGEN_EC);
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", piv_alg_group(alg));
}

/* A wrong slot: the YubiKey answers 6B00 (yubico-piv-tool names it
 * "incorrect slot"), a standard card 6A86 (incorrect P1-P2). */
uint16_t piv_wrong_slot(const cf_simcard_t *card)
{
    return piv_is_yubikey(card) ? SW_WRONG_P1P2 : SW_INCORRECT_P1P2;
}

uint16_t piv_generate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    if (cmd->p1 != 0x00)
        return SW_INCORRECT_P1P2;
    if (!piv_usable_slot(card, cmd->p2))
        return piv_wrong_slot(card);
    if (!pc->admin)
        return SW_SECURITY_STATUS;
    struct gen_request g;
    if (parse_gen_template(card, cmd, &g) < 0)
        return SW_WRONG_DATA;
    EVP_PKEY *pk = keygen(card, g.alg);
    if (pk == NULL)
        return SW_UNKNOWN;
    uint16_t sw = piv_store_key(card, cmd->p2, pk, g.alg, g.pin, g.touch, PIV_ORIGIN_GENERATED);
    if (sw != SW_OK)
        return sw;
    uint8_t inner[2 * KEY_BYTES_MAX];
    cf_wcursor w = cf_wcursor_init(inner, sizeof(inner));
    if (put_public(&w, pk, g.alg) < 0 || w.overflow)
        return SW_UNKNOWN;
    cf_wc_tlv(resp, TAG_PUBLIC_KEY, inner, w.len);
    return SW_OK;
}

/* ---- GENERAL AUTHENTICATE with a slot key ---- */

struct key_request {
    const uint8_t *in;
    size_t in_len;
    int exponentiation; /* 85 (ECDH) rather than 81 */
};

/* 7C { 82 00 and one of 81 / 85 }, in any order. */
static int parse_key_request(const cf_apdu_t *cmd, struct key_request *r)
{
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    unsigned tag;
    const uint8_t *v;
    size_t vl;
    if (cf_rc_tlv(&c, &tag, &v, &vl) < 0 || tag != TAG_DYN_AUTH || c.left != 0)
        return -1;
    cf_rcursor in = cf_rcursor_init(v, vl);
    int have_resp = 0;
    r->in = NULL;
    r->in_len = 0;
    r->exponentiation = 0;
    while (in.left > 0) {
        const uint8_t *e;
        size_t el;
        if (cf_rc_tlv(&in, &tag, &e, &el) < 0)
            return -1;
        if (tag == TAG_RESPONSE && el == 0 && !have_resp) {
            have_resp = 1;
        } else if ((tag == TAG_CHALLENGE || tag == TAG_EXPONENTIATION) && r->in == NULL && el > 0) {
            r->in = e;
            r->in_len = el;
            r->exponentiation = tag == TAG_EXPONENTIATION;
        } else {
            return -1;
        }
    }
    return have_resp && r->in != NULL ? 0 : -1;
}

/* The raw RSA private operation: out = in^d mod n (the host padded in). */
static int rsa_raw(EVP_PKEY *pk, const uint8_t *in, size_t len, uint8_t *out, size_t *outl)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    int ok = ctx != NULL && EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_decrypt(ctx, out, outl, in, len) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* ECDSA of a hash the host sent, left-padded with zeros to the field
 * length (as clients shorten or pad it); DER signature out. */
static int ec_sign(EVP_PKEY *pk, size_t field, const uint8_t *in, size_t len, uint8_t *out,
                   size_t *outl)
{
    uint8_t h[48] = {0};
    memcpy(h + field - len, in, len);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    int ok =
        ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, out, outl, h, field) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* ECDH with the host's uncompressed point: the shared x coordinate. */
static int ec_derive(EVP_PKEY *pk, uint8_t alg, const uint8_t *pt, size_t len, uint8_t *out,
                     size_t *outl)
{
    EVP_PKEY *peer = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)piv_alg_group(alg), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len),
        OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int ok = pctx != NULL && EVP_PKEY_fromdata_init(pctx) == 1 &&
             EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX *ctx = ok ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
    ok = ok && ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
         EVP_PKEY_derive_set_peer(ctx, peer) == 1 && EVP_PKEY_derive(ctx, out, outl) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY_free(peer);
    return ok ? 0 : -1;
}

void piv_count_private(cf_simcard_t *card, uint8_t alg)
{
    cf_simcard_count(card, piv_alg_is_rsa(alg) ? CF_SIM_COST_PRIVATE_RSA : CF_SIM_COST_PRIVATE_EC);
}

/* Whether the PIN rule of key k allows a use now. */
static int pin_allows(const struct piv_card *pc, const struct piv_key *k)
{
    switch (k->pin_policy) {
    case PIV_PIN_NEVER:
        return 1;
    case PIV_PIN_ALWAYS:
        return pc->pin_verified && pc->pin_fresh;
    default:
        return pc->pin_verified;
    }
}

uint16_t piv_key_authenticate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    if (!piv_usable_slot(card, cmd->p2))
        return SW_REF_NOT_FOUND;
    struct piv_key *k = &pc->nv.key[piv_slot_index(cmd->p2)];
    if (k->pkey == NULL)
        return SW_REF_NOT_FOUND;
    if (cmd->p1 != k->alg)
        return SW_INCORRECT_P1P2;
    struct key_request r;
    if (parse_key_request(cmd, &r) < 0)
        return SW_WRONG_DATA;
    size_t field = piv_alg_bytes(k->alg);
    int rsa = piv_alg_is_rsa(k->alg);
    if (rsa                ? r.exponentiation || r.in_len != field
        : r.exponentiation ? r.in_len != 1 + 2 * field
                           : r.in_len > field)
        return SW_WRONG_DATA;
    if (!pin_allows(pc, k))
        return SW_SECURITY_STATUS;
    if (k->pin_policy == PIV_PIN_ALWAYS)
        pc->pin_fresh = 0; /* one use per VERIFY */
    piv_count_private(card, k->alg);
    uint8_t out[KEY_BYTES_MAX + 16];
    size_t outl = sizeof(out);
    int rc = rsa                ? rsa_raw(k->pkey, r.in, r.in_len, out, &outl)
             : r.exponentiation ? ec_derive(k->pkey, k->alg, r.in, r.in_len, out, &outl)
                                : ec_sign(k->pkey, field, r.in, r.in_len, out, &outl);
    uint16_t sw = SW_WRONG_DATA; /* e.g. a block not below the modulus, a point off the curve */
    if (rc == 0) {
        cf_wc_u8(resp, TAG_DYN_AUTH);
        cf_wc_berlen(resp, 1 + (outl < 128 ? 1 : outl < 256 ? 2 : 3) + outl);
        cf_wc_tlv(resp, TAG_RESPONSE, out, outl);
        sw = SW_OK;
    }
    OPENSSL_cleanse(out, sizeof(out));
    return sw;
}

/* ---- GET METADATA of a key slot (YubiKey) ---- */

uint16_t piv_key_metadata(cf_simcard_t *card, uint8_t ref, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    if (ref == PIV_SLOT_ATTEST && piv_attest_ensure(card) < 0)
        return SW_MEMORY_FAILURE;
    int idx = piv_slot_index(ref);
    const struct piv_key *k = &pc->nv.key[idx];
    if (k->pkey == NULL)
        return SW_FILE_NOT_FOUND; /* an empty slot */
    uint8_t inner[2 * KEY_BYTES_MAX];
    cf_wcursor w = cf_wcursor_init(inner, sizeof(inner));
    if (put_public(&w, k->pkey, k->alg) < 0 || w.overflow)
        return SW_UNKNOWN;
    uint8_t policy[2] = {k->pin_policy, k->touch_policy};
    cf_wc_tlv(resp, 0x01, &k->alg, 1);
    cf_wc_tlv(resp, 0x02, policy, 2);
    cf_wc_tlv(resp, 0x03, &k->origin, 1);
    cf_wc_tlv(resp, 0x04, inner, w.len);
    return SW_OK;
}
