/*
 * test_keys_check.c - values read over the phone: check values, grouping,
 * forgiving hex parsing, serial normalization.
 *
 * The check-value guarantees (every single wrong character, every swap of
 * neighbours) are proven in docs/helpdesk-guide.md; here they are also
 * verified exhaustively: every possible substitution and every adjacent
 * transposition of many pseudo-random values of each length the helpdesk
 * handles. The generator is seeded, so a failure reproduces.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <cardforge/keys.h>

#define VALUES_PER_LENGTH 300

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* A random string of len characters from alphabet. */
static void random_text(char *out, size_t len, const char *alphabet)
{
    size_t m = strlen(alphabet);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[rng() % m];
    out[len] = 0;
}

static void check_of(const char *text, char out[CF_KEYS_CHECK_SIZE])
{
    assert_int_equal(cf_keys_check_value(text, out), CF_OK);
}

static const char *const all_digits = "0123456789ABCDEFabcdef";

/* Every other digit at every position, in both cases; returns the count. */
static unsigned long substitutions_detected(const char *value)
{
    char orig[CF_KEYS_CHECK_SIZE], changed[CF_KEYS_CHECK_SIZE], buf[80];
    unsigned long n = 0;
    size_t len = strlen(value);
    check_of(value, orig);
    for (size_t i = 0; i < len; i++) {
        for (const char *d = all_digits; *d; d++) {
            if (toupper((unsigned char)*d) == toupper((unsigned char)value[i]))
                continue;
            memcpy(buf, value, len + 1);
            buf[i] = *d;
            check_of(buf, changed);
            assert_string_not_equal(orig, changed);
            n++;
        }
    }
    return n;
}

static unsigned long transpositions_detected(const char *value)
{
    char orig[CF_KEYS_CHECK_SIZE], changed[CF_KEYS_CHECK_SIZE], buf[80];
    unsigned long n = 0;
    size_t len = strlen(value);
    check_of(value, orig);
    for (size_t i = 0; i + 1 < len; i++) {
        if (toupper((unsigned char)value[i]) == toupper((unsigned char)value[i + 1]))
            continue; /* swapping equal digits changes nothing to detect */
        memcpy(buf, value, len + 1);
        buf[i] = value[i + 1];
        buf[i + 1] = value[i];
        check_of(buf, changed);
        assert_string_not_equal(orig, changed);
        n++;
    }
    return n;
}

static const struct {
    size_t len;
    const char *alphabet;
} shapes[] = {
    {16, "0123456789ABCDEF"}, /* 8-byte challenge / response */
    {32, "0123456789ABCDEF"}, /* 16-byte challenge / response, GIDS card ID */
    {8, "0123456789"},        /* decimal serials */
    {10, "0123456789"},       {20, "0123456789abcdef"}, /* a lower-case serial */
    {64, "0123456789ABCDEF"},                           /* the longest serial */
};

static void test_check_catches_every_single_substitution(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        unsigned long tried = 0;
        for (int v = 0; v < VALUES_PER_LENGTH; v++) {
            char value[80];
            random_text(value, shapes[s].len, shapes[s].alphabet);
            tried += substitutions_detected(value);
        }
        /* At least 20 wrong spellings per position: the 15 other values,
         * letters in both cases. */
        assert_true(tried >= (unsigned long)VALUES_PER_LENGTH * shapes[s].len * 20);
    }
}

static void test_check_catches_every_adjacent_transposition(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        unsigned long tried = 0;
        for (int v = 0; v < VALUES_PER_LENGTH; v++) {
            char value[80];
            random_text(value, shapes[s].len, shapes[s].alphabet);
            tried += transpositions_detected(value);
        }
        /* Neighbours differ in most places of random values. */
        assert_true(tried > (unsigned long)VALUES_PER_LENGTH * (shapes[s].len - 1) / 2);
    }
}

static void test_check_catches_errors_in_every_two_digit_neighbourhood(void **state)
{
    (void)state;
    /* All 256 pairs at the start, middle and end of a 16-digit value, so the
     * claim does not hang on what the random values happened to contain. */
    for (size_t pos = 0; pos <= 14; pos += 7) {
        for (unsigned a = 0; a < 16; a++)
            for (unsigned b = 0; b < 16; b++) {
                char value[17];
                memcpy(value, "5A3C0F96E17B28D4", 17);
                value[pos] = "0123456789ABCDEF"[a];
                value[pos + 1] = "0123456789ABCDEF"[b];
                substitutions_detected(value);
                transpositions_detected(value);
            }
    }
}

static void test_check_is_case_insensitive_and_ignores_separators(void **state)
{
    (void)state;
    for (int v = 0; v < 200; v++) {
        char upper[33], lower[33], grouped[64], a[3], b[3], c[3];
        random_text(upper, 32, "0123456789ABCDEF");
        for (size_t i = 0; i <= 32; i++)
            lower[i] = (char)tolower((unsigned char)upper[i]);
        assert_int_equal(cf_keys_group(lower, grouped, sizeof(grouped)), CF_OK);
        grouped[4] = '-';
        check_of(upper, a);
        check_of(lower, b);
        check_of(grouped, c);
        assert_string_equal(a, b);
        assert_string_equal(a, c);
    }
}

