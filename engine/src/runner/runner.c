/*
 * runner.c - the batch runner: validation, the run, stopping, progress.
 *
 * cf_runner_new does all the checking that can be done without a card and
 * opens (locks) the journal, so that a run either starts on a batch known to
 * be good or does not start. cf_runner_run writes the run record, starts the
 * reader threads of the source (sim.c or pcsc.c), waits for them, and writes
 * the end record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cardforge/batch.h>
#include <cardforge/version.h>

#include "journal/put_aside.h"
#include "order/station.h"
#include "runner/runner_int.h"
#include "util/file.h"
#include "util/hex.h"

#define DEFAULT_MAX_ATTEMPTS 3u

double cf_runner_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int64_t cf_runner_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *cf_reader_state_name(cf_reader_state_t s)
{
    switch (s) {
    case CF_RSTATE_WAITING:
        return "waiting";
    case CF_RSTATE_BUSY:
        return "busy";
    case CF_RSTATE_ASIDE:
        return "set aside";
    case CF_RSTATE_GONE:
        return "gone";
    case CF_RSTATE_DONE:
        return "stopped";
    }
    return "?";
}

struct rdr *cf_runner_add_reader(struct cf_runner *r, const char *name)
{
    if (r->n_readers == r->cap_readers) {
        size_t ncap = r->cap_readers ? r->cap_readers * 2 : 16;
        struct rdr **n = realloc(r->readers, ncap * sizeof(*n));
        if (n == NULL)
            return NULL;
        r->readers = n;
        r->cap_readers = ncap;
    }
    struct rdr *rd = calloc(1, sizeof(*rd));
    if (rd == NULL)
        return NULL;
    rd->r = r;
    snprintf(rd->pub.name, sizeof(rd->pub.name), "%s", name);
    rd->pub.state = CF_RSTATE_WAITING;
    pthread_cond_init(&rd->cv, NULL);
    r->readers[r->n_readers++] = rd;
    return rd;
}

void cf_runner_stop_locked(struct cf_runner *r, int level)
{
    if (level > r->stop_level)
        __atomic_store_n(&r->stop_level, level, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&r->cv);
    for (size_t i = 0; i < r->n_readers; i++)
        pthread_cond_broadcast(&r->readers[i]->cv);
    if (r->pcsc != NULL)
        cf_pcsc_cancel(r->pcsc);
}

void cf_runner_complete_locked(struct cf_runner *r)
{
    r->complete = 1;
    pthread_cond_broadcast(&r->cv);
    for (size_t i = 0; i < r->n_readers; i++)
        pthread_cond_broadcast(&r->readers[i]->cv);
    if (r->pcsc != NULL)
        cf_pcsc_cancel(r->pcsc);
}

void cf_runner_request_stop(struct cf_runner *r, int level)
{
    pthread_mutex_lock(&r->mu);
    cf_runner_stop_locked(r, level);
    pthread_mutex_unlock(&r->mu);
}

void cf_runner_stop(cf_runner_t *r, int level)
{
    if (r != NULL)
        cf_runner_request_stop(r, level < 1 ? 1 : level > 2 ? 2 : level);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static cf_err_t copy_opts(struct cf_runner *r, const cf_runner_opts_t *o)
{
    r->o = *o;
    r->desc_path = dup_or_null(o->description);
    r->batch_path = dup_or_null(o->batch);
    r->journal_path = dup_or_null(o->journal);
    r->readers_text = strdup(o->readers ? o->readers : "all");
    r->profiles_dir = strdup(o->profiles_dir ? o->profiles_dir : cf_profiles_default_dir());
    r->profile = dup_or_null(o->profile);
    r->sim_keep = dup_or_null(o->sim_keep);
    r->sim_latency = dup_or_null(o->sim_latency);
    r->keyfile_path = dup_or_null(o->keyfile);
    r->order_db = dup_or_null(o->order_db);
    r->order_name = dup_or_null(o->order_name);
    r->station_name = dup_or_null(o->station);
    if ((o->order_db && !r->order_db) || (o->order_name && !r->order_name) ||
        (o->station && !r->station_name))
        return CF_ERR_NOMEM;
    r->o.order_db = r->order_db;
    r->o.order_name = r->order_name;
    r->o.station = r->station_name;
    if ((o->keyfile && !r->keyfile_path) || (o->description && !r->desc_path) ||
        (o->batch && !r->batch_path) || (o->journal && !r->journal_path) || !r->readers_text ||
        !r->profiles_dir || (o->profile && !r->profile) || (o->sim_keep && !r->sim_keep) ||
        (o->sim_latency && !r->sim_latency))
        return CF_ERR_NOMEM;
    r->o.description = r->desc_path;
    r->o.batch = r->batch_path;
    r->o.journal = r->journal_path;
    r->o.readers = r->readers_text;
    r->o.profiles_dir = r->profiles_dir;
    r->o.profile = r->profile;
    r->o.sim_keep = r->sim_keep;
    r->o.sim_latency = r->sim_latency;
    r->o.keyfile = r->keyfile_path;
    if (r->o.max_attempts == 0)
        r->o.max_attempts = DEFAULT_MAX_ATTEMPTS;
    return CF_OK;
}

/* The description: compiled, and free of operator prompts. */
static cf_err_t check_description(struct cf_runner *r, cf_diag_list_t *diags)
{
    cf_err_t e = cf_plan_compile(r->o.description, diags, &r->plan);
    if (e != CF_OK)
        return e;
    if (cf_plan_has_prompts(r->plan)) {
        for (int p = 0; p < CF_PARAM_COUNT; p++) {
            if (cf_plan_source(r->plan, (cf_param_t)p) != CF_SOURCE_PROMPT)
                continue;
            cf_diag_add(diags, CF_SEV_ERROR, r->o.description,
                        cf_plan_param_line(r->plan, (cf_param_t)p),
                        "%s asks the operator (!FROM_USER_DIALOG_%u_FIELD), but `run` is "
                        "unattended; give the value in the batch, or personalize such cards at "
                        "the desk (cardforge personalize)",
                        cf_param_name((cf_param_t)p), cf_plan_param_dialog(r->plan, (cf_param_t)p));
        }
        return CF_ERR_INVALID;
    }
    return CF_OK;
}

