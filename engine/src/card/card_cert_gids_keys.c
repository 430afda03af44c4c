/*
 * card_cert_gids_keys.c - a new key in a GIDS container, generated on the
 * card or imported, laid out as OpenSC 0.23 lays it out (docs/cards/gids.md,
 * "Container keys and certificates"), so OpenSC, the minidriver and this
 * tool all see the same container:
 *   1. CREATE FILE B0<81 + index> (a key-exchange RSA-2048 key file whose
 *      access conditions are the PIN's: 8C 05 8F 10 10 10 00), ACTIVATE;
 *   2. GENERATE 00 47 00 00 AC {80 07, 83 ref}, or PUT DATA 00 DB 3F FF
 *      70 {84 ref, A5 {83 02, 84 00, 87 RSAPrivateKey}} (chained);
 *   3. the public key read back (00 CB 3F FF 70(84 ref A5(7F49 80)));
 *   4. the container's cmapfile record (label, valid, default when no
 *      other container is, key-exchange size 2048) and keymap record.
 * Steps 1-3 touch only the new key file: a failure there leaves the
 * minidriver files as they were.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "card/card_cert_int.h"
#include "util/cursor.h"

#define EF_MSCP 0xA000
#define EF_CARDAPPS 0xA010
#define DO_KEYMAP 0xDF20
#define DO_CMAPFILE 0xDF23
#define ALG_RSA2048 0x07

/* The first container whose cmapfile record is not valid (or a new one). */
static cf_err_t free_container(cf_card_t *card, const char *what, uint8_t *cmap, size_t *clen,
                               unsigned *idx, int *has_default)
{
    cf_err_t err = cf_gids_get_do(card, what, EF_CARDAPPS, DO_CMAPFILE, cmap,
                                  CF_GIDS_MAX_CONTAINERS * CF_GIDS_CMAP_RECORD, clen);
    if (err != CF_OK)
        return err;
    struct cf_gids_cmap c[CF_GIDS_MAX_CONTAINERS];
    size_t n = 0;
    if (cf_gids_cmap_parse(cmap, *clen, c, CF_GIDS_MAX_CONTAINERS, &n) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE, "%s: the card's cmapfile is malformed",
                            what);
    *has_default = 0;
    *idx = (unsigned)n;
    for (size_t i = n; i-- > 0;) {
        if (!(c[i].flags & 0x01))
            *idx = (unsigned)i;
        else if (c[i].flags & 0x02)
            *has_default = 1;
    }
    if (*idx >= CF_GIDS_MAX_CONTAINERS)
        return cf_card_fail(card, CF_ERR_CARD_STATUS,
                            "%s: every one of the %d containers is taken: delete one first", what,
                            CF_GIDS_MAX_CONTAINERS);
    return CF_OK;
}

static cf_err_t create_key_file(cf_card_t *card, const char *what, uint8_t ref)
{
    uint8_t fcp[2 + 0x47];
    cf_wcursor w = cf_wcursor_init(fcp, sizeof(fcp));
    uint8_t crts[0x37];
    cf_wcursor cw = cf_wcursor_init(crts, sizeof(crts));
    static const struct {
        uint8_t tag, alg;
    } crt[] = {{0xB8, 0x07}, {0xB8, 0x87}, {0xB8, 0x47}, {0xB6, 0x17}, {0xB6, 0x57}};
    for (size_t i = 0; i < sizeof(crt) / sizeof(crt[0]); i++) {
        uint8_t inner[9] = {0x80, 0x01, crt[i].alg, 0x83, 0x01, ref, 0x95, 0x01, 0x40};
        cf_wc_tlv(&cw, crt[i].tag, inner, sizeof(inner));
    }
    uint8_t body[0x47];
    cf_wcursor bw = cf_wcursor_init(body, sizeof(body));
    static const uint8_t type[] = {0x18};
    uint8_t fid[2] = {0xB0, ref};
    static const uint8_t acl[] = {0x8F, 0x10, 0x10, 0x10, 0x00};
    cf_wc_tlv(&bw, 0x82, type, 1);
    cf_wc_tlv(&bw, 0x83, fid, 2);
    cf_wc_tlv(&bw, 0x8C, acl, sizeof(acl));
    cf_wc_tlv(&bw, 0xA5, crts, cw.len);
    cf_wc_tlv(&w, 0x62, body, bw.len);
    if (w.overflow || bw.overflow || cw.overflow)
        return cf_card_fail(card, CF_ERR_INTERNAL, "%s: the key file template does not fit", what);
    cf_rapdu_t r;
    cf_err_t err = cf_cert_apdu(card, what, 0xE0, 0x00, 0x00, fcp, w.len, 0, CF_CMD_WRITE, &r);
    if (err == CF_OK)
        err = cf_cert_apdu(card, what, 0x44, 0x00, 0x00, NULL, 0, 0, CF_CMD_WRITE, &r);
    return err;
}

