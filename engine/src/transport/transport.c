/*
 * transport.c - the backend-independent part of a card connection.
 *
 * cf_transport_transmit turns one logical command into the raw exchanges
 * ISO 7816-4 asks for with short APDUs: command chaining for data over 255
 * bytes, a resend for 6Cxx, and GET RESPONSE rounds for 61xx. Every raw
 * exchange goes through exchange(), which counts it, traces it with its
 * redaction and wipes the raw buffers afterwards, so no path can forget.
 *
 * Bounds: the response is collected into a fixed 64 KiB buffer, and GET
 * RESPONSE rounds are capped, because the card is on the other side of the
 * trust boundary: a card that answers 61xx forever, or more data than any
 * command needs, gets CF_ERR_BAD_RESPONSE, not a loop or an allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cardforge/secret.h>

#include "transport/trace.h"
#include "transport/transport_int.h"

#define LINK_MAX 255 /* command data bytes per short APDU */

/* ---- life cycle ---- */

static char *printable_copy(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        return NULL;
    for (char *p = d; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\'')
            *p = '?';
    return d;
}

cf_err_t cf_transport_alloc(const struct cf_transport_ops *ops, const char *reader,
                            cf_transport_t **out)
{
    *out = NULL;
    cf_transport_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return CF_ERR_NOMEM;
    t->ops = ops;
    t->protocol = -1;
    t->reader = strdup(reader);
    t->display = printable_copy(reader);
    t->raw = malloc(CF_RAW_RESPONSE_CAP);
    t->resp = malloc(CF_TRANSPORT_MAX_RESPONSE);
    if (t->reader == NULL || t->display == NULL || t->raw == NULL || t->resp == NULL) {
        cf_transport_dealloc(t);
        return CF_ERR_NOMEM;
    }
    *out = t;
    return CF_OK;
}

void cf_transport_dealloc(cf_transport_t *t)
{
    if (t == NULL)
        return;
    cf_wipe(t->cmd, sizeof(t->cmd));
    if (t->raw != NULL)
        cf_wipe(t->raw, CF_RAW_RESPONSE_CAP);
    if (t->resp != NULL)
        cf_wipe(t->resp, CF_TRANSPORT_MAX_RESPONSE);
    free(t->raw);
    free(t->resp);
    free(t->reader);
    free(t->display);
    free(t);
}

void cf_transport_close(cf_transport_t *t, cf_disposition_t how)
{
    if (t == NULL)
        return;
    if (t->trace != NULL)
        cf_trace_note(t->trace, t->display, "closed (%s)",
                      how == CF_DISPOSE_RESET     ? "reset"
                      : how == CF_DISPOSE_UNPOWER ? "unpower"
                                                  : "leave");
    t->ops->close(t, how);
    cf_transport_dealloc(t);
}

cf_err_t cf_transport_fail(cf_transport_t *t, cf_err_t err, const char *fmt, ...)
{
    int n = snprintf(t->errmsg, sizeof(t->errmsg), "reader '%s': ", t->display);
    if (n < 0 || (size_t)n >= sizeof(t->errmsg))
        return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->errmsg + n, sizeof(t->errmsg) - (size_t)n, fmt, ap);
    va_end(ap);
    return err;
}

void cf_transport_copy_errmsg(const cf_transport_t *t, char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", t->errmsg);
}

void cf_transport_set_atr(cf_transport_t *t, const uint8_t *atr, size_t len)
{
    if (len > CF_ATR_MAX)
        len = CF_ATR_MAX;
    if (len > 0)
        memcpy(t->atr, atr, len);
    t->atr_len = len;
}

/* ---- accessors ---- */

void cf_transport_set_trace(cf_transport_t *t, cf_trace_t *tr)
{
    if (t == NULL)
        return;
    t->trace = tr;
    if (tr == NULL)
        return;
    /* Say what is on the other end, once: kind, protocol and ATR. */
    char atr[3 * CF_ATR_MAX + 1] = "";
    size_t off = 0;
    for (size_t i = 0; i < t->atr_len; i++)
        off += (size_t)snprintf(atr + off, sizeof(atr) - off, "%s%02X", i ? " " : "", t->atr[i]);
    if (t->protocol >= 0)
        cf_trace_note(tr, t->display, "%s T=%d, ATR %s", t->ops->kind, t->protocol, atr);
    else
        cf_trace_note(tr, t->display, "%s, ATR %s", t->ops->kind, atr);
}

