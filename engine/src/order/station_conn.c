/*
 * station_conn.c - a station's connections to the order database: running
 * statements, preparing them once per session, and the card connections
 * the reader threads share (see station_conn.h for why there are several).
 */
#include <stdio.h>
#include <string.h>

#include "order/station_conn.h"

static void fail_why(st_conn_t *c, PGresult *r, const char *what, char *why, size_t cap)
{
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c->db->conn);
    if (m == NULL || m[0] == '\0')
        m = PQerrorMessage(c->db->conn);
    snprintf(why, cap, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
}

static PGresult *checked(st_conn_t *c, PGresult *r, const char *what, char *why, size_t cap)
{
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return r;
    fail_why(c, r, what, why, cap);
    PQclear(r);
    return NULL;
}

PGresult *st_run(st_conn_t *c, const char *what, const char *sql, int n, const char *const *vals,
                 char *why, size_t cap)
{
    return checked(c, PQexecParams(c->db->conn, sql, n, NULL, vals, NULL, NULL, 0), what, why, cap);
}

PGresult *st_call(st_conn_t *c, const st_stmt_t *s, const char *const *vals, char *why, size_t cap)
{
    unsigned bit = 1u << s->bit;
    if (c->prepared == 0) {
        /* One plan per statement and session: with the default, the server
         * plans these short statements again on each call (the CTEs cost
         * it several times what running them does), because a custom plan
         * looks no dearer than the generic one. Their parameters are keys
         * and tokens, so the generic plan is the plan. */
        PGresult *g = st_run(c, "choosing the session's plans",
                             "SET plan_cache_mode = force_generic_plan", 0, NULL, why, cap);
        if (g == NULL)
            return NULL;
        PQclear(g);
    }
    if (!(c->prepared & bit)) {
        /* The parameters' types are the server's inference, as with an
         * unprepared statement: the texts are the same. */
        PGresult *p = checked(c, PQprepare(c->db->conn, s->name, s->sql, s->n_params, NULL),
                              s->what, why, cap);
        if (p == NULL)
            return NULL;
        PQclear(p);
        c->prepared |= bit;
    }
    return checked(c, PQexecPrepared(c->db->conn, s->name, s->n_params, vals, NULL, NULL, 0),
                   s->what, why, cap);
}

int st_conn_reset(st_conn_t *c, char *why, size_t cap)
{
    c->prepared = 0;
    PQreset(c->db->conn);
    if (PQstatus(c->db->conn) != CONNECTION_OK) {
        snprintf(why, cap, "cannot reconnect: %.*s",
                 (int)strcspn(PQerrorMessage(c->db->conn), "\n"), PQerrorMessage(c->db->conn));
        return -1;
    }
    PGresult *r =
        st_run(c, "setting the session time zone", "SET TIME ZONE 'UTC'", 0, NULL, why, cap);
    PQclear(r);
    return r != NULL ? 0 : -1;
}

int st_conn_usable(st_conn_t *c, const char *conninfo, char *why, size_t cap)
{
    if (c->db != NULL)
        return PQstatus(c->db->conn) == CONNECTION_OK ? 0 : st_conn_reset(c, why, cap);
    cf_diag_list_t *d = cf_diag_list_new();
    if (d == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    cf_err_t e = cf_order_db_open(conninfo, d, &c->db);
    if (e != CF_OK)
        snprintf(why, cap, "%s",
                 cf_diag_count(d) ? cf_diag_message(d, 0) : "cannot connect to the order database");
    cf_diag_list_free(d);
    c->prepared = 0;
    return e == CF_OK ? 0 : -1;
}

st_conn_t *st_card_conn(st_conn_t pool[ST_CARD_CONNS], const char *conninfo, unsigned hint,
                        char *why, size_t cap)
{
    st_conn_t *c = NULL;
    /* An open, idle one first; then one never opened; then wait. */
    for (int pass = 0; pass < 2 && c == NULL; pass++)
        for (unsigned i = 0; i < ST_CARD_CONNS && c == NULL; i++) {
            if (pthread_mutex_trylock(&pool[i].mu) != 0)
                continue;
            if (pass == 0 && pool[i].db == NULL)
                pthread_mutex_unlock(&pool[i].mu);
            else
                c = &pool[i];
        }
    if (c == NULL) {
        c = &pool[hint % ST_CARD_CONNS];
        pthread_mutex_lock(&c->mu);
    }
    if (st_conn_usable(c, conninfo, why, cap) != 0) {
        pthread_mutex_unlock(&c->mu);
        return NULL;
    }
    return c;
}
