/*
 * station_conn.h - a station's connections to the order database (internal
 * to the order module).
 *
 * Why several: with one connection behind one lock, a card's intent or
 * result waited for whatever call held it (a claim, a heartbeat, another
 * reader's result), and each of those waits for a busy machine's cores.
 * So a station has a control connection (its name's advisory lock, the
 * claims, heartbeats, replays) and a few card connections, opened on first
 * use, that the reader threads take one at a time for intents and results.
 * Every write on any of them names the station's fencing token as before:
 * the connection a statement travels on changes nothing the server checks.
 *
 * The calls on the cards' and claims' path are prepared once per session
 * (the server parses and plans them once); a reset session forgets them,
 * and so does its bitmask here.
 */
#ifndef CF_ORDER_STATION_CONN_H
#define CF_ORDER_STATION_CONN_H

#include <pthread.h>
#include <stddef.h>

#include "order/order_int.h"

#define ST_CARD_CONNS 4

/* One statement prepared under name on each session that runs it. */
typedef struct st_stmt {
    unsigned bit; /* 0..31: its bit in st_conn.prepared */
    const char *name, *what, *sql;
    int n_params;
} st_stmt_t;

typedef struct st_conn {
    pthread_mutex_t mu;
    cf_order_db_t *db; /* NULL: not opened yet */
    unsigned prepared; /* the st_stmt bits prepared on this session */
} st_conn_t;

/* Every call below is made with c->mu held. */

/* Run sql with text parameters: the result, or NULL with "WHAT: the
 * server's message" in why. The caller PQclear()s a result. */
PGresult *st_run(st_conn_t *c, const char *what, const char *sql, int n, const char *const *vals,
                 char *why, size_t cap);

/* Run a prepared statement, preparing it first on this session if need be;
 * as st_run. */
PGresult *st_call(st_conn_t *c, const st_stmt_t *s, const char *const *vals, char *why, size_t cap);

/* Connect again (a reset session: the time zone set again, nothing
 * prepared). 0, or -1 with why. */
int st_conn_reset(st_conn_t *c, char *why, size_t cap);

/* Open a card connection that was not yet, or connect it again when its
 * session was lost (a restarted server, a terminated backend). 0, or -1
 * with why. */
int st_conn_usable(st_conn_t *c, const char *conninfo, char *why, size_t cap);

/* A card connection, locked: a free one when there is one (opened on its
 * first use, connected again when its session was lost), else the one the
 * caller's hint names, waited for. NULL with why when it cannot connect. The
 * caller unlocks ->mu. */
st_conn_t *st_card_conn(st_conn_t pool[ST_CARD_CONNS], const char *conninfo, unsigned hint,
                        char *why, size_t cap);

#endif
