/*
 * gids_keys.c - the container keys of the gids virtual card: key files,
 * on-card generation, import, the public key, deleting a key file, and
 * their state-file lines.
 *
 * A minidriver container's key is reference 0x81 + container index, held
 * in key file B000 | reference, which the host creates (CREATE FILE type
 * 18) with one CRT per use: B8 (decipher) and / or B6 (sign), each naming
 * an algorithm reference whose low nibble is the RSA size (06 1024, 07
 * 2048, 08 3072, 09 4096) and whose high nibble the padding (GIDS table
 * 43; OpenSC 0.23 card-gids.c gids_perform_create_keyfile). The file's
 * compact security attributes (8C) carry one condition per operation:
 * b4 GENERATE, b3 MSE, b2 PUT KEY (import), b1 read the public key;
 * OpenSC writes 8C 05 8F 10 10 10 00 (PIN for the first three, the
 * public key free to read). OpenSC 0.23 uses RSA only (no ECC): an ECC
 * algorithm reference (0A..0E) is answered 6A81.
 *
 *   GENERATE ASYMMETRIC KEY PAIR  00 47 00 00 Lc AC {80 01 alg, 83 01 ref}
 *     -> (only when the host asked with Le) 7F49 {81 n, 82 e}
 *   public key   00 CB 3F FF Lc 70 {84 01 ref, A5 {7F 49 80}} Le
 *     -> 7F49 {81 n, 82 e} at the top level, where OpenSC looks for it
 *   import       00 DB 3F FF (chained) 70 {84 01 ref, A5 {83 01 02 (RSA),
 *                84 01 00 (not wrapped), 87 {30 {0, n, e, d, p, q, dp, dq,
 *                qinv}}}}: a PKCS#1 RSAPrivateKey whose integers OpenSC
 *                writes unsigned (no 00 before a high bit), so they are
 *                read as unsigned big-endian numbers.
 *   delete       00 A4 00 0C 02 B0 <ref>, 00 E4 00 00 (the current file;
 *                or E4 with the FID as data): container key files only,
 *                under the application's delete-child condition (PIN or
 *                admin in the FCP gids-tool writes).
 *
 * Keys are OpenSSL EVP_PKEYs, generated and checked by OpenSSL 3; a new
 * or imported key is saved before the card answers 9000, and put back as
 * it was if the save fails (6581). An unknown reference answers 6A88 (the
 * reference applet says 6984), as does a key file that holds no key yet.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "simcard/gids_int.h"
#include "util/hex.h"

#define TAG_PUBKEY 0x7F49
#define RSA_ALG_FIRST 0x06 /* 1024 */
#define RSA_ALG_LAST 0x09  /* 4096 */
#define ECC_ALG_FIRST 0x0A
#define ECC_ALG_LAST 0x0E
#define IMPORT_TYPE_RSA 0x02

/* ---- key files ---- */

static unsigned alg_bits(uint8_t size_nibble)
{
    static const unsigned bits[] = {1024, 2048, 3072, 4096};
    if (size_nibble < RSA_ALG_FIRST || size_nibble > RSA_ALG_LAST)
        return 0;
    return bits[size_nibble - RSA_ALG_FIRST];
}

