/* test_vcard_frame.c - the vpcd framing decoder, card side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vcard/frame.h"

static int setup(void **state)
{
    cf_vcard_rx *rx = malloc(sizeof(*rx));
    if (rx == NULL)
        return -1;
    cf_vcard_rx_reset(rx);
    *state = rx;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Feed bytes as a socket would, in pieces of at most `piece` bytes. */
static void feed(cf_vcard_rx *rx, const uint8_t *p, size_t n, size_t piece)
{
    while (n > 0) {
        size_t room;
        uint8_t *dst = cf_vcard_rx_space(rx, &room);
        assert_true(room > 0);
        size_t k = n < piece ? n : piece;
        if (k > room)
            k = room;
        memcpy(dst, p, k);
        cf_vcard_rx_commit(rx, k);
        p += k;
        n -= k;
    }
}

static void test_whole_message_is_taken_once(void **state)
{
    cf_vcard_rx *rx = *state;
    const uint8_t in[] = {0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00};
    feed(rx, in, sizeof(in), sizeof(in));
    const uint8_t *msg;
    size_t len;
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 1);
    assert_int_equal(len, 5);
    assert_memory_equal(msg, in + 2, 5);
    assert_false(cf_vcard_rx_partial(rx));
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 0);
}

static void test_single_byte_reads_assemble_the_message(void **state)
{
    cf_vcard_rx *rx = *state;
    const uint8_t in[] = {0x00, 0x01, 0x04};
    const uint8_t *msg;
    size_t len;
    for (size_t i = 0; i < sizeof(in); i++) {
        assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 0);
        feed(rx, in + i, 1, 1);
        if (i + 1 < sizeof(in))
            assert_true(cf_vcard_rx_partial(rx));
    }
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 1);
    assert_int_equal(len, 1);
    assert_int_equal(msg[0], CF_VPCD_GET_ATR);
    assert_false(cf_vcard_rx_partial(rx));
}

static void test_coalesced_messages_come_out_in_order(void **state)
{
    cf_vcard_rx *rx = *state;
    const uint8_t in[] = {0x00, 0x01, 0x01, 0x00, 0x04, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x01, 0x04,
                          0x00}; /* ...and the first byte of a fourth */
    feed(rx, in, sizeof(in), sizeof(in));
    const uint8_t *msg;
    size_t len;
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 1);
    assert_int_equal(len, 1);
    assert_int_equal(msg[0], CF_VPCD_POWER_ON);
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 1);
    assert_int_equal(len, 4);
    assert_int_equal(msg[1], 0xC0);
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 1);
    assert_int_equal(len, 1);
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 0);
    assert_true(cf_vcard_rx_partial(rx)); /* EOF now would be mid-message */
    const uint8_t rest[] = {0x01, 0x00};
    feed(rx, rest, sizeof(rest), 1);
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 1);
    assert_int_equal(msg[0], CF_VPCD_POWER_OFF);
}

static void test_zero_length_is_a_framing_error(void **state)
{
    cf_vcard_rx *rx = *state;
    const uint8_t in[] = {0x00, 0x00, 0x00, 0x01, 0x04};
    feed(rx, in, sizeof(in), sizeof(in));
    const uint8_t *msg;
    size_t len;
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), -1);
    /* Still an error: the stream cannot be resynchronised. */
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), -1);
    cf_vcard_rx_reset(rx);
    assert_false(cf_vcard_rx_partial(rx));
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 0);
}

static void test_longest_message_fills_the_buffer_exactly(void **state)
{
    cf_vcard_rx *rx = *state;
    size_t n = 2 + CF_VCARD_WIRE_MAX;
    uint8_t *in = malloc(n);
    assert_non_null(in);
    in[0] = 0xFF;
    in[1] = 0xFF;
    for (size_t i = 2; i < n; i++)
        in[i] = (uint8_t)i;
    /* One byte in first, so the rest arrives after a compaction. */
    feed(rx, in, 1, 1);
    feed(rx, in + 1, n - 1, 4096);
    size_t room;
    cf_vcard_rx_space(rx, &room);
    assert_int_equal(room, 0); /* take before reading more */
    const uint8_t *msg;
    size_t len;
    assert_int_equal(cf_vcard_rx_take(rx, &msg, &len), 1);
    assert_int_equal(len, CF_VCARD_WIRE_MAX);
    assert_memory_equal(msg, in + 2, len);
    cf_vcard_rx_space(rx, &room);
    assert_int_equal(room, 2 + CF_VCARD_WIRE_MAX);
    free(in);
}

static void test_commit_beyond_room_is_clamped(void **state)
{
    cf_vcard_rx *rx = *state;
    size_t room;
    cf_vcard_rx_space(rx, &room);
    cf_vcard_rx_commit(rx, room + 100);
    cf_vcard_rx_space(rx, &room);
    assert_int_equal(room, 0);
}

static void test_header_encodes_big_endian_and_refuses_misfits(void **state)
{
    (void)state;
    uint8_t h[2] = {0xAA, 0xAA};
    assert_int_equal(cf_vcard_frame_header(258, h), 0);
    assert_int_equal(h[0], 0x01);
    assert_int_equal(h[1], 0x02);
    assert_int_equal(cf_vcard_frame_header(65535, h), 0);
    assert_int_equal(h[0], 0xFF);
    assert_int_equal(h[1], 0xFF);
    h[0] = h[1] = 0xAA;
    assert_int_equal(cf_vcard_frame_header(0, h), -1);
    assert_int_equal(cf_vcard_frame_header(65536, h), -1);
    assert_int_equal(h[0], 0xAA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_message_is_taken_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_byte_reads_assemble_the_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_coalesced_messages_come_out_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_is_a_framing_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longest_message_fills_the_buffer_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_commit_beyond_room_is_clamped, setup, teardown),
        cmocka_unit_test(test_header_encodes_big_endian_and_refuses_misfits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
