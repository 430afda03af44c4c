/*
 * test_plan_derive.c - derived (@derive) and random (@random) values in
 * encoding descriptions: every form and every malformed one at its line,
 * the warnings about values nobody will know, the per-card stage against a
 * key file made here (checked against cf_keys_derive and the published
 * vectors of docs/key-derivation.md), the origin a journal records, and
 * batch checks that accept parameters without a batch value.
 */
#include <setjmp.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/keys.h>
#include <cardforge/plan.h>

#define M1 "000102030405060708090A0B0C0D0E0F"
#define M3 "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
#define ZERO_KEY "000000000000000000000000000000000000000000000000"

/* issuing v1 = M1 (AES-128), issuing v2 = M3 (AES-256), pins v1 = M3. */
static const char *keyfile_text = "# test keys\n"
                                  "issuing 1 aes128 " M1 "\n"
                                  "issuing 2 aes256 " M3 "\n"
                                  "pins 1 aes256 " M3 "\n";

static cf_keyfile_t *keyfile(const char *text)
{
    cf_keyfile_t *kf = NULL;
    char err[CF_KEYS_ERRLEN];
    if (cf_keyfile_parse("keys.txt", text, strlen(text), &kf, err, sizeof(err)) != CF_OK)
        fail_msg("key file: %s", err);
    return kf;
}

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

/* Compile text that must be valid and give no diagnostics at all. */
static cf_plan_t *compile_clean(const char *text)
{
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    if (p == NULL || cf_diag_count(d) != 0) {
        cf_diag_print(d, stderr);
        fail_msg("expected a clean compile");
    }
    cf_diag_list_free(d);
    return p;
}

/* Compile text that must be valid; warnings allowed. */
static cf_plan_t *compile_ok(const char *text)
{
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    if (p == NULL) {
        cf_diag_print(d, stderr);
        fail_msg("expected a valid description");
    }
    cf_diag_list_free(d);
    return p;
}

static int has_diag(const cf_diag_list_t *d, cf_severity_t sev, unsigned long line,
                    const char *needle)
{
    for (size_t i = 0; i < cf_diag_count(d); i++)
        if (cf_diag_severity(d, i) == sev && cf_diag_line(d, i) == line &&
            strstr(cf_diag_message(d, i), needle) != NULL)
            return 1;
    return 0;
}

static int any_diag_contains(const cf_diag_list_t *d, const char *needle)
{
    for (size_t i = 0; i < cf_diag_count(d); i++)
        if (strstr(cf_diag_message(d, i), needle) != NULL)
            return 1;
    return 0;
}

static void expect_diag(const cf_diag_list_t *d, cf_severity_t sev, unsigned long line,
                        const char *needle)
{
    if (!has_diag(d, sev, line, needle)) {
        cf_diag_print(d, stderr);
        fail_msg("expected %s at line %lu containing '%s'",
                 sev == CF_SEV_ERROR ? "error" : "warning", line, needle);
    }
}

/* A description setting the PIN (line 3) with a literal PUK. */
static void pin_desc(char *buf, size_t len, const char *pin)
{
    snprintf(buf, len,
             "[Description]\nSetPIN=true\nPIN=%s\nInitialPUK=#12345678\n"
             "[Application_B]\nBlockCard=true\n",
             pin);
}

/* A description rotating the admin key to NewCardManagerKey (line 3). */
static void key_desc(char *buf, size_t len, const char *ncmk)
{
    snprintf(buf, len, "[Description]\nCardManagerKey=#" ZERO_KEY "\nNewCardManagerKey=%s\n", ncmk);
}

/* Values of plan p for one card: cf_plan_resolve with no batch, then the
 * card stage. Returns the stage's result; *out is the values (or NULL). */
static cf_err_t resolve_for(const cf_plan_t *p, const char *serial, const cf_keyfile_t *kf,
                            cf_diag_list_t *d, cf_card_values_t **out)
{
    assert_int_equal(cf_plan_resolve(p, NULL, NULL, NULL, NULL, "t", 0, d, out), CF_OK);
    return cf_plan_resolve_card(p, *out, serial, kf, d);
}

static char *hex_of(const cf_secret_t *s)
{
    static char buf[2 * 64 + 1];
    size_t n = cf_secret_len(s);
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02X", cf_secret_data(s)[i]);
    buf[2 * n] = 0;
    return buf;
}

/* ---- the forms ------------------------------------------------------------ */

static void test_derive_key_forms_compile_with_master_version_and_type(void **state)
{
    (void)state;
    static const struct {
        const char *value, *master;
        unsigned version;
        cf_card_key_type_t type;
    } v[] = {
        {"@derive:bureau-admin", "bureau-admin", 0, CF_CARD_KEY_3DES},
        {"@derive:bureau-admin:2", "bureau-admin", 2, CF_CARD_KEY_3DES},
        {"@derive:b.a_1:999999:aes128", "b.a_1", 999999, CF_CARD_KEY_AES128},
        {"@derive:m::aes256", "m", 0, CF_CARD_KEY_AES256},
        {"@derive:m::AES192", "m", 0, CF_CARD_KEY_AES192},
        {"@derive:m:7:3des2", "m", 7, CF_CARD_KEY_3DES2},
        {"@DERIVE:Mixed-Case", "Mixed-Case", 0, CF_CARD_KEY_3DES},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char text[256];
        key_desc(text, sizeof(text), v[i].value);
        cf_plan_t *p = compile_clean(text);
        cf_param_t n = CF_PARAM_NEW_CARD_MANAGER_KEY;
        assert_int_equal(cf_plan_source(p, n), CF_SOURCE_DERIVED);
        assert_string_equal(cf_plan_param_master(p, n), v[i].master);
        assert_int_equal(cf_plan_param_master_version(p, n), v[i].version);
        assert_int_equal(cf_plan_param_key_type(p, n), v[i].type);
        assert_int_equal(cf_plan_param_digits(p, n), 0);
        assert_int_equal(cf_plan_param_line(p, n), 3);
        assert_true(cf_plan_needs_keyfile(p));
        assert_true(cf_plan_needs_card_stage(p));
        /* The literal current key is not derived. */
        assert_null(cf_plan_param_master(p, CF_PARAM_CARD_MANAGER_KEY));
        cf_plan_free(p);
    }
}

