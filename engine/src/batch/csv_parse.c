/*
 * csv_parse.c - the RFC 4180 state machine of the batch CSV reader.
 *
 * The parser is resumable: it consumes whatever the input window holds,
 * keeps its state in the reader when the window runs dry, and continues
 * after the refill, so a record may straddle any number of refills and
 * nothing but one record is ever held. Runs of ordinary bytes are found
 * with a table lookup and copied with one memcpy, which keeps a million
 * short records well under a second. Every index is checked against the
 * window length and every copy against the fixed record buffer.
 *
 * Error recovery: the first problem in a record is reported with the line
 * it is on; from then on the record is still parsed by the normal quoting
 * rules (so a quoted newline further on does not look like a record end)
 * but nothing more is stored or reported, and the next call starts at the
 * next record. A record whose quote never closes runs to the end of the
 * file; that is reported at the line of the opening quote. Messages name
 * the record and column, never a value: values may be PINs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/secret.h>

#include "batch/csv_reader.h"
#include "util/utf8.h"

/* Bytes that end a run of an unquoted field. */
static const uint8_t unquoted_stop[256] = {
    ['\n'] = 1, ['\r'] = 1, [','] = 1, ['"'] = 1,
};

/* ---- messages ---------------------------------------------------------- */

/* Report the record's first problem at line; later ones are dropped. */
__attribute__((format(printf, 3, 4)))
static void record_error(cf_csv_t *r, unsigned long line, const char *fmt, ...)
{
    if (r->bad)
        return;
    r->bad = 1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cf_diag_add(r->diags, CF_SEV_ERROR, r->name, line, "%s", msg);
}

int cf_csv_name_printable(const char *s, size_t len)
{
    if (len == 0 || len > CF_CSV_NAME_IN_MESSAGE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"')
            return 0;
        /* C1 controls U+0080..U+009F, encoded C2 80..C2 9F */
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
            return 0;
    }
    return 1;
}

/* "record 14, column PIN" / "header column 3": where field col is. */
static void field_place(const cf_csv_t *r, size_t col, char *out, size_t cap)
{
    if (r->is_header) {
        snprintf(out, cap, "header column %zu", col + 1);
        return;
    }
    if (col >= r->ncols) {
        snprintf(out, cap, "record %zu, field %zu", r->index, col + 1);
        return;
    }
    const char *name = r->hdr_buf + r->hdr[col].off;
    size_t len = r->hdr[col].len;
    if (!cf_csv_name_printable(name, len))
        snprintf(out, cap, "record %zu, column %zu", r->index, col + 1);
    else if (memchr(name, ' ', len) != NULL)
        snprintf(out, cap, "record %zu, column \"%s\"", r->index, name);
    else
        snprintf(out, cap, "record %zu, column %s", r->index, name);
}

/* "record 14" / "the header": the record being parsed. */
static void record_place(const cf_csv_t *r, char *out, size_t cap)
{
    if (r->is_header)
        snprintf(out, cap, "the header");
    else
        snprintf(out, cap, "record %zu", r->index);
}

/* ---- building the record ----------------------------------------------- */

static int storing(const cf_csv_t *r)
{
    return !r->bad && !r->overflow;
}

static void begin_field(cf_csv_t *r)
{
    r->field_off = r->rused;
    r->field_len = 0;
    r->field_line = r->line;
    size_t cap = r->is_header ? CF_CSV_MAX_COLUMNS : r->ncols;
    if (r->nfields >= cap && !r->overflow) {
        r->overflow = 1;
        if (r->is_header)
            record_error(r, r->line,
                         "the header has more than %u columns; split the batch "
                         "or drop unused columns",
                         CF_CSV_MAX_COLUMNS);
    }
}