const char *cf_transport_reader(const cf_transport_t *t)
{
    return t->reader;
}

const char *cf_transport_kind(const cf_transport_t *t)
{
    return t->ops->kind;
}

const uint8_t *cf_transport_atr(const cf_transport_t *t, size_t *len)
{
    *len = t->atr_len;
    return t->atr;
}

int cf_transport_protocol(const cf_transport_t *t)
{
    return t->protocol;
}

uint64_t cf_transport_apdu_count(const cf_transport_t *t)
{
    return t->apdus;
}

const char *cf_transport_errmsg(const cf_transport_t *t)
{
    return t->errmsg;
}

void cf_transport_wipe_response(cf_transport_t *t)
{
    if (t == NULL)
        return;
    cf_wipe(t->resp, t->resp_len);
    t->resp_len = 0;
}

/* ---- the operations backends implement ---- */

cf_err_t cf_transport_reset(cf_transport_t *t)
{
    if (t == NULL)
        return CF_ERR_ARG;
    t->errmsg[0] = 0;
    cf_transport_wipe_response(t);
    cf_err_t err = t->ops->reset(t);
    if (t->trace != NULL)
        cf_trace_note(t->trace, t->display, "%s", err == CF_OK ? "reset" : t->errmsg);
    return err;
}

cf_err_t cf_transport_begin(cf_transport_t *t)
{
    if (t == NULL)
        return CF_ERR_ARG;
    t->errmsg[0] = 0;
    return t->ops->begin(t);
}

cf_err_t cf_transport_end(cf_transport_t *t)
{
    if (t == NULL)
        return CF_ERR_ARG;
    t->errmsg[0] = 0;
    return t->ops->end(t);
}

/* ---- transmit ---- */

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* One raw exchange of t->cmd[0..len). t->cmd[lo..hi) is secret, and so is
 * the answer's data when resp_secret. On CF_OK the answer is in
 * t->raw[0..*rlen) with *rlen >= 2 and *sw set; the caller takes the data
 * and wipes t->raw. The command buffer is wiped here. */
static cf_err_t exchange(cf_transport_t *t, size_t len, size_t lo, size_t hi, int resp_secret,
                         size_t *rlen, uint16_t *sw)
{
    struct timespec t0, t1;
    *rlen = 0;
    if (t->trace != NULL)
        cf_trace_command(t->trace, t->display, t->cmd, len, lo, hi);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t->apdus++;
    cf_err_t err = t->ops->transmit(t, t->cmd, len, t->raw, CF_RAW_RESPONSE_CAP, rlen);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cf_wipe(t->cmd, len);
    if (err == CF_OK && *rlen > CF_RAW_RESPONSE_CAP)
        err = cf_transport_fail(t, CF_ERR_INTERNAL, "backend answered past its buffer");
    if (err == CF_OK && *rlen < 2) {
        if (t->trace != NULL)
            cf_trace_response(t->trace, t->display, t->raw, *rlen, resp_secret,
                              elapsed_ms(&t0, &t1));
        err = cf_transport_fail(t, CF_ERR_BAD_RESPONSE, "answer of %zu byte(s) has no status word",
                                *rlen);
    }
    if (err != CF_OK) {
        cf_wipe(t->raw, *rlen < CF_RAW_RESPONSE_CAP ? *rlen : CF_RAW_RESPONSE_CAP);
        *rlen = 0;
        if (t->trace != NULL)
            cf_trace_note(t->trace, t->display, "< error: %s (%.1f ms)", t->errmsg,
                          elapsed_ms(&t0, &t1));
        return err;
    }
    if (t->trace != NULL)
        cf_trace_response(t->trace, t->display, t->raw, *rlen, resp_secret, elapsed_ms(&t0, &t1));
    *sw = (uint16_t)(t->raw[*rlen - 2] << 8 | t->raw[*rlen - 1]);
    return CF_OK;
}

