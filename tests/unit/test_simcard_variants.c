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

#define SELECT_PIV "00 A4 04 00 05 A0 00 00 03 08"
#define PIV_APT_PIX "61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08"
#define PIV_APT_AID                                                                          \
    "61 16 4F 0B A0 00 00 03 08 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08"
#define YUBIKEY_ATR "3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 40"
#define OTHER_ATR "3B 80 80 01 01"

static const uint8_t default_key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                        5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t other_key[24] = {8, 7, 6, 5, 4, 3, 2, 1, 8, 7, 6, 5,
                                      4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t gemalto_key[24] = {0}; /* the gemalto stock's admin key */

/* A card type and the status word it must answer. */
struct type_sw {
    const char *type;
    uint16_t sw;
};

/* A PIV card of that type with the PIV application selected. */
static cf_simcard_t *piv_selected(const char *type, uint32_t serial)
{
    cf_simcard_t *c = card_of(type, NULL, serial);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    return c;
}

/* 1 when the card's ATR is hex. */
static int atr_is(const cf_simcard_t *c, const char *hex)
{
    uint8_t atr[33], want[33];
    size_t n = cf_simcard_atr(c, atr, sizeof(atr));
    size_t wn = tx_unhex(hex, want, sizeof(want));
    return n == wn && memcmp(atr, want, n) == 0;
}

static cf_simcard_t *load_text(const char *text, cf_err_t want, char *err, size_t errlen)
{
    char p[160];
    cf_simcard_t *c = NULL;
    tx_write_file(dir, "other", text, p, sizeof(p));
    assert_int_equal(cf_simcard_load(p, err, errlen, &c), want);
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

/* ---- piv: SP 800-73-4, no vendor extensions ---- */

static void test_piv_answers_6d00_to_every_yubikey_instruction(void **st)
{
    (void)st;
    static const char *const ins[] = {"00 FD 00 00 00",    "00 F8 00 00 00",
                                      "00 F7 00 80 00",    "00 FF FF FF 00",
                                      "00 FA 05 05 00",    "00 FB 00 00 00"};
    cf_simcard_t *c = piv_selected("piv", 1);
    assert_int_equal(tx_piv_mutual(c, default_key), 0x9000); /* not for want of rights */
    assert_int_equal(tx_hex(c, "00 20 00 80 08 31 32 33 34 35 36 FF FF"), 0x9000);
    for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++)
        if (tx_hex(c, ins[i]) != 0x6D00)
            fail_msg("'%s' did not answer 6D00", ins[i]);
    cf_simcard_free(c);
}

static void test_piv_select_answers_the_pix_and_the_pix_authority(void **st)
{
    (void)st;
    cf_simcard_t *c = piv_selected("piv", 1);
    assert_true(tx_data_is(PIV_APT_PIX));
    assert_int_equal(tx_hex(c, "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00"), 0x9000);
    assert_true(tx_data_is(PIV_APT_PIX));
    cf_simcard_free(c);
}

static void test_piv_atr_is_t1_names_no_vendor_and_is_not_a_yubikeys(void **st)
{
    (void)st;
    cf_simcard_t *c = card_of("piv", NULL, 1);
    uint8_t atr[33];
    size_t n = cf_simcard_atr(c, atr, sizeof(atr));
    assert_true(atr_is(c, "3B 8D 01 80 FB A0 00 00 03 08 00 00 10 00 01 00 4D"));
    assert_false(atr_is(c, YUBIKEY_ATR));
    assert_int_equal(atr[2], 0x01); /* TD1: T=1, nothing more */
    uint8_t x = 0;
    for (size_t i = 1; i < n; i++)
        x ^= atr[i];
    assert_int_equal(x, 0); /* TCK */
    cf_simcard_free(c);
}

/* The CHUID's GUID in lower-case hex, from GET DATA 5FC102. */
static void chuid_guid_hex(cf_simcard_t *c, char hex[33])
{
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02 00"), 0x9000);
    /* 53 3B { 30 19 FASC-N, 34 10 GUID, 35 08 expiry, 3E 00, FE 00 } */
    assert_int_equal(tx_len, 61);
    assert_memory_equal(tx_resp, "\x53\x3B\x30\x19", 4);
    assert_memory_equal(tx_resp + 29, "\x34\x10", 2);
    assert_memory_equal(tx_resp + 47, "\x35\x08", 2);
    assert_memory_equal(tx_resp + 57, "\x3E\x00\xFE\x00", 4);
    for (size_t i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", tx_resp[31 + i]);
}

static void test_piv_chuid_guid_ends_with_the_serial_in_decimal(void **st)
{
    (void)st;
    char a[33], b[33];
    cf_simcard_t *c = piv_selected("piv", 12345678);
    chuid_guid_hex(c, a);
    cf_simcard_free(c);
    c = piv_selected("piv", 4294967295u);
    chuid_guid_hex(c, b);
    cf_simcard_free(c);
    assert_int_equal(strlen(a), 32);
    assert_string_equal(a + 22, "0012345678");
    assert_false(a[21] >= '0' && a[21] <= '9'); /* the serial is the whole decimal tail */
    assert_string_equal(b + 22, "4294967295");
    assert_string_not_equal(a, b);
    assert_memory_equal(a, b, 22); /* the fixed prefix */
}

static void test_piv_empty_verify_reads_the_pin_counter_without_spending(void **st)
{
    (void)st;
    cf_simcard_t *c = piv_selected("piv", 1);
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x63C3);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 39 39 39 39 39 39 FF FF"), 0x63C2);
    assert_int_equal(tx_hex(c, "00 20 00 80 00"), 0x63C2);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 31 32 33 34 35 36 FF FF"), 0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x9000);
    cf_simcard_free(c);
}

static void test_piv_factory_credentials_are_the_test_cards(void **st)
{
    (void)st;
    cf_simcard_t *c = piv_selected("piv", 1);
    assert_int_equal(tx_piv_mutual(c, default_key), 0x9000);
    assert_int_equal(tx_piv_external(c, default_key), 0x9000);
    /* PUK 12345678 (3 tries): CHANGE REFERENCE DATA of the PUK */
    assert_int_equal(tx_hex(c, "00 24 00 81 10 39 39 39 39 39 39 39 39 "
                               "31 32 33 34 35 36 37 38"),
                     0x63C2);
    assert_int_equal(tx_hex(c, "00 24 00 81 10 31 32 33 34 35 36 37 38 "
                               "31 32 33 34 35 36 37 38"),
                     0x9000);
    /* PIN 123456, 3 tries, blocked after three wrong ones */
    for (int i = 2; i >= 0; i--)
        assert_int_equal(tx_hex(c, "00 20 00 80 08 39 39 39 39 39 39 FF FF"),
                         i == 0 ? 0x63C0 : 0x63C0 | i);
    assert_int_equal(tx_hex(c, "00 20 00 80"), 0x6983);
    /* RESET RETRY COUNTER with the PUK, as the standard has it */
    assert_int_equal(tx_hex(c, "00 2C 00 80 10 31 32 33 34 35 36 37 38 "
                               "36 35 34 33 32 31 FF FF"),
                     0x9000);
    assert_int_equal(tx_hex(c, "00 20 00 80 08 36 35 34 33 32 31 FF FF"), 0x9000);
    cf_simcard_free(c);
}

static void test_piv_has_no_yubikey_objects(void **st)
{
    (void)st;
    cf_simcard_t *c = piv_selected("piv", 1);
    assert_int_equal(tx_piv_mutual(c, default_key), 0x9000);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 08 5C 03 5F FF 00 53 01 00"), 0x6A80);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F FF 01 00"), 0x6A82);
    /* standard objects as before: written, read back, deleted */
    assert_int_equal(tx_hex(c, "00 DB 3F FF 09 5C 03 5F C1 07 53 02 F0 0D"), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 07 00"), 0x9000);
    assert_true(tx_data_is("53 02 F0 0D"));
    assert_int_equal(tx_hex(c, "00 DB 3F FF 07 5C 03 5F C1 02 53 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02 00"), 0x6A82);
    cf_simcard_free(c);
}