static void test_derive_pin_and_puk_forms_take_digit_counts(void **state)
{
    (void)state;
    cf_plan_t *p = compile_clean("[Description]\nSetPIN=true\nPIN=@derive:pins\n"
                                 "InitialPUK=@derive:issuing:1\nPUK=@derive:issuing:2:10\n"
                                 "[Application_B]\nBlockCard=true\n");
    assert_int_equal(cf_plan_source(p, CF_PARAM_PIN), CF_SOURCE_DERIVED);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PIN), 6);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_INITIAL_PUK), 8);
    assert_int_equal(cf_plan_param_master_version(p, CF_PARAM_INITIAL_PUK), 1);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PUK), 10);
    assert_int_equal(cf_plan_param_master_version(p, CF_PARAM_PUK), 2);
    cf_plan_free(p);

    char text[256];
    pin_desc(text, sizeof(text), "@derive:pins::16");
    p = compile_clean(text);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PIN), 16);
    cf_plan_free(p);
    pin_desc(text, sizeof(text), "@derive:pins::4");
    p = compile_clean(text);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PIN), 4);
    cf_plan_free(p);
}

static void test_current_card_manager_key_may_be_derived(void **state)
{
    (void)state;
    /* A card personalized earlier with derived keys, moved to version 2. */
    cf_plan_t *p = compile_clean("[Description]\nCardManagerKey=@derive:issuing:1\n"
                                 "NewCardManagerKey=@derive:issuing:2\n");
    assert_int_equal(cf_plan_source(p, CF_PARAM_CARD_MANAGER_KEY), CF_SOURCE_DERIVED);
    assert_int_equal(cf_plan_step(p, 0)->kind, CF_STEP_AUTH_ADMIN);
    assert_int_equal(cf_plan_step(p, 1)->kind, CF_STEP_ROTATE_ADMIN_KEY);
    cf_plan_free(p);
}

static void test_random_forms_compile_with_defaults(void **state)
{
    (void)state;
    char text[256];
    pin_desc(text, sizeof(text), "@random");
    cf_plan_t *p = compile_clean(text);
    assert_int_equal(cf_plan_source(p, CF_PARAM_PIN), CF_SOURCE_RANDOM);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PIN), 6);
    assert_null(cf_plan_param_master(p, CF_PARAM_PIN));
    assert_false(cf_plan_needs_keyfile(p));
    assert_true(cf_plan_needs_card_stage(p));
    cf_plan_free(p);

    pin_desc(text, sizeof(text), "@Random:8");
    p = compile_clean(text);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PIN), 8);
    cf_plan_free(p);

    key_desc(text, sizeof(text), "@random");
    cf_diag_list_t *d;
    p = compile(text, &d);
    assert_non_null(p);
    assert_int_equal(cf_plan_source(p, CF_PARAM_NEW_CARD_MANAGER_KEY), CF_SOURCE_RANDOM);
    assert_int_equal(cf_plan_param_key_type(p, CF_PARAM_NEW_CARD_MANAGER_KEY), CF_CARD_KEY_3DES);
    cf_plan_free(p);
    cf_diag_list_free(d);

    key_desc(text, sizeof(text), "@random:aes128");
    p = compile(text, &d);
    assert_non_null(p);
    assert_int_equal(cf_plan_param_key_type(p, CF_PARAM_NEW_CARD_MANAGER_KEY), CF_CARD_KEY_AES128);
    cf_plan_free(p);
    cf_diag_list_free(d);

    p = compile_clean("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n"
                      "PUK=@random\nCardManagerKey=#" ZERO_KEY "\nNewCardManagerKey=#" M1 "\n");
    assert_int_equal(cf_plan_source(p, CF_PARAM_PUK), CF_SOURCE_RANDOM);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PUK), 8);
    cf_plan_free(p);
}

static void test_random_refused_for_values_on_the_card_now(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p =
        compile("[Description]\nCardManagerKey=@random\nNewCardManagerKey=#" M1 "\n", &d);
    assert_null(p);
    expect_diag(d, CF_SEV_ERROR, 2, "CardManagerKey cannot be @random");
    cf_diag_list_free(d);

    p = compile("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=@random:8\n", &d);
    assert_null(p);
    expect_diag(d, CF_SEV_ERROR, 4, "InitialPUK cannot be @random");
    cf_diag_list_free(d);
}

