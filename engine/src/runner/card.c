/*
 * card.c - one card in one reader, from identification to release.
 *
 * The order is what makes "never twice" and "nothing lost" hold:
 *   1. identify the card (profile, serial) - read-only;
 *   2. under the lock, ask the scheduler: refuse a serial that is done or
 *      in work elsewhere, give a card with an open intent its own record,
 *      otherwise the next record; the record and serial are now in flight;
 *   3. run the plan with what the journal remembers about the card (its
 *      open intent's step, the wrong values earlier attempts presented and
 *      the values it refused); before each irreversible step the intent is
 *      written and synced (the executor's intent hook), then applied to the
 *      state;
 *   4. write the card record (with what this run presented that the card
 *      refused) and sync it; apply it to the state, so the card's next
 *      attempt knows, and let the scheduler requeue or retire the record;
 *   5. only then release the card (close the connection) and tell the
 *      caller. When the card line cannot be made durable (write or sync
 *      failed, journal gone), the card is not released as done: it stays
 *      in its reader, is reported with what really happened to it, and the
 *      run stops.
 * A crash anywhere leaves either no trace (nothing changed yet) or an intent
 * that the next run finishes when the card comes back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/personalize.h>

#include "runner/history.h"
#include "runner/runner_int.h"
#include "util/hex.h"

/* Everything the card record needs, copied out of the card and the result
 * so it outlives them. */
struct card_rec {
    cf_journal_card_t c;
    cf_journal_step_t steps[CF_PERSONALIZE_MAX_STEPS];
    cf_journal_cert_t certs[CF_PERSONALIZE_MAX_STEPS];
    char masters[CF_PERSONALIZE_MAX_STEPS][CF_KEYS_NAME_MAX + 1];
    char serial[CF_JOURNAL_SERIAL_MAX + 1];
    char atr[2 * CF_ATR_MAX + 1];
    char profile[64];
    char version[32];
    char message[CF_MSG_MAX + 64];
    char reader[128];
    char id[CF_WORK_ID_MAX + 1];
    char order_why[CF_MSG_MAX]; /* why the order database kept the card untouched */
    int order_lost;             /* ... because the record is another station's now */
};

struct hook_ctx {
    struct cf_runner *r;
    struct rdr *rd;
    struct card_rec *rec;
    const cf_work_t *work;
    int in_order; /* this attempt's intent is in the order database */
};

static void set_message(struct card_rec *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_message(struct card_rec *rec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->message, sizeof(rec->message), fmt, ap);
    va_end(ap);
}

static int stopping_hard(struct cf_runner *r)
{
    return __atomic_load_n(&r->stop_level, __ATOMIC_RELAXED) >= 2;
}

static unsigned step_index(const cf_plan_t *plan, const cf_step_t *step)
{
    for (size_t i = 0; i < cf_plan_step_count(plan); i++)
        if (cf_plan_step(plan, i) == step)
            return (unsigned)i + 1;
    return 0;
}

static cf_err_t hook_intent(void *user, const cf_card_t *card, const cf_step_t *step)
{
    struct hook_ctx *h = user;
    (void)card;
    cf_journal_intent_t in = {
        .time = cf_runner_wall_ms(),
        .attempt = h->rec->c.attempt,
        .record = h->work->record,
        .line = h->work->line,
        .reader = h->rec->reader,
        .serial = h->rec->serial,
        .profile = h->rec->profile,
        .step = cf_step_kind_name(step->kind),
        .step_index = step_index(h->r->plan, step),
    };
    cf_err_t e = cf_journal_write_intent(h->r->journal, &in);
    pthread_mutex_lock(&h->r->mu);
    if (e == CF_OK)
        e = cf_journal_state_apply_intent(h->r->st, &in);
    /* The progress shows the step the card is on: a key generated on the
     * card and a CA's answer take seconds, and the reader is busy with it. */
    if (e == CF_OK)
        snprintf(h->rd->pub.step, sizeof(h->rd->pub.step), "%s", in.step);
    if (e != CF_OK) {
        /* The journal cannot account for changes any more: stop the run. */
        if (h->r->fatal == CF_OK)
            h->r->fatal = e;
        cf_runner_stop_locked(h->r, 2);
    }
    pthread_mutex_unlock(&h->r->mu);
    if (e != CF_OK || h->r->station == NULL || h->in_order)
        return e;
    /* Several stations: the card is touched only once the order database
     * holds the intent, on a record still this station's. */
    char why[CF_MSG_MAX - 16];
    e = cf_runner_order_intent(h->r, in.attempt, in.record, in.serial, in.reader, why, sizeof(why));
    if (e == CF_OK)
        h->in_order = 1;
    else
        snprintf(h->rec->order_why, sizeof(h->rec->order_why), "%s", why);
    h->rec->order_lost = e == CF_ERR_REFUSED;
    return e;
}