static void test_piv_deleted_chuid_stays_deleted_in_the_state_file(void **st)
{
    (void)st;
    char err[256], buf[256];
    cf_simcard_t *c = piv_selected("piv", 3);
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    assert_non_null(tx_state_value(path, "obj_5FC102", buf, sizeof(buf)));
    assert_int_equal(tx_piv_mutual(c, default_key), 0x9000);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 07 5C 03 5F C1 02 53 00"), 0x9000);
    cf_simcard_free(c);
    assert_null(tx_state_value(path, "obj_5FC102", buf, sizeof(buf)));
    assert_int_equal(cf_simcard_load(path, err, sizeof(err), &c), CF_OK);
    cf_simcard_power_on(c);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02 00"), 0x6A82);
    cf_simcard_free(c);
    /* a YubiKey object in a piv card's file is refused */
    assert_null(load_text("type=piv\nquirks=\nserial=1\nobj_5FFF00=01\n", CF_ERR_PARSE, err,
                          sizeof(err)));
    assert_non_null(strstr(err, ":4: obj_5FFF00: no such data object (5FC101-5FC123)"));
}

/* ---- yubikey: today's card, YubiKey 5.4.3 ---- */

static void test_yubikey_keeps_its_extensions_atr_and_no_chuid(void **st)
{
    (void)st;
    cf_simcard_t *c = piv_selected("yubikey", 0x01020304);
    assert_true(tx_data_is(PIV_APT_PIX));
    assert_true(atr_is(c, YUBIKEY_ATR));
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x9000);
    assert_true(tx_data_is("05 04 03"));
    assert_int_equal(tx_hex(c, "00 F8 00 00 00"), 0x9000);
    assert_true(tx_data_is("01 02 03 04"));
    assert_int_equal(tx_hex(c, "00 F7 00 80 00"), 0x9000);
    assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 02 00"), 0x6A82);
    assert_int_equal(tx_piv_mutual(c, default_key), 0x9000);
    assert_int_equal(tx_hex(c, "00 DB 3F FF 08 5C 03 5F FF 00 53 01 00"), 0x9000);
    cf_simcard_free(c);
}