static void test_check_is_the_documented_formula(void **state)
{
    (void)state;
    /* int("1" + s, 16) % 97, worked by hand:
     *   "0"    -> 0x10    = 16
     *   "FFFF" -> 0x1FFFF = 131071 = 97 * 1351 + 24
     *   "61"   -> 0x161   = 353    = 97 * 3 + 62 */
    char cv[CF_KEYS_CHECK_SIZE];
    check_of("0", cv);
    assert_string_equal(cv, "16");
    check_of("FFFF", cv);
    assert_string_equal(cv, "24");
    check_of("61", cv);
    assert_string_equal(cv, "62");
    /* The bytes form agrees with the text form. */
    const uint8_t bytes[3] = {0x0a, 0xbc, 0xde};
    char cb[CF_KEYS_CHECK_SIZE];
    cf_keys_check_value_bytes(bytes, 3, cb);
    check_of("0abcde", cv);
    assert_string_equal(cb, cv);
}

static void test_check_sees_a_dropped_leading_zero(void **state)
{
    (void)state;
    char a[3], b[3];
    check_of("0ABC", a);
    check_of("ABC", b);
    assert_string_not_equal(a, b);
}

static void test_check_value_rejects_non_hex(void **state)
{
    (void)state;
    char cv[CF_KEYS_CHECK_SIZE];
    assert_int_equal(cf_keys_check_value("12G4", cv), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_value("", cv), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_value(" - ", cv), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_value("12:34", cv), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_value(NULL, cv), CF_ERR_PARSE);
}

static void test_check_matches_accepts_typed_forms_and_refuses_others(void **state)
{
    (void)state;
    char cv[CF_KEYS_CHECK_SIZE], other[CF_KEYS_CHECK_SIZE];
    check_of("0102030405060708", cv);
    assert_int_equal(cf_keys_check_matches("0102 0304 0506 0708", cv), CF_OK);
    char padded[8];
    snprintf(padded, sizeof(padded), " %s\t", cv);
    assert_int_equal(cf_keys_check_matches("0102030405060708", padded), CF_OK);
    snprintf(other, sizeof(other), "%02d", (cv[0] - '0') * 10 + (cv[1] - '0') == 0 ? 1 : 0);
    assert_int_equal(cf_keys_check_matches("0102030405060708", other), CF_ERR_INVALID);
    assert_int_equal(cf_keys_check_matches("0102030405060709", cv), CF_ERR_INVALID);
    assert_int_equal(cf_keys_check_matches("0102030405060708", "7"), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_matches("0102030405060708", "123"), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_matches("0102030405060708", "97"), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_matches("0102030405060708", "4x"), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_matches("0102030405060708", ""), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_matches("0102030405060708", NULL), CF_ERR_PARSE);
    assert_int_equal(cf_keys_check_matches("01020304050607zz", cv), CF_ERR_PARSE);
}

static void test_group_reads_in_fours(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(cf_keys_group("1a2b3c4d5e6f7081", out, sizeof(out)), CF_OK);
    assert_string_equal(out, "1A2B 3C4D 5E6F 7081");
    assert_int_equal(cf_keys_group("1A-2B 3c4D--5E6F7081", out, sizeof(out)), CF_OK);
    assert_string_equal(out, "1A2B 3C4D 5E6F 7081");
    assert_int_equal(cf_keys_group("12345", out, sizeof(out)), CF_OK);
    assert_string_equal(out, "1234 5");
    assert_int_equal(cf_keys_group("1234", out, sizeof(out)), CF_OK);
    assert_string_equal(out, "1234");
    const uint8_t b[3] = {0xde, 0xad, 0x01};
    assert_int_equal(cf_keys_group_bytes(b, 3, out, CF_KEYS_GROUPED_SIZE(3)), CF_OK);
    assert_string_equal(out, "DEAD 01");
}

static void test_group_refuses_short_buffer_and_bad_text(void **state)
{
    (void)state;
    char out[19];
    assert_int_equal(cf_keys_group("1a2b3c4d5e6f7081", out, sizeof(out)), CF_ERR_BUFFER);
    assert_string_equal(out, "");
    assert_int_equal(cf_keys_group("1a2b3c4d5e6f7081", out, 0), CF_ERR_BUFFER);
    assert_int_equal(cf_keys_group("1a2b3c4d5e6f708", out, sizeof(out)), CF_OK);
    assert_int_equal(cf_keys_group("xyz", out, sizeof(out)), CF_ERR_PARSE);
    const uint8_t b[8] = {0};
    char small[CF_KEYS_GROUPED_SIZE(8) - 1];
    assert_int_equal(cf_keys_group_bytes(b, 8, small, sizeof(small)), CF_ERR_BUFFER);
}

