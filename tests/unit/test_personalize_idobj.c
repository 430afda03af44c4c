/*
 * test_personalize_idobj.c - the write-chuid and write-ccc steps on virtual
 * cards through the in-process reader: fresh identifiers per card, the
 * bytes SP 800-73-4 asks for, and every way the write can go wrong
 * (refused, lost, read back different, a card type without the objects),
 * each reported with the card's exact state.
 *
 * The judge of what the card holds is its state file (written by the card
 * itself), parsed with cf_chuid_parse; faults are injected by a reader
 * that sits between the engine and the card (tamper_transmit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cardforge/card.h>
#include <cardforge/idobj.h>
#include <cardforge/personalize.h>
#include <cardforge/plan.h>
#include <cardforge/simcard.h>
#include <cardforge/transport.h>

#include "simcard_tx.h"
#include "transport/transport_int.h"

#define FACTORY_MGM "010203040506070801020304050607080102030405060708"
#define NEW_KEY "00112233445566778899AABBCCDDEEFF0011223344556677"

static const char PIV_IDS[] = "[Description]\nCardManagerKey=#" FACTORY_MGM "\n"
                              "[Application_PIV]\nCHUID=generate\nCHUIDExpiry=20310228\n"
                              "CCC=generate\n";

static cf_profiles_t *profiles;
static char dir[64], path[128];

/* ---- a reader that can refuse, lose or alter what the card says -------- */

static const struct cf_transport_ops *real_ops;
static struct cf_transport_ops tamper_ops;
static uint16_t put_sw;    /* answer PUT DATA with this word, card untouched (0: pass) */
static int lose_put;       /* PUT DATA reaches the card, its answer is lost */
static int alter_chuid;    /* GET DATA of the CHUID: one GUID byte flipped */
static unsigned put_count; /* PUT DATA commands the card received */

static cf_err_t tamper_transmit(cf_transport_t *t, const uint8_t *cmd, size_t len, uint8_t *resp,
                                size_t cap, size_t *resp_len)
{
    int is_put = len >= 2 && cmd[1] == 0xDB;
    if (is_put && put_sw != 0) {
        resp[0] = (uint8_t)(put_sw >> 8);
        resp[1] = (uint8_t)put_sw;
        *resp_len = 2;
        return CF_OK;
    }
    cf_err_t e = real_ops->transmit(t, cmd, len, resp, cap, resp_len);
    put_count += is_put && e == CF_OK;
    if (is_put && lose_put)
        return cf_transport_fail(t, CF_ERR_CARD_REMOVED, "card removed");
    /* 00 CB 3F FF 05 5C 03 5F C1 02: answer 53 3B 30 19 <25> 34 10 <GUID> */
    if (alter_chuid && len >= 10 && cmd[1] == 0xCB && cmd[9] == 0x02 && *resp_len > 40)
        resp[2 + 27 + 2 + 3] ^= 0x01;
    return e;
}

struct rig {
    cf_simcard_t *sc;
    cf_transport_t *t;
    cf_card_t *card;
    cf_plan_t *plan;
    cf_card_values_t *values;
    cf_personalize_result_t res;
};

static void rig_new(struct rig *r, const char *type, uint32_t serial, const char *desc)
{
    memset(r, 0, sizeof(*r));
    /* a GIDS card's factory state is a vendor's */
    const char *factory = strncmp(type, "gids", 4) == 0 ? "gemalto" : NULL;
    assert_int_equal(cf_simcard_new(type, factory, serial, &r->sc), CF_OK);
    assert_int_equal(cf_transport_open_sim(r->sc, "sim 0", &r->t), CF_OK);
    real_ops = r->t->ops;
    tamper_ops = *real_ops;
    tamper_ops.transmit = tamper_transmit;
    r->t->ops = &tamper_ops;
    char err[256] = "";
    if (cf_card_open(r->t, profiles, NULL, &r->card, err, sizeof(err)) != CF_OK)
        fail_msg("cf_card_open: %s", err);
    cf_diag_list_t *d = cf_diag_list_new();
    assert_int_equal(cf_plan_compile_mem("job.ini", desc, strlen(desc), d, &r->plan), CF_OK);
    assert_int_equal(cf_plan_resolve(r->plan, NULL, NULL, NULL, NULL, "job", 0, d, &r->values),
                     CF_OK);
    cf_diag_list_free(d);
    put_sw = 0;
    lose_put = alter_chuid = 0;
    put_count = 0;
}

static cf_err_t rig_run(struct rig *r)
{
    cf_err_t e = cf_personalize(r->card, r->plan, r->values, 0, NULL, &r->res);
    assert_int_equal(cf_simcard_save(r->sc, path), CF_OK);
    return e;
}

