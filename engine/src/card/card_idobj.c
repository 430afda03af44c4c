/*
 * card_idobj.c - the PIV identity objects: CHUID (5FC102) and CCC (5FC107),
 * built, parsed, written under the admin key and proven by reading back.
 *
 * Byte layouts (docs/cards/piv.md "Identity objects" gives the sources):
 *   CHUID  30 19 FASC-N, 34 10 GUID, 35 08 expiry YYYYMMDD, 3E 00, FE 00
 *          (SP 800-73-4 part 1, CHUID table; the FASC-N a card without an
 *          agency one carries is the all-nines value of the TIG SCEPACS, in
 *          its 5-bit BCD-with-parity form, as yubico-piv-tool sets it)
 *   CCC    F0 15 {A0 00 00 01 16, FF, 02, 14 random bytes}, F1 01 21,
 *          F2 01 21, F3 00, F4 01 00, F5 01 10, F6 00, F7 00, FA 00, FB 00,
 *          FC 00, FD 00, FE 00 (SP 800-73-4 part 1, CCC table)
 *   PUT DATA 00 DB 3F FF 5C 03 <id> 53 L <value>; GET DATA 00 CB 3F FF
 *          5C 03 <id> -> 53 L <value>.
 * The parser takes the card's answer, so it is bounds-checked through the
 * cursor and fuzzed (tests/fuzz/fuzz_idobj.c).
 */
#include <stdio.h>
#include <string.h>

#include <cardforge/idobj.h>

#include "card/card_cert_int.h"
#include "util/cursor.h"

#define OBJ_CHUID 0x02
#define OBJ_CCC 0x07
#define OBJ_MAX 128 /* both objects are under 64 bytes; room for the 53/5C wrapping */

static const uint8_t fascn_nines[25] = {0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE,
                                        0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10,
                                        0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB};

int cf_chuid_parse(const uint8_t *buf, size_t len, cf_chuid_t *out)
{
    memset(out, 0, sizeof(*out));
    cf_rcursor c = cf_rcursor_init(buf, len);
    int seen_guid = 0, seen_exp = 0, seen_sig = 0, seen_edc = 0;
    while (c.left > 0) {
        unsigned tag;
        const uint8_t *v;
        size_t vl;
        if (seen_edc || cf_rc_tlv(&c, &tag, &v, &vl) < 0)
            return -1; /* bytes after FE, or a broken TLV */
        switch (tag) {
        case 0x30:
            if (out->has_fascn || vl != sizeof(out->fascn))
                return -1;
            memcpy(out->fascn, v, vl);
            out->has_fascn = 1;
            break;
        case 0x34:
            if (seen_guid || vl != CF_CHUID_GUID_LEN)
                return -1;
            memcpy(out->guid, v, vl);
            seen_guid = 1;
            break;
        case 0x35:
            if (seen_exp || vl != 8)
                return -1;
            for (size_t i = 0; i < 8; i++)
                if (v[i] < '0' || v[i] > '9')
                    return -1;
            memcpy(out->expiry, v, 8);
            out->expiry[8] = 0;
            seen_exp = 1;
            break;
        case 0x3E:
            if (seen_sig)
                return -1;
            out->signature_len = vl;
            seen_sig = 1;
            break;
        case 0xFE:
            seen_edc = 1;
            break;
        default:
            break; /* buffer length, DUNS, organizational identifier: not ours */
        }
    }
    return seen_guid && seen_exp && seen_edc ? 0 : -1;
}

size_t cf_chuid_build(const uint8_t guid[CF_CHUID_GUID_LEN], const char *expiry, uint8_t *out,
                      size_t cap)
{
    if (expiry == NULL || strlen(expiry) != 8 || strspn(expiry, "0123456789") != 8)
        return 0;
    cf_wcursor w = cf_wcursor_init(out, cap);
    cf_wc_tlv(&w, 0x30, fascn_nines, sizeof(fascn_nines));
    cf_wc_tlv(&w, 0x34, guid, CF_CHUID_GUID_LEN);
    cf_wc_tlv(&w, 0x35, expiry, 8);
    cf_wc_tlv(&w, 0x3E, NULL, 0);
    cf_wc_tlv(&w, 0xFE, NULL, 0);
    return w.overflow ? 0 : w.len;
}

