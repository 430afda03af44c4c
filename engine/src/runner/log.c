/*
 * log.c - the runner's log lines on their way to the caller's on_log hook.
 *
 * Why a queue and a thread: the runner logs from places that hold its lock
 * (a reader taken up, set aside, gone), and the caller's hook may call
 * back into the runner (the live panel of `cardforge run` takes a snapshot,
 * which takes the lock). Calling the hook there deadlocked a run at a
 * terminal. So cf_runner_log only queues the line, under a lock of its own
 * that nothing else nests; one thread hands the lines over in order, holding
 * no lock while the hook runs. A hook that is slow (a terminal scrolled
 * back) delays lines, never cards: past CF_RUNNER_LOG_MAX queued lines new
 * ones are counted and dropped, and the count is logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner_int.h"

#define CF_RUNNER_LOG_MAX 4096

struct log_line {
    struct log_line *next;
    char text[];
};

void cf_runner_log_init(struct cf_runner *r)
{
    pthread_mutex_init(&r->log_mu, NULL);
    pthread_cond_init(&r->log_cv, NULL);
}

void cf_runner_log(struct cf_runner *r, const char *fmt, ...)
{
    if (r->o.on_log == NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    size_t n = strlen(line) + 1;
    pthread_mutex_lock(&r->log_mu);
    struct log_line *l = r->log_n < CF_RUNNER_LOG_MAX ? malloc(sizeof(*l) + n) : NULL;
    if (l == NULL) {
        r->log_dropped++;
    } else {
        memcpy(l->text, line, n);
        l->next = NULL;
        if (r->log_tail != NULL)
            r->log_tail->next = l;
        else
            r->log_head = l;
        r->log_tail = l;
        r->log_n++;
    }
    pthread_cond_signal(&r->log_cv);
    pthread_mutex_unlock(&r->log_mu);
}

/* Take every queued line (and the dropped count) with log_mu held. */
static struct log_line *take_all(struct cf_runner *r, unsigned long *dropped)
{
    struct log_line *head = r->log_head;
    r->log_head = r->log_tail = NULL;
    r->log_n = 0;
    *dropped = r->log_dropped;
    r->log_dropped = 0;
    return head;
}

/* Hand lines to the hook; no lock is held. */
static void deliver(struct cf_runner *r, struct log_line *l, unsigned long dropped)
{
    while (l != NULL) {
        struct log_line *next = l->next;
        r->o.on_log(r->o.user, l->text);
        free(l);
        l = next;
    }
    if (dropped > 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%lu log lines dropped (the output did not keep up)", dropped);
        r->o.on_log(r->o.user, msg);
    }
}

static void *log_thread(void *arg)
{
    struct cf_runner *r = arg;
    pthread_mutex_lock(&r->log_mu);
    for (;;) {
        while (r->log_head == NULL && r->log_dropped == 0 && !r->log_stop)
            pthread_cond_wait(&r->log_cv, &r->log_mu);
        int stop = r->log_stop;
        unsigned long dropped;
        struct log_line *l = take_all(r, &dropped);
        pthread_mutex_unlock(&r->log_mu);
        if (r->o.on_log != NULL)
            deliver(r, l, dropped);
        pthread_mutex_lock(&r->log_mu);
        if (stop && r->log_head == NULL)
            break;
    }
    pthread_mutex_unlock(&r->log_mu);
    return NULL;
}

void cf_runner_log_start(struct cf_runner *r)
{
    if (r->o.on_log == NULL || r->log_live)
        return;
    r->log_stop = 0;
    if (pthread_create(&r->log_thread, NULL, log_thread, r) == 0)
        r->log_live = 1;
}

void cf_runner_log_stop(struct cf_runner *r)
{
    if (r->log_live) {
        pthread_mutex_lock(&r->log_mu);
        r->log_stop = 1;
        pthread_cond_signal(&r->log_cv);
        pthread_mutex_unlock(&r->log_mu);
        pthread_join(r->log_thread, NULL);
        r->log_live = 0;
    }
    /* Lines logged with no thread to carry them (before the run, or after
     * it): delivered here, where the caller holds no runner lock. */
    pthread_mutex_lock(&r->log_mu);
    unsigned long dropped;
    struct log_line *l = take_all(r, &dropped);
    pthread_mutex_unlock(&r->log_mu);
    if (r->o.on_log != NULL)
        deliver(r, l, dropped);
}

void cf_runner_log_free(struct cf_runner *r)
{
    cf_runner_log_stop(r);
    pthread_mutex_destroy(&r->log_mu);
    pthread_cond_destroy(&r->log_cv);
}
