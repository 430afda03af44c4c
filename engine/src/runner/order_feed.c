/*
 * order_feed.c - a station's link to its order (docs/stations.md).
 *
 * One thread, the feeder, keeps the scheduler's pool of claimed records a
 * little ahead of the readers (a reader's worth of claims per statement,
 * never under the runner's lock), extends the station's lease, and when the database goes
 * away pauses the scheduler (no new card starts: an intent must be in the
 * database before a card is touched), reconnects with backoff and replays
 * the journal's lines the database may have missed. The cards in flight
 * finish and are journaled meanwhile; their results reach the database by
 * the replay.
 *
 * The reader threads call in twice per card, outside the runner's lock:
 * cf_runner_order_intent before the first change (blocking: the card waits
 * for the database's word), cf_runner_order_result after the card's line is
 * durable in the journal (best effort; a failure is replayed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "order/station.h"
#include "runner/runner_int.h"

#define RETRY_MS_FIRST 500
#define RETRY_MS_MAX 8000
#define DRY_POLL_MS 1000

/* The database calls a station makes, timed for its summary line. */
enum coord { COORD_CLAIM, COORD_HEARTBEAT, COORD_INTENT, COORD_RESULT };

static void spent(struct cf_runner *r, enum coord k, double since)
{
    double ms = cf_runner_mono_ms() - since;
    pthread_mutex_lock(&r->mu);
    r->coord_calls[k]++;
    r->coord_ms[k] += ms;
    pthread_mutex_unlock(&r->mu);
}

/* Called with mu held: wait up to ms for the feeder's wake-up. */
static void wait_ms_locked(struct cf_runner *r, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (!r->order_quit)
        pthread_cond_timedwait(&r->order_cv, &r->mu, &ts);
}

static void wait_ms(struct cf_runner *r, unsigned ms)
{
    pthread_mutex_lock(&r->mu);
    wait_ms_locked(r, ms);
    pthread_mutex_unlock(&r->mu);
}

static int quitting(struct cf_runner *r)
{
    pthread_mutex_lock(&r->mu);
    int q = r->order_quit || r->stop_level >= 1 || r->fatal != CF_OK || r->complete;
    pthread_mutex_unlock(&r->mu);
    return q;
}

/* The database went away: no new card starts until it is back and has
 * every journal line. */
static void go_down(struct cf_runner *r, const char *why)
{
    pthread_mutex_lock(&r->mu);
    if (!r->order_down)
        cf_runner_log(r,
                      "order database: %s; no new card starts until it is back (the cards in "
                      "flight finish and are journaled)",
                      why);
    r->order_down = 1;
    cf_sched_pause(r->sched, 1);
    pthread_mutex_unlock(&r->mu);
}

