/* test_vcard_latency.c - the T=1 contact-card latency model. Expected
 * figures are worked out by hand in the comments (etu = characters x 12 +
 * turnarounds x (22 - 12), us = ceil(etu x 10^6 / baud)). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vcard/latency.h"

static cf_vcard_latency_t contact(void)
{
    cf_vcard_latency_t m;
    assert_int_equal(cf_vcard_latency_profile("contact", &m), CF_OK);
    return m;
}

static void test_contact_profile_has_the_documented_figures(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    assert_int_equal(m.baud, 115200);
    assert_int_equal(m.ifs, 254);
    assert_int_equal(m.etu_per_char, 12);
    assert_int_equal(m.bgt_etu, 22);
    assert_int_equal(m.crypto_us, 1000);
    assert_int_equal(m.nv_write_us, 3000);
}

static void test_every_listed_profile_resolves_and_unknown_ones_do_not(void **state)
{
    (void)state;
    size_t i = 0;
    cf_vcard_latency_t m;
    for (; cf_vcard_latency_profile_name(i) != NULL; i++) {
        memset(&m, 0, sizeof(m));
        assert_int_equal(cf_vcard_latency_profile(cf_vcard_latency_profile_name(i), &m), CF_OK);
        assert_true(m.baud > 0 && m.ifs >= 1 && m.ifs <= 254);
        assert_non_null(cf_vcard_latency_profile_summary(i));
    }
    assert_true(i >= 4);
    assert_null(cf_vcard_latency_profile_summary(i));
    assert_int_equal(cf_vcard_latency_profile("nope", &m), CF_ERR_NOT_FOUND);
    assert_int_equal(cf_vcard_latency_profile(NULL, &m), CF_ERR_NOT_FOUND);
    assert_int_equal(cf_vcard_latency_profile("", &m), CF_ERR_NOT_FOUND);
}

static void test_short_exchange_is_two_blocks_and_one_turnaround(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    /* 5 in + 2 out: (5+4) + (2+4) = 15 chars = 180 etu, + 10 = 190 etu;
     * 190e6 / 115200 = 1649.3 -> 1650 us. */
    assert_int_equal(cf_vcard_latency_transmit_us(&m, 5, 2), 1650);
    /* At 9600 bit/s the same exchange: 19791.7 -> 19792 us. */
    m.baud = 9600;
    assert_int_equal(cf_vcard_latency_transmit_us(&m, 5, 2), 19792);
}

static void test_long_command_is_chained_with_acknowledgements(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    /* 300 bytes in, IFS 254: 2 I-blocks (+8) and 1 R-block (+4); 2 out: 1
     * block (+4). 318 chars = 3816 etu; blocks I R I I = 3 turnarounds = 30;
     * 3846e6 / 115200 = 33385.4 -> 33386 us. */
    assert_int_equal(cf_vcard_latency_transmit_us(&m, 300, 2), 33386);
    /* IFS 1, 3 in: 3 I-blocks (+12) and 2 R-blocks (+8); 2 out: 2 I-blocks
     * (+8) and 1 R-block (+4). 37 chars = 444 etu; 8 blocks = 7 turnarounds
     * = 70 etu; 514e6 / 115200 = 4461.8 -> 4462 us. */
    m.ifs = 1;
    assert_int_equal(cf_vcard_latency_transmit_us(&m, 3, 2), 4462);
}

static void test_empty_messages_still_cost_a_block_each(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    /* 8 chars = 96 etu + 10 = 106 etu -> 920.1 -> 921 us. */
    assert_int_equal(cf_vcard_latency_transmit_us(&m, 0, 0), 921);
}

static void test_crypto_and_nv_writes_add_their_per_operation_time(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    cf_simcard_cost_t cost = {.bytes_in = 5, .bytes_out = 2, .crypto_ops = 2, .nv_writes = 3};
    assert_int_equal(cf_vcard_latency_us(&m, &cost), 1650 + 2 * 1000 + 3 * 3000);
    cf_vcard_latency_t rsa;
    assert_int_equal(cf_vcard_latency_profile("contact-rsa", &rsa), CF_OK);
    cost.nv_writes = 0;
    cost.crypto_ops = 1;
    assert_int_equal(cf_vcard_latency_us(&rsa, &cost), 1650 + 150000);
}

static void test_key_generation_and_private_key_operations_add_their_figures(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    cf_simcard_cost_t cost = {.bytes_in = 5, .bytes_out = 2, .keygen_rsa = 1};
    assert_int_equal(cf_vcard_latency_us(&m, &cost), 1650 + 5000000);
    cost.keygen_rsa = 0;
    cost.keygen_ec = 1;
    assert_int_equal(cf_vcard_latency_us(&m, &cost), 1650 + 100000);
    cost.keygen_ec = 0;
    cost.private_rsa = 2;
    cost.private_ec = 1;
    assert_int_equal(cf_vcard_latency_us(&m, &cost), 1650 + 2 * 150000 + 150000);
    cf_vcard_latency_t fast;
    assert_int_equal(cf_vcard_latency_profile("contact-fast", &fast), CF_OK);
    cost = (cf_simcard_cost_t){.keygen_rsa = 1, .keygen_ec = 1, .private_rsa = 1, .private_ec = 1};
    assert_int_equal(cf_vcard_latency_us(&fast, &cost),
                     cf_vcard_latency_transmit_us(&fast, 0, 0) + 2000000 + 50000 + 50000 + 50000);
}

static void test_more_bytes_never_take_less_time(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    uint64_t prev = 0;
    for (size_t n = 0; n < 2000; n++) {
        uint64_t t = cf_vcard_latency_transmit_us(&m, n, 2);
        assert_true(t >= prev);
        prev = t;
    }
}

static void test_unusable_model_gives_zero_and_huge_counts_saturate(void **state)
{
    (void)state;
    cf_vcard_latency_t m = contact();
    m.baud = 0;
    assert_int_equal(cf_vcard_latency_transmit_us(&m, 5, 2), 0);
    m = contact();
    m.ifs = 0;
    assert_int_equal(cf_vcard_latency_transmit_us(&m, 5, 2), 0);
    m = contact();
    m.ifs = 1;
    m.baud = 1200;
    uint64_t cap = cf_vcard_latency_transmit_us(&m, (size_t)1 << 24, (size_t)1 << 24);
    assert_true(cap > 0);
    assert_int_equal(cf_vcard_latency_transmit_us(&m, SIZE_MAX, SIZE_MAX), cap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact_profile_has_the_documented_figures),
        cmocka_unit_test(test_every_listed_profile_resolves_and_unknown_ones_do_not),
        cmocka_unit_test(test_short_exchange_is_two_blocks_and_one_turnaround),
        cmocka_unit_test(test_long_command_is_chained_with_acknowledgements),
        cmocka_unit_test(test_empty_messages_still_cost_a_block_each),
        cmocka_unit_test(test_crypto_and_nv_writes_add_their_per_operation_time),
        cmocka_unit_test(test_key_generation_and_private_key_operations_add_their_figures),
        cmocka_unit_test(test_more_bytes_never_take_less_time),
        cmocka_unit_test(test_unusable_model_gives_zero_and_huge_counts_saturate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
