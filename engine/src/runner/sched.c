/*
 * sched.c - the record scheduler (see sched.h for the rules).
 *
 * Memory: the stream holds one record; the retry queue holds at most one
 * item per card that failed and is not yet re-given (bounded by the readers
 * in practice); the held list holds the records of open intents met in the
 * stream. Nothing grows with the batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <cardforge/batch.h>

#include "journal/u64map.h"
#include "runner/sched.h"
#include "util/digest.h"

#define GIVEN_UP_KEEP 1000u

struct cf_sched {
    const cf_plan_t *plan;
    const cf_batch_src_t *batch; /* borrowed */
    cf_batch_cursor_t cursor;    /* the stream's */
    EVP_MD_CTX *md;              /* the stream's digest, when batch->sha256 */
    int changed;                 /* the stream is not the batch validated */
    cf_journal_state_t *st;
    unsigned max_attempts;
    cf_diag_list_t *diags; /* for resolution problems of a changed batch */
    cf_csv_t *csv;
    long id_col; /* the ID column when the plan does not use it, else -1 */
    int stream_done;
    uint64_t records; /* highest record number seen in the stream */
    cf_work_t *retry_head, *retry_tail;
    cf_work_t *peeked; /* the stream's next record, read ahead by cf_sched_complete */
    uint64_t *held;    /* records of open intents passed in the stream */
    size_t n_held, cap_held;
    cf_u64map flight_records; /* set */
    cf_u64map flight_serials; /* set */
    uint64_t in_flight;
    /* order mode: the claimed records not yet handed out, ascending */
    int claims, dry, paused;
    uint64_t *pool;
    size_t n_pool, cap_pool;
    cf_u64map redo;         /* pooled records done here and voided in the order (set) */
    uint64_t streamed;      /* the stream's last record read (order mode) */
    cf_u64map given_up_set; /* records given up in this run (set) */
    uint64_t given_up_count;
    uint64_t given_up[GIVEN_UP_KEEP];
};

void cf_work_free(cf_work_t *w)
{
    if (w == NULL)
        return;
    cf_card_values_free(w->values);
    free(w);
}

/* The ID column is copied into the journal only when it is not one of the
 * plan's fields: a field may carry a PIN. */
static long find_id_col(const cf_plan_t *plan, const cf_csv_t *csv)
{
    long col = cf_csv_column_index(csv, "ID");
    if (col < 0)
        return -1;
    for (size_t i = 0; i < cf_plan_field_count(plan); i++)
        if (strcmp(cf_plan_field_name(plan, i), "ID") == 0)
            return -1;
    return col;
}

cf_err_t cf_sched_new(const cf_plan_t *plan, const cf_batch_src_t *batch, cf_journal_state_t *st,
                      unsigned max_attempts, cf_sched_t **out, cf_diag_list_t *diags)
{
    *out = NULL;
    cf_sched_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CF_ERR_NOMEM;
    s->batch = batch;
    s->plan = plan;
    s->st = st;
    s->max_attempts = max_attempts ? max_attempts : 1;
    s->diags = diags;
    cf_u64map_init_set(&s->flight_records);
    cf_u64map_init_set(&s->flight_serials);
    cf_u64map_init_set(&s->given_up_set);
    cf_u64map_init_set(&s->redo);
    if (batch->sha256 != NULL) {
        EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
        s->md = EVP_MD_CTX_new();
        int ok = md != NULL && s->md != NULL && EVP_DigestInit_ex2(s->md, md, NULL) == 1;
        EVP_MD_free(md);
        if (!ok) {
            cf_sched_free(s);
            return CF_ERR_CRYPTO;
        }
    }
    cf_err_t err = cf_batch_src_csv(batch, &s->cursor, s->md, NULL, diags, &s->csv);
    if (err != CF_OK) {
        cf_sched_free(s);
        return err;
    }
    s->id_col = find_id_col(plan, s->csv);
    *out = s;
    return CF_OK;
}

void cf_sched_free(cf_sched_t *s)
{
    if (s == NULL)
        return;
    while (s->retry_head != NULL) {
        cf_work_t *w = s->retry_head;
        s->retry_head = w->next;
        cf_work_free(w);
    }
    cf_work_free(s->peeked);
    cf_csv_free(s->csv);
    EVP_MD_CTX_free(s->md);
    free(s->held);
    free(s->pool);
    cf_u64map_free(&s->redo);
    cf_u64map_free(&s->flight_records);
    cf_u64map_free(&s->flight_serials);
    cf_u64map_free(&s->given_up_set);
    free(s);
}

