/*
 * recover.c - which value a step presents when the card may hold either of
 * two, and what presenting a wrong one may cost.
 *
 * A run cut off between a write and its proof leaves a card that holds the
 * old or the new admin key (or PUK). Where the card reports the counter, the
 * card layer's guard lets the executor present the old value, then the new
 * one, never spending the last try. Where it cannot, every wrong value is a
 * try of unknown cost, so the executor presents at most one value per run
 * and lets the evidence choose it: the journal's open intent says an
 * earlier attempt was installing the new value (then it goes first), a value
 * the card refused in an earlier attempt is never presented again, and once
 * earlier attempts presented CF_HISTORY_MAX_SPENT wrong values the card is
 * left to an operator. The wrong tries cardforge can spend on such a card
 * over all its runs are bounded by that budget.
 */
#include <stdio.h>

#include "personalize/pers_int.h"

/* The index of step kind k in the plan, or the plan's length. */
static size_t step_index(const struct pers *ps, int k)
{
    size_t n = cf_plan_step_count(ps->plan);
    for (size_t i = 0; i < n; i++)
        if ((int)cf_plan_step(ps->plan, i)->kind == k)
            return i;
    return n;
}

/* An earlier attempt may have left step k's change on the card: its open
 * step is k, or a later step (k's change was then done and proven). */
static int may_hold_new(const struct pers *ps, cf_step_kind_t k)
{
    if (ps->history == NULL || ps->history->open_step < 0)
        return 0;
    size_t open = step_index(ps, ps->history->open_step);
    size_t mine = step_index(ps, (int)k);
    return open < cf_plan_step_count(ps->plan) && mine <= open;
}

static int refused_before(const struct pers *ps, cf_param_t p)
{
    return ps->history != NULL && (ps->history->refused & CF_PARAM_BIT(p)) != 0;
}

/* The kind of c's counter: it cannot change within a session, so it is
 * read once (each read is an APDU on every card of a batch). */
static cf_tries_kind_t counter_kind(struct pers *ps, cf_cred_t c)
{
    if (!ps->kind_read[c]) {
        cf_tries_t t;
        pers_read_tries(ps->card, c, &t);
        ps->kind[c] = t.kind;
        ps->kind_read[c] = 1;
    }
    return ps->kind[c];
}

static int counter_unknown(struct pers *ps, cf_cred_t c)
{
    return counter_kind(ps, c) == CF_TRIES_UNKNOWN;
}

size_t pers_candidates(struct pers *ps, cf_cred_t c, const cf_secret_t *cur, cf_param_t p_cur,
                       const cf_secret_t *next, cf_param_t p_next, cf_step_kind_t k,
                       struct pers_cand out[2])
{
    int unknown = counter_unknown(ps, c);
    int evidence = may_hold_new(ps, k);
    /* A value drawn anew for this attempt can never be the one an earlier
     * attempt wrote. */
    if (next != NULL && cf_plan_source(ps->plan, p_next) == CF_SOURCE_RANDOM)
        next = NULL;
    if (next != NULL && !pers_plan_has(ps, k))
        next = NULL;
    if (unknown && !evidence)
        next = NULL; /* no guess on a card that cannot count */
    struct pers_cand a = {cur, p_cur, 0}, b = {next, p_next, 1};
    struct pers_cand order[2] = {a, b};
    if (evidence && next != NULL) {
        order[0] = b;
        order[1] = a;
    }
    size_t n = 0;
    for (int i = 0; i < 2; i++)
        if (order[i].value != NULL && !refused_before(ps, order[i].param))
            out[n++] = order[i];
    return n;
}

void pers_note_refused(struct pers *ps, cf_param_t p, cf_cred_t c, cf_err_t e)
{
    if (e != CF_ERR_WRONG_SECRET || c == CF_CRED_PIN)
        return;
    ps->res->spent[c]++;
    if (p < CF_PARAM_COUNT)
        ps->res->refused |= CF_PARAM_BIT(p);
}

/* What one refusal cost, in words that claim only what the card said. */
static const char *cost_text(struct pers *ps, cf_cred_t c)
{
    cf_tries_kind_t k = counter_kind(ps, c);
    if (k == CF_TRIES_UNLIMITED)
        return c == CF_CRED_ADMIN ? "the admin key has no retry counter" : "no retry counter";
    if (k == CF_TRIES_KNOWN)
        return c == CF_CRED_ADMIN ? "one admin-key try spent" : "one PUK try spent";
    return "this may have cost a try if the card counts them";
}

cf_err_t pers_present(struct pers *ps, cf_step_result_t *r, cf_cred_t c, const char *what,
                      const struct pers_cand *cand, size_t n, pers_attempt_fn attempt,
                      size_t *chosen)
{
    const char *name = cf_cred_name(c);
    int unknown = counter_unknown(ps, c);
    unsigned before = ps->history != NULL ? ps->history->spent[c] : 0;
    if (unknown && before >= CF_HISTORY_MAX_SPENT) {
        r->err = CF_ERR_REFUSED;
        r->outcome = CF_OUTCOME_REFUSED;
        pers_msg(r,
                 "%s: refused: earlier attempts already presented %u wrong %s values to this "
                 "card, which cannot report its tries; nothing sent (hand the card to an "
                 "operator)",
                 what, before, name);
        return r->err;
    }
    if (n == 0) {
        r->err = CF_ERR_REFUSED;
        r->outcome = CF_OUTCOME_REFUSED;
        pers_msg(r,
                 "%s: refused: the card refused every %s value this plan has in earlier "
                 "attempts; nothing sent",
                 what, name);
        return r->err;
    }
    cf_err_t e = CF_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        e = attempt(ps, cand[i].value);
        r->reached = pers_reached(ps, e);
        if (e == CF_OK) {
            *chosen = i;
            if (i > 0)
                pers_msg(r, "%s was refused (%s): the card already holds %s from an earlier run",
                         cf_param_name(cand[0].param), cost_text(ps, c),
                         cf_param_name(cand[i].param));
            else if (cand[i].is_new)
                pers_msg(r, "the card holds %s from an earlier, unfinished run",
                         cf_param_name(cand[i].param));
            return CF_OK;
        }
        pers_note_refused(ps, cand[i].param, c, e);
        if (e != CF_ERR_WRONG_SECRET)
            break;
        if (i + 1 < n && unknown) {
            r->err = CF_ERR_WRONG_SECRET;
            r->outcome = CF_OUTCOME_FAILED;
            pers_msg(r,
                     "%s: %s was refused (%s); the card cannot report its %s tries, so %s is "
                     "presented by the next run of this card, not by this one",
                     what, cf_param_name(cand[i].param), cost_text(ps, c), name,
                     cf_param_name(cand[i + 1].param));
            return r->err;
        }
    }
    if (e == CF_ERR_WRONG_SECRET) {
        /* Every candidate was refused: say which, what it cost, and what
         * the card said. */
        char names[80];
        if (n > 1)
            snprintf(names, sizeof(names), "neither %s nor %s is", cf_param_name(cand[0].param),
                     cf_param_name(cand[1].param));
        else
            snprintf(names, sizeof(names), "%s is not", cf_param_name(cand[0].param));
        r->err = e;
        r->outcome = CF_OUTCOME_FAILED;
        pers_msg(r, "%s: %s accepted (%s): %.120s", what, names, cost_text(ps, c),
                 cf_card_errmsg(ps->card));
        return r->err;
    }
    pers_fail(ps, r, e,
              n > 1 && (e == CF_ERR_LAST_TRY || e == CF_ERR_REFUSED)
                  ? "the first value was refused and presenting the next is not safe"
                  : what);
    return r->err;
}
