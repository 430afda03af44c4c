/*
 * order.h - several stations, one order: the batch's records in a
 * PostgreSQL database that every station claims work from.
 *
 * The database holds what coordinates the stations and what an operator
 * needs to see the order whole: record numbers, batch lines, the ID
 * column, each record's state and claim, and each attempt's result. It
 * never holds a batch value, a PIN, a PUK or a key: every station reads the
 * values from its own copy of the batch file, whose SHA-256 must be the
 * order's. See docs/stations.md.
 *
 * Connection: a libpq connection string or URI (docs/stations.md), so
 * PGSERVICE, ~/.pgpass and the TLS settings (sslmode, sslrootcert, ...)
 * work as libpq's users expect. A connection string that carries a password
 * is refused: it would be on a command line; .pgpass is the place.
 *
 * Ownership: cf_order_db_t is opaque, owned by the caller of
 * cf_order_db_open and released with cf_order_db_close. Strings in the
 * structures filled here are owned by the db handle and valid until the
 * next call on it. No function here is safe to call on one handle from two
 * threads at once.
 */
#ifndef CARDFORGE_ORDER_H
#define CARDFORGE_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/plan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this build reads and writes. */
#define CF_ORDER_SCHEMA_VERSION 1u

/* Longest order name, in bytes. */
#define CF_ORDER_NAME_MAX 200u

typedef struct cf_order_db cf_order_db_t;

/* Connect. CF_ERR_ARG for a connection string that cannot be parsed or
 * that carries a password; CF_ERR_DATABASE when the server cannot be
 * reached or refuses (the reason from libpq, which never holds the
 * password). Diagnostics name the server, never a password. */
cf_err_t cf_order_db_open(const char *conninfo, cf_diag_list_t *diags, cf_order_db_t **out);
void cf_order_db_close(cf_order_db_t *db); /* NULL is fine */

/* Create the schema, or upgrade it to CF_ORDER_SCHEMA_VERSION, in one
 * transaction (concurrent calls wait for each other). *from gets the
 * version found (0: none), *to the version now. A database whose schema
 * is newer than this build's is refused (CF_ERR_UNSUPPORTED). */
cf_err_t cf_order_db_init(cf_order_db_t *db, unsigned *from, unsigned *to, cf_diag_list_t *diags);

/* Load a batch into a new order: the batch is checked against the plan
 * exactly as `run` checks it (every record resolved, no ID twice), from one
 * read of the file whose SHA-256 becomes the order's, then the order and
 * its records go in one transaction. CF_ERR_INVALID for an invalid batch
 * or name, CF_ERR_ALREADY_DONE when the name exists, CF_ERR_IO for an
 * unreadable file. *records gets the count (may be NULL). */
cf_err_t cf_order_load(cf_order_db_t *db, const char *name, const cf_plan_t *plan,
                       const char *batch_path, cf_diag_list_t *diags, size_t *records);

/* Where an order stands. */
typedef struct cf_order_info {
    const char *name;
    const char *created; /* ISO 8601, the database's clock */
    const char *description_sha256, *batch_sha256;
    const char *description_name, *batch_name; /* as given at load */
    uint64_t records;
    uint64_t pending, claimed, done, failed;
} cf_order_info_t;

/* Every order, oldest first: fn is called once per order (info valid for
 * the call only); a non-zero return stops the walk. */
cf_err_t cf_order_list(cf_order_db_t *db, int (*fn)(void *ctx, const cf_order_info_t *info),
                       void *ctx, cf_diag_list_t *diags);

/* One order by name; CF_ERR_NOT_FOUND when there is none. */
cf_err_t cf_order_status(cf_order_db_t *db, const char *name, cf_order_info_t *out,
                         cf_diag_list_t *diags);

/* Give a claimed record back to the order (state pending), for another
 * station to take. Refused (CF_ERR_REFUSED, with the card and station
 * named) while an open intent binds the record to a card: that card may be
 * changed; its station finishes it, or an operator voids it. CF_ERR_INVALID
 * when the record is not claimed, CF_ERR_NOT_FOUND for no such order or
 * record. */
cf_err_t cf_order_release(cf_order_db_t *db, const char *name, uint64_t record,
                          cf_diag_list_t *diags);

/* Void the card with this serial for rework: its attempts are marked void
 * (the serial may be personalized again), and the record it holds or was
 * being worked for goes back to pending, to be made again on another card.
 * *record gets that record (0 when none). CF_ERR_NOT_FOUND when no attempt
 * of the order names the serial. */
cf_err_t cf_order_void(cf_order_db_t *db, const char *name, const char *serial,
                       uint64_t *record, cf_diag_list_t *diags);

/* ---- the order across stations (cardforge report --db --order) ---- */

typedef struct cf_order_station_row {
    const char *station;
    uint64_t personalized, failed, rejected; /* attempts that ended so */
    uint64_t claims;                         /* records it holds now */
    uint64_t open;                           /* attempts with an open intent */
    double cards_per_min;                    /* personalized over its first start..last end */
    int lease_live;                          /* its lease has not run out */
    const char *lease_until;                 /* ISO 8601, the database's clock */
} cf_order_station_row_t;

typedef struct cf_order_reader_row {
    const char *station, *reader;
    uint64_t personalized, failed, rejected;
    double cards_per_min;
} cf_order_reader_row_t;

/* An attempt whose intent is in the database and whose result is not: the
 * card may be changed. in_doubt: its station's lease has run out, so no
 * running station is finishing it (start that station again, or void the
 * card). */
typedef struct cf_order_open_row {
    const char *station, *serial, *since;
    uint64_t attempt, record;
    int in_doubt;
} cf_order_open_row_t;

typedef struct cf_order_report_fns {
    void *ctx;
    void (*station)(void *ctx, const cf_order_station_row_t *row);
    void (*reader)(void *ctx, const cf_order_reader_row_t *row);
    void (*open)(void *ctx, const cf_order_open_row_t *row);
} cf_order_report_fns_t;

/* The order's totals (as cf_order_status) into *info, then each station,
 * each reader and each open attempt through fns (rows valid for the call
 * only; a NULL function skips its rows). */
cf_err_t cf_order_report(cf_order_db_t *db, const char *name, cf_order_info_t *info,
                         const cf_order_report_fns_t *fns, cf_diag_list_t *diags);

#ifdef __cplusplus
}
#endif

#endif
