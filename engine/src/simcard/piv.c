/*
 * piv.c - the PIV virtual cards: "piv", a PIV card as NIST SP 800-73-4
 * defines it, and "yubikey", the PIV application of a YubiKey 5.4.3.
 *
 * This file owns the cards' lifecycle (create, destroy, ATR, reset), the
 * dispatch of one complete command to the file that handles it, and the
 * small read-only instructions (SELECT, and the YubiKey's GET VERSION, GET
 * SERIAL, GET METADATA). The rest is split by job, see piv_int.h.
 *
 * The two bases share everything the standard defines. Only the yubikey
 * card has the YubiKey instructions (FD, F8, F7, FF, FA, FB, FE, F9: 6D00
 * on the standard card, as on other vendors' cards), the YubiKey ATR, the
 * YubiKey data objects 5FFFxx, the retired key slots and the PIN and touch
 * policies of keys, and starts without a CHUID; the piv card starts
 * with a CHUID whose GUID carries its serial, the only serial a standard
 * card offers (piv-reference.md, "What a card profile may rely on").
 *
 * Behaviour follows what yubico-piv-tool 2.2.0 and OpenSC 0.23 send and what
 * a YubiKey 5 answers (piv-reference.md): until the PIV AID is selected
 * every other instruction answers 6D00, as the recorded YubiKey does when
 * OpenSC probes it; a SELECT of a foreign AID answers 6A82 and keeps the
 * current selection, so OpenSC's probes (MuscleCard, coolkey, ...) never
 * claim the card; re-selecting PIV keeps the security state (YubiKey 5).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "simcard/piv_int.h"

/* The piv card's ATR: T=1 only (TD1 = 01; yubico-piv-tool 2.2.0 connects
 * with T=1 alone), historical bytes = category 80 and one compact TLV,
 * tag F (application identifier) holding the PIV AID: it names the
 * application, no vendor, and no shipped profile lists it. */
static const uint8_t piv_std_atr[] = {0x3B, 0x8D, 0x01, 0x80, 0xFB, 0xA0, 0x00, 0x00, 0x03,
                                      0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x4D};

/* The full PIV AID; SELECT accepts any prefix of at least 5 bytes. */
static const uint8_t piv_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00};
#define PIV_AID_MIN 5

/* Application property template answered to SELECT: 4F holds the PIX,
 * as SP 800-73-4 has it (and a YubiKey answers); the aid-full quirk puts
 * the whole AID there, as several other cards do. 79 is the coexistent
 * tag allocation authority, the PIV RID. */
static const uint8_t piv_apt[] = {0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
                                  0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};
static const uint8_t piv_apt_full_aid[] = {0x61, 0x16, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03,
                                           0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x79,
                                           0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};

static const uint8_t piv_version[] = {5, 4, 3};

static cf_err_t piv_create(cf_simcard_t *card, const char *factory)
{
    if (factory != NULL && strcmp(factory, "default") != 0)
        return CF_ERR_NOT_FOUND;
    struct piv_card *pc = calloc(1, sizeof(*pc));
    if (pc == NULL)
        return CF_ERR_NOMEM;
    piv_nv_factory(&pc->nv);
    card->impl = pc;
    /* A state file lists every object its card holds, the CHUID included. */
    if (!piv_is_yubikey(card) && !card->from_file && piv_chuid_factory(card) < 0) {
        piv_nv_clear(&pc->nv);
        free(pc);
        card->impl = NULL;
        return CF_ERR_NOMEM;
    }
    return CF_OK;
}

static void piv_destroy(cf_simcard_t *card)
{
    struct piv_card *pc = piv_of(card);
    if (pc == NULL)
        return;
    piv_nv_clear(&pc->nv);
    OPENSSL_cleanse(pc, sizeof(*pc));
    free(pc);
    card->impl = NULL;
}

static size_t piv_atr(const cf_simcard_t *card, uint8_t *atr, size_t cap)
{
    const uint8_t *p = piv_is_yubikey(card) ? cf_simcard_yubikey_atr : piv_std_atr;
    size_t n = piv_is_yubikey(card) ? cf_simcard_yubikey_atr_len : sizeof(piv_std_atr);
    if (cap < n)
        return 0;
    memcpy(atr, p, n);
    return n;
}

static void piv_reset(cf_simcard_t *card)
{
    struct piv_card *pc = piv_of(card);
    pc->selected = 0;
    pc->pin_verified = 0;
    pc->admin = 0;
    pc->pin_fresh = 0;
    pc->chal = PIV_CHAL_NONE;
    OPENSSL_cleanse(pc->chal_buf, sizeof(pc->chal_buf));
}

static uint16_t piv_select(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    if (cmd->p1 != 0x04 || cmd->nc < PIV_AID_MIN || cmd->nc > sizeof(piv_aid) ||
        memcmp(cmd->data, piv_aid, cmd->nc) != 0)
        return SW_FILE_NOT_FOUND;
    pc->selected = 1;
    if (cmd->p2 == 0x0C) /* P2 0C: no response data wanted */
        return SW_OK;
    if (cf_simcard_has(card, CF_Q_AID_FULL))
        cf_wc_bytes(resp, piv_apt_full_aid, sizeof(piv_apt_full_aid));
    else
        cf_wc_bytes(resp, piv_apt, sizeof(piv_apt));
    return SW_OK;
}

