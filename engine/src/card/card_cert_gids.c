/*
 * card_cert_gids.c - keys and certificates of a GIDS card (`keys:
 * gids-minidriver`), kept as OpenSC 0.23 keeps them (docs/cards/gids.md,
 * "Container keys and certificates"):
 *   masterfile  EF A000 DO DF1F: 01, then 28-byte records dir[9] name[9]
 *               pad[2] DO(LE32) EF(LE32)
 *   cmapfile    EF A010 DO DF23: 86-byte CONTAINER_MAP_RECORDs (label in
 *               UTF-16LE, flags 01 valid 02 default, key sizes)
 *   keymap      EF A000 DO DF20: 01, then 12-byte records per container
 *   certificate mscp/kxcNN (or kscNN) in EF A010, from DO DF24 up, holding
 *               01 00 <DER length LE16> <zlib>
 *   key         key file B0 <81 + index>; MSE 00 22 41 B6 (sign), PSO
 *               00 2A 9E 9A; public key 00 CB 3F FF 70(84 ref A5(7F49 80))
 * The minidriver files are ordinary data objects the host rewrites whole;
 * every rewrite is read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card/card_cert_int.h"
#include "util/cursor.h"

#define EF_MSCP 0xA000
#define EF_CARDAPPS 0xA010
#define DO_MASTERFILE 0xDF1F
#define DO_KEYMAP 0xDF20
#define DO_CARDCF 0xDF22
#define DO_CMAPFILE 0xDF23
#define DO_FIRST_CERT 0xDF24
#define DO_LAST 0xDFFF
#define MF_MAX (1 + CF_GIDS_MAX_ENTRIES * 28)

/* Read DO tag of EF ef into buf; *len 0 when the DO is absent. */
cf_err_t cf_gids_get_do(cf_card_t *card, const char *what, uint16_t ef, uint16_t tag, uint8_t *buf,
                        size_t cap, size_t *len)
{
    uint8_t cmd[4] = {0x5C, 0x02, (uint8_t)(tag >> 8), (uint8_t)tag};
    cf_rapdu_t r;
    *len = 0;
    cf_err_t err = cf_cert_apdu(card, what, 0xCB, (uint8_t)(ef >> 8), (uint8_t)ef, cmd, sizeof(cmd),
                                256, 0, &r);
    if (err == CF_ERR_NOT_FOUND) {
        cf_card_ok(card);
        return CF_OK;
    }
    if (err != CF_OK)
        return err;
    const uint8_t *v;
    size_t vl;
    if (cf_tlv_find(r.data, r.len, tag, &v, &vl) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE, "%s: DO %04X: malformed answer", what, tag);
    if (vl > cap)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE, "%s: DO %04X: %zu bytes, more than %zu",
                            what, tag, vl, cap);
    memcpy(buf, v, vl);
    *len = vl;
    return CF_OK;
}

static cf_err_t put_do(cf_card_t *card, const char *what, uint16_t ef, uint16_t tag,
                       const uint8_t *val, size_t len)
{
    size_t cap = len + 8;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return CF_ERR_NOMEM;
    cf_wcursor w = cf_wcursor_init(buf, cap);
    cf_wc_tlv(&w, tag, val, len);
    cf_rapdu_t r;
    cf_err_t err = cf_cert_apdu(card, what, 0xDB, (uint8_t)(ef >> 8), (uint8_t)ef, buf, w.len, 0,
                                CF_CMD_WRITE, &r);
    free(buf);
    return err;
}

/* Write a DO and prove it by reading it back. */
cf_err_t cf_gids_put_do_proven(cf_card_t *card, const char *what, uint16_t ef, uint16_t tag,
                               const uint8_t *val, size_t len)
{
    cf_err_t err = put_do(card, what, ef, tag, val, len);
    if (err != CF_OK)
        return err;
    uint8_t *back = malloc(len + 1);
    size_t bl = 0;
    if (back == NULL)
        return CF_ERR_NOMEM;
    err = cf_gids_get_do(card, what, ef, tag, back, len + 1, &bl);
    int same = err == CF_OK && bl == len && (len == 0 || memcmp(back, val, len) == 0);
    free(back);
    if (!same)
        return cf_card_fail(card, CF_ERR_PROOF_FAILED, "%s: DO %04X does not read back as written",
                            what, tag);
    return CF_OK;
}

