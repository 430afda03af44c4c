/*
 * state.c - the resume state rebuilt from a journal.
 *
 * Shaped to stay small for a million-card journal: personalized records are
 * bits, personalized serials are 64-bit hashes in an open-addressing set,
 * and only the exceptions (records that failed, cards with an open intent,
 * cards not yet personalized that refused a value as wrong) get an entry of
 * their own. Every record read back and every record the
 * runner writes go through the same apply functions, so a resumed run sees
 * exactly the state the interrupted one had on disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/journal.h>

#include "journal/u64map.h"

struct cf_journal_state {
    uint8_t *done; /* bit r set: record r personalized */
    size_t done_bytes;
    cf_u64map serials;  /* hash of a personalized serial -> 1 */
    cf_u64map attempts; /* record -> failed attempts */
    cf_u64map open_idx; /* hash of a serial with an open intent -> index in opens */
    cf_u64map held;     /* record -> open intents made for it */
    cf_u64map history;  /* hash of a serial not personalized -> what its card
                         * refused as wrong: hist_pack() */
    cf_journal_open_t *opens;
    size_t n_open, cap_open;
    uint64_t next_attempt;
    uint64_t max_serial_number;
    cf_journal_totals_t totals;
    int have_run;
    char batch_sha[72];
    char desc_sha[72];
};

const char *cf_card_status_name(cf_card_status_t s)
{
    switch (s) {
    case CF_STATUS_PERSONALIZED:
        return "personalized";
    case CF_STATUS_FAILED:
        return "failed";
    case CF_STATUS_REJECTED:
        return "rejected";
    }
    return "?";
}

int cf_journal_card_changed(const cf_journal_card_t *c)
{
    for (size_t i = 0; i < c->n_steps; i++) {
        const char *r = c->steps[i].reached;
        if (r != NULL && (strcmp(r, "yes") == 0 || strcmp(r, "unknown") == 0))
            return 1;
    }
    return 0;
}

cf_journal_state_t *cf_journal_state_new(void)
{
    cf_journal_state_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    cf_u64map_init_set(&st->serials);
    cf_u64map_init(&st->attempts);
    cf_u64map_init(&st->open_idx);
    cf_u64map_init(&st->held);
    cf_u64map_init(&st->history);
    st->next_attempt = 1;
    return st;
}

void cf_journal_state_free(cf_journal_state_t *st)
{
    if (st == NULL)
        return;
    free(st->done);
    cf_u64map_free(&st->serials);
    cf_u64map_free(&st->attempts);
    cf_u64map_free(&st->open_idx);
    cf_u64map_free(&st->held);
    cf_u64map_free(&st->history);
    free(st->opens);
    free(st);
}

static void saw_attempt(cf_journal_state_t *st, uint64_t attempt)
{
    if (attempt != UINT64_MAX && attempt >= st->next_attempt)
        st->next_attempt = attempt + 1;
}

/* The number in a serial's trailing decimal digits (at most 10 of them):
 * "1000012" -> 1000012; a GIDS CARDID whose last bytes are BCD digits ->
 * those digits. Simulated readers start their serials above the largest. */
static void saw_serial(cf_journal_state_t *st, const char *serial)
{
    size_t n = strlen(serial), k = 0;
    while (k < n && k < 10 && serial[n - 1 - k] >= '0' && serial[n - 1 - k] <= '9')
        k++;
    uint64_t v = 0;
    for (size_t i = n - k; i < n; i++)
        v = v * 10 + (uint64_t)(serial[i] - '0');
    if (v > st->max_serial_number)
        st->max_serial_number = v;
}

static int bit_get(const cf_journal_state_t *st, uint64_t r)
{
    uint64_t byte = r / 8;
    if (byte >= st->done_bytes)
        return 0;
    return (st->done[byte] >> (r % 8)) & 1;
}

static cf_err_t bit_set(cf_journal_state_t *st, uint64_t r)
{
    uint64_t byte = r / 8;
    if (r > CF_JOURNAL_MAX_RECORD)
        return CF_ERR_ARG;
    if (byte >= st->done_bytes) {
        size_t n = st->done_bytes ? st->done_bytes : 1024;
        while (n <= byte)
            n *= 2;
        uint8_t *nb = realloc(st->done, n);
        if (nb == NULL)
            return CF_ERR_NOMEM;
        memset(nb + st->done_bytes, 0, n - st->done_bytes);
        st->done = nb;
        st->done_bytes = n;
    }
    st->done[byte] |= (uint8_t)(1u << (r % 8));
    return CF_OK;
}