static void hook_step_done(void *user, const cf_card_t *card, const cf_step_result_t *res)
{
    struct hook_ctx *h = user;
    (void)card;
    pthread_mutex_lock(&h->r->mu);
    snprintf(h->rd->pub.step, sizeof(h->rd->pub.step), "%s", cf_step_kind_name(res->kind));
    pthread_mutex_unlock(&h->r->mu);
}

static int hook_should_stop(void *user)
{
    struct hook_ctx *h = user;
    return stopping_hard(h->r);
}

static const char *source_name(cf_source_t s)
{
    switch (s) {
    case CF_SOURCE_LITERAL:
        return "literal";
    case CF_SOURCE_FIELD:
        return "field";
    case CF_SOURCE_PROMPT:
        return "prompt";
    case CF_SOURCE_DERIVED:
        return "derived";
    case CF_SOURCE_RANDOM:
        return "random";
    case CF_SOURCE_NONE:
        break;
    }
    return "";
}

/* The parameter whose value step k installs on the card: the challenge-
 * response key IS the card's final admin key. */
static cf_param_t installed_param(const cf_plan_t *plan, const cf_step_t *st)
{
    if (st->kind == CF_STEP_INSTALL_CR_KEY)
        return cf_plan_source(plan, CF_PARAM_NEW_CARD_MANAGER_KEY) != CF_SOURCE_NONE
                   ? CF_PARAM_NEW_CARD_MANAGER_KEY
                   : CF_PARAM_CARD_MANAGER_KEY;
    return st->new_value;
}

/* Where each step's installed value came from (master key name and
 * version for derived ones), from the values the card was given. */
static void fill_origins(struct card_rec *rec, const cf_plan_t *plan,
                         const cf_card_values_t *values)
{
    for (size_t i = 0; i < rec->c.n_steps && i < cf_plan_step_count(plan); i++) {
        cf_param_t p = installed_param(plan, cf_plan_step(plan, i));
        cf_journal_step_t *s = &rec->steps[i];
        s->source = "";
        s->master_key = "";
        s->master_version = 0;
        if (p == CF_PARAM_NONE)
            continue;
        const char *master = NULL;
        unsigned version = 0;
        cf_source_t src = cf_card_values_origin(values, p, &master, &version);
        s->source = source_name(src);
        if (src == CF_SOURCE_DERIVED && master != NULL) {
            snprintf(rec->masters[i], sizeof(rec->masters[i]), "%s", master);
            s->master_key = rec->masters[i];
            s->master_version = version;
        }
    }
}

/* An issue-certificate step's facts (borrowed from the result, which
 * outlives the record as the step's message does). */
static void journal_cert(cf_journal_cert_t *j, unsigned step, const cf_issue_result_t *is)
{
    int cert = is->have_cert;
    j->step = step;
    j->state = cf_issue_state_name(is->state);
    j->slot = is->slot;
    j->algorithm = is->state != CF_ISSUE_UNTOUCHED ? cf_key_alg_name(is->alg) : "";
    j->serial = cert ? is->cert.serial : "";
    j->sha256 = cert ? is->cert.sha256 : "";
    j->issuer = cert ? is->cert.issuer : "";
    j->not_after = cert ? is->cert.not_after : "";
}