uint16_t cf_gids_check_container_template(const uint8_t *a5, size_t len, unsigned *bits)
{
    cf_rcursor c = cf_rcursor_init(a5, len);
    unsigned size = 0;
    int n = 0;
    while (c.left > 0) {
        unsigned t;
        const uint8_t *v, *alg;
        size_t vl, alen;
        if (cf_rc_tlv(&c, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        if (t == 0xa4)
            return SW_FUNC_NOT_SUPPORTED; /* a symmetric key: only the admin key's file */
        if (t != GIDS_CRT_SIGN && t != GIDS_CRT_DECIPHER)
            return SW_WRONG_DATA;
        if (cf_tlv_find(v, vl, 0x80, &alg, &alen) < 0 || alen != 1)
            return SW_WRONG_DATA;
        uint8_t nib = alg[0] & 0x0f;
        if (nib >= ECC_ALG_FIRST && nib <= ECC_ALG_LAST)
            return SW_FUNC_NOT_SUPPORTED;
        unsigned b = alg_bits(nib);
        if (b == 0 || (size != 0 && b != size))
            return SW_WRONG_DATA;
        size = b;
        n++;
    }
    if (n == 0)
        return SW_WRONG_DATA;
    *bits = size;
    return 0;
}

/* The A5 of a checked FCP (NULL if none). */
static const uint8_t *fcp_template(const struct gids_ef *ef, size_t *len)
{
    cf_rcursor c = cf_rcursor_init(ef->fcp, ef->fcp_len);
    const uint8_t *inner, *a5;
    size_t ilen;
    unsigned t;
    if (cf_rc_tlv(&c, &t, &inner, &ilen) < 0 || cf_tlv_find(inner, ilen, 0xa5, &a5, len) < 0)
        return NULL;
    return a5;
}

unsigned cf_gids_key_bits(const struct gids_ef *ef)
{
    size_t len = 0;
    unsigned bits = 0;
    if (ef == NULL || ef->type != GIDS_EF_KEY || ef->fid == GIDS_FID_ADMIN_KEY)
        return 0;
    const uint8_t *a5 = fcp_template(ef, &len);
    if (a5 == NULL || cf_gids_check_container_template(a5, len, &bits) != 0)
        return 0;
    return bits;
}

struct gids_ef *cf_gids_key_file(struct gids_card *g, unsigned ref)
{
    if (ref < GIDS_KEY_REF_FIRST || ref > 0xff)
        return NULL;
    struct gids_ef *ef = cf_gids_find_ef(g, (uint16_t)(GIDS_FID_KEY_BASE | ref));
    return cf_gids_key_bits(ef) != 0 ? ef : NULL;
}

uint16_t cf_gids_key_access(struct gids_card *g, unsigned ref, uint8_t op, struct gids_ef **ef)
{
    *ef = cf_gids_key_file(g, ref);
    if (*ef == NULL)
        return SW_REF_NOT_FOUND;
    return cf_gids_check_access(g, *ef, op);
}

/* Replace ef's key with pkey (owned) and save; on a failed save the old
 * key comes back and pkey is freed. */
static uint16_t install_key(cf_simcard_t *card, struct gids_ef *ef, EVP_PKEY *pkey)
{
    EVP_PKEY *old = ef->pkey;
    ef->pkey = pkey;
    if (cf_simcard_persist(card) < 0) {
        ef->pkey = old;
        EVP_PKEY_free(pkey);
        return SW_MEMORY_FAILURE;
    }
    EVP_PKEY_free(old);
    return SW_OK;
}

/* ---- the public key ---- */

static uint16_t put_public(const EVP_PKEY *pkey, cf_wcursor *resp)
{
    BIGNUM *n = NULL, *e = NULL;
    uint8_t nb[512], eb[16];
    uint16_t sw = SW_UNKNOWN;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
        BN_num_bytes(n) > (int)sizeof(nb) || BN_num_bytes(e) > (int)sizeof(eb))
        goto out;
    size_t nl = (size_t)BN_bn2bin(n, nb), el = (size_t)BN_bn2bin(e, eb);
    uint8_t inner[4 + sizeof(nb) + 2 + sizeof(eb)];
    cf_wcursor w = cf_wcursor_init(inner, sizeof(inner));
    cf_wc_tlv(&w, 0x81, nb, nl);
    cf_wc_tlv(&w, 0x82, eb, el);
    if (w.overflow)
        goto out;
    cf_wc_tlv(resp, TAG_PUBKEY, inner, w.len);
    sw = SW_OK;
out:
    BN_free(n);
    BN_free(e);
    return sw;
}

uint16_t cf_gids_read_public(cf_simcard_t *card, const uint8_t *tpl, size_t len, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    cf_rcursor c = cf_rcursor_init(tpl, len);
    const uint8_t *in, *ref;
    size_t ilen, rlen;
    unsigned t;
    /* 70 {84 01 ref, A5 ..}: OpenSC's A5 holds 7F 49 80 (tag and an
     * indefinite-length byte), naming what to return; it is not parsed,
     * since the public key is all a container gives out. */
    if (cf_rc_tlv(&c, &t, &in, &ilen) < 0 || c.left != 0 ||
        cf_tlv_find(in, ilen, 0x84, &ref, &rlen) < 0 || rlen != 1)
        return SW_WRONG_DATA;
    struct gids_ef *ef;
    uint16_t sw = cf_gids_key_access(g, ref[0], GIDS_OP_KEY_READ_PUBLIC, &ef);
    if (sw != 0)
        return sw;
    if (ef->pkey == NULL)
        return SW_REF_NOT_FOUND;
    return put_public(ef->pkey, resp);
}

/* ---- generation ---- */

uint16_t cf_gids_generate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
        return SW_INCORRECT_P1P2;
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    const uint8_t *crt, *alg, *ref;
    size_t clen, alen, rlen;
    unsigned t;
    if (cf_rc_tlv(&c, &t, &crt, &clen) < 0 || t != 0xac || c.left != 0 ||
        cf_tlv_find(crt, clen, 0x80, &alg, &alen) < 0 || alen != 1 ||
        cf_tlv_find(crt, clen, 0x83, &ref, &rlen) < 0 || rlen != 1)
        return SW_WRONG_DATA;
    struct gids_ef *ef;
    uint16_t sw = cf_gids_key_access(g, ref[0], GIDS_OP_KEY_GENERATE, &ef);
    if (sw != 0)
        return sw;
    /* The algorithm must be the RSA size the key file was made for. */
    if (alg[0] >= ECC_ALG_FIRST && alg[0] <= ECC_ALG_LAST)
        return SW_FUNC_NOT_SUPPORTED;
    unsigned bits = alg_bits(alg[0]);
    if (bits == 0)
        return SW_FUNC_NOT_SUPPORTED;
    if (bits != cf_gids_key_bits(ef))
        return SW_WRONG_DATA;

    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    cf_simcard_count(card, CF_SIM_COST_KEYGEN_RSA);
    if (pkey == NULL)
        return SW_UNKNOWN;
    sw = install_key(card, ef, pkey);
    if (sw != SW_OK)
        return sw;
    /* OpenSC sends this case 3 (no Le) and reads the key with GET DATA;
     * a host that asks with Le gets the public key here, as ISO 7816-8
     * has it. */
    if (cmd->has_le)
        return put_public(ef->pkey, resp);
    return SW_OK;
}

