/*
 * test_profile_errors.c - every way a profile can be wrong is reported as
 * file:line: message, and a wrong profile never loads.
 *
 * Most cases are a small document that extends a minimal valid profile "b"
 * and breaks one thing; the diagnostic must name the child's file and the
 * line of the broken thing. Directory cases (extends cycles, bad file
 * names, an empty directory) use a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/card.h>

#include "profile/profile_int.h"

static const char base_doc[] = "family: piv\n"                                /* 1 */
                               "identify:\n"                                  /* 2 */
                               "  select: \"00 A4 04 00 A0 00 00 03 08\"\n"   /* 3 */
                               "serial:\n"                                    /* 4 */
                               "  apdu: \"00 F8 00 00\"\n"                    /* 5 */
                               "  format: decimal\n"                          /* 6 */
                               "  value: { length: 4 }\n"                     /* 7 */
                               "pin:\n"                                       /* 8 */
                               "  reference: \"80\"\n"                        /* 9 */
                               "  min_length: 4\n"                            /* 10 */
                               "  max_length: 8\n"                            /* 11 */
                               "operations:\n"                                /* 12 */
                               "  verify_pin: \"00 20 00 {pin_ref} {pin}\"\n" /* 13 */
                               "  change_pin: \"00 24 00 80 {pin} {new_pin}\"\n";

/* The diagnostics of loading doc as "c" over base "b" (and over "a", the
 * base with an admin key, when with_a); asserts the load failed and
 * nothing was added. */
static const char admin_base[];
static cf_diag_list_t *load_bad_over(const char *doc, size_t len, int with_a)
{
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    assert_int_equal(cf_profiles_add_mem(&set, "b", base_doc, strlen(base_doc), d), CF_OK);
    if (with_a)
        assert_int_equal(cf_profiles_add_mem(&set, "a", admin_base, strlen(admin_base), d), CF_OK);
    assert_int_equal(cf_diag_count(d), 0);
    size_t before = cf_profiles_count(set);
    assert_int_equal(cf_profiles_add_mem(&set, "c", doc, len, d), CF_ERR_INVALID);
    assert_int_equal(cf_profiles_count(set), before);
    assert_null(cf_profiles_find(set, "c"));
    cf_profiles_free(set);
    assert_true(cf_diag_errors(d) > 0);
    return d;
}

static cf_diag_list_t *load_bad(const char *doc, size_t len)
{
    return load_bad_over(doc, len, 0);
}

/* doc fails to load with a diagnostic at c.yaml:line containing needle. */
static void expect_err_over(const char *doc, unsigned long line, const char *needle, int with_a)
{
    cf_diag_list_t *d = load_bad_over(doc, strlen(doc), with_a);
    int found = 0;
    for (size_t i = 0; i < cf_diag_count(d) && !found; i++)
        found = strcmp(cf_diag_file(d, i), "c.yaml") == 0 && cf_diag_line(d, i) == line &&
                strstr(cf_diag_message(d, i), needle) != NULL;
    if (!found) {
        fprintf(stderr, "wanted c.yaml:%lu: ...%s... for:\n%s\ngot:\n", line, needle, doc);
        cf_diag_print(d, stderr);
    }
    assert_true(found);
    cf_diag_list_free(d);
}

static void expect_err(const char *doc, unsigned long line, const char *needle)
{
    expect_err_over(doc, line, needle, 0);
}

static void test_base_profile_is_valid_and_extends_alone_is_valid(void **state)
{
    (void)state;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    assert_int_equal(cf_profiles_add_mem(&set, "b", base_doc, strlen(base_doc), d), CF_OK);
    assert_int_equal(cf_profiles_add_mem(&set, "c", "extends: b\n", 11, d), CF_OK);
    assert_int_equal(cf_diag_count(d), 0);
    cf_profiles_free(set);
    cf_diag_list_free(d);
}