static void append(cf_csv_t *r, const uint8_t *s, size_t n)
{
    if (n == 0 || !storing(r))
        return;
    char where[160];
    if (n > CF_CSV_MAX_FIELD - r->field_len) {
        /* In a quoted field the likely cause is a missing closing quote. */
        int quoted = r->st == ST_QUOTED || r->st == ST_QUOTE_QUOTED;
        field_place(r, r->nfields, where, sizeof(where));
        record_error(r, r->field_line, "%s is longer than %u bytes%s", where,
                     CF_CSV_MAX_FIELD,
                     quoted ? " (is the quote that opens it on this line never "
                              "closed?)"
                            : "");
        return;
    }
    if (n > CF_CSV_MAX_RECORD - r->rec_len) {
        record_place(r, where, sizeof(where));
        record_error(r, r->rec_line,
                     "%s is longer than %u bytes (all fields together)", where,
                     CF_CSV_MAX_RECORD);
        return;
    }
    memcpy(r->rbuf + r->rused, s, n);
    r->rused += n;
    r->field_len += n;
    r->rec_len += n;
}

/* Line of byte off of the current field: its start plus the newlines
 * before off (only a quoted field has any). */
static unsigned long line_in_field(const cf_csv_t *r, size_t off)
{
    unsigned long line = r->field_line;
    const uint8_t *f = r->rbuf + r->field_off;
    for (size_t i = 0; i < off; i++)
        if (f[i] == '\n')
            line++;
    return line;
}

static void end_field(cf_csv_t *r)
{
    if (storing(r)) {
        size_t bad_off = 0;
        cf_utf8_result_t u = cf_utf8_check(r->rbuf + r->field_off, r->field_len, &bad_off);
        if (u != CF_UTF8_OK) {
            char where[160];
            field_place(r, r->nfields, where, sizeof(where));
            if (u == CF_UTF8_NUL)
                record_error(r, line_in_field(r, bad_off),
                             "%s contains a NUL byte; a batch file must be text",
                             where);
            else
                record_error(r, line_in_field(r, bad_off),
                             "%s contains bytes that are not valid UTF-8; save "
                             "the file as UTF-8",
                             where);
        }
    }
    if (storing(r)) {
        r->rbuf[r->rused++] = 0;
        r->fields[r->nfields].off = r->field_off;
        r->fields[r->nfields].len = r->field_len;
    }
    r->nfields++;
}

static enum cf_csv_pr end_record(cf_csv_t *r)
{
    if (!r->is_header && !r->bad && r->nfields != r->ncols)
        record_error(r, r->rec_line,
                     "record %zu has %zu field%s, the header has %zu", r->index,
                     r->nfields, r->nfields == 1 ? "" : "s", r->ncols);
    return PR_RECORD;
}

/* ---- the state machine ------------------------------------------------- */

static void begin_record(cf_csv_t *r)
{
    cf_wipe(r->rbuf, r->rused);
    r->rused = 0;
    r->rec_len = 0;
    r->nfields = 0;
    r->bad = 0;
    r->overflow = 0;
    r->started = 0;
    r->index = r->is_header ? 0 : r->records + 1;
    r->rec_line = r->line;
    r->st = ST_FIELD_START;
    begin_field(r);
}

static void next_field(cf_csv_t *r)
{
    end_field(r);
    begin_field(r);
    r->st = ST_FIELD_START;
}

/* A line end outside quotes: the record is complete, or it was blank. */
static enum cf_csv_pr line_end(cf_csv_t *r)
{
    r->line++;
    if (!r->started)
        return PR_BLANK;
    end_field(r);
    return end_record(r);
}

/* Consume bytes of p[0..n) from *ip on. PR_MORE when the window ran out. */
static enum cf_csv_pr step(cf_csv_t *r, const uint8_t *p, size_t n, size_t *ip)
{
    size_t i = *ip;
    enum cf_csv_pr res = PR_MORE;
    char where[160];

