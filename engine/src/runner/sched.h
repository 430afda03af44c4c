/*
 * sched.h - which batch record the next card gets (internal).
 *
 * The scheduler hands out records in batch order through one streaming CSV
 * reader (the batch is never held in memory), skipping what the journal
 * says is done, and keeps the few exceptions apart:
 *   - a retry queue: records whose card failed, for the next card (up to
 *     max_attempts per record, counted across runs in the journal state);
 *   - held records: records an open intent binds to a card that may come
 *     back; passed over in the stream and handed out only after everything
 *     else, unless their own card returns first;
 *   - in flight: records and serials being worked on, so no record is on
 *     two cards and no serial in two readers at once.
 * A card with an open intent gets its own record back (found in the retry
 * queue or re-read from the batch) so the executor can finish it.
 *
 * Not thread-safe: the runner calls it under its lock. Record values are
 * resolved secrets (cf_card_values_t), owned by the work item and wiped
 * when it is freed.
 */
#ifndef CF_RUNNER_SCHED_H
#define CF_RUNNER_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/journal.h>
#include <cardforge/plan.h>

#include "runner/batch_src.h"

#define CF_WORK_ID_MAX 64

typedef struct cf_work {
    uint64_t record;
    unsigned long line;
    char id[CF_WORK_ID_MAX + 1];
    cf_card_values_t *values; /* owned */
    uint64_t recovers;        /* attempt of the open intent this work finishes, 0 */
    struct cf_work *next;
} cf_work_t;

typedef struct cf_sched cf_sched_t;

/* st is BORROWED (the journal's state; the runner applies records to it),
 * and so is batch, the run's open batch (validated before): the scheduler
 * reads it from the start, and never past the size it had then. */
cf_err_t cf_sched_new(const cf_plan_t *plan, const cf_batch_src_t *batch, cf_journal_state_t *st,
                      unsigned max_attempts, cf_sched_t **out, cf_diag_list_t *diags);
void cf_sched_free(cf_sched_t *s);

/* 1 when the stream reached its end and its bytes were not the batch
 * validated (batch->sha256): the file was edited in place during the run.
 * 0 before the end, and when the batch had no fingerprint. NULL is fine. */
int cf_sched_batch_changed(const cf_sched_t *s);

typedef enum cf_assign {
    CF_ASSIGN_WORK = 0,   /* *work is the card's record; serial and record now in flight */
    CF_ASSIGN_REJECT = 1, /* refuse the card: *err and why say why */
    CF_ASSIGN_WAIT = 2,   /* nothing now, but records are in flight: ask again later */
    CF_ASSIGN_NONE = 3,   /* nothing left: the batch is complete */
} cf_assign_t;

/* What the card with this serial should do. With CF_ASSIGN_REJECT *record
 * may name the record involved (0 when none). */
cf_assign_t cf_sched_assign(cf_sched_t *s, const char *serial, cf_work_t **work, cf_err_t *err,
                            char *why, size_t whylen);

/* The card's journal record was written and applied to the state: take the
 * record and serial out of flight; requeue the work for the next card when
 * it did not end personalized and has attempts left, else free it. */
void cf_sched_finish(cf_sched_t *s, const char *serial, cf_work_t *work, cf_card_status_t status,
                     cf_err_t err);

/* Free a work item (wipes its values). NULL is fine. */
void cf_work_free(cf_work_t *w);

/* Order mode (several stations on one order, docs/stations.md): records
 * come only from the claims this station holds in the order database,
 * given with cf_sched_give, never from the stream on their own. Call once,
 * before the first assign. */
void cf_sched_use_claims(cf_sched_t *s);
/* A claimed record for the pool; redo: done here and given back by the
 * order after a void (made again). 0, or -1 out of memory. */
int cf_sched_give(cf_sched_t *s, uint64_t record, int redo);
/* Claimed records not yet handed out (and not held for their own card). */
size_t cf_sched_pool_size(const cf_sched_t *s);
/* 1: the order has nothing claimable now (the batch is complete for this
 * station once the pool and the cards in flight are done); 0: claims may
 * still come. */
void cf_sched_set_dry(cf_sched_t *s, int dry);
/* 1: hand out nothing (the order database cannot take intents now), the
 * cards ask again later; 0: as before. */
void cf_sched_pause(cf_sched_t *s, int paused);
/* The record is no longer this station's (its claim was lost): out of the
 * retry queue and the pool, never handed out again by this run. */
void cf_sched_forget(cf_sched_t *s, uint64_t record);

/* Every record is done or has used its attempts, and nothing is in flight. */
int cf_sched_complete(cf_sched_t *s);
uint64_t cf_sched_in_flight(const cf_sched_t *s);
uint64_t cf_sched_given_up_count(const cf_sched_t *s);
/* The i-th record given up in this run, 0 past the end (the first 1000 are
 * kept). */
uint64_t cf_sched_given_up(const cf_sched_t *s, size_t i);
uint64_t cf_sched_records(const cf_sched_t *s); /* in the batch (after the stream ended) */

#endif
