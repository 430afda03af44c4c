/*
 * run.c - cf_personalize(): the plan's steps, in order, on one card.
 *
 * The loop owns timing, APDU counting, the hooks and the stop points; what
 * each step sends and how it proves itself is in the steps_*.c files. A run
 * stops at the first step that does not end done or already: later steps
 * would build on a state that is not proven.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "personalize/pers_int.h"

static const char *const outcome_names[] = {"not-run", "done", "already", "failed", "refused"};
static const char *const reached_names[] = {"no", "yes", "unknown"};

const char *cf_outcome_name(cf_outcome_t o)
{
    return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o] : "?";
}

const char *cf_reached_name(cf_reached_t r)
{
    return (unsigned)r < sizeof(reached_names) / sizeof(reached_names[0]) ? reached_names[r] : "?";
}

const cf_secret_t *pers_value(const struct pers *ps, cf_param_t p)
{
    return p == CF_PARAM_NONE ? NULL : cf_card_values_get(ps->values, p);
}

void pers_msg(cf_step_result_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

void pers_fail(struct pers *ps, cf_step_result_t *r, cf_err_t err, const char *what)
{
    r->err = err;
    r->outcome = (err == CF_ERR_LAST_TRY || err == CF_ERR_REFUSED || err == CF_ERR_POLICY) &&
                         r->reached == CF_REACHED_NO
                     ? CF_OUTCOME_REFUSED
                     : CF_OUTCOME_FAILED;
    const char *cm = cf_card_errmsg(ps->card);
    if (cm != NULL && cm[0] != 0)
        pers_msg(r, "%s: %s", what, cm);
    else
        pers_msg(r, "%s: %s", what, cf_strerror(err));
}

cf_reached_t pers_reached(const struct pers *ps, cf_err_t e)
{
    switch (cf_card_last_write(ps->card)) {
    case CF_WRITE_DONE:
        return e == CF_OK ? CF_REACHED_YES : CF_REACHED_NO;
    case CF_WRITE_UNKNOWN:
        return CF_REACHED_UNKNOWN;
    default:
        return CF_REACHED_NO;
    }
}

int pers_plan_has(const struct pers *ps, cf_step_kind_t k)
{
    for (size_t i = 0; i < cf_plan_step_count(ps->plan); i++)
        if (cf_plan_step(ps->plan, i)->kind == k)
            return 1;
    return 0;
}

cf_err_t pers_intent(struct pers *ps, const cf_step_t *step, cf_step_result_t *r)
{
    if (ps->hooks == NULL || ps->hooks->intent == NULL)
        return CF_OK;
    cf_err_t e = ps->hooks->intent(ps->hooks->user, ps->card, step);
    if (e != CF_OK) {
        r->err = e;
        r->outcome = CF_OUTCOME_NOT_RUN;
        pers_msg(r, "not started: the intent could not be recorded (%s)", cf_strerror(e));
    }
    return e;
}

cf_err_t pers_ensure_admin(struct pers *ps, cf_step_result_t *r)
{
    if (ps->admin_authed)
        return CF_OK;
    if (ps->admin_key == NULL) {
        r->err = CF_ERR_INTERNAL;
        r->outcome = CF_OUTCOME_FAILED;
        pers_msg(r, "the admin key the card holds is not known");
        return r->err;
    }
    cf_err_t e = cf_card_admin_auth(ps->card, ps->admin_key, ps->op_flags);
    if (e != CF_OK) {
        pers_fail(ps, r, e, "admin authentication");
        return e;
    }
    ps->admin_authed = 1;
    return CF_OK;
}

void pers_read_tries(cf_card_t *card, cf_cred_t c, cf_tries_t *t)
{
    if (cf_card_tries(card, c, t) != CF_OK)
        t->kind = CF_TRIES_UNKNOWN;
}

void pers_read_tries_now(cf_card_t *card, cf_cred_t c, cf_tries_t *t)
{
    if (cf_card_tries_now(card, c, t) != CF_OK)
        t->kind = CF_TRIES_UNKNOWN;
}

int pers_admin_session_lost(struct pers *ps, cf_err_t e)
{
    if ((e != CF_ERR_CARD_STATUS && e != CF_ERR_REFUSED) || cf_card_last_sw(ps->card) != 0x6982 ||
        cf_card_last_write(ps->card) != CF_WRITE_DONE)
        return 0;
    ps->admin_authed = 0;
    return 1;
}

cf_err_t pers_begin_admin_change(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    cf_err_t e = pers_ensure_admin(ps, r);
    return e != CF_OK ? e : pers_intent(ps, st, r);
}

typedef cf_err_t (*step_fn)(struct pers *, const cf_step_t *, cf_step_result_t *);

static step_fn step_executor(cf_step_kind_t k)
{
    switch (k) {
    case CF_STEP_AUTH_ADMIN:
        return pers_step_auth_admin;
    case CF_STEP_SET_PIN_BY_PUK:
        return pers_step_set_pin_by_puk;
    case CF_STEP_CHANGE_PUK:
        return pers_step_change_puk;
    case CF_STEP_SET_PIN_BY_ADMIN:
        return pers_step_set_pin_by_admin;
    case CF_STEP_ROTATE_ADMIN_KEY:
        return pers_step_rotate_admin_key;
    case CF_STEP_INSTALL_CR_KEY:
        return pers_step_install_cr_key;
    case CF_STEP_BLOCK_PIN:
        return pers_step_block_pin;
    case CF_STEP_WRITE_CHUID:
        return pers_step_write_chuid;
    case CF_STEP_WRITE_CCC:
        return pers_step_write_ccc;
    case CF_STEP_ISSUE_CERT:
        return pers_step_issue_cert;
    }
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int is_transport_error(cf_err_t e)
{
    return e >= CF_ERR_NO_SERVICE && e <= CF_ERR_TRANSPORT;
}

/* The counters after the run, for the record; nothing is spent reading them.
 * Not attempted when the card is gone. */
