/*
 * steps_idobj.c - writing the PIV identity objects: a CHUID with a GUID
 * unique to the card, a CCC with a unique card identifier.
 *
 * The identifiers come from OpenSSL's DRBG, fresh for every card and every
 * attempt: nothing derives them, so two cards never share one (Windows keys
 * its smart-card logon cache on the GUID). The GUID carries the RFC 4122
 * version 4 (random) and variant bits. The write goes under the admin key
 * the card holds at this point of the plan (after a rotation, the new one);
 * its proof is the object read back byte for byte (cf_card_write_chuid).
 * A rerun writes new identifiers: the last write is the card's, and the
 * journal's last record for the card says which GUID that is.
 */
#include <stdio.h>
#include <time.h>

#include <openssl/rand.h>

#include <cardforge/idobj.h>

#include "personalize/pers_int.h"

typedef cf_err_t (*write_fn)(struct pers *ps, const uint8_t *id, const char *expiry);

static cf_err_t put_chuid(struct pers *ps, const uint8_t *id, const char *expiry)
{
    return cf_card_write_chuid(ps->card, id, expiry);
}

static cf_err_t put_ccc(struct pers *ps, const uint8_t *id, const char *expiry)
{
    (void)expiry;
    return cf_card_write_ccc(ps->card, id);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* Authenticate when needed, record the intent, write; once more after a
 * 6982 that shows the admin session ended (as the rotation does). */
static cf_err_t write_once(struct pers *ps, const cf_step_t *st, cf_step_result_t *r, write_fn put,
                           const uint8_t *id, const char *expiry, const char *what)
{
    cf_err_t e = pers_begin_admin_change(ps, st, r);
    if (e != CF_OK)
        return e;
    e = put(ps, id, expiry);
    if (pers_admin_session_lost(ps, e)) {
        e = pers_ensure_admin(ps, r);
        if (e != CF_OK)
            return e;
        e = put(ps, id, expiry);
    }
    /* A proof that failed follows a write the card acknowledged: the
     * object changed, to what the message says. */
    r->reached = e == CF_ERR_PROOF_FAILED ? CF_REACHED_YES : pers_reached(ps, e);
    if (e != CF_OK)
        pers_fail(ps, r, e, what);
    return e;
}

cf_err_t pers_step_write_chuid(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    char expiry[9];
    cf_err_t e = cf_plan_chuid_expiry(ps->plan, time(NULL), expiry);
    uint8_t guid[CF_CHUID_GUID_LEN];
    if (e == CF_OK && RAND_bytes(guid, sizeof(guid)) != 1)
        e = CF_ERR_CRYPTO;
    if (e != CF_OK) {
        r->err = e;
        r->outcome = CF_OUTCOME_FAILED;
        pers_msg(r, "make the CHUID: %s", cf_strerror(e));
        return e;
    }
    guid[6] = (uint8_t)((guid[6] & 0x0F) | 0x40); /* RFC 4122: version 4 */
    guid[8] = (uint8_t)((guid[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    /* Recorded before the write: a lost write, or one that reads back
     * otherwise, still says which GUID the card may now carry. */
    hex(guid, sizeof(guid), r->guid);
    e = write_once(ps, st, r, put_chuid, guid, expiry, "write the CHUID");
    if (e != CF_OK && r->reached == CF_REACHED_NO)
        r->guid[0] = 0; /* refused or never sent: the card does not carry it */
    if (e != CF_OK)
        return e;
    pers_msg(r, "CHUID written and read back: GUID %s, expiry %s", r->guid, expiry);
    return CF_OK;
}

cf_err_t pers_step_write_ccc(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    uint8_t id[CF_CCC_ID_LEN];
    if (RAND_bytes(id, sizeof(id)) != 1) {
        r->err = CF_ERR_CRYPTO;
        r->outcome = CF_OUTCOME_FAILED;
        pers_msg(r, "make the CCC: %s", cf_strerror(r->err));
        return r->err;
    }
    cf_err_t e = write_once(ps, st, r, put_ccc, id, NULL, "write the CCC");
    if (e != CF_OK)
        return e;
    char h[2 * CF_CCC_ID_LEN + 1];
    hex(id, sizeof(id), h);
    pers_msg(r, "CCC written and read back: card identifier a000000116ff02%s", h);
    return CF_OK;
}
