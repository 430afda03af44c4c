/*
 * test_plan_cert.c - [Certificate_<Name>] sections of an encoding
 * description: what they compile to (settings, steps and their place in
 * the order), each validation rule at its line, and the per-card texts
 * expanded from a batch record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/plan.h>

#define CMK "010203040506070801020304050607080102030405060708"

/* A description that sets the PIN with the PUK (PIV) and rotates nothing;
 * the certificate sections are appended. */
#define HEAD                                                                                       \
    "[Fields]\nHOLDER=\nUPN=\nMAIL=nobody@example.org\n"                                           \
    "[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n"                              \
    "CardManagerKey=#" CMK "\n"
/* HEAD is 9 lines: a section appended starts at line 10. */

static cf_plan_t *compile(const char *text, cf_diag_list_t **d)
{
    *d = cf_diag_list_new();
    cf_plan_t *plan = NULL;
    cf_err_t e = cf_plan_compile_mem("/srv/jobs/t.ini", text, strlen(text), *d, &plan);
    if (e != CF_OK)
        assert_null(plan);
    return plan;
}

/* Fails the test unless d holds an error containing needle, at line (0:
 * at any line); the diagnostics are printed when it does not. */
static void assert_error(const cf_diag_list_t *d, unsigned long line, const char *needle)
{
    for (size_t i = 0; i < cf_diag_count(d); i++)
        if (cf_diag_severity(d, i) == CF_SEV_ERROR && (line == 0 || cf_diag_line(d, i) == line) &&
            strstr(cf_diag_message(d, i), needle) != NULL)
            return;
    cf_diag_print(d, stderr);
    fail_msg("expected an error at line %lu containing '%s'", line, needle);
}

static void expect_error(const char *text, unsigned long line, const char *needle)
{
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    assert_error(d, line, needle);
    assert_null(p);
    cf_diag_list_free(d);
}

