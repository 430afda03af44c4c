/*
 * station.c - one station's part in an order: join, claims, intents,
 * results, heartbeat, replay (see station.h for the rules they keep).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "order/order_int.h"
#include "order/station.h"
#include "order/station_conn.h"

struct cf_station {
    st_conn_t ctl;                 /* the name's lock, claims, heartbeats, replays */
    st_conn_t card[ST_CARD_CONNS]; /* intents and results (station_conn.h) */
    char conninfo[1024];
    char order_id[24], name[65], fence[24], lease[16];
    char lock_key[24]; /* the advisory lock of (order, name) */
    unsigned number;
};

/* A statement on the control connection (its lock held, or the station
 * not yet shared with other threads). */
static PGresult *run(cf_station_t *st, const char *what, const char *sql, int n,
                     const char *const *vals, char *why, size_t cap)
{
    return st_run(&st->ctl, what, sql, n, vals, why, cap);
}

void order_station_lock_key(const char *order_id, const char *name, char out[24])
{
    unsigned char md[32];
    unsigned int n = 0;
    char buf[128];
    int len = snprintf(buf, sizeof(buf), "cardforge station %s/%s", order_id, name);
    EVP_Digest(buf, (size_t)len, md, &n, EVP_sha256(), NULL);
    unsigned long long k = 0;
    for (int i = 0; i < 8; i++)
        k = (k << 8) | md[i];
    snprintf(out, 24, "%lld", (long long)(k >> 1));
}

/* Take the station's name for this session: one process per name. */
static cf_err_t take_name(cf_station_t *st, char *why, size_t cap)
{
    const char *v[1] = {st->lock_key};
    PGresult *r = run(st, "taking the station's name", "SELECT pg_try_advisory_lock($1::bigint)", 1,
                      v, why, cap);
    if (r == NULL)
        return CF_ERR_DATABASE;
    int got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!got) {
        snprintf(why, cap,
                 "station '%s' is running in another process on this order (one process per "
                 "station name)",
                 st->name);
        return CF_ERR_SHARING;
    }
    return CF_OK;
}

static cf_err_t check_order(cf_station_t *st, const cf_station_opts_t *o, cf_diag_list_t *diags)
{
    return order_check_copy(st->ctl.db, o->order, o->batch_sha256, o->description_sha256,
                            st->order_id, diags);
}

/* What the statements of a transaction need of their caller. */
struct tx {
    cf_station_t *st;
    char *why;
    size_t cap;
};

/* Stations joining at once take numbers one after the other: the order's
 * row is locked for the numbering. */
