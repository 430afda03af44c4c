/*
 * test_simcard_core.c - what every virtual card gets from the core
 * (simcard.c): power, command chaining, 61xx response chaining with GET
 * RESPONSE, cost counters, the state file and its loader's errors. The piv
 * card serves as the card type; only the public cf_simcard_* API is used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "simcard_tx.h"

#define SELECT_PIV "00 A4 04 00 05 A0 00 00 03 08"
#define VERIFY_STATUS "00 20 00 80 00"
#define VERIFY_123456 "00 20 00 80 08 31 32 33 34 35 36 FF FF"


static cf_simcard_t *new_card(void)
{
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", NULL, 42, &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    return c;
}

/* Authenticate with the default 3DES management key (needed for PUT DATA). */
static void admin(cf_simcard_t *c)
{
    static const uint8_t key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t w[8], a2[22] = {0x00, 0x87, 0x03, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08};
    assert_int_equal(tx_hex(c, "00 87 03 9B 04 7C 02 80 00"), 0x9000);
    assert_int_equal(tx_block(key, 24, 0, 0, tx_resp + 4, w), 0);
    memcpy(a2 + 9, w, 8);
    a2[17] = 0x81;
    a2[18] = 0x08;
    uint8_t apdu[30];
    memcpy(apdu, a2, 19);
    memset(apdu + 19, 0x5A, 8);
    assert_int_equal(tx_raw(c, apdu, 27), 0x9000);
}

/* Store an object of vlen pattern bytes under 5FC105, in one extended APDU. */
static void put_object(cf_simcard_t *c, size_t vlen)
{
    static uint8_t apdu[8200];
    size_t n = 0, dl = 9 + vlen;
    apdu[n++] = 0x00;
    apdu[n++] = 0xDB;
    apdu[n++] = 0x3F;
    apdu[n++] = 0xFF;
    apdu[n++] = 0x00;
    apdu[n++] = (uint8_t)(dl >> 8);
    apdu[n++] = (uint8_t)dl;
    static const uint8_t head[] = {0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x53, 0x82};
    memcpy(apdu + n, head, sizeof(head));
    n += sizeof(head);
    apdu[n++] = (uint8_t)(vlen >> 8);
    apdu[n++] = (uint8_t)vlen;
    for (size_t i = 0; i < vlen; i++)
        apdu[n++] = (uint8_t)i;
    assert_int_equal(tx_raw(c, apdu, n), 0x9000);
}

/* ---- lifecycle ---- */

static void test_new_rejects_unknown_type(void **st)
{
    (void)st;
    cf_simcard_t *c = (cf_simcard_t *)1;
    assert_int_equal(cf_simcard_new("javacard", NULL, 1, &c), CF_ERR_NOT_FOUND);
    assert_null(c);
    c = (cf_simcard_t *)1;
    assert_int_equal(cf_simcard_new(NULL, NULL, 1, &c), CF_ERR_NOT_FOUND);
    assert_null(c);
    cf_simcard_free(NULL);
}

static void test_new_card_reports_identity_and_starts_unpowered(void **st)
{
    (void)st;
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new("yubikey", NULL, 4000000000u, &c), CF_OK);
    assert_string_equal(cf_simcard_type(c), "yubikey");
    assert_string_equal(cf_simcard_factory(c), "default");
    assert_int_equal(cf_simcard_serial(c), 4000000000u);
    uint8_t apdu[] = {0x00, 0xA4, 0x04, 0x00}, resp[16];
    size_t rl = 99;
    assert_int_equal(cf_simcard_transmit(c, apdu, sizeof(apdu), resp, &rl), CF_ERR_NO_CARD);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    cf_simcard_power_off(c);
    assert_int_equal(cf_simcard_transmit(c, apdu, sizeof(apdu), resp, &rl), CF_ERR_NO_CARD);
    cf_simcard_free(c);
}