/* ---- deletion ---- */

uint16_t cf_gids_delete_key_file(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    struct gids_ef *ef;
    if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
        return SW_INCORRECT_P1P2;
    if (cmd->nc == 0) { /* OpenSC: SELECT B0xx (P2 0C), then 00 E4 00 00 */
        if (g->cur_ef < 0)
            return SW_CONDITIONS; /* the application itself: TERMINATE DF's job */
        ef = &g->efs[g->cur_ef];
    } else if (cmd->nc == 2) {
        ef = cf_gids_find_ef(g, (uint16_t)((cmd->data[0] << 8) | cmd->data[1]));
        if (ef == NULL)
            return SW_FILE_NOT_FOUND;
    } else {
        return SW_WRONG_LENGTH;
    }
    /* Only what OpenSC deletes: a container's key file. Data-object EFs
     * and the admin key file stay (a deleted admin key file would end the
     * admin unblock for good). */
    if (cf_gids_key_bits(ef) == 0)
        return SW_FUNC_NOT_SUPPORTED;
    /* The application's delete-child condition, and the file's own delete
     * condition if its 8C has one (OpenSC's 8F has none). */
    uint16_t sw = cf_gids_check_access(g, NULL, GIDS_OP_DF_DELETE_CHILD);
    if (sw == 0 && ef->active)
        sw = cf_gids_check_access(g, ef, GIDS_OP_EF_DELETE);
    if (sw != 0)
        return sw;

    size_t i = (size_t)(ef - g->efs);
    struct gids_ef gone = *ef;
    int cur = g->cur_ef;
    memmove(&g->efs[i], &g->efs[i + 1], (g->n_efs - i - 1) * sizeof(g->efs[0]));
    g->n_efs--;
    memset(&g->efs[g->n_efs], 0, sizeof(g->efs[0]));
    /* ISO 7816-4: after deleting the current file its parent is current. */
    g->cur_ef = cur == (int)i ? -1 : cur > (int)i ? cur - 1 : cur;
    if (cf_simcard_persist(card) < 0) {
        memmove(&g->efs[i + 1], &g->efs[i], (g->n_efs - i) * sizeof(g->efs[0]));
        g->efs[i] = gone;
        g->n_efs++;
        g->cur_ef = cur;
        return SW_MEMORY_FAILURE;
    }
    EVP_PKEY_free(gone.pkey);
    OPENSSL_cleanse(&gone, sizeof(gone));
    return SW_OK;
}

