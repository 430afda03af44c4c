/*
 * card_ops_driver.c - runs every card operation once on a card in a real
 * PC/SC reader, for tests/integration/test_card_ops_pcsc.sh.
 *
 * Usage: card_ops_driver READER PROFILE_DIR TRACE_FILE
 * The card type comes from identification. Each step prints "ok <step>" or
 * "FAIL <step>: <error> <message>" and the program exits 1 at the first
 * unexpected result. The values it leaves on the card are fixed (printed at
 * the end as "final ..."), so the shell test can check them with other
 * tools and the card's own state file. The APDU trace goes to TRACE_FILE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/card.h>
#include <cardforge/keys.h>
#include <cardforge/transport.h>

static cf_card_t *card;
static cf_secret_t *pool[64];
static size_t npool;

static cf_secret_t *keep(cf_secret_t *s)
{
    if (s == NULL || npool >= sizeof(pool) / sizeof(pool[0]))
        exit(2);
    return pool[npool++] = s;
}

static cf_secret_t *S(const char *text)
{
    return keep(cf_secret_new(text, strlen(text)));
}

static cf_secret_t *H(const char *hex)
{
    cf_secret_t *s = NULL;
    if (cf_secret_from_hex(hex, strlen(hex), &s) != CF_OK)
        exit(2);
    return keep(s);
}

static void expect(const char *step, cf_err_t got, cf_err_t want)
{
    if (got != want) {
        printf("FAIL %s: %s (wanted %s): %s\n", step, cf_errname(got), cf_errname(want),
               cf_card_errmsg(card));
        exit(1);
    }
    printf("ok %s%s%s\n", step, want != CF_OK ? " -> " : "", want != CF_OK ? cf_errname(want) : "");
}

static void expect_tries(const char *step, cf_cred_t c, cf_tries_kind_t kind, unsigned left)
{
    cf_tries_t t;
    expect(step, cf_card_tries(card, c, &t), CF_OK);
    if (t.kind != kind || (kind == CF_TRIES_KNOWN && t.left != left)) {
        printf("FAIL %s: kind %d left %u (wanted %d, %u)\n", step, t.kind, t.left, kind, left);
        exit(1);
    }
}

static void piv(void)
{
    const char *dk = "010203040506070801020304050607080102030405060708";
    const char *nk = "00112233445566778899AABBCCDDEEFF";
    unsigned spent = 0;
    expect_tries("tries PIN", CF_CRED_PIN, CF_TRIES_KNOWN, 3);
    expect_tries("tries PUK", CF_CRED_PUK, CF_TRIES_KNOWN, 3);
    expect_tries("tries admin", CF_CRED_ADMIN, CF_TRIES_UNLIMITED, 0);
    expect("verify PIN", cf_card_verify_pin(card, S("123456")), CF_OK);
    expect("change PIN", cf_card_change_pin(card, S("123456"), S("24681357")), CF_OK);
    expect("reselect", cf_card_reselect(card), CF_OK);
    expect("verify new PIN", cf_card_verify_pin(card, S("24681357")), CF_OK);
    expect("verify wrong PIN", cf_card_verify_pin(card, S("999999")), CF_ERR_WRONG_SECRET);
    expect("verify same wrong PIN", cf_card_verify_pin(card, S("999999")), CF_ERR_REFUSED);
    expect("change PUK", cf_card_change_puk(card, S("12345678"), S("87654321"), 0), CF_OK);
    expect("block PIN", cf_card_block_pin(card, S("24681357"), &spent), CF_OK);
    expect_tries("PIN blocked", CF_CRED_PIN, CF_TRIES_KNOWN, 0);
    expect("unblock PIN with PUK",
           cf_card_unblock_pin_by_puk(card, S("87654321"), S("97531864"), 0), CF_OK);
    expect("admin auth", cf_card_admin_auth(card, H(dk), 0), CF_OK);
    expect("set admin key", cf_card_set_admin_key(card, H(nk)), CF_OK);
    expect("reselect", cf_card_reselect(card), CF_OK);
    expect("admin auth new key", cf_card_admin_auth(card, H(nk), 0), CF_OK);
    expect("set admin key back", cf_card_set_admin_key(card, H(dk)), CF_OK);
    printf("final pin=97531864 puk=87654321 key=%s\n", dk);
}

static void gids(void)
{
    const char *zk = "000000000000000000000000000000000000000000000000";
    const char *nk = "0123456789ABCDEFFEDCBA98765432100011223344556677";
    unsigned spent = 0;
    expect_tries("tries PIN", CF_CRED_PIN, CF_TRIES_KNOWN, 5);
    expect_tries("tries admin", CF_CRED_ADMIN, CF_TRIES_KNOWN, 5);
    expect("verify PIN", cf_card_verify_pin(card, S("0000")), CF_OK);
    expect("change PIN", cf_card_change_pin(card, S("0000"), S("13579")), CF_OK);
    expect("admin auth", cf_card_admin_auth(card, H(zk), 0), CF_OK);
    expect("set admin key", cf_card_set_admin_key(card, H(nk)), CF_OK);
    expect("reselect", cf_card_reselect(card), CF_OK);
    expect("admin auth old key", cf_card_admin_auth(card, H(zk), 0), CF_ERR_WRONG_SECRET);
    expect_tries("admin counter down", CF_CRED_ADMIN, CF_TRIES_KNOWN, 4);
    expect("admin auth new key", cf_card_admin_auth(card, H(nk), 0), CF_OK);
    expect("block PIN", cf_card_block_pin(card, S("13579"), &spent), CF_OK);
    expect("set PIN with admin key", cf_card_unblock_pin_by_admin(card, S("2468")), CF_OK);
    uint8_t ch[32];
    size_t len = 0;
    expect("get challenge", cf_card_get_challenge(card, ch, sizeof(ch), &len, 0), CF_OK);
    cf_secret_t *r = NULL;
    expect("compute response", cf_keys_unblock_response(H(nk), ch, len, &r), CF_OK);
    keep(r);
    expect("external auth", cf_card_external_auth(card, r), CF_OK);
    expect("set PIN after challenge-response", cf_card_unblock_pin_by_admin(card, S("86420")),
           CF_OK);
    expect("verify PIN", cf_card_verify_pin(card, S("86420")), CF_OK);
    printf("final pin=86420 key=%s\n", nk);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: card_ops_driver READER PROFILE_DIR TRACE_FILE\n");
        return 2;
    }
    cf_diag_list_t *d = cf_diag_list_new();
    cf_profiles_t *set = NULL;
    if (cf_profiles_load(argv[2], d, &set) != CF_OK) {
        cf_diag_print(d, stderr);
        return 1;
    }
    cf_diag_list_free(d);
    FILE *tf = fopen(argv[3], "w");
    cf_trace_t *tr = NULL;
    if (tf == NULL || cf_trace_new(tf, &tr) != CF_OK)
        return 2;
    cf_transport_t *t = NULL;
    char err[512];
    if (cf_transport_open_pcsc(argv[1], &t, err, sizeof(err)) != CF_OK) {
        printf("FAIL connect: %s\n", err);
        return 1;
    }
    cf_transport_set_trace(t, tr);
    cf_err_t e = cf_card_open(t, set, NULL, &card, err, sizeof(err));
    if (e != CF_OK) {
        printf("FAIL open: %s %s\n", cf_errname(e), err);
        return 1;
    }
    const char *family = cf_profile_family(cf_card_profile(card));
    printf("card %s serial %s version '%s'\n", cf_profile_name(cf_card_profile(card)),
           cf_card_serial(card), cf_card_version(card));
    if (strcmp(family, "piv") == 0)
        piv();
    else
        gids();
    cf_card_free(card);
    cf_transport_close(t, CF_DISPOSE_RESET);
    cf_trace_free(tr);
    fclose(tf);
    cf_profiles_free(set);
    for (size_t i = 0; i < npool; i++)
        cf_secret_free(pool[i]);
    return 0;
}
