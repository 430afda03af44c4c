/*
 * test_personalize_cert.c - issue-certificate steps in whole plans run by
 * the executor on virtual cards (yubikey PIV, GIDS): the certificate each
 * card ends with is judged by `openssl verify -CAfile` against the test CA,
 * and a CA that refuses leaves the card reported exactly as it is (key
 * generated, no certificate, the PIN not blocked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cardforge/cert.h>
#include <cardforge/personalize.h>
#include <cardforge/plan.h>

#include "card_fixture.h"

#define FACTORY_MGM "010203040506070801020304050607080102030405060708"
#define GEMALTO_ADMIN "000000000000000000000000000000000000000000000000"

static char ca_dir[64];

/* A CA made by the openssl tool, its key mode 0600. */
static int make_ca(void **state)
{
    (void)state;
    snprintf(ca_dir, sizeof(ca_dir), "/tmp/cf-pers-ca-XXXXXX");
    if (mkdtemp(ca_dir) == NULL)
        return -1;
    char cmd[700];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && umask 077 && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj '/CN=Line CA' "
             "-days 30 -addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null",
             ca_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int drop_ca(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ca_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *lookup(void *ctx, const char *field, size_t *len)
{
    (void)ctx;
    const char *v = strcmp(field, "HOLDER") == 0 ? "Jane Doe" : NULL;
    if (v != NULL)
        *len = strlen(v);
    return v;
}

static void plan_for(const char *desc, cf_plan_t **plan, cf_card_values_t **values)
{
    cf_diag_list_t *d = cf_diag_list_new();
    char name[128];
    snprintf(name, sizeof(name), "%s/job.ini", ca_dir); /* CA files next to it */
    cf_err_t e = cf_plan_compile_mem(name, desc, strlen(desc), d, plan);
    if (e != CF_OK)
        cf_diag_print(d, stderr);
    assert_int_equal(e, CF_OK);
    assert_int_equal(cf_plan_resolve(*plan, lookup, NULL, NULL, NULL, "b.csv", 2, d, values),
                     CF_OK);
    cf_diag_list_free(d);
}

/* A card of type in a reader, the job compiled and resolved for it. */
static void open_job(struct fx *f, const char *type, const char *factory, const char *job,
                     cf_plan_t **plan, cf_card_values_t **values)
{
    assert_int_equal(fx_open(f, type, factory, 4242, NULL), CF_OK);
    plan_for(job, plan, values);
}

static void close_job(struct fx *f, cf_plan_t *plan, cf_card_values_t *values)
{
    cf_card_values_free(values);
    cf_plan_free(plan);
    fx_close(f);
}

/* `openssl verify -CAfile` on the certificate in slot, read from the card. */
static int verified_by_openssl(struct fx *f, const char *slot)
{
    uint8_t *der = NULL;
    size_t dl = 0;
    assert_int_equal(cf_card_reselect(f->card), CF_OK);
    assert_int_equal(cf_cert_read(f->card, slot, &der, &dl), CF_OK);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)dl);
    assert_non_null(x);
    char path[128], cmd[400];
    snprintf(path, sizeof(path), "%s/card.pem", ca_dir);
    FILE *out = fopen(path, "w");
    PEM_write_X509(out, x);
    fclose(out);
    X509_free(x);
    free(der);
    snprintf(cmd, sizeof(cmd),
             "openssl verify -CAfile '%s/ca.pem' -purpose sslclient '%s' "
             ">/dev/null 2>&1",
             ca_dir, path);
    return system(cmd) == 0;
}

static const char PIV_CERT_JOB[] = "[Fields]\nHOLDER=\n"
                                   "[Description]\nSetPIN=true\nPIN=#654321\n"
                                   "InitialPUK=#12345678\nCardManagerKey=#" FACTORY_MGM "\n"
                                   "[Certificate_Logon]\nSlot=9a\nAlgorithm=p256\n"
                                   "Subject=/CN=${HOLDER}/O=Bureau\nUPN=jdoe@corp.example\n"
                                   "CA=local\nCACert=ca.pem\nCAKey=ca.key\n"
                                   "[Application_B]\nBlockCard=true\n";

static const char GIDS_CERT_JOB[] = "[Fields]\nHOLDER=\n"
                                    "[Description]\nSetPIN=true\nPIN=#24680\n"
                                    "CardManagerKey=#" GEMALTO_ADMIN "\n"
                                    "[Certificate_Logon]\nSlot=auto\nAlgorithm=rsa2048\n"
                                    "Subject=/CN=${HOLDER}\nCA=local\nCACert=ca.pem\n"
                                    "CAKey=ca.key\n"
                                    "[Application_B]\nBlockCard=true\n";