static cf_err_t number_tx(struct cf_order_db *db, void *user)
{
    (void)db;
    struct tx *t = user;
    cf_station_t *st = t->st;
    const char *o[1] = {st->order_id};
    PGresult *r = run(st, "registering the station",
                      "SELECT 1 FROM cf_order WHERE id = $1 FOR UPDATE", 1, o, t->why, t->cap);
    if (r == NULL)
        return CF_ERR_DATABASE;
    PQclear(r);
    const char *v[3] = {st->order_id, st->name, st->lease};
    r = run(st, "registering the station",
            "INSERT INTO cf_station (order_id, station, number, fence, lease_until) "
            "SELECT $1, $2, coalesce(max(number), 0) + 1, nextval('cf_fence'), "
            "now() + make_interval(secs => $3::int) FROM cf_station WHERE order_id = $1 "
            "ON CONFLICT (order_id, station) DO UPDATE SET fence = nextval('cf_fence'), "
            "lease_until = EXCLUDED.lease_until, started = now() "
            "RETURNING number, fence",
            3, v, t->why, t->cap);
    if (r == NULL)
        return CF_ERR_DATABASE;
    st->number = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(st->fence, sizeof(st->fence), "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    return CF_OK;
}

/* Register (or re-register) the station: a new token and lease; its
 * number is kept from the first join. */
static cf_err_t register_station(cf_station_t *st, char *why, size_t cap)
{
    struct tx t = {.st = st, .why = why, .cap = cap};
    cf_err_t e = pq_transaction(st->ctl.db, "registering the station", number_tx, &t, why, cap);
    if (e != CF_OK)
        return e;
    /* This station's claims move to the new token; those no intent binds
     * to a card go back to the order. */
    const char *w[3] = {st->order_id, st->name, st->fence};
    PGresult *r = run(st, "taking over the station's claims",
                      "UPDATE cf_record SET fence = $3 WHERE order_id = $1 AND station = $2 "
                      "AND state = 'claimed'",
                      3, w, why, cap);
    if (r == NULL)
        return CF_ERR_DATABASE;
    PQclear(r);
    return CF_OK;
}

/* Claims of this station that no open intent binds: back to pending. */
static cf_err_t release_untouched(cf_station_t *st, char *why, size_t cap)
{
    const char *v[2] = {st->order_id, st->name};
    PGresult *r = run(st, "releasing untouched claims",
                      "UPDATE cf_record r SET state = 'pending', station = NULL, fence = NULL, "
                      "claimed = NULL WHERE r.order_id = $1 AND r.station = $2 AND "
                      "r.state = 'claimed' AND NOT EXISTS (SELECT 1 FROM cf_attempt a WHERE "
                      "a.order_id = r.order_id AND a.record = r.record AND a.station = $2 AND "
                      "a.status IN ('open', 'personalized') AND a.voided IS NULL)",
                      2, v, why, cap);
    if (r == NULL)
        return CF_ERR_DATABASE;
    PQclear(r);
    return CF_OK;
}

/* One card connection opened on a thread of its own (open_card_conns). */
typedef struct {
    st_conn_t *c;
    const char *conninfo;
    int rc;
    char why[512];
} conn_opener_t;

static void *open_one(void *arg)
{
    conn_opener_t *o = arg;
    o->rc = st_conn_usable(o->c, o->conninfo, o->why, sizeof(o->why));
    return NULL;
}

/* The card connections are opened at the join, not on the first cards: a
 * connection costs the server a process, tens of ms on a busy machine,
 * which the first cards would otherwise wait for. They are opened side by
 * side: one after the other they held a station's first card back by their
 * sum, which several stations starting together multiplied. */
static cf_err_t open_card_conns(cf_station_t *st, unsigned asked, char *why, size_t cap)
{
    unsigned want = asked == 0 || asked > ST_CARD_CONNS ? ST_CARD_CONNS : asked;
    conn_opener_t op[ST_CARD_CONNS];
    pthread_t th[ST_CARD_CONNS];
    int started[ST_CARD_CONNS] = {0};
    for (unsigned i = 0; i < want; i++) {
        op[i] = (conn_opener_t){.c = &st->card[i], .conninfo = st->conninfo, .rc = -1};
        started[i] = pthread_create(&th[i], NULL, open_one, &op[i]) == 0;
        if (!started[i]) /* no thread: opened here, as before */
            open_one(&op[i]);
    }
    cf_err_t e = CF_OK;
    for (unsigned i = 0; i < want; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        if (op[i].rc != 0 && e == CF_OK) {
            snprintf(why, cap, "%s", op[i].why);
            e = CF_ERR_DATABASE;
        }
    }
    return e;
}

cf_err_t cf_station_join(const cf_station_opts_t *o, cf_diag_list_t *diags, cf_station_t **out)
{
    *out = NULL;
    size_t nl = o->name ? strlen(o->name) : 0;
    if (nl == 0 || nl > 64) {
        cf_diag_add(diags, CF_SEV_ERROR, "--station", 0, "a station name is 1 to 64 bytes");
        return CF_ERR_ARG;
    }
    cf_station_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return CF_ERR_NOMEM;
    pthread_mutex_init(&st->ctl.mu, NULL);
    for (int i = 0; i < ST_CARD_CONNS; i++)
        pthread_mutex_init(&st->card[i].mu, NULL);
    snprintf(st->name, sizeof(st->name), "%s", o->name);
    snprintf(st->lease, sizeof(st->lease), "%u", o->lease_s ? o->lease_s : 30);
    snprintf(st->conninfo, sizeof(st->conninfo), "%s", o->conninfo ? o->conninfo : "");
    cf_err_t e = cf_order_db_open(st->conninfo, diags, &st->ctl.db);
    if (e == CF_OK)
        e = order_schema_check(st->ctl.db, diags);
    if (e == CF_OK)
        e = check_order(st, o, diags);
    char why[512] = "";
    if (e == CF_OK) {
        order_station_lock_key(st->order_id, st->name, st->lock_key);
        e = take_name(st, why, sizeof(why));
    }
    if (e == CF_OK)
        e = register_station(st, why, sizeof(why));
    if (e == CF_OK)
        e = release_untouched(st, why, sizeof(why));
    if (e == CF_OK)
        e = open_card_conns(st, o->card_connections, why, sizeof(why));
    if (e == CF_OK && st->number > 255) {
        snprintf(why, sizeof(why), "an order takes at most 255 stations");
        e = CF_ERR_INVALID;
    }
    if (e != CF_OK) {
        if (why[0])
            cf_diag_add(diags, CF_SEV_ERROR, st->ctl.db ? st->ctl.db->where : "--db", 0, "%s", why);
        cf_station_leave(st);
        return e;
    }
    *out = st;
    return CF_OK;
}

void cf_station_leave(cf_station_t *st)
{
    if (st == NULL)
        return;
    if (st->ctl.db != NULL && st->fence[0] && PQstatus(st->ctl.db->conn) == CONNECTION_OK) {
        char why[256];
        release_untouched(st, why, sizeof(why));
        const char *v[3] = {st->order_id, st->name, st->fence};
        PQclear(run(st, "ending the lease",
                    "UPDATE cf_station SET lease_until = now() WHERE order_id = $1 AND "
                    "station = $2 AND fence = $3",
                    3, v, why, sizeof(why)));
    }
    cf_order_db_close(st->ctl.db);
    pthread_mutex_destroy(&st->ctl.mu);
    for (int i = 0; i < ST_CARD_CONNS; i++) {
        cf_order_db_close(st->card[i].db);
        pthread_mutex_destroy(&st->card[i].mu);
    }
    free(st);
}

unsigned cf_station_number(const cf_station_t *st)
{
    return st->number;
}

/* The claim: the lowest records (up to $4) that are pending, or claimed by
 * a station whose lease ran out and that no open intent binds, taken only
 * while this station's own lease and token hold. The two kinds are looked
 * for apart so that each walks its own partial index: one query over both
 * read every done record of the order on each claim (the primary key in
 * record order, the done rows filtered out one by one), a cost that grew
 * with the order. Lapsed candidates are locked only when there are some;
 * of the two lists the lowest $4 are taken, the rest unlocked at once. */
static const st_stmt_t claim_stmt = {
    0, "cf_claim", "claiming records",
    "WITH me AS (SELECT 1 FROM cf_station WHERE order_id = $1 AND station = $2 AND fence = $3 "
    "AND lease_until > now()), pend AS (SELECT r.order_id, r.record FROM cf_record r WHERE "
    "r.order_id = $1 AND r.state = 'pending' AND EXISTS (SELECT 1 FROM me) ORDER BY r.record "
    "LIMIT $4 FOR UPDATE SKIP LOCKED), lapsed AS (SELECT r.order_id, r.record FROM cf_record r "
    "WHERE r.order_id = $1 AND r.state = 'claimed' AND r.station <> $2 AND EXISTS (SELECT 1 FROM "
    "me) AND EXISTS (SELECT 1 FROM cf_station s WHERE s.order_id = r.order_id AND s.station = "
    "r.station AND s.lease_until < now()) AND NOT EXISTS (SELECT 1 FROM cf_attempt a WHERE "
    "a.order_id = r.order_id AND a.record = r.record AND a.status = 'open' AND a.voided IS NULL) "
    "ORDER BY r.record LIMIT $4 FOR UPDATE SKIP LOCKED), pick AS (SELECT order_id, record FROM "
    "pend UNION ALL SELECT order_id, record FROM lapsed ORDER BY record LIMIT $4) "
    "UPDATE cf_record r SET state = 'claimed', station = $2, fence = $3, claimed = now() "
    "FROM pick WHERE r.order_id = pick.order_id AND r.record = pick.record RETURNING r.record",
    4};

int cf_station_claim(cf_station_t *st, unsigned want, uint64_t *records, unsigned *n, char *why,
                     size_t cap)
{
    *n = 0;
    if (want == 0)
        return 0;
    if (want > CF_STATION_CLAIM_MAX)
        want = CF_STATION_CLAIM_MAX;
    char limit[16];
    snprintf(limit, sizeof(limit), "%u", want);
    const char *v[4] = {st->order_id, st->name, st->fence, limit};
    pthread_mutex_lock(&st->ctl.mu);
    PGresult *r = st_call(&st->ctl, &claim_stmt, v, why, cap);
    int rc = -1;
    if (r != NULL) {
        for (int i = 0; i < PQntuples(r) && *n < want; i++)
            records[(*n)++] = strtoull(PQgetvalue(r, i, 0), NULL, 10);
        rc = *n > 0;
        PQclear(r);
    }
    pthread_mutex_unlock(&st->ctl.mu);
    return rc;
}

long cf_station_held(cf_station_t *st, uint64_t *records, size_t cap)
{
    const char *v[3] = {st->order_id, st->name, st->fence};
    char why[256];
    pthread_mutex_lock(&st->ctl.mu);
    PGresult *r = run(st, "reading the station's claims",
                      "SELECT record FROM cf_record WHERE order_id = $1 AND station = $2 AND "
                      "fence = $3 AND state = 'claimed' ORDER BY record",
                      3, v, why, sizeof(why));
    long n = -1;
    if (r != NULL) {
        n = 0;
        for (int i = 0; i < PQntuples(r) && (size_t)n < cap; i++)
            records[n++] = strtoull(PQgetvalue(r, i, 0), NULL, 10);
        PQclear(r);
    }
    pthread_mutex_unlock(&st->ctl.mu);
    return n;
}

/* Inserted only on a record this station holds under its token; an intent
 * already there (a retried upload) is taken as it is. */
static const st_stmt_t intent_stmt = {
    1, "cf_intent", "recording the intent",
    "WITH ins AS (INSERT INTO cf_attempt (order_id, station, attempt, record, serial, reader, "
    "status, started) SELECT $1, $2, $4, $5, $6, $7, 'open', now() WHERE EXISTS (SELECT 1 FROM "
    "cf_record WHERE order_id = $1 AND record = $5 AND station = $2 AND fence = $3 AND state = "
    "'claimed') ON CONFLICT DO NOTHING RETURNING 1) SELECT (SELECT count(*) FROM ins), (SELECT "
    "count(*) FROM cf_attempt WHERE order_id = $1 AND station = $2 AND attempt = $4 AND record = "
    "$5)",
    7};

cf_err_t cf_station_intent(cf_station_t *st, uint64_t attempt, uint64_t record, const char *serial,
                           const char *reader, char *why, size_t cap)
{
    char a[24], rec[24];
    snprintf(a, sizeof(a), "%llu", (unsigned long long)attempt);
    snprintf(rec, sizeof(rec), "%llu", (unsigned long long)record);
    const char *v[7] = {st->order_id, st->name, st->fence, a, rec, serial, reader};
    st_conn_t *c = st_card_conn(st->card, st->conninfo, (unsigned)attempt, why, cap);
    if (c == NULL)
        return CF_ERR_DATABASE;
    PGresult *r = st_call(c, &intent_stmt, v, why, cap);
    pthread_mutex_unlock(&c->mu);
    if (r == NULL)
        return CF_ERR_DATABASE;
    int ins = atoi(PQgetvalue(r, 0, 0)), had = atoi(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (ins || had)
        return CF_OK;
    snprintf(why, cap,
             "record %llu is no longer this station's in the order (its claim was lost): the "
             "card was not touched",
             (unsigned long long)record);
    return CF_ERR_REFUSED;
}

static const char *status_word(cf_card_status_t s)
{
    return s == CF_STATUS_PERSONALIZED ? "personalized"
           : s == CF_STATUS_FAILED     ? "failed"
                                       : "rejected";
}

/* A result is one statement, so one round trip and one transaction: the
 * attempt's row, the attempt it recovers closed as interrupted, and the
 * record's state change together or not at all (a station cut off between
 * them would leave an attempt personalized on a record still claimed, which
 * a restart would release). The parts see one snapshot and touch different
 * rows. $12, the recovered attempt, is NULL when there is none. */
#define RESULT_ROW                                                                                 \
    "WITH ins AS (INSERT INTO cf_attempt (order_id, station, attempt, record, serial, status, "    \
    "error, changed, reader, started, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "         \
    "to_timestamp($10::bigint / 1000.0), to_timestamp($11::bigint / 1000.0)) ON CONFLICT "         \
    "(order_id, station, attempt) DO UPDATE SET status = EXCLUDED.status, serial = "               \
    "EXCLUDED.serial, error = EXCLUDED.error, changed = EXCLUDED.changed, reader = "               \
    "EXCLUDED.reader, started = EXCLUDED.started, ended = EXCLUDED.ended WHERE cf_attempt.status " \
    "= 'open' RETURNING 1), was AS (UPDATE cf_attempt SET status = 'interrupted' WHERE order_id "  \
    "= $1 AND station = $2 AND attempt = $12::bigint AND status = 'open' RETURNING 1)"

/* The record left as it is (a result that neither personalized it nor
 * used its attempts, or a card with no record). */
static const st_stmt_t result_stmt = {2, "cf_result", "recording the card's result",
                                      RESULT_ROW " SELECT 1", 12};

/* Personalized: the record is done on this card, also when it went back to
 * pending meanwhile (a restart released it before this result arrived),
 * unless the card was voided since (a replay must not undo a void); never
 * over another station's claim. */
static const st_stmt_t result_done_stmt = {
    3, "cf_result_done", "recording the card's result",
    RESULT_ROW ", rec AS (UPDATE cf_record SET state = 'done', serial = $5, station = $2, fence = "
               "NULL, attempts = attempts + 1 WHERE order_id = $1 AND record = $4 AND ((station = "
               "$2 AND state = 'claimed') OR state = 'pending') AND NOT EXISTS (SELECT 1 FROM "
               "cf_attempt WHERE order_id = $1 AND station = $2 AND attempt = $3 AND voided IS "
               "NOT NULL) RETURNING 1) SELECT 1",
    12};

/* Given up: failed, only from the station holding it. */
static const st_stmt_t result_failed_stmt = {
    4, "cf_result_failed", "recording the card's result",
    RESULT_ROW ", rec AS (UPDATE cf_record SET state = 'failed', fence = NULL, attempts = "
               "attempts + 1 WHERE order_id = $1 AND record = $4 AND station = $2 AND state = "
               "'claimed' RETURNING 1) SELECT 1",
    12};

static cf_err_t result_on(st_conn_t *conn, cf_station_t *st, const cf_journal_card_t *c,
                          int given_up, char *why, size_t cap)
{
    char a[24], rec[24], was[24];
    snprintf(a, sizeof(a), "%llu", (unsigned long long)c->attempt);
    snprintf(rec, sizeof(rec), "%llu", (unsigned long long)c->record);
    snprintf(was, sizeof(was), "%llu", (unsigned long long)c->recovers);
    /* The card's own times, from its journal line (also when replayed). */
    char t0[24], t1[24];
    snprintf(t0, sizeof(t0), "%lld", (long long)c->start);
    snprintf(t1, sizeof(t1), "%lld", (long long)c->end);
    const char *v[12] = {st->order_id,
                         st->name,
                         a,
                         c->record ? rec : NULL,
                         c->serial ? c->serial : "",
                         status_word(c->status),
                         cf_errname(c->err),
                         cf_journal_card_changed(c) ? "true" : "false",
                         c->reader ? c->reader : "",
                         t0,
                         t1,
                         c->recovers ? was : NULL};
    const st_stmt_t *s = c->record == 0                        ? &result_stmt
                         : c->status == CF_STATUS_PERSONALIZED ? &result_done_stmt
                         : given_up                            ? &result_failed_stmt
                                                               : &result_stmt;
    PGresult *r = st_call(conn, s, v, why, cap);
    if (r == NULL) /* A unique violation is a serial personalized twice in the order. */
        return strstr(why, "cf_attempt_one_card_per_serial") ? CF_ERR_REFUSED : CF_ERR_DATABASE;
    PQclear(r);
    return CF_OK;
}

cf_err_t cf_station_result(cf_station_t *st, const cf_journal_card_t *c, int given_up, char *why,
                           size_t cap)
{
    st_conn_t *conn = st_card_conn(st->card, st->conninfo, (unsigned)c->attempt, why, cap);
    if (conn == NULL)
        return CF_ERR_DATABASE;
    cf_err_t e = result_on(conn, st, c, given_up, why, cap);
    pthread_mutex_unlock(&conn->mu);
    return e;
}

static const st_stmt_t heartbeat_stmt = {
    5, "cf_heartbeat", "extending the lease",
    "UPDATE cf_station SET lease_until = now() + make_interval(secs => $4::int) WHERE order_id = "
    "$1 AND station = $2 AND fence = $3",
    4};

cf_err_t cf_station_heartbeat(cf_station_t *st, char *why, size_t cap)
{
    const char *v[4] = {st->order_id, st->name, st->fence, st->lease};
    pthread_mutex_lock(&st->ctl.mu);
    PGresult *r = st_call(&st->ctl, &heartbeat_stmt, v, why, cap);
    cf_err_t e = CF_ERR_DATABASE;
    if (r != NULL) {
        e = atoi(PQcmdTuples(r)) == 1 ? CF_OK : CF_ERR_REFUSED;
        if (e != CF_OK)
            snprintf(why, cap, "the station's lease was lost: another process joined as '%s'",
                     st->name);
        PQclear(r);
    }
    pthread_mutex_unlock(&st->ctl.mu);
    return e;
}

cf_err_t cf_station_reconnect(cf_station_t *st, char *why, size_t cap)
{
    pthread_mutex_lock(&st->ctl.mu);
    cf_err_t e = CF_ERR_DATABASE;
    if (st_conn_reset(&st->ctl, why, cap) == 0)
        e = take_name(st, why, cap);
    pthread_mutex_unlock(&st->ctl.mu);
    /* The card connections went with the server, or will fail once each
     * when it restarted: all connected again now, so that no card finds a
     * dead session after the station came back (a card connection that
     * cannot connect is tried again on its next use). */
    for (int i = 0; e == CF_OK && i < ST_CARD_CONNS; i++) {
        char ignored[256];
        pthread_mutex_lock(&st->card[i].mu);
        if (st->card[i].db != NULL)
            st_conn_reset(&st->card[i], ignored, sizeof(ignored));
        pthread_mutex_unlock(&st->card[i].mu);
    }
    return e;
}

/* What the database has of this station's attempts, as runs of consecutive
 * attempt numbers: an intent whose attempt is in a run is there; a card
 * line whose attempt is in a final run (not 'open') was acknowledged, the
 * record's state with it (one statement). A station's attempts are numbered
 * one after the other, so the runs are few whatever the journal's length:
 * the replay sends only the journal's lines the database does not have. */
struct acked {
    uint64_t lo, hi;
    int final;
};

struct replay {
    cf_station_t *st;
    struct acked *runs;
    size_t n_runs;
    unsigned long sent;
    cf_err_t err;
    char why[512];
};

static cf_err_t read_acked(struct replay *rp)
{
    cf_station_t *st = rp->st;
    const char *v[2] = {st->order_id, st->name};
    PGresult *r = run(st, "reading what the database has of the station's attempts",
                      "SELECT min(attempt), max(attempt), final FROM (SELECT attempt, status <> "
                      "'open' AS final, attempt - row_number() OVER (PARTITION BY status <> "
                      "'open' ORDER BY attempt) AS run FROM cf_attempt WHERE order_id = $1 AND "
                      "station = $2) s GROUP BY final, run ORDER BY 1",
                      2, v, rp->why, sizeof(rp->why));
    if (r == NULL)
        return rp->err = CF_ERR_DATABASE;
    size_t n = (size_t)PQntuples(r);
    rp->runs = n ? calloc(n, sizeof(*rp->runs)) : NULL;
    if (n && rp->runs == NULL) {
        PQclear(r);
        snprintf(rp->why, sizeof(rp->why), "out of memory");
        return rp->err = CF_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rp->runs[i].lo = strtoull(PQgetvalue(r, (int)i, 0), NULL, 10);
        rp->runs[i].hi = strtoull(PQgetvalue(r, (int)i, 1), NULL, 10);
        rp->runs[i].final = PQgetvalue(r, (int)i, 2)[0] == 't';
    }
    rp->n_runs = n;
    PQclear(r);
    return CF_OK;
}

/* The run holding attempt a (the runs are ordered and apart), or NULL. */
static const struct acked *acked_run(const struct replay *rp, uint64_t a)
{
    size_t lo = 0, hi = rp->n_runs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a < rp->runs[mid].lo)
            hi = mid;
        else if (a > rp->runs[mid].hi)
            lo = mid + 1;
        else
            return &rp->runs[mid];
    }
    return NULL;
}

