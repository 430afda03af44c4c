/*
 * runner_int.h - the runner's shared state (internal).
 *
 * One mutex (mu) guards everything that several reader threads touch: the
 * scheduler, the journal's resume state, the counters, the reader table and
 * the simulated card supply. Journal writes (and their fsyncs) happen
 * outside mu, so a slow disk never stalls the other readers' scheduling;
 * a record is applied to the state under mu only after it is on disk.
 *
 * Condition variables: r->cv wakes workers waiting for a record (a card
 * finished, the run stops); each PC/SC reader's rd->cv wakes its worker when
 * the watcher sees its card or the reader change.
 */
#ifndef CF_RUNNER_INT_H
#define CF_RUNNER_INT_H

#include <pthread.h>
#include <stdint.h>

#include <cardforge/card.h>
#include <cardforge/journal.h>
#include <cardforge/plan.h>
#include <cardforge/runner.h>
#include <cardforge/transport.h>

#include "runner/sched.h"
#include "vcard/latency.h"

struct rdr {
    cf_runner_reader_t pub; /* the progress row, under mu */
    struct cf_runner *r;
    pthread_t thread;
    int thread_started; /* a thread was created (join it) */
    int thread_live;    /* it has not finished its loop */
    unsigned index;     /* simulated readers: 1-based */
    /* PC/SC: the watcher's latest view, under mu */
    pthread_cond_t cv;
    int present, mute, gone;
    unsigned events;
    int handled;          /* the card now present was handled (until removed or a new event) */
    cf_err_t last_err;    /* how the last card ended (worker-only) */
    double service_us;    /* latency model, this card (worker-only) */
    double sleep_debt_us; /* how much the sleeps overshot so far, this card */
};

struct cf_runner {
    cf_runner_opts_t o; /* strings point into the copies below */
    char *desc_path, *batch_path, *journal_path, *readers_text, *profiles_dir, *profile, *sim_keep,
        *sim_latency, *keyfile_path, *order_db, *order_name, *station_name;
    cf_keyfile_t *keys; /* NULL unless the plan derives */
    cf_reader_spec_t spec;
    cf_plan_t *plan;
    cf_profiles_t *profiles;
    cf_journal_t *journal;  /* NULL in a dry run */
    cf_journal_state_t *st; /* the journal's, or our own in a dry run */
    cf_journal_state_t *own_st;
    cf_sched_t *sched;
    cf_batch_src_t batch; /* open from validation to the end (batch_src.h) */
    cf_trace_t *trace;
    char desc_sha[72], batch_sha[72];
    uint64_t records;
    uint64_t done_before;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop_level; /* read without mu by should_stop: written with __atomic */
    int complete;
    cf_err_t fatal;
    uint64_t next_attempt;
    uint64_t personalized, failed, rejected;
    double t_start; /* monotonic ms */
    int started, finished;

    struct rdr **readers;
    size_t n_readers, cap_readers;

    /* simulated readers */
    int latency_on;
    cf_vcard_latency_t latency;
    uint32_t next_serial;
    uint32_t *putback; /* serials of cards left in readers (sim_keep/in) */
    size_t n_putback, i_putback;

    /* an order shared by several stations (order_feed.c); NULL station:
     * none, the batch and the journal alone */
    struct cf_station *station;
    pthread_t order_thread;
    int order_thread_started, order_quit, order_down, order_cv_init;
    pthread_cond_t order_cv;  /* wakes the feeder (with mu) */
    int order_known;          /* order_counts were read at the end */
    uint64_t order_counts[4]; /* records, done, claimed, failed */
    /* Time the station spent in the database, as its callers waited for
     * it (the station's lock included), per kind of call (enum in
     * order_feed.c: claim, heartbeat, intent, result); with mu. */
    uint64_t coord_calls[4];
    double coord_ms[4];

    /* PC/SC */
    cf_pcsc_t *pcsc;
    size_t dry_pending; /* dry run: cards in the readers not yet checked */
    int pcsc_seen;      /* the first reader snapshot was taken */

