/*
 * jbuf.h - building one JSON line in a fixed buffer (internal).
 *
 * A journal line is formatted completely in memory and handed to write(2)
 * in one call, so a crash leaves either the whole line or a torn tail that
 * the reader recognises. The buffer has a fixed capacity (the longest line
 * the reader accepts); every append is bounds-checked and a line that does
 * not fit sets the sticky overflow flag instead of being cut, like
 * util/cursor.h's writer. Strings are escaped here and only here: quotes,
 * backslashes and control characters are escaped, valid UTF-8 passes
 * through, and every byte that is not part of a well-formed UTF-8 sequence
 * becomes U+FFFD, so the line is always valid JSON in valid UTF-8 whatever
 * a reader name or card message holds.
 */
#ifndef CF_JOURNAL_JBUF_H
#define CF_JOURNAL_JBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cf_jbuf {
    char *p;
    size_t cap;
    size_t len;
    int overflow;
    int need_comma; /* a member was written at the current object level */
} cf_jbuf;

/* Over caller-owned storage p[0..cap). */
void cf_jbuf_init(cf_jbuf *b, char *p, size_t cap);

void cf_jbuf_raw(cf_jbuf *b, const char *s, size_t n);
/* The JSON string literal of s[0..n), quotes included. */
void cf_jbuf_str(cf_jbuf *b, const char *s, size_t n);

/* Objects and arrays: cf_jbuf_key writes the separating comma when needed
 * and "key":. Nested containers reset the comma state; cf_jbuf_close_*
 * marks the enclosing level as having a member. */
void cf_jbuf_open_obj(cf_jbuf *b);
void cf_jbuf_close_obj(cf_jbuf *b);
void cf_jbuf_open_arr(cf_jbuf *b);
void cf_jbuf_close_arr(cf_jbuf *b);
void cf_jbuf_key(cf_jbuf *b, const char *key);
/* An array element separator (before every element but the first). */
void cf_jbuf_elem(cf_jbuf *b);
/* A string array element, separator included (NULL is written as ""). */
void cf_jbuf_elem_str(cf_jbuf *b, const char *s);

/* Members: key and value. NULL strings are written as "". */
void cf_jbuf_kv_str(cf_jbuf *b, const char *key, const char *val);
void cf_jbuf_kv_u64(cf_jbuf *b, const char *key, uint64_t v);
void cf_jbuf_kv_i64(cf_jbuf *b, const char *key, int64_t v);
/* A duration or rate with 1 decimal; non-finite values are written as 0. */
void cf_jbuf_kv_ms(cf_jbuf *b, const char *key, double v);
void cf_jbuf_kv_bool(cf_jbuf *b, const char *key, int v);
/* A UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" from milliseconds since the
 * epoch. */
void cf_jbuf_kv_time(cf_jbuf *b, const char *key, int64_t epoch_ms);

/* Format epoch_ms into out (at least 25 bytes). */
void cf_journal_format_time(int64_t epoch_ms, char out[32]);
/* Parse that exact form back; -1 when s is not one. */
int cf_journal_parse_time(const char *s, int64_t *epoch_ms);

#endif