static void read_final_tries(struct pers *ps)
{
    if (ps->tries_fresh && ps->res->err == CF_OK)
        return; /* the last step's proof read them after its change */
    for (int c = 0; c < CF_CRED_COUNT; c++) {
        ps->res->tries[c].kind = CF_TRIES_UNKNOWN;
        if (is_transport_error(ps->res->err))
            continue;
        pers_read_tries(ps->card, (cf_cred_t)c, &ps->res->tries[c]);
    }
}

cf_err_t cf_personalize(cf_card_t *card, const cf_plan_t *plan, const cf_card_values_t *values,
                        unsigned flags, const cf_personalize_hooks_t *hooks,
                        cf_personalize_result_t *res)
{
    return cf_personalize_resume(card, plan, values, flags, hooks, NULL, res);
}

cf_err_t cf_personalize_resume(cf_card_t *card, const cf_plan_t *plan,
                               const cf_card_values_t *values, unsigned flags,
                               const cf_personalize_hooks_t *hooks,
                               const cf_card_history_t *history, cf_personalize_result_t *res)
{
    if (res == NULL)
        return CF_ERR_ARG;
    memset(res, 0, sizeof(*res));
    if (card == NULL || plan == NULL || values == NULL) {
        res->err = CF_ERR_ARG;
        return res->err;
    }
    size_t n = cf_plan_step_count(plan);
    if (n > CF_PERSONALIZE_MAX_STEPS) {
        res->err = CF_ERR_INTERNAL;
        return res->err;
    }
    res->n_steps = n;
    for (size_t i = 0; i < n; i++)
        res->steps[i].kind = cf_plan_step(plan, i)->kind;

    struct pers ps = {
        .card = card,
        .plan = plan,
        .values = values,
        .flags = flags,
        .op_flags = (flags & CF_PERS_ALLOW_LAST_TRY) ? CF_OP_ALLOW_LAST_TRY : 0,
        .hooks = hooks,
        .history = history,
        .res = res,
    };
    ps.admin_key = pers_value(&ps, CF_PARAM_CARD_MANAGER_KEY);
    if (ps.admin_key == NULL)
        ps.admin_key = cf_profile_factory(cf_card_profile(card), CF_CRED_ADMIN);
    ps.puk = pers_value(&ps, CF_PARAM_INITIAL_PUK);

    size_t bad = 0;
    cf_err_t e = pers_check(card, plan, values, flags, res->message, sizeof(res->message), &bad);
    if (e != CF_OK) {
        /* The step the check refused; nothing was sent. */
        if (bad < n) {
            res->steps[bad].outcome = CF_OUTCOME_REFUSED;
            res->steps[bad].err = e;
            snprintf(res->steps[bad].message, sizeof(res->steps[bad].message), "%s", res->message);
        }
        res->err = e;
        read_final_tries(&ps);
        return e;
    }

    cf_transport_t *t = cf_card_transport(card);
    for (size_t i = 0; i < n; i++) {
        const cf_step_t *st = cf_plan_step(plan, i);
        cf_step_result_t *r = &res->steps[i];
        if (i > 0 && hooks != NULL && hooks->should_stop != NULL &&
            hooks->should_stop(hooks->user)) {
            res->err = CF_ERR_INTERRUPTED;
            snprintf(res->message, sizeof(res->message),
                     "stopped before step %s: the card holds every change up to here",
                     cf_step_kind_name(st->kind));
            break;
        }
        step_fn fn = step_executor(st->kind);
        if (fn == NULL) {
            r->err = CF_ERR_INTERNAL;
            r->outcome = CF_OUTCOME_FAILED;
            res->err = r->err;
            break;
        }
        uint64_t a0 = cf_transport_apdu_count(t);
        double t0 = now_ms();
        e = fn(&ps, st, r);
        r->ms = now_ms() - t0;
        r->apdus = (unsigned)(cf_transport_apdu_count(t) - a0);
        r->sw = cf_card_last_sw(card);
        if (e == CF_OK && r->outcome == CF_OUTCOME_NOT_RUN)
            r->outcome = CF_OUTCOME_DONE;
        if (hooks != NULL && hooks->step_done != NULL)
            hooks->step_done(hooks->user, card, r);
        if (e != CF_OK) {
            res->err = e;
            snprintf(res->message, sizeof(res->message), "step %s (line %lu): %.200s",
                     cf_step_kind_name(st->kind), st->line, r->message);
            break;
        }
    }
    read_final_tries(&ps);
    return res->err;
}