/* Tell the Windows minidriver (and OpenSC) that something changed, as
 * OpenSC does after each change: cardcf (DO DF22 of EF A010, 6 bytes:
 * version, PIN freshness, containers freshness LE16, files freshness
 * LE16) gets its counters incremented. A card without a cardcf is left
 * alone. */
cf_err_t cf_gids_bump_cardcf(cf_card_t *card, const char *what, int files, int containers)
{
    uint8_t cf[8];
    size_t len = 0;
    cf_err_t err = cf_gids_get_do(card, what, EF_CARDAPPS, DO_CARDCF, cf, sizeof(cf), &len);
    if (err != CF_OK || len != 6)
        return err;
    if (containers) {
        unsigned v = (unsigned)(cf[2] | (cf[3] << 8)) + 1u;
        cf[2] = (uint8_t)v;
        cf[3] = (uint8_t)(v >> 8);
    }
    if (files) {
        unsigned v = (unsigned)(cf[4] | (cf[5] << 8)) + 1u;
        cf[4] = (uint8_t)v;
        cf[5] = (uint8_t)(v >> 8);
    }
    return cf_gids_put_do_proven(card, what, EF_CARDAPPS, DO_CARDCF, cf, 6);
}

struct gids_view {
    uint8_t mf[MF_MAX];
    size_t mf_len;
    struct cf_gids_entry e[CF_GIDS_MAX_ENTRIES];
    size_t n_e;
    uint8_t cmap[CF_GIDS_MAX_CONTAINERS * CF_GIDS_CMAP_RECORD];
    size_t cmap_len;
    struct cf_gids_cmap c[CF_GIDS_MAX_CONTAINERS];
    size_t n_c;
};

static cf_err_t load_view(cf_card_t *card, const char *what, struct gids_view *v)
{
    memset(v, 0, sizeof(*v));
    cf_err_t err =
        cf_gids_get_do(card, what, EF_MSCP, DO_MASTERFILE, v->mf, sizeof(v->mf), &v->mf_len);
    if (err != CF_OK)
        return err;
    if (cf_gids_masterfile_parse(v->mf, v->mf_len, v->e, CF_GIDS_MAX_ENTRIES, &v->n_e) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "%s: the card's masterfile is malformed (not initialised?)", what);
    err = cf_gids_get_do(card, what, EF_CARDAPPS, DO_CMAPFILE, v->cmap, sizeof(v->cmap),
                         &v->cmap_len);
    if (err != CF_OK)
        return err;
    if (cf_gids_cmap_parse(v->cmap, v->cmap_len, v->c, CF_GIDS_MAX_CONTAINERS, &v->n_c) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE, "%s: the card's cmapfile is malformed",
                            what);
    return CF_OK;
}

/* The masterfile entry of container idx's certificate, or -1. */
static int cert_entry(const struct gids_view *v, unsigned idx)
{
    char kx[8], ks[8], kxd[8], ksd[8];
    snprintf(kx, sizeof(kx), "kxc%02X", idx);
    snprintf(ks, sizeof(ks), "ksc%02X", idx);
    snprintf(kxd, sizeof(kxd), "kxc%02u", idx);
    snprintf(ksd, sizeof(ksd), "ksc%02u", idx);
    for (size_t i = 0; i < v->n_e; i++)
        if (strcmp(v->e[i].dir, "mscp") == 0 &&
            (strcmp(v->e[i].name, kx) == 0 || strcmp(v->e[i].name, ks) == 0 ||
             strcmp(v->e[i].name, kxd) == 0 || strcmp(v->e[i].name, ksd) == 0))
            return (int)i;
    return -1;
}

static int valid(const struct gids_view *v, unsigned idx)
{
    return idx < v->n_c && (v->c[idx].flags & 0x01);
}

cf_err_t cf_gids_slots(cf_card_t *card, cf_key_slot_t *out, size_t cap, size_t *n)
{
    struct gids_view *v = malloc(sizeof(*v));
    if (v == NULL)
        return CF_ERR_NOMEM;
    cf_err_t err = load_view(card, "list keys", v);
    for (size_t i = 0; err == CF_OK && i < v->n_c; i++) {
        int has_cert = cert_entry(v, (unsigned)i) >= 0;
        if (!valid(v, (unsigned)i) && !has_cert)
            continue;
        if (*n >= cap) {
            err = cf_card_fail(card, CF_ERR_BUFFER, "list keys: more than %zu containers", cap);
            break;
        }
        cf_key_slot_t *s = &out[(*n)++];
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%u", (unsigned)(i % CF_GIDS_MAX_CONTAINERS));
        s->has_cert = has_cert;
        s->key = valid(v, (unsigned)i) ? CF_KEY_PRESENT : CF_KEY_ABSENT;
        unsigned bits = v->c[i].kx_bits ? v->c[i].kx_bits : v->c[i].sig_bits;
        s->alg = bits == 2048 ? CF_KEYALG_RSA2048 : CF_KEYALG_UNKNOWN;
        s->is_default = (v->c[i].flags & 0x02) != 0;
        snprintf(s->label, sizeof(s->label), "%s", v->c[i].label);
    }
    free(v);
    if (err == CF_OK)
        cf_card_ok(card);
    return err;
}