/* ---- PIV quirks ---- */

static void test_aid_full_puts_the_whole_aid_in_the_select_answer(void **st)
{
    (void)st;
    static const char *const types[] = {"piv+aid-full", "yubikey+aid-full"};
    for (size_t i = 0; i < 2; i++) {
        cf_simcard_t *c = piv_selected(types[i], 1);
        assert_true(tx_data_is(PIV_APT_AID));
        cf_simcard_free(c);
    }
}

static void test_atr_quirks_replace_the_atr_and_nothing_else(void **st)
{
    (void)st;
    cf_simcard_t *c = card_of("piv+atr-yubikey", NULL, 1);
    assert_true(atr_is(c, YUBIKEY_ATR));
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x6D00); /* still no YubiKey */
    cf_simcard_free(c);
    c = card_of("gids+atr-yubikey", NULL, 1);
    assert_true(atr_is(c, YUBIKEY_ATR));
    cf_simcard_free(c);
    static const char *const other[] = {"piv+atr-other", "yubikey+atr-other", "gids+atr-other"};
    for (size_t i = 0; i < 3; i++) {
        c = card_of(other[i], NULL, 1);
        if (!atr_is(c, OTHER_ATR))
            fail_msg("%s: not the other ATR", other[i]);
        cf_simcard_free(c);
    }
    c = card_of("yubikey+atr-other", NULL, 1);
    assert_int_equal(tx_hex(c, SELECT_PIV), 0x9000);
    assert_int_equal(tx_hex(c, "00 FD 00 00 00"), 0x9000); /* still a YubiKey */
    cf_simcard_free(c);
}

static void test_piv_wrong_management_key_answers_6982_or_the_quirks_sw(void **st)
{
    (void)st;
    static const struct type_sw cases[] = {
        {"piv", 0x6982},           {"yubikey", 0x6982},         {"piv+wrong-6a80", 0x6A80},
        {"yubikey+wrong-6a80", 0x6A80}, {"piv+wrong-6982", 0x6982},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cf_simcard_t *c = piv_selected(cases[i].type, 1);
        if (tx_piv_mutual(c, other_key) != cases[i].sw)
            fail_msg("%s mutual: %04X", cases[i].type, tx_piv_mutual(c, other_key));
        if (tx_piv_external(c, other_key) != cases[i].sw)
            fail_msg("%s external", cases[i].type);
        /* no counter on 9B: the right key still works, no matter how often */
        for (int k = 0; k < 5; k++)
            assert_int_equal(tx_piv_mutual(c, other_key), cases[i].sw);
        assert_int_equal(tx_piv_mutual(c, default_key), 0x9000);
        /* an answer without a challenge is no cryptogram: 6982 whatever the quirk */
        assert_int_equal(tx_hex(c, "00 87 03 9B 0C 7C 0A 82 08 00 00 00 00 00 00 00 00"),
                         0x6982);
        cf_simcard_free(c);
    }
}

