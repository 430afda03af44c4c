/*
 * test_batch_csv.c - the streaming CSV reader of batch files (batch.h).
 *
 * Most tests feed a string through cf_csv_open_mem and assert the records,
 * or the diagnostic and its line. One test replays every input through
 * sources that deliver one or a few bytes per read and tiny buffers, so a
 * refill landing inside a quote, a CR LF or a UTF-8 sequence is covered;
 * another streams a million records through a pipe and checks that the
 * peak memory of the process does not move.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/batch.h>
#include <cardforge/diag.h>

#include "batch/csv_internal.h"
#include "util/utf8.h"

/* ---- helpers ------------------------------------------------------------ */

struct fixture {
    cf_diag_list_t *diags;
    cf_csv_t *csv;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    f->diags = cf_diag_list_new();
    *state = f;
    return f->diags == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cf_csv_free(f->csv);
    cf_diag_list_free(f->diags);
    free(f);
    return 0;
}

/* Open text (a C string) as "t.csv", expecting err. */
static void open_text(struct fixture *f, const char *text, cf_err_t want)
{
    cf_err_t err = cf_csv_open_mem("t.csv", (const uint8_t *)text, strlen(text),
                                   f->diags, &f->csv);
    if (err != want)
        cf_diag_print(f->diags, stderr);
    assert_int_equal(err, want);
    if (want == CF_OK)
        assert_non_null(f->csv);
    else
        assert_null(f->csv);
}

/* Next record must be well-formed; returns it. */
static const cf_csv_record_t *next_ok(struct fixture *f)
{
    const cf_csv_record_t *rec = (const cf_csv_record_t *)1;
    cf_err_t err = cf_csv_next(f->csv, &rec);
    if (err != CF_OK)
        cf_diag_print(f->diags, stderr);
    assert_int_equal(err, CF_OK);
    assert_non_null(rec);
    return rec;
}

static void next_bad(struct fixture *f)
{
    const cf_csv_record_t *rec = (const cf_csv_record_t *)1;
    assert_int_equal(cf_csv_next(f->csv, &rec), CF_ERR_PARSE);
    assert_null(rec);
}

static void next_eof(struct fixture *f)
{
    const cf_csv_record_t *rec = (const cf_csv_record_t *)1;
    assert_int_equal(cf_csv_next(f->csv, &rec), CF_OK);
    assert_null(rec);
}

static void assert_field(const cf_csv_record_t *rec, size_t col, const char *want)
{
    size_t len = 99;
    const char *v = cf_csv_field(rec, col, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
    assert_int_equal(v[len], '\0');
}

/* Diagnostic i is an error at line whose message contains text. */
static void assert_diag(struct fixture *f, size_t i, unsigned long line, const char *text)
{
    assert_true(cf_diag_count(f->diags) > i);
    assert_int_equal(cf_diag_severity(f->diags, i), CF_SEV_ERROR);
    assert_string_equal(cf_diag_file(f->diags, i), "t.csv");
    if (cf_diag_line(f->diags, i) != line || strstr(cf_diag_message(f->diags, i), text) == NULL)
        fprintf(stderr, "diag %zu: line %lu: %s\n", i, cf_diag_line(f->diags, i),
                cf_diag_message(f->diags, i));
    assert_int_equal(cf_diag_line(f->diags, i), line);
    assert_non_null(strstr(cf_diag_message(f->diags, i), text));
}

/* The input is rejected at open with one error at line containing text. */
static void assert_open_fails(struct fixture *f, const char *text_in, unsigned long line,
                              const char *msg)
{
    open_text(f, text_in, CF_ERR_PARSE);
    assert_diag(f, 0, line, msg);
}

/* A source that hands out at most chunk bytes per read, or fails with EIO
 * once fail_at bytes have been delivered (fail_at 0: never). */
struct chunked {
    const uint8_t *data;
    size_t len, pos, chunk, fail_at;
};

static ssize_t chunked_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct chunked *c = ctx;
    if (c->fail_at > 0 && c->pos >= c->fail_at) {
        errno = EIO;
        return -1;
    }
    size_t n = c->len - c->pos;
    if (n > c->chunk)
        n = c->chunk;
    if (n > cap)
        n = cap;
    memcpy(buf, c->data + c->pos, n);
    c->pos += n;
    return (ssize_t)n;
}

/* Everything a reader says about data, as text: columns, each result of
 * cf_csv_next with the record's index, line and fields, then every
 * diagnostic. chunk 0 reads from memory; otherwise through chunked_read. */
static char *transcript(const uint8_t *data, size_t len, size_t chunk, size_t bufsize)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp = open_memstream(&out, &outlen);
    assert_non_null(fp);
    cf_diag_list_t *diags = cf_diag_list_new();
    cf_csv_t *csv = NULL;
    struct chunked src = {data, len, 0, chunk, 0};
    cf_err_t err = chunk == 0
                       ? cf_csv_open_mem("t.csv", data, len, diags, &csv)
                       : cf_csv_open_reader("t.csv", chunked_read, &src, bufsize, diags, &csv);
    fprintf(fp, "open %d\n", err);
    if (err == CF_OK) {
        for (size_t i = 0; i < cf_csv_column_count(csv); i++)
            fprintf(fp, "col [%s]\n", cf_csv_column_name(csv, i));
        for (int guard = 0; guard < 10000; guard++) {
            const cf_csv_record_t *rec;
            err = cf_csv_next(csv, &rec);
            if (err == CF_OK && rec == NULL)
                break;
            fprintf(fp, "next %d", err);
            if (rec != NULL) {
                fprintf(fp, " #%zu line %lu", cf_csv_record_index(rec),
                        cf_csv_record_line(rec));
                for (size_t i = 0; i < cf_csv_column_count(csv); i++) {
                    size_t flen;
                    const char *v = cf_csv_field(rec, i, &flen);
                    fputs(" [", fp);
                    fwrite(v, 1, flen, fp);
                    fputs("]", fp);
                }
            }
            fputc('\n', fp);
            if (err != CF_OK && err != CF_ERR_PARSE)
                break;
        }
    }
    for (size_t i = 0; i < cf_diag_count(diags); i++)
        fprintf(fp, "diag %d %lu %s\n", cf_diag_severity(diags, i), cf_diag_line(diags, i),
                cf_diag_message(diags, i));
    cf_csv_free(csv);
    cf_diag_list_free(diags);
    fclose(fp);
    return out;
}

/* ---- well-formed input -------------------------------------------------- */