static void test_unparseable_apdus_are_answered_6700_not_failed(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t b[4] = {0};
    for (size_t n = 0; n < 4; n++) {
        size_t rl = 0;
        assert_int_equal(cf_simcard_transmit(c, b, n, tx_resp, &rl), CF_OK);
        assert_int_equal(rl, 2);
        assert_memory_equal(tx_resp, "\x67\x00", 2);
    }
    cf_simcard_free(c);
}

static void test_proprietary_class_answers_6e00(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "80 FD 00 00 00"), 0x6E00);
    assert_int_equal(tx_hex(c, "FF FD 00 00 00"), 0x6E00);
    assert_int_equal(tx_hex(c, "90 FD 00 00 00"), 0x6E00); /* chaining bit, proprietary */
    cf_simcard_free(c);
}

/* ---- command chaining ---- */

static void test_command_chain_reaches_the_card_once_and_whole(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    /* a VERIFY split 3 + 3 + 2: each link 9000 and no effect, the last verifies */
    assert_int_equal(tx_hex(c, "10 20 00 80 03 31 32 33"), 0x9000);
    assert_int_equal(tx_len, 0);
    assert_int_equal(tx_hex(c, "10 20 00 80 03 34 35 36"), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80 02 FF FF"), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x9000);
    assert_int_equal(tx_hex(c, "00 F7 00 80"), 0x9000);
    assert_true(tx_data_is("01 01 FF 05 01 01 06 02 03 03"));
    cf_simcard_free(c);
}

static void test_command_chain_links_spend_no_try(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    for (int i = 0; i < 5; i++)
        assert_int_equal(tx_hex(c, "10 20 00 80 02 39 39"), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80 00"), 0x6700); /* 10 bytes: wrong length */
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    cf_simcard_free(c);
}

static void test_command_chain_with_other_instruction_is_aborted(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "10 20 00 80 04 31 32 33 34"), 0x9000);
    assert_int_equal(tx_hex(c, "10 24 00 80 04 31 32 33 34"), 0x6985);
    /* the chain is gone: the next link starts afresh */
    assert_int_equal(tx_hex(c, "10 20 00 80 04 31 32 33 34"), 0x9000);
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x6985); /* last link, other INS */
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x9000);
    assert_true(tx_data_is("05 04 03"));
    /* a link with other P1/P2 also aborts */
    assert_int_equal(tx_hex(c, "10 20 00 80 04 31 32 33 34"), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 81 04 35 36 FF FF"), 0x6985);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    cf_simcard_free(c);
}

static void test_command_chain_over_16k_answers_6700(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    uint8_t apdu[260] = {0x10, 0xDB, 0x3F, 0xFF, 0xFF};
    memset(apdu + 5, 0xAB, 255);
    size_t total = 0;
    uint16_t sw;
    while ((sw = tx_raw(c, apdu, 260)) == 0x9000)
        total += 255;
    assert_int_equal(sw, 0x6700);
    assert_int_equal(total, (16384 / 255) * 255);
    /* the chain was dropped: a plain command works */
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x9000);
    cf_simcard_free(c);
}

static void test_reset_abandons_a_command_chain(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "10 20 00 80 06 31 32 33 34 35 36"), 0x9000);
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    /* only the last two bytes arrive: wrong length, not a verified PIN */
    assert_int_equal(tx_hex(c, "00 20 00 80 02 FF FF"), 0x6700);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    cf_simcard_free(c);
}

/* ---- response chaining ---- */

static void test_long_response_comes_in_256_byte_pieces_with_61xx(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    admin(c);
    put_object(c, 700); /* 704 bytes with 53 82 LL LL */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 05 00"), 0x6100);
    assert_int_equal(tx_len, 256);
    assert_memory_equal(tx_resp, "\x53\x82\x02\xBC\x00\x01", 6);
    assert_int_equal(tx_hex(c, "00 C0 00 00 00"), 0x61C0); /* 192 left */
    assert_int_equal(tx_len, 256);
    assert_int_equal(tx_resp[0], (uint8_t)(252));
    assert_int_equal(tx_hex(c, "00 C0 00 00 00"), 0x9000);
    assert_int_equal(tx_len, 192);
    assert_int_equal(tx_resp[191], (uint8_t)(699));
    /* nothing left: GET RESPONSE reaches the card, which has nothing */
    assert_int_equal(tx_hex(c, "00 C0 00 00 00"), 0x6985);
    cf_simcard_free(c);
}