/* The batch: opened once (a regular file), validated and fingerprinted in
 * one pass over the same bytes; the run reads nothing past them. */
static cf_err_t check_batch(struct cf_runner *r, cf_diag_list_t *diags, size_t *records)
{
    cf_err_t e = cf_batch_src_open(r->o.batch, &r->batch, diags);
    if (e != CF_OK)
        return CF_ERR_IO;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cf_batch_cursor_t cur;
    cf_csv_t *csv = NULL;
    if (md == NULL || ctx == NULL || EVP_DigestInit_ex2(ctx, md, NULL) != 1) {
        e = CF_ERR_CRYPTO;
        goto out;
    }
    e = cf_batch_src_csv(&r->batch, &cur, ctx, r->o.cancel, diags, &csv);
    if (e != CF_OK) {
        e = e == CF_ERR_IO || e == CF_ERR_NOT_FOUND ? CF_ERR_IO : CF_ERR_INVALID;
        goto out;
    }
    e = cf_plan_check_batch_csv(r->plan, csv, diags, records);
    if (e == CF_OK && cur.off != r->batch.size) {
        cf_diag_add(diags, CF_SEV_ERROR, r->o.batch, 0,
                    "the file shrank while it was read (%llu of %llu bytes): leave the batch "
                    "alone while a run starts",
                    (unsigned long long)cur.off, (unsigned long long)r->batch.size);
        e = CF_ERR_IO;
    }
    if (e == CF_OK)
        e = cur.md_failed ? CF_ERR_CRYPTO : cf_batch_digest_hex(ctx, r->batch_sha);
    if (e == CF_OK)
        r->batch.sha256 = r->batch_sha;
out:
    cf_csv_free(csv);
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    return e;
}

/* Master keys: needed exactly when the description derives a value. */
static cf_err_t load_keys(struct cf_runner *r, cf_diag_list_t *diags)
{
    cf_err_t e = cf_plan_load_keyfile(r->plan, r->o.keyfile, diags, &r->keys);
    return e == CF_ERR_PARSE ? CF_ERR_INVALID : e;
}

/* The journal: opened and locked (or, in a dry run, only read), and of the
 * same batch and description as its first run. */