static void test_simple_records_give_fields_by_column(void **state)
{
    struct fixture *f = *state;
    open_text(f, "SERIAL,NAME,PIN\n0001,Ann,123456\n0002,Bob,654321\n", CF_OK);
    assert_string_equal(cf_csv_name(f->csv), "t.csv");
    assert_int_equal(cf_csv_column_count(f->csv), 3);
    assert_string_equal(cf_csv_column_name(f->csv, 0), "SERIAL");
    assert_string_equal(cf_csv_column_name(f->csv, 2), "PIN");
    assert_null(cf_csv_column_name(f->csv, 3));

    const cf_csv_record_t *rec = next_ok(f);
    assert_int_equal(cf_csv_record_index(rec), 1);
    assert_int_equal(cf_csv_record_line(rec), 2);
    assert_field(rec, 0, "0001");
    assert_field(rec, 1, "Ann");
    assert_field(rec, 2, "123456");
    size_t len = 7;
    assert_null(cf_csv_field(rec, 3, &len));
    assert_int_equal(len, 0);

    rec = next_ok(f);
    assert_int_equal(cf_csv_record_index(rec), 2);
    assert_int_equal(cf_csv_record_line(rec), 3);
    assert_field(rec, 1, "Bob");
    next_eof(f);
    next_eof(f); /* end of file is sticky */
    assert_int_equal(cf_diag_count(f->diags), 0);
}

static void test_column_index_is_exact_and_case_sensitive(void **state)
{
    struct fixture *f = *state;
    open_text(f, "PIN,pin,PUK\n1,2,3\n", CF_OK);
    assert_int_equal(cf_csv_column_index(f->csv, "PIN"), 0);
    assert_int_equal(cf_csv_column_index(f->csv, "pin"), 1);
    assert_int_equal(cf_csv_column_index(f->csv, "PUK"), 2);
    assert_int_equal(cf_csv_column_index(f->csv, "Pin"), -1);
    assert_int_equal(cf_csv_column_index(f->csv, "PI"), -1);
    assert_int_equal(cf_csv_column_index(f->csv, "PUK "), -1);
    assert_int_equal(cf_csv_column_index(f->csv, ""), -1);
    assert_int_equal(cf_csv_column_index(f->csv, NULL), -1);
}

static void test_quoted_field_keeps_embedded_comma(void **state)
{
    struct fixture *f = *state;
    open_text(f, "NAME,CITY\n\"Doe, Jane\",\"Paris, France\"\n", CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "Doe, Jane");
    assert_field(rec, 1, "Paris, France");
    next_eof(f);
}

static void test_quoted_field_keeps_embedded_crlf(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\r\n\"line1\r\nline2\r\n\",x\r\nnext,y\r\n", CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 2);
    assert_field(rec, 0, "line1\r\nline2\r\n");
    assert_field(rec, 1, "x");
    rec = next_ok(f);
    /* The quoted newlines moved the next record down two lines. */
    assert_int_equal(cf_csv_record_line(rec), 5);
    assert_int_equal(cf_csv_record_index(rec), 2);
    assert_field(rec, 0, "next");
    next_eof(f);
}

static void test_quoted_field_keeps_embedded_lf_and_lines_are_counted(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\nx,\"a\nb\nc\"\ny,z\nw,\"\n\"\nv,v\n", CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 2);
    assert_field(rec, 1, "a\nb\nc");
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 5);
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 6);
    assert_field(rec, 1, "\n");
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 8);
    assert_int_equal(cf_csv_record_index(rec), 4);
    next_eof(f);
}

static void test_doubled_quote_becomes_one_quote(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B,C\n\"O\"\"Brien\",\"\"\"\"\"\",\"\"\"x\"\"\"\n", CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "O\"Brien");
    assert_field(rec, 1, "\"\"");
    assert_field(rec, 2, "\"x\"");
}

static void test_crlf_lf_and_mixed_line_endings_are_accepted(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\r\n1,2\n3,4\r\n5,6\n", CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 1, "2"); /* no CR left in the value */
    rec = next_ok(f);
    assert_field(rec, 1, "4");
    assert_int_equal(cf_csv_record_line(rec), 3);
    rec = next_ok(f);
    assert_field(rec, 1, "6");
    assert_int_equal(cf_csv_record_line(rec), 4);
    next_eof(f);
}

static void test_byte_order_mark_is_skipped(void **state)
{
    struct fixture *f = *state;
    open_text(f, "\xef\xbb\xbfSERIAL,PIN\n1,2\n", CF_OK);
    assert_string_equal(cf_csv_column_name(f->csv, 0), "SERIAL");
    assert_int_equal(cf_csv_column_index(f->csv, "SERIAL"), 0);
    const cf_csv_record_t *rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 2);
}

static void test_byte_order_mark_only_at_start(void **state)
{
    struct fixture *f = *state;
    /* U+FEFF later in the file is an ordinary character of a value. */
    open_text(f, "A\n\xef\xbb\xbfx\n", CF_OK);
    assert_field(next_ok(f), 0, "\xef\xbb\xbfx");
}

static void test_last_record_without_newline_is_read(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,2\n3,4", CF_OK);
    next_ok(f);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "3");
    assert_field(rec, 1, "4");
    next_eof(f);
}

static void test_last_quoted_field_without_newline_is_read(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,\"x,y\"", CF_OK);
    assert_field(next_ok(f), 1, "x,y");
    next_eof(f);
}

static void test_blank_lines_at_end_are_not_records(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,2\n\n\r\n\n", CF_OK);
    next_ok(f);
    next_eof(f);
    assert_int_equal(cf_diag_count(f->diags), 0);
}

static void test_empty_fields_are_kept(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B,C\n,,\n\"\",x,\n,\"\",\"\"\n", CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "");
    assert_field(rec, 1, "");
    assert_field(rec, 2, "");
    rec = next_ok(f);
    assert_field(rec, 0, "");
    assert_field(rec, 1, "x");
    assert_field(rec, 2, "");
    rec = next_ok(f);
    assert_field(rec, 2, "");
    next_eof(f);
}

static void test_single_column_file(void **state)
{
    struct fixture *f = *state;
    open_text(f, "SERIAL\n0001\n\"\"\n0003", CF_OK);
    assert_int_equal(cf_csv_column_count(f->csv), 1);
    assert_field(next_ok(f), 0, "0001");
    assert_field(next_ok(f), 0, ""); /* an empty value is written "" */
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "0003");
    assert_int_equal(cf_csv_record_index(rec), 3);
    next_eof(f);
}

static void test_header_only_file_has_no_records(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B", CF_OK);
    assert_int_equal(cf_csv_column_count(f->csv), 2);
    next_eof(f);
}

