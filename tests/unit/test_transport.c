/*
 * test_transport.c - the transport core over the scripted card: APDU
 * framing, command chaining, 61xx and 6Cxx handling and their bounds,
 * counters, errors, and the trace with its redaction.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cardforge/transport.h>

#include "transport/script.h"
#include "util/hex.h"

#define READER "Test Reader 00 00"

static cf_transport_t *open_script(void)
{
    cf_transport_t *t = NULL;
    assert_int_equal(cf_script_open(READER, &t), CF_OK);
    assert_non_null(t);
    return t;
}

/* The i-th raw APDU the card received, as upper-case hex without spaces. */
static void assert_sent(const cf_transport_t *t, size_t i, const char *hex)
{
    size_t len;
    const uint8_t *p = cf_script_sent(t, i, &len);
    assert_non_null(p);
    char *txt = malloc(2 * len + 1);
    assert_non_null(txt);
    cf_hex_encode(p, len, txt);
    assert_string_equal(txt, hex);
    free(txt);
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* Queue an answer of n pattern bytes followed by sw. */
static void answer_data(cf_transport_t *t, size_t n, uint8_t seed, uint16_t sw)
{
    uint8_t *b = malloc(n + 2);
    assert_non_null(b);
    fill_pattern(b, n, seed);
    b[n] = (uint8_t)(sw >> 8);
    b[n + 1] = (uint8_t)sw;
    assert_int_equal(cf_script_answer(t, b, n + 2), CF_OK);
    free(b);
}

/* ---- framing ---- */

static void test_case1_sends_the_header_only(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    cf_capdu_t c = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 0, "00A40400");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 0);
    assert_non_null(r.data);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_case4_sends_lc_data_and_le_256_as_00(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "0102 9000"), CF_OK);
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08};
    cf_capdu_t c = {.ins = 0xA4, .p1 = 0x04, .data = aid, .len = sizeof(aid), .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 0, "00A4040005A00000030800");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 2);
    assert_memory_equal(r.data, "\x01\x02", 2);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_case2_sends_le_only(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "6A82"), CF_OK);
    cf_capdu_t c = {.cla = 0x80, .ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF, .le = 16};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 0, "80CB3FFF10");
    assert_int_equal(r.sw, 0x6A82); /* a status is the card's answer, not an error */
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

/* ---- 61xx ---- */

static void test_61xx_fetches_every_round_with_get_response(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    answer_data(t, 256, 1, 0x6100);
    answer_data(t, 256, 2, 0x6110);
    answer_data(t, 16, 3, 0x9000);
    cf_capdu_t c = {.ins = 0xCB, .p1 = 0x3F, .p2 = 0xFF, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(cf_script_sent_count(t), 3);
    assert_sent(t, 1, "00C0000000");
    assert_sent(t, 2, "00C0000010");
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 256 + 256 + 16);
    uint8_t expect[256];
    fill_pattern(expect, 256, 1);
    assert_memory_equal(r.data, expect, 256);
    fill_pattern(expect, 256, 2);
    assert_memory_equal(r.data + 256, expect, 256);
    fill_pattern(expect, 16, 3);
    assert_memory_equal(r.data + 512, expect, 16);
    assert_int_equal(cf_transport_apdu_count(t), 3);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_61xx_last_status_word_is_returned(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    answer_data(t, 4, 1, 0x6104);
    answer_data(t, 4, 2, 0x6282); /* a warning ends the chain */
    cf_capdu_t c = {.ins = 0xB0, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 1, "00C0000004");
    assert_int_equal(r.sw, 0x6282);
    assert_int_equal(r.len, 8);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_61xx_forever_stops_after_the_round_limit(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    static const uint8_t more[] = {0x61, 0x00};
    assert_int_equal(cf_script_repeat(t, more, sizeof(more)), CF_OK);
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_BAD_RESPONSE);
    assert_int_equal(cf_script_sent_count(t), 1 + CF_TRANSPORT_MAX_GET_RESPONSE);
    assert_int_equal(r.len, 0);
    assert_non_null(strstr(cf_transport_errmsg(t), "GET RESPONSE"));
    assert_non_null(strstr(cf_transport_errmsg(t), READER));
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_response_longer_than_64k_is_refused(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    /* A card sending 1000 bytes per round (more than a short APDU allows). */
    uint8_t big[1002];
    fill_pattern(big, 1000, 9);
    big[1000] = 0x61;
    big[1001] = 0x00;
    assert_int_equal(cf_script_repeat(t, big, sizeof(big)), CF_OK);
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_BAD_RESPONSE);
    assert_int_equal(cf_script_sent_count(t), 66); /* 65 * 1000 fit, the 66th does not */
    assert_non_null(strstr(cf_transport_errmsg(t), "longer than 65536"));
    assert_int_equal(r.len, 0);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_get_response_answered_6cxx_is_resent_with_that_le(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "6120"), CF_OK);
    assert_int_equal(cf_script_answer_hex(t, "6C10"), CF_OK);
    answer_data(t, 16, 4, 0x9000);
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 1, "00C0000020");
    assert_sent(t, 2, "00C0000010");
    assert_int_equal(r.len, 16);
    assert_int_equal(r.sw, 0x9000);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

