/*
 * journal.h - the batch journal: one JSON object per line, the source of
 * truth of a batch.
 *
 * A batch run appends to one journal file (JSON Lines, docs/journal.md):
 *
 *   run     once per invocation: what was run (description, batch and their
 *           SHA-256, record count, readers);
 *   intent  before every step that changes a card irreversibly (PIN set, PUK
 *           changed, key rotated, PIN blocked): which card, which record,
 *           which step; written and fsync'd BEFORE the step's first APDU;
 *   card    one per card attempt, at its end: record, reader, serial, ATR,
 *           profile, every step (outcome, whether it reached the card, status
 *           word, milliseconds, APDUs, key check value), the final status,
 *           error and message, times, APDU count, and the wrong values the
 *           card refused (counts and parameter names, never values);
 *           written and fsync'd BEFORE the card is released;
 *   end     when a run stops, with its counts (informative only).
 *
 * Nothing secret is ever written: the records are built from the fields of
 * the structures below, which hold no PIN, PUK or key, only check values.
 *
 * Reading a journal back (cf_journal_open, cf_journal_scan) streams it line
 * by line with a fixed buffer and rebuilds the resume state:
 *   - which batch records are personalized (a bitmap over record numbers),
 *   - which card serials are personalized (a hash set of 64-bit serial
 *     hashes),
 *   - which cards carry an open intent: a change started on the card and not
 *     finished (no final record, or a final record that failed after the
 *     change reached the card), with the record it was made for,
 *   - failed attempts per record (only for records that failed),
 *   - per card not yet personalized that refused a value as wrong: the
 *     wrong values presented and the values refused (its history).
 * What grows: one bit per batch record, about 11-16 bytes per personalized
 * card, and a small entry per failing record, per open intent and per card
 * with a history. Nothing per line is kept.
 *
 * A crash can leave a torn last line (a write cut short: no line end, or a
 * tail of NUL bytes). It is recognised by that shape only (at most
 * CF_JOURNAL_MAX_LINE bytes after the last line end, beginning with '{' or
 * NUL, NULs only at its end): cf_journal_open removes it (ftruncate +
 * fsync) and says so in a warning; since records are fsync'd before a card
 * moves on, a torn line only ever describes a card that was still in its
 * reader. Any other malformed line, the last complete one included, is an
 * error and nothing is changed: the journal is machine-written, and
 * guessing past damage could personalize a card twice.
 *
 * Threads: a cf_journal_t may be written by several threads at once; each
 * line is written whole with one write(2), and concurrent writers share
 * fsyncs (group commit). The resume state is NOT locked by the journal: the
 * caller (the runner) updates and reads it under its own lock, with
 * cf_journal_state_apply_*, the same functions the reader uses.
 */
#ifndef CARDFORGE_JOURNAL_H
#define CARDFORGE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CF_JOURNAL_FORMAT 1              /* the "v" of run records */
#define CF_JOURNAL_MAX_LINE 65536u       /* longest line written or accepted, line end included */
#define CF_JOURNAL_MAX_STEPS 16u         /* steps per card record */
#define CF_JOURNAL_SERIAL_MAX 64u        /* longest serial, in characters */
#define CF_JOURNAL_MAX_RECORD 100000000u /* highest batch record number */
#define CF_JOURNAL_MAX_ATTEMPT 1000000000000ull /* highest attempt number (never wraps) */

/* The final status of a card attempt. */
typedef enum cf_card_status {
    CF_STATUS_PERSONALIZED = 0, /* every step done (or found done) and proven */
    CF_STATUS_FAILED = 1,       /* something went wrong; the steps say what reached the card */
    CF_STATUS_REJECTED = 2,     /* not used: nothing that changes a card was sent */
} cf_card_status_t;

/* "personalized", "failed", "rejected". */
const char *cf_card_status_name(cf_card_status_t s);

/* ---- records ----------------------------------------------------------------- */
/* Every string below is borrowed for the duration of the call; NULL is
 * written as "". Times are milliseconds since the epoch (UTC). */

typedef struct cf_journal_run {
    int64_t time;
    const char *description; /* path as given */
    const char *description_sha256;
    const char *batch;
    const char *batch_sha256;
    uint64_t records;    /* records in the batch */
    const char *readers; /* the reader spec */
    unsigned max_attempts;
    const char *version; /* cardforge version */
    long pid;
    /* A station of an order (run --order): the order's name, the station's
     * name and its number in the order. NULL / 0 without an order: the
     * record then has none of the three fields, as before orders. */
    const char *order;
    const char *station;
    unsigned station_number;
} cf_journal_run_t;