static cf_err_t held_add(cf_journal_state_t *st, uint64_t record, int delta)
{
    uint64_t n = 0;
    cf_u64map_get(&st->held, record, &n);
    if (delta < 0) {
        if (n <= 1) {
            cf_u64map_del(&st->held, record);
            return CF_OK;
        }
        n--;
    } else {
        n++;
    }
    return cf_u64map_put(&st->held, record, n) == 0 ? CF_OK : CF_ERR_NOMEM;
}

static cf_journal_open_t *find_open(const cf_journal_state_t *st, const char *serial)
{
    uint64_t idx;
    if (!cf_u64map_get(&st->open_idx, cf_u64map_hash_str(serial), &idx) || idx >= st->n_open)
        return NULL;
    return &st->opens[idx];
}

static void drop_open(cf_journal_state_t *st, const char *serial)
{
    uint64_t h = cf_u64map_hash_str(serial);
    uint64_t idx;
    if (!cf_u64map_get(&st->open_idx, h, &idx) || idx >= st->n_open)
        return;
    held_add(st, st->opens[idx].record, -1);
    cf_u64map_del(&st->open_idx, h);
    size_t last = st->n_open - 1;
    if (idx != last) {
        st->opens[idx] = st->opens[last];
        /* The moved entry's key is already present: replacing it cannot
         * allocate, so this put cannot fail. */
        cf_u64map_put(&st->open_idx, cf_u64map_hash_str(st->opens[idx].serial), idx);
    }
    st->n_open--;
}

/* Open serial's intent, or update the one it has. An open intent is never
 * hidden by a later attempt on the same card (a recovery): it keeps the
 * attempt and the record it was opened for, and takes only what the later
 * attempt says: the step that may now be half done, and final (0: the
 * latest attempt on the card was cut off, 1: it ended with a card line). */
static cf_err_t set_open(cf_journal_state_t *st, const char *serial, uint64_t record,
                         unsigned long line, uint64_t attempt, const char *step, int final)
{
    cf_journal_open_t *o = find_open(st, serial);
    if (o != NULL) {
        if (step != NULL && step[0] != '\0')
            snprintf(o->step, sizeof(o->step), "%s", step);
        o->final_written = final;
        return CF_OK;
    }
    if (st->n_open == st->cap_open) {
        size_t ncap = st->cap_open ? st->cap_open * 2 : 16;
        cf_journal_open_t *n = realloc(st->opens, ncap * sizeof(*n));
        if (n == NULL)
            return CF_ERR_NOMEM;
        st->opens = n;
        st->cap_open = ncap;
    }
    if (cf_u64map_put(&st->open_idx, cf_u64map_hash_str(serial), st->n_open) != 0)
        return CF_ERR_NOMEM;
    o = &st->opens[st->n_open++];
    memset(o, 0, sizeof(*o));
    snprintf(o->serial, sizeof(o->serial), "%s", serial);
    o->record = record;
    o->line = line;
    o->attempt = attempt;
    snprintf(o->step, sizeof(o->step), "%s", step ? step : "");
    o->final_written = final;
    return held_add(st, record, +1);
}

/* A card's history in one map value: the PUK and admin-key counts (16 bits
 * each, saturating: a card has at most 15 tries, and cardforge presents far
 * fewer) and the refused parameters' bits. Two serials sharing a hash would
 * share a history: the one card is then only more careful. */
static uint64_t hist_pack(unsigned puk, unsigned admin, unsigned refused)
{
    if (puk > 0xFFFF)
        puk = 0xFFFF;
    if (admin > 0xFFFF)
        admin = 0xFFFF;
    return (uint64_t)puk | (uint64_t)admin << 16 | (uint64_t)refused << 32;
}

/* Add what the card refused in attempt c to its serial's history. */
static cf_err_t add_history(cf_journal_state_t *st, const char *serial, const cf_journal_card_t *c)
{
    if (c->spent_puk == 0 && c->spent_admin == 0 && c->refused == 0)
        return CF_OK;
    uint64_t h = cf_u64map_hash_str(serial), v = 0;
    cf_u64map_get(&st->history, h, &v);
    unsigned puk = (unsigned)(v & 0xFFFF), admin = (unsigned)(v >> 16 & 0xFFFF);
    v = hist_pack(puk + (c->spent_puk > 0xFFFF ? 0xFFFF : c->spent_puk),
                  admin + (c->spent_admin > 0xFFFF ? 0xFFFF : c->spent_admin),
                  (unsigned)(v >> 32) | c->refused);
    return cf_u64map_put(&st->history, h, v) == 0 ? CF_OK : CF_ERR_NOMEM;
}