/* ---- 6Cxx ---- */

static void test_6cxx_resends_once_with_the_cards_le(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "6C08"), CF_OK);
    answer_data(t, 8, 5, 0x9000);
    cf_capdu_t c = {.ins = 0xCA, .p1 = 0x01, .p2 = 0x02, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 0, "00CA010200");
    assert_sent(t, 1, "00CA010208");
    assert_int_equal(r.len, 8);
    assert_int_equal(r.sw, 0x9000);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_6c00_means_le_256(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "6C00"), CF_OK);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    static const uint8_t d[] = {0x5C, 0x01, 0x7E};
    cf_capdu_t c = {.ins = 0xCB, .data = d, .len = 3}; /* no Le at first */
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 0, "00CB0000035C017E");
    assert_sent(t, 1, "00CB0000035C017E00");
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_6cxx_twice_returns_the_second_status(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "6C08"), CF_OK);
    assert_int_equal(cf_script_answer_hex(t, "6C04"), CF_OK);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK); /* must not be asked for */
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(cf_script_sent_count(t), 2);
    assert_int_equal(r.sw, 0x6C04);
    assert_int_equal(cf_script_pending(t), 1);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_6cxx_then_61xx_collects_the_rest(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "6C08"), CF_OK);
    answer_data(t, 8, 1, 0x6104);
    answer_data(t, 4, 2, 0x9000);
    cf_capdu_t c = {.ins = 0xCA, .le = 1};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_sent(t, 1, "00CA000008");
    assert_sent(t, 2, "00C0000004");
    assert_int_equal(r.len, 12);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

/* ---- command chaining ---- */