static void test_yaml_level_errors(void **state)
{
    (void)state;
    expect_err("family: [piv\n", 2, "YAML syntax error");
    expect_err("family: &x piv\n", 1, "anchors and aliases");
    expect_err("a: &x 1\nb: *x\n", 1, "anchors and aliases");
    expect_err("family: !!str piv\n", 1, "tags are not supported");
    expect_err("family: piv\nfamily: gids\n", 2, "duplicate key 'family' (first at line 1)");
    expect_err("family: piv\n---\nfamily: gids\n", 2, "one document");
    expect_err("- a\n- b\n", 1, "a profile is a YAML mapping");
    expect_err("", 1, "empty document");
    expect_err("description: \"a\\0b\"\n", 1, "NUL");
    expect_err("? [a]\n: b\n", 1, "mapping key must be a plain word");
    expect_err("a: {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: {m: 1}}}}}}}}}}}}\n", 1,
               "nested too deeply");
}

static void test_oversized_input_is_refused(void **state)
{
    (void)state;
    size_t n = 300 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    cf_diag_list_t *d = load_bad(big, n);
    assert_int_equal(cf_diag_line(d, 0), 0);
    assert_non_null(strstr(cf_diag_message(d, 0), "file too large"));
    cf_diag_list_free(d);
    free(big);

    /* a long scalar */
    n = 5000;
    big = malloc(n + 32);
    strcpy(big, "description: ");
    memset(big + 13, 'x', n);
    strcpy(big + 13 + n, "\n");
    expect_err(big, 1, "scalar too long");
    free(big);
}

static void test_unknown_keys_and_wrong_types(void **state)
{
    (void)state;
    expect_err("extends: b\ncolour: red\n", 2, "unknown key 'colour'");
    expect_err("extends: b\npin:\n  colour: red\n", 3, "pin: unknown key 'colour'");
    expect_err("extends: b\npin: 1234\n", 2, "pin: expected a mapping, found a scalar");
    expect_err("extends: b\nidentify:\n  atr: \"3B 80\"\n", 3, "expected a sequence");
    expect_err("extends: b\nfamily: klingon\n", 2, "family: 'klingon' is not one of: piv, gids");
    expect_err("extends: b\ndescription: [a]\n", 2, "expected a scalar");
    expect_err("extends: b\npin:\n  min_length: 0\n", 3, "not a whole number from 1 to 64");
    expect_err("extends: b\npin:\n  min_length: x4\n", 3, "not a whole number");
    expect_err("extends: b\npin:\n  max_length: 3\n", 3, "below min_length");
    expect_err("extends: b\npin:\n  charset: klingon\n", 3, "is not one of: digits");
    expect_err("extends: b\npin:\n  reference: \"800\"\n", 3, "one hex byte");
    expect_err("extends: b\npin:\n  pad: { byte: \"FF\", to: 4 }\n", 3, "less than max_length");
    expect_err("extends: b\npin:\n  factory: \"12\"\n", 3, "factory value breaks the policy");
    expect_err("extends: b\nreselect: sideways\n", 2, "not one of: select, reset");
    expect_err("extends: b\nidentify:\n  select: ~\nreselect: select\n", 4,
               "needs identify.select");
    expect_err("extends: b\nidentify:\n  probe: { apdu: \"00 FD 00 00\", expect: 5 }\n", 3,
               "expected a mapping");
    expect_err("extends: b\nidentify:\n  select:\n    apdu: \"00 A4 04 00 A0\"\n"
               "    expect: { path: \"61/4F\", prefix: [] }\n",
               5, "1 to 4 prefixes");
    expect_err("extends: b\nidentify:\n  select:\n    apdu: \"00 A4 04 00 A0\"\n"
               "    expect: { path: \"61/4F\", prefix: [\"00\", \"ZZ\"] }\n",
               5, "bad hex");
    expect_err("extends: b\npin:\n  tries: { apdu: \"00 20 00 80\", left: status-word, "
               "max: { path: \"06\" } }\n",
               3, "a counter read from the status word has no 'max'");
    expect_err("extends: b\nserial:\n  value: { length: 9 }\n", 3, "at most 8 bytes");
    expect_err("extends: b\nserial:\n  le: 300\n", 3, "from 0 to 256");
    expect_err("extends: b\nserial:\n  format: roman\n", 3, "not one of: decimal");
    expect_err("extends: [b]\n", 1, "extends: expected the name");
}