static void test_malformed_forms_are_errors_at_their_line(void **state)
{
    (void)state;
    static const struct {
        int key; /* 1: NewCardManagerKey, 0: PIN */
        const char *value, *needle;
    } v[] = {
        {0, "@", "a value starting with @ must be"},
        {0, "@derivee:m", "a value starting with @ must be"},
        {1, "@rand", "a value starting with @ must be"},
        {0, "@derive", "needs a master key name"},
        {1, "@derive:", "needs a master key name"},
        {1, "@derive::1", "needs a master key name"},
        {1, "@derive:no/slash", "a master key name is 1 to 64"},
        {1, "@derive:a:1:3des:x", "too many ':' parts"},
        {1, "@derive:m:0", "version must be a whole number from 1 to 999999"},
        {1, "@derive:m:01", "version must be"},
        {1, "@derive:m:1000000", "version must be"},
        {1, "@derive:m:v2", "version must be"},
        {1, "@derive:m:-1", "version must be"},
        {1, "@derive:m:1:", "the key type must be"},
        {1, "@derive:m:1:des", "the key type must be"},
        {1, "@derive:m::6", "the key type must be"},
        {1, "@derive:m::aes128x", "the key type must be"},
        {0, "@derive:m::aes128", "the number of digits must be"},
        {0, "@derive:m:1:3", "the number of digits must be a whole number from 4 to 16"},
        {0, "@derive:m:1:17", "the number of digits must be"},
        {0, "@derive:m:1:08", "the number of digits must be"},
        {0, "@random:", "the number of digits must be"},
        {0, "@random:3", "the number of digits must be"},
        {0, "@random:aes128", "the number of digits must be"},
        {1, "@random:", "the key type must be"},
        {1, "@random:8", "the key type must be"},
        {1, "@random:aes128:1", "too many ':' parts"},
        {0, "@random:6:6", "too many ':' parts"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char text[256];
        if (v[i].key)
            key_desc(text, sizeof(text), v[i].value);
        else
            pin_desc(text, sizeof(text), v[i].value);
        cf_diag_list_t *d;
        cf_plan_t *p = compile(text, &d);
        if (p != NULL)
            fail_msg("'%s' compiled", v[i].value);
        expect_diag(d, CF_SEV_ERROR, 3, v[i].needle);
        expect_diag(d, CF_SEV_ERROR, 3, v[i].key ? "NewCardManagerKey" : "PIN");
        cf_diag_list_free(d);
    }

    /* A master key name longer than the key file allows. */
    char name[80], value[96], text[256];
    memset(name, 'k', 65);
    name[65] = 0;
    snprintf(value, sizeof(value), "@derive:%s", name);
    key_desc(text, sizeof(text), value);
    cf_diag_list_t *d;
    assert_null(compile(text, &d));
    expect_diag(d, CF_SEV_ERROR, 3, "a master key name is 1 to 64");
    cf_diag_list_free(d);
}

static void test_messages_do_not_quote_a_malformed_value(void **state)
{
    (void)state;
    /* A PIN typed after @ by mistake must not reach the terminal. */
    const char *values[] = {"@918273", "@derive:m:1:918273", "@random:918273", "@derive:918273!"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char text[256];
        pin_desc(text, sizeof(text), values[i]);
        cf_diag_list_t *d;
        assert_null(compile(text, &d));
        assert_true(cf_diag_errors(d) > 0);
        assert_false(any_diag_contains(d, "918273"));
        cf_diag_list_free(d);
    }
}

/* ---- rules about values nobody knows ------------------------------------- */

static void test_random_pin_blocked_with_unblock_path_is_recommended_and_quiet(void **state)
{
    (void)state;
    /* PUK path, and admin-key (helpdesk) path. */
    cf_plan_t *p = compile_clean("[Description]\nSetPIN=true\nPIN=@random\nInitialPUK=#12345678\n"
                                 "PUK=@derive:issuing\n[Application_B]\nBlockCard=true\n");
    cf_plan_free(p);
    p = compile_clean("[Description]\nSetPIN=true\nPIN=@random\nCardManagerKey=#" ZERO_KEY
                      "\nNewCardManagerKey=@derive:issuing\nInitCRKey=true\n"
                      "UseCardManagerKey=true\n[Application_B]\nBlockCard=true\n");
    cf_plan_free(p);
}

static void test_random_pin_without_block_card_warns(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=true\nPIN=@random\nInitialPUK=#12345678\n", &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 3, "PIN=@random without BlockCard=true");
    expect_diag(d, CF_SEV_WARNING, 3, "with the PUK");
    cf_plan_free(p);
    cf_diag_list_free(d);

    p = compile("[Description]\nSetPIN=true\nPIN=@random\nCardManagerKey=#" ZERO_KEY "\n", &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 3, "with the card manager key");
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_random_pin_and_puk_with_no_known_unblock_warn(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nSetPIN=true\nPIN=@random\nInitialPUK=#12345678\n"
                           "PUK=@random\n[Application_B]\nBlockCard=true\n",
                           &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 3, "nobody will ever know this PIN");
    expect_diag(d, CF_SEV_WARNING, 5, "the PIN is blocked and nothing can ever unblock it");
    cf_plan_free(p);
    cf_diag_list_free(d);

    /* A random PUK with a known PIN and no admin key: unblock impossible later. */
    p = compile("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\nPUK=@random\n", &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 5, "once the PIN is blocked, nothing can unblock it");
    cf_plan_free(p);
    cf_diag_list_free(d);

    /* The same PUK with a known card manager key (PIV PIN-only style): quiet. */
    p = compile_clean("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n"
                      "PUK=@random\nCardManagerKey=#" ZERO_KEY "\nNewCardManagerKey=#" M1 "\n");
    cf_plan_free(p);
}

static void test_random_new_admin_key_warns_more_with_cr_key(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p =
        compile("[Description]\nCardManagerKey=#" ZERO_KEY "\nNewCardManagerKey=@random\n", &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 3, "nobody will ever know the card's new admin key");
    expect_diag(d, CF_SEV_WARNING, 3, "can never be used again");
    expect_diag(d, CF_SEV_WARNING, 3, "a card cut off during its rotation can never be finished");
    cf_plan_free(p);
    cf_diag_list_free(d);

    p = compile("[Description]\nSetPIN=true\nPIN=@random\nCardManagerKey=#" ZERO_KEY
                "\nNewCardManagerKey=@random\nInitCRKey=true\nUseCardManagerKey=true\n"
                "[Application_B]\nBlockCard=true\n",
                &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 5, "nobody can answer its unblock challenge");
    expect_diag(d, CF_SEV_WARNING, 3, "nobody will ever know this PIN");
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_identical_derivations_warn_that_the_change_does_nothing(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Description]\nCardManagerKey=@derive:issuing\n"
                           "NewCardManagerKey=@derive:issuing\n",
                           &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 3, "the rotation changes nothing");
    expect_diag(d, CF_SEV_WARNING, 3, "@derive:issuing:<old version>");
    cf_plan_free(p);
    cf_diag_list_free(d);

    p = compile("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=@derive:p:1\n"
                "PUK=@derive:p:1\n",
                &d);
    assert_non_null(p);
    expect_diag(d, CF_SEV_WARNING, 5, "the PUK change changes nothing");
    cf_plan_free(p);
    cf_diag_list_free(d);

    /* Different versions, types or digit counts are real changes. */
    p = compile_clean("[Description]\nCardManagerKey=@derive:issuing:1\n"
                      "NewCardManagerKey=@derive:issuing::aes128\n");
    cf_plan_free(p);
    p = compile_clean("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=@derive:p:1\n"
                      "PUK=@derive:p:1:10\n");
    cf_plan_free(p);
}

static void test_generated_forms_are_refused_in_field_defaults_and_batch_cells(void **state)
{
    (void)state;
    cf_diag_list_t *d;
    cf_plan_t *p = compile("[Fields]\nUSER_PIN=@random\n[Description]\nSetPIN=true\n"
                           "PIN=USER_PIN\nInitialPUK=#12345678\n",
                           &d);
    assert_null(p);
    expect_diag(d, CF_SEV_ERROR, 2,
                "default of field USER_PIN (used as PIN): @derive and "
                "@random are written in [Description]");
    cf_diag_list_free(d);

    /* A cell is a value, never a form: refused, not taken as the PIN "@derive:x". */
    p = compile_clean("[Fields]\nUSER_PIN=\n[Description]\nSetPIN=true\nPIN=USER_PIN\n"
                      "InitialPUK=#12345678\n");
    char csv[] = "/tmp/cf_derive_XXXXXX";
    int fd = mkstemp(csv);
    assert_true(fd >= 0);
    const char *rows = "ID,USER_PIN\n1,123456\n2,@derive:x\n3,@RANDOM\n4,@randomly\n";
    assert_int_equal(write(fd, rows, strlen(rows)), (ssize_t)strlen(rows));
    close(fd);
    d = cf_diag_list_new();
    size_t n = 0;
    assert_int_equal(cf_plan_check_batch(p, csv, d, &n), CF_ERR_INVALID);
    assert_int_equal(n, 4);
    expect_diag(d, CF_SEV_ERROR, 3, "column USER_PIN (used as PIN): @derive and @random");
    expect_diag(d, CF_SEV_ERROR, 4, "column USER_PIN (used as PIN): @derive and @random");
    assert_int_equal(cf_diag_errors(d), 2); /* "@randomly" is an ordinary 9-character PIN */
    unlink(csv);
    cf_diag_list_free(d);
    cf_plan_free(p);
}

