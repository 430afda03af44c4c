/*
 * pcsc.c - PC/SC readers: one watcher thread, one worker thread per reader.
 *
 * The watcher blocks in cf_pcsc_wait_change (SCardGetStatusChange with the
 * PnP notification: no polling) and keeps, per reader the spec takes, the
 * latest view: card present, mute, pcsc-lite's event counter. A reader that
 * appears gets a worker; one that disappears is marked gone (its worker
 * ends; a card in work there fails with the reader's error and is
 * journaled) and is taken up again if it comes back.
 *
 * A worker waits on its own condition variable until its reader holds a
 * card it has not handled: a card counts as handled from the moment the
 * worker opens it until the watcher sees the reader empty or the event
 * counter move (another card was inserted). A card that stays in the
 * reader after its record is written is therefore never taken twice, and
 * a card put back later is seen as a new insertion (and refused by serial
 * when it is done).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/runner_int.h"

#define PCSC_STACK (1024u * 1024u)

static struct rdr *find_reader(struct cf_runner *r, const char *name)
{
    for (size_t i = 0; i < r->n_readers; i++)
        if (strcmp(r->readers[i]->pub.name, name) == 0)
            return r->readers[i];
    return NULL;
}

static int card_left(cf_err_t e)
{
    return e == CF_ERR_CARD_REMOVED || e == CF_ERR_NO_CARD || e == CF_ERR_BAD_RESPONSE ||
           e == CF_ERR_TRANSPORT;
}

static int worker_may_run(struct cf_runner *r, struct rdr *rd)
{
    return r->stop_level == 0 && r->fatal == CF_OK && !r->complete && !rd->gone &&
           rd->pub.state != CF_RSTATE_ASIDE;
}

static void *pcsc_worker(void *arg)
{
    struct rdr *rd = arg;
    struct cf_runner *r = rd->r;
    unsigned settle = 0; /* retries of a card present but not answering the connect */
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (worker_may_run(r, rd) && !(rd->present && !rd->mute && !rd->handled))
            pthread_cond_wait(&rd->cv, &r->mu);
        if (!worker_may_run(r, rd))
            break;
        rd->handled = 1;
        pthread_mutex_unlock(&r->mu);

        char errbuf[256] = "";
        cf_transport_t *t = NULL;
        cf_err_t e = cf_transport_open_pcsc(rd->pub.name, &t, errbuf, sizeof(errbuf));
        if (e == CF_OK) {
            settle = 0;
            rd->last_err = CF_OK;
            cf_runner_handle_card(r, rd, t);
            pthread_mutex_lock(&r->mu);
            /* A dry run checks the cards that were in the readers: when the
             * last is checked, the run is over. */
            if (r->o.dry_run && r->dry_pending > 0 && --r->dry_pending == 0)
                cf_runner_complete_locked(r);
            /* The card left during its session: whatever is present now is
             * another insertion, even if pcscd was too slow to report the
             * reader empty in between (a fast hopper). The same card put
             * back is recognised by its serial. */
            if (card_left(rd->last_err))
                rd->handled = 0;
            pthread_mutex_unlock(&r->mu);
        } else if (e == CF_ERR_SHARING) {
            cf_runner_log(r,
                          "reader '%s': the card is in use by another application; "
                          "left alone until it is inserted again",
                          rd->pub.name);
        } else if (e == CF_ERR_NO_CARD || e == CF_ERR_CARD_REMOVED) {
            /* pcscd still says present: a card pulled and another pushed in
             * faster than pcscd polls. Look again shortly, a bounded number
             * of times (2 s), or at the next event. */
            pthread_mutex_lock(&r->mu);
            if (settle++ < 10 && worker_may_run(r, rd)) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 200 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&rd->cv, &r->mu, &ts);
                if (rd->handled)
                    rd->handled = 0;
            }
            pthread_mutex_unlock(&r->mu);
        } else {
            /* The card was there a moment ago: the reader misbehaves. */
            cf_runner_log(r, "reader '%s': %s", rd->pub.name, errbuf);
            pthread_mutex_lock(&r->mu);
            rd->pub.fails_in_row++;
            unsigned limit = r->o.reader_max_fails ? r->o.reader_max_fails : 3;
            if (rd->pub.fails_in_row >= limit && rd->pub.state != CF_RSTATE_ASIDE) {
                rd->pub.state = CF_RSTATE_ASIDE;
                snprintf(rd->pub.note, sizeof(rd->pub.note), "%u failures in a row (last: %s)",
                         rd->pub.fails_in_row, cf_errname(e));
                cf_runner_log(r, "reader '%s' set aside: %s", rd->pub.name, rd->pub.note);
            }
            pthread_mutex_unlock(&r->mu);
        }
        pthread_mutex_lock(&r->mu);
    }
    if (rd->gone)
        rd->pub.state = CF_RSTATE_GONE;
    else if (rd->pub.state != CF_RSTATE_ASIDE)
        rd->pub.state = CF_RSTATE_DONE;
    rd->thread_live = 0;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Start rd's worker (mu held). An earlier worker of the same reader that
 * has finished its loop is joined first: it only has to return. */
