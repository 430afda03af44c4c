/*
 * card_cert_piv.c - keys and certificates of a PIV card (`keys: piv` and
 * `keys: yubikey`).
 *
 * Byte layouts (docs/cards/piv.md "Keys", /work references in its text):
 *   certificate object  GET DATA 00 CB 3F FF 5C(5F C1 xx) -> 53 { 70 DER,
 *                       71 CertInfo, FE }; PUT DATA 00 DB 3F FF with the
 *                       same template, 53 00 deletes (SP 800-73-4 part 1,
 *                       table 3; part 2, 3.1.2 / 3.3.1)
 *   GENERATE            00 47 00 slot AC { 80 alg [AA pin] [AB touch] } ->
 *                       7F49 { 81 n 82 e | 86 point }
 *   GENERAL AUTHENTICATE 00 87 alg slot 7C { 82 00, 81 block } -> 7C { 82 sig }
 *   GET METADATA (yubikey) 00 F7 00 slot -> 01 alg 02 policies 03 origin 04 key
 *   IMPORT (yubikey)    00 FE alg slot 01 p 02 q 03 dp 04 dq 05 qinv | 06 d
 *                       [AA pin] [AB touch]
 * Algorithms (SP 800-78-4): 07 RSA-2048, 11 ECC P-256, 14 ECC P-384.
 * Status words go through cf_cert_apdu (card_cert.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "card/card_cert_int.h"
#include "util/cursor.h"

static const uint8_t std_slots[] = {0x9A, 0x9C, 0x9D, 0x9E};

/* The certificate object's last byte for a slot: 5FC105 9A, 5FC10A 9C,
 * 5FC10B 9D, 5FC101 9E, 5FC10D..5FC120 for the retired 82..95. */
static int object_of(uint8_t ref)
{
    switch (ref) {
    case 0x9A:
        return 0x05;
    case 0x9C:
        return 0x0A;
    case 0x9D:
        return 0x0B;
    case 0x9E:
        return 0x01;
    default:
        if (ref >= 0x82 && ref <= 0x95)
            return 0x0D + (ref - 0x82);
        return -1;
    }
}

int cf_piv_slot_ref(const cf_card_t *card, const char *slot)
{
    if (slot == NULL || strlen(slot) != 2)
        return -1;
    char *end = NULL;
    long v = strtol(slot, &end, 16);
    if (*end != 0 || object_of((uint8_t)v) < 0)
        return -1;
    if (v >= 0x82 && v <= 0x95 && card->p->keys != CF_KEYS_PIV_YUBIKEY)
        return -1; /* a standard card has no way to put a retired key on it */
    return (int)v;
}

static uint8_t alg_id(cf_key_alg_t a)
{
    return a == CF_KEYALG_RSA2048 ? 0x07 : a == CF_KEYALG_ECCP256 ? 0x11 : 0x14;
}

static cf_key_alg_t alg_of_id(uint8_t id)
{
    return id == 0x07   ? CF_KEYALG_RSA2048
           : id == 0x11 ? CF_KEYALG_ECCP256
           : id == 0x14 ? CF_KEYALG_ECCP384
                        : CF_KEYALG_UNKNOWN;
}

