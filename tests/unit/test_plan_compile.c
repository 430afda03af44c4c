/*
 * test_plan_compile.c - the encoding-description compiler: every value
 * form, the step order, and each validation rule with its line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <cardforge/plan.h>

/* Compile text; returns the plan (or NULL) and leaves diagnostics in *d. */
static cf_plan_t *compile(const char *text, cf_diag_list_t **d)
{
    *d = cf_diag_list_new();
    cf_plan_t *plan = NULL;
    cf_err_t e = cf_plan_compile_mem("t.ini", text, strlen(text), *d, &plan);
    if (e == CF_OK)
        assert_non_null(plan);
    else
        assert_null(plan);
    return plan;
}

/* 1 when a diagnostic of severity sev at line contains needle. */
static int has_diag(const cf_diag_list_t *d, cf_severity_t sev, unsigned long line,
                    const char *needle)
{
    for (size_t i = 0; i < cf_diag_count(d); i++)
        if (cf_diag_severity(d, i) == sev && cf_diag_line(d, i) == line &&
            strstr(cf_diag_message(d, i), needle) != NULL)
            return 1;
    return 0;
}

/* Expect compilation to fail with an error at line containing needle. */
static void expect_error(const char *text, unsigned long line, const char *needle)
{
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    if (!has_diag(d, CF_SEV_ERROR, line, needle)) {
        cf_diag_print(d, stderr);
        fail_msg("expected error at line %lu containing '%s'", line, needle);
    }
    assert_null(p);
    cf_diag_list_free(d);
}

static void expect_kinds(const cf_plan_t *p, const cf_step_kind_t *kinds, size_t n)
{
    assert_int_equal(cf_plan_step_count(p), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cf_plan_step(p, i)->kind, kinds[i]);
}