cf_err_t cf_gids_cert_read(cf_card_t *card, unsigned idx, uint8_t **der, size_t *len)
{
    const char *what = "read certificate";
    struct gids_view *v = malloc(sizeof(*v));
    if (v == NULL)
        return CF_ERR_NOMEM;
    cf_err_t err = load_view(card, what, v);
    int e = err == CF_OK ? cert_entry(v, idx) : -1;
    if (err == CF_OK && e < 0)
        err =
            cf_card_fail(card, CF_ERR_NOT_FOUND, "%s: container %u has no certificate", what, idx);
    uint16_t ef = e >= 0 ? v->e[e].ef : 0, tag = e >= 0 ? v->e[e].tag : 0;
    free(v);
    if (err != CF_OK)
        return err;
    uint8_t *raw = malloc(CF_CERT_MAX_DER + 8);
    size_t rl = 0;
    if (raw == NULL)
        return CF_ERR_NOMEM;
    err = cf_gids_get_do(card, what, ef, tag, raw, CF_CERT_MAX_DER + 8, &rl);
    if (err == CF_OK && rl == 0)
        err = cf_card_fail(card, CF_ERR_NOT_FOUND,
                           "%s: container %u: the masterfile names DO %04X, which is empty", what,
                           idx, tag);
    if (err == CF_OK &&
        (cf_gids_cert_inflate(raw, rl, der, len) != 0 || cf_cert_der_check(*der, *len) != 0)) {
        free(*der);
        *der = NULL;
        *len = 0;
        err = cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                           "%s: container %u: DO %04X is not a compressed DER certificate", what,
                           idx, tag);
    }
    free(raw);
    if (err == CF_OK)
        cf_card_ok(card);
    return err;
}

/* Rewrite the masterfile with v's entries. */
static cf_err_t write_masterfile(cf_card_t *card, const char *what, const struct gids_view *v)
{
    uint8_t mf[MF_MAX];
    size_t len = 0;
    mf[len++] = 0x01;
    for (size_t i = 0; i < v->n_e; i++) {
        uint8_t *r = mf + len;
        memset(r, 0, 28);
        memcpy(r, v->e[i].dir, strlen(v->e[i].dir));
        memcpy(r + 9, v->e[i].name, strlen(v->e[i].name));
        r[20] = (uint8_t)v->e[i].tag;
        r[21] = (uint8_t)(v->e[i].tag >> 8);
        r[24] = (uint8_t)v->e[i].ef;
        r[25] = (uint8_t)(v->e[i].ef >> 8);
        len += 28;
    }
    return cf_gids_put_do_proven(card, what, EF_MSCP, DO_MASTERFILE, mf, len);
}