static void test_certificate_section_compiles_to_a_step_before_block_pin(void **state)
{
    (void)state;
    const char *text = HEAD "[Certificate_Logon]\nSlot=9A\nAlgorithm=p256\nPINPolicy=once\n"
                            "TouchPolicy=cached\nSubject=/CN=${HOLDER}/O=Example Bureau\n"
                            "UPN=${UPN}\nEmail=${MAIL}\nValidityDays=90\nCA=local\n"
                            "CACert=ca/ca.pem\nCAKey=/etc/cardforge/ca.key\n"
                            "[Certificate_Sign]\nSlot=9c\nAlgorithm=rsa2048\n"
                            "Subject=/CN=${HOLDER} (signature)\nCA=command\n"
                            "CACommand=/usr/local/bin/ca-client --profile sign\nCATimeout=5\n"
                            "[Application_B]\nBlockCard=true\n";
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    if (p == NULL)
        cf_diag_print(d, stderr);
    assert_non_null(p);
    assert_int_equal(cf_diag_errors(d), 0);
    cf_step_kind_t k[] = {CF_STEP_AUTH_ADMIN, CF_STEP_SET_PIN_BY_PUK, CF_STEP_ISSUE_CERT,
                          CF_STEP_ISSUE_CERT, CF_STEP_BLOCK_PIN};
    assert_int_equal(cf_plan_step_count(p), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(cf_plan_step(p, i)->kind, k[i]);
    assert_int_equal(cf_plan_step(p, 2)->cert, 0);
    assert_int_equal(cf_plan_step(p, 3)->cert, 1);
    assert_int_equal(cf_plan_step(p, 2)->line, 10);
    assert_string_equal(cf_step_kind_name(CF_STEP_ISSUE_CERT), "issue-certificate");

    assert_int_equal(cf_plan_cert_count(p), 2);
    cf_plan_cert_t c;
    assert_int_equal(cf_plan_cert(p, 0, &c), 1);
    assert_string_equal(c.name, "Logon");
    assert_string_equal(c.slot, "9a");
    assert_int_equal(c.keygen.alg, CF_KEYALG_ECCP256);
    assert_int_equal(c.keygen.pin_policy, 2);
    assert_int_equal(c.keygen.touch_policy, 3);
    assert_int_equal(c.validity_days, 90);
    assert_int_equal(c.ca_command, 0);
    assert_string_equal(c.ca_cert, "/srv/jobs/ca/ca.pem"); /* next to the description */
    assert_string_equal(c.ca_key, "/etc/cardforge/ca.key");
    assert_int_equal(cf_plan_cert(p, 1, &c), 1);
    assert_int_equal(c.keygen.alg, CF_KEYALG_RSA2048);
    assert_int_equal(c.validity_days, 365);
    assert_int_equal(c.ca_command, 1);
    assert_string_equal(c.ca_command_line, "/usr/local/bin/ca-client --profile sign");
    assert_int_equal(c.ca_timeout_ms, 5000);
    assert_int_equal(cf_plan_cert(p, 2, &c), 0);
    /* the fields the templates use are fields the batch must supply */
    assert_int_equal(cf_plan_field_count(p), 3);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

struct rec {
    const char *holder, *upn;
};

static const char *lookup(void *ctx, const char *field, size_t *len)
{
    const struct rec *r = ctx;
    const char *v = strcmp(field, "HOLDER") == 0 ? r->holder
                    : strcmp(field, "UPN") == 0  ? r->upn
                                                 : NULL;
    if (v != NULL)
        *len = strlen(v);
    return v;
}

static void test_templates_expand_per_record_and_keep_any_character(void **state)
{
    (void)state;
    const char *text = HEAD "[Certificate_Logon]\nSlot=9a\nAlgorithm=p256\n"
                            "Subject=/CN=${HOLDER}/OU=Cost $$5/O=Example\nUPN=${UPN}\n"
                            "Email=${MAIL}\nCA=command\nCACommand=true\n";
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    assert_non_null(p);
    struct rec r = {"Doe, Jane/Ops=1", "jane@corp.example"};
    cf_card_values_t *v = NULL;
    assert_int_equal(cf_plan_resolve(p, lookup, &r, NULL, NULL, "b.csv", 2, d, &v), CF_OK);
    cf_dn_entry_t dn[CF_PLAN_CERT_MAX_RDN];
    cf_issue_names_t names;
    assert_int_equal(cf_card_values_cert_names(p, v, 0, dn, &names), CF_OK);
    assert_int_equal(names.n_subject, 3);
    assert_string_equal(dn[0].attr, "CN");
    assert_string_equal(dn[0].value, "Doe, Jane/Ops=1");
    assert_string_equal(dn[1].attr, "OU");
    assert_string_equal(dn[1].value, "Cost $5");
    assert_string_equal(names.upn, "jane@corp.example");
    assert_string_equal(names.email, "nobody@example.org"); /* the field's default */
    assert_int_equal(cf_card_values_cert_names(p, v, 1, dn, &names), CF_ERR_ARG);
    cf_card_values_free(v);

    /* an empty cell with no default: the record is refused, naming the
     * column and the section, never a value */
    struct rec empty = {"", "jane@corp.example"};
    assert_int_equal(cf_plan_resolve(p, lookup, &empty, NULL, NULL, "b.csv", 3, d, &v),
                     CF_ERR_INVALID);
    assert_null(v);
    assert_error(d, 3, "Subject CN of [Certificate_Logon]: column HOLDER is empty");
    /* a control character from the batch never reaches a certificate */
    struct rec ctl = {"Jane\x1b[2J", "x"};
    assert_int_equal(cf_plan_resolve(p, lookup, &ctl, NULL, NULL, "b.csv", 4, d, NULL),
                     CF_ERR_INVALID);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_certificate_rules_report_their_line(void **state)
{
    (void)state;
    /* line 10 is the section header, 11.. its settings */
    expect_error(HEAD "[Certificate_A]\nSlot=9b\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n"
                      "CACommand=true\n",
                 11, "Slot must be 9a, 9c, 9d or 9e");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=ed25519\nSubject=/CN=x\nCA=command\n"
                      "CACommand=true\n",
                 12, "Algorithm must be rsa2048, p256 or p384");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=CN=x\nCA=command\n"
                      "CACommand=true\n",
                 13, "Subject must be written /ATTR=value");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/XX=x\nCA=command\n"
                      "CACommand=true\n",
                 13, "unknown attribute 'XX'");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=${NOPE}\n"
                      "CA=command\nCACommand=true\n",
                 13, "${NOPE} names a field that is not declared");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=5$\nCA=command\n"
                      "CACommand=true\n",
                 13, "write $$ for a '$'");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\nCA=local\n"
                      "CAKey=k.pem\n",
                 14, "CA=local needs CACert= and CAKey=");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n", 14,
                 "CA=command needs CACommand=");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n"
                      "CACommand=true\nCATimeout=0\n",
                 16, "CATimeout must be a whole number of seconds from 1 to 600");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n"
                      "CACommand=true\nValidityDays=7301\n",
                 16, "ValidityDays must be a whole number from 1 to 7300");
    expect_error(HEAD "[Certificate_A]\nSlot=auto\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n"
                      "CACommand=true\n",
                 12, "Slot=auto (GIDS) makes RSA-2048 keys only");
    expect_error(HEAD "[Certificate_A]\nSlot=auto\nAlgorithm=rsa2048\nPINPolicy=always\n"
                      "Subject=/CN=x\nCA=command\nCACommand=true\n",
                 13, "PINPolicy and TouchPolicy are PIV (YubiKey) settings");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n"
                      "CACommand=true\nColour=blue\n",
                 16, "unknown key 'Colour' in [Certificate_A]");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nSlot=9c\n", 12, "duplicate key Slot");
    expect_error(HEAD "[Certificate_A]\nAlgorithm=p256\n", 10, "[Certificate_A] needs Slot=");
    expect_error(HEAD "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n"
                      "CACommand=true\n[Certificate_B]\nSlot=9a\nAlgorithm=p256\n"
                      "Subject=/CN=y\nCA=command\nCACommand=true\n",
                 17, "Slot=9a is also the slot of [Certificate_A] (line 10)");
    /* the card signs with its PIN: the description must set one */
    expect_error("[Description]\nCardManagerKey=#" CMK "\n[Certificate_A]\nSlot=9a\n"
                 "Algorithm=p256\nSubject=/CN=x\nCA=command\nCACommand=true\n",
                 3, "the description must set it (SetPIN=true and PIN=)");
    /* PIV keys need the management key */
    expect_error("[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n"
                 "[Certificate_A]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\nCA=command\n"
                 "CACommand=true\n",
                 6, "needs the management key: give CardManagerKey");
}