static void start_worker(struct rdr *rd)
{
    if (rd->thread_started) {
        if (rd->thread_live)
            return; /* still running: it sees gone cleared and goes on */
        pthread_join(rd->thread, NULL);
        rd->thread_started = 0;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, PCSC_STACK);
    rd->thread_live = 1;
    if (pthread_create(&rd->thread, &attr, pcsc_worker, rd) == 0) {
        rd->thread_started = 1;
    } else {
        rd->thread_live = 0;
        rd->pub.state = CF_RSTATE_ASIDE;
        snprintf(rd->pub.note, sizeof(rd->pub.note), "cannot start a thread");
    }
    pthread_attr_destroy(&attr);
}

/* Apply the snapshot of the last wait (mu held). */
static void update_readers(struct cf_runner *r)
{
    size_t n = cf_pcsc_reader_count(r->pcsc);
    for (size_t k = 0; k < r->n_readers; k++)
        r->readers[k]->present = -1; /* "not listed" until seen below */
    for (size_t i = 0; i < n; i++) {
        cf_reader_info_t info;
        if (cf_pcsc_reader_info(r->pcsc, i, &info) != CF_OK || info.name == NULL ||
            !cf_reader_spec_matches(&r->spec, info.name))
            continue;
        struct rdr *rd = find_reader(r, info.name);
        int fresh = 0;
        if (rd == NULL) {
            rd = cf_runner_add_reader(r, info.name);
            if (rd == NULL)
                continue;
            fresh = 1;
        }
        int present = (info.state & CF_READER_PRESENT) != 0;
        if (!present || info.events != rd->events)
            rd->handled = 0; /* removed, or another insertion since */
        rd->present = present;
        rd->mute = (info.state & CF_READER_MUTE) != 0;
        rd->events = info.events;
        if (fresh || rd->gone) {
            int back = rd->gone;
            rd->gone = 0;
            if (rd->pub.state == CF_RSTATE_GONE || rd->pub.state == CF_RSTATE_DONE)
                rd->pub.state = CF_RSTATE_WAITING;
            cf_runner_log(r, "reader '%s' %s", rd->pub.name, back ? "is back" : "taken up");
            if (rd->pub.state != CF_RSTATE_ASIDE)
                start_worker(rd);
        }
        pthread_cond_broadcast(&rd->cv);
    }
    for (size_t k = 0; k < r->n_readers; k++) {
        struct rdr *rd = r->readers[k];
        if (rd->present != -1)
            continue;
        rd->present = 0;
        rd->handled = 0;
        if (!rd->gone) {
            rd->gone = 1;
            cf_runner_log(r, "reader '%s' is gone", rd->pub.name);
        }
        pthread_cond_broadcast(&rd->cv);
    }
}

/* No reader matches the spec: name the readers there are (mu held). */
static void name_readers(struct cf_runner *r)
{
    char list[1024] = "";
    size_t used = 0, n = cf_pcsc_reader_count(r->pcsc);
    for (size_t i = 0; i < n && used + 1 < sizeof(list); i++) {
        cf_reader_info_t info;
        if (cf_pcsc_reader_info(r->pcsc, i, &info) != CF_OK || info.name == NULL)
            continue;
        int w = snprintf(list + used, sizeof(list) - used, "%s'%s'", used ? ", " : "", info.name);
        if (w > 0)
            used += (size_t)w;
    }
    cf_runner_log(r,
                  "no reader matches '%s'; the readers are: %s (cardforge readers lists them; "
                  "--wait waits for one to appear)",
                  r->o.readers, n ? list : "none");
}