static cf_err_t replay_one(void *user, const cf_journal_entry_t *en)
{
    struct replay *rp = user;
    cf_station_t *st = rp->st;
    if (en->kind == CF_JOURNAL_INTENT) {
        if (acked_run(rp, en->intent.attempt) != NULL)
            return CF_OK;
        char a[24], rec[24];
        snprintf(a, sizeof(a), "%llu", (unsigned long long)en->intent.attempt);
        snprintf(rec, sizeof(rec), "%llu", (unsigned long long)en->intent.record);
        const char *v[6] = {
            st->order_id, st->name,          a,
            rec,          en->intent.serial, en->intent.reader ? en->intent.reader : ""};
        PGresult *r = run(st, "replaying an intent",
                          "INSERT INTO cf_attempt (order_id, station, attempt, record, serial, "
                          "reader, status) VALUES ($1, $2, $3, $4, $5, $6, 'open') ON CONFLICT DO "
                          "NOTHING",
                          6, v, rp->why, sizeof(rp->why));
        if (r == NULL)
            return rp->err = CF_ERR_DATABASE;
        PQclear(r);
        rp->sent++;
    } else if (en->kind == CF_JOURNAL_CARD) {
        const struct acked *k = acked_run(rp, en->card.attempt);
        if (k != NULL && k->final)
            return CF_OK;
        cf_err_t e = result_on(&st->ctl, st, &en->card, 0, rp->why, sizeof(rp->why));
        if (e == CF_ERR_DATABASE)
            return rp->err = e;
        rp->sent++;
    }
    return CF_OK;
}