/* Record the new container in the cmapfile and the keymap. */
static cf_err_t record_container(cf_card_t *card, const char *what, unsigned idx, uint8_t *cmap,
                                 size_t clen, int has_default, const char *label)
{
    size_t need = (idx + 1) * CF_GIDS_CMAP_RECORD;
    if (need > clen) {
        memset(cmap + clen, 0, need - clen);
        clen = need;
    }
    uint8_t *rec = cmap + idx * CF_GIDS_CMAP_RECORD;
    memset(rec, 0, CF_GIDS_CMAP_RECORD);
    char def[24];
    snprintf(def, sizeof(def), "cardforge-%u", idx);
    const char *l = label && label[0] ? label : def;
    for (size_t i = 0; i < 39 && l[i] != 0; i++)
        rec[2 * i] = (uint8_t)((unsigned char)l[i] < 0x80 ? l[i] : '?');
    rec[80] = (uint8_t)(has_default ? 0x01 : 0x03);
    rec[84] = 0x00; /* key exchange key: 2048 bits, little-endian */
    rec[85] = 0x08;
    cf_err_t err = cf_gids_put_do_proven(card, what, EF_CARDAPPS, DO_CMAPFILE, cmap, clen);
    if (err != CF_OK)
        return err;
    uint8_t km[1 + CF_GIDS_MAX_CONTAINERS * 12];
    size_t kl = 0;
    err = cf_gids_get_do(card, what, EF_MSCP, DO_KEYMAP, km, sizeof(km), &kl);
    if (err != CF_OK)
        return err;
    if (kl == 0 || (kl - 1) % 12 != 0) {
        km[0] = 0x01;
        kl = 1;
    }
    while (kl < 1 + (idx + 1) * 12) {
        memset(km + kl, 0, 12);
        km[kl + 6] = km[kl + 7] = km[kl + 8] = km[kl + 9] = 0xFF; /* empty: no key file */
        kl += 12;
    }
    uint8_t *k = km + 1 + idx * 12;
    static const uint8_t tail[] = {0xFF, 0xFF, 0x00, 0x00};
    uint8_t r[12] = {0x01, 0x00, 0x00, 0x00, ALG_RSA2048, 0x9A, (uint8_t)(0x81 + idx), 0xB0};
    memcpy(r + 8, tail, sizeof(tail));
    memcpy(k, r, 12);
    return cf_gids_put_do_proven(card, what, EF_MSCP, DO_KEYMAP, km, kl);
}

/* Make the key file, run put_key, check the public key, record it. */
static cf_err_t new_container(cf_card_t *card, const char *what, const char *label,
                              cf_err_t (*put_key)(cf_card_t *, uint8_t, const void *),
                              const void *ctx, const uint8_t *want_spki, size_t want_len,
                              uint8_t **spki, size_t *len, char *used)
{
    uint8_t *cmap = malloc(CF_GIDS_MAX_CONTAINERS * CF_GIDS_CMAP_RECORD);
    if (cmap == NULL)
        return CF_ERR_NOMEM;
    size_t clen = 0;
    unsigned idx = 0;
    int has_default = 0;
    cf_err_t err = free_container(card, what, cmap, &clen, &idx, &has_default);
    uint8_t ref = (uint8_t)(0x81 + idx);
    if (err == CF_OK)
        err = create_key_file(card, what, ref);
    if (err == CF_OK)
        err = put_key(card, ref, ctx);
    uint8_t *pub = NULL;
    size_t pl = 0;
    if (err == CF_OK)
        err = cf_gids_public_key(card, idx, &pub, &pl);
    if (err == CF_OK && want_spki != NULL && (pl != want_len || memcmp(pub, want_spki, pl) != 0))
        err = cf_card_fail(card, CF_ERR_PROOF_FAILED,
                           "%s: key file B0%02X does not hold the imported key", what, ref);
    if (err == CF_OK)
        err = record_container(card, what, idx, cmap, clen, has_default, label);
    if (err == CF_OK)
        err = cf_gids_bump_cardcf(card, what, 0, 1);
    free(cmap);
    if (err != CF_OK) {
        free(pub);
        return err;
    }
    if (used != NULL)
        snprintf(used, CF_CERT_SLOT_NAME, "%u", idx);
    if (spki != NULL) {
        *spki = pub;
        *len = pl;
    } else {
        free(pub);
    }
    cf_card_ok(card);
    return CF_OK;
}