static void test_get_response_honours_its_le(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    admin(c);
    put_object(c, 300); /* 304 bytes */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 05"), 0x6130);
    assert_int_equal(tx_len, 256);
    assert_int_equal(tx_hex(c, "00 C0 00 00 10"), 0x6120);
    assert_int_equal(tx_len, 16);
    assert_int_equal(tx_resp[0], (uint8_t)252);
    assert_int_equal(tx_hex(c, "00 C0 00 00"), 0x9000); /* no Le: up to 256 */
    assert_int_equal(tx_len, 32);
    cf_simcard_free(c);
}

static void test_short_le_is_honoured_and_the_rest_follows(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x610C);
    assert_true(tx_data_is("7E 12 4F 0B A0 00 00 03"));
    assert_int_equal(tx_hex(c, "00 C0 00 00 0C"), 0x9000);
    assert_true(tx_data_is("08 00 00 10 00 01 00 5F 2F 02 40 00"));
    /* Le larger than the answer: all of it */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 40"), 0x9000);
    assert_int_equal(tx_len, 20);
    cf_simcard_free(c);
}

static void test_extended_le_gets_the_whole_answer(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    admin(c);
    put_object(c, 3000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 00 00 05 5C 03 5F C1 05 00 00"), 0x9000);
    assert_int_equal(tx_len, 3004);
    /* an extended Le smaller than the answer is honoured too */
    assert_int_equal(tx_hex(c, "00 CB 3F FF 00 00 05 5C 03 5F C1 05 04 00"), 0x6100);
    assert_int_equal(tx_len, 1024);
    cf_simcard_free(c);
}

static void test_other_command_drops_a_pending_response(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x610C);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    assert_int_equal(tx_hex(c, "00 C0 00 00 0C"), 0x6985);
    cf_simcard_free(c);
}

static void test_reset_and_power_cycle_drop_a_pending_response(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x610C);
    cf_simcard_reset(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 C0 00 00 0C"), 0x6985);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x610C);
    cf_simcard_power_off(c);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 C0 00 00 0C"), 0x6985);
    cf_simcard_free(c);
}

static void test_power_on_and_reset_clear_verified_pin(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, VERIFY_123456), 0x9000);
    cf_simcard_power_on(c); /* power on of a powered card: a cold reset */
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C3);
    cf_simcard_free(c);
}

/* ---- cost ---- */

static void test_cost_counts_bytes_crypto_and_nv_writes_per_apdu(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    cf_simcard_cost_t k = cf_simcard_last_cost(c);
    assert_int_equal(k.bytes_in, 10);
    assert_int_equal(k.bytes_out, 21);
    assert_int_equal(k.crypto_ops, 0);
    assert_int_equal(k.nv_writes, 0);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 39 39 39 39 39 39 FF FF"), 0x63C2);
    k = cf_simcard_last_cost(c);
    assert_int_equal(k.bytes_in, 13);
    assert_int_equal(k.bytes_out, 2);
    assert_int_equal(k.nv_writes, 1);
    assert_int_equal(tx_hex(c, "00 87 03 9B 04 7C 02 80 00"), 0x9000);
    k = cf_simcard_last_cost(c);
    assert_int_equal(k.crypto_ops, 1);
    assert_int_equal(k.nv_writes, 0);
    assert_int_equal(k.bytes_out, 14);
    cf_simcard_free(c);
}

/* ---- state file ---- */