cf_err_t cf_station_replay(cf_station_t *st, const char *journal, unsigned long *sent,
                           cf_diag_list_t *diags)
{
    struct replay rp = {.st = st};
    cf_err_t e = CF_OK;
    pthread_mutex_lock(&st->ctl.mu);
    if (read_acked(&rp) == CF_OK)
        e = cf_journal_scan(journal, replay_one, &rp, NULL, NULL, diags);
    pthread_mutex_unlock(&st->ctl.mu);
    free(rp.runs);
    if (sent)
        *sent = rp.sent;
    if (rp.err != CF_OK) {
        cf_diag_add(diags, CF_SEV_ERROR, st->ctl.db->where, 0, "%s", rp.why);
        return rp.err;
    }
    return e == CF_OK ? CF_OK : CF_ERR_DATABASE;
}

cf_err_t cf_station_counts(cf_station_t *st, uint64_t counts[4])
{
    const char *v[1] = {st->order_id};
    char why[256];
    pthread_mutex_lock(&st->ctl.mu);
    PGresult *r = run(st, "counting the order's records",
                      "SELECT count(*), count(*) FILTER (WHERE state = 'done'), count(*) FILTER "
                      "(WHERE state = 'claimed'), count(*) FILTER (WHERE state = 'failed') FROM "
                      "cf_record WHERE order_id = $1",
                      1, v, why, sizeof(why));
    cf_err_t e = CF_ERR_DATABASE;
    if (r != NULL) {
        for (int i = 0; i < 4; i++)
            counts[i] = strtoull(PQgetvalue(r, 0, i), NULL, 10);
        PQclear(r);
        e = CF_OK;
    }
    pthread_mutex_unlock(&st->ctl.mu);
    return e;
}