static int come_back(struct cf_runner *r)
{
    char why[512];
    if (cf_station_reconnect(r->station, why, sizeof(why)) != CF_OK)
        return -1;
    cf_diag_list_t *d = cf_diag_list_new();
    unsigned long sent = 0;
    cf_err_t e = d ? cf_station_replay(r->station, r->o.journal, &sent, d) : CF_ERR_NOMEM;
    cf_diag_list_free(d);
    if (e != CF_OK)
        return -1;
    pthread_mutex_lock(&r->mu);
    r->order_down = 0;
    cf_sched_pause(r->sched, 0);
    cf_runner_log(r, "order database: back; %lu journal lines sent again", sent);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void *feeder(void *arg)
{
    struct cf_runner *r = arg;
    double next_beat = cf_runner_mono_ms();
    unsigned beat_ms = (r->o.order_lease_s ? r->o.order_lease_s : 30) * 1000u / 3u;
    unsigned backoff = RETRY_MS_FIRST;
    while (!quitting(r)) {
        char why[512];
        pthread_mutex_lock(&r->mu);
        int down = r->order_down;
        pthread_mutex_unlock(&r->mu);
        if (down) {
            if (come_back(r) != 0) {
                wait_ms(r, backoff);
                backoff = backoff * 2 > RETRY_MS_MAX ? RETRY_MS_MAX : backoff * 2;
            } else {
                backoff = RETRY_MS_FIRST;
            }
            continue;
        }
        if (cf_runner_mono_ms() >= next_beat) {
            double t0 = cf_runner_mono_ms();
            cf_err_t e = cf_station_heartbeat(r->station, why, sizeof(why));
            spent(r, COORD_HEARTBEAT, t0);
            if (e == CF_ERR_REFUSED) {
                /* Another process took the name: it holds the claims now. */
                pthread_mutex_lock(&r->mu);
                cf_runner_log(r, "order: %s; this station stops", why);
                if (r->fatal == CF_OK)
                    r->fatal = CF_ERR_SHARING;
                cf_runner_stop_locked(r, 1);
                pthread_mutex_unlock(&r->mu);
                break;
            }
            if (e != CF_OK) {
                go_down(r, why);
                continue;
            }
            next_beat = cf_runner_mono_ms() + beat_ms;
        }
        /* The pool is looked at and waited on under one lock, so that a
         * reader taking a record (which signals) cannot slip in between.
         * It is refilled to two records per reader once it is down to one
         * per reader: one claim statement per reader's worth of cards, not
         * one per card, and every reader still finds a record at once. */
        pthread_mutex_lock(&r->mu);
        size_t readers = r->n_readers ? r->n_readers : 1;
        size_t pool = cf_sched_pool_size(r->sched);
        if (pool > readers)
            wait_ms_locked(r, 200);
        pthread_mutex_unlock(&r->mu);
        if (pool > readers)
            continue;
        uint64_t recs[CF_STATION_CLAIM_MAX];
        unsigned got = 0;
        double t0 = cf_runner_mono_ms();
        int rc = cf_station_claim(r->station, (unsigned)(2 * readers - pool), recs, &got, why,
                                  sizeof(why));
        spent(r, COORD_CLAIM, t0);
        if (rc < 0) {
            go_down(r, why);
            continue;
        }
        pthread_mutex_lock(&r->mu);
        if (rc == 1) {
            cf_sched_set_dry(r->sched, 0);
            for (unsigned i = 0; i < got; i++) {
                /* A record the order lets this station claim though its
                 * journal has it done was voided for rework: the journal's
                 * lines all reached the database before any claim (replay
                 * at the join and after an outage), so nothing else gives
                 * one back. */
                int redo = cf_journal_state_record_done(r->st, recs[i]);
                if (cf_sched_give(r->sched, recs[i], redo) != 0 && r->fatal == CF_OK)
                    r->fatal = CF_ERR_NOMEM;
            }
        } else {
            cf_sched_set_dry(r->sched, 1);
            if (r->stop_level == 0 && r->fatal == CF_OK && cf_sched_complete(r->sched))
                cf_runner_complete_locked(r);
        }
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (rc == 0)
            wait_ms(r, DRY_POLL_MS);
    }
    return NULL;
}

/* The station as the run's options and files make it. */
static cf_station_opts_t station_opts(const struct cf_runner *r)
{
    cf_station_opts_t so = {
        .conninfo = r->o.order_db,
        .order = r->o.order_name,
        .name = r->o.station,
        .batch_sha256 = r->batch_sha,
        .description_sha256 = r->desc_sha,
        .lease_s = r->o.order_lease_s,
        /* Simulated readers are known before the join; PC/SC readers come
         * and go, so the station opens its most. */
        .card_connections = r->spec.source == CF_READERS_SIM ? r->spec.sim_count : 0,
    };
    return so;
}

cf_err_t cf_runner_order_join(struct cf_runner *r, cf_diag_list_t *diags)
{
    cf_station_opts_t so = station_opts(r);
    cf_err_t e = cf_station_join(&so, diags, &r->station);
    if (e != CF_OK)
        return e;
    /* What the journal has and the database may not (a crash between the
     * two): sent again first, so the claims below see every intent. */
    unsigned long sent = 0;
    if ((e = cf_station_replay(r->station, r->o.journal, &sent, diags)) != CF_OK)
        return e;
    if (sent > 0)
        cf_runner_log(r, "order database: %lu journal lines it lacked sent at the join", sent);
    cf_sched_use_claims(r->sched);
    uint64_t held[256];
    long n = cf_station_held(r->station, held, sizeof(held) / sizeof(held[0]));
    if (n < 0) {
        cf_diag_add(diags, CF_SEV_ERROR, r->o.order_db, 0, "cannot read the station's claims");
        return CF_ERR_DATABASE;
    }
    for (long i = 0; i < n; i++)
        if (cf_sched_give(r->sched, held[i], 0) != 0)
            return CF_ERR_NOMEM;
    /* Simulated cards of different stations never share a serial: each
     * station numbers its cards in a range of its own. */
    if (r->o.sim_serial_base == 0)
        r->o.sim_serial_base = cf_station_number(r->station) * 16777216u + 1u;
    pthread_cond_init(&r->order_cv, NULL);
    r->order_cv_init = 1;
    return CF_OK;
}

/* "a, b, c" of up to 8 records, with "..." when there are more. */
static void list_records(const uint64_t *rec, size_t n, uint64_t total, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++)
        o +=
            (size_t)snprintf(out + o, cap - o, "%s%llu", i ? ", " : "", (unsigned long long)rec[i]);
    if (total > n && o < cap)
        snprintf(out + o, cap - o, ", ...");
}