/* Append the answer's data (t->raw minus SW) to the response, then wipe the
 * raw answer either way. */
static cf_err_t take_data(cf_transport_t *t, size_t rlen)
{
    size_t n = rlen - 2;
    cf_err_t err = CF_OK;
    if (n > CF_TRANSPORT_MAX_RESPONSE - t->resp_len)
        err = cf_transport_fail(t, CF_ERR_BAD_RESPONSE, "response longer than %u bytes",
                                (unsigned)CF_TRANSPORT_MAX_RESPONSE);
    else if (n > 0)
        memcpy(t->resp + t->resp_len, t->raw, n);
    if (err == CF_OK)
        t->resp_len += n;
    cf_wipe(t->raw, rlen);
    return err;
}

/* Build a short APDU in t->cmd: header, then Lc and data when n > 0, then
 * Le when le > 0 (256 as 00). Returns the length. */
static size_t build(cf_transport_t *t, uint8_t cla, const cf_capdu_t *c, const uint8_t *data,
                    size_t n, size_t le)
{
    size_t len = 0;
    t->cmd[len++] = cla;
    t->cmd[len++] = c->ins;
    t->cmd[len++] = c->p1;
    t->cmd[len++] = c->p2;
    if (n > 0) {
        t->cmd[len++] = (uint8_t)n;
        memcpy(t->cmd + len, data, n);
        len += n;
    }
    if (le > 0)
        t->cmd[len++] = (uint8_t)(le == 256 ? 0 : le);
    return len;
}

/* The secret bytes of the command data, as a range [*lo, *hi) of data. */
static void secret_range(const cf_capdu_t *c, size_t *lo, size_t *hi)
{
    if (c->flags & CF_CAPDU_SECRET_DATA) {
        *lo = 0;
        *hi = c->len;
    } else {
        *lo = c->secret_off;
        *hi = c->secret_off + c->secret_len;
    }
}

/* The part of the secret range [slo, shi) inside the link data[off ..
 * off + n), as raw APDU offsets (the data starts at byte 5). */
static void link_redaction(size_t slo, size_t shi, size_t off, size_t n, size_t *lo, size_t *hi)
{
    size_t a = slo > off ? slo : off;
    size_t b = shi < off + n ? shi : off + n;
    if (a >= b) {
        *lo = *hi = 0;
        return;
    }
    *lo = 5 + (a - off);
    *hi = 5 + (b - off);
}

static cf_err_t check_capdu(cf_transport_t *t, const cf_capdu_t *c)
{
    if (c->len > CF_TRANSPORT_MAX_COMMAND)
        return cf_transport_fail(t, CF_ERR_ARG, "command data of %zu bytes (at most %u)", c->len,
                                 (unsigned)CF_TRANSPORT_MAX_COMMAND);
    if (c->len > 0 && c->data == NULL)
        return cf_transport_fail(t, CF_ERR_ARG, "command data missing");
    if (c->le > 256)
        return cf_transport_fail(t, CF_ERR_ARG, "Le %zu needs an extended APDU (not supported)",
                                 c->le);
    if (c->secret_off > c->len || c->secret_len > c->len - c->secret_off)
        return cf_transport_fail(t, CF_ERR_ARG, "secret range outside the command data");
    if (c->len > LINK_MAX && (c->cla & 0x10))
        return cf_transport_fail(t, CF_ERR_ARG,
                                 "CLA %02X already has the chaining bit; cannot chain %zu bytes",
                                 c->cla, c->len);
    return CF_OK;
}

/* Send the command, chained when long, and resend it once on 6Cxx. Leaves
 * the final answer's data in the response and its SW in *sw; *done is set
 * when a link was refused (no 61xx handling for that answer). */