static void test_piv_absent_object_answers_6a82_or_the_quirks_sw(void **st)
{
    (void)st;
    static const struct type_sw cases[] = {
        {"piv", 0x6A82}, {"piv+absent-6984", 0x6984}, {"piv+absent-6a82", 0x6A82},
        {"yubikey", 0x6A82}, {"yubikey+absent-6984", 0x6984},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cf_simcard_t *c = piv_selected(cases[i].type, 1);
        assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 05 00"), cases[i].sw);
        assert_int_equal(tx_hex(c, "00 CB 3F FF 05 5C 03 5F C1 24 00"), cases[i].sw);
        assert_int_equal(tx_hex(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000); /* present */
        cf_simcard_free(c);
    }
}

static void test_no_verify_status_answers_6a80_to_the_empty_verify(void **st)
{
    (void)st;
    static const char *const types[] = {"piv+no-verify-status", "yubikey+no-verify-status"};
    for (size_t i = 0; i < 2; i++) {
        cf_simcard_t *c = piv_selected(types[i], 1);
        assert_int_equal(tx_hex(c, "00 20 00 80"), 0x6A80);
        assert_int_equal(tx_hex(c, "00 20 00 80 00"), 0x6A80);
        assert_int_equal(tx_hex(c, "00 20 00 80 08 39 39 39 39 39 39 FF FF"), 0x63C2);
        assert_int_equal(tx_hex(c, "00 20 00 80"), 0x6A80); /* nor once a try is spent */
        assert_int_equal(tx_hex(c, "00 20 00 80 08 31 32 33 34 35 36 FF FF"), 0x9000);
        assert_int_equal(tx_hex(c, "00 20 00 80"), 0x6A80); /* nor once verified */
        cf_simcard_free(c);
    }
}

/* ---- gids: GIDS v2 as GidsApplet and OpenSC define it ---- */

#define GET_7F7A "00 CB 3F FF 04 5C 02 7F 7A 00"
#define GET_7F73 "00 CB 3F FF 04 5C 02 7F 73 00"

static void test_gids_has_no_admin_counter_object(void **st)
{
    (void)st;
    static const char *const factories[] = {"gemalto", "blank"};
    for (size_t i = 0; i < 2; i++) {
        cf_simcard_t *c = card_of("gids", factories[i], 1);
        assert_int_equal(tx_hex(c, GET_7F7A), 0x6A88);
        assert_int_equal(tx_hex(c, GET_7F73), 0x6A88);
        cf_simcard_free(c);
    }
}

static void test_gids_wrong_cryptogram_answers_6982(void **st)
{
    (void)st;
    cf_simcard_t *c = card_of("gids", "gemalto", 1);
    assert_int_equal(tx_gids_mutual(c, other_key), 0x6982);
    assert_int_equal(tx_gids_external(c, other_key), 0x6982);
    assert_int_equal(tx_gids_mutual(c, gemalto_key), 0x9000);
    assert_int_equal(tx_gids_external(c, gemalto_key), 0x9000);
    cf_simcard_free(c);
}

static void test_gids_gemalto_blocks_after_five_wrong_cryptograms(void **st)
{
    (void)st;
    char buf[16];
    cf_simcard_t *c = card_of("gids", "gemalto", 1);
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(i % 2 ? tx_gids_external(c, other_key) : tx_gids_mutual(c, other_key),
                         0x6982);
    assert_string_equal(tx_state_value(path, "admin_tries", buf, sizeof(buf)), "0");
    /* blocked: the right key is refused too, in both forms, at the request */
    assert_int_equal(tx_gids_mutual(c, gemalto_key), 0x6983);
    assert_int_equal(tx_gids_external(c, gemalto_key), 0x6983);
    assert_int_equal(tx_hex(c, GET_7F7A), 0x6A88); /* and still shows no counter */
    cf_simcard_free(c);
}

/* What gids-tool -X does that matters here: a PIN, the admin key file and
 * key, activation. */
static void initialise_blank(cf_simcard_t *c, const uint8_t key[24])
{
    uint8_t put[5 + 38] = {0x00, 0xDB, 0x3F, 0xFF, 0x26, 0x70, 0x24, 0x84, 0x01, 0x80,
                           0xA5, 0x1F, 0x87, 0x18};
    memcpy(put + 14, key, 24);
    memcpy(put + 38, "\x88\x03\xB0\x73\xDC", 5);
    assert_int_equal(tx_hex(c, "00 24 01 80 04 31 32 33 34"), 0x9000);
    assert_int_equal(tx_hex(c, "00 E0 00 00 1C 62 1A 82 01 18 83 02 B0 80 8C 04 87 00 20 FF "
                               "A5 0B A4 09 80 01 02 83 01 80 95 01 C0"),
                     0x9000);
    assert_int_equal(tx_hex(c, "00 44 00 00"), 0x9000);
    assert_int_equal(tx_raw(c, put, sizeof(put)), 0x9000);
    assert_int_equal(tx_hex(c, "00 A4 00 0C 02 3F FF"), 0x9000);
    assert_int_equal(tx_hex(c, "00 44 00 00"), 0x9000);
}

static void test_gids_initialised_from_blank_counts_no_admin_tries(void **st)
{
    (void)st;
    char buf[16], err[256];
    cf_simcard_t *c = card_of("gids", "blank", 1);
    assert_int_equal(cf_simcard_set_state_file(c, path), CF_OK);
    initialise_blank(c, other_key);
    for (int i = 0; i < 8; i++)
        assert_int_equal(i % 2 ? tx_gids_external(c, default_key) : tx_gids_mutual(c, default_key),
                         0x6982);
    assert_int_equal(tx_gids_mutual(c, other_key), 0x9000);
    assert_int_equal(tx_hex(c, GET_7F7A), 0x6A88);
    cf_simcard_free(c);
    assert_null(tx_state_value(path, "admin_tries", buf, sizeof(buf)));
    assert_null(tx_state_value(path, "admin_max", buf, sizeof(buf)));
    assert_null(load_text("type=gids\nquirks=\nfactory=blank\nserial=1\nadmin_tries=3\n",
                          CF_ERR_PARSE, err, sizeof(err)));
    assert_non_null(strstr(err, ":5: admin_tries: this card counts no admin-key tries"));
}

/* ---- gids quirks ---- */

/* Admin tries left, read from 7F7A. */
static unsigned admin_left(cf_simcard_t *c)
{
    assert_int_equal(tx_hex(c, GET_7F7A), 0x9000);
    assert_int_equal(tx_len, 9);
    assert_memory_equal(tx_resp, "\x7F\x7A\x06\x97\x01", 5);
    assert_memory_equal(tx_resp + 6, "\x93\x01\x05", 3);
    return tx_resp[5];
}

static void test_admin_counter_shows_the_tries_and_answers_63cx(void **st)
{
    (void)st;
    cf_simcard_t *c = card_of("gids+admin-counter", "gemalto", 1);
    assert_int_equal(admin_left(c), 5);
    assert_int_equal(tx_gids_mutual(c, other_key), 0x63C4);
    assert_int_equal(tx_gids_external(c, other_key), 0x63C3);
    assert_int_equal(admin_left(c), 3);
    assert_int_equal(tx_gids_external(c, gemalto_key), 0x9000);
    assert_int_equal(admin_left(c), 5);
    for (int i = 4; i >= 0; i--)
        assert_int_equal(tx_gids_mutual(c, other_key), 0x63C0 | i);
    assert_int_equal(tx_gids_mutual(c, gemalto_key), 0x6983);
    assert_int_equal(admin_left(c), 0);
    cf_simcard_free(c);
    /* a card initialised from blank counts too, with the quirk */
    c = card_of("gids+admin-counter", "blank", 1);
    initialise_blank(c, other_key);
    assert_int_equal(tx_gids_external(c, default_key), 0x63C4);
    assert_int_equal(admin_left(c), 4);
    cf_simcard_free(c);
}

static void test_gids_wrong_quirks_choose_the_wrong_cryptogram_sw(void **st)
{
    (void)st;
    static const struct type_sw cases[] = {
        {"gids+wrong-6a80", 0x6A80},
        {"gids+wrong-6982", 0x6982},
        {"gids+admin-counter+wrong-6a80", 0x6A80},
        {"gids+wrong-63cx", 0x63C4}, /* the gemalto stock's unseen count */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cf_simcard_t *c = card_of(cases[i].type, "gemalto", 1);
        if (tx_gids_mutual(c, other_key) != cases[i].sw)
            fail_msg("%s: mutual", cases[i].type);
        uint16_t ext = cases[i].sw == 0x63C4 ? 0x63C3 : cases[i].sw;
        if (tx_gids_external(c, other_key) != ext)
            fail_msg("%s: external", cases[i].type);
        assert_int_equal(tx_gids_mutual(c, gemalto_key), 0x9000);
        cf_simcard_free(c);
    }
    /* with admin-counter and another SW: the counter still shows the spent try */
    cf_simcard_t *c = card_of("gids+admin-counter+wrong-6982", "gemalto", 1);
    assert_int_equal(tx_gids_mutual(c, other_key), 0x6982);
    assert_int_equal(admin_left(c), 4);
    cf_simcard_free(c);
    /* wrong-63cx and a card that counts nothing: refused */
    assert_int_equal(cf_simcard_new("gids+wrong-63cx", NULL, 1, &c), CF_ERR_NOT_FOUND);
    assert_null(c);
    assert_int_equal(cf_simcard_new("gids+wrong-63cx", "blank", 1, &c), CF_ERR_NOT_FOUND);
    assert_null(c);
    c = card_of("gids+admin-counter+wrong-63cx", "blank", 1);
    cf_simcard_free(c);
}

static void test_gids_absent_quirks_choose_the_absent_object_sw(void **st)
{
    (void)st;
    static const struct type_sw cases[] = {
        {"gids", 0x6A88},
        {"gids+absent-6a82", 0x6A82},
        {"gids+absent-6984", 0x6984},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cf_simcard_t *c = card_of(cases[i].type, "gemalto", 1);
        assert_int_equal(tx_hex(c, GET_7F7A), cases[i].sw);
        assert_int_equal(tx_hex(c, GET_7F73), cases[i].sw);
        /* a DO the card does not have in an EF it has */
        assert_int_equal(tx_hex(c, "00 CB A0 10 04 5C 02 DF 2F 00"), cases[i].sw);
        assert_int_equal(tx_hex(c, "00 CB A0 12 04 5C 02 DF 20 00"), 0x9000); /* present */
        cf_simcard_free(c);
    }
    cf_simcard_t *c = card_of("gids+admin-counter+absent-6984", "gemalto", 1);
    assert_int_equal(admin_left(c), 5); /* 7F7A is there now */
    assert_int_equal(tx_hex(c, GET_7F73), 0x6984);
    cf_simcard_free(c);
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
        T(test_piv_answers_6d00_to_every_yubikey_instruction),
        T(test_piv_select_answers_the_pix_and_the_pix_authority),
        T(test_piv_atr_is_t1_names_no_vendor_and_is_not_a_yubikeys),
        T(test_piv_chuid_guid_ends_with_the_serial_in_decimal),
        T(test_piv_empty_verify_reads_the_pin_counter_without_spending),
        T(test_piv_factory_credentials_are_the_test_cards),
        T(test_piv_has_no_yubikey_objects),
        TS(test_piv_deleted_chuid_stays_deleted_in_the_state_file),
        T(test_yubikey_keeps_its_extensions_atr_and_no_chuid),
        T(test_aid_full_puts_the_whole_aid_in_the_select_answer),
        T(test_atr_quirks_replace_the_atr_and_nothing_else),
        T(test_piv_wrong_management_key_answers_6982_or_the_quirks_sw),
        T(test_piv_absent_object_answers_6a82_or_the_quirks_sw),
        T(test_no_verify_status_answers_6a80_to_the_empty_verify),
        T(test_gids_has_no_admin_counter_object),
        T(test_gids_wrong_cryptogram_answers_6982),
        TS(test_gids_gemalto_blocks_after_five_wrong_cryptograms),
        TS(test_gids_initialised_from_blank_counts_no_admin_tries),
        T(test_admin_counter_shows_the_tries_and_answers_63cx),
        T(test_gids_wrong_quirks_choose_the_wrong_cryptogram_sw),
        T(test_gids_absent_quirks_choose_the_absent_object_sw),
        TS(test_state_file_round_trip_keeps_the_variant),
        TS(test_state_file_without_quirks_line_loads_as_the_card_of_its_time),
        TS(test_state_file_with_unknown_or_misplaced_quirk_is_a_parse_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