static void test_utf8_values_are_accepted(void **state)
{
    struct fixture *f = *state;
    /* 2-, 3- and 4-byte forms, the last code point U+10FFFF, U+FFFF, U+E000. */
    open_text(f, "NOM\n\xc3\xa9l\xc3\xa8ve\n\xe2\x82\xac\n\xf0\x9d\x84\x9e\n"
                 "\xf4\x8f\xbf\xbf\n\xef\xbf\xbf\xee\x80\x80\n",
              CF_OK);
    assert_field(next_ok(f), 0, "\xc3\xa9l\xc3\xa8ve");
    assert_field(next_ok(f), 0, "\xe2\x82\xac");
    assert_field(next_ok(f), 0, "\xf0\x9d\x84\x9e");
    assert_field(next_ok(f), 0, "\xf4\x8f\xbf\xbf");
    assert_field(next_ok(f), 0, "\xef\xbf\xbf\xee\x80\x80");
    next_eof(f);
}

static void test_field_and_record_at_the_limits_are_accepted(void **state)
{
    struct fixture *f = *state;
    /* 16 columns of 4096 bytes: exactly CF_CSV_MAX_RECORD. */
    size_t ncols = CF_CSV_MAX_RECORD / CF_CSV_MAX_FIELD;
    size_t cap = ncols * (CF_CSV_MAX_FIELD + 8) + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = 0;
    for (size_t i = 0; i < ncols; i++)
        n += (size_t)snprintf(text + n, cap - n, "%sC%zu", i ? "," : "", i);
    text[n++] = '\n';
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            text[n++] = ',';
        memset(text + n, 'a' + (int)i, CF_CSV_MAX_FIELD);
        n += CF_CSV_MAX_FIELD;
    }
    text[n++] = '\n';
    text[n] = 0;
    open_text(f, text, CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    size_t len;
    const char *v = cf_csv_field(rec, ncols - 1, &len);
    assert_int_equal(len, CF_CSV_MAX_FIELD);
    assert_int_equal(v[0], 'a' + (int)(ncols - 1));
    next_eof(f);
    free(text);
}

static void test_256_columns_are_accepted(void **state)
{
    struct fixture *f = *state;
    char text[4096];
    size_t n = 0;
    for (unsigned i = 0; i < CF_CSV_MAX_COLUMNS; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%sc%u", i ? "," : "", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "\n");
    for (unsigned i = 0; i + 1 < CF_CSV_MAX_COLUMNS; i++)
        text[n++] = ',';
    text[n++] = 'z';
    text[n] = 0;
    open_text(f, text, CF_OK);
    assert_int_equal(cf_csv_column_count(f->csv), CF_CSV_MAX_COLUMNS);
    assert_int_equal(cf_csv_column_index(f->csv, "c255"), 255);
    assert_field(next_ok(f), 255, "z");
}

static void test_open_file_reads_fixture(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cf_csv_open(CF_TEST_DATA "/csv/cards.csv", f->diags, &f->csv), CF_OK);
    assert_string_equal(cf_csv_name(f->csv), CF_TEST_DATA "/csv/cards.csv");
    assert_int_equal(cf_csv_column_index(f->csv, "SERIAL"), 0); /* BOM skipped */
    assert_int_equal(cf_csv_column_index(f->csv, "PUK"), 3);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 1, "Doe, Jane");
    rec = next_ok(f);
    assert_field(rec, 1, "O\"Brien\r\nSean");
    assert_field(rec, 3, "87654321");
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 5);
    assert_field(rec, 1, "");
    assert_field(rec, 3, "11111111"); /* no final newline */
    next_eof(f);
}

static void test_open_fd_reads_from_a_pipe(void **state)
{
    struct fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *text = "A,B\n1,\"x\ny\"\n";
    assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(fds[1]);
    assert_int_equal(cf_csv_open_fd(fds[0], "<stdin>", f->diags, &f->csv), CF_OK);
    assert_string_equal(cf_csv_name(f->csv), "<stdin>");
    assert_field(next_ok(f), 1, "x\ny");
    next_eof(f);
    cf_csv_free(f->csv);
    f->csv = NULL;
    /* The descriptor is borrowed: still open after the reader is freed. */
    assert_int_equal(close(fds[0]), 0);
}

/* ---- errors ------------------------------------------------------------- */

static void test_unterminated_quote_reports_opening_line(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,2\n3,\"abc\nd,e\nf,g\n", CF_OK);
    next_ok(f);
    next_bad(f);
    next_eof(f);
    assert_int_equal(cf_diag_errors(f->diags), 1);
    assert_diag(f, 0, 3, "record 2, column B has a quoted field that is never closed");
}

static void test_unterminated_quote_in_header_fails_open(void **state)
{
    struct fixture *f = *state;
    assert_open_fails(f, "A,\"B\n1,2\n", 1, "header column 2 has a quoted field that is never closed");
}

static void test_quote_inside_unquoted_field_is_rejected(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,NAME\n1,x\n2,ab\"c\n3,y\n", CF_OK);
    next_ok(f);
    next_bad(f);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "3");
    assert_int_equal(cf_csv_record_index(rec), 3);
    assert_diag(f, 0, 3, "record 2, column NAME has a quote inside an unquoted field");
}

static void test_characters_after_closing_quote_are_rejected(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,NAME\n1,x\n2,\"ab\"c,\n3,y\n", CF_OK);
    next_ok(f);
    next_bad(f);
    assert_field(next_ok(f), 0, "3");
    assert_diag(f, 0, 3, "record 2, column NAME has characters after its closing quote");
}

static void test_characters_after_closing_quote_on_a_later_line(void **state)
{
    struct fixture *f = *state;
    /* The message is on the line of the closing quote, not of the opening one. */
    open_text(f, "A,B\n1,\"x\ny\" \n2,z\n", CF_OK);
    next_bad(f);
    assert_int_equal(cf_csv_record_line(next_ok(f)), 4);
    assert_diag(f, 0, 3, "record 1, column B has characters after its closing quote");
}

static void test_field_count_mismatch_names_record_and_counts(void **state)
{
    struct fixture *f = *state;
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof(text), "A,B,C,D\n");
    for (int i = 1; i <= 13; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%d,b,c,d\n", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "14,b,c\n15,b,c,d\n");
    open_text(f, text, CF_OK);
    for (int i = 1; i <= 13; i++)
        next_ok(f);
    next_bad(f);
    const cf_csv_record_t *rec = next_ok(f);
    assert_int_equal(cf_csv_record_index(rec), 15);
    assert_int_equal(cf_csv_record_line(rec), 16);
    next_eof(f);
    assert_int_equal(cf_diag_count(f->diags), 1);
    assert_diag(f, 0, 15, "record 14 has 3 fields, the header has 4");
}