/* ---- import ---- */

/* One INTEGER of the RSAPrivateKey, read as an unsigned number. */
static int take_int(cf_rcursor *c, BIGNUM **out)
{
    unsigned t;
    const uint8_t *v;
    size_t vl;
    if (cf_rc_tlv(c, &t, &v, &vl) < 0 || t != 0x02 || vl == 0 || vl > 513)
        return -1;
    *out = BN_bin2bn(v, (int)vl, NULL);
    return *out != NULL ? 0 : -1;
}

/* RSAPrivateKey {0, n, e, d, p, q, dp, dq, qinv} into a checked key. */
static uint16_t rsa_from_der(const uint8_t *der, size_t len, EVP_PKEY **out)
{
    static const char *const names[8] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
    };
    BIGNUM *bn[8] = {NULL}, *version = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
    uint16_t sw = SW_WRONG_DATA;
    cf_rcursor c = cf_rcursor_init(der, len);
    const uint8_t *seq;
    size_t slen;
    unsigned t;
    *out = NULL;
    if (cf_rc_tlv(&c, &t, &seq, &slen) < 0 || t != 0x30 || c.left != 0)
        goto out;
    cf_rcursor s = cf_rcursor_init(seq, slen);
    if (take_int(&s, &version) < 0 || !BN_is_zero(version))
        goto out;
    for (size_t i = 0; i < 8; i++)
        if (take_int(&s, &bn[i]) < 0)
            goto out;
    if (s.left != 0)
        goto out;
    sw = SW_UNKNOWN;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL)
        goto out;
    for (size_t i = 0; i < 8; i++)
        if (OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) != 1)
            goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1)
        goto out;
    sw = SW_WRONG_DATA;
    if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) != 1)
        goto out;
    /* n = p q, d e = 1 mod lcm(p-1, q-1), the CRT parts agree. */
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
    if (chk == NULL || EVP_PKEY_pairwise_check(chk) != 1) {
        EVP_PKEY_free(*out);
        *out = NULL;
        goto out;
    }
    sw = SW_OK;
out:
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    /* OpenSSL 3.0 has no OSSL_PARAM_clear_free: wipe the key parts here. */
    for (OSSL_PARAM *p = params; p != NULL && p->key != NULL; p++)
        OPENSSL_cleanse(p->data, p->data_size);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < 8; i++)
        BN_clear_free(bn[i]);
    BN_free(version);
    return sw;
}