cf_err_t cf_piv_cert_read(cf_card_t *card, uint8_t ref, uint8_t **der, size_t *len)
{
    uint8_t cmd[5] = {0x5C, 0x03, 0x5F, 0xC1, (uint8_t)object_of(ref)};
    cf_rapdu_t r;
    cf_err_t err =
        cf_cert_apdu(card, "read certificate", 0xCB, 0x3F, 0xFF, cmd, sizeof(cmd), 256, 0, &r);
    if (err == CF_ERR_NOT_FOUND)
        return cf_card_fail(card, err, "read certificate: slot %02x has no certificate", ref);
    if (err != CF_OK)
        return err;
    const uint8_t *v, *d;
    size_t vl, dl;
    int compressed;
    if (cf_tlv_find(r.data, r.len, 0x53, &v, &vl) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "read certificate: the card's answer is not a data object (53)");
    int k = cf_cert_piv_object(v, vl, &d, &dl, &compressed);
    if (k == 1)
        return cf_card_fail(card, CF_ERR_NOT_FOUND, "read certificate: slot %02x has none", ref);
    if (k < 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "read certificate: the object of slot %02x is malformed", ref);
    uint8_t *plain = NULL;
    size_t pl = 0;
    if (compressed && cf_cert_gunzip(d, dl, &plain, &pl) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "read certificate: slot %02x: the compressed certificate (CertInfo "
                            "01) does not inflate",
                            ref);
    if (!compressed) {
        plain = malloc(dl);
        if (plain == NULL)
            return CF_ERR_NOMEM;
        memcpy(plain, d, dl);
        pl = dl;
    }
    if (cf_cert_der_check_max(plain, pl, CF_CERT_MAX_READ) != 0) {
        free(plain);
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "read certificate: slot %02x holds bytes that are not one DER "
                            "certificate",
                            ref);
    }
    *der = plain;
    *len = pl;
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_piv_cert_put(cf_card_t *card, uint8_t ref, const uint8_t *der, size_t len)
{
    const char *what = der ? "write certificate" : "delete certificate";
    if (!der) {
        /* Something to delete? (a read spends nothing) */
        uint8_t *old = NULL;
        size_t ol = 0;
        cf_err_t e = cf_piv_cert_read(card, ref, &old, &ol);
        free(old);
        if (e == CF_ERR_NOT_FOUND)
            return cf_card_fail(card, e, "%s: slot %02x has no certificate; nothing sent", what,
                                ref);
        /* a malformed object is deleted all the same */
        if (e != CF_OK && e != CF_ERR_BAD_RESPONSE && e != CF_ERR_UNSUPPORTED)
            return e;
    }
    size_t cap = 32 + len;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return CF_ERR_NOMEM;
    uint8_t inner_hdr[8];
    cf_wcursor w = cf_wcursor_init(buf, cap);
    uint8_t tag[3] = {0x5F, 0xC1, (uint8_t)object_of(ref)};
    cf_wc_tlv(&w, 0x5C, tag, 3);
    if (der) {
        cf_wcursor h = cf_wcursor_init(inner_hdr, sizeof(inner_hdr));
        cf_wc_u8(&h, 0x70);
        cf_wc_berlen(&h, len);
        size_t inner = h.len + len + 3 + 2; /* 70.., 71 01 00, FE 00 */
        cf_wc_u8(&w, 0x53);
        cf_wc_berlen(&w, inner);
        cf_wc_bytes(&w, inner_hdr, h.len);
        cf_wc_bytes(&w, der, len);
        static const uint8_t tail[] = {0x71, 0x01, 0x00, 0xFE, 0x00};
        cf_wc_bytes(&w, tail, sizeof(tail));
    } else {
        cf_wc_tlv(&w, 0x53, NULL, 0);
    }
    cf_rapdu_t r;
    cf_err_t err =
        w.overflow ? CF_ERR_INTERNAL
                   : cf_cert_apdu(card, what, 0xDB, 0x3F, 0xFF, buf, w.len, 0, CF_CMD_WRITE, &r);
    free(buf);
    if (err != CF_OK)
        return err;
    /* Proof: read it back. */
    uint8_t *back = NULL;
    size_t bl = 0;
    err = cf_piv_cert_read(card, ref, &back, &bl);
    int proven =
        der ? (err == CF_OK && bl == len && memcmp(back, der, len) == 0) : err == CF_ERR_NOT_FOUND;
    free(back);
    if (!proven)
        return cf_card_fail(card, CF_ERR_PROOF_FAILED,
                            "%s: the card accepted it but slot %02x does not read back as "
                            "written",
                            what, ref);
    cf_card_ok(card);
    return CF_OK;
}

/* GET METADATA of a key slot: CF_ERR_UNSUPPORTED on a standard card (it
 * has no such command; nothing sent), CF_ERR_NOT_FOUND for an empty slot. */
static cf_err_t metadata(cf_card_t *card, uint8_t ref, uint8_t *alg, const uint8_t **pub,
                         size_t *pl, cf_rapdu_t *r)
{
    if (card->p->keys != CF_KEYS_PIV_YUBIKEY)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "read public key: a %s card cannot tell the key of a slot",
                            card->p->name);
    cf_err_t err = cf_cert_apdu(card, "read key metadata", 0xF7, 0x00, ref, NULL, 0, 256, 0, r);
    if (err != CF_OK)
        return err;
    const uint8_t *a;
    size_t al;
    if (cf_tlv_find(r->data, r->len, 0x01, &a, &al) != 0 || al != 1 ||
        cf_tlv_find(r->data, r->len, 0x04, pub, pl) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "read key metadata: slot %02x: the answer lacks tag 01 or 04", ref);
    *alg = a[0];
    return CF_OK;
}

