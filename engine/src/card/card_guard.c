/*
 * card_guard.c - the safety guards of card.h, in one place.
 *
 * Why here and not in the callers: every tool that presents a PUK or an
 * admin key (the runner, the officer's desk, the PIN tool) must get the
 * same protection, and the card layer is the last place before the APDU.
 *
 *  - A value the card rejected in this cf_card_t is never sent again for
 *    the same credential: kept as a cf_secret_t copy (wiped when freed),
 *    compared with CRYPTO_memcmp through cf_secret_equal.
 *  - PUK and admin key: the counter is read before every attempt; a
 *    blocked credential is not tried, and the last try only with
 *    CF_OP_ALLOW_LAST_TRY.
 *  - A counter the card cannot report allows one attempt per cf_card_t:
 *    after a failure every later attempt is refused.
 * The PIN gets the first and the last rule; its last try is the
 * operator's to spend (that is what a PIN prompt does).
 */
#include <stdio.h>

#include "card/card_int.h"

static int was_rejected(const struct cf_cred_state *st, const cf_secret_t *s)
{
    for (size_t i = 0; i < st->n_rejected; i++)
        if (cf_secret_equal(st->rejected[i], s))
            return 1;
    return 0;
}

int cf_card_was_rejected(const cf_card_t *card, cf_cred_t c, const cf_secret_t *s)
{
    const struct cf_cred_state *st = &card->cred[c];
    return was_rejected(st, s) || st->n_rejected >= CF_CARD_MAX_REJECTED || st->lost;
}

cf_err_t cf_card_guard(cf_card_t *card, const char *what, cf_cred_t c, const cf_secret_t *s,
                       unsigned flags)
{
    struct cf_cred_state *st = &card->cred[c];
    const char *name = cf_cred_name(c);
    if (s != NULL && was_rejected(st, s))
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: refused: the card already rejected this %s in this session "
                            "(nothing sent)",
                            what, name);
    if (st->n_rejected >= CF_CARD_MAX_REJECTED || st->lost)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: refused: too many %s values were rejected in this session "
                            "(nothing sent)",
                            what, name);
    cf_tries_t tr;
    if (c == CF_CRED_PIN) {
        if (!st->failed)
            return CF_OK;
        if (st->kind_known) {
            tr.kind = st->kind;
        } else {
            cf_err_t err = cf_card_tries(card, c, &tr);
            if (err != CF_OK)
                return err;
        }
    } else {
        /* What the card said suffices while it shows at least two tries
         * (a lower bound of 2 is enough); else ask. */
        int exact = 0;
        cf_err_t err = cf_card_tries_said(card, c, &tr, &exact);
        if (err != CF_OK || (!exact && tr.kind == CF_TRIES_KNOWN && tr.left < 2))
            err = cf_card_tries(card, c, &tr);
        if (err != CF_OK)
            return err;
        if (tr.kind == CF_TRIES_KNOWN && tr.left == 0)
            return cf_card_fail(card, CF_ERR_BLOCKED,
                                "%s: the %s is blocked (0 tries left; nothing sent)", what, name);
        if (tr.kind == CF_TRIES_KNOWN && tr.left == 1 && !(flags & CF_OP_ALLOW_LAST_TRY))
            return cf_card_fail(card, CF_ERR_LAST_TRY,
                                "%s: refused: only 1 %s try is left and the last try was not "
                                "allowed (nothing sent)",
                                what, name);
    }
    if (tr.kind == CF_TRIES_UNKNOWN && st->failed)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: refused: the card cannot report its %s tries and an attempt "
                            "already failed in this session (nothing sent)",
                            what, name);
    return CF_OK;
}

void cf_card_after(cf_card_t *card, cf_cred_t c, const cf_secret_t *s, cf_err_t err, int sent)
{
    struct cf_cred_state *st = &card->cred[c];
    if (err == CF_OK || !sent)
        return;
    st->failed = 1;
    if (err == CF_ERR_WRONG_SECRET && s != NULL && st->n_rejected < CF_CARD_MAX_REJECTED &&
        !was_rejected(st, s)) {
        cf_secret_t *copy = cf_secret_dup(s);
        if (copy != NULL)
            st->rejected[st->n_rejected++] = copy;
        else
            st->lost = 1; /* cannot be sure not to resend it: stop trying */
    }
}

void cf_card_told(cf_card_t *card, cf_cred_t c, const cf_tries_t *t)
{
    /* A counter the card type cannot report keeps its one-attempt rule,
     * whatever a refusal said in passing. */
    if (c >= CF_CRED_COUNT || !cf_prof_has_cred(card->p, c) ||
        !cf_prof_counter(card->p, c)->readable)
        return;
    struct cf_cred_state *st = &card->cred[c];
    unsigned max = st->told ? st->tries.max : 0;
    st->tries = *t;
    if (st->tries.max == 0)
        st->tries.max = max;
    st->told = 1;
    st->exact = 1;
}

void cf_card_counter_raised(cf_card_t *card, cf_cred_t c)
{
    if (c < CF_CRED_COUNT)
        card->cred[c].exact = 0;
}

cf_err_t cf_card_tries_said(const cf_card_t *card, cf_cred_t c, cf_tries_t *out, int *exact)
{
    if (card == NULL || out == NULL || c >= CF_CRED_COUNT || !card->cred[c].told)
        return CF_ERR_NOT_FOUND;
    *out = card->cred[c].tries;
    if (exact != NULL)
        *exact = card->cred[c].exact;
    return CF_OK;
}

void cf_card_forget_counter(cf_card_t *card, cf_cred_t c)
{
    if (c < CF_CRED_COUNT)
        card->cred[c].told = 0;
}

void cf_card_cred_changed(cf_card_t *card, cf_cred_t c)
{
    /* The counter stays what the card said: a successful change never
     * lowers it (most cards refill it). */
    struct cf_cred_state *st = &card->cred[c];
    for (size_t i = 0; i < st->n_rejected; i++) {
        cf_secret_free(st->rejected[i]);
        st->rejected[i] = NULL;
    }
    st->n_rejected = 0;
    st->failed = 0;
    st->lost = 0;
}

void cf_card_session_ended(cf_card_t *card)
{
    card->admin_auth = 0;
    card->ext_pending = 0;
    cf_wipe(card->ext_challenge, sizeof(card->ext_challenge));
    card->ext_len = 0;
}