static void test_batch_without_a_template_column_names_the_section(void **state)
{
    (void)state;
    const char *text = HEAD "[Certificate_Logon]\nSlot=9a\nAlgorithm=p256\n"
                            "Subject=/CN=${HOLDER}\nUPN=${UPN}\nCA=command\nCACommand=true\n";
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    assert_non_null(p);
    char path[] = "/tmp/cf-plan-cert-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char csv[] = "ID,UPN\n1,a@example.org\n";
    assert_int_equal(write(fd, csv, sizeof(csv) - 1), (ssize_t)(sizeof(csv) - 1));
    close(fd);
    size_t records = 0;
    assert_int_equal(cf_plan_check_batch(p, path, d, &records), CF_ERR_INVALID);
    unlink(path);
    assert_error(d, 0,
                 "column HOLDER is missing and the field has no default (needed by "
                 "[Certificate_Logon] in /srv/jobs/t.ini:10)");
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_certificates_come_after_the_identity_objects_and_before_block(void **state)
{
    (void)state;
    const char *text = HEAD "[Certificate_Logon]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=x\n"
                            "CA=command\nCACommand=true\n"
                            "[Application_PIV]\nCHUID=generate\nCCC=generate\nBlockCard=true\n";
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    if (p == NULL)
        cf_diag_print(d, stderr);
    assert_non_null(p);
    cf_step_kind_t k[] = {CF_STEP_AUTH_ADMIN, CF_STEP_SET_PIN_BY_PUK, CF_STEP_WRITE_CHUID,
                          CF_STEP_WRITE_CCC,  CF_STEP_ISSUE_CERT,     CF_STEP_BLOCK_PIN};
    assert_int_equal(cf_plan_step_count(p), 6);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(cf_plan_step(p, i)->kind, k[i]);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

static void test_gids_section_needs_no_management_key(void **state)
{
    (void)state;
    const char *text = "[Description]\nSetPIN=true\nPIN=#24680\nCardManagerKey=#" CMK "\n"
                       "[Certificate_Logon]\nSlot=auto\nAlgorithm=rsa2048\nSubject=/CN=x\n"
                       "CA=command\nCACommand=true\n";
    cf_diag_list_t *d;
    cf_plan_t *p = compile(text, &d);
    assert_non_null(p);
    cf_step_kind_t k[] = {CF_STEP_AUTH_ADMIN, CF_STEP_SET_PIN_BY_ADMIN, CF_STEP_ISSUE_CERT};
    assert_int_equal(cf_plan_step_count(p), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(cf_plan_step(p, i)->kind, k[i]);
    cf_plan_cert_t c;
    assert_int_equal(cf_plan_cert(p, 0, &c), 1);
    assert_string_equal(c.slot, "");
    assert_int_equal(c.ca_timeout_ms, 30000);
    cf_plan_free(p);
    cf_diag_list_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_section_compiles_to_a_step_before_block_pin),
        cmocka_unit_test(test_templates_expand_per_record_and_keep_any_character),
        cmocka_unit_test(test_certificate_rules_report_their_line),
        cmocka_unit_test(test_gids_section_needs_no_management_key),
        cmocka_unit_test(test_certificates_come_after_the_identity_objects_and_before_block),
        cmocka_unit_test(test_batch_without_a_template_column_names_the_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