/* Wait up to ms, or until the run stops (mu held). */
static void pause_locked(struct cf_runner *r, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (r->stop_level == 0 && !r->complete && r->fatal == CF_OK)
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

cf_err_t cf_runner_run_pcsc(struct cf_runner *r)
{
    cf_err_t result = CF_OK;
    pthread_mutex_lock(&r->mu);
    int said_none = 0;
    while (r->stop_level == 0 && !r->complete && r->fatal == CF_OK) {
        cf_pcsc_t *ctx = r->pcsc;
        pthread_mutex_unlock(&r->mu);
        cf_err_t e = cf_pcsc_wait_change(ctx, -1);
        pthread_mutex_lock(&r->mu);
        if (e == CF_ERR_INTERRUPTED)
            break; /* stop, completion or a fatal error cancelled the wait */
        if (e == CF_OK || e == CF_ERR_TIMEOUT) {
            int first = !r->pcsc_seen;
            r->pcsc_seen = 1;
            update_readers(r);
            if (first && r->n_readers == 0 && (!r->o.wait_readers || r->o.dry_run)) {
                name_readers(r);
                r->fatal = CF_ERR_NOT_FOUND;
                break;
            }
            if (r->n_readers == 0 && !said_none) {
                cf_runner_log(r, "no reader matches '%s' yet; waiting for one (--wait)",
                              r->o.readers);
                said_none = 1;
            }
            if (first && r->o.dry_run) {
                for (size_t k = 0; k < r->n_readers; k++)
                    r->dry_pending += r->readers[k]->present == 1 && !r->readers[k]->mute;
                if (r->dry_pending == 0) {
                    cf_runner_log(r, "dry run: no card in the readers; nothing to check");
                    cf_runner_complete_locked(r);
                }
            }
            continue;
        }
        /* pcscd went away: every reader is gone; retry with a new context. */
        cf_runner_log(r, "%s; waiting for the service", cf_pcsc_errmsg(ctx));
        for (size_t k = 0; k < r->n_readers; k++) {
            struct rdr *rd = r->readers[k];
            if (!rd->gone)
                cf_runner_log(r, "reader '%s' is gone", rd->pub.name);
            rd->gone = 1;
            rd->present = 0;
            rd->handled = 0;
            pthread_cond_broadcast(&rd->cv);
        }
        while (r->stop_level == 0 && !r->complete && r->fatal == CF_OK) {
            pause_locked(r, 1000);
            if (r->stop_level != 0 || r->complete || r->fatal != CF_OK)
                break;
            cf_pcsc_t *nctx = NULL;
            pthread_mutex_unlock(&r->mu);
            cf_err_t ne = cf_pcsc_new(&nctx, NULL, 0);
            pthread_mutex_lock(&r->mu);
            if (ne == CF_OK) {
                cf_pcsc_t *old = r->pcsc;
                r->pcsc = nctx;
                pthread_mutex_unlock(&r->mu);
                cf_pcsc_free(old);
                pthread_mutex_lock(&r->mu);
                cf_runner_log(r, "PC/SC service is back");
                break;
            }
        }
    }
    /* Wake every worker: they finish the card in hand and end. */
    for (size_t k = 0; k < r->n_readers; k++)
        pthread_cond_broadcast(&r->readers[k]->cv);
    if (r->stop_level == 0 && !r->complete && r->fatal == CF_OK)
        result = CF_ERR_INTERNAL;
    pthread_mutex_unlock(&r->mu);
    for (size_t k = 0;; k++) {
        pthread_mutex_lock(&r->mu);
        if (k >= r->n_readers) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        struct rdr *rd = r->readers[k];
        int started = rd->thread_started;
        pthread_mutex_unlock(&r->mu);
        if (started)
            pthread_join(rd->thread, NULL);
    }
    return result;
}
