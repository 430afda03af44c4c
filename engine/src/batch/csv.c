/*
 * csv.c - the streaming RFC 4180 reader behind batch.h.
 *
 * The parser is a resumable state machine over the byte window of a
 * cf_csv_input: it consumes whatever the window holds, keeps its state in
 * the reader when the window runs dry, and continues after the refill, so
 * a record may straddle any number of refills and nothing but one record
 * is ever held. Runs of ordinary bytes are found with a table lookup and
 * copied with one memcpy, which keeps a million short records well under a
 * second.
 *
 * The reader owns two fixed buffers: the input buffer (csv_input.c) and the
 * record buffer, where the fields of the current record are unquoted and
 * stored NUL-terminated one after another. Both are wiped before reuse and
 * on free because a batch carries PINs and keys.
 *
 * Error recovery: the first problem in a record is reported with the line
 * it is on; from then on the record is still parsed by the normal quoting
 * rules (so a quoted newline further on does not look like a record end)
 * but nothing more is stored or reported, and the next call starts at the
 * next record. A record whose quote never closes runs to the end of the
 * file; that is reported at the line of the opening quote.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cardforge/batch.h>
#include <cardforge/secret.h>

#include "batch/csv_input.h"
#include "batch/csv_internal.h"
#include "batch/utf8.h"

/* Longest column name quoted in a message; longer ones are named by number. */
#define NAME_IN_MESSAGE_MAX 64

enum state {
    ST_FIELD_START,   /* before the first byte of a field */
    ST_UNQUOTED,      /* inside a field that did not start with a quote */
    ST_QUOTED,        /* inside a quoted field */
    ST_QUOTE_QUOTED,  /* a quote inside a quoted field: "" or the end */
    ST_CR,            /* a CR outside quotes: must be followed by LF */
};

/* Result of parsing one record. */
enum pr {
    PR_MORE,   /* window consumed, record not finished */
    PR_RECORD, /* a record ended (r->bad says whether it is well-formed) */
    PR_BLANK,  /* an empty line where a record should start */
    PR_EOF,    /* end of input before any byte of a record */
    PR_IO,     /* a read failed */
};

struct span {
    size_t off, len;
};

struct cf_csv_record {
    size_t index;
    unsigned long line;
    size_t nfields;
    const struct span *fields;
    const char *buf;
};

struct cf_csv {
    char *name;
    cf_diag_list_t *diags; /* borrowed */
    cf_csv_input in;
    int fd, own_fd;
    int fd_ctx; /* the descriptor cf_csv_read_fd reads */
    int io_failed;
    unsigned long line;   /* physical line of the next unread byte */
    size_t records;       /* data records started so far */

    /* header, kept for the reader's lifetime */
    size_t ncols;
    char *hdr_buf;
    struct span hdr[CF_CSV_MAX_COLUMNS];

    /* the record being parsed */
    int is_header;
    enum state st;
    int bad;      /* a problem was reported: store and report nothing more */
    int overflow; /* more fields than columns: count, do not store */
    int started;  /* a byte other than a line end has been seen */
    size_t index;
    unsigned long rec_line, field_line, quote_line;
    size_t nfields;
    size_t field_off, field_len, rec_len;
    uint8_t *rbuf; /* CF_CSV_MAX_RECORD + one NUL per column */
    size_t rused;
    struct span fields[CF_CSV_MAX_COLUMNS];
    cf_csv_record_t rec;
};

/* Bytes that end a run of an unquoted field. */
static const uint8_t unquoted_stop[256] = {
    ['\n'] = 1, ['\r'] = 1, [','] = 1, ['"'] = 1,
};

static const size_t rbuf_size = CF_CSV_MAX_RECORD + CF_CSV_MAX_COLUMNS + 1;

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

/* A column name is quoted in messages only when it is short and printable:
 * a header is not secret, but it could hold control characters. */