/* ---- before the card: resolve and batch checks ------------------------------ */

static void test_resolve_leaves_generated_values_unset_and_batch_check_accepts(void **state)
{
    (void)state;
    cf_plan_t *p = compile_clean("[Fields]\nUSER_PIN=\n[Description]\nSetPIN=true\n"
                                 "PIN=USER_PIN\nInitialPUK=@derive:issuing:1\nPUK=@random\n"
                                 "CardManagerKey=@derive:issuing:1\n"
                                 "NewCardManagerKey=@derive:issuing\n"
                                 "[Application_B]\nBlockCard=true\n");
    char csv[] = "/tmp/cf_derive_XXXXXX";
    int fd = mkstemp(csv);
    assert_true(fd >= 0);
    const char *rows = "ID,USER_PIN\n1,123456\n2,654321\n";
    assert_int_equal(write(fd, rows, strlen(rows)), (ssize_t)strlen(rows));
    close(fd);
    cf_diag_list_t *d = cf_diag_list_new();
    size_t n = 0;
    assert_int_equal(cf_plan_check_batch(p, csv, d, &n), CF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(cf_diag_count(d), 0);
    unlink(csv);

    /* Only the batch field is a column the batch must have. */
    assert_int_equal(cf_plan_field_count(p), 1);

    cf_card_values_t *v = NULL;
    assert_int_equal(cf_plan_resolve(p, NULL, NULL, NULL, NULL, "t", 0, d, &v), CF_ERR_INVALID);
    assert_null(v); /* the missing USER_PIN column, not the derived values */
    cf_diag_list_free(d);
    cf_plan_free(p);

    p = compile_clean("[Description]\nSetPIN=true\nPIN=@random\nInitialPUK=@derive:issuing:1\n"
                      "[Application_B]\nBlockCard=true\n");
    d = cf_diag_list_new();
    assert_int_equal(cf_plan_resolve(p, NULL, NULL, NULL, NULL, "t", 0, d, &v), CF_OK);
    assert_null(cf_card_values_get(v, CF_PARAM_PIN));
    assert_null(cf_card_values_get(v, CF_PARAM_INITIAL_PUK));
    const char *master = "unset";
    unsigned version = 99;
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_INITIAL_PUK, &master, &version),
                     CF_SOURCE_DERIVED);
    assert_string_equal(master, "issuing");
    assert_int_equal(version, 0); /* not derived yet */
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_PIN, &master, &version), CF_SOURCE_RANDOM);
    assert_null(master);
    assert_int_equal(version, 0);
    assert_int_equal(cf_diag_count(d), 0);
    cf_card_values_free(v);
    cf_diag_list_free(d);
    cf_plan_free(p);
}

/* ---- the card stage ---------------------------------------------------------- */

static void test_resolve_card_derives_exactly_like_cf_keys_derive(void **state)
{
    (void)state;
    cf_keyfile_t *kf = keyfile(keyfile_text);
    cf_plan_t *p = compile_clean("[Description]\nSetPIN=true\nPIN=@derive:pins\n"
                                 "InitialPUK=@derive:issuing:1\nPUK=@derive:issuing::10\n"
                                 "CardManagerKey=@derive:issuing:1\n"
                                 "NewCardManagerKey=@derive:issuing::aes256\n"
                                 "[Application_B]\nBlockCard=true\n");
    const char *serials[] = {"12345678", "0123-4567-89ab-cdef", "00112233445566778899AABBCCDDEEFF"};
    const cf_master_key_t *v1 = cf_keyfile_find(kf, "issuing", 1),
                          *v2 = cf_keyfile_find(kf, "issuing", 2),
                          *pins = cf_keyfile_find(kf, "pins", 0);
    for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
        cf_diag_list_t *d = cf_diag_list_new();
        cf_card_values_t *v = NULL;
        assert_int_equal(resolve_for(p, serials[i], kf, d, &v), CF_OK);
        assert_int_equal(cf_diag_count(d), 0);
        struct {
            cf_param_t p;
            const cf_master_key_t *mk;
            cf_key_purpose_t purpose;
            int key;
            cf_card_key_type_t type;
            size_t digits;
        } want[] = {
            {CF_PARAM_PIN, pins, CF_KEY_PURPOSE_PIN, 0, 0, 6},
            {CF_PARAM_INITIAL_PUK, v1, CF_KEY_PURPOSE_PUK, 0, 0, 8},
            {CF_PARAM_PUK, v2, CF_KEY_PURPOSE_PUK, 0, 0, 10},
            {CF_PARAM_CARD_MANAGER_KEY, v1, CF_KEY_PURPOSE_ADMIN, 1, CF_CARD_KEY_3DES, 0},
            {CF_PARAM_NEW_CARD_MANAGER_KEY, v2, CF_KEY_PURPOSE_ADMIN, 1, CF_CARD_KEY_AES256, 0},
        };
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            cf_secret_t *direct = NULL;
            if (want[k].key)
                assert_int_equal(
                    cf_keys_derive(want[k].mk, want[k].purpose, serials[i], want[k].type, &direct),
                    CF_OK);
            else
                assert_int_equal(cf_keys_derive_digits(want[k].mk, want[k].purpose, serials[i],
                                                       want[k].digits, &direct),
                                 CF_OK);
            const cf_secret_t *got = cf_card_values_get(v, want[k].p);
            assert_non_null(got);
            assert_true(cf_secret_equal(got, direct));
            cf_secret_free(direct);
            const char *master = NULL;
            unsigned version = 0;
            assert_int_equal(cf_card_values_origin(v, want[k].p, &master, &version),
                             CF_SOURCE_DERIVED);
            assert_string_equal(master, cf_master_key_name(want[k].mk));
            assert_int_equal(version, cf_master_key_version(want[k].mk)); /* newest -> 2 */
        }
        /* Purposes are independent: the derived PUK is not the PIN's digits. */
        assert_false(cf_secret_equal(cf_card_values_get(v, CF_PARAM_INITIAL_PUK),
                                     cf_card_values_get(v, CF_PARAM_PUK)));
        cf_card_values_free(v);
        cf_diag_list_free(d);
    }
    cf_plan_free(p);
    cf_keyfile_free(kf);
}