static void fill_steps(struct card_rec *rec, const cf_personalize_result_t *res)
{
    rec->c.n_certs = 0;
    size_t n = res->n_steps;
    if (n > CF_PERSONALIZE_MAX_STEPS)
        n = CF_PERSONALIZE_MAX_STEPS;
    for (size_t i = 0; i < n; i++) {
        const cf_step_result_t *s = &res->steps[i];
        rec->steps[i] = (cf_journal_step_t){
            .step = cf_step_kind_name(s->kind),
            .outcome = cf_outcome_name(s->outcome),
            .reached = cf_reached_name(s->reached),
            .err = s->err,
            .sw = s->sw,
            .ms = s->ms,
            .apdus = s->apdus,
            .kcv = s->kcv,
            .guid = s->guid,
            .message = s->message,
        };
        if (s->kind == CF_STEP_ISSUE_CERT)
            journal_cert(&rec->certs[rec->c.n_certs++], (unsigned)i, &s->issue);
    }
    rec->c.steps = rec->steps;
    rec->c.n_steps = n;
    rec->c.certs = rec->c.n_certs > 0 ? rec->certs : NULL;
    for (int c = 0; c < 3 && c < CF_CRED_COUNT; c++)
        rec->c.tries[c] = res->tries[c].kind == CF_TRIES_KNOWN ? (int)res->tries[c].left : -1;
}

/* personalized, or rejected when nothing was sent that could change the
 * card (a refusal before the first write), else failed. */
static cf_card_status_t status_of(const cf_personalize_result_t *res)
{
    if (res->err == CF_OK)
        return CF_STATUS_PERSONALIZED;
    int refused = 0;
    for (size_t i = 0; i < res->n_steps; i++) {
        const cf_step_result_t *s = &res->steps[i];
        if (s->reached != CF_REACHED_NO)
            return CF_STATUS_FAILED;
        if (s->outcome == CF_OUTCOME_FAILED)
            return CF_STATUS_FAILED;
        if (s->outcome == CF_OUTCOME_DONE || s->outcome == CF_OUTCOME_ALREADY)
            return CF_STATUS_FAILED; /* e.g. authenticated, then stopped */
        if (s->outcome == CF_OUTCOME_REFUSED)
            refused = 1;
    }
    if (refused || res->err == CF_ERR_REFUSED || res->err == CF_ERR_POLICY ||
        res->err == CF_ERR_INTERRUPTED)
        return CF_STATUS_REJECTED;
    return CF_STATUS_FAILED;
}

/* Errors that say more about the reader than about the card. */
static int reader_fault(const struct rdr *rd, const cf_journal_card_t *c)
{
    if (c->status == CF_STATUS_PERSONALIZED)
        return 0;
    /* A simulated hopper holds one kind of card: when this one is not a card
     * the run can take, neither is the next, and the reader would reject
     * cards as fast as they are fed. A PC/SC reader keeps an unknown card
     * until the operator takes it out: that card is the operator's affair. */
    if (c->err == CF_ERR_UNKNOWN_CARD)
        return rd->index != 0;
    if (c->err == CF_ERR_INTERRUPTED || c->err == CF_ERR_ALREADY_DONE || c->err == CF_ERR_SHARING ||
        c->err == CF_ERR_REFUSED || c->err == CF_ERR_POLICY || c->err == CF_ERR_NOT_FOUND)
        return 0;
    return 1;
}

/* The card's line could not be made durable: the run stops, and the card
 * is reported as what it is, not as what the line would have said. It stays
 * in its reader: the journal's synced intents (if any change reached it)
 * let the next run finish it. */
static void unrecorded(struct card_rec *rec, cf_err_t e)
{
    char was[CF_MSG_MAX + 64];
    snprintf(was, sizeof(was), "%s", rec->message);
    const char *state = rec->c.status == CF_STATUS_PERSONALIZED ? "personalized"
                        : cf_journal_card_changed(&rec->c)      ? "changed and not finished"
                                                                : "not changed by this attempt";
    set_message(rec,
                "its card line could not be written to the journal (%s); the card is %s%s%s; "
                "it stays in its reader for the next run",
                cf_strerror(e), state, was[0] ? ": " : "", was);
    rec->c.status = CF_STATUS_FAILED;
    rec->c.err = e == CF_ERR_BUFFER ? CF_ERR_BUFFER : CF_ERR_IO;
}

/* Write the card record, apply it, update counters and the reader row.
 * 0 when the record is durable, -1 when it is not (the run is stopping; the
 * card must not be released as done). */
