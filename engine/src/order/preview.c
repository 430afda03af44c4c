/*
 * preview.c - what a station would find in its order, without joining it
 * (`cardforge run --dry-run --order`), and the check every station's copy
 * of the batch passes before it joins.
 *
 * The preview runs on a session that the server itself holds read-only
 * (default_transaction_read_only) in one REPEATABLE READ snapshot: it
 * cannot claim, register, or write anything even by mistake, and its counts
 * add up. It takes no advisory lock either: a running station under the
 * same name is seen in pg_locks, not waited for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_int.h"
#include "order/station.h"

cf_err_t order_check_copy(struct cf_order_db *db, const char *order, const char *batch_sha256,
                          const char *description_sha256, char id[24], cf_diag_list_t *diags)
{
    const char *v[1] = {order};
    PGresult *r = pq_exec_params(db, "reading the order",
                                 "SELECT id, batch_sha256, description_sha256 FROM cf_order "
                                 "WHERE name = $1",
                                 1, v, diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    cf_err_t e = CF_OK;
    if (PQntuples(r) != 1) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "no order named '%s'", order);
        PQclear(r);
        return CF_ERR_INVALID; /* a document that is wrong, not a file missing */
    }
    /* The batch first: another day's file is the likelier mistake. */
    const char *mine[2] = {batch_sha256, description_sha256};
    for (int i = 0; i < 2 && e == CF_OK; i++) {
        const char *theirs = PQgetvalue(r, 0, 1 + i);
        if (strcmp(theirs, mine[i]) == 0)
            continue;
        char head[300];
        if (i == 0)
            snprintf(head, sizeof(head), "this batch file is not order '%s''s", order);
        else
            snprintf(head, sizeof(head),
                     "this description is not the one order '%s' was loaded with", order);
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "%s (sha256 %.16s..., the order's %.16s...)%s", head, mine[i], theirs,
                    i == 0 ? ": each station runs a copy of the very file loaded" : "");
        e = CF_ERR_INVALID;
    }
    if (e == CF_OK)
        snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return e;
}

struct preview {
    const cf_station_opts_t *o;
    cf_station_preview_t *out;
    cf_diag_list_t *diags;
};

/* Records the station would claim, in the order it would claim them:
 * pending ones; its own claims no open intent binds (a join gives them
 * back first); claims of stations whose lease ran out that no open intent
 * binds (claim_sql in station.c takes the same). */
static const char claimable_sql[] =
    "SELECT r.record, count(*) OVER () FROM cf_record r WHERE r.order_id = $1 AND "
    "(r.state = 'pending' OR (r.state = 'claimed' AND (r.station = $2 OR EXISTS (SELECT 1 FROM "
    "cf_station s WHERE s.order_id = r.order_id AND s.station = r.station AND s.lease_until < "
    "now())) AND NOT EXISTS (SELECT 1 FROM cf_attempt a WHERE a.order_id = r.order_id AND "
    "a.record = r.record AND a.status = 'open' AND a.voided IS NULL))) ORDER BY r.record LIMIT 8";

/* Its claims an open intent binds to a card in its reader: it takes them
 * up again, whatever its lease. */
static const char held_sql[] =
    "SELECT r.record, count(*) OVER () FROM cf_record r WHERE r.order_id = $1 AND r.station = $2 "
    "AND r.state = 'claimed' AND EXISTS (SELECT 1 FROM cf_attempt a WHERE a.order_id = "
    "r.order_id AND a.record = r.record AND a.status = 'open' AND a.voided IS NULL) ORDER BY "
    "r.record LIMIT 8";

static cf_err_t first_records(struct cf_order_db *db, const char *what, const char *sql,
                              const char *const *v, uint64_t *count, uint64_t first[8], size_t *n,
                              cf_diag_list_t *diags)
{
    PGresult *r = pq_exec_params(db, what, sql, 2, v, diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    *n = 0;
    *count = PQntuples(r) > 0 ? strtoull(PQgetvalue(r, 0, 1), NULL, 10) : 0;
    for (int i = 0; i < PQntuples(r) && *n < 8; i++)
        first[(*n)++] = strtoull(PQgetvalue(r, i, 0), NULL, 10);
    PQclear(r);
    return CF_OK;
}

static cf_err_t preview_tx(struct cf_order_db *db, void *user)
{
    struct preview *p = user;
    cf_station_preview_t *out = p->out;
    char id[24];
    cf_err_t e = order_check_copy(db, p->o->order, p->o->batch_sha256, p->o->description_sha256, id,
                                  p->diags);
    if (e != CF_OK)
        return e;
    char key[24];
    order_station_lock_key(id, p->o->name, key);
    const char *v[3] = {id, p->o->name, key};
    PGresult *r = pq_exec_params(
        db, "counting the order's records",
        "SELECT count(*), count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state "
        "= 'claimed'), count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = "
        "'failed'), (SELECT number FROM cf_station WHERE order_id = $1 AND station = $2), (SELECT "
        "coalesce(max(number), 0) + 1 FROM cf_station WHERE order_id = $1), EXISTS (SELECT 1 FROM "
        "pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND ((classid::bigint "
        "<< 32) | objid::bigint) = $3::bigint) FROM cf_record WHERE order_id = $1",
        3, v, p->diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    uint64_t *counts[5] = {&out->records, &out->pending, &out->claimed, &out->done, &out->failed};
    for (int i = 0; i < 5; i++)
        *counts[i] = strtoull(PQgetvalue(r, 0, i), NULL, 10);
    out->number = PQgetisnull(r, 0, 5) ? 0 : (unsigned)strtoul(PQgetvalue(r, 0, 5), NULL, 10);
    out->next_number = (unsigned)strtoul(PQgetvalue(r, 0, 6), NULL, 10);
    out->running = PQgetvalue(r, 0, 7)[0] == 't';
    PQclear(r);
    e = first_records(db, "reading the station's claims", held_sql, v, &out->held, out->held_first,
                      &out->n_held_first, p->diags);
    if (e == CF_OK)
        e = first_records(db, "reading the claimable records", claimable_sql, v, &out->claimable,
                          out->next, &out->n_next, p->diags);
    return e;
}

cf_err_t cf_station_preview(const cf_station_opts_t *o, cf_station_preview_t *out,
                            cf_diag_list_t *diags)
{
    memset(out, 0, sizeof(*out));
    cf_order_db_t *db = NULL;
    cf_err_t e = cf_order_db_open(o->conninfo, diags, &db);
    if (e != CF_OK)
        return e;
    /* Read-only by the server's word, one snapshot for every count. */
    e = pq_run(db, "making the session read-only",
               "SET default_transaction_read_only = on; SET default_transaction_isolation = "
               "'repeatable read'",
               diags);
    if (e == CF_OK)
        e = order_schema_check(db, diags);
    if (e == CF_OK) {
        struct preview p = {.o = o, .out = out, .diags = diags};
        char why[512] = "";
        e = pq_transaction(db, "reading the order", preview_tx, &p, why, sizeof(why));
        if (why[0])
            cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "%s", why);
    }
    cf_order_db_close(db);
    return e;
}
