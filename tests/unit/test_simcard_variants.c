/*
 * test_simcard_variants.c - the virtual cards' bases and quirks at APDU
 * level: what each base answers by its standard (or, for yubikey, as the
 * named product), what each quirk changes, the type names cf_simcard_new
 * takes and refuses, and how state files record a variant (and load the
 * files written before variants existed). Bytes and status words come
 * from piv-reference.md and gids-reference.md; docs/cards/vcard.md,
 * "Variants", is the table these tests hold the cards to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "simcard_tx.h"

/* A powered card of that type and factory state (NULL: the default). */
static cf_simcard_t *card_of(const char *type, const char *factory, uint32_t serial)
{
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new(type, factory, serial, &c), CF_OK);
    cf_simcard_power_on(c);
    return c;
}

/* ---- type names ---- */

static void test_type_is_reported_in_canonical_order(void **st)
{
    (void)st;
    cf_simcard_t *c = card_of("gids+wrong-6982+admin-counter", "gemalto", 1);
    assert_string_equal(cf_simcard_type(c), "gids+admin-counter+wrong-6982");
    cf_simcard_free(c);
    char canon[CF_SIMCARD_TYPE_MAX], err[160];
    assert_int_equal(cf_simcard_type_check("piv+no-verify-status+aid-full", canon, sizeof(canon),
                                           err, sizeof(err)),
                     CF_OK);
    assert_string_equal(canon, "piv+aid-full+no-verify-status");
    assert_string_equal(err, "");
}

static void expect_refused(const char *type, const char *fragment)
{
    cf_simcard_t *c = (cf_simcard_t *)1;
    char err[160] = "";
    assert_int_equal(cf_simcard_new(type, NULL, 1, &c), CF_ERR_NOT_FOUND);
    assert_null(c);
    assert_int_equal(cf_simcard_type_check(type, NULL, 0, err, sizeof(err)), CF_ERR_NOT_FOUND);
    if (strstr(err, fragment) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", type, err, fragment);
}

static void test_unknown_quirk_is_refused(void **st)
{
    (void)st;
    expect_refused("gids+nosuch", "unknown quirk 'nosuch'");
    expect_refused("piv+", "unknown quirk ''");
    expect_refused("yubikey+admin-counter+x", "does not apply to yubikey cards");
    expect_refused("javacard", "unknown card type 'javacard'");
    expect_refused("", "no card type");
}

static void test_quirk_for_the_wrong_base_is_refused(void **st)
{
    (void)st;
    expect_refused("piv+admin-counter", "quirk 'admin-counter' does not apply to piv cards");
    expect_refused("yubikey+admin-counter", "does not apply to yubikey cards");
    expect_refused("gids+aid-full", "quirk 'aid-full' does not apply to gids cards");
    expect_refused("gids+no-verify-status", "does not apply to gids cards");
    expect_refused("yubikey+atr-yubikey", "quirk 'atr-yubikey' does not apply to yubikey");
    expect_refused("piv+wrong-63cx", "quirk 'wrong-63cx' does not apply to piv cards");
    expect_refused("yubikey+wrong-63cx", "does not apply to yubikey cards");
}

static void test_repeated_or_contradicting_quirks_are_refused(void **st)
{
    (void)st;
    expect_refused("gids+admin-counter+admin-counter", "quirk 'admin-counter' given twice");
    expect_refused("piv+atr-other+atr-yubikey", "quirks 'atr-other' and 'atr-yubikey' contradict");
    expect_refused("gids+wrong-6a80+wrong-6982", "contradict");
    expect_refused("piv+absent-6a82+absent-6984", "contradict");
}

/* The listing says, for every quirk, the bases it applies to: exactly the
 * bases cf_simcard_new takes it on. */
static void test_listing_matches_what_cards_accept(void **st)
{
    (void)st;
    size_t nb = 0, nq = 0;
    for (; cf_simcard_base_at(nb) != NULL; nb++)
        assert_true(strlen(cf_simcard_base_at(nb)->summary) > 10);
    assert_int_equal(nb, 3);
    for (; cf_simcard_quirk_at(nq) != NULL; nq++) {
        const cf_simcard_quirk_info_t *q = cf_simcard_quirk_at(nq);
        assert_true(strlen(q->summary) > 10);
        for (size_t b = 0; b < nb; b++) {
            const char *base = cf_simcard_base_at(b)->name;
            char type[CF_SIMCARD_TYPE_MAX];
            snprintf(type, sizeof(type), "%s+%s", base, q->name);
            int listed = strcmp(q->bases, "any") == 0 || strstr(q->bases, base) != NULL;
            /* gids in gemalto state: the one that counts admin-key tries */
            const char *factory = strcmp(base, "gids") == 0 ? "gemalto" : NULL;
            cf_simcard_t *c = NULL;
            cf_err_t e = cf_simcard_new(type, factory, 1, &c);
            if ((e == CF_OK) != listed)
                fail_msg("%s: listed %d, cf_simcard_new %d", type, listed, (int)e);
            cf_simcard_free(c);
        }
    }
    assert_int_equal(nq, 10);
}

/* ---- state files ---- */

static void test_state_file_round_trip_keeps_the_variant(void **st)
{
    (void)st;
    char buf[128], err[256] = "x";
    cf_simcard_t *c = card_of("gids+wrong-6982+admin-counter+atr-other", "gemalto", 77);
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    cf_simcard_free(c);
    assert_string_equal(tx_state_value(path, "type", buf, sizeof(buf)), "gids");
    assert_string_equal(tx_state_value(path, "quirks", buf, sizeof(buf)),
                        "admin-counter+atr-other+wrong-6982");
    assert_int_equal(cf_simcard_load(path, err, sizeof(err), &c), CF_OK);
    assert_string_equal(err, "");
    assert_string_equal(cf_simcard_type(c), "gids+admin-counter+atr-other+wrong-6982");
    assert_string_equal(cf_simcard_factory(c), "gemalto");
    assert_int_equal(cf_simcard_serial(c), 77);
    uint8_t atr[33];
    assert_int_equal(cf_simcard_atr(c, atr, sizeof(atr)), 5);
    assert_memory_equal(atr, "\x3B\x80\x80\x01\x01", 5);
    cf_simcard_free(c);

    /* no quirks: an empty quirks line, read back as none */
    c = card_of("piv", NULL, 5);
    assert_int_equal(cf_simcard_save(c, path), CF_OK);
    cf_simcard_free(c);
    assert_string_equal(tx_state_value(path, "quirks", buf, sizeof(buf)), "");
    assert_int_equal(cf_simcard_load(path, err, sizeof(err), &c), CF_OK);
    assert_string_equal(cf_simcard_type(c), "piv");
    cf_simcard_free(c);
}

static cf_simcard_t *load_text(const char *text, cf_err_t want, char *err, size_t errlen)
{
    char p[160];
    cf_simcard_t *c = NULL;
    tx_write_file(dir, "other", text, p, sizeof(p));
    assert_int_equal(cf_simcard_load(p, err, errlen, &c), want);
    return c;
}

static void test_state_file_without_quirks_line_loads_as_the_card_of_its_time(void **st)
{
    (void)st;
    char err[256];
    /* before variants, "piv" was the YubiKey card ... */
    cf_simcard_t *c =
        load_text("type=piv\nfactory=default\nserial=9\npin_tries=2\n", CF_OK, err, sizeof(err));
    assert_string_equal(cf_simcard_type(c), "yubikey");
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, "00 A4 04 00 05 A0 00 00 03 08"), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80 00"), 0x63C2);
    assert_int_equal(tx_hex(c, "00 F8 00 00 00"), 0x9000);
    assert_true(tx_data_is("00 00 00 09"));
    cf_simcard_free(c);
    /* ... and "gids" showed its admin-key counter */
    c = load_text("type=gids\nfactory=gemalto\nserial=9\nadmin_tries=3\n", CF_OK, err, sizeof(err));
    assert_string_equal(cf_simcard_type(c), "gids+admin-counter");
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 04 5C 02 7F 7A 00"), 0x9000);
    assert_true(tx_data_is("7F 7A 06 97 01 03 93 01 05"));
    cf_simcard_free(c);
    /* saving again writes the variant out in full */
    c = load_text("type=piv\nserial=9\n", CF_OK, err, sizeof(err));
    assert_int_equal(cf_simcard_save(c, path), CF_OK);
    cf_simcard_free(c);
    char buf[64];
    assert_string_equal(tx_state_value(path, "type", buf, sizeof(buf)), "yubikey");
    assert_string_equal(tx_state_value(path, "quirks", buf, sizeof(buf)), "");
}

