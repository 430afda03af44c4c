/*
 * status.c - where the orders stand: list and status.
 *
 * Counts come from the records' states in one statement, so the four
 * numbers of an order always add up to its records, whatever the stations
 * are doing meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include "order/order_int.h"

#define INFO_SQL                                                                                   \
    "SELECT o.name, to_char(o.created, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                        \
    "o.description_sha256, o.batch_sha256, o.description_name, o.batch_name, o.records, "          \
    "count(*) FILTER (WHERE r.state = 'pending'), count(*) FILTER (WHERE r.state = 'claimed'), "   \
    "count(*) FILTER (WHERE r.state = 'done'), count(*) FILTER (WHERE r.state = 'failed') "        \
    "FROM cf_order o LEFT JOIN cf_record r ON r.order_id = o.id "

static uint64_t u64(const PGresult *r, int row, int col)
{
    return strtoull(PQgetvalue(r, row, col), NULL, 10);
}

static void fill(const PGresult *r, int row, cf_order_info_t *out)
{
    memset(out, 0, sizeof(*out));
    out->name = PQgetvalue(r, row, 0);
    out->created = PQgetvalue(r, row, 1);
    out->description_sha256 = PQgetvalue(r, row, 2);
    out->batch_sha256 = PQgetvalue(r, row, 3);
    out->description_name = PQgetvalue(r, row, 4);
    out->batch_name = PQgetvalue(r, row, 5);
    out->records = u64(r, row, 6);
    out->pending = u64(r, row, 7);
    out->claimed = u64(r, row, 8);
    out->done = u64(r, row, 9);
    out->failed = u64(r, row, 10);
}

cf_err_t cf_order_list(cf_order_db_t *db, int (*fn)(void *ctx, const cf_order_info_t *info),
                       void *ctx, cf_diag_list_t *diags)
{
    cf_err_t e = order_schema_check(db, diags);
    if (e != CF_OK)
        return e;
    PGresult *r = pq_exec(db, "listing the orders", INFO_SQL "GROUP BY o.id ORDER BY o.id", diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    for (int i = 0; i < PQntuples(r); i++) {
        cf_order_info_t info;
        fill(r, i, &info);
        if (fn(ctx, &info) != 0)
            break;
    }
    PQclear(r);
    return CF_OK;
}

cf_err_t cf_order_status(cf_order_db_t *db, const char *name, cf_order_info_t *out,
                         cf_diag_list_t *diags)
{
    memset(out, 0, sizeof(*out));
    cf_err_t e = order_schema_check(db, diags);
    if (e != CF_OK)
        return e;
    const char *vals[1] = {name};
    PGresult *r = pq_exec_params(db, "reading the order",
                                 INFO_SQL "WHERE o.name = $1 GROUP BY o.id", 1, vals, diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    if (PQntuples(r) != 1) {
        PQclear(r);
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "no order named '%s'", name);
        return CF_ERR_NOT_FOUND;
    }
    PQclear(db->held);
    db->held = r;
    fill(r, 0, out);
    return CF_OK;
}
