/*
 * jbuf.c - JSON line building: the escaper and the small formatters.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "journal/jbuf.h"
#include "util/utf8.h"

void cf_jbuf_init(cf_jbuf *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->overflow = 0;
    b->need_comma = 0;
}

void cf_jbuf_raw(cf_jbuf *b, const char *s, size_t n)
{
    if (b->overflow)
        return;
    if (n > b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_c(cf_jbuf *b, char c)
{
    cf_jbuf_raw(b, &c, 1);
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (n >= 1), 0 when the
 * first byte does not start one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t want;
    if (s[0] < 0x80)
        want = 1;
    else if (s[0] >= 0xC2 && s[0] <= 0xDF)
        want = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        want = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        want = 4;
    else
        return 0;
    if (want > n || cf_utf8_check(s, want, NULL) != CF_UTF8_OK)
        return 0;
    return want;
}

void cf_jbuf_str(cf_jbuf *b, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    put_c(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            cf_jbuf_raw(b, e, 2);
            i++;
        } else if (c == '\n') {
            cf_jbuf_raw(b, "\\n", 2);
            i++;
        } else if (c == '\r') {
            cf_jbuf_raw(b, "\\r", 2);
            i++;
        } else if (c == '\t') {
            cf_jbuf_raw(b, "\\t", 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
            cf_jbuf_raw(b, e, 6);
            i++;
        } else if (c < 0x80) {
            put_c(b, (char)c);
            i++;
        } else {
            size_t k = utf8_seq_len(u + i, n - i);
            if (k == 0) {
                cf_jbuf_raw(b, "\\ufffd", 6);
                i++;
            } else {
                cf_jbuf_raw(b, s + i, k);
                i += k;
            }
        }
    }
    put_c(b, '"');
}

void cf_jbuf_open_obj(cf_jbuf *b)
{
    put_c(b, '{');
    b->need_comma = 0;
}

void cf_jbuf_close_obj(cf_jbuf *b)
{
    put_c(b, '}');
    b->need_comma = 1;
}

void cf_jbuf_open_arr(cf_jbuf *b)
{
    put_c(b, '[');
    b->need_comma = 0;
}

void cf_jbuf_close_arr(cf_jbuf *b)
{
    put_c(b, ']');
    b->need_comma = 1;
}

void cf_jbuf_elem(cf_jbuf *b)
{
    if (b->need_comma)
        put_c(b, ',');
    b->need_comma = 0;
}

void cf_jbuf_elem_str(cf_jbuf *b, const char *s)
{
    cf_jbuf_elem(b);
    cf_jbuf_str(b, s ? s : "", s ? strlen(s) : 0);
    b->need_comma = 1;
}

void cf_jbuf_key(cf_jbuf *b, const char *key)
{
    if (b->need_comma)
        put_c(b, ',');
    cf_jbuf_str(b, key, strlen(key));
    put_c(b, ':');
    b->need_comma = 1;
}

void cf_jbuf_kv_str(cf_jbuf *b, const char *key, const char *val)
{
    cf_jbuf_key(b, key);
    if (val == NULL)
        val = "";
    cf_jbuf_str(b, val, strlen(val));
}

void cf_jbuf_kv_u64(cf_jbuf *b, const char *key, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
    cf_jbuf_key(b, key);
    cf_jbuf_raw(b, t, (size_t)n);
}

void cf_jbuf_kv_i64(cf_jbuf *b, const char *key, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%lld", (long long)v);
    cf_jbuf_key(b, key);
    cf_jbuf_raw(b, t, (size_t)n);
}

void cf_jbuf_kv_ms(cf_jbuf *b, const char *key, double v)
{
    char t[48];
    if (!isfinite(v) || v < 0 || v > 1e15)
        v = 0;
    int n = snprintf(t, sizeof(t), "%.1f", v);
    cf_jbuf_key(b, key);
    cf_jbuf_raw(b, t, (size_t)n);
}

void cf_jbuf_kv_bool(cf_jbuf *b, const char *key, int v)
{
    cf_jbuf_key(b, key);
    if (v)
        cf_jbuf_raw(b, "true", 4);
    else
        cf_jbuf_raw(b, "false", 5);
}

void cf_jbuf_kv_time(cf_jbuf *b, const char *key, int64_t epoch_ms)
{
    char t[32];
    cf_journal_format_time(epoch_ms, t);
    cf_jbuf_kv_str(b, key, t);
}

void cf_journal_format_time(int64_t epoch_ms, char out[32])
{
    if (epoch_ms < 0)
        epoch_ms = 0;
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL || tm.tm_year + 1900 > 9999) {
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    /* Fields are in range after the year check; the wide buffer only keeps
     * the compiler's truncation analysis quiet. */
    char wide[96];
    int n = snprintf(wide, sizeof(wide), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(epoch_ms % 1000));
    if (n < 0 || n >= 32)
        n = 0;
    memcpy(out, wide, (size_t)n);
    out[n] = '\0';
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int cf_journal_parse_time(const char *s, int64_t *epoch_ms)
{
    /* YYYY-MM-DDTHH:MM:SS.mmmZ: exactly 24 characters. */
    int y, mo, d, h, mi, se, ms;
    if (strlen(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.' || s[23] != 'Z')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se) ||
        digits(s + 20, 3, &ms))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *epoch_ms = (int64_t)t * 1000 + ms;
    return 0;
}