static void test_too_many_fields_are_counted_in_the_message(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,2,3,4,5\nx\n", CF_OK);
    next_bad(f);
    next_bad(f);
    next_eof(f);
    assert_diag(f, 0, 2, "record 1 has 5 fields, the header has 2");
    assert_diag(f, 1, 3, "record 2 has 1 field, the header has 2");
}

static void test_count_mismatch_reports_the_line_where_the_record_starts(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B,C\n1,\"x\ny\"\n", CF_OK);
    next_bad(f);
    assert_diag(f, 0, 2, "record 1 has 2 fields, the header has 3");
}

static void test_empty_header_name_is_rejected(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,,C,\"\"\n1,2,3,4\n", CF_ERR_PARSE);
    assert_int_equal(cf_diag_errors(f->diags), 2);
    assert_diag(f, 0, 1, "header column 2 has an empty name");
    assert_diag(f, 1, 1, "header column 4 has an empty name");
}

static void test_duplicate_header_name_is_rejected(void **state)
{
    struct fixture *f = *state;
    open_text(f, "PIN,PUK,PIN,pin\n1,2,3,4\n", CF_ERR_PARSE);
    assert_int_equal(cf_diag_errors(f->diags), 1);
    assert_diag(f, 0, 1, "header column 3 has the same name as column 1 (PIN)");
}

static void test_header_name_with_outer_spaces_is_a_warning(void **state)
{
    struct fixture *f = *state;
    open_text(f, "SERIAL, PIN\n1,2\n", CF_OK);
    assert_int_equal(cf_diag_errors(f->diags), 0);
    assert_int_equal(cf_diag_warnings(f->diags), 1);
    assert_int_equal(cf_diag_severity(f->diags, 0), CF_SEV_WARNING);
    assert_non_null(strstr(cf_diag_message(f->diags, 0), "header column 2"));
    assert_int_equal(cf_csv_column_index(f->csv, " PIN"), 1);
    assert_int_equal(cf_csv_column_index(f->csv, "PIN"), -1);
}

static void test_more_than_256_columns_are_rejected(void **state)
{
    struct fixture *f = *state;
    char text[4096];
    size_t n = 0;
    for (unsigned i = 0; i <= CF_CSV_MAX_COLUMNS; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%sc%u", i ? "," : "", i);
    snprintf(text + n, sizeof(text) - n, "\n1\n");
    assert_open_fails(f, text, 1, "the header has more than 256 columns");
}

static void test_empty_file_is_rejected(void **state)
{
    struct fixture *f = *state;
    assert_open_fails(f, "", 1, "the file is empty");
}

static void test_file_with_only_a_byte_order_mark_is_empty(void **state)
{
    struct fixture *f = *state;
    assert_open_fails(f, "\xef\xbb\xbf", 1, "the file is empty");
}

static void test_blank_first_line_is_rejected(void **state)
{
    struct fixture *f = *state;
    assert_open_fails(f, "\nA,B\n1,2\n", 1, "line 1 is blank");
}

static void test_blank_first_line_with_crlf_is_rejected(void **state)
{
    struct fixture *f = *state;
    assert_open_fails(f, "\r\nA,B\n", 1, "line 1 is blank");
}

static void test_blank_line_between_records_is_rejected(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,2\n\n3,4\n\r\n\n\n5,6\n", CF_OK);
    assert_field(next_ok(f), 0, "1");
    next_bad(f);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "3");
    assert_int_equal(cf_csv_record_index(rec), 2); /* blank lines are not records */
    assert_int_equal(cf_csv_record_line(rec), 4);
    next_bad(f);
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_line(rec), 8);
    next_eof(f);
    assert_int_equal(cf_diag_count(f->diags), 2);
    assert_diag(f, 0, 3, "blank line between records");
    assert_diag(f, 1, 5, "lines 5-7 are blank");
}

static void test_bare_carriage_return_is_rejected(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,2\r3,4\n5,6\n", CF_OK);
    next_bad(f);
    assert_field(next_ok(f), 0, "5");
    assert_diag(f, 0, 2, "record 1 has a carriage return not followed by a line feed");
}

static void test_carriage_return_inside_quotes_is_data(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,B\n1,\"x\ry\"\n", CF_OK);
    assert_field(next_ok(f), 1, "x\ry");
}

static void test_invalid_utf8_is_rejected(void **state)
{
    static const struct {
        const char *bytes;
        const char *what;
    } bad[] = {
        {"\xc0\x80", "overlong NUL"},
        {"\xc1\xbf", "overlong ASCII"},
        {"\xe0\x80\xaf", "overlong 3-byte"},
        {"\xf0\x80\x80\xaf", "overlong 4-byte"},
        {"\xed\xa0\x80", "high surrogate"},
        {"\xed\xbf\xbf", "low surrogate"},
        {"\xf4\x90\x80\x80", "above U+10FFFF"},
        {"\xf5\x80\x80\x80", "lead byte F5"},
        {"\xff", "byte FF"},
        {"\x80", "lone continuation"},
        {"\xe2\x82", "truncated sequence"},
        {"\xe2\x82x", "sequence cut by ASCII"},
        {"\xc3", "truncated at end of field"},
        {"ok\xc3\xa9\xa9", "extra continuation"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fixture *f = *state;
        char text[64];
        snprintf(text, sizeof(text), "A,NAME\n1,x\n2,%s\n3,y\n", bad[i].bytes);
        open_text(f, text, CF_OK);
        next_ok(f);
        next_bad(f);
        assert_field(next_ok(f), 1, "y");
        next_eof(f);
        if (cf_diag_count(f->diags) != 1)
            fprintf(stderr, "case: %s\n", bad[i].what);
        assert_int_equal(cf_diag_count(f->diags), 1);
        assert_diag(f, 0, 3, "record 2, column NAME contains bytes that are not valid UTF-8");
        teardown(state);
        setup(state);
    }
}

static void test_invalid_utf8_line_is_inside_a_multiline_field(void **state)
{
    struct fixture *f = *state;
    open_text(f, "A,NOTE\n1,\"first\nsecond\nthird \xff\"\n", CF_OK);
    next_bad(f);
    assert_diag(f, 0, 4, "column NOTE contains bytes that are not valid UTF-8");
}

static void test_invalid_utf8_in_header_fails_open(void **state)
{
    struct fixture *f = *state;
    assert_open_fails(f, "A,\xc0\xaf\n", 1, "header column 2 contains bytes that are not valid UTF-8");
}

static void test_nul_byte_is_rejected(void **state)
{
    struct fixture *f = *state;
    static const uint8_t text[] = "A,PIN\n1,12\0" "34\n2,5678\n";
    assert_int_equal(cf_csv_open_mem("t.csv", text, sizeof(text) - 1, f->diags, &f->csv), CF_OK);
    next_bad(f);
    assert_field(next_ok(f), 1, "5678");
    assert_diag(f, 0, 2, "record 1, column PIN contains a NUL byte");
}

static void test_field_longer_than_limit_is_rejected(void **state)
{
    struct fixture *f = *state;
    size_t cap = CF_CSV_MAX_FIELD + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, "A,DATA\n1,x\n2,");
    memset(text + n, 'k', CF_CSV_MAX_FIELD + 1);
    n += CF_CSV_MAX_FIELD + 1;
    snprintf(text + n, cap - n, "\n3,y\n");
    open_text(f, text, CF_OK);
    next_ok(f);
    next_bad(f);
    assert_field(next_ok(f), 1, "y");
    assert_diag(f, 0, 3, "record 2, column DATA is longer than 4096 bytes");
    free(text);
}