cf_err_t cf_runner_order_preview(struct cf_runner *r, cf_diag_list_t *diags)
{
    cf_station_opts_t so = station_opts(r);
    cf_station_preview_t p;
    cf_err_t e = cf_station_preview(&so, &p, diags);
    if (e != CF_OK)
        return e;
    cf_runner_log(r,
                  "dry run: order '%s': %llu records: %llu pending, %llu claimed, %llu done, "
                  "%llu failed",
                  r->o.order_name, (unsigned long long)p.records, (unsigned long long)p.pending,
                  (unsigned long long)p.claimed, (unsigned long long)p.done,
                  (unsigned long long)p.failed);
    char who[160];
    if (p.number != 0)
        snprintf(who, sizeof(who), "station '%s' (number %u%s)", r->o.station, p.number,
                 p.running ? ", running now in another process: a run would be refused" : "");
    else
        snprintf(who, sizeof(who),
                 "station '%s' (not in the order yet; it would join as number %u)", r->o.station,
                 p.next_number);
    char list[160];
    if (p.held > 0) {
        list_records(p.held_first, p.n_held_first, p.held, list, sizeof(list));
        cf_runner_log(r,
                      "dry run: %s holds %llu claim%s bound to a card by an open intent "
                      "(records %s): it would finish them first",
                      who, (unsigned long long)p.held, p.held == 1 ? "" : "s", list);
    }
    if (p.claimable > 0) {
        list_records(p.next, p.n_next, p.claimable, list, sizeof(list));
        cf_runner_log(r,
                      "dry run: %s would claim from %llu claimable record%s, lowest first: %s "
                      "(up to two per reader ahead of its cards); nothing is claimed now",
                      who, (unsigned long long)p.claimable, p.claimable == 1 ? "" : "s", list);
    } else {
        cf_runner_log(r, "dry run: %s would find nothing to claim", who);
    }
    return CF_OK;
}

void cf_runner_order_start(struct cf_runner *r)
{
    if (r->station == NULL)
        return;
    if (pthread_create(&r->order_thread, NULL, feeder, r) == 0)
        r->order_thread_started = 1;
    else
        go_down(r, "cannot start the claims thread");
}

/* One line: what the database cost this station, call by call (the
 * figures bench/stations.sh reads; docs/performance.md). */