typedef struct cf_journal_intent {
    int64_t time;
    uint64_t attempt;   /* the card attempt it belongs to */
    uint64_t record;    /* batch record number (1-based) */
    unsigned long line; /* its line in the batch file */
    const char *reader;
    const char *serial;
    const char *profile;
    const char *step;    /* "set-pin-by-puk", "rotate-admin-key", ... */
    unsigned step_index; /* 1-based position in the plan */
} cf_journal_intent_t;

typedef struct cf_journal_step {
    const char *step;    /* step kind name */
    const char *outcome; /* "done", "already", "failed", "refused", "not-run" */
    const char *reached; /* "yes", "no", "unknown" */
    cf_err_t err;
    uint16_t sw; /* 0: no status word */
    double ms;
    unsigned apdus;
    const char *kcv; /* key check value of an installed key, or "" */
    const char *message;
    /* Where the value the step installs came from: "literal", "field",
     * "derived", "random", or "" when the step installs nothing. For
     * "derived", the master key's name and version (never the key). */
    const char *source;
    const char *master_key;
    unsigned master_version; /* 0: none */
    const char *guid;        /* write-chuid: the GUID written (32 hex digits); NULL or "" else */
} cf_journal_step_t;

/* What an issue-certificate step left on the card, written inside that
 * step as "certificate": where the card stands, the slot, the key
 * algorithm and, once the CA's certificate passed its checks, its public
 * facts. Never a private key or a PIN. */
typedef struct cf_journal_cert {
    unsigned step;     /* index of the step in the card's steps (0-based) */
    const char *state; /* "done", "key-generated", ... (cf_issue_state_name) */
    const char *slot;  /* "9a", "0"; "" when no key was generated */
    const char *algorithm;
    const char *serial;    /* hex; "" until a certificate passed its checks */
    const char *sha256;    /* of the DER, lower-case hex; "" likewise */
    const char *issuer;    /* RFC 2253; "" likewise */
    const char *not_after; /* "2027-12-05T13:38:56Z"; "" likewise */
} cf_journal_cert_t;

typedef struct cf_journal_card {
    uint64_t attempt;
    uint64_t recovers; /* the attempt whose open intent this one finishes, 0: none */
    uint64_t record;   /* 0: no record was assigned */
    unsigned long line;
    const char *id; /* the batch's ID column, or "" */
    const char *reader;
    const char *serial; /* "" when the card could not be identified */
    const char *atr;    /* hex, upper case */
    const char *profile;
    const char *version;
    cf_card_status_t status;
    cf_err_t err;
    const char *message;
    int64_t start, end;
    uint64_t apdus;
    const cf_journal_step_t *steps;
    size_t n_steps; /* at most CF_JOURNAL_MAX_STEPS */
    /* Tries left as last read: PIN, PUK, admin key; -1 when not read. */
    int tries[3];
    /* Wrong values this attempt presented for the PUK and for the admin
     * key, as the card answered them (it refused them as wrong). Counts
     * only: a journal never holds a value. */
    unsigned spent_puk, spent_admin;
    /* The plan's values the card refused in this attempt: bit (1u << p) for
     * each cf_param_t p (plan.h; the executor's CF_PARAM_BIT), written as
     * the parameters' names. Bits of no parameter are not written. */
    unsigned refused;
    /* The issue-certificate steps' facts (NULL and 0 when none). */
    const cf_journal_cert_t *certs;
    size_t n_certs;
} cf_journal_card_t;

typedef struct cf_journal_end {
    int64_t time;
    const char *reason;                      /* "done", "interrupted", "error" */
    uint64_t personalized, failed, rejected; /* in this run */
    uint64_t remaining;                      /* records not personalized */
} cf_journal_end_t;

/* 1 when any step of c may have changed the card (reached "yes" or
 * "unknown"). */
int cf_journal_card_changed(const cf_journal_card_t *c);

/* ---- resume state -------------------------------------------------------------- */

typedef struct cf_journal_state cf_journal_state_t;

/* An open intent: a card an attempt may have changed, not yet settled.
 * Opened by the first intent of an attempt on the card (or a failed card
 * line whose change reached it). Settled (closed) only by
 *   - a personalized card line for the serial (any attempt), or
 *   - a failed or rejected card line of the SAME attempt that opened it,
 *     none of whose steps reached the card (the intent was written, its
 *     step never sent).
 * A later attempt on the card (a recovery) never closes nor hides it: its
 * intents update only step and final_written; its card lines, failed or
 * rejected, reaching the card or not, leave it open (final_written = 1).
 * So every card that may hold a record's values stays listed. */