    while (i < n && res == PR_MORE) {
        uint8_t c = p[i];
        switch (r->st) {
        case ST_FIELD_START:
            if (c == '\r') {
                i++;
                r->st = ST_CR;
                break;
            }
            if (c == '\n') {
                i++;
                res = line_end(r);
                break;
            }
            r->started = 1;
            if (c == '"') {
                i++;
                r->quote_line = r->line;
                r->st = ST_QUOTED;
            } else if (c == ',') {
                i++;
                next_field(r);
            } else {
                r->st = ST_UNQUOTED;
            }
            break;

        case ST_UNQUOTED: {
            size_t s = i;
            while (i < n && !unquoted_stop[p[i]])
                i++;
            append(r, p + s, i - s);
            if (i == n)
                break;
            c = p[i++];
            if (c == ',') {
                next_field(r);
            } else if (c == '\n') {
                res = line_end(r);
            } else if (c == '\r') {
                r->st = ST_CR;
            } else {
                field_place(r, r->nfields, where, sizeof(where));
                record_error(r, r->line,
                             "%s has a quote inside an unquoted field; enclose "
                             "the whole field in quotes and double the quote (\"\")",
                             where);
            }
            break;
        }

        case ST_QUOTED: {
            size_t s = i;
            while (i < n && p[i] != '"') {
                if (p[i] == '\n')
                    r->line++;
                i++;
            }
            append(r, p + s, i - s);
            if (i < n) {
                i++;
                r->st = ST_QUOTE_QUOTED;
            }
            break;
        }

        case ST_QUOTE_QUOTED:
            if (c == '"') { /* "" stands for one quote */
                append(r, p + i, 1);
                i++;
                r->st = ST_QUOTED;
            } else if (c == ',') {
                i++;
                next_field(r);
            } else if (c == '\n') {
                i++;
                res = line_end(r);
            } else if (c == '\r') {
                i++;
                r->st = ST_CR;
            } else {
                /* Not consumed: the rest is skipped as an unquoted field. */
                field_place(r, r->nfields, where, sizeof(where));
                record_error(r, r->line,
                             "%s has characters after its closing quote; a quoted "
                             "field ends at the quote (write \"\" for a quote inside it)",
                             where);
                r->st = ST_UNQUOTED;
            }
            break;

        case ST_CR:
            if (c == '\n') {
                i++;
                res = line_end(r);
                break;
            }
            record_place(r, where, sizeof(where));
            record_error(r, r->line,
                         "%s has a carriage return not followed by a line feed; "
                         "lines must end with CRLF or LF",
                         where);
            r->started = 1;
            r->st = ST_UNQUOTED;
            break;
        }
    }
    *ip = i;
    return res;
}

/* End of input in the middle of (or before) a record. */
static enum cf_csv_pr at_eof(cf_csv_t *r)
{
    switch (r->st) {
    case ST_FIELD_START:
    case ST_CR: /* a last line ending in a lone CR is taken as ended */
        if (!r->started)
            return PR_EOF;
        break;
    case ST_QUOTED: {
        char where[160];
        field_place(r, r->nfields, where, sizeof(where));
        record_error(r, r->quote_line,
                     "%s has a quoted field that is never closed (its opening "
                     "quote is on this line); add the closing quote",
                     where);
        break;
    }
    case ST_UNQUOTED:
    case ST_QUOTE_QUOTED:
        break;
    }
    end_field(r);
    return end_record(r);
}

enum cf_csv_pr cf_csv_read_failed(cf_csv_t *r)
{
    r->io_failed = 1;
    cf_diag_add(r->diags, CF_SEV_ERROR, r->name, r->line, "read error: %s",
                strerror(errno));
    return PR_IO;
}

enum cf_csv_pr cf_csv_parse_record(cf_csv_t *r)
{
    begin_record(r);
    for (;;) {
        size_t avail;
        if (cf_csv_input_ensure(&r->in, 1, &avail) < 0)
            return cf_csv_read_failed(r);
        if (avail == 0)
            return at_eof(r);
        size_t used = 0;
        enum cf_csv_pr res = step(r, r->in.win + r->in.pos, avail, &used);
        r->in.pos += used;
        if (res != PR_MORE)
            return res;
    }
}

int cf_csv_skip_blank_lines(cf_csv_t *r, unsigned long *count)
{
    *count = 0;
    for (;;) {
        size_t avail;
        if (cf_csv_input_ensure(&r->in, 2, &avail) < 0)
            return -1;
        if (avail == 0)
            return 0;
        const uint8_t *p = r->in.win + r->in.pos;
        size_t eol;
        if (p[0] == '\n')
            eol = 1;
        else if (p[0] == '\r' && avail == 1) /* lone CR at the very end */
            eol = 1;
        else if (p[0] == '\r' && p[1] == '\n')
            eol = 2;
        else
            return 0;
        r->in.pos += eol;
        r->line++;
        (*count)++;
    }
}