static void test_set_state_file_saves_at_once_with_header_first(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[128];
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "type=yubikey\n");
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "quirks=\n");
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "factory=default\n");
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "serial=42\n");
    fclose(f);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    cf_simcard_free(c);
}

static void test_set_state_file_null_stops_saving(void **st)
{
    (void)st;
    char buf[64];
    cf_simcard_t *c = new_card();
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    assert_int_equal(cf_simcard_set_state_file(c, NULL), CF_OK);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 39 39 39 39 39 39 FF FF"), 0x63C2);
    assert_string_equal(tx_state_value(path, "pin_tries", buf, sizeof(buf)), "3");
    cf_simcard_free(c);
}

static void test_set_state_file_in_missing_directory_is_io_error(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    char p[160];
    snprintf(p, sizeof(p), "%s/no/such/dir/state", dir);
    assert_int_equal(cf_simcard_set_state_file(c, p), CF_ERR_IO);
    assert_int_equal(cf_simcard_save(c, p), CF_ERR_IO);
    cf_simcard_free(c);
}

static void test_save_and_load_round_trip_to_an_explicit_path(void **st)
{
    (void)st;
    cf_simcard_t *c = new_card();
    assert_int_equal(tx_hex(c, "00 20 00 80 08 39 39 39 39 39 39 FF FF"), 0x63C2);
    assert_int_equal(cf_simcard_save(c, path), CF_OK);
    cf_simcard_free(c);
    char err[256] = "x";
    assert_int_equal(cf_simcard_load(path, err, sizeof(err), &c), CF_OK);
    assert_string_equal(err, "");
    assert_string_equal(cf_simcard_type(c), "yubikey");
    assert_int_equal(cf_simcard_serial(c), 42);
    /* a loaded card is not powered, as a card taken out of a drawer */
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, VERIFY_STATUS), 0x63C2);
    cf_simcard_free(c);
}

static void test_load_without_errbuf_still_reports_the_error(void **st)
{
    (void)st;
    cf_simcard_t *c = (cf_simcard_t *)1;
    char p[160];
    snprintf(p, sizeof(p), "%s/absent", dir);
    assert_int_equal(cf_simcard_load(p, NULL, 0, &c), CF_ERR_IO);
    assert_null(c);
}

static void expect_load_error(const char *text, cf_err_t want, const char *fragment)
{
    char p[160], err[256] = "";
    tx_write_file(dir, "bad", text, p, sizeof(p));
    cf_simcard_t *c = (cf_simcard_t *)1;
    assert_int_equal(cf_simcard_load(p, err, sizeof(err), &c), want);
    assert_null(c);
    if (strstr(err, fragment) == NULL)
        fail_msg("load error '%s' does not mention '%s'", err, fragment);
}

static void test_load_errors_name_file_line_and_cause(void **st)
{
    (void)st;
    char p[160], err[256];
    snprintf(p, sizeof(p), "%s/absent", dir);
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_load(p, err, sizeof(err), &c), CF_ERR_IO);
    assert_non_null(strstr(err, "cannot open"));

    expect_load_error("", CF_ERR_PARSE, "no card in state file");
    expect_load_error("# only a comment\n\n", CF_ERR_PARSE, "no card in state file");
    expect_load_error("type=piv\nfactory=default\n", CF_ERR_PARSE, "no card in state file");
    expect_load_error("serial=1\ntype=piv\n", CF_ERR_PARSE, ":1: missing type");
    expect_load_error("pin=313233343536\n", CF_ERR_PARSE,
                      ":1: expected type, quirks, factory and serial first");
    expect_load_error("type=piv\nserial=x\n", CF_ERR_PARSE,
                      ":2: expected type, quirks, factory and serial first");
    expect_load_error("type=piv\nserial=4294967296\n", CF_ERR_PARSE, ":2: expected type");
    expect_load_error("type=javacard\nserial=1\n", CF_ERR_PARSE,
                      "unknown card type 'javacard'");
    expect_load_error("type=piv\nfactory=gemalto\nserial=1\n", CF_ERR_PARSE,
                      "no factory state 'gemalto' for piv cards");
    expect_load_error("type=piv\nserial=1\njunk\n", CF_ERR_PARSE, ":3: expected key=value");
    expect_load_error("type=piv\nserial=1\nwhat=ever\n", CF_ERR_PARSE, ":3: what: unknown key");
    expect_load_error("type=piv\nserial=1\ntype=piv\n", CF_ERR_PARSE, ":3: type:");

    /* a line longer than any value the card can hold */
    size_t big = 2 * 16384 + 200;
    char *text = malloc(big + 64);
    assert_non_null(text);
    int n = snprintf(text, big + 64, "type=piv\nserial=1\nobj_5FC105=");
    memset(text + n, 'A', big);
    strcpy(text + n + big, "\n");
    expect_load_error(text, CF_ERR_PARSE, ":3: line too long");
    free(text);
}