static cf_err_t open_journal(struct cf_runner *r, cf_diag_list_t *diags)
{
    cf_err_t e;
    if (r->o.dry_run) {
        r->own_st = cf_journal_state_new();
        if (r->own_st == NULL)
            return CF_ERR_NOMEM;
        /* A dry run of a new batch: no journal yet is fine. */
        e = CF_OK;
        struct stat sb;
        if (lstat(r->o.journal, &sb) == 0 && !S_ISREG(sb.st_mode)) {
            /* As a real run would refuse it (a link is never followed). */
            cf_diag_add(
                diags, CF_SEV_ERROR, r->o.journal, 0, "the journal must be a regular file%s",
                S_ISLNK(sb.st_mode) ? " (a symbolic link: give the journal's own path)" : "");
            return CF_ERR_IO;
        }
        if ((e = cf_journal_check_put_aside(r->o.journal, diags)) != CF_OK)
            return e;
        if (access(r->o.journal, F_OK) == 0)
            e = cf_journal_scan(r->o.journal, NULL, NULL, r->own_st, NULL, diags);
        if (e != CF_OK)
            return e;
        r->st = r->own_st;
    } else {
        e = cf_journal_open(r->o.journal, r->o.journal_flags, &r->journal, NULL, diags);
        if (e != CF_OK)
            return e;
        r->st = cf_journal_get_state(r->journal);
    }
    const char *jb = cf_journal_state_batch_sha256(r->st);
    const char *jd = cf_journal_state_description_sha256(r->st);
    if (jb[0] && strcmp(jb, r->batch_sha) != 0) {
        cf_diag_add(diags, CF_SEV_ERROR, r->o.journal, 0,
                    "this journal belongs to another batch (sha256 %.16s..., this one %.16s...); "
                    "record numbers would not match: use a new journal for a new batch",
                    jb, r->batch_sha);
        return CF_ERR_INVALID;
    }
    if (jd[0] && strcmp(jd, r->desc_sha) != 0) {
        cf_diag_add(diags, CF_SEV_ERROR, r->o.journal, 0,
                    "this journal was run with another description (sha256 %.16s..., this one "
                    "%.16s...); finish the batch with the description it started with",
                    jd, r->desc_sha);
        return CF_ERR_INVALID;
    }
    return CF_OK;
}

/* The operator asked to stop before the run started (opts.cancel). */
static int cancelled(const struct cf_runner *r)
{
    return r->o.cancel != NULL && __atomic_load_n(r->o.cancel, __ATOMIC_ACQUIRE) != 0;
}

cf_err_t cf_runner_new(const cf_runner_opts_t *opts, cf_runner_t **out, cf_diag_list_t *diags)
{
    *out = NULL;
    if (opts == NULL || opts->description == NULL || opts->batch == NULL || opts->journal == NULL)
        return CF_ERR_ARG;
    struct cf_runner *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return CF_ERR_NOMEM;
    r->batch.fd = -1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    cf_runner_log_init(r);
    cf_err_t e = copy_opts(r, opts);
    if (e != CF_OK)
        goto fail;

    char err[256];
    e = cf_reader_spec_parse(r->o.readers, &r->spec, err, sizeof(err));
    if (e != CF_OK) {
        cf_diag_add(diags, CF_SEV_ERROR, "--readers", 0, "%s", err);
        goto fail;
    }
    if (r->spec.source != CF_READERS_SIM && (r->o.sim_keep || r->o.sim_latency)) {
        cf_diag_add(diags, CF_SEV_ERROR, "--readers", 0,
                    "--sim-keep and --sim-latency need simulated readers (sim:N)");
        e = CF_ERR_ARG;
        goto fail;
    }
    if (r->o.sim_latency != NULL) {
        if (cf_vcard_latency_profile(r->o.sim_latency, &r->latency) != CF_OK) {
            cf_diag_add(diags, CF_SEV_ERROR, "--sim-latency", 0,
                        "unknown latency profile '%s' (contact, contact-9600, contact-fast, "
                        "contact-rsa)",
                        r->o.sim_latency);
            e = CF_ERR_ARG;
            goto fail;
        }
        r->latency_on = 1;
    }

    /* Documents: every problem of every document, then stop. */
    cf_err_t ed = check_description(r, diags);
    cf_err_t ep = cf_profiles_load(r->o.profiles_dir, diags, &r->profiles);
    cf_err_t eb = CF_OK;
    size_t records = 0;
    if (r->plan != NULL)
        eb = check_batch(r, diags, &records);
    if (ep == CF_OK && r->o.profile != NULL &&
        cf_profiles_find(r->profiles, r->o.profile) == NULL) {
        cf_diag_add(diags, CF_SEV_ERROR, r->o.profiles_dir, 0, "no card profile named '%s'",
                    r->o.profile);
        ep = CF_ERR_INVALID;
    }
    if (cancelled(r))
        goto fail;
    if (ed != CF_OK || ep != CF_OK || eb != CF_OK) {
        e = ed == CF_ERR_IO || ep == CF_ERR_IO || eb == CF_ERR_IO ? CF_ERR_IO : CF_ERR_INVALID;
        goto fail;
    }
    r->records = records;
    if (cancelled(r) || (e = load_keys(r, diags)) != CF_OK)
        goto fail;
    /* The fingerprint of the bytes compiled: the description is read once. */
    snprintf(r->desc_sha, sizeof(r->desc_sha), "%s", cf_plan_sha256(r->plan));
    struct stat js, ts;
    if (r->o.trace != NULL && stat(r->o.journal, &js) == 0 && fstat(fileno(r->o.trace), &ts) == 0 &&
        js.st_dev == ts.st_dev && js.st_ino == ts.st_ino) {
        cf_diag_add(diags, CF_SEV_ERROR, r->o.journal, 0,
                    "--trace and --journal name the same file: the trace would be written into "
                    "the journal; give the trace a file of its own");
        e = CF_ERR_ARG;
        goto fail;
    }
    if (cancelled(r) || (e = open_journal(r, diags)) != CF_OK)
        goto fail;
    cf_journal_totals_t tot;
    cf_journal_state_totals(r->st, &tot);
    r->done_before = tot.records_done;
    r->next_attempt = cf_journal_state_next_attempt(r->st);
    e = cf_sched_new(r->plan, &r->batch, r->st, r->o.max_attempts, &r->sched, diags);
    if (e != CF_OK)
        goto fail;
    if (r->o.order_name != NULL && (e = r->o.dry_run ? cf_runner_order_preview(r, diags)
                                                     : cf_runner_order_join(r, diags)) != CF_OK)
        goto fail;
    if (r->o.trace != NULL && (e = cf_trace_new(r->o.trace, &r->trace)) != CF_OK)
        goto fail;
    if (r->spec.source == CF_READERS_SIM) {
        e = cf_runner_sim_prepare(r, diags);
        if (e != CF_OK)
            goto fail;
    } else {
        /* PC/SC: say now when the service is not there. */
        e = cf_pcsc_new(&r->pcsc, err, sizeof(err));
        if (e != CF_OK) {
            cf_diag_add(diags, CF_SEV_ERROR, "--readers", 0, "%s", err);
            goto fail;
        }
    }
    *out = r;
    return CF_OK;
fail:
    if (cancelled(r))
        e = CF_ERR_INTERRUPTED;
    cf_runner_free(r);
    return e;
}

