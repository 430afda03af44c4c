/*
 * fuzz_csv.c - libFuzzer target for the batch CSV reader.
 *
 * Each input is read twice: from memory (one window) and through a source
 * that returns a few bytes per read into a tiny buffer, so refills fall
 * inside quotes, CR LF pairs and UTF-8 sequences. Both readers must agree
 * on every result, record and diagnostic; every field handed out must be
 * NUL-free valid UTF-8 of the length reported; every record has one field
 * per column; and reading always ends (each call consumes input or says
 * end of file). Any disagreement aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/batch.h>
#include <cardforge/diag.h>

#include "batch/csv_internal.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct chunked {
    const uint8_t *data;
    size_t len, pos, chunk;
};

static ssize_t chunked_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct chunked *c = ctx;
    size_t n = c->len - c->pos;
    if (n > c->chunk)
        n = c->chunk;
    if (n > cap)
        n = cap;
    memcpy(buf, c->data + c->pos, n);
    c->pos += n;
    return (ssize_t)n;
}

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_record(const cf_csv_t *csv, const cf_csv_record_t *rec)
{
    size_t ncols = cf_csv_column_count(csv);
    for (size_t i = 0; i < ncols; i++) {
        size_t len;
        const char *v = cf_csv_field(rec, i, &len);
        check(v != NULL && strlen(v) == len && len <= CF_CSV_MAX_FIELD);
        check(cf_utf8_check((const uint8_t *)v, len, NULL) == CF_UTF8_OK);
    }
    check(cf_csv_field(rec, ncols, NULL) == NULL);
    check(cf_csv_record_index(rec) >= 1 && cf_csv_record_line(rec) >= 2);
}

static void same_record(const cf_csv_t *csv, const cf_csv_record_t *a,
                        const cf_csv_record_t *b)
{
    check(cf_csv_record_index(a) == cf_csv_record_index(b));
    check(cf_csv_record_line(a) == cf_csv_record_line(b));
    for (size_t i = 0; i < cf_csv_column_count(csv); i++) {
        size_t la, lb;
        const char *va = cf_csv_field(a, i, &la);
        const char *vb = cf_csv_field(b, i, &lb);
        check(la == lb && memcmp(va, vb, la) == 0);
    }
}

static void same_diags(const cf_diag_list_t *a, const cf_diag_list_t *b)
{
    check(cf_diag_count(a) == cf_diag_count(b));
    for (size_t i = 0; i < cf_diag_count(a); i++) {
        check(cf_diag_severity(a, i) == cf_diag_severity(b, i));
        check(cf_diag_line(a, i) == cf_diag_line(b, i));
        check(strcmp(cf_diag_message(a, i), cf_diag_message(b, i)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_diag_list_t *da = cf_diag_list_new(), *db = cf_diag_list_new();
    if (da == NULL || db == NULL)
        abort();
    struct chunked src = {data, size, 0, 1 + size % 7};
    cf_csv_t *a = NULL, *b = NULL;
    cf_err_t ea = cf_csv_open_mem("fuzz.csv", data, size, da, &a);
    cf_err_t eb = cf_csv_open_reader("fuzz.csv", chunked_read, &src, 4 + size % 5, db, &b);
    check(ea == eb && (a == NULL) == (b == NULL) && (ea == CF_OK) == (a != NULL));

    if (a != NULL) {
        size_t ncols = cf_csv_column_count(a);
        check(ncols >= 1 && ncols <= CF_CSV_MAX_COLUMNS && ncols == cf_csv_column_count(b));
        for (size_t i = 0; i < ncols; i++) {
            const char *na = cf_csv_column_name(a, i);
            check(strcmp(na, cf_csv_column_name(b, i)) == 0);
            check(cf_csv_column_index(a, na) == (long)i);
        }
        /* Every call consumes at least one byte or reports the end. */
        for (size_t calls = 0;; calls++) {
            check(calls <= size + 1);
            const cf_csv_record_t *ra, *rb;
            ea = cf_csv_next(a, &ra);
            eb = cf_csv_next(b, &rb);
            check(ea == eb && (ra == NULL) == (rb == NULL));
            check(ea == CF_OK || ea == CF_ERR_PARSE);
            check(ea == CF_OK || ra == NULL);
            if (ea == CF_OK && ra == NULL)
                break;
            if (ra != NULL) {
                check_record(a, ra);
                same_record(a, ra, rb);
            }
        }
        const cf_csv_record_t *ra;
        check(cf_csv_next(a, &ra) == CF_OK && ra == NULL);
    }
    same_diags(da, db);
    cf_csv_free(a);
    cf_csv_free(b);
    cf_diag_list_free(da);
    cf_diag_list_free(db);
    return 0;
}
