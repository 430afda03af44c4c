/*
 * test_journal_cert.c - the facts an issue-certificate step leaves in a
 * card record (slot, algorithm, state, serial, fingerprint, issuer,
 * not-after): written inside that step's object, read back the same, and
 * absent from every other step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <cardforge/journal.h>

#include "journal/journal_int.h"

static const cf_journal_step_t pin_step = {.step = "set-pin-by-puk",
                                           .outcome = "done",
                                           .reached = "yes",
                                           .sw = 0x9000,
                                           .ms = 12.5,
                                           .apdus = 3,
                                           .kcv = "",
                                           .message = "",
                                           .source = "literal",
                                           .master_key = ""};
static const cf_journal_step_t cert_step = {
    .step = "issue-certificate",
    .outcome = "failed",
    .reached = "yes",
    .err = CF_ERR_TIMEOUT,
    .ms = 700.0,
    .apdus = 9,
    .kcv = "",
    .message = "CA command did not finish within 700 ms; card state: key-generated (slot 9c)",
    .source = "",
    .master_key = ""};
static const cf_journal_step_t cert_done = {.step = "issue-certificate",
                                            .outcome = "done",
                                            .reached = "yes",
                                            .sw = 0x9000,
                                            .ms = 1900.0,
                                            .apdus = 40,
                                            .kcv = "",
                                            .message = "slot 9a ...",
                                            .source = "",
                                            .master_key = ""};

static void round_trip(const cf_journal_card_t *c, cf_journal_parser *p, cf_journal_entry_t *e)
{
    static char line[CF_JOURNAL_MAX_LINE];
    size_t len = 0;
    const char *why = NULL;
    assert_int_equal(cf_journal_format_card(c, line, sizeof(line), &len), CF_OK);
    e->lineno = 1;
    assert_int_equal(cf_journal_parse_line(p, line, len - 1, e, &why), CF_JLINE_OK);
    assert_int_equal(e->kind, CF_JOURNAL_CARD);
}

static void test_certificate_facts_round_trip_inside_their_step(void **state)
{
    (void)state;
    cf_journal_step_t steps[3] = {pin_step, cert_done, cert_step};
    cf_journal_cert_t certs[2] = {
        {1, "done", "9a", "ECC P-256", "5A0B3C",
         "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788"
         "796a5b4c3d2e1f0",
         "CN=Line CA,O=Bureau", "2027-12-05T13:38:56Z"},
        {2, "key-generated", "9c", "RSA-2048", "", "", "", ""},
    };
    cf_journal_card_t c;
    memset(&c, 0, sizeof(c));
    c.attempt = 1;
    c.record = 1;
    c.serial = "4242";
    c.status = CF_STATUS_FAILED;
    c.err = CF_ERR_TIMEOUT;
    c.steps = steps;
    c.n_steps = 3;
    c.certs = certs;
    c.n_certs = 2;
    cf_journal_parser p;
    assert_int_equal(cf_journal_parser_init(&p), 0);
    cf_journal_entry_t e;
    round_trip(&c, &p, &e);
    const cf_journal_card_t *r = &e.card;
    assert_int_equal(r->n_steps, 3);
    assert_int_equal(r->n_certs, 2);
    assert_int_equal(r->certs[0].step, 1);
    assert_string_equal(r->certs[0].state, "done");
    assert_string_equal(r->certs[0].slot, "9a");
    assert_string_equal(r->certs[0].algorithm, "ECC P-256");
    assert_string_equal(r->certs[0].serial, "5A0B3C");
    assert_string_equal(r->certs[0].sha256, certs[0].sha256);
    assert_string_equal(r->certs[0].issuer, "CN=Line CA,O=Bureau");
    assert_string_equal(r->certs[0].not_after, "2027-12-05T13:38:56Z");
    assert_int_equal(r->certs[1].step, 2);
    assert_string_equal(r->certs[1].state, "key-generated");
    assert_string_equal(r->certs[1].serial, "");

    /* a card without certificate steps has none */
    c.n_steps = 1;
    c.certs = NULL;
    c.n_certs = 0;
    round_trip(&c, &p, &e);
    assert_int_equal(e.card.n_certs, 0);
    assert_null(e.card.certs);
    cf_journal_parser_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_facts_round_trip_inside_their_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