struct lookup_ctx {
    const cf_csv_t *csv;
    const cf_csv_record_t *rec;
};

static const char *lookup(void *ctx, const char *field, size_t *len)
{
    struct lookup_ctx *l = ctx;
    long col = cf_csv_column_index(l->csv, field);
    if (col < 0)
        return NULL;
    return cf_csv_field(l->rec, (size_t)col, len);
}

/* A work item for the record rec of csv. NULL (with a diagnostic) when the
 * record no longer resolves: the batch changed since validation. */
static cf_work_t *make_work(cf_sched_t *s, const cf_csv_t *csv, long id_col,
                            const cf_csv_record_t *rec)
{
    cf_work_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->record = cf_csv_record_index(rec);
    w->line = cf_csv_record_line(rec);
    if (id_col >= 0) {
        size_t len = 0;
        const char *id = cf_csv_field(rec, (size_t)id_col, &len);
        if (id != NULL)
            snprintf(w->id, sizeof(w->id), "%.*s",
                     (int)(len > CF_WORK_ID_MAX ? CF_WORK_ID_MAX : len), id);
    }
    struct lookup_ctx l = {csv, rec};
    if (cf_plan_resolve(s->plan, lookup, &l, NULL, NULL, cf_csv_name(csv), w->line, s->diags,
                        &w->values) != CF_OK) {
        free(w);
        return NULL;
    }
    return w;
}

/* Re-read the batch from the start up to record r (recoveries and held
 * records only: rare, and the batch streams at ~10 M records/s). */
static cf_work_t *fetch_record(cf_sched_t *s, uint64_t r)
{
    cf_csv_t *csv = NULL;
    cf_work_t *w = NULL;
    cf_batch_cursor_t cur;
    if (cf_batch_src_csv(s->batch, &cur, NULL, NULL, s->diags, &csv) != CF_OK)
        return NULL;
    long id_col = find_id_col(s->plan, csv);
    for (;;) {
        const cf_csv_record_t *rec = NULL;
        cf_err_t e = cf_csv_next(csv, &rec);
        if (e == CF_ERR_PARSE)
            continue;
        if (e != CF_OK || rec == NULL)
            break;
        if (cf_csv_record_index(rec) == r) {
            w = make_work(s, csv, id_col, rec);
            break;
        }
    }
    cf_csv_free(csv);
    return w;
}

static void give_up(cf_sched_t *s, uint64_t r)
{
    if (cf_u64map_get(&s->given_up_set, r, NULL))
        return;
    cf_u64map_put(&s->given_up_set, r, 1); /* on failure the record may be counted twice */
    if (s->given_up_count < GIVEN_UP_KEEP)
        s->given_up[s->given_up_count] = r;
    s->given_up_count++;
}

static int usable(const cf_sched_t *s, uint64_t r)
{
    return !cf_journal_state_record_done(s->st, r) && !cf_u64map_get(&s->flight_records, r, NULL) &&
           cf_journal_state_attempts(s->st, r) < s->max_attempts;
}

/* Take work w out of the retry queue if it is there (prev-linked walk). */
static cf_work_t *retry_take(cf_sched_t *s, uint64_t r)
{
    cf_work_t *prev = NULL;
    for (cf_work_t *w = s->retry_head; w != NULL; prev = w, w = w->next) {
        if (w->record != r)
            continue;
        if (prev == NULL)
            s->retry_head = w->next;
        else
            prev->next = w->next;
        if (s->retry_tail == w)
            s->retry_tail = prev;
        w->next = NULL;
        return w;
    }
    return NULL;
}

static void retry_push(cf_sched_t *s, cf_work_t *w)
{
    w->next = NULL;
    w->recovers = 0;
    if (s->retry_tail == NULL)
        s->retry_head = w;
    else
        s->retry_tail->next = w;
    s->retry_tail = w;
}