static int name_is_printable(const char *s, size_t len)
{
    if (len == 0 || len > NAME_IN_MESSAGE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"')
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
    if (!name_is_printable(name, len))
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

static enum pr end_record(cf_csv_t *r)
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
static enum pr line_end(cf_csv_t *r)
{
    r->line++;
    if (!r->started)
        return PR_BLANK;
    end_field(r);
    return end_record(r);
}

/* Consume bytes of p[0..n) from *ip on. PR_MORE when the window ran out. */
static enum pr step(cf_csv_t *r, const uint8_t *p, size_t n, size_t *ip)
{
    size_t i = *ip;
    enum pr res = PR_MORE;
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
static enum pr at_eof(cf_csv_t *r)
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

static enum pr read_failed(cf_csv_t *r)
{
    r->io_failed = 1;
    cf_diag_add(r->diags, CF_SEV_ERROR, r->name, r->line, "read error: %s",
                strerror(errno));
    return PR_IO;
}

static enum pr parse_record(cf_csv_t *r)
{
    begin_record(r);
    for (;;) {
        size_t avail;
        if (cf_csv_input_ensure(&r->in, 1, &avail) < 0)
            return read_failed(r);
        if (avail == 0)
            return at_eof(r);
        size_t used = 0;
        enum pr res = step(r, r->in.win + r->in.pos, avail, &used);
        r->in.pos += used;
        if (res != PR_MORE)
            return res;
    }
}

/* Skip empty lines (LF or CR LF). *count gets how many; -1 on read error. */
static int skip_blank_lines(cf_csv_t *r, unsigned long *count)
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

/* ---- header ------------------------------------------------------------ */

/* Validate the names just parsed and keep a copy. CF_OK or CF_ERR_PARSE. */
static cf_err_t take_header(cf_csv_t *r)
{
    const char *buf = (const char *)r->rbuf;
    int bad = 0;
    for (size_t i = 0; i < r->nfields; i++) {
        const char *name = buf + r->fields[i].off;
        size_t len = r->fields[i].len;
        if (len == 0) {
            cf_diag_add(r->diags, CF_SEV_ERROR, r->name, r->rec_line,
                        "header column %zu has an empty name; give every "
                        "column a name",
                        i + 1);
            bad = 1;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if (r->fields[j].len == len && memcmp(buf + r->fields[j].off, name, len) == 0) {
                cf_diag_add(r->diags, CF_SEV_ERROR, r->name, r->rec_line,
                            "header column %zu has the same name as column %zu; "
                            "column names must be unique",
                            i + 1, j + 1);
                bad = 1;
                break;
            }
        }
        if (name[0] == ' ' || name[0] == '\t' || name[len - 1] == ' ' ||
            name[len - 1] == '\t')
            cf_diag_add(r->diags, CF_SEV_WARNING, r->name, r->rec_line,
                        "header column %zu has a name that starts or ends with "
                        "a space; names are matched exactly, spaces included",
                        i + 1);
    }
    if (bad)
        return CF_ERR_PARSE;
    r->hdr_buf = malloc(r->rused);
    if (r->hdr_buf == NULL)
        return CF_ERR_NOMEM;
    memcpy(r->hdr_buf, r->rbuf, r->rused);
    memcpy(r->hdr, r->fields, r->nfields * sizeof(r->hdr[0]));
    r->ncols = r->nfields;
    return CF_OK;
}

static cf_err_t read_header(cf_csv_t *r)
{
    size_t avail;
    if (cf_csv_input_ensure(&r->in, 3, &avail) < 0) {
        read_failed(r);
        return CF_ERR_IO;
    }
    /* A UTF-8 byte order mark, written by some spreadsheet exports. */
    if (avail >= 3 && memcmp(r->in.win + r->in.pos, "\xef\xbb\xbf", 3) == 0)
        r->in.pos += 3;
    if (cf_csv_input_ensure(&r->in, 1, &avail) < 0) {
        read_failed(r);
        return CF_ERR_IO;
    }
    if (avail == 0) {
        cf_diag_add(r->diags, CF_SEV_ERROR, r->name, 1,
                    "the file is empty; the first line must be a header row "
                    "naming the columns");
        return CF_ERR_PARSE;
    }
    r->is_header = 1;
    enum pr res = parse_record(r);
    r->is_header = 0;
    switch (res) {
    case PR_IO:
        return CF_ERR_IO;
    case PR_BLANK:
    case PR_EOF:
        cf_diag_add(r->diags, CF_SEV_ERROR, r->name, 1,
                    "line 1 is blank; the first line must be a header row "
                    "naming the columns");
        return CF_ERR_PARSE;
    case PR_MORE:
    case PR_RECORD:
        break;
    }
    if (r->bad)
        return CF_ERR_PARSE;
    return take_header(r);
}

/* ---- public API -------------------------------------------------------- */

static cf_err_t reader_new(const char *name, cf_diag_list_t *diags, cf_csv_t **out)
{
    cf_csv_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return CF_ERR_NOMEM;
    r->fd = -1;
    r->diags = diags;
    r->line = 1;
    r->name = strdup(name);
    r->rbuf = malloc(rbuf_size);
    if (r->name == NULL || r->rbuf == NULL) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    *out = r;
    return CF_OK;
}

/* Read the header of a reader whose input is set up; frees it on failure. */
static cf_err_t finish_open(cf_csv_t *r, cf_csv_t **out)
{
    cf_err_t err = read_header(r);
    if (err != CF_OK) {
        cf_csv_free(r);
        return err;
    }
    *out = r;
    return CF_OK;
}

cf_err_t cf_csv_open_reader(const char *name, cf_csv_read_fn fn, void *ctx,
                            size_t bufsize, cf_diag_list_t *diags, cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (fn == NULL)
        return CF_ERR_ARG;
    cf_csv_t *r;
    cf_err_t err = reader_new(name != NULL ? name : "<input>", diags, &r);
    if (err != CF_OK)
        return err;
    if (cf_csv_input_reader(&r->in, fn, ctx, bufsize) < 0) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    return finish_open(r, out);
}

cf_err_t cf_csv_open_fd(int fd, const char *name, cf_diag_list_t *diags,
                        cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (fd < 0)
        return CF_ERR_ARG;
    cf_csv_t *r;
    cf_err_t err = reader_new(name != NULL ? name : "<input>", diags, &r);
    if (err != CF_OK)
        return err;
    r->fd_ctx = fd;
    if (cf_csv_input_reader(&r->in, cf_csv_read_fd, &r->fd_ctx, CF_CSV_IOBUF_SIZE) < 0) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    return finish_open(r, out);
}

cf_err_t cf_csv_open(const char *path, cf_diag_list_t *diags, cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (path == NULL)
        return CF_ERR_ARG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot open the batch file: %s",
                    strerror(e));
        return e == ENOENT ? CF_ERR_NOT_FOUND : CF_ERR_IO;
    }
    cf_csv_t *r;
    cf_err_t err = reader_new(path, diags, &r);
    if (err != CF_OK) {
        close(fd);
        return err;
    }
    r->fd = fd;
    r->own_fd = 1;
    r->fd_ctx = fd;
    if (cf_csv_input_reader(&r->in, cf_csv_read_fd, &r->fd_ctx, CF_CSV_IOBUF_SIZE) < 0) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    return finish_open(r, out);
}

cf_err_t cf_csv_open_mem(const char *name, const uint8_t *data, size_t len,
                         cf_diag_list_t *diags, cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (data == NULL && len > 0)
        return CF_ERR_ARG;
    cf_csv_t *r;
    cf_err_t err = reader_new(name != NULL ? name : "<memory>", diags, &r);
    if (err != CF_OK)
        return err;
    cf_csv_input_mem(&r->in, data, len);
    return finish_open(r, out);
}

void cf_csv_free(cf_csv_t *r)
{
    if (r == NULL)
        return;
    if (r->rbuf != NULL) {
        cf_wipe(r->rbuf, rbuf_size);
        free(r->rbuf);
    }
    cf_csv_input_fini(&r->in);
    if (r->own_fd)
        close(r->fd);
    free(r->hdr_buf);
    free(r->name);
    free(r);
}

const char *cf_csv_name(const cf_csv_t *r)
{
    return r != NULL ? r->name : NULL;
}

size_t cf_csv_column_count(const cf_csv_t *r)
{
    return r != NULL ? r->ncols : 0;
}

const char *cf_csv_column_name(const cf_csv_t *r, size_t i)
{
    if (r == NULL || i >= r->ncols)
        return NULL;
    return r->hdr_buf + r->hdr[i].off;
}

long cf_csv_column_index(const cf_csv_t *r, const char *name)
{
    if (r == NULL || name == NULL)
        return -1;
    size_t len = strlen(name);
    for (size_t i = 0; i < r->ncols; i++)
        if (r->hdr[i].len == len && memcmp(r->hdr_buf + r->hdr[i].off, name, len) == 0)
            return (long)i;
    return -1;
}

cf_err_t cf_csv_next(cf_csv_t *r, const cf_csv_record_t **rec)
{
    if (rec != NULL)
        *rec = NULL;
    if (r == NULL || rec == NULL)
        return CF_ERR_ARG;
    /* The previous record's values are wiped whatever happens next. */
    cf_wipe(r->rbuf, r->rused);
    r->rused = 0;
    if (r->io_failed)
        return CF_ERR_IO;

    unsigned long first_blank = r->line, blanks;
    if (skip_blank_lines(r, &blanks) < 0) {
        read_failed(r);
        return CF_ERR_IO;
    }
    if (blanks > 0) {
        size_t avail;
        if (cf_csv_input_ensure(&r->in, 1, &avail) < 0) {
            read_failed(r);
            return CF_ERR_IO;
        }
        if (avail == 0) /* blank lines at the end of the file are harmless */
            return CF_OK;
        if (blanks == 1)
            cf_diag_add(r->diags, CF_SEV_ERROR, r->name, first_blank,
                        "blank line between records; remove it");
        else
            cf_diag_add(r->diags, CF_SEV_ERROR, r->name, first_blank,
                        "lines %lu-%lu are blank; remove the blank lines "
                        "between records",
                        first_blank, first_blank + blanks - 1);
        return CF_ERR_PARSE;
    }

    switch (parse_record(r)) {
    case PR_IO:
        return CF_ERR_IO;
    case PR_EOF:
        return CF_OK;
    case PR_BLANK: /* not reached: blank lines were skipped above */
    case PR_MORE:
        return CF_ERR_INTERNAL;
    case PR_RECORD:
        break;
    }
    r->records = r->index;
    if (r->bad)
        return CF_ERR_PARSE;
    r->rec.index = r->index;
    r->rec.line = r->rec_line;
    r->rec.nfields = r->nfields;
    r->rec.fields = r->fields;
    r->rec.buf = (const char *)r->rbuf;
    *rec = &r->rec;
    return CF_OK;
}

size_t cf_csv_record_index(const cf_csv_record_t *rec)
{
    return rec != NULL ? rec->index : 0;
}

unsigned long cf_csv_record_line(const cf_csv_record_t *rec)
{
    return rec != NULL ? rec->line : 0;
}

const char *cf_csv_field(const cf_csv_record_t *rec, size_t col, size_t *len)
{
    if (rec == NULL || col >= rec->nfields) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = rec->fields[col].len;
    return rec->buf + rec->fields[col].off;
}