static void run_job(const char *type, const char *factory, const char *job, const char *slot)
{
    struct fx f;
    cf_plan_t *plan = NULL;
    cf_card_values_t *values = NULL;
    open_job(&f, type, factory, job, &plan, &values);
    cf_personalize_result_t res;
    cf_err_t e = cf_personalize(f.card, plan, values, 0, NULL, &res);
    for (size_t i = 0; e != CF_OK && i < res.n_steps; i++)
        fprintf(stderr, "%s: %s %s\n", cf_step_kind_name(res.steps[i].kind),
                cf_outcome_name(res.steps[i].outcome), res.steps[i].message);
    assert_int_equal(e, CF_OK);
    const cf_step_result_t *is = NULL;
    for (size_t i = 0; i < res.n_steps; i++)
        if (res.steps[i].kind == CF_STEP_ISSUE_CERT)
            is = &res.steps[i];
    assert_non_null(is);
    assert_int_equal(is->outcome, CF_OUTCOME_DONE);
    assert_int_equal(is->reached, CF_REACHED_YES);
    assert_int_equal(is->issue.state, CF_ISSUE_DONE);
    assert_string_equal(is->issue.slot, slot);
    assert_int_equal(is->issue.have_cert, 1);
    assert_string_equal(is->issue.cert.issuer, "CN=Line CA");
    assert_int_equal(strlen(is->issue.cert.sha256), 64);
    assert_non_null(strstr(is->message, "signature verified"));
    assert_int_equal(res.steps[res.n_steps - 1].kind, CF_STEP_BLOCK_PIN);
    assert_int_equal(res.steps[res.n_steps - 1].outcome, CF_OUTCOME_DONE);
    assert_true(verified_by_openssl(&f, slot));
    close_job(&f, plan, values);
}

static void test_piv_job_issues_certificate_then_blocks(void **state)
{
    (void)state;
    run_job("yubikey", NULL, PIV_CERT_JOB, "9a");
}

static void test_gids_job_issues_certificate_then_blocks(void **state)
{
    (void)state;
    run_job("gids", "gemalto", GIDS_CERT_JOB, "0");
}

static void test_refusing_ca_leaves_key_generated_and_pin_unblocked(void **state)
{
    (void)state;
    const char *job = "[Fields]\nHOLDER=\n"
                      "[Description]\nSetPIN=true\nPIN=#654321\n"
                      "InitialPUK=#12345678\nCardManagerKey=#" FACTORY_MGM "\n"
                      "[Certificate_Logon]\nSlot=9c\nAlgorithm=rsa2048\nSubject=/CN=${HOLDER}\n"
                      "CA=command\nCACommand=cat >/dev/null; echo 'no such profile' >&2; exit 3\n"
                      "[Application_B]\nBlockCard=true\n";
    struct fx f;
    cf_plan_t *plan = NULL;
    cf_card_values_t *values = NULL;
    open_job(&f, "yubikey", NULL, job, &plan, &values);
    cf_personalize_result_t res;
    assert_int_equal(cf_personalize(f.card, plan, values, 0, NULL, &res), CF_ERR_REFUSED);
    const cf_step_result_t *is = &res.steps[res.n_steps - 2];
    assert_int_equal(is->kind, CF_STEP_ISSUE_CERT);
    assert_int_equal(is->outcome, CF_OUTCOME_FAILED);
    assert_int_equal(is->reached, CF_REACHED_YES);
    assert_int_equal(is->issue.state, CF_ISSUE_KEY_GENERATED);
    assert_int_equal(is->issue.have_cert, 0);
    assert_non_null(strstr(is->message, "no such profile"));
    assert_non_null(strstr(is->message, "card state: key-generated (slot 9c)"));
    assert_int_equal(res.steps[res.n_steps - 1].outcome, CF_OUTCOME_NOT_RUN);
    /* the card: a key in 9c, no certificate, the PIN still works */
    assert_non_null(fx_state(&f, "key_9C"));
    uint8_t *der = NULL;
    size_t dl = 0;
    assert_int_equal(cf_card_reselect(f.card), CF_OK);
    assert_int_equal(cf_cert_read(f.card, "9c", &der, &dl), CF_ERR_NOT_FOUND);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "654321")), CF_OK);
    close_job(&f, plan, values);
}

static void test_gids_slot_on_piv_card_is_refused_before_anything_is_sent(void **state)
{
    (void)state;
    const char *job = "[Fields]\nHOLDER=\n"
                      "[Description]\nSetPIN=true\nPIN=#654321\n"
                      "InitialPUK=#12345678\n"
                      "[Certificate_Logon]\nSlot=auto\nAlgorithm=rsa2048\nSubject=/CN=${HOLDER}\n"
                      "CA=command\nCACommand=false\n";
    struct fx f;
    cf_plan_t *plan = NULL;
    cf_card_values_t *values = NULL;
    open_job(&f, "yubikey", NULL, job, &plan, &values);
    char msg[300] = "";
    assert_int_equal(cf_personalize_check(f.card, plan, values, 0, msg, sizeof(msg)),
                     CF_ERR_REFUSED);
    assert_non_null(strstr(msg, "Slot=auto is a GIDS container"));
    cf_personalize_result_t res;
    assert_int_equal(cf_personalize(f.card, plan, values, 0, NULL, &res), CF_ERR_REFUSED);
    assert_int_equal(res.steps[0].outcome, CF_OUTCOME_NOT_RUN);
    assert_int_equal(res.steps[0].reached, CF_REACHED_NO);
    close_job(&f, plan, values);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_piv_job_issues_certificate_then_blocks),
        cmocka_unit_test(test_gids_job_issues_certificate_then_blocks),
        cmocka_unit_test(test_refusing_ca_leaves_key_generated_and_pin_unblocked),
        cmocka_unit_test(test_gids_slot_on_piv_card_is_refused_before_anything_is_sent),
    };
    return cmocka_run_group_tests(tests, make_ca, drop_ca);
}