static void test_long_quoted_field_hints_at_the_missing_quote(void **state)
{
    struct fixture *f = *state;
    size_t cap = 2 * CF_CSV_MAX_FIELD;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, "A,B\n1,2\n3,\"4\n");
    /* The unclosed quote swallows the following records. */
    while (n + 16 < cap)
        n += (size_t)snprintf(text + n, cap - n, "%d,b\n", 1000 + (int)n % 9000);
    open_text(f, text, CF_OK);
    next_ok(f);
    next_bad(f);
    next_eof(f);
    assert_int_equal(cf_diag_count(f->diags), 1);
    assert_diag(f, 0, 3, "record 2, column B is longer than 4096 bytes (is the quote that opens it");
    free(text);
}

static void test_record_longer_than_limit_is_rejected(void **state)
{
    struct fixture *f = *state;
    /* 17 fields of 4000 bytes: each within the field limit, 68000 together. */
    size_t ncols = 17, flen = 4000;
    size_t cap = ncols * (flen + 8) + 256;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = 0;
    for (size_t i = 0; i < ncols; i++)
        n += (size_t)snprintf(text + n, cap - n, "%sC%zu", i ? "," : "", i);
    text[n++] = '\n';
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            text[n++] = ',';
        memset(text + n, 'v', flen);
        n += flen;
    }
    n += (size_t)snprintf(text + n, cap - n, "\nok");
    for (size_t i = 1; i < ncols; i++)
        text[n++] = ',';
    snprintf(text + n, cap - n, "\n");
    open_text(f, text, CF_OK);
    next_bad(f);
    const cf_csv_record_t *rec = next_ok(f);
    assert_field(rec, 0, "ok");
    assert_int_equal(cf_csv_record_line(rec), 3);
    next_eof(f);
    assert_diag(f, 0, 2, "record 1 is longer than 65536 bytes");
    free(text);
}

static void test_reader_resynchronises_after_each_bad_record(void **state)
{
    struct fixture *f = *state;
    open_text(f,
              "ID,NAME,PIN\n"        /* 1 */
              "1,a,111111\n"         /* 2 ok */
              "2,b\"x,222222\n"      /* 3 stray quote */
              "3,c,333333\n"         /* 4 ok */
              "4,\"d\"e,444444\n"    /* 5 after closing quote */
              "5,\"multi\nline\",x,\"q\nq\"\n" /* 6-8 too many fields */
              "6,f,666666\n"         /* 9 ok */
              "7,g\n"                /* 10 too few */
              "8,\"h\",888888\n"     /* 11 ok */
              "9,\"never closed,9\n" /* 12 unterminated */
              "10,j,000000\n",
              CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    assert_int_equal(cf_csv_record_index(rec), 1);
    next_bad(f);
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_index(rec), 3);
    assert_field(rec, 2, "333333");
    next_bad(f);
    next_bad(f);
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_index(rec), 6);
    assert_int_equal(cf_csv_record_line(rec), 9);
    next_bad(f);
    rec = next_ok(f);
    assert_int_equal(cf_csv_record_index(rec), 8);
    assert_field(rec, 1, "h");
    next_bad(f);
    next_eof(f);
    assert_int_equal(cf_diag_count(f->diags), 5);
    assert_diag(f, 0, 3, "record 2, column NAME has a quote inside");
    assert_diag(f, 1, 5, "record 4, column NAME has characters after its closing quote");
    assert_diag(f, 2, 6, "record 5 has 4 fields, the header has 3");
    assert_diag(f, 3, 10, "record 7 has 2 fields, the header has 3");
    assert_diag(f, 4, 12, "record 9, column NAME has a quoted field that is never closed");
}

static void test_bad_fixture_file_reports_every_problem(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cf_csv_open(CF_TEST_DATA "/csv/bad.csv", f->diags, &f->csv), CF_OK);
    int good = 0, bad = 0;
    for (;;) {
        const cf_csv_record_t *rec;
        cf_err_t err = cf_csv_next(f->csv, &rec);
        if (err == CF_OK && rec == NULL)
            break;
        if (err == CF_OK)
            good++;
        else if (err == CF_ERR_PARSE)
            bad++;
        else
            fail_msg("unexpected %d", err);
    }
    assert_int_equal(good, 2);
    assert_int_equal(bad, 3);
    assert_int_equal(cf_diag_count(f->diags), 3);
    const char *file = CF_TEST_DATA "/csv/bad.csv";
    assert_string_equal(cf_diag_file(f->diags, 0), file);
    assert_int_equal(cf_diag_line(f->diags, 0), 3);
    assert_int_equal(cf_diag_line(f->diags, 1), 4);
    assert_int_equal(cf_diag_line(f->diags, 2), 6);
}

static void test_messages_never_contain_field_values(void **state)
{
    struct fixture *f = *state;
    /* Every kind of record error, each on a record holding the value 9F3A7C. */
    open_text(f,
              "ID,PIN\n"
              "1,9F3A7C\"\n"
              "2,\"9F3A7C\"z\n"
              "3,9F3A7C,extra\n"
              "4,\"9F3A7C\xff\"\n"
              "5,9F3A7C\r6,x\n"
              "7,\"9F3A7C\n",
              CF_OK);
    size_t bad = 0;
    for (;;) {
        const cf_csv_record_t *rec;
        cf_err_t err = cf_csv_next(f->csv, &rec);
        if (err == CF_OK && rec == NULL)
            break;
        assert_int_equal(err, CF_ERR_PARSE);
        bad++;
    }
    assert_int_equal(bad, 6);
    assert_int_equal(cf_diag_count(f->diags), 6);
    for (size_t i = 0; i < cf_diag_count(f->diags); i++)
        assert_null(strstr(cf_diag_message(f->diags, i), "9F3A7C"));
}

