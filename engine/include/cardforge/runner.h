/*
 * runner.h - the multi-reader batch runner behind `cardforge run`.
 *
 * A runner takes an encoding description, a batch file and a journal, and
 * personalizes one card per batch record on every reader at once: one thread
 * per reader, each inserted card takes the next record not yet done, every
 * card attempt ends in a synced journal record before the card is released
 * (journal.h). Readers are real PC/SC readers (watched with
 * SCardGetStatusChange, taken up and dropped as they come and go) or
 * simulated readers in this process, each fed fresh factory cards like a
 * hopper.
 *
 * Everything is validated before the first card is touched: the
 * description (no operator prompts: nobody is there to answer), the
 * profiles, every batch record against the plan, the reader spec, and the
 * journal (same batch and description as the journal's first run).
 *
 * The library prints nothing: progress reaches the caller through the
 * events below and cf_runner_snapshot; `cardforge run` renders them.
 *
 * Threads: cf_runner_run blocks the calling thread and starts the reader
 * threads. cf_runner_stop and cf_runner_snapshot may be called from any
 * other thread while it runs (not from a signal handler).
 */
#ifndef CARDFORGE_RUNNER_H
#define CARDFORGE_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/journal.h>
#include <cardforge/simcard.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reader specs ---------------------------------------------------------- */

typedef enum cf_reader_source {
    CF_READERS_ALL = 0,   /* every PC/SC reader */
    CF_READERS_MATCH = 1, /* PC/SC readers whose name contains one of the substrings */
    CF_READERS_SIM = 2,   /* simulated readers in this process */
} cf_reader_source_t;

#define CF_RUNNER_MAX_SIM 1024u
#define CF_RUNNER_MAX_MATCH 64u

typedef struct cf_reader_spec {
    cf_reader_source_t source;
    char *match[CF_RUNNER_MAX_MATCH]; /* CF_READERS_MATCH: owned substrings */
    size_t n_match;
    unsigned sim_count;   /* CF_READERS_SIM: 1 .. CF_RUNNER_MAX_SIM */
    char sim_type[CF_SIMCARD_TYPE_MAX]; /* canonical card type, e.g. "gids+admin-counter" */
    char sim_factory[32];               /* "" = the type's default */
} cf_reader_spec_t;

/* Parse a --readers value: "all", a comma-separated list of reader-name
 * substrings (case-sensitive, each non-empty), or "sim:N[:TYPE[:FACTORY]]"
 * (N 1..1024, TYPE a virtual card type BASE[+QUIRK...] as cf_simcard_new
 * takes it, yubikey by default; FACTORY a factory state of that type). The factory name is checked here by creating a card. CF_ERR_ARG
 * with a message in err on a malformed spec. Free with cf_reader_spec_free. */
cf_err_t cf_reader_spec_parse(const char *text, cf_reader_spec_t *out, char *err, size_t errlen);
void cf_reader_spec_free(cf_reader_spec_t *spec);
/* 1 when a PC/SC reader of that name is one the spec takes. */
int cf_reader_spec_matches(const cf_reader_spec_t *spec, const char *reader_name);

/* ---- options and events ------------------------------------------------------ */

/* One card released: its journal record (borrowed for the call). */
typedef void (*cf_runner_card_fn)(void *user, const cf_journal_card_t *card);
/* Something a person should read: a reader taken up, dropped or set aside,
 * a card left in a reader, a journal problem. One line, no line end. */
typedef void (*cf_runner_log_fn)(void *user, const char *line);

typedef struct cf_runner_opts {
    const char *description;  /* path */
    const char *batch;        /* path */
    const char *journal;      /* path */
    const char *readers;      /* spec; NULL = "all" */
    const char *profiles_dir; /* NULL = cf_profiles_default_dir() */
    const char *profile;      /* use this profile for every card (checked at
                               * cf_runner_new); NULL = recognise each card */
    const char *keyfile;      /* master keys for derived values; needed when the
                               * description derives (@derive:...) */
    unsigned max_attempts;    /* failed attempts per record; 0 = 3 */
    int dry_run;              /* identify and check the cards in the readers once, change
                               * nothing, write no journal, end */
    int wait_readers;         /* PC/SC: wait for a reader the spec names to appear; 0: a
                               * spec no reader matches ends the run, naming the readers */
    FILE *trace;              /* APDU trace (secrets shown **), borrowed; NULL = none */
    /* Simulated readers only: */
    const char *sim_keep;      /* keep the cards as state files in this directory
                                * (DIR/in: in a reader, DIR/out: released), so a
                                * resumed run puts the cards left in readers back */
    const char *sim_latency;   /* latency profile of the cards (vcard profiles:
                                * "contact", ...); NULL = none */
    uint32_t sim_serial_base;  /* first serial of fresh cards; 0 = 1000001 */
    unsigned journal_flags;    /* CF_JOURNAL_NO_SYNC for the fsync benchmark only */
    unsigned reader_max_fails; /* failed cards in a row that set a reader aside; 0 = 3 */
    /* An order shared by several stations (docs/stations.md); all NULL:
     * the batch and the journal alone. */
    const char *order_db;   /* libpq connection string (no password) */
    const char *order_name; /* the order, loaded with `cardforge order load` */
    const char *station;    /* this station's name in the order */
    unsigned order_lease_s; /* claim lease; 0 = 30 s */
    cf_runner_card_fn on_card;
    cf_runner_log_fn on_log;
    void *user;
    /* Borrowed; NULL = never. Another thread (a signal handler's) sets *cancel
     * to nonzero, with an atomic store, to make cf_runner_new give up with
     * CF_ERR_INTERRUPTED at its next check: between documents, and between
     * two reads of the batch. Nothing has been written then. */
    const int *cancel;
} cf_runner_opts_t;