/* Split a markdown table row into trimmed cells without backquotes. */
static size_t table_cells(char *line, char **cells, size_t max)
{
    size_t n = 0;
    char *s = strchr(line, '|');
    while (s != NULL && n < max) {
        char *e = strchr(s + 1, '|');
        if (e == NULL)
            break;
        *e = 0;
        char *c = s + 1;
        while (*c == ' ' || *c == '`')
            c++;
        char *end = c + strlen(c);
        while (end > c && (end[-1] == ' ' || end[-1] == '`'))
            *--end = 0;
        cells[n++] = c;
        s = e;
    }
    return n;
}

/* One row of the KDF vector table: master key, serial, purpose, output,
 * result. Built into a description and a key file, run through the card
 * stage. */
static void check_doc_row(char **c)
{
    size_t klen = strlen(c[1]) / 2;
    char kf_text[256], desc[256], value[64];
    snprintf(kf_text, sizeof(kf_text), "doc 1 aes%zu %s\n", klen * 8, c[1]);
    cf_param_t param;
    if (strcmp(c[3], "admin") == 0) {
        param = CF_PARAM_NEW_CARD_MANAGER_KEY;
        snprintf(value, sizeof(value), "@derive:doc::%s", c[4]);
        key_desc(desc, sizeof(desc), value);
    } else {
        assert_int_equal(strncmp(c[4], "digits:", 7), 0);
        snprintf(value, sizeof(value), "@derive:doc:1:%s", c[4] + 7);
        if (strcmp(c[3], "pin") == 0) {
            param = CF_PARAM_PIN;
            pin_desc(desc, sizeof(desc), value);
        } else {
            assert_string_equal(c[3], "puk");
            param = CF_PARAM_PUK;
            snprintf(desc, sizeof(desc),
                     "[Description]\nSetPIN=true\nPIN=#123456\n"
                     "InitialPUK=#12345678\nPUK=%s\n",
                     value);
        }
    }
    cf_keyfile_t *kf = keyfile(kf_text);
    cf_diag_list_t *d;
    cf_plan_t *p = compile(desc, &d);
    assert_non_null(p);
    cf_card_values_t *v = NULL;
    assert_int_equal(resolve_for(p, c[2], kf, d, &v), CF_OK);
    const cf_secret_t *got = cf_card_values_get(v, param);
    assert_non_null(got);
    if (param == CF_PARAM_NEW_CARD_MANAGER_KEY)
        assert_string_equal(hex_of(got), c[5]);
    else
        assert_string_equal(cf_secret_str(got), c[5]);
    cf_card_values_free(v);
    cf_plan_free(p);
    cf_diag_list_free(d);
    cf_keyfile_free(kf);
}

static void test_resolve_card_reproduces_published_vectors(void **state)
{
    (void)state;
    FILE *f = fopen(CF_SOURCE_DIR "/docs/key-derivation.md", "r");
    assert_non_null(f);
    char line[512];
    int in_table = 0;
    size_t rows = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "<!-- vectors:kdf -->"))
            in_table = 1;
        else if (strstr(line, "<!-- /vectors -->"))
            in_table = 0;
        if (!in_table || line[0] != '|')
            continue;
        char *c[8];
        size_t n = table_cells(line, c, 8);
        if (n != 6 || c[0][0] < '0' || c[0][0] > '9')
            continue;
        check_doc_row(c);
        rows++;
    }
    fclose(f);
    assert_true(rows >= 10); /* admin keys of every type, PIN and PUK digits */
}

static int all_digits(const cf_secret_t *s)
{
    for (size_t i = 0; i < cf_secret_len(s); i++)
        if (cf_secret_str(s)[i] < '0' || cf_secret_str(s)[i] > '9')
            return 0;
    return 1;
}

static int odd_parity(const cf_secret_t *s)
{
    for (size_t i = 0; i < cf_secret_len(s); i++) {
        unsigned b = cf_secret_data(s)[i], ones = 0;
        for (; b != 0; b >>= 1)
            ones += b & 1;
        if ((ones & 1) == 0)
            return 0;
    }
    return 1;
}

