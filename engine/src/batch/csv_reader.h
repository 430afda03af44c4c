/*
 * csv_reader.h - the CSV reader's state, shared by its two halves (internal).
 *
 * csv_parse.c turns bytes into records (the state machine and its
 * messages); csv.c opens sources, checks the header and serves the public
 * API. Both work on struct cf_csv, defined here and nowhere else visible.
 *
 * Buffers: the reader owns the input buffer (csv_input.h) and rbuf, which
 * holds the current record's fields unquoted and NUL-terminated one after
 * another, described by fields[]. rbuf has room for CF_CSV_MAX_RECORD bytes
 * of values plus one NUL per column, so it never grows; rbuf[0..rused) is
 * wiped before the next record is parsed and the whole of it on free.
 */
#ifndef CF_BATCH_CSV_READER_H
#define CF_BATCH_CSV_READER_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/batch.h>
#include <cardforge/diag.h>

#include "batch/csv_input.h"

#define CF_CSV_RBUF_SIZE (CF_CSV_MAX_RECORD + CF_CSV_MAX_COLUMNS + 1)

enum cf_csv_state {
    ST_FIELD_START,  /* before the first byte of a field */
    ST_UNQUOTED,     /* inside a field that did not start with a quote */
    ST_QUOTED,       /* inside a quoted field */
    ST_QUOTE_QUOTED, /* a quote inside a quoted field: "" or the end */
    ST_CR,           /* a CR outside quotes: must be followed by LF */
};

/* Result of parsing one record. */
enum cf_csv_pr {
    PR_MORE,   /* window consumed, record not finished */
    PR_RECORD, /* a record ended (r->bad says whether it is well-formed) */
    PR_BLANK,  /* an empty line where a record should start */
    PR_EOF,    /* end of input before any byte of a record */
    PR_IO,     /* a read failed */
};

struct cf_csv_span {
    size_t off, len;
};

struct cf_csv_record {
    size_t index;
    unsigned long line;
    size_t nfields;
    const struct cf_csv_span *fields;
    const char *buf;
};

struct cf_csv {
    char *name;
    cf_diag_list_t *diags; /* borrowed */
    cf_csv_input in;
    int fd;     /* the descriptor a file source reads */
    int own_fd; /* opened by cf_csv_open: closed by cf_csv_free */
    int io_failed;
    unsigned long line; /* physical line of the next unread byte */
    size_t records;     /* data records started so far */

    /* header, kept for the reader's lifetime */
    size_t ncols;
    char *hdr_buf;
    struct cf_csv_span hdr[CF_CSV_MAX_COLUMNS];

    /* the record being parsed */
    int is_header;
    enum cf_csv_state st;
    int bad;      /* a problem was reported: store and report nothing more */
    int overflow; /* more fields than columns: count, do not store */
    int started;  /* a byte other than a line end has been seen */
    size_t index;
    unsigned long rec_line, field_line, quote_line;
    size_t nfields;
    size_t field_off, field_len, rec_len;
    uint8_t *rbuf; /* CF_CSV_RBUF_SIZE bytes */
    size_t rused;
    struct cf_csv_span fields[CF_CSV_MAX_COLUMNS];
    cf_csv_record_t rec;
};

/* Longest column name quoted in a message; longer ones are named by number. */
#define CF_CSV_NAME_IN_MESSAGE_MAX 64

/* 1 when a column name may be quoted in a message: short, and without
 * control characters or quotes (a header is not secret, but it could hold
 * bytes that garble a terminal). */
int cf_csv_name_printable(const char *s, size_t len);

/* Parse one record (the header when r->is_header) from the current
 * position. PR_RECORD leaves it in rbuf/fields, with r->bad set when it was
 * malformed and a diagnostic added. Never returns PR_MORE. */
enum cf_csv_pr cf_csv_parse_record(cf_csv_t *r);

/* Skip empty lines (LF or CR LF) before a record; *count gets how many.
 * 0, or -1 when a read failed (errno set). */
int cf_csv_skip_blank_lines(cf_csv_t *r, unsigned long *count);

/* Record a read failure (errno) as a diagnostic; makes the reader fail
 * from now on. Returns PR_IO. */
enum cf_csv_pr cf_csv_read_failed(cf_csv_t *r);

#endif