static void test_missing_sections(void **state)
{
    (void)state;
    expect_err("extends: b\npin: ~\n", 1, "missing key 'pin'");
    expect_err("extends: b\nserial: ~\n", 1, "missing key 'serial'");
    expect_err("extends: b\nfamily: ~\n", 1, "missing key 'family'");
    expect_err("extends: b\nidentify:\n  select: ~\n", 3, "needs a 'select' command");
    expect_err("extends: b\nserial:\n  apdu: ~\n", 3, "missing key 'apdu'");
    /* an operation that is missing is reported at the operations mapping */
    expect_err("family: piv\nidentify: { atr: [\"3B 00\"] }\n"
               "serial: { apdu: \"00 F8 00 00\", format: hex-lower }\n"
               "pin: { reference: \"80\", min_length: 4, max_length: 8 }\n"
               "operations:\n  verify_pin: \"00 20 00 80 {pin}\"\n",
               6, "the operation 'change_pin' is missing");
}

static void test_hex_status_words_and_paths(void **state)
{
    (void)state;
    expect_err("extends: b\nidentify:\n  atr: [\"3B ZZ\"]\n", 3, "bad hex");
    expect_err("extends: b\nidentify:\n  atr: [\"3B 8\"]\n", 3, "bad hex");
    expect_err("extends: b\nidentify:\n  atr:\n    - { value: \"3B 80\", mask: \"FF\" }\n", 4,
               "mask: 1 bytes, the ATR value has 2");
    expect_err("extends: b\nidentify:\n  atr:\n    - { mask: \"FF\" }\n", 4, "missing key 'value'");
    expect_err("extends: b\npin:\n  tries:\n    apdu: \"00 F7 00 80\"\n"
               "    unknown_sw: [\"6X00\"]\n    left: { path: \"06\" }\n",
               5, "bad hex");
    expect_err("extends: b\npin:\n  tries:\n    apdu: \"00 F7 00 80\"\n"
               "    unknown_sw: \"6A\"\n    left: { path: \"06\" }\n",
               5, "status word");
    expect_err(
        "extends: b\npin:\n  tries:\n    apdu: \"00 F7 00 80\"\n    left: { path: \"DF\" }\n", 5,
        "not a BER tag");
    expect_err("extends: b\npin:\n  tries:\n    apdu: \"00 F7 00 80\"\n"
               "    left: { path: \"7C/7C/7C/7C/7C\" }\n",
               5, "too deep");
    expect_err("extends: b\npin:\n  tries:\n    apdu: \"00 F7 00 80\"\n"
               "    left: { path: \"06\", length: 2 }\n",
               5, "unknown key 'length'");
    expect_err("extends: b\npin:\n  tries:\n    apdu: \"00 F7 00 80\"\n", 4, "missing key 'left'");
    expect_err("extends: b\npin:\n  tries: sometimes\n", 3, "not one of: unknown, unlimited");
}