static void test_random_values_fit_their_form_and_differ_per_card(void **state)
{
    (void)state;
    /* Every value random: the warnings about that are tested above. */
    cf_plan_t *p = compile_ok("[Description]\nSetPIN=true\nPIN=@random:8\n"
                              "InitialPUK=#12345678\nPUK=@random:12\n"
                              "CardManagerKey=#" ZERO_KEY "\nNewCardManagerKey=@random:aes128\n"
                              "[Application_B]\nBlockCard=true\n");
    cf_plan_t *p3 = compile_clean("[Description]\nSetPIN=true\nPIN=@random\n"
                                  "InitialPUK=#12345678\n"
                                  "CardManagerKey=#" ZERO_KEY "\nNewCardManagerKey=@derive:x\n"
                                  "[Application_B]\nBlockCard=true\n");
    cf_plan_t *pk = compile_clean("[Description]\nSetPIN=true\nPIN=#123456\n"
                                  "InitialPUK=#12345678\n[Application_B]\nBlockCard=true\n");
    cf_diag_list_t *d = cf_diag_list_new();
    cf_card_values_t *a = NULL, *b = NULL;
    /* Random values need neither a serial nor a key file. */
    assert_int_equal(resolve_for(p, NULL, NULL, d, &a), CF_OK);
    assert_int_equal(resolve_for(p, NULL, NULL, d, &b), CF_OK);
    cf_card_values_t *vals[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        const cf_secret_t *pin = cf_card_values_get(vals[i], CF_PARAM_PIN),
                          *puk = cf_card_values_get(vals[i], CF_PARAM_PUK),
                          *key = cf_card_values_get(vals[i], CF_PARAM_NEW_CARD_MANAGER_KEY);
        assert_int_equal(cf_secret_len(pin), 8);
        assert_true(all_digits(pin));
        assert_int_equal(cf_secret_len(puk), 12);
        assert_true(all_digits(puk));
        assert_int_equal(cf_secret_len(key), 16);
        assert_int_equal(cf_card_values_origin(vals[i], CF_PARAM_PUK, NULL, NULL),
                         CF_SOURCE_RANDOM);
        assert_int_equal(cf_card_values_origin(vals[i], CF_PARAM_CARD_MANAGER_KEY, NULL, NULL),
                         CF_SOURCE_LITERAL);
    }
    /* Two cards: different values (an 8-digit collision has odds 1e-8). */
    assert_false(
        cf_secret_equal(cf_card_values_get(a, CF_PARAM_PIN), cf_card_values_get(b, CF_PARAM_PIN)));
    assert_false(
        cf_secret_equal(cf_card_values_get(a, CF_PARAM_PUK), cf_card_values_get(b, CF_PARAM_PUK)));
    assert_false(cf_secret_equal(cf_card_values_get(a, CF_PARAM_NEW_CARD_MANAGER_KEY),
                                 cf_card_values_get(b, CF_PARAM_NEW_CARD_MANAGER_KEY)));
    /* The next card through the same set: every random value replaced. */
    cf_secret_t *old_puk = cf_secret_dup(cf_card_values_get(a, CF_PARAM_PUK));
    assert_int_equal(cf_plan_resolve_card(p, a, NULL, NULL, d), CF_OK);
    assert_false(cf_secret_equal(old_puk, cf_card_values_get(a, CF_PARAM_PUK)));
    cf_secret_free(old_puk);
    cf_card_values_free(a);
    cf_card_values_free(b);

    /* Defaults: a 6-digit PIN; a derived 3DES key has odd parity. */
    cf_keyfile_t *kf = keyfile("x 1 aes128 " M1 "\n");
    assert_int_equal(resolve_for(p3, "1234", kf, d, &a), CF_OK);
    assert_int_equal(cf_secret_len(cf_card_values_get(a, CF_PARAM_PIN)), 6);
    assert_true(all_digits(cf_card_values_get(a, CF_PARAM_PIN)));
    assert_int_equal(cf_secret_len(cf_card_values_get(a, CF_PARAM_NEW_CARD_MANAGER_KEY)), 24);
    assert_true(odd_parity(cf_card_values_get(a, CF_PARAM_NEW_CARD_MANAGER_KEY)));
    cf_card_values_free(a);

    /* A plan with nothing to make: the stage is a no-op, without serial or keys. */
    assert_int_equal(resolve_for(pk, NULL, NULL, d, &a), CF_OK);
    assert_string_equal(cf_secret_str(cf_card_values_get(a, CF_PARAM_PIN)), "123456");
    cf_card_values_free(a);
    assert_int_equal(cf_diag_count(d), 0);

    /* A random key is 3DES by default, with odd parity too. */
    cf_diag_list_t *d4;
    char text[256];
    key_desc(text, sizeof(text), "@random");
    cf_plan_t *p4 = compile(text, &d4);
    assert_int_equal(resolve_for(p4, NULL, NULL, d4, &a), CF_OK);
    assert_int_equal(cf_secret_len(cf_card_values_get(a, CF_PARAM_NEW_CARD_MANAGER_KEY)), 24);
    assert_true(odd_parity(cf_card_values_get(a, CF_PARAM_NEW_CARD_MANAGER_KEY)));
    cf_card_values_free(a);
    cf_plan_free(p4);
    cf_diag_list_free(d4);
    cf_plan_free(p);
    cf_plan_free(p3);
    cf_plan_free(pk);
    cf_keyfile_free(kf);
    cf_diag_list_free(d);
}

static void test_missing_master_key_or_version_is_reported_and_changes_nothing(void **state)
{
    (void)state;
    cf_keyfile_t *kf = keyfile(keyfile_text);
    cf_plan_t *p = compile_clean("[Description]\nSetPIN=true\nPIN=@derive:pins:3\n"
                                 "CardManagerKey=#" ZERO_KEY "\n"
                                 "NewCardManagerKey=@derive:bureau-admin\n"
                                 "[Application_B]\nBlockCard=true\n");
    cf_diag_list_t *d = cf_diag_list_new();
    cf_card_values_t *v = NULL;
    assert_int_equal(resolve_for(p, "12345678", kf, d, &v), CF_ERR_NOT_FOUND);
    expect_diag(d, CF_SEV_ERROR, 3,
                "PIN: the key file has master key pins, but not version 3 "
                "(newest: 1)");
    expect_diag(d, CF_SEV_ERROR, 5,
                "NewCardManagerKey: master key bureau-admin is not in the "
                "key file");
    assert_int_equal(cf_diag_errors(d), 2);
    assert_string_equal(cf_diag_file(d, 0), "t.ini");
    /* Never key material: neither master key's hex appears. */
    assert_false(any_diag_contains(d, "000102030405"));
    /* Nothing was stored; the literal is still there. */
    assert_null(cf_card_values_get(v, CF_PARAM_PIN));
    assert_null(cf_card_values_get(v, CF_PARAM_NEW_CARD_MANAGER_KEY));
    assert_non_null(cf_card_values_get(v, CF_PARAM_CARD_MANAGER_KEY));
    cf_card_values_free(v);
    cf_diag_list_free(d);

    /* cf_plan_check_keyfile says the same before any card. */
    d = cf_diag_list_new();
    assert_int_equal(cf_plan_check_keyfile(p, kf, d), CF_ERR_NOT_FOUND);
    expect_diag(d, CF_SEV_ERROR, 3, "not version 3");
    expect_diag(d, CF_SEV_ERROR, 5, "master key bureau-admin is not in the key file");
    cf_diag_list_free(d);
    cf_plan_free(p);
    cf_keyfile_free(kf);
}

static void test_a_failed_card_stage_keeps_the_previous_cards_values(void **state)
{
    (void)state;
    cf_keyfile_t *kf = keyfile(keyfile_text);
    cf_plan_t *p = compile_clean("[Description]\nCardManagerKey=#" ZERO_KEY "\n"
                                 "NewCardManagerKey=@derive:issuing:1\n");
    cf_diag_list_t *d = cf_diag_list_new();
    cf_card_values_t *v = NULL;
    assert_int_equal(resolve_for(p, "12345678", kf, d, &v), CF_OK);
    cf_secret_t *first = cf_secret_dup(cf_card_values_get(v, CF_PARAM_NEW_CARD_MANAGER_KEY));
    /* The next card: another serial gives another key. */
    assert_int_equal(cf_plan_resolve_card(p, v, "87654321", kf, d), CF_OK);
    assert_false(cf_secret_equal(first, cf_card_values_get(v, CF_PARAM_NEW_CARD_MANAGER_KEY)));
    /* A serial that is no KDF context: refused, values untouched. */
    cf_secret_t *second = cf_secret_dup(cf_card_values_get(v, CF_PARAM_NEW_CARD_MANAGER_KEY));
    assert_int_equal(cf_plan_resolve_card(p, v, "12:34", kf, d), CF_ERR_PARSE);
    expect_diag(d, CF_SEV_ERROR, 3, "the card serial '12:34' cannot be used for key derivation");
    assert_true(cf_secret_equal(second, cf_card_values_get(v, CF_PARAM_NEW_CARD_MANAGER_KEY)));
    assert_int_equal(cf_plan_resolve_card(p, v, NULL, kf, d), CF_ERR_PARSE);
    assert_int_equal(cf_plan_resolve_card(p, v, "", kf, d), CF_ERR_PARSE);
    /* No key file for a plan that derives. */
    assert_int_equal(cf_plan_resolve_card(p, v, "12345678", NULL, d), CF_ERR_ARG);
    expect_diag(d, CF_SEV_ERROR, 3,
                "NewCardManagerKey is derived from master key issuing: a key file is needed");
    assert_true(cf_secret_equal(second, cf_card_values_get(v, CF_PARAM_NEW_CARD_MANAGER_KEY)));
    assert_int_equal(cf_plan_resolve_card(p, NULL, "12345678", kf, d), CF_ERR_ARG);
    cf_secret_free(first);
    cf_secret_free(second);
    cf_card_values_free(v);
    cf_diag_list_free(d);
    cf_plan_free(p);
    cf_keyfile_free(kf);
}