typedef struct cf_journal_open {
    char serial[CF_JOURNAL_SERIAL_MAX + 1];
    uint64_t record; /* the record it was opened for */
    unsigned long line;
    uint64_t attempt;  /* the attempt that opened it */
    char step[32];     /* the last step with an intent */
    int final_written; /* 1: the latest attempt on the card ended with a card
                        * line (it failed after the change, or was set
                        * aside); 0: the latest attempt was cut off */
} cf_journal_open_t;

/* An empty state; NULL when out of memory. Free with cf_journal_state_free. */
cf_journal_state_t *cf_journal_state_new(void);
void cf_journal_state_free(cf_journal_state_t *st); /* NULL is fine */

/* Update the state with a record, exactly as reading it back would.
 * CF_ERR_NOMEM when a table cannot grow (the state is then incomplete:
 * stop). */
cf_err_t cf_journal_state_apply_run(cf_journal_state_t *st, const cf_journal_run_t *r);
cf_err_t cf_journal_state_apply_intent(cf_journal_state_t *st, const cf_journal_intent_t *in);
cf_err_t cf_journal_state_apply_card(cf_journal_state_t *st, const cf_journal_card_t *c);

int cf_journal_state_record_done(const cf_journal_state_t *st, uint64_t record);
int cf_journal_state_serial_done(const cf_journal_state_t *st, const char *serial);
/* Attempts on record that failed, or were rejected after the record was
 * given (card type, policy); interrupted ones do not count. */
unsigned cf_journal_state_attempts(const cf_journal_state_t *st, uint64_t record);
/* 1 and *out when serial has an open intent. out may be NULL. */
int cf_journal_state_open_intent(const cf_journal_state_t *st, const char *serial,
                                 cf_journal_open_t *out);
size_t cf_journal_state_open_count(const cf_journal_state_t *st);

/* What earlier attempts learned about one card, for the next attempt on it
 * (the runner hands it to the executor as a cf_card_history_t). */
typedef struct cf_journal_history {
    /* Wrong values presented for the PUK and the admin key: the sum of
     * "spent" over every card record of the serial. */
    unsigned spent_puk, spent_admin;
    /* The union of their "refused": bit (1u << p) for each cf_param_t p. */
    unsigned refused;
    /* The step of the serial's open intent (as cf_journal_open_t.step), ""
     * when it has none. */
    char open_step[32];
} cf_journal_history_t;

/* What the journal remembers about serial, in *out (always filled: zeros
 * and "" when nothing). 1 when there is anything (wrong values, refused
 * values or an open intent), else 0. Only serials with something to
 * remember take memory; a personalized serial's history is dropped (it is
 * never worked again). */
int cf_journal_state_history(const cf_journal_state_t *st, const char *serial,
                             cf_journal_history_t *out);
/* The i-th open intent (< open_count), in no particular order. */
const cf_journal_open_t *cf_journal_state_open_at(const cf_journal_state_t *st, size_t i);
/* 1 when some open intent is for record (its card may come back). */
int cf_journal_state_record_held(const cf_journal_state_t *st, uint64_t record);

/* The next unused attempt number (1 + the highest seen). */
uint64_t cf_journal_state_next_attempt(const cf_journal_state_t *st);

/* The largest number formed by the trailing decimal digits (at most 10) of
 * any serial in the journal: simulated readers number their fresh cards
 * above it, so their serials never collide with a card already journaled. */
uint64_t cf_journal_state_max_serial_number(const cf_journal_state_t *st);

typedef struct cf_journal_totals {
    uint64_t runs, intents, cards;
    uint64_t personalized, failed, rejected;
    uint64_t records_done;   /* distinct records personalized */
    uint64_t duplicates;     /* personalized records seen again: must stay 0 */
    uint64_t serial_repeats; /* personalized serials seen again: must stay 0 */
    uint64_t batch_records;  /* "records" of the first run record */
} cf_journal_totals_t;

void cf_journal_state_totals(const cf_journal_state_t *st, cf_journal_totals_t *out);

/* The batch and description fingerprints of the FIRST run record ("" when
 * there is none): a resumed run must be of the same batch. Borrowed. */
const char *cf_journal_state_batch_sha256(const cf_journal_state_t *st);
const char *cf_journal_state_description_sha256(const cf_journal_state_t *st);

/* Bytes the state's tables take now (the memory figures of the benchmark). */
size_t cf_journal_state_bytes(const cf_journal_state_t *st);

/* ---- reading -------------------------------------------------------------------- */

typedef enum cf_journal_kind {
    CF_JOURNAL_RUN = 0,
    CF_JOURNAL_INTENT,
    CF_JOURNAL_CARD,
    CF_JOURNAL_END,
} cf_journal_kind_t;

/* One parsed line, handed to a visitor. Every pointer is borrowed until
 * the visitor returns. */