uint16_t cf_gids_import_key(cf_simcard_t *card, unsigned ref, const uint8_t *a5, size_t len)
{
    struct gids_card *g = gids_of(card);
    struct gids_ef *ef;
    uint16_t sw = cf_gids_key_access(g, ref, GIDS_OP_KEY_PUT, &ef);
    if (sw != 0)
        return sw;
    /* A5 {83 01 type, 84 01 wrapping key, 87 key value}, in any order. */
    const uint8_t *type = NULL, *wrap = NULL, *val = NULL, *v;
    size_t vallen = 0, vl;
    unsigned t;
    cf_rcursor c = cf_rcursor_init(a5, len);
    while (c.left > 0) {
        if (cf_rc_tlv(&c, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        if (t == 0x83 && type == NULL && vl == 1)
            type = v;
        else if (t == 0x84 && wrap == NULL && vl == 1)
            wrap = v;
        else if (t == 0x87 && val == NULL) {
            val = v;
            vallen = vl;
        } else
            return SW_WRONG_DATA;
    }
    if (type == NULL || val == NULL)
        return SW_WRONG_DATA;
    if (type[0] != IMPORT_TYPE_RSA || (wrap != NULL && wrap[0] != 0x00))
        return SW_FUNC_NOT_SUPPORTED; /* symmetric, or wrapped under a key */
    EVP_PKEY *pkey = NULL;
    sw = rsa_from_der(val, vallen, &pkey);
    if (sw != SW_OK)
        return sw;
    if ((unsigned)EVP_PKEY_get_bits(pkey) != cf_gids_key_bits(ef)) {
        EVP_PKEY_free(pkey);
        return SW_WRONG_DATA; /* not the size the key file was made for */
    }
    return install_key(card, ef, pkey);
}

/* ---- state file ---- */

int cf_gids_save_keys(const struct gids_card *g, FILE *f)
{
    for (size_t i = 0; i < g->n_efs; i++) {
        const struct gids_ef *ef = &g->efs[i];
        if (ef->pkey == NULL)
            continue;
        unsigned char *der = NULL;
        int n = i2d_PrivateKey(ef->pkey, &der); /* RSA: PKCS#1 RSAPrivateKey */
        if (n <= 0)
            return -1;
        fprintf(f, "key=%04X:", ef->fid);
        for (int j = 0; j < n; j++)
            fprintf(f, "%02X", der[j]);
        fputc('\n', f);
        OPENSSL_clear_free(der, (size_t)n);
    }
    return 0;
}

int cf_gids_load_key(struct gids_card *g, const char *value, char *err, size_t errlen)
{
    const char *colon = strchr(value, ':');
    uint8_t fb[2];
    if (colon == NULL || colon - value != 4 || cf_hex_decode(value, 4, fb, 2) != CF_OK) {
        snprintf(err, errlen, "expected FID:DER (FID 4 hex digits, DER in hex)");
        return -1;
    }
    uint16_t fid = (uint16_t)((fb[0] << 8) | fb[1]);
    struct gids_ef *ef = g->loading_fs ? cf_gids_find_ef(g, fid) : NULL;
    if (ef == NULL || cf_gids_key_bits(ef) == 0) {
        snprintf(err, errlen, "no container key file with this FID on an earlier ef line");
        return -1;
    }
    if (ef->pkey != NULL) {
        snprintf(err, errlen, "duplicate key");
        return -1;
    }
    size_t cap = strlen(colon + 1) / 2 + 1;
    uint8_t *der = malloc(cap);
    if (der == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    long n = cf_simcard_get_hex(colon + 1, der, cap);
    EVP_PKEY *pkey = NULL;
    int rc = -1;
    if (n <= 0)
        snprintf(err, errlen, "value is not hex");
    else if (rsa_from_der(der, (size_t)n, &pkey) != SW_OK)
        snprintf(err, errlen, "not a consistent RSA private key (PKCS#1 DER)");
    else if ((unsigned)EVP_PKEY_get_bits(pkey) != cf_gids_key_bits(ef))
        snprintf(err, errlen, "key size differs from the key file's algorithm");
    else {
        ef->pkey = pkey;
        pkey = NULL;
        rc = 0;
    }
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(der, cap);
    free(der);
    return rc;
}
