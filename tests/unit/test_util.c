/* test_util.c - error table, secrets, hex, cursors and diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/secret.h>

#include "util/cursor.h"
#include "util/hex.h"

static void test_strerror_names_every_code(void **state)
{
    (void)state;
    /* Every code below 64 is either unknown or has both a name and a message. */
    int known = 0;
    for (int e = 0; e < 64; e++) {
        const char *name = cf_errname((cf_err_t)e);
        const char *msg = cf_strerror((cf_err_t)e);
        assert_non_null(name);
        assert_non_null(msg);
        if (strcmp(name, "CF_ERR_UNKNOWN") != 0) {
            known++;
            assert_string_not_equal(msg, "unknown error");
        } else {
            assert_string_equal(msg, "unknown error");
        }
    }
    assert_true(known >= 30);
    assert_string_equal(cf_errname(CF_ERR_LAST_TRY), "CF_ERR_LAST_TRY");
}

static void test_secret_equal_is_length_and_bytes(void **state)
{
    (void)state;
    cf_secret_t *a = cf_secret_new("123456", 6);
    cf_secret_t *b = cf_secret_new("123456", 6);
    cf_secret_t *c = cf_secret_new("123457", 6);
    cf_secret_t *d = cf_secret_new("12345", 5);
    assert_true(cf_secret_equal(a, b));
    assert_false(cf_secret_equal(a, c));
    assert_false(cf_secret_equal(a, d));
    assert_false(cf_secret_equal(a, NULL));
    assert_string_equal(cf_secret_str(a), "123456");
    assert_int_equal(cf_secret_len(d), 5);
    cf_secret_free(a);
    cf_secret_free(b);
    cf_secret_free(c);
    cf_secret_free(d);
    cf_secret_free(NULL);
}

static void test_secret_from_hex_rejects_bad_digits(void **state)
{
    (void)state;
    cf_secret_t *s = NULL;
    assert_int_equal(cf_secret_from_hex("0102ab", 6, &s), CF_OK);
    assert_int_equal(cf_secret_len(s), 3);
    assert_memory_equal(cf_secret_data(s), "\x01\x02\xab", 3);
    cf_secret_free(s);
    assert_int_equal(cf_secret_from_hex("010", 3, &s), CF_ERR_PARSE);
    assert_null(s);
    assert_int_equal(cf_secret_from_hex("01zz", 4, &s), CF_ERR_PARSE);
    assert_null(s);
}

static void test_hex_roundtrip(void **state)
{
    (void)state;
    uint8_t in[4] = {0x00, 0x7f, 0x80, 0xff}, out[4];
    char txt[9];
    cf_hex_encode(in, 4, txt);
    assert_string_equal(txt, "007F80FF");
    assert_int_equal(cf_hex_decode(txt, 8, out, sizeof(out)), CF_OK);
    assert_memory_equal(in, out, 4);
    assert_true(cf_hex_valid("abCD", 4));
    assert_false(cf_hex_valid("abC", 3));
    assert_false(cf_hex_valid("", 0));
    assert_false(cf_hex_valid("0g", 2));
}

static void test_cursor_never_overreads(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x01, 0x02};
    cf_rcursor c = cf_rcursor_init(buf, sizeof(buf));
    uint16_t v16;
    uint8_t v8;
    const uint8_t *p;
    assert_int_equal(cf_rc_bytes(&c, 3, &p), -1);
    assert_int_equal(c.left, 2); /* a failed get leaves the cursor alone */
    assert_int_equal(cf_rc_u16be(&c, &v16), 0);
    assert_int_equal(v16, 0x0102);
    assert_int_equal(cf_rc_u8(&c, &v8), -1);
}