typedef struct cf_journal_entry {
    cf_journal_kind_t kind;
    unsigned long lineno; /* line in the journal */
    cf_journal_run_t run;
    cf_journal_intent_t intent;
    cf_journal_card_t card;
    cf_journal_end_t end;
} cf_journal_entry_t;

typedef cf_err_t (*cf_journal_visit_fn)(void *user, const cf_journal_entry_t *e);

typedef struct cf_journal_info {
    unsigned long lines;   /* complete lines read */
    uint64_t bytes;        /* bytes of complete lines */
    unsigned long unknown; /* lines of an unknown "type" (skipped) */
    int torn;              /* a torn last line was found */
    unsigned long torn_line;
    uint64_t torn_bytes;
    int torn_removed; /* ... and cut off the file */
} cf_journal_info_t;

/* Stream the journal at path through visit (may be NULL) and, when st is
 * not NULL, apply every record to st. A torn last line is reported in info
 * and as a warning in diags and is NOT applied. Errors: CF_ERR_NOT_FOUND (no
 * such file), CF_ERR_IO, CF_ERR_PARSE (a malformed line that is not the
 * last: "path:line: error: ..."), or what visit returned. */
cf_err_t cf_journal_scan(const char *path, cf_journal_visit_fn visit, void *user,
                         cf_journal_state_t *st, cf_journal_info_t *info, cf_diag_list_t *diags);

/* The same over bytes in memory (tests, fuzzing); name is used in messages. */
cf_err_t cf_journal_scan_mem(const char *name, const uint8_t *data, size_t len,
                             cf_journal_visit_fn visit, void *user, cf_journal_state_t *st,
                             cf_journal_info_t *info, cf_diag_list_t *diags);

/* ---- writing --------------------------------------------------------------------- */

typedef struct cf_journal cf_journal_t;

/* flags for cf_journal_open */
#define CF_JOURNAL_NO_SYNC 0x1u /* never fsync (benchmark of the fsync cost only) */

/* Open (creating, mode 0600) the journal at path for appending, locked
 * exclusively (flock) so that two runs never write one journal: a second
 * run gets CF_ERR_SHARING. Refused untouched: a symbolic link (CF_ERR_IO),
 * a file that is not regular, or not empty and not beginning with a run
 * record (CF_ERR_INVALID). Reads it first into a new resume state (see
 * cf_journal_scan) and removes a torn last line. A journal this call
 * created is removed again by cf_journal_close if nothing was written. On CF_OK the caller owns
 * *out and closes it with cf_journal_close; the state belongs to the journal
 * (cf_journal_get_state). On error *out is NULL and the reason is in diags. */
cf_err_t cf_journal_open(const char *path, unsigned flags, cf_journal_t **out,
                         cf_journal_info_t *info, cf_diag_list_t *diags);

/* The resume state read at open (borrowed; see "Threads" above). */
cf_journal_state_t *cf_journal_get_state(cf_journal_t *j);

/* Append one record. intent and card records are on disk (fsync) when the
 * call returns; run and end records are synced by the next synced record or
 * at close. CF_ERR_BUFFER when the line would be longer than
 * CF_JOURNAL_MAX_LINE (nothing written), CF_ERR_IO when the write or the
 * fsync failed, or when the path no longer names the open file (deleted,
 * renamed, replaced: its content is then put back at the path); the
 * journal is then unusable: stop, and every later call fails too
 * (cf_journal_where says why). These calls do NOT update the state. */
cf_err_t cf_journal_write_run(cf_journal_t *j, const cf_journal_run_t *r);
cf_err_t cf_journal_write_intent(cf_journal_t *j, const cf_journal_intent_t *in);
cf_err_t cf_journal_write_card(cf_journal_t *j, const cf_journal_card_t *c);
cf_err_t cf_journal_write_end(cf_journal_t *j, const cf_journal_end_t *e);

/* Where the journal stands, one sentence for the operator, in buf: why it
 * broke (the failed write or sync and its cause, or the file deleted,
 * renamed or replaced and where its content was put back) and how many of
 * its lines are on disk. 1 when it is broken (every write now fails), 0
 * when it works. */
int cf_journal_where(cf_journal_t *j, char *buf, size_t cap);

/* fsyncs done and their total time, for the benchmark. */
void cf_journal_sync_stats(cf_journal_t *j, uint64_t *syncs, double *total_ms);

/* Sync, unlock, close and free (with its state). NULL is fine. CF_ERR_IO
 * when the last sync failed. */
cf_err_t cf_journal_close(cf_journal_t *j);

/* Format one record as its journal line (with the line end) into buf,
 * without writing it: for tests and `report`. *len gets the length.
 * CF_ERR_BUFFER when it does not fit. */
cf_err_t cf_journal_format_card(const cf_journal_card_t *c, char *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