static void test_set_pin_with_puk_and_new_puk(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n"
                           "PUK=#13579\n",
                           &d);
    assert_non_null(p);
    assert_int_equal(cf_diag_count(d), 0);
    cf_step_kind_t k[] = {CF_STEP_SET_PIN_BY_PUK, CF_STEP_CHANGE_PUK};
    expect_kinds(p, k, 2);
    assert_int_equal(cf_plan_step(p, 0)->credential, CF_PARAM_INITIAL_PUK);
    assert_int_equal(cf_plan_step(p, 0)->new_value, CF_PARAM_PIN);
    assert_int_equal(cf_plan_step(p, 1)->new_value, CF_PARAM_PUK);
    assert_int_equal(cf_plan_source(p, CF_PARAM_PIN), CF_SOURCE_LITERAL);
    assert_int_equal(cf_plan_param_line(p, CF_PARAM_PUK), 5);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_admin_key_rotation_with_cr_key_uses_new_key(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Fields]\nK=\nNK=\nPIN=\n[Description]\nSetPIN=true\nPIN=PIN\n"
                           "CardManagerKey=K\nNewCardManagerKey=NK\nInitCRKey=true\n"
                           "UseCardManagerKey=true\n[Application_B]\nBlockCard=true\n",
                           &d);
    assert_non_null(p);
    cf_step_kind_t k[] = {CF_STEP_AUTH_ADMIN, CF_STEP_SET_PIN_BY_ADMIN, CF_STEP_ROTATE_ADMIN_KEY,
                          CF_STEP_INSTALL_CR_KEY, CF_STEP_BLOCK_PIN};
    expect_kinds(p, k, 5);
    assert_int_equal(cf_plan_step(p, 3)->new_value, CF_PARAM_NEW_CARD_MANAGER_KEY);
    assert_int_equal(cf_plan_step(p, 4)->line, 13);
    assert_int_equal(cf_plan_field_count(p), 3);
    assert_string_equal(cf_plan_param_field(p, CF_PARAM_CARD_MANAGER_KEY), "K");
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_pin_by_puk_with_key_rotation_sets_pin_with_puk(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n"
                           "PUK=#87654321\n"
                           "CardManagerKey=#010203040506070801020304050607080102030405060708\n"
                           "NewCardManagerKey=#00112233445566778899AABBCCDDEEFF0011223344556677\n"
                           "[Application_B]\nBlockCard=true\n",
                           &d);
    assert_non_null(p);
    assert_int_equal(cf_diag_count(d), 0);
    cf_step_kind_t k[] = {CF_STEP_AUTH_ADMIN, CF_STEP_SET_PIN_BY_PUK, CF_STEP_CHANGE_PUK,
                          CF_STEP_ROTATE_ADMIN_KEY, CF_STEP_BLOCK_PIN};
    expect_kinds(p, k, 5);
    assert_int_equal(cf_plan_step(p, 1)->credential, CF_PARAM_INITIAL_PUK);
    cf_plan_free(p);
    cf_diag_list_free(d);

    /* The same without a rotation: the key is named but nothing uses it. */
    p = compile("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n"
                "CardManagerKey=#010203040506070801020304050607080102030405060708\n",
                &d);
    assert_non_null(p);
    assert_true(has_diag(d, CF_SEV_WARNING, 5, "no step uses it (with InitialPUK"));
    cf_step_kind_t k2[] = {CF_STEP_SET_PIN_BY_PUK};
    expect_kinds(p, k2, 1);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_cr_key_without_rotation_is_current_key(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Fields]\nCARD_MANAGER_KEY=\n[Description]\nInitCRKey=true\n"
                           "UseCardManagerKey=true\nCardManagerKey=CARD_MANAGER_KEY\n",
                           &d);
    assert_non_null(p);
    cf_step_kind_t k[] = {CF_STEP_AUTH_ADMIN, CF_STEP_INSTALL_CR_KEY};
    expect_kinds(p, k, 2);
    assert_int_equal(cf_plan_step(p, 1)->new_value, CF_PARAM_CARD_MANAGER_KEY);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_block_only_warns_nothing_can_unblock(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Application_B]\nBlockCard=TRUE\n", &d);
    assert_non_null(p);
    cf_step_kind_t k[] = {CF_STEP_BLOCK_PIN};
    expect_kinds(p, k, 1);
    assert_true(has_diag(d, CF_SEV_WARNING, 2, "could unblock"));
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_prompt_value_form(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=true\nPIN=!FROM_USER_DIALOG_2_FIELD\n"
                           "InitialPUK=#12345678\n",
                           &d);
    assert_non_null(p);
    assert_int_equal(cf_plan_source(p, CF_PARAM_PIN), CF_SOURCE_PROMPT);
    assert_int_equal(cf_plan_param_dialog(p, CF_PARAM_PIN), 2);
    assert_true(cf_plan_has_prompts(p));
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_case_insensitive_keys_bom_crlf_comments(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("\xEF\xBB\xBF; comment\r\n# another\r\n[description]\r\n"
                           "  setpin = True  \r\npin=#1234\r\ninitialpuk=#12345678\r\n",
                           &d);
    assert_non_null(p);
    assert_int_equal(cf_diag_count(d), 0);
    assert_int_equal(cf_plan_step_count(p), 1);
    assert_int_equal(cf_plan_param_line(p, CF_PARAM_PIN), 5);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_unknown_section_and_key(void **state)
{
    (void)state;
    expect_error("[Description]\nSetPIN=true\nPIN=#1\nInitialPUK=#2\n[Extra]\nX=1\n", 5,
                 "unknown section [Extra]");
    expect_error("[Description]\nSetPIN=true\nPIN=#1\nInitialPUK=#2\nColour=red\n", 5,
                 "unknown key 'Colour'");
    expect_error("[Application_B]\nBlockCard=true\nLock=1\n", 3, "unknown key 'Lock'");
    expect_error("X=1\n[Application_B]\nBlockCard=true\n", 1, "before any [Section]");
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_error("[Description]\nSetPIN=true\nPIN=#1\nPIN=#2\nInitialPUK=#2\n", 4,
                 "duplicate key PIN (first at line 3)");
    expect_error("[Description]\nSetPIN=true\nSetPIN=false\nPIN=#1\nInitialPUK=#2\n", 3,
                 "duplicate key SetPIN");
    expect_error("[Fields]\nA=\nA=1\n[Description]\nSetPIN=true\nPIN=A\nInitialPUK=#2\n", 3,
                 "duplicate field A");
    expect_error("[Application_B]\nBlockCard=true\n[Application_B]\n", 3, "appears twice");
    expect_error("[Application_B]\nBlockCard=true\nBlockCard=true\n", 3, "duplicate key BlockCard");
}

static void test_field_referenced_not_declared(void **state)
{
    (void)state;
    expect_error("[Description]\nSetPIN=true\nPIN=USER_PIN\nInitialPUK=#12345678\n", 3,
                 "PIN names a field that is not declared in [Fields] (declared: none)");
}

/* A PIN or a key typed without its '#' has the form of a field name: the
 * message names the line and the key, never the text. */
static void test_value_typed_without_hash_is_never_echoed(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "[Fields]\nNEW_PUK=\n[Description]\nSetPIN=true\nPIN=Secret99\nInitialPUK=#12345678\n"
        "PUK=NEW_PUK\n",
        "[Fields]\nNEW_PUK=\n[Description]\nSetPIN=true\nPIN=#123456\nPUK=NEW_PUK\n"
        "CardManagerKey=ABCDEF0102030405060708090A0B0C0D0E0F101112131415\n",
    };
    static const char *const values[] = {"Secret99", "ABCDEF0102030405060708090A0B0C0D0E0F"};
    static const unsigned long lines[] = {5, 7};
    for (size_t i = 0; i < 2; i++) {
        cf_diag_list_t *d;
        cf_plan_t *p = compile(texts[i], &d);
        assert_null(p);
        char out[2048] = "";
        FILE *f = fmemopen(out, sizeof(out) - 1, "w");
        assert_non_null(f);
        cf_diag_print(d, f);
        fclose(f);
        assert_null(strstr(out, values[i]));
        assert_true(has_diag(d, CF_SEV_ERROR, lines[i], "(declared: NEW_PUK)"));
        assert_true(has_diag(d, CF_SEV_ERROR, lines[i], "needs the leading #"));
        cf_diag_list_free(d);
    }
}

