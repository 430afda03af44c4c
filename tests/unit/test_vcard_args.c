/* test_vcard_args.c - cardforge-vcard's numeric option parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vcard/args.h"

static void test_u32_accepts_plain_decimals_within_range(void **state)
{
    (void)state;
    uint32_t v = 0;
    assert_int_equal(cf_vcard_parse_u32("0", 0, 10, &v), CF_OK);
    assert_int_equal(v, 0);
    assert_int_equal(cf_vcard_parse_u32("65535", 1, 65535, &v), CF_OK);
    assert_int_equal(v, 65535);
    assert_int_equal(cf_vcard_parse_u32("4294967295", 0, UINT32_MAX, &v), CF_OK);
    assert_int_equal(v, UINT32_MAX);
    assert_int_equal(cf_vcard_parse_u32("007", 1, 10, &v), CF_OK);
    assert_int_equal(v, 7);
}

static void test_u32_rejects_out_of_range_without_writing(void **state)
{
    (void)state;
    uint32_t v = 42;
    assert_int_equal(cf_vcard_parse_u32("65536", 1, 65535, &v), CF_ERR_INVALID);
    assert_int_equal(cf_vcard_parse_u32("0", 1, 65535, &v), CF_ERR_INVALID);
    assert_int_equal(cf_vcard_parse_u32("4294967296", 0, UINT32_MAX, &v), CF_ERR_INVALID);
    /* Far beyond 64 bits: must not wrap around into range. */
    assert_int_equal(cf_vcard_parse_u32("184467440737095516170000", 0, UINT32_MAX, &v),
                     CF_ERR_INVALID);
    assert_int_equal(v, 42);
}

static void test_u32_rejects_anything_but_digits(void **state)
{
    (void)state;
    uint32_t v = 42;
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0", "\xd9\xa1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cf_vcard_parse_u32(bad[i], 0, 1000, &v), CF_ERR_PARSE);
    assert_int_equal(cf_vcard_parse_u32(NULL, 0, 1000, &v), CF_ERR_PARSE);
    assert_int_equal(v, 42);
}

static void test_ms_converts_up_to_three_decimals_to_us(void **state)
{
    (void)state;
    uint32_t us = 0;
    assert_int_equal(cf_vcard_parse_ms("3", 60000, &us), CF_OK);
    assert_int_equal(us, 3000);
    assert_int_equal(cf_vcard_parse_ms("0.25", 60000, &us), CF_OK);
    assert_int_equal(us, 250);
    assert_int_equal(cf_vcard_parse_ms("1.5", 60000, &us), CF_OK);
    assert_int_equal(us, 1500);
    assert_int_equal(cf_vcard_parse_ms("0.001", 60000, &us), CF_OK);
    assert_int_equal(us, 1);
    assert_int_equal(cf_vcard_parse_ms("0", 60000, &us), CF_OK);
    assert_int_equal(us, 0);
    assert_int_equal(cf_vcard_parse_ms("60000", 60000, &us), CF_OK);
    assert_int_equal(us, 60000000);
    assert_int_equal(cf_vcard_parse_ms("60000.000", 60000, &us), CF_OK);
    assert_int_equal(us, 60000000);
}

static void test_ms_rejects_bad_text_and_range(void **state)
{
    (void)state;
    uint32_t us = 42;
    assert_int_equal(cf_vcard_parse_ms("60000.001", 60000, &us), CF_ERR_INVALID);
    assert_int_equal(cf_vcard_parse_ms("60001", 60000, &us), CF_ERR_INVALID);
    assert_int_equal(cf_vcard_parse_ms("1.2345", 60000, &us), CF_ERR_INVALID);
    const char *bad[] = {"", ".5", "1.", "1.a", "1.2a", "1.23a4", "a", "-1", "1,5", " 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cf_vcard_parse_ms(bad[i], 60000, &us), CF_ERR_PARSE);
    assert_int_equal(cf_vcard_parse_ms(NULL, 60000, &us), CF_ERR_PARSE);
    /* The caller's bound itself must fit microseconds in 32 bits. */
    assert_int_equal(cf_vcard_parse_ms("1", 4294968, &us), CF_ERR_ARG);
    assert_int_equal(us, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u32_accepts_plain_decimals_within_range),
        cmocka_unit_test(test_u32_rejects_out_of_range_without_writing),
        cmocka_unit_test(test_u32_rejects_anything_but_digits),
        cmocka_unit_test(test_ms_converts_up_to_three_decimals_to_us),
        cmocka_unit_test(test_ms_rejects_bad_text_and_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