static void test_state_file_with_unknown_or_misplaced_quirk_is_a_parse_error(void **st)
{
    (void)st;
    char err[256];
    assert_null(load_text("type=gids\nquirks=nosuch\nserial=1\n", CF_ERR_PARSE, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown quirk 'nosuch'"));
    assert_null(
        load_text("type=piv\nquirks=admin-counter\nserial=1\n", CF_ERR_PARSE, err, sizeof(err)));
    assert_non_null(strstr(err, "quirk 'admin-counter' does not apply to piv cards"));
    assert_null(
        load_text("type=gids+admin-counter\nquirks=\nserial=1\n", CF_ERR_PARSE, err, sizeof(err)));
    assert_non_null(strstr(err, "quirks go on the quirks line"));
    assert_null(load_text("type=gids\nserial=1\nquirks=\n", CF_ERR_PARSE, err, sizeof(err)));
    assert_non_null(strstr(err, ":3: quirks: unknown key"));
}

#define T(f) cmocka_unit_test(f)
#define TS(f) cmocka_unit_test_setup_teardown(f, with_dir, without_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_type_is_reported_in_canonical_order),
        T(test_unknown_quirk_is_refused),
        T(test_quirk_for_the_wrong_base_is_refused),
        T(test_repeated_or_contradicting_quirks_are_refused),
        T(test_listing_matches_what_cards_accept),
        TS(test_state_file_round_trip_keeps_the_variant),
        TS(test_state_file_without_quirks_line_loads_as_the_card_of_its_time),
        TS(test_state_file_with_unknown_or_misplaced_quirk_is_a_parse_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
