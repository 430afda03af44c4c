/*
 * test_card_guards.c - the safety guards of card.h: the last PUK/admin try
 * is refused (and nothing that could spend it is sent) unless allowed; a
 * blocked credential is not tried; a counter the card cannot report allows
 * one attempt per cf_card_t; a value the card rejected is never sent again;
 * and a trace shows "**" where a secret was, never the secret.
 *
 * "Nothing sent" is checked on the APDU count and on the trace: the guard
 * may read a counter (a GET DATA / GET METADATA that spends nothing) and
 * nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cardforge/keys.h>

#include "card_fixture.h"

#define ZERO_KEY "000000000000000000000000000000000000000000000000"
#define PIV_KEY "010203040506070801020304050607080102030405060708"

/* A trace into memory, attached to f's transport. */
struct mtrace {
    char *buf;
    size_t len;
    FILE *f;
    cf_trace_t *tr;
};

static void trace_start(struct fx *f, struct mtrace *m)
{
    memset(m, 0, sizeof(*m));
    m->f = open_memstream(&m->buf, &m->len);
    assert_non_null(m->f);
    assert_int_equal(cf_trace_new(m->f, &m->tr), CF_OK);
    cf_transport_set_trace(f->t, m->tr);
}

/* Stop tracing; the text stays in m->buf until trace_free. */
static void trace_stop(struct fx *f, struct mtrace *m)
{
    cf_transport_set_trace(f->t, NULL);
    cf_trace_free(m->tr);
    fclose(m->f);
}

static void trace_free(struct mtrace *m)
{
    free(m->buf);
}

/* Open a card with the real profiles plus extra (name, yaml) profiles. */
static void open_with(struct fx *f, const char *type, const char *factory, const char *profile,
                      const char *xname, const char *xyaml)
{
    memset(f, 0, sizeof(*f));
    f->set = fx_profiles();
    if (xname != NULL) {
        cf_diag_list_t *d = cf_diag_list_new();
        cf_err_t err = cf_profiles_add_mem(&f->set, xname, xyaml, strlen(xyaml), d);
        if (err != CF_OK)
            cf_diag_print(d, stderr);
        assert_int_equal(err, CF_OK);
        cf_diag_list_free(d);
    }
    assert_int_equal(cf_simcard_new(type, factory, 4711, &f->sim), CF_OK);
    assert_int_equal(cf_transport_open_sim(f->sim, "Sim", &f->t), CF_OK);
    cf_err_t err = cf_card_open(f->t, f->set, profile, &f->card, f->errbuf, sizeof(f->errbuf));
    if (err != CF_OK)
        fprintf(stderr, "%s\n", f->errbuf);
    assert_int_equal(err, CF_OK);
}

static void test_last_puk_try_is_refused_then_allowed(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "yubikey", NULL, NULL, NULL, NULL);
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "00000001"), fx_s(&f, "87654321"), 0),
                     CF_ERR_WRONG_SECRET);
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "00000002"), fx_s(&f, "87654321"), 0),
                     CF_ERR_WRONG_SECRET);
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 1);

    struct mtrace m;
    trace_start(&f, &m);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(
        cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "654321"), 0),
        CF_ERR_LAST_TRY);
    /* nothing sent: the card's 63C1 to the last wrong PUK told the counter */
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "87654321"), 0),
                     CF_ERR_LAST_TRY);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    trace_stop(&f, &m);
    assert_null(strstr(m.buf, "> 00 F7 00 81"));
    assert_null(strstr(m.buf, "> 00 2C"));
    assert_null(strstr(m.buf, "> 00 24"));
    trace_free(&m);
    assert_non_null(strstr(cf_card_errmsg(f.card), "only 1 PUK try is left"));
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 1);
    assert_true(fx_state_is(&f, "pin", "313233343536"));

    /* allowed: spent and succeeded, the counter is full again */
    assert_int_equal(cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "654321"),
                                                CF_OP_ALLOW_LAST_TRY),
                     CF_OK);
    assert_true(fx_state_is(&f, "pin", "363534333231"));
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 3);
    fx_close(&f);
}

static void test_blocked_puk_is_not_tried(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "yubikey", NULL, NULL, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        char wrong[9];
        snprintf(wrong, sizeof(wrong), "0000000%d", i);
        assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, wrong), fx_s(&f, "87654321"), 0),
                         CF_ERR_WRONG_SECRET);
    }
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "00000009"), fx_s(&f, "87654321"),
                                        CF_OP_ALLOW_LAST_TRY),
                     CF_ERR_WRONG_SECRET);
    assert_non_null(strstr(cf_card_errmsg(f.card), "no tries left"));
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 0);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "654321"),
                                                CF_OP_ALLOW_LAST_TRY),
                     CF_ERR_BLOCKED);
    assert_int_equal(cf_transport_apdu_count(f.t), n); /* 63C0 said blocked */
    assert_non_null(strstr(cf_card_errmsg(f.card), "nothing sent"));
    fx_close(&f);
}

