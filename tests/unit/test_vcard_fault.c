/* test_vcard_fault.c - parsing and lookup of injected faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vcard/fault.h"

static void test_drop_after_accepts_1_to_a_billion(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    assert_int_equal(cf_vcard_fault_set_drop(&f, "1", NULL, 0), CF_OK);
    assert_int_equal(f.drop_after, 1);
    assert_int_equal(cf_vcard_fault_set_drop(&f, "1000000000", NULL, 0), CF_OK);
    assert_int_equal(f.drop_after, 1000000000u);
}

static void test_drop_after_rejects_zero_junk_and_overflow_with_a_message(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    f.drop_after = 7;
    const char *bad[] = {"0", "", "abc", "-1", "+3", " 3", "1000000001", "4294967297", "3x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        assert_int_not_equal(cf_vcard_fault_set_drop(&f, bad[i], err, sizeof(err)), CF_OK);
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
        assert_non_null(strstr(err, quoted));
    }
    assert_int_not_equal(cf_vcard_fault_set_drop(&f, NULL, NULL, 0), CF_OK);
    assert_int_equal(f.drop_after, 7);
}

static void test_drop_on_ins_pulls_on_the_first_whole_command_with_that_ins(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    char err[128] = "";
    const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80};
    const uint8_t change[] = {0x00, 0x24, 0x00, 0x81, 0x00};
    const uint8_t short_cmd[] = {0x00, 0x24};
    assert_int_equal(cf_vcard_fault_drop(&f, 1, change, sizeof(change)), 0);
    assert_int_equal(cf_vcard_fault_set_drop_ins(&f, "2x", err, sizeof(err)), CF_ERR_PARSE);
    assert_non_null(strstr(err, "'2x': expected an INS in hex"));
    assert_int_equal(cf_vcard_fault_set_drop_ins(&f, "024", NULL, 0), CF_ERR_PARSE);
    assert_int_equal(cf_vcard_fault_set_drop_ins(&f, NULL, NULL, 0), CF_ERR_PARSE);
    assert_int_equal(f.drop_on, 0);
    assert_int_equal(cf_vcard_fault_set_drop_ins(&f, "24", NULL, 0), CF_OK);
    assert_int_equal(cf_vcard_fault_drop(&f, 7, verify, sizeof(verify)), 0);
    assert_int_equal(cf_vcard_fault_drop(&f, 8, short_cmd, sizeof(short_cmd)), 0);
    assert_int_equal(cf_vcard_fault_drop(&f, 9, change, sizeof(change)), 1);
    /* with a count as well, either one pulls */
    assert_int_equal(cf_vcard_fault_set_drop(&f, "3", NULL, 0), CF_OK);
    assert_int_equal(cf_vcard_fault_drop(&f, 3, verify, sizeof(verify)), 1);
}

static void test_sw_spec_is_two_and_four_hex_digits_any_case(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    assert_int_equal(cf_vcard_fault_add_sw(&f, "24:6581", NULL, 0), CF_OK);
    assert_int_equal(cf_vcard_fault_add_sw(&f, "ca:6a88", NULL, 0), CF_OK);
    assert_int_equal(cf_vcard_fault_add_sw(&f, "00:9000", NULL, 0), CF_OK);
    assert_int_equal(f.nsw, 3);
    assert_int_equal(f.sw[0].ins, 0x24);
    assert_int_equal(f.sw[0].sw, 0x6581);
    assert_int_equal(f.sw[1].ins, 0xCA);
    assert_int_equal(f.sw[1].sw, 0x6A88);
}

static void test_sw_spec_rejects_bad_shapes_and_leaves_the_table_alone(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    assert_int_equal(cf_vcard_fault_add_sw(&f, "24:6581", NULL, 0), CF_OK);
    const char *shape[] = {"",        "24-6581", "2:6581",  "24:658",  "24:65811", "gg:6581",
                           "24:65g1", "24 6581", ":246581", "246581:", "024:6581"};
    for (size_t i = 0; i < sizeof(shape) / sizeof(shape[0]); i++) {
        char err[128] = "";
        assert_int_equal(cf_vcard_fault_add_sw(&f, shape[i], err, sizeof(err)), CF_ERR_PARSE);
        assert_non_null(strstr(err, "expected INS:SW"));
    }
    assert_int_equal(cf_vcard_fault_add_sw(&f, NULL, NULL, 0), CF_ERR_PARSE);
    assert_int_equal(f.nsw, 1);
}

