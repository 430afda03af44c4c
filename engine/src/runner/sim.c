/*
 * sim.c - simulated readers: N threads, each fed fresh factory cards like a
 * hopper, through the in-process simulated transport.
 *
 * Serials of fresh cards start above every serial number the journal
 * mentions (cf_journal_state_max_serial_number), so a resumed batch never
 * meets a card it already journaled under another identity.
 *
 * With sim_keep, every card is a state file: DIR/in/card-N.state while it is
 * in a reader, moved to DIR/out/ when released. A run that was killed leaves
 * its cards in DIR/in; the next run puts them back in readers first, as an
 * operator puts back the cards that were in the readers at a power cut, so
 * their open intents are finished. Without sim_keep, cards live in memory.
 *
 * The latency model (sim_latency) holds each answer back by what a contact
 * card would have taken (engine/src/vcard/latency.c, the same model as
 * cardforge-vcard) and adds it up as the cards' own service time.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner/runner_int.h"

#define DEFAULT_SERIAL_BASE 1000001u
#define SIM_STACK (1024u * 1024u)

static int card_path(const struct cf_runner *r, const char *sub, uint32_t serial, char *buf,
                     size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s/card-%lu.state", r->o.sim_keep, sub, (unsigned long)serial);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Serials of the card files in DIR/sub; *max gets the largest. With list,
 * they are collected (sorted) into r->putback. */
static cf_err_t scan_dir(struct cf_runner *r, const char *sub, int list, uint32_t *max,
                         cf_diag_list_t *diags)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", r->o.sim_keep, sub);
    DIR *d = opendir(path);
    if (d == NULL) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot read: %s", strerror(errno));
        return CF_ERR_IO;
    }
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir(d)) != NULL) {
        unsigned long v;
        char tail[12];
        if (sscanf(de->d_name, "card-%lu.%11s", &v, tail) != 2 || v > UINT32_MAX)
            continue;
        if (strcmp(tail, "state.tmp") == 0) {
            /* A save cut off before its rename: the card never committed
             * it (its state file is the state, as a real card's memory
             * after a power cut mid-write), so the copy is dropped. */
            char tmp[PATH_MAX];
            if (snprintf(tmp, sizeof(tmp), "%s/%s", path, de->d_name) < (int)sizeof(tmp))
                unlink(tmp);
            continue;
        }
        if (strcmp(tail, "state") != 0)
            continue;
        if (v > *max)
            *max = (uint32_t)v;
        if (!list)
            continue;
        if (r->n_putback == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint32_t *n = realloc(r->putback, ncap * sizeof(*n));
            if (n == NULL) {
                closedir(d);
                return CF_ERR_NOMEM;
            }
            r->putback = n;
            cap = ncap;
        }
        r->putback[r->n_putback++] = (uint32_t)v;
    }
    closedir(d);
    if (r->n_putback > 1)
        qsort(r->putback, r->n_putback, sizeof(uint32_t), cmp_u32);
    return CF_OK;
}

static cf_err_t make_dir(const char *path, cf_diag_list_t *diags)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot create: %s", strerror(errno));
        return CF_ERR_IO;
    }
    return CF_OK;
}

cf_err_t cf_runner_sim_prepare(struct cf_runner *r, cf_diag_list_t *diags)
{
    uint64_t base = r->o.sim_serial_base ? r->o.sim_serial_base : DEFAULT_SERIAL_BASE;
    uint64_t seen = cf_journal_state_max_serial_number(r->st);
    if (seen >= base)
        base = seen + 1;
    if (r->o.sim_keep != NULL) {
        char path[PATH_MAX];
        cf_err_t e = make_dir(r->o.sim_keep, diags);
        snprintf(path, sizeof(path), "%s/in", r->o.sim_keep);
        if (e == CF_OK)
            e = make_dir(path, diags);
        snprintf(path, sizeof(path), "%s/out", r->o.sim_keep);
        if (e == CF_OK)
            e = make_dir(path, diags);
        uint32_t max = 0;
        if (e == CF_OK)
            e = scan_dir(r, "in", 1, &max, diags);
        if (e == CF_OK)
            e = scan_dir(r, "out", 0, &max, diags);
        if (e != CF_OK)
            return e;
        if ((uint64_t)max >= base)
            base = (uint64_t)max + 1;
    }
    if (base > UINT32_MAX - 1000000u) {
        cf_diag_add(diags, CF_SEV_ERROR, "--readers", 0,
                    "no simulated serial numbers left above %llu", (unsigned long long)seen);
        return CF_ERR_ARG;
    }
    r->next_serial = (uint32_t)base;
    for (unsigned i = 1; i <= r->spec.sim_count; i++) {
        char name[32];
        snprintf(name, sizeof(name), "sim %u", i);
        struct rdr *rd = cf_runner_add_reader(r, name);
        if (rd == NULL)
            return CF_ERR_NOMEM;
        rd->index = i;
    }
    return CF_OK;
}