    /* Log lines on their way to on_log (log.c): never handed over by a
     * thread that holds mu. */
    pthread_mutex_t log_mu; /* nests inside nothing, nothing nests inside it */
    pthread_cond_t log_cv;
    struct log_line *log_head, *log_tail;
    size_t log_n;
    unsigned long log_dropped;
    int log_stop, log_live;
    pthread_t log_thread;
};

/* Monotonic and wall clocks in milliseconds. */
double cf_runner_mono_ms(void);
int64_t cf_runner_wall_ms(void);

/* Queue a log line for the caller's hook (printf-like). Callable with or
 * without mu held: the hook runs on the log thread, never under mu. */
void cf_runner_log(struct cf_runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_runner_log_init(struct cf_runner *r);
/* Start the thread that hands lines over; stop it after the last line
 * (lines queued with no thread are handed over by stop, from the caller's
 * thread); free (stops first). */
void cf_runner_log_start(struct cf_runner *r);
void cf_runner_log_stop(struct cf_runner *r);
void cf_runner_log_free(struct cf_runner *r);

/* A new reader row named name (under mu). NULL when out of memory. */
struct rdr *cf_runner_add_reader(struct cf_runner *r, const char *name);

/* Set the stop level (never lowers it) and wake everybody. mu NOT held. */
void cf_runner_request_stop(struct cf_runner *r, int level);
/* Same, with mu held. */
void cf_runner_stop_locked(struct cf_runner *r, int level);
/* The batch is complete: wake everybody, end the PC/SC wait (mu held). */
void cf_runner_complete_locked(struct cf_runner *r);

/* Outcome of one card as the worker needs it. */
typedef enum cf_card_outcome {
    CF_CARD_HANDLED = 0, /* a journal record was written (or would be: dry run) */
    CF_CARD_STOPPED,     /* ... the run stopped it at a safe point: it stays in
                          * its reader, to be finished by the next run */
    CF_CARD_UNTOUCHED,   /* released without a record: nothing left or stopping */
    CF_CARD_NONE_LEFT,   /* ... and the batch is complete */
    CF_CARD_KEPT,        /* released without a record, but the journal has an
                          * open intent for it: it stays in its reader (a
                          * simulated hopper keeps it for the next run) */
} cf_card_outcome_t;

/* The order link (order_feed.c). join: in cf_runner_new, after the
 * scheduler exists (checks the order, replays the journal, gives the
 * station's held claims to the scheduler, sets the simulated serial range);
 * start/stop: around the readers in cf_runner_run; free: leave the order.
 * intent: before a card's first change, outside mu: CF_OK or the reason
 * the card must not be touched; result: after its line is durable. */
cf_err_t cf_runner_order_join(struct cf_runner *r, cf_diag_list_t *diags);
/* A dry run's look at the order instead of a join: the same checks (the
 * order, the batch's and the description's SHA-256), then the order's
 * counts and what this station would claim, logged; nothing is claimed or
 * written to the database. */
cf_err_t cf_runner_order_preview(struct cf_runner *r, cf_diag_list_t *diags);
void cf_runner_order_start(struct cf_runner *r);
void cf_runner_order_stop(struct cf_runner *r);
void cf_runner_order_free(struct cf_runner *r);
cf_err_t cf_runner_order_intent(struct cf_runner *r, uint64_t attempt, uint64_t record,
                                const char *serial, const char *reader, char *why, size_t cap);
void cf_runner_order_result(struct cf_runner *r, const cf_journal_card_t *c, int given_up);

/* Work one card on transport t (taken over: closed here) in reader rd. */
cf_card_outcome_t cf_runner_handle_card(struct cf_runner *r, struct rdr *rd, cf_transport_t *t);

/* The reader threads of each source. Both return when the run ends. */
cf_err_t cf_runner_run_sim(struct cf_runner *r);
cf_err_t cf_runner_run_pcsc(struct cf_runner *r);

/* Sim supply set-up (sim_keep directory scan, first serial). */
cf_err_t cf_runner_sim_prepare(struct cf_runner *r, cf_diag_list_t *diags);

#endif