static void test_messages_name_columns_safely(void **state)
{
    struct fixture *f = *state;
    /* A plain name as is, a name with a space in quotes, a name with a
     * control character or a very long name by its number. */
    char text[512];
    snprintf(text, sizeof(text),
             "ID,First Name,\"a\x1b[2Jb\",\"c\xc2\x9b\",%0100d\n"
             "1,x\"y,b,c,d\n"
             "2,x,b\"y,c,d\n"
             "3,x,b,c\"y,d\n"
             "4,x,b,c,d\"y\n"
             "5\"y,x,b,c,d\n",
             7);
    open_text(f, text, CF_OK);
    for (int i = 0; i < 5; i++)
        next_bad(f);
    next_eof(f);
    assert_diag(f, 0, 2, "record 1, column \"First Name\" has a quote");
    assert_diag(f, 1, 3, "record 2, column 3 has a quote");
    assert_diag(f, 2, 4, "record 3, column 4 has a quote");
    assert_diag(f, 3, 5, "record 4, column 5 has a quote");
    assert_diag(f, 4, 6, "record 5, column ID has a quote");
}

static void test_missing_file_reports_not_found(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cf_csv_open(CF_TEST_DATA "/csv/no-such-file.csv", f->diags, &f->csv),
                     CF_ERR_NOT_FOUND);
    assert_null(f->csv);
    assert_int_equal(cf_diag_errors(f->diags), 1);
    assert_non_null(strstr(cf_diag_message(f->diags, 0), "cannot open"));
}

/* Only a regular file is a batch: a directory, a device that never ends
 * and a FIFO (whose open would wait for a writer) are refused by name. */
static void test_a_batch_that_is_not_a_regular_file_is_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cf_csv_open(CF_TEST_DATA "/csv", f->diags, &f->csv), CF_ERR_IO);
    assert_null(f->csv);
    assert_non_null(strstr(cf_diag_message(f->diags, 0), "not a regular file (a directory)"));
    assert_int_equal(cf_csv_open("/dev/zero", f->diags, &f->csv), CF_ERR_IO);
    assert_non_null(strstr(cf_diag_message(f->diags, 1), "not a regular file (a character device)"));
    char fifo[] = "/tmp/cf-csv-fifo-XXXXXX";
    assert_non_null(mkdtemp(fifo));
    char path[64];
    snprintf(path, sizeof(path), "%s/b.csv", fifo);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(cf_csv_open(path, f->diags, &f->csv), CF_ERR_IO);
    assert_non_null(strstr(cf_diag_message(f->diags, 2), "not a regular file (a FIFO)"));
    assert_string_equal(cf_diag_file(f->diags, 2), path);
    unlink(path);
    rmdir(fifo);
}

static void test_read_error_is_reported_and_sticky(void **state)
{
    struct fixture *f = *state;
    const char *text = "A,B\n1,2\n3,4\n5,6\n";
    struct chunked src = {(const uint8_t *)text, strlen(text), 0, 5, 10};
    assert_int_equal(cf_csv_open_reader("t.csv", chunked_read, &src, 8, f->diags, &f->csv),
                     CF_OK);
    assert_field(next_ok(f), 0, "1");
    const cf_csv_record_t *rec;
    assert_int_equal(cf_csv_next(f->csv, &rec), CF_ERR_IO);
    assert_null(rec);
    assert_int_equal(cf_csv_next(f->csv, &rec), CF_ERR_IO);
    assert_int_equal(cf_diag_count(f->diags), 1);
    assert_diag(f, 0, 3, "read error");
}

static void test_bad_arguments_are_refused(void **state)
{
    struct fixture *f = *state;
    cf_csv_t *csv = (cf_csv_t *)1;
    assert_int_equal(cf_csv_open(NULL, f->diags, &csv), CF_ERR_ARG);
    assert_null(csv);
    assert_int_equal(cf_csv_open("x", f->diags, NULL), CF_ERR_ARG);
    assert_int_equal(cf_csv_open_mem("m", NULL, 3, f->diags, &csv), CF_ERR_ARG);
    assert_int_equal(cf_csv_open_fd(-1, "fd", f->diags, &csv), CF_ERR_ARG);
    /* NULL with length 0 is an empty input, reported as such. */
    assert_int_equal(cf_csv_open_mem(NULL, NULL, 0, f->diags, &csv), CF_ERR_PARSE);
    assert_string_equal(cf_diag_file(f->diags, 0), "<memory>");
    const cf_csv_record_t *rec = (const cf_csv_record_t *)1;
    assert_int_equal(cf_csv_next(NULL, &rec), CF_ERR_ARG);
    assert_null(rec);
    assert_int_equal(cf_csv_column_count(NULL), 0);
    assert_int_equal(cf_csv_column_index(NULL, "A"), -1);
    assert_null(cf_csv_field(NULL, 0, NULL));
    cf_csv_free(NULL);
}

static void test_utf8_check_reports_offset(void **state)
{
    (void)state;
    size_t off = 99;
    assert_int_equal(cf_utf8_check((const uint8_t *)"abc", 3, &off), CF_UTF8_OK);
    assert_int_equal(cf_utf8_check((const uint8_t *)"ab\xc3\xa9\xed\xa0\x80", 7, &off),
                     CF_UTF8_INVALID);
    assert_int_equal(off, 4);
    assert_int_equal(cf_utf8_check((const uint8_t *)"a\0b", 3, &off), CF_UTF8_NUL);
    assert_int_equal(off, 1);
    assert_int_equal(cf_utf8_check(NULL, 0, &off), CF_UTF8_OK);
}

/* ---- buffers: reuse, wiping, refills, streaming ------------------------- */

static void test_record_buffer_is_wiped_before_reuse(void **state)
{
    struct fixture *f = *state;
    open_text(f, "ID,PIN\n1,7391046628\n2,55\n", CF_OK);
    const cf_csv_record_t *rec = next_ok(f);
    size_t len;
    /* White-box: remember where the first PIN lives in the reader's buffer. */
    const char *old = cf_csv_field(rec, 1, &len);
    assert_int_equal(len, 10);
    rec = next_ok(f);
    assert_field(rec, 0, "2");
    assert_field(rec, 1, "55");
    /* The shorter second record left no trace of the first PIN behind it. */
    assert_null(memmem(old, len, "7391046628", len));
    assert_null(memmem(old, len, "046628", 6));
    next_eof(f);
    /* At end of file the last record is wiped too. */
    for (size_t i = 0; i < len; i++)
        assert_int_equal(old[i], 0);
}

