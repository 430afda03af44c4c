/*
 * format.c - journal records as JSON lines.
 *
 * The key order is fixed so a person can read a journal with less(1); every
 * field is written every time (absent values as "" or null), so the reader
 * and docs/journal.md have one shape per record type. Only the fields of
 * the record structures can be written, and none of them holds a secret.
 */
#include <stdio.h>

#include <cardforge/plan.h>

#include "journal/journal_int.h"

static void kv_sw(cf_jbuf *b, const char *key, uint16_t sw)
{
    if (sw == 0) {
        cf_jbuf_key(b, key);
        cf_jbuf_raw(b, "null", 4);
        return;
    }
    char t[8];
    snprintf(t, sizeof(t), "%04X", (unsigned)sw);
    cf_jbuf_kv_str(b, key, t);
}

static void kv_u64_or_null(cf_jbuf *b, const char *key, uint64_t v)
{
    if (v == 0) {
        cf_jbuf_key(b, key);
        cf_jbuf_raw(b, "null", 4);
    } else {
        cf_jbuf_kv_u64(b, key, v);
    }
}

static void end_line(cf_jbuf *b)
{
    cf_jbuf_close_obj(b);
    cf_jbuf_raw(b, "\n", 1);
}

void cf_journal_fmt_run(cf_jbuf *b, const cf_journal_run_t *r)
{
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_str(b, "type", "run");
    cf_jbuf_kv_u64(b, "v", CF_JOURNAL_FORMAT);
    cf_jbuf_kv_time(b, "time", r->time);
    cf_jbuf_kv_str(b, "cardforge", r->version);
    cf_jbuf_kv_i64(b, "pid", r->pid);
    cf_jbuf_kv_str(b, "description", r->description);
    cf_jbuf_kv_str(b, "description_sha256", r->description_sha256);
    cf_jbuf_kv_str(b, "batch", r->batch);
    cf_jbuf_kv_str(b, "batch_sha256", r->batch_sha256);
    cf_jbuf_kv_u64(b, "records", r->records);
    cf_jbuf_kv_str(b, "readers", r->readers);
    cf_jbuf_kv_u64(b, "max_attempts", r->max_attempts);
    if (r->order != NULL) {
        /* Only a station's run names them: a run of its own keeps the
         * record it always had. */
        cf_jbuf_kv_str(b, "order", r->order);
        cf_jbuf_kv_str(b, "station", r->station);
        cf_jbuf_kv_u64(b, "station_number", r->station_number);
    }
    end_line(b);
}

void cf_journal_fmt_intent(cf_jbuf *b, const cf_journal_intent_t *in)
{
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_str(b, "type", "intent");
    cf_jbuf_kv_time(b, "time", in->time);
    cf_jbuf_kv_u64(b, "attempt", in->attempt);
    cf_jbuf_kv_u64(b, "record", in->record);
    cf_jbuf_kv_u64(b, "line", in->line);
    cf_jbuf_kv_str(b, "reader", in->reader);
    cf_jbuf_kv_str(b, "serial", in->serial);
    cf_jbuf_kv_str(b, "profile", in->profile);
    cf_jbuf_kv_str(b, "step", in->step);
    cf_jbuf_kv_u64(b, "step_index", in->step_index);
    end_line(b);
}

static void fmt_cert(cf_jbuf *b, const cf_journal_cert_t *ct)
{
    cf_jbuf_key(b, "certificate");
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_str(b, "state", ct->state);
    cf_jbuf_kv_str(b, "slot", ct->slot);
    cf_jbuf_kv_str(b, "algorithm", ct->algorithm);
    cf_jbuf_kv_str(b, "serial", ct->serial);
    cf_jbuf_kv_str(b, "sha256", ct->sha256);
    cf_jbuf_kv_str(b, "issuer", ct->issuer);
    cf_jbuf_kv_str(b, "not_after", ct->not_after);
    cf_jbuf_close_obj(b);
}

/* ct: the step's certificate facts, or NULL. */
static void fmt_step(cf_jbuf *b, const cf_journal_step_t *s, const cf_journal_cert_t *ct)
{
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_str(b, "step", s->step);
    cf_jbuf_kv_str(b, "outcome", s->outcome);
    cf_jbuf_kv_str(b, "reached", s->reached);
    kv_sw(b, "sw", s->sw);
    cf_jbuf_kv_ms(b, "ms", s->ms);
    cf_jbuf_kv_u64(b, "apdus", s->apdus);
    cf_jbuf_kv_str(b, "kcv", s->kcv);
    if (s->guid != NULL && s->guid[0] != 0) /* only write-chuid has one */
        cf_jbuf_kv_str(b, "guid", s->guid);
    cf_jbuf_kv_str(b, "source", s->source);
    cf_jbuf_kv_str(b, "master_key", s->master_key);
    kv_u64_or_null(b, "master_key_version", s->master_version);
    cf_jbuf_kv_str(b, "error", cf_errname(s->err));
    cf_jbuf_kv_str(b, "message", s->message);
    if (ct != NULL)
        fmt_cert(b, ct);
    cf_jbuf_close_obj(b);
}

