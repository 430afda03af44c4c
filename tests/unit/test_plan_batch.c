/*
 * test_plan_batch.c - a compiled plan checked against whole batch files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/plan.h>

static const char *desc =
    "[Fields]\nPIN=\nNEW_KEY=\nOLD_KEY=000000000000000000000000000000000000000000000000\n"
    "[Description]\nSetPIN=true\nPIN=PIN\nCardManagerKey=OLD_KEY\n"
    "NewCardManagerKey=NEW_KEY\n";

static const char *key_a = "2B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA5";

static cf_plan_t *compile(void)
{
    cf_diag_list_t *d = cf_diag_list_new();
    cf_plan_t *p = NULL;
    assert_int_equal(cf_plan_compile_mem("job.ini", desc, strlen(desc), d, &p), CF_OK);
    cf_diag_list_free(d);
    return p;
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/cf_batch_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int has_diag(const cf_diag_list_t *d, unsigned long line, const char *needle)
{
    for (size_t i = 0; i < cf_diag_count(d); i++)
        if (cf_diag_line(d, i) == line && strstr(cf_diag_message(d, i), needle))
            return 1;
    return 0;
}

static cf_err_t check(const char *csv, cf_diag_list_t **d, size_t *records)
{
    cf_plan_t *p = compile();
    char *path = write_tmp(csv);
    *d = cf_diag_list_new();
    cf_err_t e = cf_plan_check_batch(p, path, *d, records);
    unlink(path);
    free(path);
    cf_plan_free(p);
    return e;
}

static void test_valid_batch_counts_records(void **state)
{
    (void)state;
    char csv[512];
    snprintf(csv, sizeof(csv), "ID,PIN,NEW_KEY\r\n1,1234,%s\r\n2,\"5678\",%s\r\n", key_a, key_a);
    cf_diag_list_t *d;
    size_t n = 0;
    assert_int_equal(check(csv, &d, &n), CF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(cf_diag_count(d), 0);
    cf_diag_list_free(d);
}

static void test_missing_column_reported_once_on_header(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    size_t n = 0;
    assert_int_equal(check("ID,PIN\n1,1234\n2,5678\n3,9999\n", &d, &n), CF_ERR_INVALID);
    assert_int_equal(n, 3);
    assert_int_equal(cf_diag_errors(d), 1);
    assert_true(has_diag(d, 1, "column NEW_KEY is missing"));
    assert_true(has_diag(d, 1, "NewCardManagerKey in job.ini:9"));
    cf_diag_list_free(d);
}

static void test_bad_cells_reported_at_record_line_without_value(void **state)
{
    (void)state;
    char csv[512];
    snprintf(csv, sizeof(csv), "ID,PIN,NEW_KEY\n1,1234,%s\n2,,%s\n3,4321,ABCDEF\n", key_a, key_a);
    cf_diag_list_t *d;
    size_t n = 0;
    assert_int_equal(check(csv, &d, &n), CF_ERR_INVALID);
    assert_int_equal(n, 3);
    assert_true(has_diag(d, 3, "column PIN is empty"));
    assert_true(has_diag(d, 4, "column NEW_KEY (used as NewCardManagerKey)"));
    for (size_t i = 0; i < cf_diag_count(d); i++)
        assert_null(strstr(cf_diag_message(d, i), "ABCDEF"));
    cf_diag_list_free(d);
}

static void test_malformed_record_and_empty_batch(void **state)
{
    (void)state;
    char csv[512];
    snprintf(csv, sizeof(csv), "ID,PIN,NEW_KEY\n1,1234\n2,5678,%s\n", key_a);
    cf_diag_list_t *d;
    size_t n = 0;
    assert_int_equal(check(csv, &d, &n), CF_ERR_INVALID);
    assert_true(has_diag(d, 2, "field"));
    cf_diag_list_free(d);
    assert_int_equal(check("ID,PIN,NEW_KEY\n", &d, &n), CF_ERR_INVALID);
    assert_int_equal(n, 0);
    assert_true(has_diag(d, 0, "no records"));
    cf_diag_list_free(d);
}

static void test_unreadable_file_is_io_error(void **state)
{
    (void)state;
    cf_plan_t *p = compile();
    cf_diag_list_t *d = cf_diag_list_new();
    size_t n;
    assert_int_equal(cf_plan_check_batch(p, "/nonexistent/batch.csv", d, &n), CF_ERR_IO);
    cf_diag_list_free(d);
    cf_plan_free(p);
}

static void test_many_bad_records_are_capped(void **state)
{
    (void)state;
    size_t cap = 1 << 20;
    char *csv = malloc(cap);
    size_t off = (size_t)snprintf(csv, cap, "ID,PIN,NEW_KEY\n");
    for (int i = 0; i < 500; i++)
        off += (size_t)snprintf(csv + off, cap - off, "%d,,%s\n", i, key_a);
    cf_diag_list_t *d;
    size_t n = 0;
    assert_int_equal(check(csv, &d, &n), CF_ERR_INVALID);
    assert_int_equal(n, 500);
    assert_true(cf_diag_errors(d) <= 101);
    assert_true(has_diag(d, 0, "500 records have errors"));
    cf_diag_list_free(d);
    free(csv);
}

static void test_other_separator_is_named(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    size_t n = 0;
    assert_int_equal(check("ID;PIN;NEW_KEY\n1;1234;00\n", &d, &n), CF_ERR_INVALID);
    assert_int_equal(cf_diag_errors(d), 1);
    assert_true(has_diag(d, 1, "holds ';': the batch must separate its columns with commas"));
    cf_diag_list_free(d);
    assert_int_equal(check("ID\tPIN\tNEW_KEY\n1\t1234\t00\n", &d, &n), CF_ERR_INVALID);
    assert_true(has_diag(d, 1, "holds a tab"));
    cf_diag_list_free(d);
}

static void test_repeated_ids_are_errors_naming_both_lines(void **state)
{
    (void)state;
    char csv[1024];
    snprintf(csv, sizeof(csv),
             "ID,PIN,NEW_KEY\nA-17,1234,%s\nB-2,1234,%s\nA-17,5678,%s\n,1111,%s\n,2222,%s\n", key_a,
             key_a, key_a, key_a, key_a);
    cf_diag_list_t *d;
    size_t n = 0;
    assert_int_equal(check(csv, &d, &n), CF_ERR_INVALID);
    assert_int_equal(n, 5);
    /* line 4 repeats line 2; empty IDs are not IDs */
    assert_int_equal(cf_diag_errors(d), 1);
    assert_true(has_diag(d, 4, "the ID of this row is the ID of line 2"));
    for (size_t i = 0; i < cf_diag_count(d); i++)
        assert_null(strstr(cf_diag_message(d, i), "A-17"));
    cf_diag_list_free(d);
}

