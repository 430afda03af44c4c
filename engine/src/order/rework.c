/*
 * rework.c - an operator's hand on an order: a claim given back, a card
 * voided for rework. Each in one transaction, with the order's row locked
 * so that no station's claim or result interleaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_int.h"

/* One change: the order's name and what the change is about, in; the
 * record it touched, out. */
struct change {
    const char *name;
    uint64_t record;    /* release: the record; void: the record put back */
    const char *serial; /* void */
    char id[24];        /* the order's id, once locked */
    cf_diag_list_t *diags;
};

/* Lock the order's row (inside the change's transaction); its id into
 * ch->id. */
static cf_err_t lock_order(cf_order_db_t *db, struct change *ch)
{
    const char *v[1] = {ch->name};
    PGresult *r =
        pq_exec_params(db, "reading the order",
                       "SELECT id FROM cf_order WHERE name = $1 FOR UPDATE", 1, v, ch->diags);
    cf_err_t e = CF_OK;
    if (r == NULL)
        e = CF_ERR_DATABASE;
    else if (PQntuples(r) != 1) {
        cf_diag_add(ch->diags, CF_SEV_ERROR, db->where, 0, "no order named '%s'", ch->name);
        e = CF_ERR_NOT_FOUND;
    } else {
        snprintf(ch->id, sizeof(ch->id), "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return e;
}

/* Check the schema, then run body in one transaction with the order's row
 * locked; a failure to begin or commit becomes a diagnostic. */
static cf_err_t change(cf_order_db_t *db, struct change *ch, pq_tx_body body)
{
    cf_err_t e = order_schema_check(db, ch->diags);
    if (e != CF_OK)
        return e;
    char why[512] = "";
    e = pq_transaction(db, "changing the order", body, ch, why, sizeof(why));
    if (why[0])
        cf_diag_add(ch->diags, CF_SEV_ERROR, db->where, 0, "%s", why);
    return e;
}

static cf_err_t release_tx(cf_order_db_t *db, void *user)
{
    struct change *ch = user;
    cf_diag_list_t *diags = ch->diags;
    cf_err_t e = lock_order(db, ch);
    if (e != CF_OK)
        return e;
    char rec[24];
    snprintf(rec, sizeof(rec), "%llu", (unsigned long long)ch->record);
    const char *v[2] = {ch->id, rec};
    PGresult *r = pq_exec_params(
        db, "reading the record",
        "SELECT r.state, coalesce(r.station, ''), (SELECT a.serial || ' at station ' || a.station "
        "FROM cf_attempt a WHERE a.order_id = r.order_id AND a.record = r.record AND a.status = "
        "'open' AND a.voided IS NULL LIMIT 1) FROM cf_record r WHERE r.order_id = $1 AND "
        "r.record = $2 FOR UPDATE",
        2, v, diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    if (PQntuples(r) != 1) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "order '%s' has no record %s", ch->name,
                    rec);
        e = CF_ERR_NOT_FOUND;
    } else if (strcmp(PQgetvalue(r, 0, 0), "claimed") != 0) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "record %s is %s, not claimed", rec,
                    PQgetvalue(r, 0, 0));
        e = CF_ERR_INVALID;
    } else if (!PQgetisnull(r, 0, 2)) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "record %s is bound to card %s by an open intent: that card may be "
                    "changed. Let the station finish it, or void the card "
                    "(cardforge order void --serial ...)",
                    rec, PQgetvalue(r, 0, 2));
        e = CF_ERR_REFUSED;
    }
    PQclear(r);
    if (e != CF_OK)
        return e;
    r = pq_exec_params(db, "releasing the claim",
                       "UPDATE cf_record SET state = 'pending', station = NULL, fence = NULL, "
                       "claimed = NULL WHERE order_id = $1 AND record = $2",
                       2, v, diags);
    e = r != NULL ? CF_OK : CF_ERR_DATABASE;
    PQclear(r);
    return e;
}

cf_err_t cf_order_release(cf_order_db_t *db, const char *name, uint64_t record,
                          cf_diag_list_t *diags)
{
    struct change ch = {.name = name, .record = record, .diags = diags};
    return change(db, &ch, release_tx);
}

static cf_err_t void_tx(cf_order_db_t *db, void *user)
{
    struct change *ch = user;
    cf_diag_list_t *diags = ch->diags;
    cf_err_t e = lock_order(db, ch);
    if (e != CF_OK)
        return e;
    const char *v[2] = {ch->id, ch->serial};
    PGresult *r = pq_exec_params(db, "voiding the card's attempts",
                                 "UPDATE cf_attempt SET voided = now() WHERE order_id = $1 AND "
                                 "serial = $2 AND voided IS NULL AND status IN ('open', "
                                 "'personalized', 'failed') RETURNING record",
                                 2, v, diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "no card with serial %s in order '%s' (or it is voided already)", ch->serial,
                    ch->name);
        return CF_ERR_NOT_FOUND;
    }
    /* The record the card holds (done on it) or was being worked for (an
     * open intent): made again, on another card. */
    r = pq_exec_params(db, "putting the record back",
                       "UPDATE cf_record r SET state = 'pending', station = NULL, fence = NULL, "
                       "claimed = NULL, serial = NULL WHERE r.order_id = $1 AND ((r.state = "
                       "'done' AND r.serial = $2) OR (r.state = 'claimed' AND EXISTS (SELECT 1 "
                       "FROM cf_attempt a WHERE a.order_id = r.order_id AND a.record = r.record "
                       "AND a.serial = $2 AND a.status = 'open'))) RETURNING r.record",
                       2, v, diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    if (PQntuples(r) > 0)
        ch->record = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return CF_OK;
}

cf_err_t cf_order_void(cf_order_db_t *db, const char *name, const char *serial, uint64_t *record,
                       cf_diag_list_t *diags)
{
    struct change ch = {.name = name, .serial = serial, .diags = diags};
    cf_err_t e = change(db, &ch, void_tx);
    /* Only a committed change put a record back. */
    *record = e == CF_OK ? ch.record : 0;
    return e;
}