static void test_check_keyfile_warns_when_the_newest_version_makes_a_rotation_void(void **state)
{
    (void)state;
    cf_keyfile_t *kf = keyfile(keyfile_text);
    /* issuing:2 is the newest, so both resolve to the same key. */
    cf_plan_t *p = compile_clean("[Description]\nCardManagerKey=@derive:issuing:2\n"
                                 "NewCardManagerKey=@derive:issuing\n");
    cf_diag_list_t *d = cf_diag_list_new();
    assert_int_equal(cf_plan_check_keyfile(p, kf, d), CF_OK);
    expect_diag(d, CF_SEV_WARNING, 3,
                "CardManagerKey and NewCardManagerKey both derive from "
                "master key issuing version 2");
    assert_int_equal(cf_plan_check_keyfile(p, NULL, d), CF_ERR_ARG);
    assert_int_equal(cf_plan_check_keyfile(NULL, kf, d), CF_ERR_ARG);
    assert_int_equal(cf_plan_resolve_card(NULL, NULL, "1234", kf, d), CF_ERR_ARG);
    cf_diag_list_free(d);
    cf_plan_free(p);

    /* A rotation from version 1 to the newest: a real change, quiet. */
    p = compile_clean("[Description]\nCardManagerKey=@derive:issuing:1\n"
                      "NewCardManagerKey=@derive:issuing\n");
    d = cf_diag_list_new();
    assert_int_equal(cf_plan_check_keyfile(p, kf, d), CF_OK);
    assert_int_equal(cf_diag_count(d), 0);
    cf_diag_list_free(d);
    cf_plan_free(p);

    /* A plan that derives nothing needs no key file. */
    p = compile_clean("[Description]\nSetPIN=true\nPIN=@random\nInitialPUK=#12345678\n"
                      "[Application_B]\nBlockCard=true\n");
    d = cf_diag_list_new();
    assert_int_equal(cf_plan_check_keyfile(p, NULL, d), CF_OK);
    assert_false(cf_plan_needs_keyfile(p));
    cf_diag_list_free(d);
    cf_plan_free(p);
    cf_keyfile_free(kf);
}

static void test_origin_of_every_source_kind(void **state)
{
    (void)state;
    cf_keyfile_t *kf = keyfile(keyfile_text);
    cf_plan_t *p = compile_clean("[Fields]\nUSER_PIN=123456\n[Description]\nSetPIN=true\n"
                                 "PIN=USER_PIN\nInitialPUK=#12345678\nPUK=@random\n"
                                 "CardManagerKey=!FROM_USER_DIALOG_1_FIELD\n"
                                 "NewCardManagerKey=@derive:issuing\n");
    cf_diag_list_t *d = cf_diag_list_new();
    cf_card_values_t *v = NULL;
    assert_int_equal(resolve_for(p, "12345678", kf, d, &v), CF_OK);
    const char *m = "x";
    unsigned ver = 7;
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_PIN, &m, &ver), CF_SOURCE_FIELD);
    assert_null(m);
    assert_int_equal(ver, 0);
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_INITIAL_PUK, &m, &ver), CF_SOURCE_LITERAL);
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_PUK, &m, &ver), CF_SOURCE_RANDOM);
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_CARD_MANAGER_KEY, &m, &ver),
                     CF_SOURCE_PROMPT);
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_NEW_CARD_MANAGER_KEY, &m, &ver),
                     CF_SOURCE_DERIVED);
    assert_string_equal(m, "issuing");
    assert_int_equal(ver, 2);
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_NONE, &m, &ver), CF_SOURCE_NONE);
    assert_null(m);
    assert_int_equal(cf_card_values_origin(NULL, CF_PARAM_PIN, &m, &ver), CF_SOURCE_NONE);
    cf_card_values_free(v);
    cf_plan_free(p);

    /* A parameter the plan does not use. */
    p = compile_clean("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n");
    assert_int_equal(cf_plan_resolve(p, NULL, NULL, NULL, NULL, "t", 0, d, &v), CF_OK);
    assert_int_equal(cf_card_values_origin(v, CF_PARAM_PUK, NULL, NULL), CF_SOURCE_NONE);
    assert_int_equal(cf_plan_param_digits(p, CF_PARAM_PIN), 0);
    assert_int_equal(cf_plan_param_master_version(p, CF_PARAM_PIN), 0);
    assert_int_equal(cf_plan_param_key_type(p, CF_PARAM_CARD_MANAGER_KEY), CF_CARD_KEY_3DES);
    assert_int_equal(cf_plan_param_key_type(p, CF_PARAM_NONE), CF_CARD_KEY_3DES);
    cf_card_values_free(v);
    cf_plan_free(p);
    cf_diag_list_free(d);
    cf_keyfile_free(kf);
}