static int held_push(cf_sched_t *s, uint64_t r)
{
    if (s->n_held == s->cap_held) {
        size_t ncap = s->cap_held ? s->cap_held * 2 : 16;
        uint64_t *n = realloc(s->held, ncap * sizeof(*n));
        if (n == NULL)
            return -1;
        s->held = n;
        s->cap_held = ncap;
    }
    s->held[s->n_held++] = r;
    return 0;
}

/* The stream ended: were its bytes those validated? A batch edited in place
 * during the run is said (cf_sched_batch_changed); appended bytes are never
 * read (batch_src.h), so they cannot make a difference here. */
static void stream_check(cf_sched_t *s)
{
    if (s->md == NULL)
        return;
    char hex[72];
    if (s->cursor.off != s->batch->size || s->cursor.md_failed ||
        cf_sha256_final_hex(s->md, hex) != CF_OK || strcmp(hex, s->batch->sha256) != 0)
        s->changed = 1;
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
}

int cf_sched_batch_changed(const cf_sched_t *s)
{
    return s != NULL && s->changed;
}

/* Order mode: record r's work, reading on in the stream when r lies ahead
 * (claims come mostly in ascending order) and from the start otherwise. */
static cf_work_t *claimed_work(cf_sched_t *s, uint64_t r)
{
    if (r <= s->streamed || s->stream_done)
        return fetch_record(s, r);
    for (;;) {
        const cf_csv_record_t *rec = NULL;
        cf_err_t e = cf_csv_next(s->csv, &rec);
        if (e == CF_ERR_PARSE)
            continue;
        if (e != CF_OK || rec == NULL) {
            s->stream_done = 1;
            return NULL;
        }
        s->streamed = cf_csv_record_index(rec);
        if (s->streamed > s->records)
            s->records = s->streamed;
        if (s->streamed == r)
            return make_work(s, s->csv, s->id_col, rec);
        if (s->streamed > r)
            return fetch_record(s, r);
    }
}

/* Order mode: a pooled record a card may take: not in flight, attempts
 * left, and not done here, unless the order gave it back after a void (the
 * database is the authority on what is to be made; the journal still
 * guards serials and attempts). */
static int claim_usable(const cf_sched_t *s, uint64_t r)
{
    return !cf_u64map_get(&s->flight_records, r, NULL) &&
           cf_journal_state_attempts(s->st, r) < s->max_attempts &&
           (!cf_journal_state_record_done(s->st, r) || cf_u64map_get(&s->redo, r, NULL));
}

/* Order mode: the lowest pooled record a card may take now. */
static cf_work_t *next_claimed(cf_sched_t *s)
{
    for (size_t i = 0; i < s->n_pool;) {
        uint64_t r = s->pool[i];
        if (cf_journal_state_record_held(s->st, r) && claim_usable(s, r)) {
            i++; /* bound to its own card: only that card takes it */
            continue;
        }
        memmove(s->pool + i, s->pool + i + 1, (s->n_pool - i - 1) * sizeof(*s->pool));
        s->n_pool--;
        if (!claim_usable(s, r)) {
            if (!cf_u64map_get(&s->flight_records, r, NULL) &&
                (!cf_journal_state_record_done(s->st, r) || cf_u64map_get(&s->redo, r, NULL)))
                give_up(s, r);
            continue;
        }
        cf_u64map_del(&s->redo, r);
        cf_work_t *w = claimed_work(s, r);
        if (w != NULL)
            return w;
        give_up(s, r);
    }
    return NULL;
}

void cf_sched_use_claims(cf_sched_t *s)
{
    s->claims = 1;
}

int cf_sched_give(cf_sched_t *s, uint64_t record, int redo)
{
    if (redo && cf_u64map_put(&s->redo, record, 1) != 0)
        return -1;
    for (size_t i = 0; i < s->n_pool; i++)
        if (s->pool[i] == record)
            return 0;
    if (s->n_pool == s->cap_pool) {
        size_t ncap = s->cap_pool ? s->cap_pool * 2 : 16;
        uint64_t *n = realloc(s->pool, ncap * sizeof(*n));
        if (n == NULL)
            return -1;
        s->pool = n;
        s->cap_pool = ncap;
    }
    size_t at = s->n_pool;
    while (at > 0 && s->pool[at - 1] > record)
        at--;
    memmove(s->pool + at + 1, s->pool + at, (s->n_pool - at) * sizeof(*s->pool));
    s->pool[at] = record;
    s->n_pool++;
    return 0;
}

