/*
 * trace.c - the shared APDU trace sink.
 *
 * One sink serves every reader of a batch, so a line is written whole under
 * a mutex; the reader name on each line tells the readers apart. Lines are
 * flushed one by one: a trace is read after something went wrong, often
 * after a crash. Timestamps are UTC with milliseconds, comparable across
 * machines and with the journal.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "transport/trace.h"

struct cf_trace {
    FILE *out; /* borrowed */
    pthread_mutex_t lock;
};

cf_err_t cf_trace_new(FILE *out, cf_trace_t **tr)
{
    if (tr == NULL)
        return CF_ERR_ARG;
    *tr = NULL;
    if (out == NULL)
        return CF_ERR_ARG;
    cf_trace_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return CF_ERR_NOMEM;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return CF_ERR_NOMEM;
    }
    t->out = out;
    *tr = t;
    return CF_OK;
}

void cf_trace_free(cf_trace_t *tr)
{
    if (tr == NULL)
        return;
    pthread_mutex_destroy(&tr->lock);
    free(tr);
}

/* Start a line (lock held): "2025-01-31T12:00:00.123Z reader 'R' ". */
static void line_start(cf_trace_t *tr, const char *reader)
{
    struct timespec ts;
    struct tm tm;
    char when[32] = "";
    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(tr->out, "%s.%03ldZ reader '%s' ", when, ts.tv_nsec / 1000000, reader);
}

static void line_end(cf_trace_t *tr)
{
    fputc('\n', tr->out);
    fflush(tr->out);
}

/* Bytes p[0..n) as "XX XX", p[lo..hi) as "**". */
static void put_bytes(FILE *out, const uint8_t *p, size_t n, size_t lo, size_t hi)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputc(' ', out);
        if (i >= lo && i < hi) {
            fputs("**", out);
        } else {
            fputc(digits[p[i] >> 4], out);
            fputc(digits[p[i] & 0x0f], out);
        }
    }
}

void cf_trace_command(cf_trace_t *tr, const char *reader, const uint8_t *p, size_t n, size_t lo,
                      size_t hi)
{
    if (tr == NULL)
        return;
    pthread_mutex_lock(&tr->lock);
    line_start(tr, reader);
    fputs("> ", tr->out);
    put_bytes(tr->out, p, n, lo, hi);
    line_end(tr);
    pthread_mutex_unlock(&tr->lock);
}

void cf_trace_response(cf_trace_t *tr, const char *reader, const uint8_t *p, size_t n, int secret,
                       double ms)
{
    if (tr == NULL)
        return;
    size_t data = n >= 2 ? n - 2 : n;
    pthread_mutex_lock(&tr->lock);
    line_start(tr, reader);
    fputs("< ", tr->out);
    put_bytes(tr->out, p, n, 0, secret ? data : 0);
    fprintf(tr->out, " (%.1f ms)", ms);
    line_end(tr);
    pthread_mutex_unlock(&tr->lock);
}

void cf_trace_note(cf_trace_t *tr, const char *reader, const char *fmt, ...)
{
    if (tr == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&tr->lock);
    line_start(tr, reader);
    vfprintf(tr->out, fmt, ap);
    line_end(tr);
    pthread_mutex_unlock(&tr->lock);
    va_end(ap);
}