static void test_record_buffer_is_wiped_after_a_bad_record(void **state)
{
    struct fixture *f = *state;
    open_text(f, "ID,PIN\n0,1\n1,4827163950,x\n2,1\n", CF_OK);
    /* White-box: the first field of a record starts the reader's buffer. */
    const char *base = cf_csv_field(next_ok(f), 0, NULL);
    next_bad(f); /* stores "1" and the PIN before it finds the third field */
    const cf_csv_record_t *rec = next_ok(f);
    assert_ptr_equal(cf_csv_field(rec, 0, NULL), base);
    assert_field(rec, 1, "1");
    /* The rejected record held "1\0" and the PIN with its NUL at bytes 0..12;
     * behind the 4 bytes of "2\0" "1\0" nothing of it is left. */
    assert_null(memmem(base, 13, "27163950", 8));
    for (size_t i = 4; i < 13; i++)
        assert_int_equal(base[i], 0);
}

static void test_values_are_correct_across_many_reuses(void **state)
{
    struct fixture *f = *state;
    /* Records alternate long and short values, so stale bytes would show. */
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "I,V\n");
    for (int i = 0; i < 500; i++) {
        if (i % 2)
            n += (size_t)snprintf(text + n, cap - n, "%d,%d\n", i, i);
        else
            n += (size_t)snprintf(text + n, cap - n, "%d,\"%d,%040d\"\n", i, i, i);
    }
    open_text(f, text, CF_OK);
    for (int i = 0; i < 500; i++) {
        const cf_csv_record_t *rec = next_ok(f);
        char want[64];
        if (i % 2)
            snprintf(want, sizeof(want), "%d", i);
        else
            snprintf(want, sizeof(want), "%d,%040d", i, i);
        assert_field(rec, 1, want);
        assert_int_equal(cf_csv_record_index(rec), (size_t)i + 1);
        assert_int_equal(cf_csv_record_line(rec), (unsigned long)i + 2);
    }
    next_eof(f);
    free(text);
}

/* Inputs replayed through every kind of source; the transcripts must match. */
static const char *const replay_inputs[] = {
    "SERIAL,NAME,PIN\n0001,Ann,123456\n0002,Bob,654321\n",
    "\xef\xbb\xbf" "A,B\r\n\"line1\r\nline2\r\n\",x\r\nnext,y\r\n",
    "A,B,C\n\"O\"\"Brien\",\"\"\"\"\"\",\"\"\"x\"\"\"\n,,\n",
    "A,B\r\n1,2\n3,4\r\n5,6",
    "A,B\n1,2\n\n\r\n\n",
    "A,B\n1,2\n\n3,4\n\r\n\n\n5,6\n",
    "A,B\n1,2\r3,4\n5,6\r\n7,8\r",
    "NOM\n\xc3\xa9l\xc3\xa8ve\n\xe2\x82\xac\n\xf0\x9d\x84\x9e\n\xed\xa0\x80\n\xf4\x90\x80\x80\n",
    "ID,NAME,PIN\n1,a,1\n2,b\"x,2\n3,c,3\n4,\"d\"e,4\n5,\"m\nl\",x,\"q\nq\"\n6,f,6\n7,g\n9,\"n,9\n10,j,0\n",
    "A,\"B\n1,2\n",
    "A,,A\n",
    "\xef\xbb",
    "\xef\xbb\xbf",
    "\r",
    "A\n\r",
    "A\n\"x\"\r\n\"y\"\r",
    "A,B\n\"\",\"\"\n\"\"\"\",\"a\"\"\"\n",
};

/* Inputs at and over the limits, built at run time: *n gets how many. */
static char **limit_inputs(size_t *n)
{
    char **in = calloc(4, sizeof(*in));
    size_t cap = 80000, len;
    assert_non_null(in);
    for (int i = 0; i < 4; i++) {
        in[i] = malloc(cap);
        assert_non_null(in[i]);
    }
    /* a field of 4096 bytes, then one of 4097 in quotes, then a good record */
    len = (size_t)snprintf(in[0], cap, "A,B\n1,");
    memset(in[0] + len, 'x', CF_CSV_MAX_FIELD);
    len += CF_CSV_MAX_FIELD;
    len += (size_t)snprintf(in[0] + len, cap - len, "\n2,\"");
    memset(in[0] + len, 'y', CF_CSV_MAX_FIELD + 1);
    len += CF_CSV_MAX_FIELD + 1;
    snprintf(in[0] + len, cap - len, "\"\n3,z\n");
    /* 257 columns */
    len = 0;
    for (unsigned c = 0; c <= CF_CSV_MAX_COLUMNS; c++)
        len += (size_t)snprintf(in[1] + len, cap - len, "%sc%u", c ? "," : "", c);
    snprintf(in[1] + len, cap - len, "\n");
    /* 17 columns: a record of 17 x 4000 bytes (one quoted, with a line
     * break), then a good one */
    len = 0;
    for (int c = 0; c < 17; c++)
        len += (size_t)snprintf(in[2] + len, cap - len, "%sC%d", c ? "," : "", c);
    in[2][len++] = '\n';
    for (int c = 0; c < 17; c++) {
        if (c)
            in[2][len++] = ',';
        memset(in[2] + len, 'v', 4000);
        if (c == 15) {
            in[2][len] = '"';
            in[2][len + 1000] = '\n';
            in[2][len + 3999] = '"';
        }
        len += 4000;
    }
    len += (size_t)snprintf(in[2] + len, cap - len, "\n");
    for (int c = 0; c < 17; c++)
        len += (size_t)snprintf(in[2] + len, cap - len, "%sok", c ? "," : "");
    snprintf(in[2] + len, cap - len, "\n");
    /* an unclosed quote swallowing the rest, over the field limit */
    len = (size_t)snprintf(in[3], cap, "A,B\n1,\"2\n");
    while (len < 3 * CF_CSV_MAX_FIELD)
        len += (size_t)snprintf(in[3] + len, cap - len, "%zu,b\r\n", len);
    *n = 4;
    return in;
}

static const char *const limit_messages[] = {
    "diag 0 3 record 2, column B is longer than 4096 bytes (is the quote",
    "diag 0 1 the header has more than 256 columns",
    "diag 0 2 record 1 is longer than 65536 bytes",
    "diag 0 2 record 1, column B is longer than 4096 bytes (is the quote",
};