size_t cf_sched_pool_size(const cf_sched_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_pool; i++)
        n += !cf_journal_state_record_held(s->st, s->pool[i]);
    return n;
}

void cf_sched_set_dry(cf_sched_t *s, int dry)
{
    s->dry = dry;
}

void cf_sched_pause(cf_sched_t *s, int paused)
{
    s->paused = paused;
}

void cf_sched_forget(cf_sched_t *s, uint64_t record)
{
    cf_u64map_del(&s->redo, record);
    cf_work_free(retry_take(s, record));
    for (size_t i = 0; i < s->n_pool; i++)
        if (s->pool[i] == record) {
            memmove(s->pool + i, s->pool + i + 1, (s->n_pool - i - 1) * sizeof(*s->pool));
            s->n_pool--;
            break;
        }
}

/* The next record for a card without history: retry queue, stream, held
 * (order mode: retry queue, then the claims). */
static cf_work_t *next_work(cf_sched_t *s)
{
    if (s->claims && s->paused)
        return NULL;
    while (s->retry_head != NULL) {
        cf_work_t *w = retry_take(s, s->retry_head->record);
        if (usable(s, w->record))
            return w;
        if (!cf_journal_state_record_done(s->st, w->record) &&
            !cf_u64map_get(&s->flight_records, w->record, NULL))
            give_up(s, w->record);
        cf_work_free(w);
    }
    if (s->claims)
        return next_claimed(s);
    if (s->peeked != NULL) {
        cf_work_t *w = s->peeked;
        s->peeked = NULL;
        if (usable(s, w->record))
            return w;
        cf_work_free(w);
    }
    while (!s->stream_done) {
        const cf_csv_record_t *rec = NULL;
        cf_err_t e = cf_csv_next(s->csv, &rec);
        if (e == CF_ERR_PARSE)
            continue; /* validated before: only a batch changed under us */
        if (e != CF_OK || rec == NULL) {
            s->stream_done = 1;
            stream_check(s);
            break;
        }
        uint64_t r = cf_csv_record_index(rec);
        if (r > s->records)
            s->records = r;
        if (cf_journal_state_record_done(s->st, r) || cf_u64map_get(&s->flight_records, r, NULL))
            continue;
        if (cf_journal_state_attempts(s->st, r) >= s->max_attempts) {
            give_up(s, r);
            continue;
        }
        if (cf_journal_state_record_held(s->st, r)) {
            if (held_push(s, r) != 0)
                return NULL;
            continue;
        }
        cf_work_t *w = make_work(s, s->csv, s->id_col, rec);
        if (w == NULL) {
            give_up(s, r);
            continue;
        }
        return w;
    }
    /* Held records last: their cards did not come back before everything
     * else was handed out. */
    while (s->n_held > 0) {
        uint64_t r = s->held[--s->n_held];
        if (!usable(s, r))
            continue;
        cf_work_t *w = fetch_record(s, r);
        if (w != NULL)
            return w;
        give_up(s, r);
    }
    return NULL;
}

static void take_flight(cf_sched_t *s, const char *serial, cf_work_t *w)
{
    /* Sets grow only when a slot is needed; out of memory here would lose
     * the in-flight guard, so refuse in that case (see assign). */
    cf_u64map_put(&s->flight_records, w->record, 1);
    cf_u64map_put(&s->flight_serials, cf_u64map_hash_str(serial), 1);
    s->in_flight++;
}