/* The last-try guard needs a counter the card shows: gids+admin-counter. */
static void test_last_admin_try_is_refused_then_allowed(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "gids+admin-counter", "gemalto", NULL, NULL, NULL);
    static const char *const wrong[] = {"111111111111111111111111111111111111111111111111",
                                        "222222222222222222222222222222222222222222222222",
                                        "333333333333333333333333333333333333333333333333",
                                        "444444444444444444444444444444444444444444444444"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, wrong[i]), 0), CF_ERR_WRONG_SECRET);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 1);

    struct mtrace m;
    trace_start(&f, &m);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_ERR_LAST_TRY);
    uint8_t ch[16];
    size_t len;
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_ERR_LAST_TRY);
    assert_int_equal(len, 0);
    /* nothing sent: the card's 63C1 to the last wrong key told the counter */
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    trace_stop(&f, &m);
    assert_null(strstr(m.buf, "> 00 87"));
    assert_null(strstr(m.buf, "> 00 22"));
    trace_free(&m);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 1);

    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), CF_OP_ALLOW_LAST_TRY), CF_OK);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 5);
    fx_close(&f);
}

static void test_external_auth_guard_is_checked_before_the_challenge(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "gids+admin-counter", "gemalto", NULL, NULL, NULL);
    uint8_t ch[16];
    size_t len;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_OK);
        char bad[17];
        snprintf(bad, sizeof(bad), "00000000000000%02d", i);
        assert_int_equal(cf_card_external_auth(f.card, fx_h(&f, bad)), CF_ERR_WRONG_SECRET);
    }
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 1);
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_ERR_LAST_TRY);
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, CF_OP_ALLOW_LAST_TRY),
                     CF_OK);
    cf_secret_t *r = NULL;
    assert_int_equal(cf_keys_unblock_response(fx_h(&f, ZERO_KEY), ch, len, &r), CF_OK);
    fx_keep(&f, r);
    assert_int_equal(cf_card_external_auth(f.card, r), CF_OK);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 5);
    fx_close(&f);
}

/* A GIDS card that cannot report its admin counter, as real GIDS cards:
 * the counter is read from a DO the card does not have (6A88). */
static const char no_admin_counter[] = "extends: gids-gemalto\n"
                                       "admin_key:\n"
                                       "  tries:\n"
                                       "    apdu: \"00 CB 3F FF 5C(7F7B)\"\n"
                                       "    unknown_sw: [\"6A88\"]\n"
                                       "    left: { path: \"7F7B/97\" }\n";

static void test_unknown_admin_counter_allows_one_attempt(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "gids", "gemalto", "gids-real", "gids-real", no_admin_counter);
    cf_tries_t t = fx_tries(&f, CF_CRED_ADMIN);
    assert_int_equal(t.kind, CF_TRIES_UNKNOWN);
    /* the first attempt goes to the card, even though it could be the last */
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, PIV_KEY), 0), CF_ERR_WRONG_SECRET);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 4);
    /* after a failure: refused, even with the right key, even allowed */
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), CF_OP_ALLOW_LAST_TRY),
                     CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n + 1); /* the (unanswerable) counter read */
    assert_non_null(strstr(cf_card_errmsg(f.card), "cannot report its admin key tries"));
    uint8_t ch[16];
    size_t len;
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_ERR_REFUSED);
    assert_int_equal(fx_state_uint(&f, "admin_tries"), 4);
    cf_card_free(f.card);

    /* a new cf_card_t (a new session) gets its one attempt again */
    assert_int_equal(cf_card_open(f.t, f.set, "gids-real", &f.card, NULL, 0), CF_OK);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_OK);
    fx_close(&f);
}

/* The PIN of a card type whose counter is declared unknown outright: no
 * read at all, so the refused attempt sends nothing. */
static const char no_pin_counter[] = "extends: gids-gemalto\n"
                                     "pin:\n"
                                     "  tries: unknown\n";

static void test_unknown_pin_counter_allows_one_attempt(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "gids", "gemalto", "gids-nopin", "gids-nopin", no_pin_counter);
    assert_int_equal(fx_tries(&f, CF_CRED_PIN).kind, CF_TRIES_UNKNOWN);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "1111")), CF_ERR_WRONG_SECRET);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "0000")), CF_ERR_REFUSED);
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "0000"), fx_s(&f, "4321")),
                     CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 4);
    fx_close(&f);
}

