/*
 * gids.c - the gids virtual card: a Microsoft GIDS v2 card as OpenSC 0.23
 * speaks it, standing in for the Gemalto .NET / IDPrime "admin-key card"
 * of the Windows minidriver (user PIN, 24-byte 3DES admin key, offline
 * challenge-response unblock).
 *
 * This file owns the card's identity (ATR, AID, FCI), its two factory
 * states, the volatile security state, SELECT and the command dispatch; the
 * other gids_*.c files each own one group of commands (see gids_int.h).
 * The GIDS application is the only one on the card and is current from
 * power-on, as on a card whose default application is GIDS; an explicit
 * SELECT of it still resets the security state, as a re-selection does on
 * a real card. Every foreign probe (other AIDs, paths) is answered with an
 * error, never 9000, so OpenSC's earlier drivers pass the card on to the
 * GIDS driver. See docs/cards/gids.md.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "simcard/gids_int.h"

/* 3B 8B 80 01: T=0 and T=1 offered, 11 historical bytes: category 80, then
 * compact TLV F9 = the GIDS application identifier (RID + PIX prefix). */
static const uint8_t gids_atr_bytes[] = {0x3b, 0x8b, 0x80, 0x01, 0x80, 0xf9, 0xa0, 0x00,
                                         0x00, 0x03, 0x97, 0x42, 0x54, 0x46, 0x59, 0x4e};

/* GIDS v2 application identifier; clients select by its first 9 bytes. */
static const uint8_t gids_aid[] = {0xa0, 0x00, 0x00, 0x03, 0x97, 0x42,
                                   0x54, 0x46, 0x59, 0x02, 0x01};
#define GIDS_AID_PREFIX 9

/* FCI: application template 61 {4F AID, 73 {40 01 C0}}: tag 40 lists the
 * admin authentication mechanisms, C0 = mutual (80) and external (40). */
static const uint8_t gids_fci[] = {0x61, 0x12, 0x4f, 0x0b, 0xa0, 0x00, 0x00, 0x03, 0x97, 0x42,
                                   0x54, 0x46, 0x59, 0x02, 0x01, 0x73, 0x03, 0x40, 0x01, 0xc0};

/* FMD: PIN usage policy, as the reference GIDS applet answers it. */
static const uint8_t gids_fmd[] = {0x64, 0x09, 0x5f, 0x2f, 0x01, 0x60,
                                   0x7f, 0x65, 0x02, 0x80, 0x00};

/* ---- the gemalto factory state: the file system gids-tool -X builds ---- */

/* FCPs of the EFs -X creates, byte for byte (docs/cards/gids.md). */
#define DO_EF_FCP(lo, put, get)                                                                    \
    {                                                                                              \
        0x62, 0x0c, 0x82, 0x01, 0x39, 0x83, 0x02, 0xa0, (lo), 0x8c, 0x03, 0x03, (put), (get)       \
    }
static const uint8_t fcp_do_efs[6][14] = {
    DO_EF_FCP(0x00, 0x30, 0x00), DO_EF_FCP(0x10, 0x30, 0x00), DO_EF_FCP(0x11, 0x30, 0xff),
    DO_EF_FCP(0x12, 0x20, 0x00), DO_EF_FCP(0x13, 0x30, 0x30), DO_EF_FCP(0x14, 0x20, 0x20),
};
static const uint8_t fcp_admin_key[] = {0x62, 0x1a, 0x82, 0x01, 0x18, 0x83, 0x02, 0xb0, 0x80, 0x8c,
                                        0x04, 0x87, 0x00, 0x20, 0xff, 0xa5, 0x0b, 0xa4, 0x09, 0x80,
                                        0x01, 0x02, 0x83, 0x01, 0x80, 0x95, 0x01, 0xc0};

/* The minidriver's file table (masterfile, DO DF1F in EF A000): byte 01,
 * then 28-byte records dir[9] name[9] pad[2] DO(LE32) EF(LE32). */
struct mf_record {
    const char *dir, *name;
    uint16_t dobj, ef;
};
static const struct mf_record mf_records[] = {
    {"mscp", "", 0x0000, 0xa000},         {"", "cardid", 0xdf20, 0xa012},
    {"", "cardapps", 0xdf21, 0xa010},     {"", "cardcf", 0xdf22, 0xa010},
    {"mscp", "cmapfile", 0xdf23, 0xa010},
};
#define MF_RECORD_LEN 28
#define MF_LEN (1 + 5 * MF_RECORD_LEN)

static void build_masterfile(uint8_t out[MF_LEN])
{
    memset(out, 0, MF_LEN);
    out[0] = 0x01;
    for (size_t i = 0; i < 5; i++) {
        uint8_t *r = out + 1 + i * MF_RECORD_LEN;
        memcpy(r, mf_records[i].dir, strlen(mf_records[i].dir));
        memcpy(r + 9, mf_records[i].name, strlen(mf_records[i].name));
        r[20] = (uint8_t)mf_records[i].dobj;
        r[21] = (uint8_t)(mf_records[i].dobj >> 8);
        r[24] = (uint8_t)mf_records[i].ef;
        r[25] = (uint8_t)(mf_records[i].ef >> 8);
    }
}