static void test_300_bytes_are_sent_as_two_chained_links(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    uint8_t data[300];
    fill_pattern(data, sizeof(data), 0x11);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    cf_capdu_t c = {
        .cla = 0x00, .ins = 0xDB, .p1 = 0x3F, .p2 = 0xFF, .data = data, .len = sizeof(data)};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(cf_script_sent_count(t), 2);

    size_t len;
    const uint8_t *a = cf_script_sent(t, 0, &len);
    assert_int_equal(len, 5 + 255);
    assert_memory_equal(a, "\x10\xDB\x3F\xFF\xFF", 5);
    assert_memory_equal(a + 5, data, 255);
    const uint8_t *b = cf_script_sent(t, 1, &len);
    assert_int_equal(len, 5 + 45);
    assert_memory_equal(b, "\x00\xDB\x3F\xFF\x2D", 5);
    assert_memory_equal(b + 5, data + 255, 45);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(cf_transport_apdu_count(t), 2);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_chained_le_goes_on_the_last_link_and_61xx_follows(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    uint8_t data[510];
    fill_pattern(data, sizeof(data), 0x22);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    answer_data(t, 256, 1, 0x6102);
    answer_data(t, 2, 2, 0x9000);
    cf_capdu_t c = {.cla = 0x0C,
                    .ins = 0x87,
                    .p1 = 0x07,
                    .p2 = 0x9B,
                    .data = data,
                    .len = sizeof(data),
                    .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    size_t len;
    const uint8_t *a = cf_script_sent(t, 0, &len);
    assert_int_equal(len, 260); /* no Le on a link */
    assert_int_equal(a[0], 0x1C);
    const uint8_t *b = cf_script_sent(t, 1, &len);
    assert_int_equal(len, 261);
    assert_int_equal(b[0], 0x0C);
    assert_int_equal(b[4], 0xFF);
    assert_int_equal(b[260], 0x00);
    assert_sent(t, 2, "00C0000002");
    assert_int_equal(r.len, 258);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_refused_link_ends_the_chain_with_its_status(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    uint8_t data[600];
    fill_pattern(data, sizeof(data), 0x33);
    assert_int_equal(cf_script_answer_hex(t, "6A80"), CF_OK);
    cf_capdu_t c = {.ins = 0xDB, .data = data, .len = sizeof(data)};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(cf_script_sent_count(t), 1);
    assert_int_equal(r.sw, 0x6A80);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_chained_command_is_not_resent_on_6cxx(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    uint8_t data[256];
    fill_pattern(data, sizeof(data), 0x44);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    assert_int_equal(cf_script_answer_hex(t, "6C10"), CF_OK);
    cf_capdu_t c = {.ins = 0xDB, .data = data, .len = sizeof(data), .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(cf_script_sent_count(t), 2);
    assert_sent(t, 1, "00DB0000013D00"); /* the last link: data[255], Le 00 */
    assert_int_equal(r.sw, 0x6C10);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_chain_of_the_largest_command(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    uint8_t *data = malloc(CF_TRANSPORT_MAX_COMMAND);
    assert_non_null(data);
    fill_pattern(data, CF_TRANSPORT_MAX_COMMAND, 0x55);
    static const uint8_t ok[] = {0x90, 0x00};
    assert_int_equal(cf_script_repeat(t, ok, 2), CF_OK);
    cf_capdu_t c = {.ins = 0xDB, .data = data, .len = CF_TRANSPORT_MAX_COMMAND};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(cf_script_sent_count(t), 257); /* 65535 = 257 * 255 */
    size_t len;
    const uint8_t *last = cf_script_sent(t, 256, &len);
    assert_int_equal(len, 260);
    assert_int_equal(last[0], 0x00);
    assert_memory_equal(last + 5, data + 256 * 255, 255);
    free(data);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

/* ---- errors ---- */

static void test_malformed_commands_are_refused_before_sending(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    uint8_t data[300] = {0};
    cf_rapdu_t r;
    cf_capdu_t le257 = {.ins = 0xCA, .le = 257};
    assert_int_equal(cf_transport_transmit(t, &le257, &r), CF_ERR_ARG);
    assert_non_null(strstr(cf_transport_errmsg(t), "extended"));
    cf_capdu_t nodata = {.ins = 0xDA, .len = 4};
    assert_int_equal(cf_transport_transmit(t, &nodata, &r), CF_ERR_ARG);
    cf_capdu_t range = {.ins = 0xDA, .data = data, .len = 8, .secret_off = 4, .secret_len = 5};
    assert_int_equal(cf_transport_transmit(t, &range, &r), CF_ERR_ARG);
    cf_capdu_t wrap = {
        .ins = 0xDA, .data = data, .len = 8, .secret_off = 4, .secret_len = SIZE_MAX};
    assert_int_equal(cf_transport_transmit(t, &wrap, &r), CF_ERR_ARG);
    cf_capdu_t huge = {.ins = 0xDA, .data = data, .len = CF_TRANSPORT_MAX_COMMAND + 1};
    assert_int_equal(cf_transport_transmit(t, &huge, &r), CF_ERR_ARG);
    cf_capdu_t chained = {.cla = 0x10, .ins = 0xDA, .data = data, .len = 300};
    assert_int_equal(cf_transport_transmit(t, &chained, &r), CF_ERR_ARG);
    assert_int_equal(cf_transport_transmit(NULL, &le257, &r), CF_ERR_ARG);
    assert_int_equal(cf_transport_transmit(t, NULL, &r), CF_ERR_ARG);
    assert_int_equal(cf_transport_transmit(t, &le257, NULL), CF_ERR_ARG);
    assert_int_equal(cf_script_sent_count(t), 0);
    assert_int_equal(cf_transport_apdu_count(t), 0);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_answer_without_status_word_is_a_bad_response(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_script_answer_hex(t, "90"), CF_OK);
    assert_int_equal(cf_script_answer(t, NULL, 0), CF_OK);
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_BAD_RESPONSE);
    assert_non_null(strstr(cf_transport_errmsg(t), "no status word"));
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_BAD_RESPONSE);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_backend_failure_mid_get_response_drops_the_data(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    answer_data(t, 256, 1, 0x6100);
    assert_int_equal(cf_script_fail(t, CF_ERR_CARD_REMOVED), CF_OK);
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_CARD_REMOVED);
    assert_int_equal(r.len, 0);
    const uint8_t *buf = r.data;
    for (size_t i = 0; i < 256; i++) /* the first round's data is wiped */
        assert_int_equal(buf[i], 0);
    assert_non_null(strstr(cf_transport_errmsg(t), "reader '" READER "'"));
    assert_int_equal(cf_transport_apdu_count(t), 2);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_errmsg_is_cleared_by_a_success(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_TRANSPORT);
    assert_non_null(strstr(cf_transport_errmsg(t), "no more answers"));
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_string_equal(cf_transport_errmsg(t), "");
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_wipe_response_zeroes_the_buffer(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    answer_data(t, 32, 0x80, 0x9000);
    cf_capdu_t c = {.ins = 0x87, .le = 256, .flags = CF_CAPDU_SECRET_RESPONSE};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(r.len, 32);
    const uint8_t *buf = r.data;
    cf_transport_wipe_response(t);
    for (size_t i = 0; i < 32; i++)
        assert_int_equal(buf[i], 0);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

static void test_reset_and_transactions_reach_the_backend(void **state)
{
    (void)state;
    cf_transport_t *t = open_script();
    assert_int_equal(cf_transport_reset(t), CF_OK);
    assert_int_equal(cf_transport_begin(t), CF_OK);
    assert_int_equal(cf_transport_end(t), CF_OK);
    assert_int_equal(cf_script_resets(t), 1);
    assert_int_equal(cf_script_transactions(t), 1);
    assert_string_equal(cf_transport_kind(t), "script");
    assert_string_equal(cf_transport_reader(t), READER);
    assert_int_equal(cf_transport_protocol(t), -1);
    size_t n;
    const uint8_t *atr = cf_transport_atr(t, &n);
    assert_int_equal(n, 5);
    assert_int_equal(atr[0], 0x3B);
    assert_int_equal(cf_transport_reset(NULL), CF_ERR_ARG);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_transport_close(NULL, CF_DISPOSE_LEAVE);
}

/* ---- trace and redaction ---- */

struct capture {
    char *buf;
    size_t len;
    FILE *f;
    cf_trace_t *tr;
};

static void capture_start(struct capture *c)
{
    memset(c, 0, sizeof(*c));
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    assert_int_equal(cf_trace_new(c->f, &c->tr), CF_OK);
}

static void capture_stop(struct capture *c)
{
    cf_trace_free(c->tr);
    fclose(c->f);
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'F')
            *s = (char)(*s - 'A' + 'a');
}

/* The secret must not appear in text: as ASCII, as hex with or without
 * spaces in either case, nor any 4-byte run of it in spaced hex. */
static void assert_no_secret(const char *text, const uint8_t *secret, size_t n)
{
    assert_null(memmem(text, strlen(text), secret, n));
    char *plain = malloc(2 * n + 1), *spaced = malloc(3 * n + 1);
    assert_non_null(plain);
    assert_non_null(spaced);
    cf_hex_encode(secret, n, plain);
    for (size_t i = 0; i < n; i++)
        snprintf(spaced + 3 * i, 4, "%02X ", secret[i]);
    spaced[3 * n - 1] = 0;
    for (int pass = 0; pass < 2; pass++) {
        assert_null(strstr(text, plain));
        assert_null(strstr(text, spaced));
        for (size_t i = 0; i + 4 <= n; i++) {
            char win[12];
            memcpy(win, spaced + 3 * i, 11);
            win[11] = 0;
            assert_null(strstr(text, win));
        }
        lower(plain);
        lower(spaced);
    }
    free(plain);
    free(spaced);
}

static size_t count(const char *text, const char *what)
{
    size_t k = 0;
    for (const char *p = strstr(text, what); p != NULL; p = strstr(p + strlen(what), what))
        k++;
    return k;
}

static void test_trace_prints_both_directions_with_timing(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    assert_int_equal(cf_script_answer_hex(t, "0A0B 9000"), CF_OK);
    cf_capdu_t c = {.ins = 0xCA, .p1 = 0x5F, .p2 = 0xC1, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_RESET);
    capture_stop(&cap);
    assert_non_null(strstr(cap.buf, "reader '" READER "' script, ATR 3B 80 80 01 01\n"));
    assert_non_null(strstr(cap.buf, "reader '" READER "' > 00 CA 5F C1 00\n"));
    assert_non_null(strstr(cap.buf, "reader '" READER "' < 0A 0B 90 00 ("));
    assert_non_null(strstr(cap.buf, " ms)\n"));
    assert_non_null(strstr(cap.buf, "closed (reset)"));
    /* Every line starts with a UTC timestamp. */
    assert_int_equal(cap.buf[4], '-');
    assert_int_equal(cap.buf[10], 'T');
    assert_int_equal(cap.buf[23], 'Z');
    free(cap.buf);
}

static void test_trace_hides_a_pin_in_verify(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    static const uint8_t pin[8] = {'1', '2', '3', '4', '5', '6', 0xFF, 0xFF};
    cf_capdu_t c = {.ins = 0x20, .p2 = 0x80, .data = pin, .len = 8, .secret_len = 8};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    capture_stop(&cap);
    assert_non_null(strstr(cap.buf, "> 00 20 00 80 08 ** ** ** ** ** ** ** **\n"));
    assert_no_secret(cap.buf, pin, 6);
    free(cap.buf);
}

static void test_trace_hides_only_the_secret_range(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    /* CHANGE REFERENCE DATA style: old PIN clear (not secret here), new secret. */
    static const uint8_t d[] = {0xA1, 0xA2, 0x5E, 0xC2, 0xE7, 0x5E, 0xB3};
    cf_capdu_t c = {
        .ins = 0x24, .p2 = 0x80, .data = d, .len = sizeof(d), .secret_off = 2, .secret_len = 4};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    capture_stop(&cap);
    assert_non_null(strstr(cap.buf, "> 00 24 00 80 07 A1 A2 ** ** ** ** B3\n"));
    free(cap.buf);
}

static void test_trace_hides_a_secret_across_chain_links(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    uint8_t data[300];
    memset(data, 0x11, sizeof(data));
    /* 16 secret bytes straddling the link boundary at 255. */
    static const uint8_t key[16] = {0xC0, 0xFF, 0xEE, 0x5E, 0xC2, 0xE7, 0x4B, 0x1D,
                                    0x9A, 0x3C, 0x77, 0xD4, 0x08, 0xB6, 0x6E, 0x21};
    memcpy(data + 250, key, sizeof(key));
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    assert_int_equal(cf_script_answer_hex(t, "9000"), CF_OK);
    cf_capdu_t c = {.ins = 0xDB,
                    .data = data,
                    .len = sizeof(data),
                    .secret_off = 250,
                    .secret_len = sizeof(key)};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    capture_stop(&cap);
    assert_no_secret(cap.buf, key, sizeof(key));
    assert_int_equal(count(cap.buf, "**"), 16); /* 5 in the first link, 11 in the second */
    assert_non_null(strstr(cap.buf, "11 ** ** ** ** **\n"));
    assert_non_null(strstr(cap.buf, "> 00 DB 00 00 2D ** ** ** ** ** ** ** ** ** ** ** 11"));
    free(cap.buf);
}

static void test_trace_hides_all_data_of_a_long_secret_command(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    uint8_t data[600];
    fill_pattern(data, sizeof(data), 0x5E);
    static const uint8_t ok[] = {0x90, 0x00};
    assert_int_equal(cf_script_repeat(t, ok, 2), CF_OK);
    cf_capdu_t c = {.ins = 0xFE, .data = data, .len = sizeof(data), .flags = CF_CAPDU_SECRET_DATA};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    capture_stop(&cap);
    assert_int_equal(count(cap.buf, "**"), 600);
    assert_no_secret(cap.buf, data, sizeof(data));
    free(cap.buf);
}

static void test_trace_hides_a_secret_response_over_get_response(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    uint8_t secret[300];
    fill_pattern(secret, sizeof(secret), 0xA7);
    uint8_t a1[258], a2[46];
    memcpy(a1, secret, 256);
    a1[256] = 0x61;
    a1[257] = 0x2C;
    memcpy(a2, secret + 256, 44);
    a2[44] = 0x90;
    a2[45] = 0x00;
    assert_int_equal(cf_script_answer(t, a1, sizeof(a1)), CF_OK);
    assert_int_equal(cf_script_answer(t, a2, sizeof(a2)), CF_OK);
    cf_capdu_t c = {
        .ins = 0x87, .p1 = 0x07, .p2 = 0x9B, .le = 256, .flags = CF_CAPDU_SECRET_RESPONSE};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    assert_int_equal(r.len, 300);
    assert_memory_equal(r.data, secret, 300);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    capture_stop(&cap);
    assert_no_secret(cap.buf, secret, sizeof(secret));
    assert_int_equal(count(cap.buf, "**"), 300);
    assert_non_null(strstr(cap.buf, "> 00 C0 00 00 2C\n")); /* GET RESPONSE itself is clear */
    assert_non_null(strstr(cap.buf, " ** 61 2C ("));
    assert_non_null(strstr(cap.buf, " ** 90 00 ("));
    free(cap.buf);
}

static void test_trace_hides_the_secret_in_a_6cxx_resend(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    static const uint8_t challenge[8] = {0x5A, 0x17, 0xC3, 0x99, 0x02, 0xE4, 0x6B, 0xF0};
    static const uint8_t answer[10] = {0x3D, 0x88, 0x1F, 0xA0, 0x74, 0x2E, 0xB9, 0x45, 0x90, 0x00};
    assert_int_equal(cf_script_answer_hex(t, "6C08"), CF_OK);
    assert_int_equal(cf_script_answer(t, answer, sizeof(answer)), CF_OK);
    cf_capdu_t c = {.ins = 0x87,
                    .data = challenge,
                    .len = 8,
                    .le = 256,
                    .flags = CF_CAPDU_SECRET_DATA | CF_CAPDU_SECRET_RESPONSE};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    capture_stop(&cap);
    assert_no_secret(cap.buf, challenge, sizeof(challenge));
    assert_no_secret(cap.buf, answer, 8);
    assert_int_equal(count(cap.buf, "> 00 87 00 00 08 ** ** ** ** ** ** ** **"), 2);
    free(cap.buf);
}

static void test_trace_shows_errors_and_resets(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = open_script();
    cf_transport_set_trace(t, cap.tr);
    assert_int_equal(cf_script_fail(t, CF_ERR_CARD_REMOVED), CF_OK);
    cf_capdu_t c = {.ins = 0xCA, .le = 256};
    cf_rapdu_t r;
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_CARD_REMOVED);
    assert_int_equal(cf_transport_reset(t), CF_OK);
    cf_transport_close(t, CF_DISPOSE_UNPOWER);
    capture_stop(&cap);
    assert_non_null(strstr(cap.buf, "< error: reader '" READER "': scripted failure"));
    assert_non_null(strstr(cap.buf, "' reset\n"));
    assert_non_null(strstr(cap.buf, "closed (unpower)"));
    free(cap.buf);
}

static void test_reader_name_cannot_forge_trace_lines(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    cf_transport_t *t = NULL;
    assert_int_equal(cf_script_open("Evil\n> 00 'x", &t), CF_OK);
    cf_transport_set_trace(t, cap.tr);
    assert_string_equal(cf_transport_reader(t), "Evil\n> 00 'x"); /* the API keeps it */
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    capture_stop(&cap);
    assert_non_null(strstr(cap.buf, "reader 'Evil?> 00 ?x'"));
    assert_int_equal(count(cap.buf, "\n"), 2);
    free(cap.buf);
}

struct worker {
    cf_trace_t *tr;
    const char *name;
    int rc;
};

#define WORKER_APDUS 300

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    cf_transport_t *t = NULL;
    w->rc = -1;
    if (cf_script_open(w->name, &t) != CF_OK)
        return NULL;
    static const uint8_t ok[] = {0x01, 0x02, 0x03, 0x90, 0x00};
    cf_script_repeat(t, ok, sizeof(ok));
    cf_transport_set_trace(t, w->tr);
    cf_capdu_t c = {.ins = 0xB0, .le = 3};
    cf_rapdu_t r;
    for (int i = 0; i < WORKER_APDUS; i++)
        if (cf_transport_transmit(t, &c, &r) != CF_OK)
            break;
    w->rc = cf_transport_apdu_count(t) == WORKER_APDUS ? 0 : -1;
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    return NULL;
}

static void test_shared_trace_keeps_lines_whole_across_threads(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    struct worker w[3] = {{cap.tr, "A", 0}, {cap.tr, "B", 0}, {cap.tr, "C", 0}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    capture_stop(&cap);
    /* Every line is exactly one of the expected shapes. */
    size_t lines = 0;
    for (char *line = strtok(cap.buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        lines++;
        assert_true(strlen(line) > 25);
        const char *rest = line + 25; /* after "YYYY-MM-DDTHH:MM:SS.mmmZ " */
        assert_true(strncmp(rest, "reader '", 8) == 0);
        assert_true(rest[8] == 'A' || rest[8] == 'B' || rest[8] == 'C');
        const char *what = rest + 11;
        assert_true(
            strcmp(what, "> 00 B0 00 00 03") == 0 || strncmp(what, "< 01 02 03 90 00 (", 18) == 0 ||
            strcmp(what, "script, ATR 3B 80 80 01 01") == 0 || strcmp(what, "closed (leave)") == 0);
    }
    assert_int_equal(lines, 3 * (2 * WORKER_APDUS + 2));
    free(cap.buf);
}

static void test_trace_new_refuses_null(void **state)
{
    (void)state;
    cf_trace_t *tr = (cf_trace_t *)1;
    assert_int_equal(cf_trace_new(NULL, &tr), CF_ERR_ARG);
    assert_null(tr);
    assert_int_equal(cf_trace_new(stderr, NULL), CF_ERR_ARG);
    cf_trace_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case1_sends_the_header_only),
        cmocka_unit_test(test_case4_sends_lc_data_and_le_256_as_00),
        cmocka_unit_test(test_case2_sends_le_only),
        cmocka_unit_test(test_61xx_fetches_every_round_with_get_response),
        cmocka_unit_test(test_61xx_last_status_word_is_returned),
        cmocka_unit_test(test_61xx_forever_stops_after_the_round_limit),
        cmocka_unit_test(test_response_longer_than_64k_is_refused),
        cmocka_unit_test(test_get_response_answered_6cxx_is_resent_with_that_le),
        cmocka_unit_test(test_6cxx_resends_once_with_the_cards_le),
        cmocka_unit_test(test_6c00_means_le_256),
        cmocka_unit_test(test_6cxx_twice_returns_the_second_status),
        cmocka_unit_test(test_6cxx_then_61xx_collects_the_rest),
        cmocka_unit_test(test_300_bytes_are_sent_as_two_chained_links),
        cmocka_unit_test(test_chained_le_goes_on_the_last_link_and_61xx_follows),
        cmocka_unit_test(test_refused_link_ends_the_chain_with_its_status),
        cmocka_unit_test(test_chained_command_is_not_resent_on_6cxx),
        cmocka_unit_test(test_chain_of_the_largest_command),
        cmocka_unit_test(test_malformed_commands_are_refused_before_sending),
        cmocka_unit_test(test_answer_without_status_word_is_a_bad_response),
        cmocka_unit_test(test_backend_failure_mid_get_response_drops_the_data),
        cmocka_unit_test(test_errmsg_is_cleared_by_a_success),
        cmocka_unit_test(test_wipe_response_zeroes_the_buffer),
        cmocka_unit_test(test_reset_and_transactions_reach_the_backend),
        cmocka_unit_test(test_trace_prints_both_directions_with_timing),
        cmocka_unit_test(test_trace_hides_a_pin_in_verify),
        cmocka_unit_test(test_trace_hides_only_the_secret_range),
        cmocka_unit_test(test_trace_hides_a_secret_across_chain_links),
        cmocka_unit_test(test_trace_hides_all_data_of_a_long_secret_command),
        cmocka_unit_test(test_trace_hides_a_secret_response_over_get_response),
        cmocka_unit_test(test_trace_hides_the_secret_in_a_6cxx_resend),
        cmocka_unit_test(test_trace_shows_errors_and_resets),
        cmocka_unit_test(test_reader_name_cannot_forge_trace_lines),
        cmocka_unit_test(test_shared_trace_keeps_lines_whole_across_threads),
        cmocka_unit_test(test_trace_new_refuses_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