cf_err_t cf_journal_state_apply_run(cf_journal_state_t *st, const cf_journal_run_t *r)
{
    st->totals.runs++;
    if (!st->have_run) {
        st->have_run = 1;
        snprintf(st->batch_sha, sizeof(st->batch_sha), "%s",
                 r->batch_sha256 ? r->batch_sha256 : "");
        snprintf(st->desc_sha, sizeof(st->desc_sha), "%s",
                 r->description_sha256 ? r->description_sha256 : "");
        st->totals.batch_records = r->records;
        /* Presize the serial set for the whole batch: at most one
         * personalized serial per record, and no growth by half later. */
        if (r->records <= CF_JOURNAL_MAX_RECORD &&
            cf_u64map_reserve(&st->serials, (size_t)r->records) != 0)
            return CF_ERR_NOMEM;
    }
    return CF_OK;
}

cf_err_t cf_journal_state_apply_intent(cf_journal_state_t *st, const cf_journal_intent_t *in)
{
    st->totals.intents++;
    saw_attempt(st, in->attempt);
    if (in->serial != NULL)
        saw_serial(st, in->serial);
    if (in->serial == NULL || in->serial[0] == '\0' || in->record == 0)
        return CF_OK; /* nothing to bind the intent to */
    return set_open(st, in->serial, in->record, in->line, in->attempt, in->step, 0);
}

/* The name of the last step that may have reached the card. */
static const char *last_changed_step(const cf_journal_card_t *c)
{
    const char *name = "";
    for (size_t i = 0; i < c->n_steps; i++) {
        const char *r = c->steps[i].reached;
        if (r != NULL && (strcmp(r, "yes") == 0 || strcmp(r, "unknown") == 0))
            name = c->steps[i].step;
    }
    return name;
}

cf_err_t cf_journal_state_apply_card(cf_journal_state_t *st, const cf_journal_card_t *c)
{
    const char *serial = c->serial ? c->serial : "";
    cf_journal_open_t *o = serial[0] ? find_open(st, serial) : NULL;
    st->totals.cards++;
    saw_attempt(st, c->attempt);
    saw_serial(st, serial);
    switch (c->status) {
    case CF_STATUS_PERSONALIZED:
        st->totals.personalized++;
        if (c->record > 0) {
            if (bit_get(st, c->record)) {
                st->totals.duplicates++;
            } else {
                cf_err_t err = bit_set(st, c->record);
                if (err != CF_OK)
                    return err;
                st->totals.records_done++;
            }
        }
        /* A standard PIV card's serial is its CHUID's GUID: once a step
         * wrote a new one, the card answers with it. That serial is done
         * too, or a card left in a reader and identified again would look
         * fresh. (A YubiKey's decimal serial never has this form.) */
        for (size_t i = 0; i < c->n_steps; i++) {
            const char *g = c->steps[i].guid;
            if (g != NULL && g[0] != '\0' && strcmp(g, serial) != 0 &&
                cf_u64map_put(&st->serials, cf_u64map_hash_str(g), 1) != 0)
                return CF_ERR_NOMEM;
        }
        if (serial[0]) {
            uint64_t h = cf_u64map_hash_str(serial);
            if (cf_u64map_get(&st->serials, h, NULL))
                st->totals.serial_repeats++;
            else if (cf_u64map_put(&st->serials, h, 1) != 0)
                return CF_ERR_NOMEM;
            drop_open(st, serial);
            /* Never worked again: what it refused need not be kept. */
            cf_u64map_del(&st->history, h);
        }
        return CF_OK;
    case CF_STATUS_FAILED:
        st->totals.failed++;
        if (serial[0] && add_history(st, serial, c) != CF_OK)
            return CF_ERR_NOMEM;
        if (c->record > 0 && c->err != CF_ERR_INTERRUPTED) {
            uint64_t n = 0;
            cf_u64map_get(&st->attempts, c->record, &n);
            if (cf_u64map_put(&st->attempts, c->record, n + 1) != 0)
                return CF_ERR_NOMEM;
        }
        if (serial[0] && c->record > 0 && cf_journal_card_changed(c))
            return set_open(st, serial, c->record, c->line, c->attempt, last_changed_step(c), 1);
        /* Nothing reached the card in this attempt: the intent this same
         * attempt opened is settled (its step never reached the card). An
         * intent an earlier attempt opened stays: its change is still on
         * the card, whatever this attempt did not do. */
        if (o != NULL && o->attempt == c->attempt)
            drop_open(st, serial);
        else if (o != NULL)
            o->final_written = 1; /* looked at again, not cut off */
        return CF_OK;
    case CF_STATUS_REJECTED:
        st->totals.rejected++;
        if (serial[0] && add_history(st, serial, c) != CF_OK)
            return CF_ERR_NOMEM;
        /* A record given to a card that refused it (card type, policy)
         * counts as an attempt: the next card of that type would refuse it
         * too. */
        if (c->record > 0 && c->err != CF_ERR_INTERRUPTED) {
            uint64_t n = 0;
            cf_u64map_get(&st->attempts, c->record, &n);
            if (cf_u64map_put(&st->attempts, c->record, n + 1) != 0)
                return CF_ERR_NOMEM;
        }
        if (o != NULL && o->attempt == c->attempt)
            drop_open(st, serial);
        else if (o != NULL)
            /* A cut-off card that came back after its record was finished
             * on another card: still changed and not finished, but looked
             * at and set aside for rework, no longer just cut off. */
            o->final_written = 1;
        return CF_OK;
    }
    return CF_ERR_ARG;
}

