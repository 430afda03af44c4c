/*
 * piv_import.c - the YubiKey's IMPORT ASYMMETRIC KEY (FE): a private key
 * from its parts, checked before it goes into a slot.
 *
 * P1 is the algorithm, P2 the slot; the data are RSA-2048 CRT parts
 * (01 p, 02 q, 03 dp, 04 dq, 05 qinv, each at most 128 bytes, e = 65537)
 * or an EC private scalar (06 d), then optional AA (PIN policy) and AB
 * (touch policy), each tag at most once (YubiKey PIV documentation;
 * yubico-piv-tool import-key, ykman put_key). The parts are secrets: they
 * go into BIGNUMs from the secure heap and are wiped on every path. An RSA
 * key is accepted only when OpenSSL's full check holds (p and q prime,
 * n = pq of 2048 bits, d, dp, dq and qinv consistent); an EC scalar only
 * when 1 <= d < the group order.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "simcard/piv_int.h"

#define TAG_PIN_POLICY 0xAA
#define TAG_TOUCH_POLICY 0xAB

/* The private numbers of an import, each tag at most once. */
struct import_parts {
    const uint8_t *val[6]; /* tags 01..06 */
    size_t len[6];
    int pin_set, touch_set;
    uint8_t pin, touch;
};

static int parse_import(const cf_apdu_t *cmd, struct import_parts *ip)
{
    memset(ip, 0, sizeof(*ip));
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    while (c.left > 0) {
        unsigned tag;
        const uint8_t *v;
        size_t vl;
        if (cf_rc_tlv(&c, &tag, &v, &vl) < 0)
            return -1;
        if (tag >= 0x01 && tag <= 0x06 && ip->val[tag - 1] == NULL && vl > 0) {
            ip->val[tag - 1] = v;
            ip->len[tag - 1] = vl;
        } else if (tag == TAG_PIN_POLICY && !ip->pin_set && vl == 1) {
            ip->pin_set = 1;
            ip->pin = v[0];
        } else if (tag == TAG_TOUCH_POLICY && !ip->touch_set && vl == 1) {
            ip->touch_set = 1;
            ip->touch = v[0];
        } else {
            return -1;
        }
    }
    return 0;
}

static BIGNUM *secret_bn(const uint8_t *p, size_t n)
{
    BIGNUM *b = BN_secure_new();
    if (b != NULL && BN_bin2bn(p, (int)n, b) == NULL) {
        BN_clear_free(b);
        return NULL;
    }
    return b;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *params = bld != NULL ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params) /* secret BNs sit in the secure heap, wiped on free */;
    return pk;
}

/* An RSA-2048 key from its CRT parts and e = 65537 (the only exponent a
 * YubiKey takes); NULL unless the parts make a consistent key (OpenSSL's
 * full check: primes, n = pq, d, dp, dq, qinv). */
static EVP_PKEY *rsa_from_crt(const struct import_parts *ip)
{
    BIGNUM *b[5] = {NULL};
    BIGNUM *n = BN_new(), *e = BN_new(), *d = BN_secure_new(), *phi = BN_secure_new();
    BIGNUM *p1 = BN_secure_new(), *q1 = BN_secure_new();
    BN_CTX *bc = BN_CTX_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pk = NULL, *out = NULL;
    int ok = n && e && d && phi && p1 && q1 && bc && bld && BN_set_word(e, 65537);
    for (int i = 0; ok && i < 5; i++) {
        ok = ip->len[i] <= 128;
        b[i] = ok ? secret_bn(ip->val[i], ip->len[i]) : NULL;
        ok = ok && b[i] != NULL;
    }
    ok = ok && BN_mul(n, b[0], b[1], bc) && BN_num_bits(n) == 2048 &&
         BN_sub(p1, b[0], BN_value_one()) && BN_sub(q1, b[1], BN_value_one()) &&
         BN_mul(phi, p1, q1, bc) && BN_mod_inverse(d, e, phi, bc) != NULL;
    ok = ok && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, b[0]) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, b[1]) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, b[2]) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, b[3]) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, b[4]);
    if (ok)
        pk = from_params("RSA", bld);
    if (pk != NULL) {
        EVP_PKEY_CTX *cc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        if (cc != NULL && EVP_PKEY_check(cc) == 1) {
            out = pk;
            pk = NULL;
        }
        EVP_PKEY_CTX_free(cc);
    }
    EVP_PKEY_free(pk);
    for (int i = 0; i < 5; i++)
        BN_clear_free(b[i]);
    BN_free(n);
    BN_free(e);
    BN_clear_free(d);
    BN_clear_free(phi);
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_CTX_free(bc);
    OSSL_PARAM_BLD_free(bld);
    return out;
}

EVP_PKEY *piv_ec_from_scalar(uint8_t alg, const uint8_t *dv, size_t dl)
{
    int nid = alg == PIV_ALG_ECCP256 ? NID_X9_62_prime256v1 : NID_secp384r1;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *d = dl <= piv_alg_bytes(alg) ? secret_bn(dv, dl) : NULL;
    EC_POINT *pub = g != NULL ? EC_POINT_new(g) : NULL;
    BN_CTX *bc = BN_CTX_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    uint8_t pt[1 + 2 * 48];
    size_t pl = 0;
    EVP_PKEY *pk = NULL;
    int ok = g && d && pub && bc && bld && !BN_is_zero(d) &&
             BN_cmp(d, EC_GROUP_get0_order(g)) < 0 && EC_POINT_mul(g, pub, d, NULL, NULL, bc) == 1;
    if (ok)
        pl = EC_POINT_point2oct(g, pub, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt), bc);
    ok = ok && pl > 0 &&
         OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, piv_alg_group(alg), 0) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pl);
    if (ok)
        pk = from_params("EC", bld);
    EC_GROUP_free(g);
    BN_clear_free(d);
    EC_POINT_free(pub);
    BN_CTX_free(bc);
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

uint16_t piv_import_key(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    if (!piv_usable_slot(card, cmd->p2))
        return piv_wrong_slot(card);
    if (piv_alg_bytes(cmd->p1) == 0)
        return SW_INCORRECT_P1P2;
    if (!pc->admin)
        return SW_SECURITY_STATUS;
    struct import_parts ip;
    if (parse_import(cmd, &ip) < 0)
        return SW_WRONG_DATA;
    uint8_t pin = piv_pin_policy_resolve(cmd->p2, ip.pin);
    uint8_t touch = piv_touch_policy_resolve(ip.touch);
    int rsa = piv_alg_is_rsa(cmd->p1), complete = 1;
    for (int i = 0; i < 6; i++)
        complete &= (ip.val[i] != NULL) == (rsa ? i < 5 : i == 5);
    if (!complete || pin == 0 || touch == 0)
        return SW_WRONG_DATA;
    EVP_PKEY *pk = rsa ? rsa_from_crt(&ip) : piv_ec_from_scalar(cmd->p1, ip.val[5], ip.len[5]);
    if (pk == NULL)
        return SW_WRONG_DATA;
    return piv_store_key(card, cmd->p2, pk, cmd->p1, pin, touch, PIV_ORIGIN_IMPORTED);
}