static void test_field_declared_never_used_warns(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Fields]\nSPARE=\n[Application_B]\nBlockCard=true\n", &d);
    assert_non_null(p);
    assert_true(has_diag(d, CF_SEV_WARNING, 2, "SPARE is declared but never used"));
    assert_int_equal(cf_plan_field_count(p), 0);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_combination_rules(void **state)
{
    (void)state;
    char buf[512];
    expect_error("[Description]\n"
                 "NewCardManagerKey=#000000000000000000000000000000000000000000000000\n",
                 2, "NewCardManagerKey needs CardManagerKey");
    expect_error("[Description]\nInitCRKey=true\nUseCardManagerKey=true\n", 2,
                 "InitCRKey=true needs CardManagerKey");
    expect_error("[Description]\nSetPIN=true\nPIN=#1234\nPUK=#1234\n"
                 "CardManagerKey=#000000000000000000000000000000000000000000000000\n",
                 4, "PUK (the new PUK) needs InitialPUK");
    expect_error("[Description]\nSetPIN=true\nInitialPUK=#12345678\n", 2, "SetPIN=true but no PIN");
    expect_error("[Description]\nSetPIN=true\nPIN=#1234\n", 2,
                 "needs InitialPUK or "
                 "CardManagerKey");
    snprintf(buf, sizeof(buf), "[Description]\nInitCRKey=true\nCardManagerKey=%s\n",
             "#000000000000000000000000000000000000000000000000");
    expect_error(buf, 2, "needs UseCardManagerKey=true");
}