/* ---- the sample ---------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[8192];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static void test_sample_gids_derived_keys_validates_and_derives(void **state)
{
    (void)state;
    const char *dir = CF_SOURCE_DIR "/samples/gids-derived-keys";
    char path[512];
    snprintf(path, sizeof(path), "%s/description.ini", dir);
    cf_diag_list_t *d = cf_diag_list_new();
    cf_plan_t *p = NULL;
    assert_int_equal(cf_plan_compile(path, d, &p), CF_OK);
    assert_int_equal(cf_diag_count(d), 0);
    assert_int_equal(cf_plan_source(p, CF_PARAM_NEW_CARD_MANAGER_KEY), CF_SOURCE_DERIVED);
    assert_string_equal(cf_plan_param_master(p, CF_PARAM_NEW_CARD_MANAGER_KEY), "bureau-admin");
    cf_step_kind_t k[] = {CF_STEP_AUTH_ADMIN, CF_STEP_SET_PIN_BY_ADMIN, CF_STEP_ROTATE_ADMIN_KEY,
                          CF_STEP_INSTALL_CR_KEY, CF_STEP_BLOCK_PIN};
    assert_int_equal(cf_plan_step_count(p), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(cf_plan_step(p, i)->kind, k[i]);

    snprintf(path, sizeof(path), "%s/batch.csv", dir);
    size_t records = 0;
    assert_int_equal(cf_plan_check_batch(p, path, d, &records), CF_OK);
    assert_true(records > 0);

    /* The demo key file (read here as text: git does not keep its mode). */
    snprintf(path, sizeof(path), "%s/demo-keys.txt", dir);
    size_t len = 0;
    const char *text = read_all(path, &len);
    assert_non_null(strstr(text, "DEMO ONLY"));
    cf_keyfile_t *kf = NULL;
    char err[CF_KEYS_ERRLEN];
    assert_int_equal(cf_keyfile_parse(path, text, len, &kf, err, sizeof(err)), CF_OK);
    assert_int_equal(cf_plan_check_keyfile(p, kf, d), CF_OK);
    assert_int_equal(cf_diag_count(d), 0);

    /* A GIDS serial is its 16-byte card ID in hex. */
    const char *serial = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";
    cf_card_values_t *v = NULL;
    assert_int_equal(resolve_for(p, serial, kf, d, &v), CF_OK);
    cf_secret_t *direct = NULL;
    assert_int_equal(cf_keys_derive(cf_keyfile_find(kf, "bureau-admin", 0), CF_KEY_PURPOSE_ADMIN,
                                    serial, CF_CARD_KEY_3DES, &direct),
                     CF_OK);
    assert_true(cf_secret_equal(direct, cf_card_values_get(v, CF_PARAM_NEW_CARD_MANAGER_KEY)));
    assert_int_equal(cf_secret_len(cf_card_values_get(v, CF_PARAM_PIN)), 6);
    cf_secret_free(direct);
    cf_card_values_free(v);
    cf_keyfile_free(kf);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

/* cf_plan_load_keyfile: the one way every command gets the key file. */
static void test_load_keyfile_needs_one_exactly_when_something_is_derived(void **state)
{
    (void)state;
    char path[] = "/tmp/cf-derive-keys-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, keyfile_text, strlen(keyfile_text)), (ssize_t)strlen(keyfile_text));
    close(fd);
    cf_keyfile_t *kf = (cf_keyfile_t *)1;
    cf_diag_list_t *d = cf_diag_list_new();

    /* nothing derived: not read, a warning when one was given */
    cf_plan_t *p = compile_ok("[Description]\nCardManagerKey=#" ZERO_KEY "\n"
                              "NewCardManagerKey=@random\n");
    assert_int_equal(cf_plan_load_keyfile(p, path, d, &kf), CF_OK);
    assert_null(kf);
    assert_true(any_diag_contains(d, "the key file is not used"));
    cf_plan_free(p);

    /* derived, none given: an error naming the master keys */
    cf_diag_list_free(d);
    d = cf_diag_list_new();
    p = compile_ok("[Description]\nCardManagerKey=#" ZERO_KEY "\n"
                   "NewCardManagerKey=@derive:issuing\n");
    assert_int_equal(cf_plan_load_keyfile(p, NULL, d, &kf), CF_ERR_INVALID);
    assert_null(kf);
    assert_true(
        any_diag_contains(d, "master keys: issuing (NewCardManagerKey); give the key file"));

    /* given and complete */
    cf_diag_list_free(d);
    d = cf_diag_list_new();
    assert_int_equal(cf_plan_load_keyfile(p, path, d, &kf), CF_OK);
    assert_non_null(kf);
    assert_int_equal(cf_diag_count(d), 0);
    cf_keyfile_free(kf);
    cf_plan_free(p);

    /* a master key the file lacks: refused, nothing handed out */
    cf_diag_list_free(d);
    d = cf_diag_list_new();
    p = compile_ok("[Description]\nCardManagerKey=#" ZERO_KEY "\n"
                   "NewCardManagerKey=@derive:absent\n");
    assert_int_equal(cf_plan_load_keyfile(p, path, d, &kf), CF_ERR_INVALID);
    assert_null(kf);
    assert_true(any_diag_contains(d, "master key absent is not in the key file"));
    cf_plan_free(p);

    /* a file others could read is refused as cf_keyfile_load refuses it */
    cf_diag_list_free(d);
    d = cf_diag_list_new();
    p = compile_ok("[Description]\nCardManagerKey=#" ZERO_KEY "\n"
                   "NewCardManagerKey=@derive:issuing\n");
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(cf_plan_load_keyfile(p, path, d, &kf), CF_ERR_PERMISSION);
    assert_null(kf);
    cf_plan_free(p);
    cf_diag_list_free(d);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_key_forms_compile_with_master_version_and_type),
        cmocka_unit_test(test_derive_pin_and_puk_forms_take_digit_counts),
        cmocka_unit_test(test_current_card_manager_key_may_be_derived),
        cmocka_unit_test(test_random_forms_compile_with_defaults),
        cmocka_unit_test(test_random_refused_for_values_on_the_card_now),
        cmocka_unit_test(test_malformed_forms_are_errors_at_their_line),
        cmocka_unit_test(test_messages_do_not_quote_a_malformed_value),
        cmocka_unit_test(test_random_pin_blocked_with_unblock_path_is_recommended_and_quiet),
        cmocka_unit_test(test_random_pin_without_block_card_warns),
        cmocka_unit_test(test_random_pin_and_puk_with_no_known_unblock_warn),
        cmocka_unit_test(test_random_new_admin_key_warns_more_with_cr_key),
        cmocka_unit_test(test_identical_derivations_warn_that_the_change_does_nothing),
        cmocka_unit_test(test_generated_forms_are_refused_in_field_defaults_and_batch_cells),
        cmocka_unit_test(test_resolve_leaves_generated_values_unset_and_batch_check_accepts),
        cmocka_unit_test(test_resolve_card_derives_exactly_like_cf_keys_derive),
        cmocka_unit_test(test_resolve_card_reproduces_published_vectors),
        cmocka_unit_test(test_random_values_fit_their_form_and_differ_per_card),
        cmocka_unit_test(test_missing_master_key_or_version_is_reported_and_changes_nothing),
        cmocka_unit_test(test_a_failed_card_stage_keeps_the_previous_cards_values),
        cmocka_unit_test(test_check_keyfile_warns_when_the_newest_version_makes_a_rotation_void),
        cmocka_unit_test(test_origin_of_every_source_kind),
        cmocka_unit_test(test_sample_gids_derived_keys_validates_and_derives),
        cmocka_unit_test(test_load_keyfile_needs_one_exactly_when_something_is_derived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