/* CARDID of a gemalto card: "CFGIDS" 00 00, then the engine serial as 16
 * BCD digits, so that PKCS#11 (which shows the last 8 bytes in hex) shows
 * the serial in decimal. */
static void build_cardid(uint32_t serial, uint8_t out[16])
{
    static const uint8_t prefix[8] = {'C', 'F', 'G', 'I', 'D', 'S', 0, 0};
    memcpy(out, prefix, sizeof(prefix));
    cf_simcard_put_bcd(serial, out + sizeof(prefix), 16 - sizeof(prefix));
}

static uint16_t personalize_gemalto(cf_simcard_t *card)
{
    struct gids_card *g = gids_of(card);
    static const uint8_t cardapps[8] = {'m', 's', 'c', 'p', 0, 0, 0, 0};
    static const uint8_t cardcf[6] = {0};
    uint8_t mf[MF_LEN], cardid[16];
    uint16_t sw = 0;

    for (size_t i = 0; i < 6 && sw == 0; i++)
        sw = cf_gids_add_ef(g, fcp_do_efs[i], sizeof(fcp_do_efs[i]), 1);
    if (sw == 0)
        sw = cf_gids_add_ef(g, fcp_admin_key, sizeof(fcp_admin_key), 1);
    build_masterfile(mf);
    build_cardid(card->serial, cardid);
    if (sw == 0)
        sw = cf_gids_store_do(g, 0xa000, 0xdf1f, mf, sizeof(mf));
    if (sw == 0)
        sw = cf_gids_store_do(g, 0xa010, 0xdf21, cardapps, sizeof(cardapps));
    if (sw == 0)
        sw = cf_gids_store_do(g, 0xa010, 0xdf22, cardcf, sizeof(cardcf));
    if (sw == 0)
        sw = cf_gids_store_do(g, 0xa010, 0xdf23, NULL, 0);
    if (sw == 0)
        sw = cf_gids_store_do(g, 0xa012, 0xdf20, cardid, sizeof(cardid));
    /* Gemalto .NET defaults: PIN "0000", admin key 24 x 00, 5 and 5 tries. */
    memcpy(g->pin, "0000", 4);
    g->pin_len = 4;
    memset(g->admin_key, 0, sizeof(g->admin_key));
    g->has_admin_key = 1;
    g->operational = 1;
    return sw;
}

/* ---- lifecycle ---- */

static void gids_destroy(cf_simcard_t *card)
{
    struct gids_card *g = gids_of(card);
    if (g == NULL)
        return;
    cf_gids_free_fs(g);
    OPENSSL_cleanse(g, sizeof(*g));
    free(g);
    card->impl = NULL;
}

static cf_err_t gids_create(cf_simcard_t *card, const char *factory)
{
    int gemalto;
    if (factory == NULL || strcmp(factory, "blank") == 0)
        gemalto = 0;
    else if (strcmp(factory, "gemalto") == 0)
        gemalto = 1;
    else
        return CF_ERR_NOT_FOUND;
    /* 63Cx needs a count: a blank card without the admin counter has none. */
    if (cf_simcard_has(card, CF_Q_WRONG_63CX) && !gemalto &&
        !cf_simcard_has(card, CF_Q_ADMIN_COUNTER))
        return CF_ERR_NOT_FOUND;

    struct gids_card *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return CF_ERR_NOMEM;
    g->pin_max = g->pin_tries = GIDS_TRIES_DEFAULT;
    g->admin_max = g->admin_tries = GIDS_TRIES_DEFAULT;
    g->counts_admin = gemalto || cf_simcard_has(card, CF_Q_ADMIN_COUNTER);
    g->cur_ef = -1;
    card->impl = g;
    if (gemalto && personalize_gemalto(card) != 0) {
        gids_destroy(card);
        return CF_ERR_INTERNAL;
    }
    return CF_OK;
}

static size_t gids_atr(const cf_simcard_t *card, uint8_t *atr, size_t cap)
{
    (void)card;
    if (cap < sizeof(gids_atr_bytes))
        return 0;
    memcpy(atr, gids_atr_bytes, sizeof(gids_atr_bytes));
    return sizeof(gids_atr_bytes);
}

void cf_gids_clear_challenge(struct gids_card *g)
{
    g->challenge = GIDS_CH_NONE;
    OPENSSL_cleanse(g->host_rnd, sizeof(g->host_rnd));
    OPENSSL_cleanse(g->card_rnd, sizeof(g->card_rnd));
}

void cf_gids_logout(struct gids_card *g)
{
    g->pin_verified = 0;
    g->admin_auth = 0;
    g->mse_admin = 0;
    cf_gids_clear_challenge(g);
    cf_gids_clear_se(g);
}

static void gids_reset(cf_simcard_t *card)
{
    struct gids_card *g = gids_of(card);
    cf_gids_logout(g);
    g->cur_ef = -1;
}