typedef struct cf_runner cf_runner_t;

/* Validate everything (see above) and open the journal (locked). Problems
 * go to diags as "file:line: message". Errors: CF_ERR_INVALID (a document
 * is wrong), CF_ERR_ARG (a bad reader spec or option), CF_ERR_IO /
 * CF_ERR_NOT_FOUND (a file cannot be read), CF_ERR_SHARING (the journal is
 * in use), CF_ERR_PARSE (the journal is damaged). The caller owns *out. */
cf_err_t cf_runner_new(const cf_runner_opts_t *opts, cf_runner_t **out, cf_diag_list_t *diags);

/* Run the batch until every record is personalized or has used its
 * attempts, or until stopped. CF_OK when the run ended normally (see the
 * summary for what is left), CF_ERR_INTERRUPTED when stopped, CF_ERR_IO when
 * the journal could not be written (the run stops at once). */
cf_err_t cf_runner_run(cf_runner_t *r);

/* Stop: level 1 finishes the cards in flight and takes no new ones; level 2
 * also stops the cards in flight at their next safe point (between steps),
 * recording their state. Thread-safe. */
void cf_runner_stop(cf_runner_t *r, int level);

/* ---- progress and summary ---------------------------------------------------- */

typedef enum cf_reader_state {
    CF_RSTATE_WAITING = 0, /* no card, or a card already handled */
    CF_RSTATE_BUSY,        /* working on a card */
    CF_RSTATE_ASIDE,       /* set aside after repeated failures */
    CF_RSTATE_GONE,        /* the reader disappeared */
    CF_RSTATE_DONE,        /* stopped */
} cf_reader_state_t;

const char *cf_reader_state_name(cf_reader_state_t s); /* "waiting", "busy", ... */

typedef struct cf_runner_reader {
    char name[128];
    cf_reader_state_t state;
    char serial[CF_JOURNAL_SERIAL_MAX + 1]; /* card in work, "" */
    uint64_t record;                        /* its record, 0 */
    char step[32];                          /* step in progress or last reported, "" */
    uint64_t cards, personalized, failed, rejected;
    unsigned fails_in_row;
    double busy_ms;    /* from taking a card to releasing it, summed */
    double service_ms; /* simulated readers with a latency model: the cards' own time */
    char note[160];    /* why it was set aside or dropped */
} cf_runner_reader_t;

typedef struct cf_runner_progress {
    uint64_t records;                        /* in the batch */
    uint64_t done;                           /* personalized, this run and before */
    uint64_t done_before;                    /* personalized before this run */
    uint64_t personalized, failed, rejected; /* card attempts in this run */
    uint64_t given_up;                       /* records that used all their attempts */
    uint64_t in_flight;                      /* cards in work */
    double elapsed_s;
    double cards_per_min; /* this run's personalized cards per minute */
    double eta_s;         /* -1 when unknown */
    size_t n_readers;     /* readers known (may exceed what was copied) */
    int finished;
    int stopping;          /* 0, 1 or 2 */
    uint64_t open_intents; /* cards changed and not finished (journal) */
    int complete;          /* nothing was left for this run to do */
    /* A station of an order (opts.order_name): the order's records at the
     * end of the run, as the database counted them (all 0 before the end
     * or when it could not be asked; order_known then 0). */
    int order, order_known;
    uint64_t order_records, order_done, order_claimed, order_failed;
} cf_runner_progress_t;

/* Copy the totals and up to cap readers' rows (readers may be NULL). */
void cf_runner_snapshot(cf_runner_t *r, cf_runner_progress_t *p, cf_runner_reader_t *readers,
                        size_t cap);

/* Journal fsyncs of this run and their total time (benchmark figures). */
void cf_runner_sync_stats(cf_runner_t *r, uint64_t *syncs, double *total_ms);

/* The i-th record that used all its attempts in this run (0 past the end). */
uint64_t cf_runner_given_up(const cf_runner_t *r, size_t i);

/* Close the journal (synced), stop everything, free. NULL is fine. */
void cf_runner_free(cf_runner_t *r);

#ifdef __cplusplus
}
#endif
#endif