static void test_load_error_never_shows_the_secret_value(void **st)
{
    (void)st;
    expect_load_error("type=piv\nserial=1\npin=3132333435363738393A\n", CF_ERR_PARSE, "pin:");
    char p[160], err[256] = "";
    snprintf(p, sizeof(p), "%s/bad", dir);
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_load(p, err, sizeof(err), &c), CF_ERR_PARSE);
    assert_null(strstr(err, "313233"));
    tx_write_file(dir, "bad", "type=piv\nserial=1\nmgm_key=0102030405\n", p, sizeof(p));
    assert_int_equal(cf_simcard_load(p, err, sizeof(err), &c), CF_ERR_PARSE);
    assert_null(strstr(err, "0102030405"));
}

#define T(f) cmocka_unit_test(f)
#define TS(f) cmocka_unit_test_setup_teardown(f, with_dir, without_dir)

static void test_null_factory_records_type_default_name(void **state)
{
    (void)state;
    cf_simcard_t *g = NULL, *p = NULL, *q = NULL;
    assert_int_equal(cf_simcard_new("gids", NULL, 7, &g), CF_OK);
    assert_string_equal(cf_simcard_factory(g), "blank");
    assert_int_equal(cf_simcard_new("yubikey", NULL, 7, &p), CF_OK);
    assert_string_equal(cf_simcard_factory(p), "default");
    assert_int_equal(cf_simcard_new("gids", "default", 7, &q), CF_ERR_NOT_FOUND);
    assert_null(q);
    cf_simcard_free(g);
    cf_simcard_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_factory_records_type_default_name),
        T(test_new_rejects_unknown_type),
        T(test_new_card_reports_identity_and_starts_unpowered),
        T(test_unparseable_apdus_are_answered_6700_not_failed),
        T(test_proprietary_class_answers_6e00),
        T(test_command_chain_reaches_the_card_once_and_whole),
        T(test_command_chain_links_spend_no_try),
        T(test_command_chain_with_other_instruction_is_aborted),
        T(test_command_chain_over_16k_answers_6700),
        T(test_reset_abandons_a_command_chain),
        T(test_long_response_comes_in_256_byte_pieces_with_61xx),
        T(test_get_response_honours_its_le),
        T(test_short_le_is_honoured_and_the_rest_follows),
        T(test_extended_le_gets_the_whole_answer),
        T(test_other_command_drops_a_pending_response),
        T(test_reset_and_power_cycle_drop_a_pending_response),
        T(test_power_on_and_reset_clear_verified_pin),
        T(test_cost_counts_bytes_crypto_and_nv_writes_per_apdu),
        TS(test_set_state_file_saves_at_once_with_header_first),
        TS(test_set_state_file_null_stops_saving),
        TS(test_set_state_file_in_missing_directory_is_io_error),
        TS(test_save_and_load_round_trip_to_an_explicit_path),
        TS(test_load_without_errbuf_still_reports_the_error),
        TS(test_load_errors_name_file_line_and_cause),
        TS(test_load_error_never_shows_the_secret_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
