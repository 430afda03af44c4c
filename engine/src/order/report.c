/*
 * report.c - the order across its stations: per station, per reader, and
 * the attempts the database holds open (the cards that may be changed).
 * Throughput is personalized cards over the span from a station's (or
 * reader's) first card start to its last card end, as the journals timed
 * them.
 */
#include <stdlib.h>
#include <string.h>

#include "order/order_int.h"

static uint64_t u64(const PGresult *r, int row, int col)
{
    return strtoull(PQgetvalue(r, row, col), NULL, 10);
}

static double rate(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0.0 : strtod(PQgetvalue(r, row, col), NULL);
}

/* personalized cards per minute over first start .. last end */
#define RATE_SQL                                                                                   \
    "CASE WHEN max(a.ended) > min(a.started) THEN count(*) FILTER (WHERE a.status = "              \
    "'personalized') * 60.0 / extract(epoch FROM max(a.ended) - min(a.started)) END"

cf_err_t cf_order_report(cf_order_db_t *db, const char *name, cf_order_info_t *info,
                         const cf_order_report_fns_t *fns, cf_diag_list_t *diags)
{
    cf_err_t e = cf_order_status(db, name, info, diags);
    if (e != CF_OK)
        return e;
    const char *v[1] = {name};
    PGresult *r = NULL;
    if (fns->station != NULL) {
        r = pq_exec_params(
            db, "reading the stations",
            "SELECT s.station, count(*) FILTER (WHERE a.status = 'personalized' AND a.voided IS "
            "NULL), count(*) FILTER (WHERE a.status = 'failed'), count(*) FILTER (WHERE a.status "
            "= 'rejected'), (SELECT count(*) FROM cf_record c WHERE c.order_id = s.order_id AND "
            "c.station = s.station AND c.state = 'claimed'), count(*) FILTER (WHERE a.status = "
            "'open' AND a.voided IS NULL), " RATE_SQL ", s.lease_until > now(), "
            "to_char(s.lease_until, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM cf_station s JOIN "
            "cf_order o ON o.id = s.order_id LEFT JOIN cf_attempt a ON a.order_id = s.order_id "
            "AND a.station = s.station WHERE o.name = $1 GROUP BY s.order_id, s.station, "
            "s.lease_until ORDER BY s.station",
            1, v, diags);
        if (r == NULL)
            return CF_ERR_DATABASE;
        for (int i = 0; i < PQntuples(r); i++) {
            cf_order_station_row_t row = {
                .station = PQgetvalue(r, i, 0),
                .personalized = u64(r, i, 1),
                .failed = u64(r, i, 2),
                .rejected = u64(r, i, 3),
                .claims = u64(r, i, 4),
                .open = u64(r, i, 5),
                .cards_per_min = rate(r, i, 6),
                .lease_live = PQgetvalue(r, i, 7)[0] == 't',
                .lease_until = PQgetvalue(r, i, 8),
            };
            fns->station(fns->ctx, &row);
        }
        PQclear(r);
    }
    if (fns->reader != NULL) {
        r = pq_exec_params(
            db, "reading the readers",
            "SELECT a.station, a.reader, count(*) FILTER (WHERE a.status = "
            "'personalized' AND a.voided IS NULL), count(*) FILTER (WHERE "
            "a.status = 'failed'), count(*) FILTER (WHERE a.status = 'rejected'), " RATE_SQL
            " FROM cf_attempt a JOIN cf_order o ON o.id = a.order_id "
            "WHERE o.name = $1 AND a.status <> 'open' GROUP BY a.station, "
            "a.reader ORDER BY a.station, a.reader",
            1, v, diags);
        if (r == NULL)
            return CF_ERR_DATABASE;
        for (int i = 0; i < PQntuples(r); i++) {
            cf_order_reader_row_t row = {
                .station = PQgetvalue(r, i, 0),
                .reader = PQgetvalue(r, i, 1),
                .personalized = u64(r, i, 2),
                .failed = u64(r, i, 3),
                .rejected = u64(r, i, 4),
                .cards_per_min = rate(r, i, 5),
            };
            fns->reader(fns->ctx, &row);
        }
        PQclear(r);
    }
    if (fns->open != NULL) {
        r = pq_exec_params(db, "reading the open attempts",
                           "SELECT a.station, a.serial, to_char(coalesce(a.started, a.uploaded), "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), a.attempt, coalesce(a.record, 0), "
                           "NOT EXISTS (SELECT 1 FROM cf_station s WHERE s.order_id = a.order_id "
                           "AND s.station = a.station AND s.lease_until > now()) FROM cf_attempt "
                           "a JOIN cf_order o ON o.id = a.order_id WHERE o.name = $1 AND "
                           "a.status = 'open' AND a.voided IS NULL ORDER BY a.station, a.attempt",
                           1, v, diags);
        if (r == NULL)
            return CF_ERR_DATABASE;
        for (int i = 0; i < PQntuples(r); i++) {
            cf_order_open_row_t row = {
                .station = PQgetvalue(r, i, 0),
                .serial = PQgetvalue(r, i, 1),
                .since = PQgetvalue(r, i, 2),
                .attempt = u64(r, i, 3),
                .record = u64(r, i, 4),
                .in_doubt = PQgetvalue(r, i, 5)[0] == 't',
            };
            fns->open(fns->ctx, &row);
        }
        PQclear(r);
    }
    return CF_OK;
}
