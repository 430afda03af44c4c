/*
 * test_transport_sim.c - the simulated reader: power, ATR, dispositions,
 * the latency hook, and the two kinds of card pull. Until the PIV and GIDS
 * card types land, the cards answer every command 6D00; what the card
 * received is read from its cost counters and the latency hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <cardforge/simcard.h>
#include <cardforge/transport.h>

#include "transport/script.h"

struct costs {
    unsigned calls;
    cf_simcard_cost_t last;
};

static void record_cost(void *user, const cf_simcard_cost_t *cost)
{
    struct costs *c = user;
    c->calls++;
    c->last = *cost;
}

static cf_simcard_t *new_card(const char *type)
{
    cf_simcard_t *card = NULL;
    assert_int_equal(cf_simcard_new(type, NULL, 1234, &card), CF_OK);
    return card;
}

/* Whether the card is powered, asked of the card itself. */
static int card_powered(cf_simcard_t *card)
{
    static const uint8_t apdu[] = {0x00, 0xCA, 0x00, 0x00, 0x00};
    static uint8_t resp[CF_SIMCARD_MAX_RESPONSE];
    size_t len;
    return cf_simcard_transmit(card, apdu, sizeof(apdu), resp, &len) == CF_OK;
}

/* A 4-byte command and a 7-byte command, told apart by the card's cost. */
static const cf_capdu_t short_cmd = {.ins = 0xA4};
static const uint8_t three[] = {1, 2, 3};
static const cf_capdu_t long_cmd = {.ins = 0xA4, .p1 = 0x04, .data = three, .len = 3};