static int finish_record(struct cf_runner *r, struct rdr *rd, struct card_rec *rec, cf_work_t *work)
{
    cf_err_t e = CF_OK;
    int durable = 1;
    rec->c.end = cf_runner_wall_ms();
    if (r->journal != NULL && (e = cf_journal_write_card(r->journal, &rec->c)) != CF_OK) {
        durable = 0;
        unrecorded(rec, e);
    }
    pthread_mutex_lock(&r->mu);
    if (durable)
        e = cf_journal_state_apply_card(r->st, &rec->c);
    if (e != CF_OK) {
        if (r->fatal == CF_OK)
            r->fatal = e;
        cf_runner_stop_locked(r, 2);
    }
    switch (rec->c.status) {
    case CF_STATUS_PERSONALIZED:
        r->personalized++;
        rd->pub.personalized++;
        break;
    case CF_STATUS_FAILED:
        r->failed++;
        rd->pub.failed++;
        break;
    case CF_STATUS_REJECTED:
        r->rejected++;
        rd->pub.rejected++;
        break;
    }
    rd->pub.cards++;
    if (rec->c.status == CF_STATUS_PERSONALIZED)
        rd->pub.fails_in_row = 0;
    else if (reader_fault(rd, &rec->c))
        rd->pub.fails_in_row++;
    unsigned limit = r->o.reader_max_fails ? r->o.reader_max_fails : 3;
    if (rd->pub.fails_in_row >= limit && rd->pub.state != CF_RSTATE_ASIDE) {
        rd->pub.state = CF_RSTATE_ASIDE;
        snprintf(rd->pub.note, sizeof(rd->pub.note),
                 rec->c.err == CF_ERR_UNKNOWN_CARD
                     ? "%u cards in a row that this run cannot take (last: %s)"
                     : "%u failed cards in a row (last: %s)",
                 rd->pub.fails_in_row, cf_errname(rec->c.err));
        cf_runner_log(r, "reader '%s' set aside: %s", rd->pub.name, rd->pub.note);
    }
    /* Not durable: for the scheduler an interrupted attempt (the run
     * stops; the journal, not this memory, decides what the next run does). */
    cf_sched_finish(r->sched, rec->serial, work, durable ? rec->c.status : CF_STATUS_FAILED,
                    durable ? rec->c.err : CF_ERR_INTERRUPTED);
    if (rec->order_lost)
        cf_sched_forget(r->sched, rec->c.record);
    /* For the order: a record that used its attempts is failed for good. */
    int given_up = rec->c.record != 0 && rec->c.status != CF_STATUS_PERSONALIZED &&
                   !cf_journal_state_record_done(r->st, rec->c.record) &&
                   cf_journal_state_attempts(r->st, rec->c.record) >= r->o.max_attempts;
    if (r->stop_level == 0 && r->fatal == CF_OK && cf_sched_complete(r->sched))
        cf_runner_complete_locked(r);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    /* The journal first, then the order: a result the database misses now
     * is in the journal, which the station replays. */
    if (durable && r->station != NULL)
        cf_runner_order_result(r, &rec->c, given_up);
    return durable ? 0 : -1;
}

static void init_rec(struct card_rec *rec, struct rdr *rd, cf_transport_t *t)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->reader, sizeof(rec->reader), "%s", rd->pub.name);
    size_t atr_len = 0;
    const uint8_t *atr = cf_transport_atr(t, &atr_len);
    if (atr != NULL && atr_len <= CF_ATR_MAX)
        cf_hex_encode(atr, atr_len, rec->atr);
    rec->c.reader = rec->reader;
    rec->c.serial = rec->serial;
    rec->c.atr = rec->atr;
    rec->c.profile = rec->profile;
    rec->c.version = rec->version;
    rec->c.message = rec->message;
    rec->c.id = rec->id;
    rec->c.status = CF_STATUS_REJECTED;
    rec->c.tries[0] = rec->c.tries[1] = rec->c.tries[2] = -1;
    rec->c.start = cf_runner_wall_ms();
}

static void set_busy(struct cf_runner *r, struct rdr *rd, const char *serial, uint64_t record)
{
    pthread_mutex_lock(&r->mu);
    if (rd->pub.state != CF_RSTATE_ASIDE)
        rd->pub.state = CF_RSTATE_BUSY;
    snprintf(rd->pub.serial, sizeof(rd->pub.serial), "%s", serial);
    rd->pub.record = record;
    rd->pub.step[0] = '\0';
    pthread_mutex_unlock(&r->mu);
}