static void test_rejected_value_is_never_sent_again(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "yubikey", NULL, NULL, NULL, NULL);
    /* PIN */
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "999999")), CF_ERR_WRONG_SECRET);
    uint64_t n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "999999")), CF_ERR_REFUSED);
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "999999"), fx_s(&f, "777777")),
                     CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    assert_non_null(strstr(cf_card_errmsg(f.card), "already rejected this PIN"));
    assert_int_equal(fx_state_uint(&f, "pin_tries"), 2);
    /* PUK */
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "99999999"), fx_s(&f, "77777777"), 0),
                     CF_ERR_WRONG_SECRET);
    n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_unblock_pin_by_puk(f.card, fx_s(&f, "99999999"), fx_s(&f, "777777"),
                                                CF_OP_ALLOW_LAST_TRY),
                     CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    assert_int_equal(fx_state_uint(&f, "puk_tries"), 2);
    /* admin key (no counter on a YubiKey: only this rule protects it) */
    static const char wrong[] = "0102030405060708010203040506070801020304050607FF";
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, wrong), 0), CF_ERR_WRONG_SECRET);
    n = cf_transport_apdu_count(f.t);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, wrong), 0), CF_ERR_REFUSED);
    assert_int_equal(cf_transport_apdu_count(f.t), n);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, PIV_KEY), 0), CF_OK);

    /* once the PIN is changed to a value rejected before, it is the PIN */
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "123456"), fx_s(&f, "999999")), CF_OK);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "999999")), CF_OK);
    fx_close(&f);
}

static void test_trace_redacts_every_secret(void **state)
{
    (void)state;
    struct fx f;
    open_with(&f, "yubikey", NULL, NULL, NULL, NULL);
    struct mtrace m;
    trace_start(&f, &m);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "123456")), CF_OK);
    assert_int_equal(cf_card_change_pin(f.card, fx_s(&f, "123456"), fx_s(&f, "ABCDEF")), CF_OK);
    assert_int_equal(cf_card_change_puk(f.card, fx_s(&f, "12345678"), fx_s(&f, "QRSTUVWX"), 0),
                     CF_OK);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, PIV_KEY), 0), CF_OK);
    assert_int_equal(cf_card_set_admin_key(f.card, fx_h(&f, "C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0")),
                     CF_OK);
    trace_stop(&f, &m);
    assert_non_null(strstr(m.buf, "> 00 20 00 80 08 ** ** ** ** ** ** ** **"));
    assert_non_null(strstr(m.buf, "> 00 24 00 80 10 ** ** **"));
    static const char *const never[] = {
        "31 32 33 34 35 36", /* 123456 */
        "41 42 43 44 45 46", /* ABCDEF */
        "51 52 53 54 55 56", /* QRSTUV */
        "31 32 33 34 35 36 37 38",
        "01 02 03 04 05 06 07 08", /* the management key */
        "C1 C2 C3 C4",             /* the new key */
    };
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (strstr(m.buf, never[i]) != NULL) {
            fprintf(stderr, "%s found in:\n%s", never[i], m.buf);
            fail();
        }
    trace_free(&m);

    /* GIDS: the mutual cryptograms and the external response */
    fx_close(&f);
    open_with(&f, "gids", "gemalto", NULL, NULL, NULL);
    trace_start(&f, &m);
    assert_int_equal(cf_card_verify_pin(f.card, fx_s(&f, "0000")), CF_OK);
    assert_int_equal(cf_card_admin_auth(f.card, fx_h(&f, ZERO_KEY), 0), CF_OK);
    assert_int_equal(cf_card_unblock_pin_by_admin(f.card, fx_s(&f, "9876")), CF_OK);
    uint8_t ch[16];
    size_t len;
    assert_int_equal(cf_card_get_challenge(f.card, ch, sizeof(ch), &len, 0), CF_OK);
    cf_secret_t *r = NULL;
    assert_int_equal(cf_keys_unblock_response(fx_h(&f, ZERO_KEY), ch, len, &r), CF_OK);
    fx_keep(&f, r);
    assert_int_equal(cf_card_external_auth(f.card, r), CF_OK);
    trace_stop(&f, &m);
    char rhex[3 * 8] = ""; /* "XX XX ... XX" */
    for (size_t i = 0; i < 8; i++)
        snprintf(rhex + 3 * i, sizeof(rhex) - 3 * i, "%02X%s", cf_secret_data(r)[i],
                 i < 7 ? " " : "");
    assert_int_equal(strlen(rhex), 23);
    assert_null(strstr(m.buf, rhex));
    assert_null(strstr(m.buf, "30 30 30 30")); /* 0000 */
    assert_null(strstr(m.buf, "39 38 37 36")); /* 9876 */
    assert_non_null(strstr(m.buf, "> 00 87 00 00 2C 7C 2A 82 28 ** **"));
    assert_non_null(strstr(m.buf, "> 00 87 00 00 0C 7C 0A 82 08 ** ** ** ** ** ** ** **"));
    trace_free(&m);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_puk_try_is_refused_then_allowed),
        cmocka_unit_test(test_blocked_puk_is_not_tried),
        cmocka_unit_test(test_last_admin_try_is_refused_then_allowed),
        cmocka_unit_test(test_external_auth_guard_is_checked_before_the_challenge),
        cmocka_unit_test(test_unknown_admin_counter_allows_one_attempt),
        cmocka_unit_test(test_unknown_pin_counter_allows_one_attempt),
        cmocka_unit_test(test_rejected_value_is_never_sent_again),
        cmocka_unit_test(test_trace_redacts_every_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
