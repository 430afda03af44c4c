/*
 * db.c - connecting to the order database, and running statements.
 *
 * The connection string is libpq's own (key=value or a URI), so services,
 * .pgpass and TLS settings work unchanged. One that carries a password is
 * refused before anything is sent: it came from a command line, where every
 * user of the machine can read it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order/order_int.h"

/* A libpq message ends with a newline and may run over several lines;
 * diagnostics are one line each. */
static void one_line(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; in != NULL && *in && n + 1 < cap; in++)
        out[n++] = (*in == '\n' || *in == '\r' || *in == '\t') ? ' ' : *in;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

static int has_password(const char *conninfo, char *why, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (opts == NULL) {
        one_line(err ? err : "cannot be parsed", why, cap);
        PQfreemem(err);
        return -1;
    }
    int found = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
            found = 1;
    PQconninfoFree(opts);
    return found;
}

cf_err_t cf_order_db_open(const char *conninfo, cf_diag_list_t *diags, cf_order_db_t **out)
{
    *out = NULL;
    char why[512];
    int pw = has_password(conninfo ? conninfo : "", why, sizeof(why));
    if (pw < 0) {
        cf_diag_add(diags, CF_SEV_ERROR, "--db", 0, "not a connection string or URI: %s", why);
        return CF_ERR_ARG;
    }
    if (pw > 0) {
        cf_diag_add(diags, CF_SEV_ERROR, "--db", 0,
                    "the connection string carries a password, which a command line shows "
                    "to every user of this machine; put it in ~/.pgpass (or the file "
                    "PGPASSFILE names) and leave it out of --db");
        return CF_ERR_ARG;
    }
    struct cf_order_db *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return CF_ERR_NOMEM;
    db->conn = PQconnectdb(conninfo ? conninfo : "");
    if (db->conn == NULL) {
        free(db);
        return CF_ERR_NOMEM;
    }
    const char *host = PQhost(db->conn), *port = PQport(db->conn), *name = PQdb(db->conn);
    snprintf(db->where, sizeof(db->where), "%s:%s/%s", host ? host : "?", port ? port : "?",
             name ? name : "?");
    if (PQstatus(db->conn) != CONNECTION_OK) {
        one_line(PQerrorMessage(db->conn), why, sizeof(why));
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "cannot connect to the order database: %s%s",
                    why,
                    PQconnectionNeedsPassword(db->conn)
                        ? " (the server asks for a password: put it in ~/.pgpass)"
                        : "");
        cf_order_db_close(db);
        return CF_ERR_DATABASE;
    }
    /* Times in messages and records are the database's, in UTC. */
    if (pq_run(db, "setting the session time zone", "SET TIME ZONE 'UTC'", diags) != CF_OK) {
        cf_order_db_close(db);
        return CF_ERR_DATABASE;
    }
    *out = db;
    return CF_OK;
}

void cf_order_db_close(cf_order_db_t *db)
{
    if (db == NULL)
        return;
    PQclear(db->held);
    PQfinish(db->conn);
    free(db);
}

static PGresult *checked(struct cf_order_db *db, const char *what, PGresult *res,
                         cf_diag_list_t *diags)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
        return res;
    char why[512];
    one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn), why, sizeof(why));
    cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "%s: %s", what,
                why[0] ? why : "the database did not answer");
    PQclear(res);
    return NULL;
}

PGresult *pq_exec(struct cf_order_db *db, const char *what, const char *sql, cf_diag_list_t *diags)
{
    return checked(db, what, PQexec(db->conn, sql), diags);
}

PGresult *pq_exec_params(struct cf_order_db *db, const char *what, const char *sql, int n,
                         const char *const *values, cf_diag_list_t *diags)
{
    return checked(db, what, PQexecParams(db->conn, sql, n, NULL, values, NULL, NULL, 0), diags);
}

cf_err_t pq_run(struct cf_order_db *db, const char *what, const char *sql, cf_diag_list_t *diags)
{
    PGresult *r = pq_exec(db, what, sql, diags);
    PQclear(r);
    return r != NULL ? CF_OK : CF_ERR_DATABASE;
}

/* A statement with no result to read, its failure as "WHAT: message". */
static int tx_statement(struct cf_order_db *db, const char *what, const char *sql, char *why,
                        size_t cap)
{
    PGresult *r = PQexec(db->conn, sql);
    /* A COMMIT of a transaction the server had aborted answers ROLLBACK. */
    int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), sql) == 0;
    if (!ok) {
        char msg[512];
        one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn), msg, sizeof(msg));
        snprintf(why, cap, "%s: %s", what, msg[0] ? msg : "the database did not answer");
    }
    PQclear(r);
    return ok;
}

cf_err_t pq_transaction(struct cf_order_db *db, const char *what, pq_tx_body body, void *user,
                        char *why, size_t cap)
{
    if (!tx_statement(db, what, "BEGIN", why, cap))
        return CF_ERR_DATABASE;
    cf_err_t e = body(db, user);
    if (e == CF_OK)
        return tx_statement(db, what, "COMMIT", why, cap) ? CF_OK : CF_ERR_DATABASE;
    /* A ROLLBACK that fails leaves nothing to undo: the server ends a
     * transaction whose connection it lost. */
    PQclear(PQexec(db->conn, "ROLLBACK"));
    return e;
}

int order_name_ok(const char *name, cf_diag_list_t *diags)
{
    size_t n = name ? strlen(name) : 0;
    const char *bad = NULL;
    if (n == 0)
        bad = "is empty";
    else if (n > CF_ORDER_NAME_MAX)
        bad = "is longer than 200 bytes";
    for (size_t i = 0; bad == NULL && i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7F)
            bad = "holds a control character";
    }
    if (bad != NULL)
        cf_diag_add(diags, CF_SEV_ERROR, "--name", 0, "the order name %s", bad);
    return bad == NULL;
}