static void write_end(struct cf_runner *r, const char *reason)
{
    if (r->journal == NULL)
        return;
    cf_journal_totals_t t;
    pthread_mutex_lock(&r->mu);
    cf_journal_state_totals(r->st, &t);
    cf_journal_end_t e = {
        .time = cf_runner_wall_ms(),
        .reason = reason,
        .personalized = r->personalized,
        .failed = r->failed,
        .rejected = r->rejected,
        .remaining = r->records > t.records_done ? r->records - t.records_done : 0,
    };
    pthread_mutex_unlock(&r->mu);
    cf_journal_write_end(r->journal, &e);
}

cf_err_t cf_runner_run(cf_runner_t *r)
{
    if (r->started)
        return CF_ERR_ARG;
    r->started = 1;
    r->t_start = cf_runner_mono_ms();
    cf_runner_log_start(r);
    if (r->journal != NULL) {
        cf_journal_run_t run = {
            .time = cf_runner_wall_ms(),
            .description = r->o.description,
            .description_sha256 = r->desc_sha,
            .batch = r->o.batch,
            .batch_sha256 = r->batch_sha,
            .records = r->records,
            .readers = r->o.readers,
            .max_attempts = r->o.max_attempts,
            .version = cf_version(),
            .pid = (long)getpid(),
            .order = r->station != NULL ? r->o.order_name : NULL,
            .station = r->station != NULL ? r->o.station : NULL,
            .station_number = r->station != NULL ? cf_station_number(r->station) : 0,
        };
        cf_err_t e = cf_journal_write_run(r->journal, &run);
        if (e == CF_OK)
            e = cf_journal_state_apply_run(r->st, &run);
        if (e != CF_OK) {
            r->fatal = e;
            r->finished = 1;
            return e;
        }
    }
    cf_runner_order_start(r);
    cf_err_t e = r->spec.source == CF_READERS_SIM ? cf_runner_run_sim(r) : cf_runner_run_pcsc(r);
    cf_runner_order_stop(r);
    pthread_mutex_lock(&r->mu);
    r->finished = 1;
    if (e == CF_OK && r->fatal != CF_OK)
        e = r->fatal;
    if (e == CF_OK && r->stop_level > 0 && !r->complete)
        e = CF_ERR_INTERRUPTED;
    if (cf_sched_batch_changed(r->sched)) {
        cf_runner_log(r,
                      "%s changed while the run read it: its records are no longer the ones "
                      "validated (sha256 %.16s...); compare this run's cards with the batch "
                      "and never edit a batch under a running job",
                      r->o.batch, r->batch_sha);
        if (e == CF_OK)
            e = CF_ERR_INVALID;
    }
    pthread_mutex_unlock(&r->mu);
    write_end(r, e == CF_OK ? "done" : e == CF_ERR_INTERRUPTED ? "interrupted" : "error");
    char where[4600];
    if (r->journal != NULL && cf_journal_where(r->journal, where, sizeof(where))) {
        cf_runner_log(r, "journal %s: %s", r->o.journal, where);
        cf_runner_log(r, "the run stopped at once: no new card was taken, the cards in flight "
                         "stayed in their readers; fix the cause (free space, the file's place), "
                         "then run the same command again: it resumes from the journal");
    }
    cf_runner_log_stop(r); /* every line out before the caller's summary */
    return e;
}