static cf_err_t generate_in(cf_card_t *card, uint8_t ref, const void *ctx)
{
    (void)ctx;
    uint8_t data[] = {0xAC, 0x06, 0x80, 0x01, ALG_RSA2048, 0x83, 0x01, ref};
    cf_rapdu_t r;
    return cf_cert_apdu(card, "generate key", 0x47, 0x00, 0x00, data, sizeof(data), 0, CF_CMD_WRITE,
                        &r);
}

cf_err_t cf_gids_key_generate(cf_card_t *card, const cf_keygen_t *g, uint8_t **spki, size_t *len,
                              char *used)
{
    if (g->alg != CF_KEYALG_RSA2048)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "generate key: a GIDS container takes RSA-2048 keys (as OpenSC "
                            "makes them); nothing sent");
    return new_container(card, "generate key", g->label, generate_in, NULL, NULL, 0, spki, len,
                         used);
}

struct import_ctx {
    const uint8_t *der; /* RSAPrivateKey (a secret) */
    size_t len;
};

static cf_err_t import_in(cf_card_t *card, uint8_t ref, const void *ctx)
{
    const struct import_ctx *ic = ctx;
    size_t cap = ic->len + 32;
    uint8_t *buf = malloc(cap), *a5 = malloc(cap);
    if (buf == NULL || a5 == NULL) {
        free(buf);
        free(a5);
        return CF_ERR_NOMEM;
    }
    cf_wcursor aw = cf_wcursor_init(a5, cap);
    static const uint8_t rsa[] = {0x02}, plain[] = {0x00};
    cf_wc_tlv(&aw, 0x83, rsa, 1);
    cf_wc_tlv(&aw, 0x84, plain, 1);
    cf_wc_tlv(&aw, 0x87, ic->der, ic->len);
    cf_wcursor w = cf_wcursor_init(buf, cap);
    /* 70 { 84 ref, A5 { .. } } */
    uint8_t head[8];
    cf_wcursor hw = cf_wcursor_init(head, sizeof(head));
    cf_wc_u8(&hw, 0xA5);
    cf_wc_berlen(&hw, aw.len);
    cf_wc_u8(&w, 0x70);
    cf_wc_berlen(&w, 3 + hw.len + aw.len);
    uint8_t r84[3] = {0x84, 0x01, ref};
    cf_wc_bytes(&w, r84, 3);
    cf_wc_bytes(&w, head, hw.len);
    cf_wc_bytes(&w, a5, aw.len);
    cf_err_t err;
    if (w.overflow || aw.overflow) {
        err = cf_card_fail(card, CF_ERR_INTERNAL, "import key: the command does not fit");
    } else {
        cf_rapdu_t r;
        err = cf_cert_apdu(card, "import key", 0xDB, 0x3F, 0xFF, buf, w.len, 0,
                           CF_CMD_WRITE | CF_CERT_SECRET_DATA, &r);
    }
    OPENSSL_cleanse(buf, cap);
    OPENSSL_cleanse(a5, cap);
    free(buf);
    free(a5);
    return err;
}

cf_err_t cf_gids_key_import(cf_card_t *card, const cf_secret_t *pkcs8, const char *label,
                            char *used)
{
    const char *what = "import key";
    const unsigned char *p = cf_secret_data(pkcs8);
    EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)cf_secret_len(pkcs8));
    if (pk == NULL)
        return cf_card_fail(card, CF_ERR_PARSE, "%s: not a private key (PKCS#8 DER)", what);
    if (!EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) != 2048) {
        EVP_PKEY_free(pk);
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: a GIDS container takes RSA-2048 keys only; nothing sent", what);
    }
    unsigned char *der = NULL, *pub = NULL;
    int dl = i2d_PrivateKey(pk, &der); /* RSA: the PKCS#1 RSAPrivateKey */
    int pl = i2d_PUBKEY(pk, &pub);
    EVP_PKEY_free(pk);
    cf_err_t err;
    if (dl <= 0 || pl <= 0) {
        err = cf_card_fail(card, CF_ERR_CRYPTO, "%s: the key cannot be encoded", what);
    } else {
        struct import_ctx ic = {der, (size_t)dl};
        err = new_container(card, what, label, import_in, &ic, pub, (size_t)pl, NULL, NULL, used);
    }
    if (der != NULL)
        OPENSSL_clear_free(der, (size_t)dl);
    OPENSSL_free(pub);
    return err;
}