static void set_idle(struct cf_runner *r, struct rdr *rd, double busy_ms)
{
    pthread_mutex_lock(&r->mu);
    if (rd->pub.state == CF_RSTATE_BUSY)
        rd->pub.state = CF_RSTATE_WAITING;
    rd->pub.serial[0] = '\0';
    rd->pub.record = 0;
    rd->pub.step[0] = '\0';
    rd->pub.busy_ms += busy_ms;
    rd->pub.service_ms += rd->service_us / 1000.0;
    rd->service_us = 0;
    pthread_mutex_unlock(&r->mu);
}

/* Ask the scheduler for the card's record, waiting while every record left
 * is on another card. Called with mu held. */
static cf_assign_t assign(struct cf_runner *r, const char *serial, cf_work_t **work, cf_err_t *err,
                          char *why, size_t whylen)
{
    for (;;) {
        if (r->stop_level >= 1 || r->fatal != CF_OK)
            return CF_ASSIGN_NONE;
        cf_assign_t a = cf_sched_assign(r->sched, serial, work, err, why, whylen);
        /* A claimed record left the pool (or none was there): the feeder
         * claims the next now, not after its idle wait. */
        if (r->order_cv_init)
            pthread_cond_signal(&r->order_cv);
        if (a != CF_ASSIGN_WAIT)
            return a;
        pthread_cond_wait(&r->cv, &r->mu);
    }
}

static void dry_run(struct cf_runner *r, cf_card_t *card, struct card_rec *rec,
                    const cf_work_t *work)
{
    char msg[CF_MSG_MAX];
    cf_err_t e = cf_personalize_check(card, r->plan, work->values, 0, msg, sizeof(msg));
    if (e == CF_OK) {
        rec->c.status = CF_STATUS_PERSONALIZED;
        set_message(rec, "dry run: the plan can run on this card; nothing was changed");
    } else {
        rec->c.status = CF_STATUS_REJECTED;
        rec->c.err = e;
        set_message(rec, "dry run: %s", msg);
    }
}