cf_err_t cf_piv_public_key(cf_card_t *card, uint8_t ref, uint8_t **spki, size_t *len,
                           cf_key_alg_t *alg)
{
    cf_rapdu_t r;
    uint8_t id = 0;
    const uint8_t *pub;
    size_t pl;
    cf_err_t err = metadata(card, ref, &id, &pub, &pl, &r);
    if (err == CF_ERR_NOT_FOUND)
        return cf_card_fail(card, err, "read public key: slot %02x holds no key", ref);
    if (err != CF_OK)
        return err;
    *alg = alg_of_id(id);
    if (*alg == CF_KEYALG_UNKNOWN || cf_cert_piv_spki(pub, pl, *alg, spki, len) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "read public key: slot %02x: algorithm %02X or its key is not one "
                            "we read",
                            ref, id);
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_piv_slots(cf_card_t *card, int all, cf_key_slot_t *out, size_t cap, size_t *n)
{
    size_t count = card->p->keys == CF_KEYS_PIV_YUBIKEY ? 4 + 20 : 4;
    for (size_t i = 0; i < count; i++) {
        uint8_t ref = i < 4 ? std_slots[i] : (uint8_t)(0x82 + (i - 4));
        cf_key_slot_t s = {0};
        snprintf(s.name, sizeof(s.name), "%02x", ref);
        uint8_t *der = NULL, *spki = NULL;
        size_t dl = 0, sl = 0;
        cf_err_t err = cf_piv_cert_read(card, ref, &der, &dl);
        if (err == CF_OK) {
            s.has_cert = 1;
            s.alg = cf_cert_der_alg(der, dl);
            free(der);
        } else if (err != CF_ERR_NOT_FOUND && err != CF_ERR_BAD_RESPONSE &&
                   err != CF_ERR_UNSUPPORTED) {
            return err;
        }
        cf_key_alg_t ka = CF_KEYALG_UNKNOWN;
        err = cf_piv_public_key(card, ref, &spki, &sl, &ka);
        free(spki);
        if (err == CF_OK) {
            s.key = CF_KEY_PRESENT;
            s.alg = ka;
        } else if (err == CF_ERR_NOT_FOUND) {
            s.key = CF_KEY_ABSENT;
        } else if (err == CF_ERR_UNSUPPORTED) {
            s.key = CF_KEY_UNKNOWN;
        } else {
            return err;
        }
        if (!all && !s.has_cert && s.key != CF_KEY_PRESENT)
            continue;
        if (*n >= cap)
            return cf_card_fail(card, CF_ERR_BUFFER, "list keys: more than %zu slots", cap);
        out[(*n)++] = s;
    }
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_piv_generate(cf_card_t *card, uint8_t ref, const cf_keygen_t *g, uint8_t **spki,
                         size_t *len)
{
    if (g->alg == CF_KEYALG_UNKNOWN)
        return cf_card_fail(card, CF_ERR_ARG, "generate key: no algorithm named");
    uint8_t data[16];
    cf_wcursor w = cf_wcursor_init(data, sizeof(data));
    uint8_t inner[9];
    cf_wcursor iw = cf_wcursor_init(inner, sizeof(inner));
    uint8_t id = alg_id(g->alg);
    cf_wc_tlv(&iw, 0x80, &id, 1);
    if (g->pin_policy)
        cf_wc_tlv(&iw, 0xAA, &g->pin_policy, 1);
    if (g->touch_policy)
        cf_wc_tlv(&iw, 0xAB, &g->touch_policy, 1);
    cf_wc_tlv(&w, 0xAC, inner, iw.len);
    if (w.overflow || iw.overflow)
        return cf_card_fail(card, CF_ERR_INTERNAL, "generate key: the command does not fit");
    cf_rapdu_t r;
    cf_err_t err =
        cf_cert_apdu(card, "generate key", 0x47, 0x00, ref, data, w.len, 256, CF_CMD_WRITE, &r);
    if (err != CF_OK)
        return err;
    const uint8_t *v;
    size_t vl;
    uint8_t *pub = NULL;
    size_t pl = 0;
    if (cf_tlv_find(r.data, r.len, 0x7F49, &v, &vl) != 0 ||
        cf_cert_piv_spki(v, vl, g->alg, &pub, &pl) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "generate key: slot %02x: the card's answer holds no %s public key",
                            ref, cf_key_alg_name(g->alg));
    /* Proof where the card can tell: the slot now holds that key. */
    uint8_t *now = NULL;
    size_t nl = 0;
    cf_key_alg_t ka;
    err = cf_piv_public_key(card, ref, &now, &nl, &ka);
    if (err != CF_ERR_UNSUPPORTED &&
        (err != CF_OK || now == NULL || nl != pl || memcmp(now, pub, pl) != 0 || ka != g->alg)) {
        free(now);
        free(pub);
        return cf_card_fail(card, CF_ERR_PROOF_FAILED,
                            "generate key: slot %02x does not hold the key the card answered", ref);
    }
    free(now);
    if (spki != NULL) {
        *spki = pub;
        *len = pl;
    } else {
        free(pub);
    }
    cf_card_ok(card);
    return CF_OK;
}

/* DigestInfo prefixes (RFC 8017, 9.2 note 1). */
static int digest_info(const char *md, const uint8_t **prefix, size_t *plen)
{
    static const uint8_t sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                   0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
    static const uint8_t sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    static const uint8_t sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
    static const uint8_t sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
    if (strcmp(md, "sha1") == 0) {
        *prefix = sha1;
        *plen = sizeof(sha1);
    } else if (strcmp(md, "sha256") == 0) {
        *prefix = sha256;
        *plen = sizeof(sha256);
    } else if (strcmp(md, "sha384") == 0) {
        *prefix = sha384;
        *plen = sizeof(sha384);
    } else if (strcmp(md, "sha512") == 0) {
        *prefix = sha512;
        *plen = sizeof(sha512);
    } else {
        return -1;
    }
    return 0;
}

/* The RSA block EMSA-PKCS1-v1_5 makes of a digest, k bytes. */
int cf_cert_pkcs1_block(const char *md, const uint8_t *digest, size_t dlen, uint8_t *out, size_t k)
{
    const uint8_t *pre;
    size_t pl;
    if (digest_info(md, &pre, &pl) != 0 || pl + dlen + 11 > k)
        return -1;
    size_t ps = k - 3 - pl - dlen;
    out[0] = 0x00;
    out[1] = 0x01;
    memset(out + 2, 0xFF, ps);
    out[2 + ps] = 0x00;
    memcpy(out + 3 + ps, pre, pl);
    memcpy(out + 3 + ps + pl, digest, dlen);
    return 0;
}

cf_err_t cf_piv_sign(cf_card_t *card, uint8_t ref, cf_key_alg_t alg, const char *md,
                     const uint8_t *digest, size_t dlen, uint8_t **sig, size_t *siglen)
{
    uint8_t block[256];
    size_t bl;
    if (alg == CF_KEYALG_RSA2048) {
        bl = 256;
        if (cf_cert_pkcs1_block(md, digest, dlen, block, bl) != 0)
            return cf_card_fail(card, CF_ERR_ARG, "sign: %s is not a digest we sign with RSA", md);
    } else {
        size_t field = alg == CF_KEYALG_ECCP256 ? 32 : 48;
        bl = field;
        memset(block, 0, field);
        if (dlen >= field)
            memcpy(block, digest, field); /* ECDSA uses the leftmost bits */
        else
            memcpy(block + field - dlen, digest, dlen);
    }
    uint8_t data[16 + 256];
    cf_wcursor w = cf_wcursor_init(data, sizeof(data));
    uint8_t inner[8 + 256];
    cf_wcursor iw = cf_wcursor_init(inner, sizeof(inner));
    cf_wc_tlv(&iw, 0x82, NULL, 0);
    cf_wc_tlv(&iw, 0x81, block, bl);
    cf_wc_tlv(&w, 0x7C, inner, iw.len);
    if (w.overflow || iw.overflow)
        return cf_card_fail(card, CF_ERR_INTERNAL, "sign: the command does not fit");
    cf_rapdu_t r;
    cf_err_t err = cf_cert_apdu(card, "sign", 0x87, alg_id(alg), ref, data, w.len, 256, 0, &r);
    if (err == CF_ERR_REFUSED)
        return cf_card_fail(card, err,
                            "sign: the card refused the key of slot %02x (%04X): verify the PIN "
                            "first (slot 9c wants it right before each signature)",
                            ref, r.sw);
    if (err != CF_OK)
        return err;
    const uint8_t *v, *s;
    size_t vl, sl;
    if (cf_tlv_find(r.data, r.len, 0x7C, &v, &vl) != 0 || cf_tlv_find(v, vl, 0x82, &s, &sl) != 0 ||
        sl == 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE, "sign: the answer holds no signature");
    *sig = malloc(sl);
    if (*sig == NULL)
        return CF_ERR_NOMEM;
    memcpy(*sig, s, sl);
    *siglen = sl;
    cf_card_ok(card);
    return CF_OK;
}

/* One private number, left-padded to n bytes, as TLV tag. */
static int put_bn(cf_wcursor *w, EVP_PKEY *pk, const char *param, unsigned tag, size_t n)
{
    BIGNUM *b = NULL;
    uint8_t buf[128];
    int ok = n <= sizeof(buf) && EVP_PKEY_get_bn_param(pk, param, &b) == 1 &&
             BN_bn2binpad(b, buf, (int)n) == (int)n;
    if (ok)
        cf_wc_tlv(w, tag, buf, n);
    OPENSSL_cleanse(buf, sizeof(buf));
    BN_clear_free(b);
    return ok ? 0 : -1;
}

cf_err_t cf_piv_import(cf_card_t *card, uint8_t ref, const cf_secret_t *pkcs8,
                       const cf_keygen_t *policy)
{
    const char *what = "import key";
    const unsigned char *p = cf_secret_data(pkcs8);
    EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)cf_secret_len(pkcs8));
    if (pk == NULL)
        return cf_card_fail(card, CF_ERR_PARSE, "%s: not a private key (PKCS#8 DER)", what);
    cf_key_alg_t alg = CF_KEYALG_UNKNOWN;
    size_t field = 0;
    if (EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) == 2048) {
        alg = CF_KEYALG_RSA2048;
    } else if (EVP_PKEY_is_a(pk, "EC")) {
        int bits = EVP_PKEY_get_bits(pk);
        alg = bits == 256 ? CF_KEYALG_ECCP256 : bits == 384 ? CF_KEYALG_ECCP384 : alg;
        field = (size_t)bits / 8;
    }
    if (alg == CF_KEYALG_UNKNOWN) {
        EVP_PKEY_free(pk);
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: the card takes RSA-2048, ECC P-256 or P-384 keys only; nothing "
                            "sent",
                            what);
    }
    uint8_t data[5 * (3 + 128) + 8];
    cf_wcursor w = cf_wcursor_init(data, sizeof(data));
    int bad;
    if (alg == CF_KEYALG_RSA2048)
        bad = put_bn(&w, pk, OSSL_PKEY_PARAM_RSA_FACTOR1, 0x01, 128) ||
              put_bn(&w, pk, OSSL_PKEY_PARAM_RSA_FACTOR2, 0x02, 128) ||
              put_bn(&w, pk, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0x03, 128) ||
              put_bn(&w, pk, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0x04, 128) ||
              put_bn(&w, pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0x05, 128);
    else
        bad = put_bn(&w, pk, OSSL_PKEY_PARAM_PRIV_KEY, 0x06, field);
    if (policy != NULL && policy->pin_policy)
        cf_wc_tlv(&w, 0xAA, &policy->pin_policy, 1);
    if (policy != NULL && policy->touch_policy)
        cf_wc_tlv(&w, 0xAB, &policy->touch_policy, 1);
    /* The public key, to prove the import afterwards. */
    uint8_t *want = NULL;
    int wl = i2d_PUBKEY(pk, &want);
    EVP_PKEY_free(pk);
    cf_err_t err;
    if (bad || w.overflow || wl <= 0) {
        err = cf_card_fail(card, CF_ERR_CRYPTO, "%s: the key's numbers cannot be encoded", what);
    } else {
        cf_rapdu_t r;
        err = cf_cert_apdu(card, what, 0xFE, alg_id(alg), ref, data, w.len, 0,
                           CF_CMD_WRITE | CF_CERT_SECRET_DATA, &r);
    }
    OPENSSL_cleanse(data, sizeof(data));
    if (err == CF_OK) {
        uint8_t *now = NULL;
        size_t nl = 0;
        cf_key_alg_t ka;
        cf_err_t e = cf_piv_public_key(card, ref, &now, &nl, &ka);
        if (e != CF_OK || now == NULL || nl != (size_t)wl || memcmp(now, want, nl) != 0)
            err =
                cf_card_fail(card, CF_ERR_PROOF_FAILED,
                             "%s: slot %02x does not hold the imported key afterwards", what, ref);
        else
            cf_card_ok(card);
        free(now);
    }
    OPENSSL_free(want);
    return err;
}