void cf_runner_snapshot(cf_runner_t *r, cf_runner_progress_t *p, cf_runner_reader_t *readers,
                        size_t cap)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_lock(&r->mu);
    cf_journal_totals_t t;
    cf_journal_state_totals(r->st, &t);
    p->records = r->records;
    p->done = t.records_done;
    p->done_before = r->done_before;
    p->personalized = r->personalized;
    p->failed = r->failed;
    p->rejected = r->rejected;
    p->given_up = cf_sched_given_up_count(r->sched);
    p->in_flight = cf_sched_in_flight(r->sched);
    p->elapsed_s = r->started ? (cf_runner_mono_ms() - r->t_start) / 1000.0 : 0.0;
    p->cards_per_min = p->elapsed_s > 0 ? (double)r->personalized * 60.0 / p->elapsed_s : 0.0;
    uint64_t left = p->records > p->done + p->given_up ? p->records - p->done - p->given_up : 0;
    p->eta_s = (r->personalized > 0 && p->elapsed_s > 0)
                   ? (double)left * p->elapsed_s / (double)r->personalized
                   : -1.0;
    p->n_readers = r->n_readers;
    p->finished = r->finished;
    p->stopping = r->stop_level;
    p->open_intents = cf_journal_state_open_count(r->st);
    p->complete = r->complete;
    p->order = r->o.order_name != NULL;
    p->order_known = r->order_known;
    p->order_records = r->order_counts[0];
    p->order_done = r->order_counts[1];
    p->order_claimed = r->order_counts[2];
    p->order_failed = r->order_counts[3];
    for (size_t i = 0; readers != NULL && i < cap && i < r->n_readers; i++)
        readers[i] = r->readers[i]->pub;
    pthread_mutex_unlock(&r->mu);
}

void cf_runner_sync_stats(cf_runner_t *r, uint64_t *syncs, double *total_ms)
{
    if (r->journal != NULL) {
        cf_journal_sync_stats(r->journal, syncs, total_ms);
    } else {
        if (syncs)
            *syncs = 0;
        if (total_ms)
            *total_ms = 0;
    }
}

uint64_t cf_runner_given_up(const cf_runner_t *r, size_t i)
{
    return r->sched ? cf_sched_given_up(r->sched, i) : 0;
}

void cf_runner_free(cf_runner_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_readers; i++) {
        pthread_cond_destroy(&r->readers[i]->cv);
        free(r->readers[i]);
    }
    free(r->readers);
    free(r->putback);
    cf_pcsc_free(r->pcsc);
    cf_runner_order_free(r);
    cf_sched_free(r->sched);
    cf_batch_src_close(&r->batch);
    cf_trace_free(r->trace);
    cf_journal_close(r->journal);
    cf_journal_state_free(r->own_st);
    cf_profiles_free(r->profiles);
    cf_keyfile_free(r->keys);
    cf_plan_free(r->plan);
    cf_reader_spec_free(&r->spec);
    free(r->desc_path);
    free(r->batch_path);
    free(r->journal_path);
    free(r->readers_text);
    free(r->profiles_dir);
    free(r->profile);
    free(r->sim_keep);
    free(r->sim_latency);
    free(r->keyfile_path);
    free(r->order_db);
    free(r->order_name);
    free(r->station_name);
    cf_runner_log_free(r);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