static void test_literal_key_lengths(void **state)
{
    (void)state;
    const char *good[] = {"00112233445566778899AABBCCDDEEFF",
                          "000000000000000000000000000000000000000000000000",
                          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"};
    for (size_t i = 0; i < 3; i++) {
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "[Description]\nCardManagerKey=#%s\nInitCRKey=true\nUseCardManagerKey=true\n",
                 good[i]);
        cf_diag_list_t *d;
        cf_plan_t *p = compile(buf, &d);
        assert_non_null(p);
        cf_plan_free(p);
        cf_diag_list_free(d);
    }
    expect_error("[Description]\nCardManagerKey=#0011\nInitCRKey=true\nUseCardManagerKey=true\n", 2,
                 "16, 24 or 32 bytes");
    expect_error("[Description]\nCardManagerKey=#00112233445566778899AABBCCDDEEFG\n"
                 "InitCRKey=true\nUseCardManagerKey=true\n",
                 2, "hex digits");
    /* A field default used as a key is checked where it is declared. */
    expect_error("[Fields]\nK=XYZ\n[Description]\nCardManagerKey=K\nInitCRKey=true\n"
                 "UseCardManagerKey=true\n",
                 2, "default of field K");
}

static void test_literal_pin_empty_or_too_long(void **state)
{
    (void)state;
    expect_error("[Description]\nSetPIN=true\nPIN=#\nInitialPUK=#12345678\n", 3, "empty value");
    expect_error("[Description]\nSetPIN=true\nPIN=#12345678901234567\nInitialPUK=#12345678\n", 3,
                 "longer than any card type accepts");
    expect_error("[Description]\nSetPIN=true\nPIN=\nInitialPUK=#12345678\n", 3, "has no value");
}

static void test_bad_booleans_and_value_forms(void **state)
{
    (void)state;
    expect_error("[Description]\nSetPIN=yes\n", 2, "SetPIN must be true or false");
    expect_error("[Application_B]\nBlockCard=1\n", 2, "BlockCard must be true or false");
    expect_error("[Description]\nSetPIN=true\nPIN=!FROM_USER_DIALOG_X_FIELD\n"
                 "InitialPUK=#12345678\n",
                 3, "!FROM_USER_DIALOG_<n>_FIELD");
    expect_error("[Description]\nSetPIN=true\nPIN=12 34\nInitialPUK=#12345678\n", 3,
                 "literal needs the leading #");
}

static void test_empty_and_comment_only_files(void **state)
{
    (void)state;
    expect_error("", 0, "empty description");
    expect_error("; only a comment\n\n", 0, "empty description");
    expect_error("[Description]\n", 0, "nothing to be done");
}