static void test_template_errors_name_the_problem(void **state)
{
    (void)state;
    static const struct {
        const char *apdu;
        const char *needle;
    } cases[] = {
        {"00 20 00 80 {pn}", "unknown placeholder {pn}"},
        {"00 20 00 80 {pin} {new_key}", "placeholder {new_key} has no value in this command"},
        {"00 20 00 80 {pin} {puk_ref}", "placeholder {puk_ref} has no value"},
        {"00 20 00 80", "the APDU never sends {pin}"},
        {"00 20 {pin} 80", "first four bytes"},
        {"00 20 00", "at least the four bytes"},
        {"00 20 00 80 7C({pin}", "unclosed '('"},
        {"00 20 00 80 {pin})", "')' without '('"},
        {"00 2 00 80 {pin}", "odd number of hex digits"},
        {"00 20 00 80 ({pin})", "'(' must follow a hex tag"},
        {"00 20 00 80 1F({pin})", "is not a BER-TLV tag"},
        {"00 20 00 80 {pin", "unclosed '{'"},
        {"00 20 00 80 {pin} zz", "unexpected character 'z'"},
        {"00 20 00 80 7C(7C(7C(7C(7C({pin})))))", "nested too deeply"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[512];
        snprintf(doc, sizeof(doc), "extends: b\noperations:\n  verify_pin: \"%s\"\n",
                 cases[i].apdu);
        expect_err(doc, 3, cases[i].needle);
    }
    expect_err("extends: b\noperations:\n  verify_pin: [a]\n", 3, "expected an APDU template");
    expect_err("extends: b\noperations:\n  verify_pin: { le: 2 }\n", 3, "missing key 'apdu'");
    expect_err("extends: b\noperations:\n  reboot: \"00 00 00 00\"\n", 3, "unknown key 'reboot'");
    expect_err("extends: b\noperations:\n  verify_pin: { apdu: \"00 20 00 80 {pin}\", "
               "response: \"7C\" }\n",
               3, "unknown key 'response'");
}

static void test_operations_need_their_credentials(void **state)
{
    (void)state;
    expect_err("extends: b\noperations:\n  change_puk: \"00 24 00 81 {puk} {new_puk}\"\n", 3,
               "no puk section");
    expect_err("extends: b\noperations:\n  set_admin_key: \"00 FF FF FF {new_key}\"\n", 3,
               "no admin_key section");
    expect_err("extends: b\nidentify:\n  select: \"00 A4 04 00 {admin_ref}\"\n", 3,
               "placeholder {admin_ref} has no value");
}

static const char admin_base[] = "extends: b\n"                                   /* 1 */
                                 "admin_key:\n"                                   /* 2 */
                                 "  reference: \"9B\"\n"                          /* 3 */
                                 "  algorithms: [ { type: 3des, id: \"03\" } ]\n" /* 4 */
                                 "  auth:\n"                                      /* 5 */
                                 "    scheme: piv-9b\n"                           /* 6 */
                                 "    challenge: { apdu: \"00 87 03 9B 7C(80())\", response: "
                                 "\"7C/80\" }\n" /* 7 */
                                 "    answer: { apdu: \"00 87 03 9B 7C(80({witness}) "
                                 "81({challenge}))\", response: \"7C/82\" }\n"; /* 8 */

/* extra is the body of "admin_key:" in a profile extending "a"; its
 * first line is line 3. */
static void expect_admin_err(const char *extra, unsigned long line, const char *needle)
{
    char doc[2048];
    snprintf(doc, sizeof(doc), "extends: a\nadmin_key:\n%s", extra);
    expect_err_over(doc, line, needle, 1);
}

static void test_admin_key_errors(void **state)
{
    (void)state;
    /* the base with an admin key is valid */
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    assert_int_equal(cf_profiles_add_mem(&set, "b", base_doc, strlen(base_doc), d), CF_OK);
    assert_int_equal(cf_profiles_add_mem(&set, "c", admin_base, strlen(admin_base), d), CF_OK);
    cf_profiles_free(set);
    cf_diag_list_free(d);

    expect_admin_err("  factory: \"00112233445566778899AABBCCDDEEFF\"\n", 3,
                     "no algorithm of this profile has 16-byte keys");
    expect_admin_err("  factory: \"0011223\"\n", 3, "bad hex");
    expect_admin_err("  algorithms: [ { type: des, id: \"01\" } ]\n", 3,
                     "'des' is not one of: 3des2");
    expect_admin_err("  algorithms: [ { type: 3des, id: \"03\" }, { type: 3des, id: \"04\" } ]\n",
                     3, "listed twice");
    expect_admin_err("  algorithms: []\n", 3, "1 to 8 algorithms");
    expect_admin_err("  auth: { scheme: rot13 }\n", 3, "not one of: piv-9b, gids-mutual");
    expect_admin_err("  auth: { scheme: gids-external }\n", 3, "write it under admin_key.external");
    expect_admin_err("  auth:\n    challenge: { response: ~, apdu: \"00 87 03 9B 7C(80())\" }\n", 4,
                     "needs 'response:'");
    expect_admin_err("  auth:\n    answer: \"00 87 03 9B 7C(80({witness}))\"\n", 4,
                     "never sends {challenge}");
    expect_admin_err("  auth:\n    answer: { apdu: \"00 87 03 9B 7C(82({response}))\" }\n", 4,
                     "placeholder {response} has no value");
    expect_admin_err("  auth:\n    scheme: gids-mutual\n"
                     "    challenge: { apdu: \"00 87 00 00 7C(81({host_random}))\", response: "
                     "\"7C/81\" }\n"
                     "    answer: { apdu: \"00 87 00 00 7C(82({cryptogram}))\", response: "
                     "\"7C/82\" }\n"
                     "  algorithms: [ { type: aes128, id: \"08\" } ]\n",
                     3, "gids-mutual scheme works with 3des keys only");
    expect_admin_err("  external:\n    scheme: piv-9b\n", 4,
                     "external authentication uses the scheme gids-external");
    expect_admin_err(
        "  external:\n    scheme: gids-external\n    challenge: \"00 87 00 00 7C(81())\"\n"
        "    answer: \"00 87 00 00 7C(82({response}))\"\n",
        5, "needs 'response:'");
    expect_admin_err("  tries: { apdu: \"00 F7 00 9B\", left: { path: \"06\" }, absent: never }\n",
                     3, "not one of: unknown, unlimited");
    expect_admin_err("  algorithm_read: { apdu: \"00 F7 00 9B\" }\n", 3, "missing key 'value'");
}

static void test_extends_chain_depth_is_bounded(void **state)
{
    (void)state;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    assert_int_equal(cf_profiles_add_mem(&set, "p0", base_doc, strlen(base_doc), d), CF_OK);
    char name[8], doc[32];
    for (int i = 1; i < 8; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(doc, sizeof(doc), "extends: p%d\n", i - 1);
        assert_int_equal(cf_profiles_add_mem(&set, name, doc, strlen(doc), d), CF_OK);
    }
    assert_int_equal(cf_profiles_add_mem(&set, "p8", "extends: p7\n", 12, d), CF_ERR_INVALID);
    assert_int_equal(cf_profiles_count(set), 8);
    assert_non_null(strstr(cf_diag_message(d, 0), "levels deep"));
    /* identification order: the deepest first, every profile once */
    assert_int_equal(cf_profiles_ident_count(set), 8);
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "p%d", 7 - i);
        assert_string_equal(cf_profile_name(cf_profiles_ident_at(set, (size_t)i)), name);
    }
    cf_profiles_free(set);
    cf_diag_list_free(d);
}

