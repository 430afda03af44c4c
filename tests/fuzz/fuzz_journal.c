/*
 * fuzz_journal.c - libFuzzer target for the journal reader.
 *
 * Each input is read as a journal twice: from memory in one go and through
 * a source that delivers a few bytes per read, with a resume state. Both
 * reads must agree (result, lines, torn line, totals, open intents and
 * their cards' histories, the tables' size). Every card record that parses
 * is formatted again and must parse back to the same attempt, record,
 * serial, status, step count and wrong values spent and refused: what the
 * reader accepts, the writer can write. Any disagreement aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/journal.h>

#include "journal/journal_int.h"
#include "journal/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct chunked {
    const uint8_t *data;
    size_t len, pos, chunk;
};

static ssize_t chunked_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct chunked *c = ctx;
    size_t n = c->len - c->pos;
    if (n > c->chunk)
        n = c->chunk;
    if (n > cap)
        n = cap;
    memcpy(buf, c->data + c->pos, n);
    c->pos += n;
    return (ssize_t)n;
}

static char *line_buf;
static cf_journal_parser reparser;

static cf_err_t round_trip(void *user, const cf_journal_entry_t *e)
{
    (void)user;
    if (e->kind != CF_JOURNAL_CARD)
        return CF_OK;
    size_t len = 0;
    if (cf_journal_format_card(&e->card, line_buf, CF_JOURNAL_MAX_LINE, &len) != CF_OK)
        return CF_OK; /* a record may grow past the limit when escaped */
    if (len == 0 || line_buf[len - 1] != '\n' || memchr(line_buf, '\n', len - 1) != NULL)
        abort();
    cf_journal_entry_t back;
    const char *why;
    back.lineno = 1;
    if (cf_journal_parse_line(&reparser, line_buf, len - 1, &back, &why) != CF_JLINE_OK)
        abort();
    const cf_journal_card_t *a = &e->card, *b = &back.card;
    if (a->attempt != b->attempt || a->record != b->record || a->status != b->status ||
        a->n_steps != b->n_steps || strcmp(a->serial, b->serial) != 0 ||
        a->spent_puk != b->spent_puk || a->spent_admin != b->spent_admin ||
        a->refused != b->refused || cf_journal_card_changed(a) != cf_journal_card_changed(b))
        abort();
    return CF_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (line_buf == NULL) {
        line_buf = malloc(CF_JOURNAL_MAX_LINE);
        if (line_buf == NULL || cf_journal_parser_init(&reparser) != 0)
            abort();
    }
    cf_journal_state_t *s1 = cf_journal_state_new();
    cf_journal_state_t *s2 = cf_journal_state_new();
    if (s1 == NULL || s2 == NULL)
        abort();
    cf_journal_info_t i1, i2;
    cf_err_t e1 = cf_journal_scan_mem("f", data, size, round_trip, NULL, s1, &i1, NULL);
    struct chunked c = {data, size, 0, 1 + (size % 7)};
    cf_err_t e2 = cf_journal_scan_fn("f", chunked_read, &c, NULL, NULL, s2, &i2, NULL);
    if (e1 != e2)
        abort();
    if (e1 == CF_OK) {
        cf_journal_totals_t t1, t2;
        cf_journal_state_totals(s1, &t1);
        cf_journal_state_totals(s2, &t2);
        if (memcmp(&t1, &t2, sizeof(t1)) != 0 || i1.lines != i2.lines || i1.torn != i2.torn ||
            i1.bytes != i2.bytes || i1.bytes > size ||
            cf_journal_state_open_count(s1) != cf_journal_state_open_count(s2) ||
            cf_journal_state_next_attempt(s1) != cf_journal_state_next_attempt(s2) ||
            cf_journal_state_bytes(s1) != cf_journal_state_bytes(s2))
            abort();
        for (size_t i = 0; i < cf_journal_state_open_count(s1); i++) {
            const cf_journal_open_t *o = cf_journal_state_open_at(s1, i);
            cf_journal_open_t o2;
            cf_journal_history_t h1, h2;
            if (!cf_journal_state_open_intent(s2, o->serial, &o2) || o2.record != o->record ||
                !cf_journal_state_record_held(s1, o->record) ||
                !cf_journal_state_history(s1, o->serial, &h1) ||
                !cf_journal_state_history(s2, o->serial, &h2) ||
                memcmp(&h1, &h2, sizeof(h1)) != 0 || strcmp(h1.open_step, o->step) != 0)
                abort();
        }
    }
    cf_journal_state_free(s1);
    cf_journal_state_free(s2);
    return 0;
}
