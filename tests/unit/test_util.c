/* test_util.c - error table, secrets, hex, cursors and diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
