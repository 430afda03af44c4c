/*
 * idobj.h - the identity data objects a PIV card carries for the systems
 * that log its holder in: the CHUID (Card Holder Unique Identifier,
 * SP 800-73-4 object 5FC102) and the CCC (Card Capability Container,
 * 5FC107). Windows' smart-card logon keys its certificate cache on the
 * CHUID's GUID, so every card needs its own.
 *
 * The caller (a personalization step) chooses the random identifiers; this
 * module knows their byte layouts (docs/cards/piv.md "Identity objects")
 * and writes them with PUT DATA under the admin (9B management) key,
 * proving each write by reading the object back. Whether a card type can
 * is cf_profile_can(profile, CF_CAP_ID_OBJECTS).
 */
#ifndef CARDFORGE_IDOBJ_H
#define CARDFORGE_IDOBJ_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/card.h>
#include <cardforge/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CF_CHUID_GUID_LEN 16 /* tag 34 */
#define CF_CCC_ID_LEN 14     /* the random part of the CCC's card identifier (F0) */

/* What a CHUID holds, as parsed. */
typedef struct cf_chuid {
    uint8_t fascn[25]; /* tag 30 (all zero when absent) */
    int has_fascn;
    uint8_t guid[CF_CHUID_GUID_LEN]; /* tag 34 */
    char expiry[9];                  /* tag 35: YYYYMMDD and a NUL */
    size_t signature_len;            /* tag 3E: 0 for an unsigned CHUID */
} cf_chuid_t;

/* Parse a CHUID value (the bytes inside 53, untrusted): BER-TLVs, each at
 * most once, in any order; 34 GUID (16 bytes), 35 expiry (8 digits) and
 * FE (the error detection code, last) are required; 30 FASC-N is 25 bytes
 * when present; 3E may be empty; other tags are skipped. 0, or -1 when
 * malformed. */
int cf_chuid_parse(const uint8_t *buf, size_t len, cf_chuid_t *out);

/* Build the CHUID value cardforge writes: 30 FASC-N (the non-federal
 * issuer's all-nines value SP 800-73-4 and the TIG SCEPACS give cards
 * without an agency FASC-N), 34 guid, 35 expiry, 3E 00 (no issuer
 * signature), FE 00. expiry is 8 digits YYYYMMDD. Writes at most cap bytes
 * and returns the length, or 0 when expiry is not 8 digits or cap too
 * small. */
size_t cf_chuid_build(const uint8_t guid[CF_CHUID_GUID_LEN], const char *expiry, uint8_t *out,
                      size_t cap);

/* Build the CCC value: F0 card identifier (GSC-RID A0 00 00 01 16,
 * manufacturer FF, card type 02, then id), then the other tags of
 * SP 800-73-4 part 1's CCC table with the values a PIV card gives them
 * (F1 21, F2 21, F3 empty, F4 00, F5 10, F6 F7 FA FB FC FD empty, FE). Returns
 * the length, or 0 when cap is too small. */
size_t cf_ccc_build(const uint8_t id[CF_CCC_ID_LEN], uint8_t *out, size_t cap);

/* Write the CHUID (guid, expiry YYYYMMDD) with PUT DATA and prove it by
 * GET DATA: the bytes read back must be the bytes written. Needs the admin
 * key authenticated in this session (cf_card_admin_auth): otherwise
 * CF_ERR_REFUSED and nothing is sent. CF_ERR_UNSUPPORTED (nothing sent) on a
 * card type without CF_CAP_ID_OBJECTS. CF_ERR_PROOF_FAILED when the card
 * acknowledged the write but reads back something else (cf_card_errmsg
 * says what it holds: another GUID, other bytes, or nothing). Other
 * errors as the card answered (6982: CF_ERR_REFUSED). */
cf_err_t cf_card_write_chuid(cf_card_t *card, const uint8_t guid[CF_CHUID_GUID_LEN],
                             const char *expiry);

/* The same for the CCC with card identifier id. */
cf_err_t cf_card_write_ccc(cf_card_t *card, const uint8_t id[CF_CCC_ID_LEN]);

#ifdef __cplusplus
}
#endif
#endif