static void test_not_utf8_nul_and_long_lines(void **state)
{
    (void)state;
    expect_error("[Application_B]\nBlockCard=true\n; caf\xe9\n", 3, "not valid UTF-8");
    expect_error("[Application_B]\nBlockCard=true\n; \xed\xa0\x80 surrogate\n", 3,
                 "not valid UTF-8");
    expect_error("[Application_B]\nBlockCard=true\n; \xc0\xaf overlong\n", 3, "not valid UTF-8");
    char nul[] = "[Application_B]\nBlockCard=true\n;x\0y\n";
    cf_diag_list_t *d = cf_diag_list_new();
    cf_plan_t *p = NULL;
    assert_int_equal(cf_plan_compile_mem("t.ini", nul, sizeof(nul) - 1, d, &p), CF_ERR_INVALID);
    assert_true(has_diag(d, CF_SEV_ERROR, 3, "NUL byte"));
    cf_diag_list_free(d);

    char longline[400];
    memset(longline, 0, sizeof(longline));
    strcpy(longline, "[Application_B]\nBlockCard=true\n;");
    size_t n = strlen(longline);
    memset(longline + n, 'x', 250);
    longline[n + 250] = '\n';
    expect_error(longline, 3, "the limit is 198");
    /* UTF-8 that is valid passes. */
    d = cf_diag_list_new();
    const char *ok =
        "; caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\n[Application_B]\nBlockCard=true\n";
    assert_int_equal(cf_plan_compile_mem("t.ini", ok, strlen(ok), d, &p), CF_OK);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_indented_line_is_not_a_continuation(void **state)
{
    (void)state;
    /* inih would glue an indented line onto the previous value. */
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=true\nPIN=#1234\n    InitialPUK=#12345678\n", &d);
    assert_non_null(p);
    assert_int_equal(cf_plan_source(p, CF_PARAM_INITIAL_PUK), CF_SOURCE_LITERAL);
    assert_int_equal(cf_plan_param_line(p, CF_PARAM_INITIAL_PUK), 4);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_every_problem_reported_in_line_order(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=maybe\nPIN=#\nFoo=1\n[Nope]\n", &d);
    assert_null(p);
    assert_true(cf_diag_errors(d) >= 4);
    for (size_t i = 1; i < cf_diag_count(d); i++)
        assert_true(cf_diag_line(d, i - 1) <= cf_diag_line(d, i));
    cf_diag_list_free(d);
}

/* ---- resolution ---- */

struct row {
    const char *names[4];
    const char *values[4];
};

static const char *lookup(void *ctx, const char *field, size_t *len)
{
    const struct row *r = ctx;
    for (int i = 0; i < 4 && r->names[i]; i++)
        if (strcmp(r->names[i], field) == 0) {
            *len = strlen(r->values[i]);
            return r->values[i];
        }
    return NULL;
}

static void test_resolve_uses_column_then_default(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Fields]\nPIN=\nPUK0=12345678\n[Description]\nSetPIN=true\n"
                           "PIN=PIN\nInitialPUK=PUK0\n",
                           &d);
    assert_non_null(p);
    struct row r = {{"PIN", NULL}, {"482915", NULL}};
    cf_card_values_t *v = NULL;
    assert_int_equal(cf_plan_resolve(p, lookup, &r, NULL, NULL, "b.csv", 2, d, &v), CF_OK);
    assert_string_equal(cf_secret_str(cf_card_values_get(v, CF_PARAM_PIN)), "482915");
    assert_string_equal(cf_secret_str(cf_card_values_get(v, CF_PARAM_INITIAL_PUK)), "12345678");
    assert_null(cf_card_values_get(v, CF_PARAM_PUK));
    cf_card_values_free(v);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_resolve_reports_missing_and_bad_cells_without_values(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Fields]\nPIN=\nK=\nNK=\n[Description]\nSetPIN=true\nPIN=PIN\n"
                           "CardManagerKey=K\nNewCardManagerKey=NK\n",
                           &d);
    assert_non_null(p);
    struct row r = {{"PIN", "K", NULL}, {"", "SECRETXYZ", NULL}};
    cf_card_values_t *v = NULL;
    assert_int_equal(cf_plan_resolve(p, lookup, &r, NULL, NULL, "b.csv", 7, d, &v), CF_ERR_INVALID);
    assert_null(v);
    assert_true(has_diag(d, CF_SEV_ERROR, 7, "column PIN is empty"));
    assert_true(has_diag(d, CF_SEV_ERROR, 7, "column K (used as CardManagerKey)"));
    assert_true(has_diag(d, CF_SEV_ERROR, 7, "no column NK"));
    for (size_t i = 0; i < cf_diag_count(d); i++)
        assert_null(strstr(cf_diag_message(d, i), "SECRETXYZ"));
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static cf_err_t answer_prompt(void *ctx, unsigned dialog, cf_param_t p, cf_secret_t **out)
{
    unsigned *asked = ctx;
    *asked = dialog;
    assert_int_equal(p, CF_PARAM_PIN);
    *out = cf_secret_new("9999", 4);
    return CF_OK;
}

