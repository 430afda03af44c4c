/*
 * trace.h - writing APDU trace lines (internal; the sink is public).
 *
 * The core calls these with the raw bytes and says which of them are
 * secret; this file alone decides how bytes become text, so redaction is
 * done in one place: a secret byte is never formatted, only "**" is.
 */
#ifndef CF_TRANSPORT_TRACE_H
#define CF_TRANSPORT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/transport.h>

/* "TIME reader 'R' > XX XX ** ** XX": p[0..n), with p[lo..hi) as "**". */
void cf_trace_command(cf_trace_t *tr, const char *reader, const uint8_t *p, size_t n, size_t lo,
                      size_t hi);

/* "TIME reader 'R' < XX XX 90 00 (1.2 ms)": p[0..n) ends with SW1 SW2; the
 * bytes before it are "**" when secret. */
void cf_trace_response(cf_trace_t *tr, const char *reader, const uint8_t *p, size_t n, int secret,
                       double ms);

/* "TIME reader 'R' TEXT" for events and errors. The text must not hold
 * secrets (callers pass fixed strings and error messages). */
void cf_trace_note(cf_trace_t *tr, const char *reader, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