static void rig_free(struct rig *r)
{
    cf_card_free(r->card);
    r->t->ops = real_ops; /* its own close */
    cf_transport_close(r->t, CF_DISPOSE_UNPOWER);
    cf_card_values_free(r->values);
    cf_plan_free(r->plan);
    cf_simcard_free(r->sc);
}

static const cf_step_result_t *step_of(const struct rig *r, cf_step_kind_t k)
{
    for (size_t i = 0; i < r->res.n_steps; i++)
        if (r->res.steps[i].kind == k)
            return &r->res.steps[i];
    fail_msg("no step %s", cf_step_kind_name(k));
    return NULL;
}

/* The card's own record of object id (hex in the state file) as bytes;
 * 0 when it holds none. */
static size_t card_object(const char *id, uint8_t *out, size_t cap)
{
    char key[16], hex[1024];
    snprintf(key, sizeof(key), "obj_%s", id);
    if (tx_state_value(path, key, hex, sizeof(hex)) == NULL)
        return 0;
    return tx_unhex(hex, out, cap);
}

static void hex16(const uint8_t *b, char out[33])
{
    for (size_t i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The CHUID the card holds, parsed; its GUID as hex in guid. */
static void card_chuid(cf_chuid_t *ch, char guid[33])
{
    uint8_t v[256];
    size_t n = card_object("5FC102", v, sizeof(v));
    assert_true(n > 0);
    assert_int_equal(cf_chuid_parse(v, n, ch), 0);
    hex16(ch->guid, guid);
}

static int group_setup(void **state)
{
    (void)state;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_err_t e = cf_profiles_load(CF_SOURCE_DIR "/profiles", d, &profiles);
    cf_diag_list_free(d);
    tx_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state", dir);
    return e == CF_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cf_profiles_free(profiles);
    tx_rmdir(dir);
    return 0;
}

/* ---- the steps done ------------------------------------------------------ */

static void expect_ids_written(const char *type, uint32_t serial, char guid_out[33])
{
    struct rig r;
    rig_new(&r, type, serial, PIV_IDS);
    assert_int_equal(rig_run(&r), CF_OK);
    const cf_step_result_t *c = step_of(&r, CF_STEP_WRITE_CHUID);
    assert_int_equal(c->outcome, CF_OUTCOME_DONE);
    assert_int_equal(c->reached, CF_REACHED_YES);
    assert_int_equal(step_of(&r, CF_STEP_WRITE_CCC)->outcome, CF_OUTCOME_DONE);

    cf_chuid_t ch;
    char guid[33];
    card_chuid(&ch, guid);
    assert_string_equal(guid, c->guid);        /* what the result (and journal) says */
    assert_int_equal(ch.guid[6] >> 4, 4);      /* RFC 4122 version 4 */
    assert_int_equal(ch.guid[8] & 0xC0, 0x80); /* RFC 4122 variant */
    assert_true(ch.has_fascn);
    static const uint8_t nines[25] = {0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE,
                                      0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10,
                                      0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB};
    assert_memory_equal(ch.fascn, nines, sizeof(nines));
    assert_string_equal(ch.expiry, "20310228");
    assert_int_equal(ch.signature_len, 0);
    /* the whole object, in the standard's order, ends with 3E 00 FE 00 */
    uint8_t v[256];
    size_t n = card_object("5FC102", v, sizeof(v));
    assert_int_equal(n, 59);
    assert_memory_equal(v + 55, "\x3E\x00\xFE\x00", 4);

    uint8_t ccc[256];
    n = card_object("5FC107", ccc, sizeof(ccc));
    assert_int_equal(n, 51);
    assert_memory_equal(ccc, "\xF0\x15\xA0\x00\x00\x01\x16\xFF\x02", 9);
    assert_memory_equal(ccc + 23, "\xF1\x01\x21\xF2\x01\x21\xF3\x00\xF4\x01\x00\xF5\x01\x10", 14);
    assert_memory_equal(ccc + 37, "\xF6\x00\xF7\x00\xFA\x00\xFB\x00\xFC\x00\xFD\x00\xFE\x00", 14);
    snprintf(guid_out, 33, "%s", guid);
    rig_free(&r);
}

static void test_chuid_and_ccc_are_written_with_a_fresh_guid_per_card(void **state)
{
    (void)state;
    char g1[33], g2[33], g3[33];
    expect_ids_written("yubikey", 1000001, g1);
    expect_ids_written("yubikey", 1000002, g2);
    expect_ids_written("piv", 1000003, g3); /* replaces the piv card's factory CHUID */
    assert_string_not_equal(g1, g2);
    assert_string_not_equal(g1, g3);
    assert_string_not_equal(g2, g3);
}

static void test_steps_run_after_admin_auth_and_before_block_pin(void **state)
{
    (void)state;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_plan_t *p = NULL;
    static const char desc[] = "[Description]\nCardManagerKey=#" FACTORY_MGM "\n"
                               "NewCardManagerKey=#" NEW_KEY "\nSetPIN=true\nPIN=#654321\n"
                               "InitialPUK=#12345678\n"
                               "[Application_PIV]\nCCC=generate\nBlockCard=true\nCHUID=generate\n";
    assert_int_equal(cf_plan_compile_mem("job.ini", desc, strlen(desc), d, &p), CF_OK);
    cf_step_kind_t want[] = {CF_STEP_AUTH_ADMIN,  CF_STEP_SET_PIN_BY_PUK, CF_STEP_ROTATE_ADMIN_KEY,
                             CF_STEP_WRITE_CHUID, CF_STEP_WRITE_CCC,      CF_STEP_BLOCK_PIN};
    assert_int_equal(cf_plan_step_count(p), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(cf_plan_step(p, i)->kind, want[i]);
    /* after a rotation the objects are written under the new key */
    assert_int_equal(cf_plan_step(p, 3)->credential, CF_PARAM_NEW_CARD_MANAGER_KEY);
    assert_int_equal(cf_plan_step(p, 3)->line, 10); /* CHUID's line */
    cf_plan_free(p);
    cf_diag_list_free(d);

    /* and on a card: the writes go under the rotated key, the PIN ends blocked */
    struct rig r;
    rig_new(&r, "yubikey", 1000010, desc);
    assert_int_equal(rig_run(&r), CF_OK);
    cf_chuid_t ch;
    char guid[33];
    card_chuid(&ch, guid);
    assert_string_equal(guid, step_of(&r, CF_STEP_WRITE_CHUID)->guid);
    char v[64];
    assert_string_equal(tx_state_value(path, "mgm_key", v, sizeof(v)), NEW_KEY);
    assert_string_equal(tx_state_value(path, "pin_tries", v, sizeof(v)), "0");
    rig_free(&r);
}

/* ---- what goes wrong ---------------------------------------------------- */

static void test_write_refused_by_the_card_reports_nothing_reached(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", 1000020, PIV_IDS);
    put_sw = 0x6A80;
    assert_int_equal(rig_run(&r), CF_ERR_CARD_STATUS);
    const cf_step_result_t *c = step_of(&r, CF_STEP_WRITE_CHUID);
    assert_int_equal(c->outcome, CF_OUTCOME_FAILED);
    assert_int_equal(c->reached, CF_REACHED_NO);
    assert_int_equal(c->sw, 0x6A80);
    assert_non_null(strstr(c->message, "6A80"));
    assert_int_equal(step_of(&r, CF_STEP_WRITE_CCC)->outcome, CF_OUTCOME_NOT_RUN);
    assert_string_equal(c->guid, ""); /* no GUID to record: none reached the card */
    uint8_t v[256];
    assert_int_equal(card_object("5FC102", v, sizeof(v)), 0); /* the card has none */
    assert_int_equal(put_count, 0);
    rig_free(&r);
}

static void test_write_refused_for_want_of_the_admin_key_is_refused_not_failed(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "piv", 1000021, PIV_IDS);
    put_sw = 0x6982;
    assert_int_equal(rig_run(&r), CF_ERR_REFUSED);
    const cf_step_result_t *c = step_of(&r, CF_STEP_WRITE_CHUID);
    assert_int_equal(c->reached, CF_REACHED_NO);
    assert_int_equal(c->err, CF_ERR_REFUSED);
    /* the piv card keeps its factory CHUID: GUID "CFPIV" + serial */
    cf_chuid_t ch;
    char guid[33];
    card_chuid(&ch, guid);
    assert_memory_equal(ch.guid, "CFPIV", 5);
    assert_string_not_equal(guid, c->guid);
    rig_free(&r);
}

static void test_read_back_that_differs_reports_the_change_and_what_the_card_holds(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", 1000030, PIV_IDS);
    alter_chuid = 1;
    assert_int_equal(rig_run(&r), CF_ERR_PROOF_FAILED);
    const cf_step_result_t *c = step_of(&r, CF_STEP_WRITE_CHUID);
    assert_int_equal(c->outcome, CF_OUTCOME_FAILED);
    assert_int_equal(c->reached, CF_REACHED_YES); /* the card acknowledged the write */
    assert_non_null(strstr(c->message, "reads back a CHUID with GUID"));
    /* the card holds what was written; the reader showed something else */
    cf_chuid_t ch;
    char guid[33];
    card_chuid(&ch, guid);
    assert_string_equal(guid, c->guid);
    assert_null(strstr(c->message, c->guid));
    assert_int_equal(step_of(&r, CF_STEP_WRITE_CCC)->outcome, CF_OUTCOME_NOT_RUN);
    rig_free(&r);
}

static void test_write_whose_answer_is_lost_reports_reached_unknown_with_its_guid(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", 1000040, PIV_IDS);
    lose_put = 1;
    assert_int_equal(rig_run(&r), CF_ERR_CARD_REMOVED);
    const cf_step_result_t *c = step_of(&r, CF_STEP_WRITE_CHUID);
    assert_int_equal(c->outcome, CF_OUTCOME_FAILED);
    assert_int_equal(c->reached, CF_REACHED_UNKNOWN);
    assert_int_equal(strlen(c->guid), 32);
    cf_chuid_t ch;
    char guid[33];
    card_chuid(&ch, guid); /* it did reach this card */
    assert_string_equal(guid, c->guid);
    rig_free(&r);
}

static void test_gids_card_refuses_the_identity_objects_before_sending_anything(void **state)
{
    (void)state;
    struct rig r;
    static const char desc[] = "[Description]\n"
                               "[Application_PIV]\nCHUID=generate\n";
    rig_new(&r, "gids", 1000050, desc);
    uint64_t before = cf_transport_apdu_count(r.t);
    assert_int_equal(rig_run(&r), CF_ERR_REFUSED);
    const cf_step_result_t *c = step_of(&r, CF_STEP_WRITE_CHUID);
    assert_int_equal(c->outcome, CF_OUTCOME_REFUSED);
    assert_int_equal(c->reached, CF_REACHED_NO);
    assert_non_null(strstr(c->message, "step write-chuid (line 3) refused on card type gids"));
    assert_non_null(strstr(c->message, "no PIV data objects"));
    assert_int_equal(put_count, 0);
    /* only the counter reads of the final record, nothing that writes */
    assert_true(cf_transport_apdu_count(r.t) - before <= 3);
    rig_free(&r);
}

/* ---- the card layer alone ----------------------------------------------- */

static void test_card_write_needs_the_admin_key_first_and_sends_nothing(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", 1000060, PIV_IDS);
    uint8_t guid[16] = {0};
    uint64_t before = cf_transport_apdu_count(r.t);
    assert_int_equal(cf_card_write_chuid(r.card, guid, "20300101"), CF_ERR_REFUSED);
    assert_non_null(strstr(cf_card_errmsg(r.card), "nothing sent"));
    assert_int_equal(cf_transport_apdu_count(r.t), before);
    assert_int_equal(cf_card_write_chuid(r.card, guid, "2030011"), CF_ERR_ARG);
    rig_free(&r);
}

static void test_chuid_parser_takes_the_standard_layout_and_refuses_malformed(void **state)
{
    (void)state;
    uint8_t guid[16], v[64];
    for (int i = 0; i < 16; i++)
        guid[i] = (uint8_t)(0xA0 + i);
    size_t n = cf_chuid_build(guid, "20291231", v, sizeof(v));
    assert_int_equal(n, 59);
    cf_chuid_t ch;
    assert_int_equal(cf_chuid_parse(v, n, &ch), 0);
    assert_memory_equal(ch.guid, guid, 16);
    assert_string_equal(ch.expiry, "20291231");
    assert_int_equal(cf_chuid_parse(v, n - 2, &ch), -1); /* no FE */
    assert_int_equal(cf_chuid_parse(v, n - 1, &ch), -1); /* FE cut */
    uint8_t bad[64];
    memcpy(bad, v, n);
    bad[28] = 0x0F; /* GUID length 15 */
    assert_int_equal(cf_chuid_parse(bad, n, &ch), -1);
    memcpy(bad, v, n);
    bad[47] = 'X'; /* expiry not digits */
    assert_int_equal(cf_chuid_parse(bad, n, &ch), -1);
    uint8_t after[65];
    memcpy(after, v, n);
    after[n] = 0x00; /* a byte after FE */
    assert_int_equal(cf_chuid_parse(after, n + 1, &ch), -1);
    assert_int_equal(cf_chuid_build(guid, "2029123", v, sizeof(v)), 0);
    assert_int_equal(cf_chuid_build(guid, "20291231", v, 58), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chuid_and_ccc_are_written_with_a_fresh_guid_per_card),
        cmocka_unit_test(test_steps_run_after_admin_auth_and_before_block_pin),
        cmocka_unit_test(test_write_refused_by_the_card_reports_nothing_reached),
        cmocka_unit_test(test_write_refused_for_want_of_the_admin_key_is_refused_not_failed),
        cmocka_unit_test(test_read_back_that_differs_reports_the_change_and_what_the_card_holds),
        cmocka_unit_test(test_write_whose_answer_is_lost_reports_reached_unknown_with_its_guid),
        cmocka_unit_test(test_gids_card_refuses_the_identity_objects_before_sending_anything),
        cmocka_unit_test(test_card_write_needs_the_admin_key_first_and_sends_nothing),
        cmocka_unit_test(test_chuid_parser_takes_the_standard_layout_and_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
