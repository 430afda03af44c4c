/*
 * rework.c - an operator's hand on an order: a claim given back, a card
 * voided for rework. Each in one transaction, with the order's row locked
 * so that no station's claim or result interleaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_int.h"

/* BEGIN, lock the order's row; its id into id. */
static cf_err_t begin_on(cf_order_db_t *db, const char *name, char id[24], cf_diag_list_t *diags)
{
    cf_err_t e = order_schema_check(db, diags);
    if (e != CF_OK)
        return e;
    if (pq_run(db, "starting the change", "BEGIN", diags) != CF_OK)
        return CF_ERR_DATABASE;
    const char *v[1] = {name};
    PGresult *r = pq_exec_params(db, "reading the order",
                                 "SELECT id FROM cf_order WHERE name = $1 FOR UPDATE", 1, v, diags);
    if (r == NULL)
        e = CF_ERR_DATABASE;
    else if (PQntuples(r) != 1) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "no order named '%s'", name);
        e = CF_ERR_NOT_FOUND;
    } else {
        snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    if (e != CF_OK)
        PQclear(PQexec(db->conn, "ROLLBACK"));
    return e;
}

static cf_err_t finish(cf_order_db_t *db, cf_err_t e, cf_diag_list_t *diags)
{
    if (e == CF_OK)
        return pq_run(db, "committing the change", "COMMIT", diags) == CF_OK ? CF_OK
                                                                             : CF_ERR_DATABASE;
    PQclear(PQexec(db->conn, "ROLLBACK"));
    return e;
}

cf_err_t cf_order_release(cf_order_db_t *db, const char *name, uint64_t record,
                          cf_diag_list_t *diags)
{
    char id[24], rec[24];
    cf_err_t e = begin_on(db, name, id, diags);
    if (e != CF_OK)
        return e;
    snprintf(rec, sizeof(rec), "%llu", (unsigned long long)record);
    const char *v[2] = {id, rec};
    PGresult *r = pq_exec_params(
        db, "reading the record",
        "SELECT r.state, coalesce(r.station, ''), (SELECT a.serial || ' at station ' || a.station "
        "FROM cf_attempt a WHERE a.order_id = r.order_id AND a.record = r.record AND a.status = "
        "'open' AND a.voided IS NULL LIMIT 1) FROM cf_record r WHERE r.order_id = $1 AND "
        "r.record = $2 FOR UPDATE",
        2, v, diags);
    if (r == NULL)
        return finish(db, CF_ERR_DATABASE, diags);
    if (PQntuples(r) != 1) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "order '%s' has no record %s", name, rec);
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
    if (e == CF_OK) {
        r = pq_exec_params(db, "releasing the claim",
                           "UPDATE cf_record SET state = 'pending', station = NULL, fence = NULL, "
                           "claimed = NULL WHERE order_id = $1 AND record = $2",
                           2, v, diags);
        e = r != NULL ? CF_OK : CF_ERR_DATABASE;
        PQclear(r);
    }
    return finish(db, e, diags);
}

cf_err_t cf_order_void(cf_order_db_t *db, const char *name, const char *serial, uint64_t *record,
                       cf_diag_list_t *diags)
{
    *record = 0;
    char id[24];
    cf_err_t e = begin_on(db, name, id, diags);
    if (e != CF_OK)
        return e;
    const char *v[2] = {id, serial};
    PGresult *r = pq_exec_params(db, "voiding the card's attempts",
                                 "UPDATE cf_attempt SET voided = now() WHERE order_id = $1 AND "
                                 "serial = $2 AND voided IS NULL AND status IN ('open', "
                                 "'personalized', 'failed') RETURNING record",
                                 2, v, diags);
    if (r == NULL)
        return finish(db, CF_ERR_DATABASE, diags);
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "no card with serial %s in order '%s' (or it is voided already)", serial, name);
        return finish(db, CF_ERR_NOT_FOUND, diags);
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
        return finish(db, CF_ERR_DATABASE, diags);
    if (PQntuples(r) > 0)
        *record = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return finish(db, CF_OK, diags);
}