/* ---- directories ---------------------------------------------------------- */

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void clean_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void new_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cf-profiles-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static int has_diag(cf_diag_list_t *d, const char *file_suffix, unsigned long line,
                    const char *needle)
{
    for (size_t i = 0; i < cf_diag_count(d); i++) {
        const char *f = cf_diag_file(d, i);
        size_t fl = strlen(f), sl = strlen(file_suffix);
        if (fl >= sl && strcmp(f + fl - sl, file_suffix) == 0 && cf_diag_line(d, i) == line &&
            strstr(cf_diag_message(d, i), needle) != NULL)
            return 1;
    }
    cf_diag_print(d, stderr);
    return 0;
}

static void test_directory_extends_cycle_and_unknown(void **state)
{
    (void)state;
    new_dir();
    write_file("b.yaml", base_doc);
    write_file("x.yaml", "extends: y\n");
    write_file("y.yaml", "# y\nextends: x\n");
    write_file("z.yaml", "extends: nowhere\n");
    write_file("self.yaml", "extends: self\n");
    write_file("ok.yaml", "extends: b\n");
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = (cf_profiles_t *)1;
    assert_int_equal(cf_profiles_load(dir, d, &set), CF_ERR_INVALID);
    assert_null(set);
    /* the cycle is found from whichever end is built first */
    assert_true(has_diag(d, "/x.yaml", 1, "the profile 'y' has errors"));
    assert_true(has_diag(d, "/y.yaml", 2, "an extends cycle"));
    assert_true(has_diag(d, "/z.yaml", 1, "no profile named 'nowhere'"));
    assert_true(has_diag(d, "/self.yaml", 1, "an extends cycle"));
    /* sorted by file, then line */
    for (size_t i = 1; i < cf_diag_count(d); i++)
        assert_true(strcmp(cf_diag_file(d, i - 1), cf_diag_file(d, i)) <= 0);
    cf_diag_list_free(d);
    clean_dir();
}