cf_card_outcome_t cf_runner_handle_card(struct cf_runner *r, struct rdr *rd, cf_transport_t *t)
{
    struct card_rec rec;
    cf_card_t *card = NULL;
    cf_work_t *work = NULL;
    cf_card_outcome_t out = CF_CARD_HANDLED;
    char errbuf[CF_MSG_MAX];
    double t0 = cf_runner_mono_ms();
    uint64_t a0 = cf_transport_apdu_count(t);

    init_rec(&rec, rd, t);
    set_busy(r, rd, "", 0);
    if (r->trace != NULL)
        cf_transport_set_trace(t, r->trace);
    errbuf[0] = '\0';
    /* cf_card_open waits out a reader still settling after an insertion. */
    cf_err_t e = cf_card_open(t, r->profiles, r->o.profile, &card, errbuf, sizeof(errbuf));
    pthread_mutex_lock(&r->mu);
    rec.c.attempt = r->next_attempt++;
    pthread_mutex_unlock(&r->mu);
    if (e != CF_OK) {
        /* Only reads were sent: the card is as it was. */
        rec.c.status = CF_STATUS_REJECTED;
        rec.c.err = e;
        set_message(&rec, "%s", errbuf[0] ? errbuf : cf_strerror(e));
        goto record;
    }
    snprintf(rec.serial, sizeof(rec.serial), "%s", cf_card_serial(card));
    snprintf(rec.profile, sizeof(rec.profile), "%s", cf_profile_name(cf_card_profile(card)));
    snprintf(rec.version, sizeof(rec.version), "%s", cf_card_version(card));
    set_busy(r, rd, rec.serial, 0);

    char why[CF_MSG_MAX];
    cf_err_t aerr = CF_OK;
    cf_card_history_t hist = {.open_step = -1};
    pthread_mutex_lock(&r->mu);
    cf_assign_t a = assign(r, rec.serial, &work, &aerr, why, sizeof(why));
    if (a == CF_ASSIGN_NONE && r->stop_level == 0 && r->fatal == CF_OK)
        cf_runner_complete_locked(r);
    /* The serial is now in flight in this reader only: its history cannot
     * change before this attempt's own record. */
    if (a == CF_ASSIGN_WORK)
        cf_runner_card_history(r->st, rec.serial, &hist);
    pthread_mutex_unlock(&r->mu);
    if (a == CF_ASSIGN_NONE) {
        /* Only identified: nothing to account for. */
        out = r->complete ? CF_CARD_NONE_LEFT : CF_CARD_UNTOUCHED;
        goto release;
    }
    if (a == CF_ASSIGN_REJECT) {
        rec.c.status = CF_STATUS_REJECTED;
        rec.c.err = aerr;
        set_message(&rec, "%s", why);
        goto record;
    }
    rec.c.record = work->record;
    rec.c.line = work->line;
    rec.c.recovers = work->recovers;
    snprintf(rec.id, sizeof(rec.id), "%s", work->id);
    set_busy(r, rd, rec.serial, work->record);

    if (cf_plan_needs_card_stage(r->plan)) {
        /* Derived and random values need the serial: made now, for this
         * card (a retried record gets its next card's own values). */
        cf_diag_list_t *d = cf_diag_list_new();
        e = d == NULL ? CF_ERR_NOMEM
                      : cf_plan_resolve_card(r->plan, work->values, rec.serial, r->keys, d);
        if (e != CF_OK) {
            rec.c.status = CF_STATUS_REJECTED;
            rec.c.err = e;
            set_message(&rec, "cannot make this card's values: %s",
                        d != NULL && cf_diag_count(d) > 0 ? cf_diag_message(d, 0) : cf_strerror(e));
            cf_diag_list_free(d);
            goto record;
        }
        cf_diag_list_free(d);
    }
    if (r->o.dry_run) {
        dry_run(r, card, &rec, work);
        goto record;
    }
    struct hook_ctx h = {r, rd, &rec, work, 0};
    cf_personalize_hooks_t hooks = {&h, hook_intent, hook_step_done, hook_should_stop};
    cf_personalize_result_t res;
    cf_personalize_resume(card, r->plan, work->values, 0, &hooks, &hist, &res);
    fill_steps(&rec, &res);
    cf_runner_record_spent(&rec.c, &res);
    fill_origins(&rec, r->plan, work->values);
    rec.c.status = status_of(&res);
    rec.c.err = res.err;
    if (rec.order_why[0])
        set_message(&rec, "order: %s", rec.order_why);
    else if (res.err != CF_OK)
        set_message(&rec, "%s", res.message[0] ? res.message : cf_strerror(res.err));
    else if (work->recovers != 0)
        set_message(&rec, "finished the change cut off in attempt %llu",
                    (unsigned long long)work->recovers);

record:
    rec.c.apdus = cf_transport_apdu_count(t) - a0;
    if (finish_record(r, rd, &rec, work) != 0)
        out = CF_CARD_STOPPED; /* no durable line: it is not released as done */
    work = NULL;               /* the scheduler has it */
release:
    if ((out == CF_CARD_UNTOUCHED || out == CF_CARD_NONE_LEFT) && rec.serial[0] != '\0') {
        /* A card an earlier attempt left changed and unproven, which this
         * run did not get to: it must not leave its reader as if done. */
        pthread_mutex_lock(&r->mu);
        if (cf_journal_state_open_intent(r->st, rec.serial, NULL))
            out = CF_CARD_KEPT;
        pthread_mutex_unlock(&r->mu);
    }
    cf_card_free(card);
    /* Reset: the card leaves with no PIN verified and no admin session. */
    cf_transport_close(t, CF_DISPOSE_RESET);
    set_idle(r, rd, cf_runner_mono_ms() - t0);
    if (out == CF_CARD_HANDLED && rec.c.err == CF_ERR_INTERRUPTED)
        out = CF_CARD_STOPPED;
    rd->last_err = out == CF_CARD_HANDLED || out == CF_CARD_STOPPED ? rec.c.err : CF_OK;
    if ((out == CF_CARD_HANDLED || out == CF_CARD_STOPPED) && r->o.on_card != NULL)
        r->o.on_card(r->o.user, &rec.c);
    if (work != NULL) {
        /* Not reached: a record is only assigned on the way to "record". */
        cf_work_free(work);
    }
    return out;
}