static double mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Hold the answer back by the model's time. A sleep always overshoots a
 * little (timer slack, wake-up); the overshoot is carried over and taken off
 * the card's next waits, so a card's total wait is its modelled service
 * time, not that plus 38 wake-up delays. */
static void latency_fn(void *user, const cf_simcard_cost_t *cost)
{
    struct rdr *rd = user;
    uint64_t us = cf_vcard_latency_us(&rd->r->latency, cost);
    rd->service_us += (double)us;
    double want = (double)us - rd->sleep_debt_us;
    if (want <= 0) {
        rd->sleep_debt_us = -want;
        return;
    }
    double t0 = mono_us();
    uint64_t w = (uint64_t)want;
    struct timespec ts = {(time_t)(w / 1000000u), (long)(w % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    double over = mono_us() - t0 - want;
    rd->sleep_debt_us = over > 0 ? over : 0;
}

/* The next card for a reader: a card left in a reader by an earlier run,
 * else a fresh one. Called without mu. */
static cf_err_t take_card(struct cf_runner *r, cf_simcard_t **card, uint32_t *serial, char *errbuf,
                          size_t errlen)
{
    char path[PATH_MAX];
    int putback = 0;
    pthread_mutex_lock(&r->mu);
    if (r->i_putback < r->n_putback) {
        *serial = r->putback[r->i_putback++];
        putback = 1;
    } else {
        for (;;) {
            *serial = r->next_serial++;
            if (r->o.sim_keep == NULL)
                break;
            char out[PATH_MAX];
            /* Never reuse a serial that has a card file (a card of an earlier
             * run the journal never heard of). */
            if (card_path(r, "in", *serial, path, sizeof(path)) != 0 ||
                card_path(r, "out", *serial, out, sizeof(out)) != 0)
                break;
            if (access(path, F_OK) != 0 && access(out, F_OK) != 0)
                break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    cf_err_t e;
    if (putback) {
        if (card_path(r, "in", *serial, path, sizeof(path)) != 0)
            return CF_ERR_ARG;
        e = cf_simcard_load(path, errbuf, errlen, card);
    } else {
        e = cf_simcard_new(r->spec.sim_type, r->spec.sim_factory[0] ? r->spec.sim_factory : NULL,
                           *serial, card);
        if (e != CF_OK)
            snprintf(errbuf, errlen, "cannot make a %s card: %s", r->spec.sim_type, cf_strerror(e));
    }
    if (e == CF_OK && r->o.sim_keep != NULL) {
        card_path(r, "in", *serial, path, sizeof(path));
        e = cf_simcard_set_state_file(*card, path);
        if (e != CF_OK) {
            snprintf(errbuf, errlen, "%.180s: cannot save the card: %s", path, cf_strerror(e));
            cf_simcard_free(*card);
            *card = NULL;
        }
    }
    return e;
}

/* Out of the reader: into the output tray; a card stopped in the middle
 * (left_in) stays in its reader for the next run. */
static void return_card(struct cf_runner *r, cf_simcard_t *card, uint32_t serial, int left_in)
{
    cf_simcard_free(card);
    if (r->o.sim_keep == NULL || left_in)
        return;
    char in[PATH_MAX], out[PATH_MAX];
    if (card_path(r, "in", serial, in, sizeof(in)) == 0 &&
        card_path(r, "out", serial, out, sizeof(out)) == 0 && rename(in, out) != 0)
        cf_runner_log(r, "card %lu: cannot move %s to %s: %s", (unsigned long)serial, in, out,
                      strerror(errno));
}

/* A card put back from an earlier run with an open intent that no reader
 * has taken yet: it is in a reader and must be finished there, even when
 * the batch is otherwise complete (a reader thread slow to start on a busy
 * machine would otherwise find the run over before it looked). Called
 * with mu held. */
static int putback_open_waiting(struct cf_runner *r)
{
    for (size_t i = r->i_putback; i < r->n_putback; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), "%lu", (unsigned long)r->putback[i]);
        if (cf_journal_state_open_intent(r->st, serial, NULL))
            return 1;
    }
    return 0;
}

static int keep_going(struct cf_runner *r, struct rdr *rd)
{
    return r->stop_level == 0 && r->fatal == CF_OK && rd->pub.state != CF_RSTATE_ASIDE &&
           (!r->complete || putback_open_waiting(r));
}

static void *sim_worker(void *arg)
{
    struct rdr *rd = arg;
    struct cf_runner *r = rd->r;
    if (r->latency_on)
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* the model's waits are short */
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int go = keep_going(r, rd);
        pthread_mutex_unlock(&r->mu);
        if (!go)
            break;
        cf_simcard_t *card = NULL;
        uint32_t serial = 0;
        char errbuf[256] = "";
        if (take_card(r, &card, &serial, errbuf, sizeof(errbuf)) != CF_OK) {
            pthread_mutex_lock(&r->mu);
            rd->pub.state = CF_RSTATE_ASIDE;
            snprintf(rd->pub.note, sizeof(rd->pub.note), "%.150s", errbuf);
            pthread_mutex_unlock(&r->mu);
            cf_runner_log(r, "reader '%s' set aside: %s", rd->pub.name, errbuf);
            break;
        }
        cf_transport_t *t = NULL;
        if (cf_transport_open_sim(card, rd->pub.name, &t) != CF_OK) {
            return_card(r, card, serial, 0);
            break;
        }
        if (r->latency_on) {
            rd->sleep_debt_us = 0;
            cf_transport_sim_set_latency(t, latency_fn, rd);
        }
        cf_card_outcome_t out = cf_runner_handle_card(r, rd, t);
        return_card(r, card, serial, out == CF_CARD_STOPPED || out == CF_CARD_KEPT);
        if (r->o.dry_run || out == CF_CARD_STOPPED)
            break; /* a dry run checks the card in each reader once */
        if (out != CF_CARD_HANDLED) {
            /* Nothing left for new cards; a put-back card with an open
             * intent still is (above). */
            pthread_mutex_lock(&r->mu);
            int more = putback_open_waiting(r);
            pthread_mutex_unlock(&r->mu);
            if (!more)
                break;
        }
    }
    pthread_mutex_lock(&r->mu);
    if (rd->pub.state != CF_RSTATE_ASIDE)
        rd->pub.state = CF_RSTATE_DONE;
    rd->thread_live = 0;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

cf_err_t cf_runner_run_sim(struct cf_runner *r)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SIM_STACK);
    cf_err_t e = CF_OK;
    for (size_t i = 0; i < r->n_readers; i++) {
        struct rdr *rd = r->readers[i];
        rd->thread_live = 1;
        if (pthread_create(&rd->thread, &attr, sim_worker, rd) != 0) {
            rd->thread_live = 0;
            cf_runner_log(r, "reader '%s': cannot start a thread", rd->pub.name);
            e = CF_ERR_NOMEM;
            cf_runner_request_stop(r, 1);
            break;
        }
        rd->thread_started = 1;
    }
    pthread_attr_destroy(&attr);
    for (size_t i = 0; i < r->n_readers; i++)
        if (r->readers[i]->thread_started)
            pthread_join(r->readers[i]->thread, NULL);
    /* Cards put back from an earlier run that no reader took before the
     * batch was complete: untouched by this run, and with no change to
     * finish (no open intent), they leave their readers as any card does;
     * one with an open intent stays, to be finished or set aside. */
    pthread_mutex_lock(&r->mu);
    int complete = r->complete;
    pthread_mutex_unlock(&r->mu);
    for (size_t i = r->i_putback; complete && i < r->n_putback; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), "%lu", (unsigned long)r->putback[i]);
        pthread_mutex_lock(&r->mu);
        int open = cf_journal_state_open_intent(r->st, serial, NULL);
        pthread_mutex_unlock(&r->mu);
        if (!open)
            return_card(r, NULL, r->putback[i], 0);
    }
    return e;
}