int cf_journal_state_record_done(const cf_journal_state_t *st, uint64_t record)
{
    return bit_get(st, record);
}

int cf_journal_state_serial_done(const cf_journal_state_t *st, const char *serial)
{
    return cf_u64map_get(&st->serials, cf_u64map_hash_str(serial), NULL);
}

unsigned cf_journal_state_attempts(const cf_journal_state_t *st, uint64_t record)
{
    uint64_t n = 0;
    cf_u64map_get(&st->attempts, record, &n);
    return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

int cf_journal_state_open_intent(const cf_journal_state_t *st, const char *serial,
                                 cf_journal_open_t *out)
{
    const cf_journal_open_t *o = find_open(st, serial);
    if (o == NULL || strcmp(o->serial, serial) != 0)
        return 0;
    if (out != NULL)
        *out = *o;
    return 1;
}

int cf_journal_state_history(const cf_journal_state_t *st, const char *serial,
                             cf_journal_history_t *out)
{
    uint64_t v = 0;
    const cf_journal_open_t *o = find_open(st, serial);
    if (o != NULL && strcmp(o->serial, serial) != 0)
        o = NULL;
    cf_u64map_get(&st->history, cf_u64map_hash_str(serial), &v);
    memset(out, 0, sizeof(*out));
    out->spent_puk = (unsigned)(v & 0xFFFF);
    out->spent_admin = (unsigned)(v >> 16 & 0xFFFF);
    out->refused = (unsigned)(v >> 32);
    if (o != NULL)
        snprintf(out->open_step, sizeof(out->open_step), "%s", o->step);
    return v != 0 || o != NULL;
}

size_t cf_journal_state_open_count(const cf_journal_state_t *st)
{
    return st->n_open;
}

const cf_journal_open_t *cf_journal_state_open_at(const cf_journal_state_t *st, size_t i)
{
    return i < st->n_open ? &st->opens[i] : NULL;
}

int cf_journal_state_record_held(const cf_journal_state_t *st, uint64_t record)
{
    return cf_u64map_get(&st->held, record, NULL);
}

uint64_t cf_journal_state_next_attempt(const cf_journal_state_t *st)
{
    return st->next_attempt;
}

uint64_t cf_journal_state_max_serial_number(const cf_journal_state_t *st)
{
    return st->max_serial_number;
}

void cf_journal_state_totals(const cf_journal_state_t *st, cf_journal_totals_t *out)
{
    *out = st->totals;
}

const char *cf_journal_state_batch_sha256(const cf_journal_state_t *st)
{
    return st->batch_sha;
}

const char *cf_journal_state_description_sha256(const cf_journal_state_t *st)
{
    return st->desc_sha;
}

size_t cf_journal_state_bytes(const cf_journal_state_t *st)
{
    return sizeof(*st) + st->done_bytes + cf_u64map_bytes(&st->serials) +
           cf_u64map_bytes(&st->attempts) + cf_u64map_bytes(&st->open_idx) +
           cf_u64map_bytes(&st->held) + cf_u64map_bytes(&st->history) +
           st->cap_open * sizeof(cf_journal_open_t);
}