static uint16_t piv_get_version(const cf_apdu_t *cmd, cf_wcursor *resp)
{
    if (cmd->nc != 0)
        return SW_WRONG_LENGTH;
    cf_wc_bytes(resp, piv_version, sizeof(piv_version));
    return SW_OK;
}

static uint16_t piv_get_serial(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    if (cmd->nc != 0)
        return SW_WRONG_LENGTH;
    uint32_t s = card->serial;
    uint8_t b[4] = {(uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8), (uint8_t)s};
    cf_wc_bytes(resp, b, sizeof(b));
    return SW_OK;
}

static int is_key_slot(uint8_t ref)
{
    return ref == 0x9A || ref == 0x9C || ref == 0x9D || ref == 0x9E || ref == 0xF9 ||
           (ref >= 0x82 && ref <= 0x95);
}

/* GET METADATA (YubiKey F7): lets a client read the retry counters and the
 * management key algorithm without spending a try. */
static uint16_t piv_get_metadata(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    static const uint8_t def_pin[PIV_PIN_SIZE] = {'1', '2', '3', '4', '5', '6', 0xFF, 0xFF};
    static const uint8_t def_puk[PIV_PIN_SIZE] = {'1', '2', '3', '4', '5', '6', '7', '8'};
    static const uint8_t def_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                        5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    const struct piv_nv *nv = &piv_of(card)->nv;
    if (cmd->nc != 0)
        return SW_WRONG_LENGTH;
    if (cmd->p1 != 0x00)
        return SW_INCORRECT_P1P2;
    uint8_t alg, dflt, retries[2];
    switch (cmd->p2) {
    case PIV_REF_PIN:
    case PIV_REF_PUK: {
        int pin = cmd->p2 == PIV_REF_PIN;
        alg = 0xFF;
        dflt = CRYPTO_memcmp(pin ? nv->pin : nv->puk, pin ? def_pin : def_puk, PIV_PIN_SIZE) == 0;
        retries[0] = pin ? nv->pin_max : nv->puk_max;
        retries[1] = pin ? nv->pin_tries : nv->puk_tries;
        cf_wc_tlv(resp, 0x01, &alg, 1);
        cf_wc_tlv(resp, 0x05, &dflt, 1);
        cf_wc_tlv(resp, 0x06, retries, 2);
        return SW_OK;
    }
    case PIV_REF_MGM: {
        /* policy: PIN policy not applicable (00), touch never (01) / always (02) */
        uint8_t policy[2] = {0x00, nv->mgm_touch ? 0x02 : 0x01};
        alg = nv->mgm_alg;
        dflt = nv->mgm_alg == PIV_ALG_3DES && nv->mgm_len == sizeof(def_key) &&
               CRYPTO_memcmp(nv->mgm_key, def_key, sizeof(def_key)) == 0;
        cf_wc_tlv(resp, 0x01, &alg, 1);
        cf_wc_tlv(resp, 0x02, policy, 2);
        cf_wc_tlv(resp, 0x05, &dflt, 1);
        return SW_OK;
    }
    default:
        return is_key_slot(cmd->p2) ? piv_key_metadata(card, cmd->p2, resp) : SW_REF_NOT_FOUND;
    }
}

static uint16_t piv_process(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    /* A pending 9B challenge is good for the next GENERAL AUTHENTICATE only. */
    if (cmd->ins != 0x87 && pc->chal != PIV_CHAL_NONE) {
        pc->chal = PIV_CHAL_NONE;
        OPENSSL_cleanse(pc->chal_buf, sizeof(pc->chal_buf));
    }
    if (cmd->cla != 0x00)
        return SW_CLA_NOT_SUPPORTED;
    if (cmd->ins == 0xA4)
        return piv_select(card, cmd, resp);
    if (!pc->selected)
        return SW_INS_NOT_SUPPORTED;
    switch (cmd->ins) {
    case 0x20:
        return piv_verify(card, cmd);
    case 0x24:
        return piv_change_reference(card, cmd);
    case 0x2C:
        return piv_reset_retry(card, cmd);
    case 0x47:
        return piv_generate(card, cmd, resp);
    case 0x87:
        return piv_general_authenticate(card, cmd, resp);
    case 0xC0: /* the core serves GET RESPONSE; reaching here, nothing is pending */
        return SW_CONDITIONS;
    case 0xCB:
        return piv_get_data(card, cmd, resp);
    case 0xDB:
        return piv_put_data(card, cmd);
    default:
        break;
    }
    if (!piv_is_yubikey(card))
        return SW_INS_NOT_SUPPORTED;
    switch (cmd->ins) { /* the YubiKey's own instructions */
    case 0xF7:
        return piv_get_metadata(card, cmd, resp);
    case 0xF8:
        return piv_get_serial(card, cmd, resp);
    case 0xF9:
        return piv_attest(card, cmd, resp);
    case 0xFA:
        return piv_set_pin_retries(card, cmd);
    case 0xFB:
        return piv_factory_reset(card, cmd);
    case 0xFD:
        return piv_get_version(cmd, resp);
    case 0xFE:
        return piv_import_key(card, cmd);
    case 0xFF:
        return piv_set_mgm_key(card, cmd);
    default:
        return SW_INS_NOT_SUPPORTED;
    }
}

const struct cf_simcard_ops cf_simcard_piv_ops = {
    .default_factory = "default",
    .create = piv_create,
    .destroy = piv_destroy,
    .atr = piv_atr,
    .reset = piv_reset,
    .process = piv_process,
    .save = piv_nv_save,
    .load = piv_nv_load,
    .loaded = piv_nv_loaded,
};
