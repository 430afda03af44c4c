/*
 * piv_objects.c - data objects: GET DATA (CB) and PUT DATA (DB).
 *
 * Objects are addressed by a tag list `5C 03 <id>` (or `5C 01 7E` for the
 * discovery object) and travel as `53 L <value>`; the card stores the value
 * and rebuilds the 53 wrapper on reading. The discovery object is fixed (a
 * YubiKey's: PIV AID and PIN policy "PIV PIN only") and cannot be written.
 * The YubiKey objects 5FFF00-5FFF15 exist on the yubikey card only; a piv
 * card comes with a CHUID (piv_chuid_factory) and shows a key history
 * object counting its retired certificates until one is written.
 * Every PUT DATA (CHUID, CCC, key history, certificates) needs the
 * management key authenticated.
 * Objects SP 800-73-4 protects with the PIN (fingerprints, facial image,
 * printed information, iris) answer 6982 until the PIN is verified, before
 * any check of whether they exist, as a real card leaks nothing about them.
 * Absent objects answer 6A82 (or what an absent-* quirk says). Long objects need no care here: the
 * core chains them in and out.
 */
#include <stdlib.h>
#include <string.h>

#include "simcard/piv_int.h"

#define TAG_LIST 0x5C
#define TAG_DATA 0x53
#define TAG_DISCOVERY 0x7E

static const uint8_t discovery[] = {0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                    0x00, 0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00};

/* The factory CHUID of a piv card, SP 800-73-4 tags in order: 30 FASC-N
 * (the standard's all-nines test credential, as yubico-piv-tool writes
 * it), 34 GUID, 35 expiry date (YYYYMMDD), 3E issuer signature (empty: a
 * test card's), FE error detection code (empty). The GUID is filled in
 * per card. */
#define CHUID_OBJ 0x5FC102u
#define CHUID_GUID_AT 29 /* offset of the GUID's 16 bytes */
static const uint8_t chuid_template[] = {
    0x30, 0x19, 0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
    0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB, 0x34, 0x10, 0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0x35, 0x08, '2',  '0',  '3',  '0',  '0',  '1',  '0',  '1',  0x3E, 0x00, 0xFE, 0x00};

/* GUID = an 11-byte prefix ("CFPIV", five zero bytes, FF), then the serial
 * as 10 BCD digits: its lower-case hex text ends with the serial in
 * decimal, and the prefix's last digit is a letter, so the trailing
 * decimal digits are the serial's ten and nothing else. cardforge reads
 * the GUID as the serial of a card without a vendor serial command. */
static void chuid_guid(uint32_t serial, uint8_t guid[16])
{
    static const uint8_t prefix[11] = {'C', 'F', 'P', 'I', 'V', 0, 0, 0, 0, 0, 0xFF};
    memcpy(guid, prefix, sizeof(prefix));
    cf_simcard_put_bcd(serial, guid + sizeof(prefix), 16 - sizeof(prefix));
}

int piv_chuid_factory(cf_simcard_t *card)
{
    struct piv_object *o = &piv_of(card)->nv.obj[piv_obj_index(CHUID_OBJ)];
    o->data = malloc(sizeof(chuid_template));
    if (o->data == NULL)
        return -1;
    memcpy(o->data, chuid_template, sizeof(chuid_template));
    chuid_guid(card->serial, o->data + CHUID_GUID_AT);
    o->len = sizeof(chuid_template);
    return 0;
}

/* The key history object (5FC10C) a piv card shows until one is written:
 * SP 800-73-4 part 1 (key history object): C1 keysWithOnCardCerts, C2
 * keysWithOffCardCerts (one byte each), F3 offCardCertURL only when C2 is
 * not zero, FE error detection code. The retired key management keys are
 * numbered from 82 upwards with no gap, and readers (OpenSC) read the
 * certificates of the first C1 of them, so C1 is the count of certificate
 * objects present from 5FC10D on, stopping at the first absent one; C2 is
 * 0 (the card knows of no certificates kept elsewhere). The yubikey card
 * has none until written, as a real YubiKey. */
#define KEY_HISTORY_OBJ 0x5FC10Cu
#define RETIRED_CERT_FIRST 0x5FC10Du
#define RETIRED_CERT_LAST 0x5FC120u