static void test_tlv_long_forms_and_truncation(void **state)
{
    (void)state;
    uint8_t buf[400];
    uint8_t val[300];
    memset(val, 0x5a, sizeof(val));
    cf_wcursor w = cf_wcursor_init(buf, sizeof(buf));
    cf_wc_tlv(&w, 0x7f71, "\x01", 1);
    cf_wc_tlv(&w, 0x5fc102, val, 200); /* 81 C8 */
    cf_wc_tlv(&w, 0x53, val, 10);
    assert_false(w.overflow);
    const uint8_t *v;
    size_t vlen;
    assert_int_equal(cf_tlv_find(buf, w.len, 0x5fc102, &v, &vlen), 0);
    assert_int_equal(vlen, 200);
    assert_int_equal(cf_tlv_find(buf, w.len, 0x53, &v, &vlen), 0);
    assert_int_equal(vlen, 10);
    /* Cut inside the value: not found, no over-read (ASan would catch it). */
    assert_int_equal(cf_tlv_find(buf, w.len - 5, 0x53, &v, &vlen), -1);
    /* 82 form */
    cf_wcursor w2 = cf_wcursor_init(buf, sizeof(buf));
    cf_wc_tlv(&w2, 0x53, val, 300);
    assert_false(w2.overflow);
    assert_int_equal(buf[1], 0x82);
    /* overflow is sticky and writes nothing */
    cf_wcursor w3 = cf_wcursor_init(buf, 4);
    cf_wc_tlv(&w3, 0x53, val, 10);
    assert_true(w3.overflow);
}

static void test_diag_counts_and_formats(void **state)
{
    (void)state;
    cf_diag_list_t *l = cf_diag_list_new();
    cf_diag_add(l, CF_SEV_ERROR, "a.ini", 3, "bad %s", "thing");
    cf_diag_add(l, CF_SEV_WARNING, "a.ini", 0, "whole file");
    assert_int_equal(cf_diag_count(l), 2);
    assert_int_equal(cf_diag_errors(l), 1);
    assert_int_equal(cf_diag_warnings(l), 1);
    char out[256] = {0};
    FILE *f = fmemopen(out, sizeof(out) - 1, "w");
    cf_diag_print(l, f);
    fclose(f);
    assert_string_equal(out, "a.ini:3: error: bad thing\na.ini: warning: whole file\n");
    cf_diag_list_free(l);
}

/* The VmFlags of the mapping holding addr (from /proc/self/smaps), or "". */
static void vm_flags_of(const void *addr, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    int inside = 0;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

static void test_secret_pages_are_left_out_of_core_dumps(void **state)
{
    (void)state;
    static const uint8_t key[16] = {0x9f, 0x8e, 0x7d, 0x6c};
    cf_secret_t *s = cf_secret_new(key, sizeof(key));
    assert_non_null(s);
    char flags[256];
    vm_flags_of(cf_secret_data(s), flags, sizeof(flags));
    assert_non_null(strstr(flags, " dd"));
    /* A big one spans pages: its last byte is excluded too. */
    uint8_t *big = calloc(1, 10000);
    assert_non_null(big);
    cf_secret_t *b = cf_secret_new(big, 10000);
    assert_non_null(b);
    vm_flags_of(cf_secret_data(b) + 9999, flags, sizeof(flags));
    assert_non_null(strstr(flags, " dd"));
    assert_memory_equal(cf_secret_data(b), big, 10000);
    cf_secret_free(b);
    cf_secret_free(s);
    free(big);
}

/* A protected process killed by SIGQUIT (a core-dumping signal) with the
 * core size limit raised as far as it goes leaves no core. */
static void test_process_protect_leaves_no_core_on_sigquit(void **state)
{
    (void)state;
    char dir[] = "/tmp/cf-core-XXXXXX";
    assert_non_null(mkdtemp(dir));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        if (chdir(dir) != 0 || getrlimit(RLIMIT_CORE, &rl) != 0)
            _exit(10);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_CORE, &rl);
        if (cf_process_protected())
            _exit(11); /* not yet */
        if (cf_process_protect() != CF_OK || !cf_process_protected() ||
            prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
            _exit(12);
        rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
        if (setrlimit(RLIMIT_CORE, &rl) == 0)
            _exit(13); /* the hard limit must hold */
        signal(SIGQUIT, SIG_DFL);
        raise(SIGQUIT);
        _exit(14);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st))
        fail_msg("child exited %d instead of dying of SIGQUIT", WEXITSTATUS(st));
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGQUIT);
    assert_false(WCOREDUMP(st));
    assert_int_equal(rmdir(dir), 0); /* empty: no core file */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_names_every_code),
        cmocka_unit_test(test_secret_equal_is_length_and_bytes),
        cmocka_unit_test(test_secret_from_hex_rejects_bad_digits),
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_cursor_never_overreads),
        cmocka_unit_test(test_tlv_long_forms_and_truncation),
        cmocka_unit_test(test_diag_counts_and_formats),
        cmocka_unit_test(test_secret_pages_are_left_out_of_core_dumps),
        cmocka_unit_test(test_process_protect_leaves_no_core_on_sigquit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
