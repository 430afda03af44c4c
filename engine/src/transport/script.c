/*
 * script.c - the scripted test card behind a transport.
 *
 * Answers are a FIFO the test fills; every raw APDU is logged as received.
 * Memory grows with the script only; the fuzz target bounds it by its input
 * size and the core bounds the APDUs one transmit may send.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/secret.h>

#include "transport/script.h"
#include "transport/transport_int.h"
#include "util/hex.h"

struct blob {
    uint8_t *p;
    size_t len;
    cf_err_t err; /* CF_OK: p is an answer */
};

struct script {
    struct blob *queue;
    size_t nqueue, head, cap;
    struct blob repeat;
    struct blob *sent;
    size_t nsent, sentcap;
    unsigned resets, transactions;
};

static const struct cf_transport_ops script_ops;

static struct script *impl(const cf_transport_t *t)
{
    return t != NULL && t->ops == &script_ops ? t->impl : NULL;
}

static void blob_free(struct blob *b)
{
    if (b->p != NULL)
        cf_wipe(b->p, b->len);
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

static cf_err_t blob_set(struct blob *b, const uint8_t *p, size_t len)
{
    b->p = malloc(len ? len : 1);
    if (b->p == NULL)
        return CF_ERR_NOMEM;
    if (len > 0)
        memcpy(b->p, p, len);
    b->len = len;
    b->err = CF_OK;
    return CF_OK;
}

static cf_err_t push(struct script *s, const uint8_t *p, size_t len, cf_err_t err)
{
    if (s->nqueue == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct blob *q = realloc(s->queue, cap * sizeof(*q));
        if (q == NULL)
            return CF_ERR_NOMEM;
        s->queue = q;
        s->cap = cap;
    }
    struct blob *b = &s->queue[s->nqueue];
    memset(b, 0, sizeof(*b));
    if (err == CF_OK && blob_set(b, p, len) != CF_OK)
        return CF_ERR_NOMEM;
    b->err = err;
    s->nqueue++;
    return CF_OK;
}

static cf_err_t script_transmit(cf_transport_t *t, const uint8_t *cmd, size_t len, uint8_t *resp,
                                size_t cap, size_t *resp_len)
{
    struct script *s = t->impl;
    if (s->nsent == s->sentcap) {
        size_t ncap = s->sentcap ? 2 * s->sentcap : 16;
        struct blob *n = realloc(s->sent, ncap * sizeof(*n));
        if (n == NULL)
            return cf_transport_fail(t, CF_ERR_NOMEM, "out of memory");
        s->sent = n;
        s->sentcap = ncap;
    }
    if (blob_set(&s->sent[s->nsent], cmd, len) != CF_OK)
        return cf_transport_fail(t, CF_ERR_NOMEM, "out of memory");
    s->nsent++;

    const struct blob *a;
    if (s->head < s->nqueue)
        a = &s->queue[s->head++];
    else if (s->repeat.p != NULL)
        a = &s->repeat;
    else
        return cf_transport_fail(t, CF_ERR_TRANSPORT, "script has no more answers");
    if (a->err != CF_OK)
        return cf_transport_fail(t, a->err, "scripted failure (%s)", cf_errname(a->err));
    if (a->len > cap)
        return cf_transport_fail(t, CF_ERR_TRANSPORT, "scripted answer too long");
    if (a->len > 0)
        memcpy(resp, a->p, a->len);
    *resp_len = a->len;
    return CF_OK;
}

static cf_err_t script_reset(cf_transport_t *t)
{
    struct script *s = t->impl;
    s->resets++;
    return CF_OK;
}

static cf_err_t script_begin(cf_transport_t *t)
{
    struct script *s = t->impl;
    s->transactions++;
    return CF_OK;
}

static cf_err_t script_end(cf_transport_t *t)
{
    (void)t;
    return CF_OK;
}

static void script_close(cf_transport_t *t, cf_disposition_t how)
{
    (void)how;
    struct script *s = t->impl;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nqueue; i++)
        blob_free(&s->queue[i]);
    for (size_t i = 0; i < s->nsent; i++)
        blob_free(&s->sent[i]);
    blob_free(&s->repeat);
    free(s->queue);
    free(s->sent);
    free(s);
    t->impl = NULL;
}