static void key_history(const cf_simcard_t *card, cf_wcursor *resp)
{
    const struct piv_card *pc = piv_of((cf_simcard_t *)card);
    uint8_t on_card = 0;
    for (uint32_t id = RETIRED_CERT_FIRST; id <= RETIRED_CERT_LAST; id++) {
        int idx = piv_card_obj_index(card, id);
        if (idx < 0 || pc->nv.obj[idx].data == NULL)
            break;
        on_card++;
    }
    const uint8_t v[] = {0xC1, 0x01, on_card, 0xC2, 0x01, 0x00, 0xFE, 0x00};
    cf_wc_tlv(resp, TAG_DATA, v, sizeof(v));
}

static int pin_protected(uint32_t id)
{
    return id == 0x5FC103 || id == 0x5FC108 || id == 0x5FC109 || id == 0x5FC121;
}

/* Read the `5C len id` tag list at the head of c. Returns the id (1 to 3
 * bytes, big-endian) or -1 when malformed. */
static long read_tag_list(cf_rcursor *c)
{
    unsigned tag;
    const uint8_t *v;
    size_t vl;
    if (cf_rc_tlv(c, &tag, &v, &vl) < 0 || tag != TAG_LIST || vl < 1 || vl > 3)
        return -1;
    long id = 0;
    for (size_t i = 0; i < vl; i++)
        id = (id << 8) | v[i];
    return id;
}

uint16_t piv_get_data(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    if (cmd->p1 != 0x3F || cmd->p2 != 0xFF)
        return SW_INCORRECT_P1P2;
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    long id = read_tag_list(&c);
    if (id < 0 || c.left != 0)
        return SW_WRONG_DATA;
    if (id == TAG_DISCOVERY) {
        cf_wc_bytes(resp, discovery, sizeof(discovery));
        return SW_OK;
    }
    if (pin_protected((uint32_t)id) && !pc->pin_verified)
        return SW_SECURITY_STATUS;
    int idx = piv_card_obj_index(card, (uint32_t)id);
    /* The attestation certificate comes with the F9 key, made on first use. */
    if (id == PIV_OBJ_ATTESTATION && idx >= 0 && pc->nv.obj[idx].data == NULL &&
        piv_attest_ensure(card) < 0)
        return SW_MEMORY_FAILURE;
    if (id == KEY_HISTORY_OBJ && idx >= 0 && pc->nv.obj[idx].data == NULL &&
        !piv_is_yubikey(card)) {
        key_history(card, resp);
        return SW_OK;
    }
    if (idx < 0 || pc->nv.obj[idx].data == NULL)
        return cf_simcard_absent_sw(card, SW_FILE_NOT_FOUND);
    cf_wc_tlv(resp, TAG_DATA, pc->nv.obj[idx].data, pc->nv.obj[idx].len);
    return SW_OK;
}

uint16_t piv_put_data(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    if (cmd->p1 != 0x3F || cmd->p2 != 0xFF)
        return SW_INCORRECT_P1P2;
    if (!pc->admin)
        return SW_SECURITY_STATUS;
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    long id = read_tag_list(&c);
    unsigned tag;
    const uint8_t *val;
    size_t vlen;
    if (id < 0 || cf_rc_tlv(&c, &tag, &val, &vlen) < 0 || tag != TAG_DATA || c.left != 0)
        return SW_WRONG_DATA;
    int idx = piv_card_obj_index(card, (uint32_t)id);
    if (idx < 0) /* includes the discovery object: read-only */
        return SW_WRONG_DATA;
    if (vlen > PIV_OBJ_MAX)
        return SW_NOT_ENOUGH_MEMORY;
    uint8_t *copy = NULL;
    if (vlen > 0) { /* 53 00 deletes */
        copy = malloc(vlen);
        if (copy == NULL)
            return SW_NOT_ENOUGH_MEMORY;
        memcpy(copy, val, vlen);
    }
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    /* the old buffer stays with saved; commit frees the loser */
    pc->nv.obj[idx].data = copy;
    pc->nv.obj[idx].len = vlen;
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    return SW_OK;
}