static void log_coordination(struct cf_runner *r, double replay_ms)
{
    static const char *const names[4] = {"claims", "heartbeats", "intents", "results"};
    char line[400];
    size_t o = 0;
    pthread_mutex_lock(&r->mu);
    double total = 0;
    for (int k = 0; k < 4; k++) {
        double each = r->coord_calls[k] ? r->coord_ms[k] / (double)r->coord_calls[k] : 0.0;
        o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%llu %s %.1f ms (%.2f ms each)",
                              k ? ", " : "", (unsigned long long)r->coord_calls[k], names[k],
                              r->coord_ms[k], each);
        total += r->coord_ms[k];
    }
    pthread_mutex_unlock(&r->mu);
    cf_runner_log(r,
                  "order database: time spent: %s; %.1f ms in all; the journal sent again at "
                  "the end: %.1f ms",
                  line, total, replay_ms);
}

void cf_runner_order_stop(struct cf_runner *r)
{
    if (r->station == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->order_quit = 1;
    pthread_cond_broadcast(&r->order_cv);
    pthread_mutex_unlock(&r->mu);
    if (r->order_thread_started)
        pthread_join(r->order_thread, NULL);
    r->order_thread_started = 0;
    /* Whatever did not reach the database during the run: sent now, the
     * connection made again if it went away at the very end (a few tries,
     * about 8 s in all). */
    double t_replay = cf_runner_mono_ms();
    cf_err_t re = CF_ERR_DATABASE;
    unsigned backoff = RETRY_MS_FIRST;
    for (int i = 0; i < 5 && re != CF_OK; i++) {
        char why[512];
        cf_diag_list_t *d = cf_diag_list_new();
        unsigned long sent = 0;
        re = d != NULL ? cf_station_replay(r->station, r->o.journal, &sent, d) : CF_ERR_NOMEM;
        cf_diag_list_free(d);
        if (re == CF_OK && sent > 0)
            cf_runner_log(r, "order database: %lu journal lines it lacked sent at the end", sent);
        if (re == CF_OK || i == 4)
            break;
        struct timespec ts = {backoff / 1000, (long)(backoff % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        backoff *= 2;
        cf_station_reconnect(r->station, why, sizeof(why));
    }
    if (re != CF_OK) {
        cf_runner_log(r, "order database: the journal's last lines could not be sent; the next "
                         "run of this station sends them");
        pthread_mutex_lock(&r->mu);
        if (r->fatal == CF_OK)
            r->fatal = CF_ERR_DATABASE; /* the order does not know all this station did */
        pthread_mutex_unlock(&r->mu);
    }
    log_coordination(r, cf_runner_mono_ms() - t_replay);
    uint64_t counts[4];
    cf_err_t ce = cf_station_counts(r->station, counts);
    pthread_mutex_lock(&r->mu);
    if (ce == CF_OK) {
        memcpy(r->order_counts, counts, sizeof(counts));
        r->order_known = 1;
    }
    pthread_mutex_unlock(&r->mu);
}

void cf_runner_order_free(struct cf_runner *r)
{
    cf_station_leave(r->station);
    r->station = NULL;
    if (r->order_cv_init)
        pthread_cond_destroy(&r->order_cv);
    r->order_cv_init = 0;
}

cf_err_t cf_runner_order_intent(struct cf_runner *r, uint64_t attempt, uint64_t record,
                                const char *serial, const char *reader, char *why, size_t cap)
{
    double t0 = cf_runner_mono_ms();
    cf_err_t e = cf_station_intent(r->station, attempt, record, serial, reader, why, cap);
    spent(r, COORD_INTENT, t0);
    if (e == CF_ERR_DATABASE)
        go_down(r, why);
    return e;
}

void cf_runner_order_result(struct cf_runner *r, const cf_journal_card_t *c, int given_up)
{
    char why[512];
    double t0 = cf_runner_mono_ms();
    cf_err_t e = cf_station_result(r->station, c, given_up, why, sizeof(why));
    spent(r, COORD_RESULT, t0);
    if (e == CF_ERR_DATABASE)
        go_down(r, why);
    else if (e != CF_OK)
        cf_runner_log(r, "order database refused card %s's result: %s", c->serial, why);
}