static const struct cf_transport_ops script_ops = {
    .kind = "script",
    .transmit = script_transmit,
    .reset = script_reset,
    .begin = script_begin,
    .end = script_end,
    .close = script_close,
};

cf_err_t cf_script_open(const char *reader_name, cf_transport_t **out)
{
    static const uint8_t atr[] = {0x3b, 0x80, 0x80, 0x01, 0x01};
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (reader_name == NULL)
        return CF_ERR_ARG;
    cf_transport_t *t;
    cf_err_t err = cf_transport_alloc(&script_ops, reader_name, &t);
    if (err != CF_OK)
        return err;
    t->impl = calloc(1, sizeof(struct script));
    if (t->impl == NULL) {
        cf_transport_dealloc(t);
        return CF_ERR_NOMEM;
    }
    cf_transport_set_atr(t, atr, sizeof(atr));
    *out = t;
    return CF_OK;
}

cf_err_t cf_script_answer(cf_transport_t *t, const uint8_t *resp, size_t len)
{
    struct script *s = impl(t);
    if (s == NULL || (len > 0 && resp == NULL) || len > CF_SIMCARD_MAX_RESPONSE)
        return CF_ERR_ARG;
    return push(s, resp, len, CF_OK);
}

cf_err_t cf_script_answer_hex(cf_transport_t *t, const char *hex)
{
    if (hex == NULL)
        return CF_ERR_ARG;
    size_t n = strlen(hex);
    char *digits = malloc(n + 1);
    uint8_t *bytes = malloc(n / 2 + 1);
    cf_err_t err = CF_ERR_NOMEM;
    if (digits != NULL && bytes != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!isspace((unsigned char)hex[i]))
                digits[k++] = hex[i];
        err = cf_hex_decode(digits, k, bytes, n / 2 + 1);
        if (err == CF_OK)
            err = cf_script_answer(t, bytes, k / 2);
        else
            err = CF_ERR_ARG;
    }
    free(digits);
    free(bytes);
    return err;
}

cf_err_t cf_script_fail(cf_transport_t *t, cf_err_t err)
{
    struct script *s = impl(t);
    if (s == NULL || err == CF_OK)
        return CF_ERR_ARG;
    return push(s, NULL, 0, err);
}

cf_err_t cf_script_repeat(cf_transport_t *t, const uint8_t *resp, size_t len)
{
    struct script *s = impl(t);
    if (s == NULL || (len > 0 && resp == NULL) || len > CF_SIMCARD_MAX_RESPONSE)
        return CF_ERR_ARG;
    blob_free(&s->repeat);
    if (len == 0)
        return CF_OK;
    return blob_set(&s->repeat, resp, len);
}

size_t cf_script_sent_count(const cf_transport_t *t)
{
    const struct script *s = impl(t);
    return s ? s->nsent : 0;
}

const uint8_t *cf_script_sent(const cf_transport_t *t, size_t i, size_t *len)
{
    const struct script *s = impl(t);
    if (s == NULL || i >= s->nsent) {
        *len = 0;
        return NULL;
    }
    *len = s->sent[i].len;
    return s->sent[i].p;
}

size_t cf_script_pending(const cf_transport_t *t)
{
    const struct script *s = impl(t);
    return s ? s->nqueue - s->head : 0;
}

unsigned cf_script_resets(const cf_transport_t *t)
{
    const struct script *s = impl(t);
    return s ? s->resets : 0;
}

unsigned cf_script_transactions(const cf_transport_t *t)
{
    const struct script *s = impl(t);
    return s ? s->transactions : 0;
}