cf_assign_t cf_sched_assign(cf_sched_t *s, const char *serial, cf_work_t **work, cf_err_t *err,
                            char *why, size_t whylen)
{
    *work = NULL;
    *err = CF_OK;
    why[0] = '\0';
    if (cf_journal_state_serial_done(s->st, serial)) {
        *err = CF_ERR_ALREADY_DONE;
        snprintf(why, whylen, "card %s is already personalized (journal); never twice", serial);
        return CF_ASSIGN_REJECT;
    }
    if (cf_u64map_get(&s->flight_serials, cf_u64map_hash_str(serial), NULL)) {
        *err = CF_ERR_SHARING;
        snprintf(why, whylen, "a card with serial %s is in work in another reader", serial);
        return CF_ASSIGN_REJECT;
    }
    /* Make sure the in-flight sets can take one more entry without failing. */
    if (cf_u64map_reserve(&s->flight_records, (size_t)s->in_flight + 1) != 0 ||
        cf_u64map_reserve(&s->flight_serials, (size_t)s->in_flight + 1) != 0) {
        *err = CF_ERR_NOMEM;
        snprintf(why, whylen, "out of memory");
        return CF_ASSIGN_REJECT;
    }
    cf_journal_open_t o;
    if (cf_journal_state_open_intent(s->st, serial, &o)) {
        if (cf_journal_state_record_done(s->st, o.record)) {
            *err = CF_ERR_ALREADY_DONE;
            snprintf(why, whylen,
                     "card %s was changed for record %llu (attempt %llu, %s), which is now "
                     "personalized on another card: set it aside for rework",
                     serial, (unsigned long long)o.record, (unsigned long long)o.attempt, o.step);
            return CF_ASSIGN_REJECT;
        }
        if (cf_u64map_get(&s->flight_records, o.record, NULL))
            return CF_ASSIGN_WAIT; /* its record is on another card right now */
        cf_work_t *w = retry_take(s, o.record);
        if (w == NULL)
            w = fetch_record(s, o.record);
        if (w == NULL) {
            *err = CF_ERR_NOT_FOUND;
            snprintf(why, whylen, "card %s belongs to record %llu, which the batch no longer has",
                     serial, (unsigned long long)o.record);
            return CF_ASSIGN_REJECT;
        }
        w->recovers = o.attempt;
        take_flight(s, serial, w);
        *work = w;
        return CF_ASSIGN_WORK;
    }
    cf_work_t *w = next_work(s);
    if (w == NULL)
        return s->in_flight > 0 || (s->claims && !s->dry) ? CF_ASSIGN_WAIT : CF_ASSIGN_NONE;
    take_flight(s, serial, w);
    *work = w;
    return CF_ASSIGN_WORK;
}

void cf_sched_finish(cf_sched_t *s, const char *serial, cf_work_t *w, cf_card_status_t status,
                     cf_err_t err)
{
    (void)err;
    if (w == NULL)
        return; /* refused without a record: its serial was never put in flight */
    if (serial != NULL && serial[0])
        cf_u64map_del(&s->flight_serials, cf_u64map_hash_str(serial));
    cf_u64map_del(&s->flight_records, w->record);
    s->in_flight--;
    if (status == CF_STATUS_PERSONALIZED || cf_journal_state_record_done(s->st, w->record)) {
        /* Order mode: made (perhaps by a card that came back to finish it,
         * not through the pool): never handed out again. */
        if (s->claims && status == CF_STATUS_PERSONALIZED)
            cf_sched_forget(s, w->record);
        cf_work_free(w);
        return;
    }
    if (cf_journal_state_attempts(s->st, w->record) >= s->max_attempts) {
        give_up(s, w->record);
        cf_work_free(w);
        return;
    }
    retry_push(s, w);
}

int cf_sched_complete(cf_sched_t *s)
{
    if (s->in_flight > 0 || s->retry_head != NULL || s->peeked != NULL)
        return 0;
    if (s->claims) {
        if (s->paused)
            return 0;
        /* Records held for their own cards stay claimed in the order (their
         * intents bind them) and do not keep the station running. */
        for (size_t i = 0; i < s->n_pool; i++)
            if (claim_usable(s, s->pool[i]) && !cf_journal_state_record_held(s->st, s->pool[i]))
                return 0;
        return s->dry;
    }
    if (!s->stream_done) {
        /* Read ahead: the batch is complete when the stream holds nothing
         * usable, which only reading it can tell. */
        s->peeked = next_work(s);
        if (s->peeked != NULL)
            return 0;
    }
    for (size_t i = 0; i < s->n_held; i++)
        if (usable(s, s->held[i]))
            return 0;
    return 1;
}

uint64_t cf_sched_in_flight(const cf_sched_t *s)
{
    return s->in_flight;
}

uint64_t cf_sched_given_up_count(const cf_sched_t *s)
{
    return s->given_up_count;
}

uint64_t cf_sched_given_up(const cf_sched_t *s, size_t i)
{
    if (i >= s->given_up_count || i >= GIVEN_UP_KEEP)
        return 0;
    return s->given_up[i];
}

uint64_t cf_sched_records(const cf_sched_t *s)
{
    return s->records;
}