static void test_open_powers_the_card_and_reads_its_atr(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    assert_false(card_powered(card));
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim 00", &t), CF_OK);
    assert_true(card_powered(card));
    uint8_t atr[CF_ATR_MAX];
    size_t n = cf_simcard_atr(card, atr, sizeof(atr)), tn;
    const uint8_t *tatr = cf_transport_atr(t, &tn);
    assert_true(n > 0);
    assert_int_equal(tn, n);
    assert_memory_equal(tatr, atr, n);
    assert_string_equal(cf_transport_kind(t), "sim");
    assert_string_equal(cf_transport_reader(t), "Sim 00");

    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    assert_int_equal(r.sw, 0x6A82); /* SELECT without an AID: no such file */
    assert_int_equal(cf_transport_apdu_count(t), 1);
    assert_int_equal(cf_transport_begin(t), CF_OK);
    assert_int_equal(cf_transport_end(t), CF_OK);
    assert_int_equal(cf_transport_reset(t), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_gids_card_answers_through_the_same_reader(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("gids");
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim 01", &t), CF_OK);
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &long_cmd, &r), CF_OK);
    assert_int_equal(r.sw, 0x6A82); /* SELECT of an unknown AID */
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_close_applies_the_disposition(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = NULL;

    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    assert_true(card_powered(card));

    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    cf_transport_close(t, CF_DISPOSE_RESET);
    assert_true(card_powered(card));

    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    cf_transport_close(t, CF_DISPOSE_UNPOWER);
    assert_false(card_powered(card));
    cf_simcard_free(card);
}

static void test_latency_hook_sees_every_apdu_cost(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    struct costs costs = {0};
    assert_int_equal(cf_transport_sim_set_latency(t, record_cost, &costs), CF_OK);
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &long_cmd, &r), CF_OK);
    assert_int_equal(costs.calls, 1);
    assert_int_equal(costs.last.bytes_in, 8);
    assert_int_equal(costs.last.bytes_out, 2);
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    assert_int_equal(costs.calls, 2);
    assert_int_equal(costs.last.bytes_in, 4);
    assert_int_equal(cf_transport_sim_set_latency(t, NULL, NULL), CF_OK);
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    assert_int_equal(costs.calls, 2);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_pull_undelivered_keeps_the_kth_apdu_from_the_card(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    struct costs costs = {0};
    assert_int_equal(cf_transport_sim_set_latency(t, record_cost, &costs), CF_OK);
    assert_int_equal(cf_transport_sim_pull_after(t, 2, CF_SIM_PULL_UNDELIVERED), CF_OK);

    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    assert_int_equal(cf_transport_transmit(t, &long_cmd, &r), CF_ERR_CARD_REMOVED);
    assert_non_null(strstr(cf_transport_errmsg(t), "card removed"));
    /* The card processed only the first command. */
    assert_int_equal(costs.calls, 1);
    assert_int_equal(cf_simcard_last_cost(card).bytes_in, 4);
    assert_false(card_powered(card));

    /* The card stays out. */
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_ERR_CARD_REMOVED);
    assert_int_equal(cf_transport_reset(t), CF_ERR_CARD_REMOVED);
    assert_int_equal(cf_transport_begin(t), CF_ERR_CARD_REMOVED);
    assert_int_equal(cf_transport_end(t), CF_ERR_CARD_REMOVED);
    assert_int_equal(costs.calls, 1);
    cf_transport_close(t, CF_DISPOSE_RESET);
    assert_false(card_powered(card)); /* closing does not touch a pulled card */

    /* Re-inserting is opening again. */
    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_pull_answer_lost_delivers_the_kth_apdu(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    struct costs costs = {0};
    assert_int_equal(cf_transport_sim_set_latency(t, record_cost, &costs), CF_OK);
    assert_int_equal(cf_transport_sim_pull_after(t, 2, CF_SIM_PULL_ANSWER_LOST), CF_OK);

    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    assert_int_equal(cf_transport_transmit(t, &long_cmd, &r), CF_ERR_CARD_REMOVED);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.sw, 0);
    /* The card processed the second command too; only its answer is lost. */
    assert_int_equal(costs.calls, 2);
    assert_int_equal(cf_simcard_last_cost(card).bytes_in, 8);
    assert_false(card_powered(card));
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_ERR_CARD_REMOVED);
    assert_int_equal(cf_transport_apdu_count(t), 3);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_pull_counts_from_the_call_and_zero_disarms(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    cf_rapdu_t r;
    for (int i = 0; i < 3; i++)
        assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    assert_int_equal(cf_transport_sim_pull_after(t, 1, CF_SIM_PULL_UNDELIVERED), CF_OK);
    assert_int_equal(cf_transport_sim_pull_after(t, 0, CF_SIM_PULL_UNDELIVERED), CF_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    assert_int_equal(cf_transport_sim_pull_after(t, 1, CF_SIM_PULL_UNDELIVERED), CF_OK);
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_ERR_CARD_REMOVED);
    assert_int_equal(cf_transport_sim_pull_after(t, 1, (cf_sim_pull_t)7), CF_ERR_ARG);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_pull_counts_chain_links(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    struct costs costs = {0};
    assert_int_equal(cf_transport_sim_set_latency(t, record_cost, &costs), CF_OK);
    /* A 600-byte command is three links; the card is pulled at the second. */
    static uint8_t data[600];
    cf_capdu_t c = {.ins = 0xDB, .p1 = 0x3F, .p2 = 0xFF, .data = data, .len = sizeof(data)};
    assert_int_equal(cf_transport_sim_pull_after(t, 2, CF_SIM_PULL_UNDELIVERED), CF_OK);
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_CARD_REMOVED);
    assert_int_equal(costs.calls, 1);
    assert_int_equal(costs.last.bytes_in, 260);
    assert_int_equal(cf_transport_apdu_count(t), 2);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_card_powered_off_behind_the_readers_back(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_sim(card, "Sim", &t), CF_OK);
    cf_simcard_power_off(card);
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_ERR_NO_CARD);
    assert_non_null(strstr(cf_transport_errmsg(t), "not powered"));
    assert_int_equal(cf_transport_reset(t), CF_OK); /* a reset powers it up */
    assert_int_equal(cf_transport_transmit(t, &short_cmd, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_simcard_free(card);
}

static void test_sim_controls_refuse_other_transports(void **state)
{
    (void)state;
    cf_transport_t *t = NULL;
    assert_int_equal(cf_script_open("Script", &t), CF_OK);
    assert_int_equal(cf_transport_sim_pull_after(t, 1, CF_SIM_PULL_UNDELIVERED),
                     CF_ERR_UNSUPPORTED);
    assert_int_equal(cf_transport_sim_set_latency(t, record_cost, NULL), CF_ERR_UNSUPPORTED);
    assert_int_equal(cf_transport_sim_pull_after(NULL, 1, CF_SIM_PULL_UNDELIVERED),
                     CF_ERR_UNSUPPORTED);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_open_sim_refuses_missing_arguments(void **state)
{
    (void)state;
    cf_simcard_t *card = new_card("yubikey");
    cf_transport_t *t = (cf_transport_t *)1;
    assert_int_equal(cf_transport_open_sim(NULL, "Sim", &t), CF_ERR_ARG);
    assert_null(t);
    assert_int_equal(cf_transport_open_sim(card, NULL, &t), CF_ERR_ARG);
    assert_int_equal(cf_transport_open_sim(card, "Sim", NULL), CF_ERR_ARG);
    assert_false(card_powered(card));
    cf_simcard_free(card);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_powers_the_card_and_reads_its_atr),
        cmocka_unit_test(test_gids_card_answers_through_the_same_reader),
        cmocka_unit_test(test_close_applies_the_disposition),
        cmocka_unit_test(test_latency_hook_sees_every_apdu_cost),
        cmocka_unit_test(test_pull_undelivered_keeps_the_kth_apdu_from_the_card),
        cmocka_unit_test(test_pull_answer_lost_delivers_the_kth_apdu),
        cmocka_unit_test(test_pull_counts_from_the_call_and_zero_disarms),
        cmocka_unit_test(test_pull_counts_chain_links),
        cmocka_unit_test(test_card_powered_off_behind_the_readers_back),
        cmocka_unit_test(test_sim_controls_refuse_other_transports),
        cmocka_unit_test(test_open_sim_refuses_missing_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
