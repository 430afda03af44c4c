/*
 * sim.c - a simulated reader holding a cf_simcard_t in this process.
 *
 * The reader is where faults are injected, because that is where they
 * happen: a card pulled out of a real reader either never saw the APDU or
 * processed it and could not answer, and the engine must tell "did the
 * write reach the card?" apart in both cases (the journal's proof step).
 * A pulled card loses power, so its volatile state is gone; its
 * non-volatile state is whatever it had saved.
 *
 * The latency model is not here: the transport only reports each APDU's
 * cost to a hook, and whoever set the hook decides how long to sleep.
 */
#include <stdlib.h>

#include <cardforge/secret.h>

#include "transport/transport_int.h"

struct sim {
    cf_simcard_t *card;    /* borrowed */
    unsigned long pull_in; /* pull at the pull_in-th APDU from now; 0: never */
    cf_sim_pull_t pull_mode;
    int pulled;
    cf_sim_latency_fn latency;
    void *latency_user;
};

static const struct cf_transport_ops sim_ops;

static struct sim *impl(cf_transport_t *t)
{
    return t != NULL && t->ops == &sim_ops ? t->impl : NULL;
}

static cf_err_t removed(cf_transport_t *t)
{
    return cf_transport_fail(t, CF_ERR_CARD_REMOVED, "card removed (simulated pull)");
}

static void report_cost(struct sim *s)
{
    if (s->latency != NULL) {
        cf_simcard_cost_t cost = cf_simcard_last_cost(s->card);
        s->latency(s->latency_user, &cost);
    }
}

static cf_err_t sim_transmit(cf_transport_t *t, const uint8_t *cmd, size_t len, uint8_t *resp,
                             size_t cap, size_t *resp_len)
{
    struct sim *s = t->impl;
    if (s->pulled)
        return removed(t);
    if (cap < CF_SIMCARD_MAX_RESPONSE)
        return cf_transport_fail(t, CF_ERR_INTERNAL, "response buffer below the card's maximum");
    int pull_now = s->pull_in > 0 && --s->pull_in == 0;
    if (pull_now && s->pull_mode == CF_SIM_PULL_UNDELIVERED) {
        s->pulled = 1;
        cf_simcard_power_off(s->card);
        return removed(t);
    }
    cf_err_t err = cf_simcard_transmit(s->card, cmd, len, resp, resp_len);
    if (err == CF_ERR_NO_CARD)
        return cf_transport_fail(t, CF_ERR_NO_CARD, "the simulated card is not powered");
    if (err != CF_OK)
        return cf_transport_fail(t, err, "simulated card failed: %s", cf_strerror(err));
    report_cost(s);
    if (pull_now) { /* CF_SIM_PULL_ANSWER_LOST: the card did the work */
        cf_wipe(resp, *resp_len);
        *resp_len = 0;
        s->pulled = 1;
        cf_simcard_power_off(s->card);
        return removed(t);
    }
    return CF_OK;
}

static void refresh_atr(cf_transport_t *t, const cf_simcard_t *card)
{
    uint8_t atr[CF_ATR_MAX];
    size_t n = cf_simcard_atr(card, atr, sizeof(atr));
    cf_transport_set_atr(t, atr, n);
}

static cf_err_t sim_reset(cf_transport_t *t)
{
    struct sim *s = t->impl;
    if (s->pulled)
        return removed(t);
    cf_simcard_reset(s->card);
    refresh_atr(t, s->card);
    return CF_OK;
}

static cf_err_t sim_begin(cf_transport_t *t)
{
    struct sim *s = t->impl;
    return s->pulled ? removed(t) : CF_OK;
}

static cf_err_t sim_end(cf_transport_t *t)
{
    struct sim *s = t->impl;
    return s->pulled ? removed(t) : CF_OK;
}

static void sim_close(cf_transport_t *t, cf_disposition_t how)
{
    struct sim *s = t->impl;
    if (s == NULL)
        return;
    if (!s->pulled) {
        if (how == CF_DISPOSE_RESET)
            cf_simcard_reset(s->card);
        else if (how == CF_DISPOSE_UNPOWER)
            cf_simcard_power_off(s->card);
    }
    free(s);
    t->impl = NULL;
}

static const struct cf_transport_ops sim_ops = {
    .kind = "sim",
    .transmit = sim_transmit,
    .reset = sim_reset,
    .begin = sim_begin,
    .end = sim_end,
    .close = sim_close,
};

cf_err_t cf_transport_open_sim(cf_simcard_t *card, const char *reader_name, cf_transport_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (card == NULL || reader_name == NULL)
        return CF_ERR_ARG;
    cf_transport_t *t;
    cf_err_t err = cf_transport_alloc(&sim_ops, reader_name, &t);
    if (err != CF_OK)
        return err;
    struct sim *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cf_transport_dealloc(t);
        return CF_ERR_NOMEM;
    }
    s->card = card;
    t->impl = s;
    cf_simcard_power_on(card);
    refresh_atr(t, card);
    *out = t;
    return CF_OK;
}

cf_err_t cf_transport_sim_pull_after(cf_transport_t *t, unsigned long k, cf_sim_pull_t mode)
{
    struct sim *s = impl(t);
    if (s == NULL)
        return CF_ERR_UNSUPPORTED;
    if (mode != CF_SIM_PULL_UNDELIVERED && mode != CF_SIM_PULL_ANSWER_LOST)
        return CF_ERR_ARG;
    s->pull_in = k;
    s->pull_mode = mode;
    return CF_OK;
}

cf_err_t cf_transport_sim_set_latency(cf_transport_t *t, cf_sim_latency_fn fn, void *user)
{
    struct sim *s = impl(t);
    if (s == NULL)
        return CF_ERR_UNSUPPORTED;
    s->latency = fn;
    s->latency_user = user;
    return CF_OK;
}