static cf_err_t send_command(cf_transport_t *t, const cf_capdu_t *c, uint16_t *sw, int *done)
{
    int resp_secret = (c->flags & CF_CAPDU_SECRET_RESPONSE) != 0;
    size_t slo, shi, lo, hi, rlen, len;
    cf_err_t err;
    secret_range(c, &slo, &shi);
    *done = 0;

    size_t off = 0;
    while (c->len - off > LINK_MAX) {
        len = build(t, (uint8_t)(c->cla | 0x10), c, c->data + off, LINK_MAX, 0);
        link_redaction(slo, shi, off, LINK_MAX, &lo, &hi);
        err = exchange(t, len, lo, hi, resp_secret, &rlen, sw);
        if (err != CF_OK)
            return err;
        if (*sw != 0x9000) {
            *done = 1;
            return take_data(t, rlen);
        }
        cf_wipe(t->raw, rlen); /* data on a link's 9000 means nothing */
        off += LINK_MAX;
    }

    size_t n = c->len - off;
    link_redaction(slo, shi, off, n, &lo, &hi);
    len = build(t, c->cla, c, n > 0 ? c->data + off : NULL, n, c->le);
    err = exchange(t, len, lo, hi, resp_secret, &rlen, sw);
    if (err != CF_OK)
        return err;
    if ((*sw >> 8) == 0x6C && off == 0) {
        /* Wrong Le: SW2 is the length the card has (00 = 256). */
        size_t le = (*sw & 0xff) ? (*sw & 0xff) : 256;
        cf_wipe(t->raw, rlen);
        len = build(t, c->cla, c, n > 0 ? c->data : NULL, n, le);
        err = exchange(t, len, lo, hi, resp_secret, &rlen, sw);
        if (err != CF_OK)
            return err;
    }
    return take_data(t, rlen);
}

/* While the card says 61xx, fetch the rest with GET RESPONSE. */
static cf_err_t get_responses(cf_transport_t *t, const cf_capdu_t *c, uint16_t *sw)
{
    static const cf_capdu_t get_response = {.cla = 0x00, .ins = 0xC0, .p1 = 0x00, .p2 = 0x00};
    int resp_secret = (c->flags & CF_CAPDU_SECRET_RESPONSE) != 0;
    unsigned rounds = 0;
    size_t rlen;
    while ((*sw >> 8) == 0x61) {
        size_t le = (*sw & 0xff) ? (*sw & 0xff) : 256;
        int resent = 0;
        for (;;) {
            if (++rounds > CF_TRANSPORT_MAX_GET_RESPONSE)
                return cf_transport_fail(t, CF_ERR_BAD_RESPONSE,
                                         "card still answers %04X after %u GET RESPONSE", *sw,
                                         (unsigned)CF_TRANSPORT_MAX_GET_RESPONSE);
            size_t len = build(t, get_response.cla, &get_response, NULL, 0, le);
            cf_err_t err = exchange(t, len, 0, 0, resp_secret, &rlen, sw);
            if (err != CF_OK)
                return err;
            /* A T=0 card may correct the Le of GET RESPONSE itself. */
            if ((*sw >> 8) != 0x6C || resent)
                break;
            le = (*sw & 0xff) ? (*sw & 0xff) : 256;
            resent = 1;
            cf_wipe(t->raw, rlen);
        }
        cf_err_t err = take_data(t, rlen);
        if (err != CF_OK)
            return err;
    }
    return CF_OK;
}

cf_err_t cf_transport_transmit(cf_transport_t *t, const cf_capdu_t *cmd, cf_rapdu_t *resp)
{
    if (t == NULL || cmd == NULL || resp == NULL)
        return CF_ERR_ARG;
    t->errmsg[0] = 0;
    cf_transport_wipe_response(t);
    resp->data = t->resp;
    resp->len = 0;
    resp->sw = 0;

    cf_err_t err = check_capdu(t, cmd);
    if (err != CF_OK)
        return err;
    uint16_t sw = 0;
    int done;
    err = send_command(t, cmd, &sw, &done);
    if (err == CF_OK && !done)
        err = get_responses(t, cmd, &sw);
    if (err != CF_OK) {
        cf_transport_wipe_response(t);
        return err;
    }
    resp->len = t->resp_len;
    resp->sw = sw;
    return CF_OK;
}