static void test_sw_must_be_a_real_status_word(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    const char *bad[] = {"24:1234", "24:6081", "24:6000", "24:A000",
                         "24:0000", "24:7000", "24:FFFF"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        assert_int_equal(cf_vcard_fault_add_sw(&f, bad[i], err, sizeof(err)), CF_ERR_INVALID);
        assert_non_null(strstr(err, "SW1 must be"));
    }
    assert_int_equal(cf_vcard_fault_add_sw(&f, "24:6100", NULL, 0), CF_OK);
    assert_int_equal(cf_vcard_fault_add_sw(&f, "25:6FFF", NULL, 0), CF_OK);
    assert_int_equal(cf_vcard_fault_add_sw(&f, "26:9F10", NULL, 0), CF_OK);
    assert_int_equal(f.nsw, 3);
}

static void test_sw_table_refuses_duplicate_ins_and_a_17th_entry(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    char spec[8], err[128];
    assert_int_equal(cf_vcard_fault_add_sw(&f, "24:6581", NULL, 0), CF_OK);
    assert_int_equal(cf_vcard_fault_add_sw(&f, "24:6A80", err, sizeof(err)), CF_ERR_INVALID);
    assert_non_null(strstr(err, "already"));
    for (unsigned i = 1; i < CF_VCARD_FAULT_MAX_SW; i++) {
        snprintf(spec, sizeof(spec), "%02X:6581", 0x30 + i);
        assert_int_equal(cf_vcard_fault_add_sw(&f, spec, NULL, 0), CF_OK);
    }
    assert_int_equal(f.nsw, CF_VCARD_FAULT_MAX_SW);
    assert_int_equal(cf_vcard_fault_add_sw(&f, "F0:6581", err, sizeof(err)), CF_ERR_INVALID);
    assert_non_null(strstr(err, "too many"));
    assert_int_equal(f.nsw, CF_VCARD_FAULT_MAX_SW);
}

static void test_lookup_matches_the_ins_byte_only_of_whole_commands(void **state)
{
    (void)state;
    cf_vcard_faults_t f = {0};
    assert_int_equal(cf_vcard_fault_add_sw(&f, "24:6581", NULL, 0), CF_OK);
    uint16_t sw = 0;
    const uint8_t change[] = {0x00, 0x24, 0x00, 0x80, 0x00};
    const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80};
    const uint8_t shortcmd[] = {0x00, 0x24, 0x00};
    const uint8_t p1_is_24[] = {0x00, 0xA4, 0x24, 0x00};
    assert_int_equal(cf_vcard_fault_sw(&f, change, sizeof(change), &sw), 1);
    assert_int_equal(sw, 0x6581);
    sw = 0;
    assert_int_equal(cf_vcard_fault_sw(&f, verify, sizeof(verify), &sw), 0);
    assert_int_equal(cf_vcard_fault_sw(&f, shortcmd, sizeof(shortcmd), &sw), 0);
    assert_int_equal(cf_vcard_fault_sw(&f, p1_is_24, sizeof(p1_is_24), &sw), 0);
    assert_int_equal(sw, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_after_accepts_1_to_a_billion),
        cmocka_unit_test(test_drop_after_rejects_zero_junk_and_overflow_with_a_message),
        cmocka_unit_test(test_drop_on_ins_pulls_on_the_first_whole_command_with_that_ins),
        cmocka_unit_test(test_sw_spec_is_two_and_four_hex_digits_any_case),
        cmocka_unit_test(test_sw_spec_rejects_bad_shapes_and_leaves_the_table_alone),
        cmocka_unit_test(test_sw_must_be_a_real_status_word),
        cmocka_unit_test(test_sw_table_refuses_duplicate_ins_and_a_17th_entry),
        cmocka_unit_test(test_lookup_matches_the_ins_byte_only_of_whole_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