static void test_resolve_asks_prompt_once_per_card(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=true\nPIN=!FROM_USER_DIALOG_7_FIELD\n"
                           "InitialPUK=#12345678\n",
                           &d);
    unsigned asked = 0;
    cf_card_values_t *v = NULL;
    assert_int_equal(cf_plan_resolve(p, NULL, NULL, answer_prompt, &asked, "desk", 0, d, &v),
                     CF_OK);
    assert_int_equal(asked, 7);
    assert_string_equal(cf_secret_str(cf_card_values_get(v, CF_PARAM_PIN)), "9999");
    cf_card_values_free(v);
    /* Without a prompt function (validation) nothing is asked. */
    assert_int_equal(cf_plan_resolve(p, NULL, NULL, NULL, NULL, "desk", 0, d, &v), CF_OK);
    assert_null(cf_card_values_get(v, CF_PARAM_PIN));
    cf_card_values_free(v);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_sample_descriptions_compile(void **state)
{
    (void)state;
    const char *samples[] = {"block-before-pickup", "pin-by-puk-literal", "pin-by-puk-per-card",
                             "pin-by-admin-key-rotate", "offline-unblock"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/samples/%s/description.ini", CF_SOURCE_DIR, samples[i]);
        cf_diag_list_t *d = cf_diag_list_new();
        cf_plan_t *p = NULL;
        assert_int_equal(cf_plan_compile(path, d, &p), CF_OK);
        assert_int_equal(cf_diag_warnings(d), 0);
        cf_plan_free(p);
        cf_diag_list_free(d);
    }
}

/* The plan's fingerprint is the SHA-256 of exactly the bytes compiled (the
 * runner journals it instead of reading the file a second time): it matches
 * a digest taken independently, and one changed byte changes it. */
static void test_fingerprint_is_sha256_of_compiled_bytes(void **state)
{
    (void)state;
    const char *text = "[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n";
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    assert_non_null(p);
    unsigned char md[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL), 1);
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(cf_plan_sha256(p), hex);

    char *other = strdup(text);
    assert_non_null(other);
    other[strlen(other) - 2] = '9'; /* InitialPUK=#12345679 */
    cf_diag_list_t *d2;
    cf_plan_t *p2 = compile(other, &d2);
    assert_non_null(p2);
    assert_string_not_equal(cf_plan_sha256(p2), cf_plan_sha256(p));
    cf_plan_free(p2);
    cf_diag_list_free(d2);
    free(other);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

/* ---- [Application_PIV] identity objects ---------------------------------- */

static void test_chuid_and_ccc_outside_application_piv_are_errors_at_their_line(void **state)
{
    (void)state;
    expect_error("[Description]\n[Application_GIDS]\nCHUID=generate\n", 3,
                 "CHUID is a PIV data object: it belongs in [Application_PIV], not "
                 "[Application_GIDS]");
    expect_error("[Application_B]\nBlockCard=true\nCCC=generate\n", 3,
                 "belongs in [Application_PIV]");
    expect_error("[Application_PIV]\nCHUID=yes\n", 2, "CHUID must be 'generate'");
    expect_error("[Application_PIV]\nCHUID=generate\nchuid=generate\n", 3,
                 "duplicate key chuid (first at line 2)");
    expect_error("[Application_PIV]\nCCC=generate\nCHUIDExpiry=5\n", 3,
                 "CHUIDExpiry needs CHUID=generate");
    expect_error("[Application_PIV]\nCHUID=generate\nCHUIDExpiry=20310230\n", 3,
                 "is not a date from 20000101 to 20991231");
    expect_error("[Application_PIV]\nCHUID=generate\nCHUIDExpiry=21\n", 3,
                 "a number of years from 1 to 20");
    expect_error("[Application_PIV]\nCHUID=generate\nCHUIDExpiry=2031-01-01\n", 3,
                 "must be a date YYYYMMDD");
    expect_error("[Application_PIV]\nLock=1\n", 2, "also CHUID, CHUIDExpiry, CCC");
}