/* ---- retry counters ---- */

int cf_gids_spend_try(cf_simcard_t *card, unsigned *tries)
{
    if (*tries > 0)
        (*tries)--;
    /* The decrement stays in memory even if the save fails: a card whose
     * memory cannot be written must never hand out a free guess. */
    return cf_simcard_persist(card);
}

int cf_gids_restore_tries(cf_simcard_t *card, unsigned *tries, unsigned max)
{
    unsigned spent = *tries;
    *tries = max;
    if (cf_simcard_persist(card) < 0) {
        *tries = spent;
        return -1;
    }
    return 0;
}

/* ---- SELECT ---- */

static uint16_t answer_select(const struct gids_ef *ef, uint8_t p2, cf_wcursor *resp)
{
    switch (p2 & 0x0c) {
    case 0x00: /* FCI: only the application has one */
        if (ef != NULL)
            return SW_INCORRECT_P1P2;
        cf_wc_bytes(resp, gids_fci, sizeof(gids_fci));
        break;
    case 0x04: /* FCP */
        if (ef != NULL)
            cf_wc_bytes(resp, ef->fcp, ef->fcp_len);
        else
            cf_wc_bytes(resp, cf_gids_app_fcp, cf_gids_app_fcp_len);
        break;
    case 0x08: /* FMD */
        if (ef != NULL)
            return SW_INCORRECT_P1P2;
        cf_wc_bytes(resp, gids_fmd, sizeof(gids_fmd));
        break;
    default: /* 0C: no answer data */
        break;
    }
    return SW_OK;
}

static uint16_t gids_select(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    if ((cmd->p2 & 0xf3) != 0) /* first occurrence only; bits 3-4 choose the answer */
        return SW_INCORRECT_P1P2;
    if (cmd->p1 == 0x04) {
        if (cmd->nc == 0)
            return SW_WRONG_LENGTH;
        /* The full AID or a prefix of at least the 9 bytes clients use. */
        if (cmd->nc < GIDS_AID_PREFIX || cmd->nc > sizeof(gids_aid) ||
            memcmp(cmd->data, gids_aid, cmd->nc) != 0)
            return SW_FILE_NOT_FOUND;
        cf_gids_logout(g); /* a (re-)selection ends every authentication */
        g->cur_ef = -1;
        return answer_select(NULL, cmd->p2, resp);
    }
    if (cmd->p1 != 0x00)
        return SW_INCORRECT_P1P2; /* paths, parent, child DF: no such structure */
    if (cmd->nc != 2)
        return cmd->nc == 0 ? SW_FILE_NOT_FOUND : SW_WRONG_LENGTH; /* no MF */
    uint16_t fid = (uint16_t)((cmd->data[0] << 8) | cmd->data[1]);
    if (fid == GIDS_FID_APP) {
        g->cur_ef = -1;
        return answer_select(NULL, cmd->p2, resp);
    }
    struct gids_ef *ef = cf_gids_find_ef(g, fid);
    if (ef == NULL)
        return SW_FILE_NOT_FOUND;
    uint16_t sw = answer_select(ef, cmd->p2, resp);
    if (sw == SW_OK)
        g->cur_ef = (int)(ef - g->efs);
    return sw;
}

/* ---- dispatch ---- */

static uint16_t gids_process(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    if (cmd->cla & 0x60)
        return SW_CLA_NOT_SUPPORTED;
    if (cmd->cla & 0x0c)
        return SW_GIDS_CLA_SM;
    if (cmd->cla & 0x03)
        return SW_GIDS_CLA_CHANNEL;
    switch (cmd->ins) {
    case 0xa4:
        return gids_select(card, cmd, resp);
    case 0xcb:
        return cf_gids_get_data(card, cmd, resp);
    case 0xdb:
        return cf_gids_put_data(card, cmd);
    case 0xe0:
        return cf_gids_create_file(card, cmd);
    case 0x44:
        return cf_gids_activate(card, cmd);
    case 0x20:
        return cf_gids_verify(card, cmd);
    case 0x24:
        return cf_gids_change_reference(card, cmd);
    case 0x2c:
        return cf_gids_reset_retry_counter(card, cmd);
    case 0x22:
        return cf_gids_mse(card, cmd);
    case 0x87:
        return cf_gids_general_authenticate(card, cmd, resp);
    case 0x47:
        return cf_gids_generate(card, cmd, resp);
    case 0xe4:
        return cf_gids_delete_key_file(card, cmd);
    case 0x2a:
        return cf_gids_pso(card, cmd, resp);
    case 0xc0: /* GET RESPONSE with nothing pending (the core serves the rest) */
        return SW_CONDITIONS;
    default:
        return SW_INS_NOT_SUPPORTED;
    }
}

const struct cf_simcard_ops cf_simcard_gids_ops = {
    .default_factory = "blank",
    .create = gids_create,
    .destroy = gids_destroy,
    .atr = gids_atr,
    .reset = gids_reset,
    .process = gids_process,
    .save = cf_gids_save,
    .load = cf_gids_load,
};