static void test_large_batch_streams_in_flat_memory(void **state)
{
    (void)state;
    char *path = strdup("/tmp/cf_batch_big_XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "ID,PIN,NEW_KEY\n");
    const size_t records = 200000;
    for (size_t i = 0; i < records; i++)
        fprintf(f, "%zu,%06zu,%s\n", i, i % 1000000, key_a);
    fclose(f);
    cf_plan_t *p = compile();
    cf_diag_list_t *d = cf_diag_list_new();
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    size_t n = 0;
    assert_int_equal(cf_plan_check_batch(p, path, d, &n), CF_OK);
    getrusage(RUSAGE_SELF, &after);
    assert_int_equal(n, records);
    /* ~14 MB of input; peak memory must not follow it: only the IDs'
     * digests grow, 8 bytes a record in a table at most 3/4 full (16 at
     * worst, while it doubles). */
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer keeps freed memory in quarantine and pads every
     * allocation: its peak says nothing about the reader's. */
    (void)before;
    (void)after;
#else
    assert_true(after.ru_maxrss - before.ru_maxrss < 4096 + (long)(records * 16 / 1024));
#endif
    unlink(path);
    free(path);
    cf_diag_list_free(d);
    cf_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_batch_counts_records),
        cmocka_unit_test(test_missing_column_reported_once_on_header),
        cmocka_unit_test(test_bad_cells_reported_at_record_line_without_value),
        cmocka_unit_test(test_malformed_record_and_empty_batch),
        cmocka_unit_test(test_unreadable_file_is_io_error),
        cmocka_unit_test(test_many_bad_records_are_capped),
        cmocka_unit_test(test_repeated_ids_are_errors_naming_both_lines),
        cmocka_unit_test(test_other_separator_is_named),
        cmocka_unit_test(test_large_batch_streams_in_flat_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