static void test_chuid_without_card_manager_key_warns_of_the_factory_key(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Application_PIV]\nCHUID=generate\nCCC=generate\n", &d);
    assert_non_null(p);
    assert_true(has_diag(d, CF_SEV_WARNING, 2, "factory management key"));
    cf_step_kind_t k[] = {CF_STEP_WRITE_CHUID, CF_STEP_WRITE_CCC};
    expect_kinds(p, k, 2);
    assert_int_equal(cf_plan_step(p, 0)->credential, CF_PARAM_NONE);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_chuid_expiry_is_the_date_or_years_from_the_day_of_writing(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    char out[9];
    time_t leap_day = 1709164800; /* 2024-02-29 00:00 UTC */
    cf_plan_t *p = compile("[Application_PIV]\nCHUID=generate\nCHUIDExpiry=3\n", &d);
    assert_int_equal(cf_plan_chuid_expiry(p, leap_day, out), CF_OK);
    assert_string_equal(out, "20270228"); /* no 29 February in 2027 */
    cf_plan_free(p);
    cf_diag_list_free(d);
    p = compile("[Application_PIV]\nCHUID=generate\n", &d);
    assert_int_equal(cf_plan_chuid_expiry(p, leap_day, out), CF_OK);
    assert_string_equal(out, "20290228"); /* the default: 5 years */
    cf_plan_free(p);
    cf_diag_list_free(d);
    p = compile("[Application_PIV]\nCHUID=generate\nCHUIDExpiry=20320229\n", &d);
    assert_int_equal(cf_plan_chuid_expiry(p, leap_day, out), CF_OK);
    assert_string_equal(out, "20320229");
    cf_plan_free(p);
    cf_diag_list_free(d);
    p = compile("[Application_PIV]\nCCC=generate\n", &d);
    assert_int_equal(cf_plan_chuid_expiry(p, leap_day, out), CF_ERR_NOT_FOUND);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chuid_and_ccc_outside_application_piv_are_errors_at_their_line),
        cmocka_unit_test(test_chuid_without_card_manager_key_warns_of_the_factory_key),
        cmocka_unit_test(test_chuid_expiry_is_the_date_or_years_from_the_day_of_writing),
        cmocka_unit_test(test_set_pin_with_puk_and_new_puk),
        cmocka_unit_test(test_admin_key_rotation_with_cr_key_uses_new_key),
        cmocka_unit_test(test_pin_by_puk_with_key_rotation_sets_pin_with_puk),
        cmocka_unit_test(test_cr_key_without_rotation_is_current_key),
        cmocka_unit_test(test_block_only_warns_nothing_can_unblock),
        cmocka_unit_test(test_prompt_value_form),
        cmocka_unit_test(test_case_insensitive_keys_bom_crlf_comments),
        cmocka_unit_test(test_unknown_section_and_key),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_field_referenced_not_declared),
        cmocka_unit_test(test_value_typed_without_hash_is_never_echoed),
        cmocka_unit_test(test_field_declared_never_used_warns),
        cmocka_unit_test(test_combination_rules),
        cmocka_unit_test(test_literal_key_lengths),
        cmocka_unit_test(test_literal_pin_empty_or_too_long),
        cmocka_unit_test(test_bad_booleans_and_value_forms),
        cmocka_unit_test(test_empty_and_comment_only_files),
        cmocka_unit_test(test_not_utf8_nul_and_long_lines),
        cmocka_unit_test(test_indented_line_is_not_a_continuation),
        cmocka_unit_test(test_every_problem_reported_in_line_order),
        cmocka_unit_test(test_resolve_uses_column_then_default),
        cmocka_unit_test(test_resolve_reports_missing_and_bad_cells_without_values),
        cmocka_unit_test(test_resolve_asks_prompt_once_per_card),
        cmocka_unit_test(test_sample_descriptions_compile),
        cmocka_unit_test(test_fingerprint_is_sha256_of_compiled_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
