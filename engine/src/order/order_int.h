/*
 * order_int.h - the order database, inside the engine (internal).
 *
 * One connection per handle. Every statement goes through pq_exec /
 * pq_exec_params, which turn a failure into one diagnostic naming what was
 * being done and the server's own message (libpq's messages never hold a
 * password; batch values never reach a statement).
 */
#ifndef CF_ORDER_INT_H
#define CF_ORDER_INT_H

#include <libpq-fe.h>

#include <cardforge/order.h>

struct cf_order_db {
    PGconn *conn;
    char where[160]; /* "host:port/dbname" for messages */
    PGresult *held;  /* the result the strings of the last info point into */
};

/* Run sql; NULL on failure after adding "WHAT: the server's message". The
 * caller PQclear()s a non-NULL result. */
PGresult *pq_exec(struct cf_order_db *db, const char *what, const char *sql, cf_diag_list_t *diags);
PGresult *pq_exec_params(struct cf_order_db *db, const char *what, const char *sql, int n,
                         const char *const *values, cf_diag_list_t *diags);

/* Run sql that returns nothing; CF_OK or CF_ERR_DATABASE. */
cf_err_t pq_run(struct cf_order_db *db, const char *what, const char *sql, cf_diag_list_t *diags);

/* The statements of one transaction: CF_OK to commit, anything else to
 * roll back (that error is what pq_transaction returns). */
typedef cf_err_t (*pq_tx_body)(struct cf_order_db *db, void *user);

/* BEGIN, body, then COMMIT when body returned CF_OK and ROLLBACK when not:
 * the one place a transaction of the order database is opened and closed,
 * so that no path out of one leaves it open on the connection. Returns
 * body's error, or CF_ERR_DATABASE when BEGIN or COMMIT failed, with
 * "WHAT: the server's message" in why (left as it is otherwise: body
 * reports its own failures). */
cf_err_t pq_transaction(struct cf_order_db *db, const char *what, pq_tx_body body, void *user,
                        char *why, size_t cap);

/* The schema version found: 0 when there is no schema. CF_ERR_DATABASE. */
cf_err_t order_schema_version(struct cf_order_db *db, unsigned *version, cf_diag_list_t *diags);

/* CF_OK when the schema is this build's version; otherwise an error that
 * says what to do (init, or a newer cardforge). */
cf_err_t order_schema_check(struct cf_order_db *db, cf_diag_list_t *diags);

/* 1 when name is a usable order name (1..CF_ORDER_NAME_MAX bytes of
 * printable UTF-8-safe characters, no control characters); else 0 with a
 * reason in diags. */
int order_name_ok(const char *name, cf_diag_list_t *diags);

/* The order a station's copy belongs to: CF_OK with the order's id in id
 * when the order exists and the batch's and the description's SHA-256 are
 * the order's; else CF_ERR_INVALID (no such order, another file) or
 * CF_ERR_DATABASE, with the reason in diags. */
cf_err_t order_check_copy(struct cf_order_db *db, const char *order, const char *batch_sha256,
                          const char *description_sha256, char id[24], cf_diag_list_t *diags);

/* The key of the session advisory lock a station holds on its name in an
 * order while it runs (63 bits of a SHA-256 of both, as a decimal). */
void order_station_lock_key(const char *order_id, const char *name, char out[24]);

#endif
