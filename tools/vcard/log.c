/*
 * log.c - cardforge-vcard's stderr log.
 *
 * Quiet unless -v: a daemon started by a test harness should not fill the
 * test output. Lines carry a wall-clock time and the port, so the logs of
 * sixteen cards can be merged and read against pcscd's. What may be logged
 * is fixed by the callers' discipline: events, INS and SW, never APDU data
 * (PINs and keys travel in it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "vcard.h"

static int log_level;
static unsigned log_port;

void vcard_log_init(int verbose, uint16_t port)
{
    log_level = verbose;
    log_port = port;
}

static void emit(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void emit(const char *fmt, va_list ap)
{
    if (log_level == 0) {
        /* Not logging: an error is a plain message, like a usage error. */
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        fprintf(stderr, "cardforge-vcard: %s\n", msg);
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t t = tv.tv_sec;
    localtime_r(&t, &tm);
    char line[512];
    int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld cardforge-vcard[%u]: ",
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000), log_port);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void vcard_log(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void vcard_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}