cf_err_t cf_gids_cert_write(cf_card_t *card, unsigned idx, const uint8_t *der, size_t len)
{
    const char *what = "write certificate";
    struct gids_view *v = malloc(sizeof(*v));
    if (v == NULL)
        return CF_ERR_NOMEM;
    uint8_t *z = NULL;
    size_t zl = 0;
    cf_err_t err = load_view(card, what, v);
    if (err == CF_OK && !valid(v, idx))
        err = cf_card_fail(card, CF_ERR_INVALID,
                           "%s: container %u holds no key: a GIDS certificate belongs to a key "
                           "(nothing sent)",
                           what, idx);
    if (err == CF_OK && cf_gids_cert_deflate(der, len, &z, &zl) != 0)
        err = cf_card_fail(card, CF_ERR_INTERNAL, "%s: the certificate cannot be compressed", what);
    int e = err == CF_OK ? cert_entry(v, idx) : -1;
    uint16_t tag = 0;
    if (err == CF_OK && e >= 0) {
        tag = v->e[e].tag; /* replace in place */
    } else if (err == CF_OK) {
        for (uint16_t t = DO_FIRST_CERT; t <= DO_LAST && tag == 0; t++) {
            int used = 0;
            for (size_t i = 0; i < v->n_e; i++)
                used |= v->e[i].ef == EF_CARDAPPS && v->e[i].tag == t;
            if (!used)
                tag = t;
        }
        if (v->n_e >= CF_GIDS_MAX_ENTRIES || tag == 0)
            err = cf_card_fail(card, CF_ERR_CARD_STATUS,
                               "%s: the masterfile is full; delete a certificate first", what);
    }
    if (err == CF_OK)
        err = cf_gids_put_do_proven(card, what, e >= 0 ? v->e[e].ef : EF_CARDAPPS, tag, z, zl);
    if (err == CF_OK && e < 0) {
        struct cf_gids_entry *ne = &v->e[v->n_e++];
        memset(ne, 0, sizeof(*ne));
        snprintf(ne->dir, sizeof(ne->dir), "mscp");
        snprintf(ne->name, sizeof(ne->name), "%s%02X", v->c[idx].kx_bits ? "kxc" : "ksc", idx);
        ne->tag = tag;
        ne->ef = EF_CARDAPPS;
        err = write_masterfile(card, what, v);
    }
    if (err == CF_OK)
        err = cf_gids_bump_cardcf(card, what, 1, 0);
    free(z);
    free(v);
    if (err == CF_OK)
        cf_card_ok(card);
    return err;
}

static cf_err_t delete_key_file(cf_card_t *card, const char *what, unsigned idx,
                                struct gids_view *v)
{
    uint8_t fid[2] = {0xB0, (uint8_t)(0x81 + idx)};
    cf_rapdu_t r;
    cf_err_t err = cf_cert_apdu(card, what, 0xA4, 0x00, 0x0C, fid, 2, 0, 0, &r);
    if (err == CF_OK)
        err = cf_cert_apdu(card, what, 0xE4, 0x00, 0x00, NULL, 0, 0, CF_CMD_WRITE, &r);
    if (err != CF_OK)
        return err;
    /* The container's cmapfile record goes (zeroed, as OpenSC does). */
    memset(v->cmap + idx * CF_GIDS_CMAP_RECORD, 0, CF_GIDS_CMAP_RECORD);
    err = cf_gids_put_do_proven(card, what, EF_CARDAPPS, DO_CMAPFILE, v->cmap, v->cmap_len);
    if (err != CF_OK)
        return err;
    /* keymap record: zeroed with key file FF FF */
    uint8_t km[1 + CF_GIDS_MAX_CONTAINERS * 12 + 12];
    size_t kl = 0;
    err = cf_gids_get_do(card, what, EF_MSCP, DO_KEYMAP, km, sizeof(km), &kl);
    if (err == CF_OK && kl >= 1 + (idx + 1) * 12) {
        uint8_t *rec = km + 1 + idx * 12;
        memset(rec, 0, 12);
        rec[6] = 0xFF;
        rec[7] = 0xFF;
        rec[8] = 0xFF;
        rec[9] = 0xFF;
        err = cf_gids_put_do_proven(card, what, EF_MSCP, DO_KEYMAP, km, kl);
    }
    /* Proof: the key file is gone. */
    if (err == CF_OK) {
        cf_err_t e = cf_cert_apdu(card, what, 0xA4, 0x00, 0x0C, fid, 2, 0, 0, &r);
        if (e != CF_ERR_NOT_FOUND)
            err = cf_card_fail(card, CF_ERR_PROOF_FAILED, "%s: key file B0%02X is still there",
                               what, fid[1]);
    }
    return err;
}

cf_err_t cf_gids_delete(cf_card_t *card, unsigned idx, int with_key)
{
    const char *what = with_key ? "delete key and certificate" : "delete certificate";
    struct gids_view *v = malloc(sizeof(*v));
    if (v == NULL)
        return CF_ERR_NOMEM;
    cf_err_t err = load_view(card, what, v);
    int e = err == CF_OK ? cert_entry(v, idx) : -1;
    if (err == CF_OK && e < 0 && !(with_key && valid(v, idx)))
        err = cf_card_fail(card, CF_ERR_NOT_FOUND,
                           "%s: container %u has nothing to delete; nothing sent", what, idx);
    if (err == CF_OK && e >= 0) {
        struct cf_gids_entry gone = v->e[e];
        memmove(&v->e[e], &v->e[e + 1], (v->n_e - (size_t)e - 1) * sizeof(v->e[0]));
        v->n_e--;
        err = write_masterfile(card, what, v);
        /* An emptied DO, written empty again, is removed (GIDS). */
        if (err == CF_OK)
            err = put_do(card, what, gone.ef, gone.tag, NULL, 0);
        if (err == CF_OK)
            err = put_do(card, what, gone.ef, gone.tag, NULL, 0);
    }
    int key = with_key && valid(v, idx);
    if (err == CF_OK && key)
        err = delete_key_file(card, what, idx, v);
    if (err == CF_OK)
        err = cf_gids_bump_cardcf(card, what, e >= 0, key);
    free(v);
    if (err == CF_OK)
        cf_card_ok(card);
    return err;
}