static void test_directory_loads_all_or_nothing(void **state)
{
    (void)state;
    new_dir();
    write_file("b.yaml", base_doc);
    write_file("c.yaml", "extends: b\ndescription: fine\n");
    write_file("notes.txt", "not a profile");
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    assert_int_equal(cf_profiles_load(dir, d, &set), CF_OK);
    assert_int_equal(cf_profiles_count(set), 2);
    assert_string_equal(cf_profile_description(cf_profiles_find(set, "c")), "fine");
    cf_profiles_free(set);

    write_file("d.yaml", "extends: b\npin:\n  charset: runes\n");
    set = NULL;
    assert_int_equal(cf_profiles_load(dir, d, &set), CF_ERR_INVALID);
    assert_null(set);
    assert_true(has_diag(d, "/d.yaml", 3, "pin.charset"));
    cf_diag_list_free(d);

    /* a file name that is not a profile name */
    unlink(strcat(strcpy((char[128]){0}, dir), "/d.yaml"));
    write_file("bad name.yaml", base_doc);
    d = cf_diag_list_new();
    assert_int_equal(cf_profiles_load(dir, d, &set), CF_ERR_INVALID);
    assert_true(has_diag(d, "bad name.yaml", 0, "profile file names"));
    cf_diag_list_free(d);
    clean_dir();
}

static void test_directory_io_errors(void **state)
{
    (void)state;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    assert_int_equal(cf_profiles_load("/nonexistent/cardforge", d, &set), CF_ERR_IO);
    assert_null(set);
    assert_true(has_diag(d, "/nonexistent/cardforge", 0, "cannot read the profile directory"));
    new_dir();
    assert_int_equal(cf_profiles_load(dir, d, &set), CF_ERR_INVALID);
    assert_true(has_diag(d, dir, 0, "no *.yaml profiles"));
    /* a directory named like a profile */
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/odd.yaml", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(cf_profiles_load(dir, d, &set), CF_ERR_INVALID);
    assert_true(has_diag(d, "/odd.yaml", 0, "not a regular file"));
    cf_diag_list_free(d);
    clean_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_profile_is_valid_and_extends_alone_is_valid),
        cmocka_unit_test(test_yaml_level_errors),
        cmocka_unit_test(test_oversized_input_is_refused),
        cmocka_unit_test(test_unknown_keys_and_wrong_types),
        cmocka_unit_test(test_missing_sections),
        cmocka_unit_test(test_hex_status_words_and_paths),
        cmocka_unit_test(test_template_errors_name_the_problem),
        cmocka_unit_test(test_operations_need_their_credentials),
        cmocka_unit_test(test_admin_key_errors),
        cmocka_unit_test(test_extends_chain_depth_is_bounded),
        cmocka_unit_test(test_directory_extends_cycle_and_unknown),
        cmocka_unit_test(test_directory_loads_all_or_nothing),
        cmocka_unit_test(test_directory_io_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