void cf_journal_fmt_spent_refused(cf_jbuf *b, uint64_t puk, uint64_t admin, unsigned refused)
{
    cf_jbuf_key(b, "spent");
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_u64(b, "PUK", puk);
    cf_jbuf_kv_u64(b, "admin", admin);
    cf_jbuf_close_obj(b);
    if (refused >> CF_PARAM_COUNT)
        b->overflow = 1; /* a bit of no parameter: refuse rather than drop it */
    cf_jbuf_key(b, "refused");
    cf_jbuf_open_arr(b);
    for (unsigned p = 0; p < CF_PARAM_COUNT; p++) {
        if (refused & (1u << p))
            cf_jbuf_elem_str(b, cf_param_name((cf_param_t)p));
    }
    cf_jbuf_close_arr(b);
}

void cf_journal_fmt_card(cf_jbuf *b, const cf_journal_card_t *c)
{
    static const char *const tries_names[3] = {"PIN", "PUK", "admin"};
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_str(b, "type", "card");
    cf_jbuf_kv_u64(b, "attempt", c->attempt);
    kv_u64_or_null(b, "record", c->record);
    kv_u64_or_null(b, "line", c->line);
    cf_jbuf_kv_str(b, "id", c->id);
    cf_jbuf_kv_str(b, "reader", c->reader);
    cf_jbuf_kv_str(b, "serial", c->serial);
    cf_jbuf_kv_str(b, "atr", c->atr);
    cf_jbuf_kv_str(b, "profile", c->profile);
    cf_jbuf_kv_str(b, "version", c->version);
    cf_jbuf_kv_str(b, "status", cf_card_status_name(c->status));
    cf_jbuf_kv_str(b, "error", cf_errname(c->err));
    cf_jbuf_kv_str(b, "message", c->message);
    cf_jbuf_kv_time(b, "start", c->start);
    cf_jbuf_kv_time(b, "end", c->end);
    cf_jbuf_kv_ms(b, "ms", c->end >= c->start ? (double)(c->end - c->start) : 0.0);
    cf_jbuf_kv_u64(b, "apdus", c->apdus);
    kv_u64_or_null(b, "recovers", c->recovers);
    cf_jbuf_key(b, "tries");
    cf_jbuf_open_obj(b);
    for (int i = 0; i < 3; i++) {
        cf_jbuf_key(b, tries_names[i]);
        if (c->tries[i] < 0) {
            cf_jbuf_raw(b, "null", 4);
        } else {
            char t[16];
            int n = snprintf(t, sizeof(t), "%d", c->tries[i]);
            cf_jbuf_raw(b, t, (size_t)n);
        }
    }
    cf_jbuf_close_obj(b);
    cf_journal_fmt_spent_refused(b, c->spent_puk, c->spent_admin, c->refused);
    cf_jbuf_key(b, "steps");
    cf_jbuf_open_arr(b);
    size_t n = c->n_steps;
    if (n > CF_JOURNAL_MAX_STEPS) {
        b->overflow = 1; /* refuse rather than drop steps silently */
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const cf_journal_cert_t *ct = NULL;
        for (size_t k = 0; c->certs != NULL && k < c->n_certs; k++)
            if (c->certs[k].step == i)
                ct = &c->certs[k];
        cf_jbuf_elem(b);
        fmt_step(b, &c->steps[i], ct);
    }
    cf_jbuf_close_arr(b);
    end_line(b);
}

void cf_journal_fmt_end(cf_jbuf *b, const cf_journal_end_t *e)
{
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_str(b, "type", "end");
    cf_jbuf_kv_time(b, "time", e->time);
    cf_jbuf_kv_str(b, "reason", e->reason);
    cf_jbuf_kv_u64(b, "personalized", e->personalized);
    cf_jbuf_kv_u64(b, "failed", e->failed);
    cf_jbuf_kv_u64(b, "rejected", e->rejected);
    cf_jbuf_kv_u64(b, "remaining", e->remaining);
    end_line(b);
}

cf_err_t cf_journal_format_card(const cf_journal_card_t *c, char *buf, size_t cap, size_t *len)
{
    cf_jbuf b;
    cf_jbuf_init(&b, buf, cap);
    cf_journal_fmt_card(&b, c);
    if (b.overflow)
        return CF_ERR_BUFFER;
    *len = b.len;
    return CF_OK;
}