cf_err_t cf_gids_set_default(cf_card_t *card, unsigned idx)
{
    const char *what = "set default container";
    struct gids_view *v = malloc(sizeof(*v));
    if (v == NULL)
        return CF_ERR_NOMEM;
    cf_err_t err = load_view(card, what, v);
    if (err == CF_OK && !valid(v, idx))
        err = cf_card_fail(card, CF_ERR_NOT_FOUND, "%s: container %u holds no key; nothing sent",
                           what, idx);
    if (err == CF_OK) {
        for (size_t i = 0; i < v->n_c; i++) {
            uint8_t *flags = v->cmap + i * CF_GIDS_CMAP_RECORD + 80;
            *flags = (uint8_t)(i == idx ? (*flags | 0x02) : (*flags & ~0x02));
        }
        err = cf_gids_put_do_proven(card, what, EF_CARDAPPS, DO_CMAPFILE, v->cmap, v->cmap_len);
    }
    if (err == CF_OK)
        err = cf_gids_bump_cardcf(card, what, 0, 1);
    free(v);
    if (err == CF_OK)
        cf_card_ok(card);
    return err;
}

cf_err_t cf_gids_public_key(cf_card_t *card, unsigned idx, uint8_t **spki, size_t *len)
{
    uint8_t cmd[] = {0x70, 0x08, 0x84, 0x01, (uint8_t)(0x81 + idx), 0xA5, 0x03, 0x7F, 0x49, 0x80};
    cf_rapdu_t r;
    cf_err_t err =
        cf_cert_apdu(card, "read public key", 0xCB, 0x3F, 0xFF, cmd, sizeof(cmd), 256, 0, &r);
    if (err == CF_ERR_NOT_FOUND)
        return cf_card_fail(card, err, "read public key: container %u holds no key", idx);
    if (err != CF_OK)
        return err;
    const uint8_t *v;
    size_t vl;
    if (cf_tlv_find(r.data, r.len, 0x7F49, &v, &vl) != 0 ||
        cf_cert_piv_spki(v, vl, CF_KEYALG_RSA2048, spki, len) != 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE,
                            "read public key: container %u: not an RSA-2048 public key", idx);
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_gids_sign(cf_card_t *card, unsigned idx, const char *md, const uint8_t *digest,
                      size_t dlen, uint8_t **sig, size_t *siglen)
{
    /* RSA-2048 padded by the card (algorithm 57: PKCS#1 v1.5, 2048). The
     * card pads the DigestInfo: send the block without its padding. */
    uint8_t block[256];
    if (cf_cert_pkcs1_block(md, digest, dlen, block, sizeof(block)) != 0)
        return cf_card_fail(card, CF_ERR_ARG, "sign: %s is not a digest we sign", md);
    size_t start = 2;
    while (start < sizeof(block) && block[start] == 0xFF)
        start++;
    start++; /* the 00 separator */
    uint8_t mse[] = {0x80, 0x01, 0x57, 0x84, 0x01, (uint8_t)(0x81 + idx)};
    cf_rapdu_t r;
    cf_err_t err = cf_cert_apdu(card, "sign (MSE)", 0x22, 0x41, 0xB6, mse, sizeof(mse), 0, 0, &r);
    if (err == CF_OK)
        err = cf_cert_apdu(card, "sign", 0x2A, 0x9E, 0x9A, block + start, sizeof(block) - start,
                           256, 0, &r);
    if (err != CF_OK)
        return err;
    if (r.len == 0)
        return cf_card_fail(card, CF_ERR_BAD_RESPONSE, "sign: the answer holds no signature");
    *sig = malloc(r.len);
    if (*sig == NULL)
        return CF_ERR_NOMEM;
    memcpy(*sig, r.data, r.len);
    *siglen = r.len;
    cf_card_ok(card);
    return CF_OK;
}