static void test_records_identical_across_refill_boundaries(void **state)
{
    (void)state;
    static const size_t modes[][2] = {{1, 4}, {2, 4}, {3, 5}, {1, 64}, {7, 7}, {64, 64}};
    size_t nreplay = sizeof(replay_inputs) / sizeof(replay_inputs[0]), nlimit;
    char **limits = limit_inputs(&nlimit);
    for (size_t i = 0; i < nreplay + nlimit; i++) {
        const char *text = i < nreplay ? replay_inputs[i] : limits[i - nreplay];
        const uint8_t *data = (const uint8_t *)text;
        size_t len = strlen(text);
        char *want = transcript(data, len, 0, 0);
        /* The limit inputs are there to be rejected: check they are. */
        if (i >= nreplay)
            assert_non_null(strstr(want, limit_messages[i - nreplay]));
        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            char *got = transcript(data, len, modes[m][0], modes[m][1]);
            if (strcmp(want, got) != 0)
                fprintf(stderr, "input %zu, chunk %zu buf %zu:\n--- memory\n%s--- chunked\n%s",
                        i, modes[m][0], modes[m][1], want, got);
            assert_string_equal(want, got);
            free(got);
        }
        free(want);
    }
    for (size_t i = 0; i < nlimit; i++)
        free(limits[i]);
    free(limits);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

#define STREAM_RECORDS 1000000

/* The child writes STREAM_RECORDS records to fd through a small buffer. */
static void write_records(int fd)
{
    char buf[8192];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "SERIAL,HOLDER,PIN,PUK,EMAIL\r\n");
    for (long i = 1; i <= STREAM_RECORDS; i++) {
        if (sizeof(buf) - n < 128) {
            if (write(fd, buf, n) != (ssize_t)n)
                _exit(1);
            n = 0;
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                              "%08ld,\"Holder, %ld\",%06ld,%08ld,u%ld@example.org\r\n", i,
                              i, i % 1000000, (i * 7) % 100000000, i);
    }
    if (write(fd, buf, n) != (ssize_t)n)
        _exit(1);
    _exit(0);
}

static void test_streaming_million_records_memory_is_flat(void **state)
{
    struct fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        write_records(fds[1]);
    }
    close(fds[1]);

    long before = peak_rss_kib();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cf_csv_open_fd(fds[0], "stream.csv", f->diags, &f->csv), CF_OK);
    assert_int_equal(cf_csv_column_count(f->csv), 5);
    long count = 0, pin_sum = 0;
    for (;;) {
        const cf_csv_record_t *rec;
        cf_err_t err = cf_csv_next(f->csv, &rec);
        assert_int_equal(err, CF_OK);
        if (rec == NULL)
            break;
        count++;
        /* Every record is the one the writer produced, in order. */
        if (cf_csv_record_index(rec) != (size_t)count ||
            strtol(cf_csv_field(rec, 0, NULL), NULL, 10) != count)
            fail_msg("record %ld out of order", count);
        size_t len;
        const char *pin = cf_csv_field(rec, 2, &len);
        if (len != 6)
            fail_msg("record %ld: PIN length %zu", count, len);
        pin_sum += strtol(pin, NULL, 10);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long after = peak_rss_kib();
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "streamed %ld records in %.3f s; peak RSS %ld KiB -> %ld KiB\n", count,
            secs, before, after);
    assert_int_equal(count, STREAM_RECORDS);
    /* PINs are i % 1000000 for i = 1..1000000: 0 + 1 + ... + 999999. */
    assert_int_equal(pin_sum, 999999L * 1000000L / 2);
    assert_int_equal(cf_diag_count(f->diags), 0);
    /* The stream is about 60 MB; the reader may use a few hundred KiB. */
    assert_true(after - before < 4 * 1024);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_simple_records_give_fields_by_column),
        T(test_column_index_is_exact_and_case_sensitive),
        T(test_quoted_field_keeps_embedded_comma),
        T(test_quoted_field_keeps_embedded_crlf),
        T(test_quoted_field_keeps_embedded_lf_and_lines_are_counted),
        T(test_doubled_quote_becomes_one_quote),
        T(test_crlf_lf_and_mixed_line_endings_are_accepted),
        T(test_byte_order_mark_is_skipped),
        T(test_byte_order_mark_only_at_start),
        T(test_last_record_without_newline_is_read),
        T(test_last_quoted_field_without_newline_is_read),
        T(test_blank_lines_at_end_are_not_records),
        T(test_empty_fields_are_kept),
        T(test_single_column_file),
        T(test_header_only_file_has_no_records),
        T(test_utf8_values_are_accepted),
        T(test_field_and_record_at_the_limits_are_accepted),
        T(test_256_columns_are_accepted),
        T(test_open_file_reads_fixture),
        T(test_open_fd_reads_from_a_pipe),
        T(test_unterminated_quote_reports_opening_line),
        T(test_unterminated_quote_in_header_fails_open),
        T(test_quote_inside_unquoted_field_is_rejected),
        T(test_characters_after_closing_quote_are_rejected),
        T(test_characters_after_closing_quote_on_a_later_line),
        T(test_field_count_mismatch_names_record_and_counts),
        T(test_too_many_fields_are_counted_in_the_message),
        T(test_count_mismatch_reports_the_line_where_the_record_starts),
        T(test_empty_header_name_is_rejected),
        T(test_duplicate_header_name_is_rejected),
        T(test_header_name_with_outer_spaces_is_a_warning),
        T(test_more_than_256_columns_are_rejected),
        T(test_empty_file_is_rejected),
        T(test_file_with_only_a_byte_order_mark_is_empty),
        T(test_blank_first_line_is_rejected),
        T(test_blank_first_line_with_crlf_is_rejected),
        T(test_blank_line_between_records_is_rejected),
        T(test_bare_carriage_return_is_rejected),
        T(test_carriage_return_inside_quotes_is_data),
        T(test_invalid_utf8_is_rejected),
        T(test_invalid_utf8_line_is_inside_a_multiline_field),
        T(test_invalid_utf8_in_header_fails_open),
        T(test_nul_byte_is_rejected),
        T(test_field_longer_than_limit_is_rejected),
        T(test_long_quoted_field_hints_at_the_missing_quote),
        T(test_record_longer_than_limit_is_rejected),
        T(test_reader_resynchronises_after_each_bad_record),
        T(test_bad_fixture_file_reports_every_problem),
        T(test_messages_never_contain_field_values),
        T(test_messages_name_columns_safely),
        T(test_missing_file_reports_not_found),
        T(test_a_batch_that_is_not_a_regular_file_is_refused),
        T(test_read_error_is_reported_and_sticky),
        T(test_bad_arguments_are_refused),
        T(test_utf8_check_reports_offset),
        T(test_record_buffer_is_wiped_before_reuse),
        T(test_record_buffer_is_wiped_after_a_bad_record),
        T(test_values_are_correct_across_many_reuses),
        T(test_records_identical_across_refill_boundaries),
        T(test_streaming_million_records_memory_is_flat),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