static void test_parse_hex_accepts_what_people_type(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n = 0;
    assert_int_equal(cf_keys_parse_hex("1a2B 3c4D-5e6F\t7081", out, sizeof(out), &n), CF_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "\x1a\x2b\x3c\x4d\x5e\x6f\x70\x81", 8);
    /* Grouped output parses back to the same bytes. */
    char grouped[CF_KEYS_GROUPED_SIZE(8)];
    assert_int_equal(cf_keys_group_bytes(out, 8, grouped, sizeof(grouped)), CF_OK);
    uint8_t back[8];
    assert_int_equal(cf_keys_parse_hex(grouped, back, sizeof(back), &n), CF_OK);
    assert_memory_equal(out, back, 8);
}

static void test_parse_hex_refuses_odd_empty_foreign_and_long(void **state)
{
    (void)state;
    uint8_t out[8];
    size_t n = 99;
    assert_int_equal(cf_keys_parse_hex("123", out, sizeof(out), &n), CF_ERR_PARSE);
    assert_int_equal(n, 0);
    assert_int_equal(cf_keys_parse_hex("", out, sizeof(out), &n), CF_ERR_PARSE);
    assert_int_equal(cf_keys_parse_hex("  --", out, sizeof(out), &n), CF_ERR_PARSE);
    assert_int_equal(cf_keys_parse_hex("12 34 O0", out, sizeof(out), &n), CF_ERR_PARSE);
    assert_int_equal(cf_keys_parse_hex("1234\n", out, sizeof(out), &n), CF_ERR_PARSE);
    assert_int_equal(cf_keys_parse_hex("0x1234", out, sizeof(out), &n), CF_ERR_PARSE);
    assert_int_equal(cf_keys_parse_hex("000102030405060708", out, sizeof(out), &n), CF_ERR_BUFFER);
    assert_int_equal(cf_keys_parse_hex(NULL, out, sizeof(out), &n), CF_ERR_PARSE);
}

static void test_serial_normalizes_spelling_only(void **state)
{
    (void)state;
    char out[CF_KEYS_SERIAL_MAX + 1];
    assert_int_equal(cf_keys_serial_normalize("00a1-b2c3 d4e5\tf60", out, sizeof(out)), CF_OK);
    assert_string_equal(out, "00A1B2C3D4E5F60");
    assert_int_equal(cf_keys_serial_normalize("12345678", out, sizeof(out)), CF_OK);
    assert_string_equal(out, "12345678");
    assert_int_equal(cf_keys_serial_normalize("1234567x", out, sizeof(out)), CF_ERR_PARSE);
    assert_string_equal(out, "");
    assert_int_equal(cf_keys_serial_normalize("", out, sizeof(out)), CF_ERR_PARSE);
    char small[4];
    assert_int_equal(cf_keys_serial_normalize("12345", small, sizeof(small)), CF_ERR_BUFFER);
    char longest[CF_KEYS_SERIAL_MAX + 2];
    memset(longest, 'A', CF_KEYS_SERIAL_MAX + 1);
    longest[CF_KEYS_SERIAL_MAX + 1] = 0;
    assert_int_equal(cf_keys_serial_normalize(longest, out, sizeof(out)), CF_ERR_PARSE);
    longest[CF_KEYS_SERIAL_MAX] = 0;
    assert_int_equal(cf_keys_serial_normalize(longest, out, sizeof(out)), CF_OK);
}

static void test_separators_are_space_tab_and_dash_only(void **state)
{
    (void)state;
    assert_true(cf_keys_is_separator(' '));
    assert_true(cf_keys_is_separator('\t'));
    assert_true(cf_keys_is_separator('-'));
    assert_false(cf_keys_is_separator(':'));
    assert_false(cf_keys_is_separator('\n'));
    assert_false(cf_keys_is_separator('_'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_catches_every_single_substitution),
        cmocka_unit_test(test_check_catches_every_adjacent_transposition),
        cmocka_unit_test(test_check_catches_errors_in_every_two_digit_neighbourhood),
        cmocka_unit_test(test_check_is_case_insensitive_and_ignores_separators),
        cmocka_unit_test(test_check_is_the_documented_formula),
        cmocka_unit_test(test_check_sees_a_dropped_leading_zero),
        cmocka_unit_test(test_check_value_rejects_non_hex),
        cmocka_unit_test(test_check_matches_accepts_typed_forms_and_refuses_others),
        cmocka_unit_test(test_group_reads_in_fours),
        cmocka_unit_test(test_group_refuses_short_buffer_and_bad_text),
        cmocka_unit_test(test_parse_hex_accepts_what_people_type),
        cmocka_unit_test(test_parse_hex_refuses_odd_empty_foreign_and_long),
        cmocka_unit_test(test_serial_normalizes_spelling_only),
        cmocka_unit_test(test_separators_are_space_tab_and_dash_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