size_t cf_ccc_build(const uint8_t id[CF_CCC_ID_LEN], uint8_t *out, size_t cap)
{
    /* GSC-IS RID, a manufacturer id of FF (none registered), card type 02
     * (Java Card), as yubico-piv-tool's set-ccc does */
    static const uint8_t card_id_head[7] = {0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02};
    uint8_t f0[sizeof(card_id_head) + CF_CCC_ID_LEN];
    memcpy(f0, card_id_head, sizeof(card_id_head));
    memcpy(f0 + sizeof(card_id_head), id, CF_CCC_ID_LEN);
    static const uint8_t v21 = 0x21, v00 = 0x00, v10 = 0x10;
    cf_wcursor w = cf_wcursor_init(out, cap);
    cf_wc_tlv(&w, 0xF0, f0, sizeof(f0));
    cf_wc_tlv(&w, 0xF1, &v21, 1); /* capability container version */
    cf_wc_tlv(&w, 0xF2, &v21, 1); /* capability grammar version */
    cf_wc_tlv(&w, 0xF3, NULL, 0); /* applications card URL */
    cf_wc_tlv(&w, 0xF4, &v00, 1); /* PKCS#15: none */
    cf_wc_tlv(&w, 0xF5, &v10, 1); /* registered data model number: PIV */
    static const unsigned empty[] = {0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
        cf_wc_tlv(&w, empty[i], NULL, 0);
    return w.overflow ? 0 : w.len;
}

static void hex16(const uint8_t *b, char out[33])
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[32] = 0;
}

/* What an object that does not read back as written holds, for the
 * message: "nothing", "a CHUID with GUID ...", "n other bytes". */
static void describe(uint8_t obj, const uint8_t *v, size_t vl, int found, char *out, size_t cap)
{
    cf_chuid_t ch;
    char g[33];
    if (!found)
        snprintf(out, cap, "nothing (the object is absent)");
    else if (obj == OBJ_CHUID && cf_chuid_parse(v, vl, &ch) == 0) {
        hex16(ch.guid, g);
        snprintf(out, cap, "a CHUID with GUID %s, expiry %s", g, ch.expiry);
    } else
        snprintf(out, cap, "%zu other bytes", vl);
}

static cf_err_t write_object(cf_card_t *card, const char *what, uint8_t obj, const uint8_t *val,
                             size_t vlen)
{
    card->last_write = CF_WRITE_NONE;
    cf_card_ok(card);
    if (!cf_profile_can(card->p, CF_CAP_ID_OBJECTS))
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: card type %s keeps no PIV data objects (nothing sent)", what,
                            card->p->name);
    if (!card->admin_auth)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: the admin (management) key must be authenticated first "
                            "(nothing sent)",
                            what);
    uint8_t buf[OBJ_MAX];
    cf_wcursor w = cf_wcursor_init(buf, sizeof(buf));
    const uint8_t id[3] = {0x5F, 0xC1, obj};
    cf_wc_tlv(&w, 0x5C, id, sizeof(id));
    cf_wc_tlv(&w, 0x53, val, vlen);
    if (w.overflow)
        return CF_ERR_INTERNAL;
    cf_rapdu_t r;
    cf_err_t err = cf_cert_apdu(card, what, 0xDB, 0x3F, 0xFF, buf, w.len, 0, CF_CMD_WRITE, &r);
    if (err != CF_OK)
        return err;

    /* Proof: the object reads back byte for byte. The write is on the card
     * whatever the read says (last_write stays DONE). */
    err = cf_cert_apdu(card, what, 0xCB, 0x3F, 0xFF, buf, 5, 256, 0, &r);
    const uint8_t *back = NULL;
    size_t bl = 0;
    int found = err == CF_OK && cf_tlv_find(r.data, r.len, 0x53, &back, &bl) == 0;
    if (err != CF_OK && err != CF_ERR_NOT_FOUND)
        return cf_card_fail(card, CF_ERR_PROOF_FAILED,
                            "%s: the card acknowledged the write (9000) but the object cannot be "
                            "read back (%04X %s)",
                            what, cf_card_last_sw(card), cf_sw_meaning(cf_card_last_sw(card)));
    if (!found || bl != vlen || memcmp(back, val, vlen) != 0) {
        char holds[96];
        describe(obj, back, bl, found, holds, sizeof(holds));
        return cf_card_fail(card, CF_ERR_PROOF_FAILED,
                            "%s: the card acknowledged the write (9000) but reads back %s", what,
                            holds);
    }
    cf_card_ok(card);
    return CF_OK;
}

cf_err_t cf_card_write_chuid(cf_card_t *card, const uint8_t guid[CF_CHUID_GUID_LEN],
                             const char *expiry)
{
    uint8_t v[64];
    size_t n = cf_chuid_build(guid, expiry, v, sizeof(v));
    if (card == NULL || n == 0)
        return CF_ERR_ARG;
    return write_object(card, "write CHUID", OBJ_CHUID, v, n);
}

cf_err_t cf_card_write_ccc(cf_card_t *card, const uint8_t id[CF_CCC_ID_LEN])
{
    uint8_t v[64];
    size_t n = cf_ccc_build(id, v, sizeof(v));
    if (card == NULL || n == 0)
        return CF_ERR_ARG;
    return write_object(card, "write CCC", OBJ_CCC, v, n);
}
