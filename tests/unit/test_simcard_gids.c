/*
 * test_simcard_gids.c - the gids virtual card, driven through the public
 * cf_simcard_* API with raw APDU bytes, as a host would.
 *
 * The host side of the cryptography (OpenSC's mutual authentication, the
 * helpdesk's 3DES-ECB answer) is computed here with OpenSSL, independently
 * of the card's code, and the ECB helper is pinned to known-answer vectors
 * first so a bug cannot hide on both sides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cardforge/simcard.h>

#include "util/hex.h"

/* ---- helpers ---- */

static uint8_t rbuf[CF_SIMCARD_MAX_RESPONSE];

static const uint8_t zero_key[24] = {0};
static const uint8_t x_key[24] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                  0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                                  0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};

static cf_simcard_t *new_typed_card(const char *type, const char *factory, uint32_t serial)
{
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_new(type, factory, serial, &c), CF_OK);
    cf_simcard_power_on(c);
    return c;
}

/* A plain gids card (GIDS v2: no visible admin counter, a wrong admin
 * cryptogram answers 6982). */
static cf_simcard_t *new_card(const char *factory, uint32_t serial)
{
    return new_typed_card("gids", factory, serial);
}

/* The same with the admin-counter quirk (7F7A readable, a wrong cryptogram
 * answers 63Cx, counted on a blank card too): for the tests that check
 * admin tries through those answers. */
static cf_simcard_t *new_counted_card(const char *factory, uint32_t serial)
{
    return new_typed_card("gids+admin-counter", factory, serial);
}

/* Send raw bytes; returns the SW; the data part is copied to out. */
static uint16_t txb(cf_simcard_t *c, const uint8_t *apdu, size_t len, uint8_t *out, size_t *outlen)
{
    size_t rlen = 0;
    assert_int_equal(cf_simcard_transmit(c, apdu, len, rbuf, &rlen), CF_OK);
    assert_true(rlen >= 2);
    if (out != NULL)
        memcpy(out, rbuf, rlen - 2);
    if (outlen != NULL)
        *outlen = rlen - 2;
    return (uint16_t)((rbuf[rlen - 2] << 8) | rbuf[rlen - 1]);
}

/* Send an APDU written in hex (spaces allowed). */
static uint16_t tx(cf_simcard_t *c, const char *hex, uint8_t *out, size_t *outlen)
{
    char clean[2 * 600];
    size_t n = 0;
    for (const char *p = hex; *p; p++)
        if (*p != ' ')
            clean[n++] = *p;
    assert_true(n % 2 == 0 && n / 2 <= 300);
    uint8_t apdu[300];
    assert_int_equal(cf_hex_decode(clean, n, apdu, sizeof(apdu)), CF_OK);
    return txb(c, apdu, n / 2, out, outlen);
}

/* Build "hdr" + data (+ optional Le 00) and send. */
static uint16_t tx_data(cf_simcard_t *c, const char *hdr4hex, const uint8_t *data, size_t len,
                        int le, uint8_t *out, size_t *outlen)
{
    uint8_t apdu[300];
    assert_true(len <= 255);
    assert_int_equal(cf_hex_decode(hdr4hex, 8, apdu, 4), CF_OK);
    apdu[4] = (uint8_t)len;
    memcpy(apdu + 5, data, len);
    size_t n = 5 + len;
    if (le)
        apdu[n++] = 0x00;
    return txb(c, apdu, n, out, outlen);
}

static void hexbytes(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(strlen(hex), 2 * len);
    assert_int_equal(cf_hex_decode(hex, 2 * len, out, len), CF_OK);
}

/* Host-side 3DES, as OpenSC and a helpdesk tool compute it. */
static void host_des3(const char *alg, int enc, const uint8_t key[24], const uint8_t *in,
                      size_t len, uint8_t *out)
{
    static const uint8_t iv[8] = {0};
    EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, alg, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    assert_non_null(ci);
    assert_non_null(ctx);
    assert_int_equal(EVP_CipherInit_ex2(ctx, ci, key, iv, enc, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
    assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(ctx, out + n, &f), 1);
    assert_int_equal((size_t)(n + f), len);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(ci);
}

#define SW_OK 0x9000

static void select_gids(cf_simcard_t *c)
{
    assert_int_equal(tx(c, "00A4040009A0000003974254465900", NULL, NULL), SW_OK);
}

static void mse_admin(cf_simcard_t *c)
{
    assert_int_equal(tx(c, "0022C1A403830180", NULL, NULL), SW_OK);
}

/* OpenSC's mutual authentication (gids-tool -U / -C), host side. Returns
 * the SW of the final step; with 9000, checks the card's cryptogram. */
static uint16_t mutual_auth(cf_simcard_t *c, const uint8_t key[24])
{
    uint8_t r1[16], r2[16], z1[7], plain[40], cgram[44], out[64];
    size_t olen;
    mse_admin(c);
    assert_int_equal(RAND_bytes(r1, 16), 1);
    uint8_t req[20] = {0x7c, 0x12, 0x81, 0x10};
    memcpy(req + 4, r1, 16);
    assert_int_equal(tx_data(c, "00870000", req, sizeof(req), 1, out, &olen), SW_OK);
    assert_int_equal(olen, 20);
    assert_memory_equal(out, "\x7c\x12\x81\x10", 4);
    memcpy(r2, out + 4, 16);
    assert_int_equal(RAND_bytes(z1, 7), 1);
    memcpy(plain, r2, 16);
    memcpy(plain + 16, r1, 16);
    memcpy(plain + 32, z1, 7);
    plain[39] = 0x80;
    cgram[0] = 0x7c;
    cgram[1] = 0x2a;
    cgram[2] = 0x82;
    cgram[3] = 0x28;
    host_des3("DES-EDE3-CBC", 1, key, plain, 40, cgram + 4);
    uint16_t sw = tx_data(c, "00870000", cgram, sizeof(cgram), 1, out, &olen);
    if (sw != SW_OK)
        return sw;
    /* The card's answer: C2 = CBC(R1 | R2 | Z2 | 80), 44 bytes in all. */
    assert_int_equal(olen, 44);
    assert_memory_equal(out, "\x7c\x2a\x82\x28", 4);
    host_des3("DES-EDE3-CBC", 0, key, out + 4, 40, plain);
    assert_memory_equal(plain, r1, 16);
    assert_memory_equal(plain + 16, r2, 16);
    assert_int_equal(plain[39], 0x80);
    return sw;
}

/* Ask for an external-authentication challenge; returns it in ch[8]. */
static void get_challenge(cf_simcard_t *c, uint8_t ch[8])
{
    uint8_t out[64];
    size_t olen;
    assert_int_equal(tx(c, "0022 81A4 03 830180", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00870000 04 7C028100 00", out, &olen), SW_OK);
    assert_int_equal(olen, 12);
    assert_memory_equal(out, "\x7c\x0a\x81\x08", 4);
    memcpy(ch, out + 4, 8);
}

static uint16_t send_response(cf_simcard_t *c, const uint8_t r[8])
{
    uint8_t data[12] = {0x7c, 0x0a, 0x82, 0x08};
    memcpy(data + 4, r, 8);
    return tx_data(c, "00870000", data, sizeof(data), 0, NULL, NULL);
}

/* The helpdesk flow: challenge, R = 3DES-ECB(K, CH), answer. */
static uint16_t external_auth(cf_simcard_t *c, const uint8_t key[24])
{
    uint8_t ch[8], r[8];
    get_challenge(c, ch);
    host_des3("DES-EDE3-ECB", 1, key, ch, 8, r);
    return send_response(c, r);
}

static void pin_status(cf_simcard_t *c, unsigned *left, unsigned *max)
{
    uint8_t out[32];
    size_t olen;
    assert_int_equal(tx(c, "00CB3FFF 04 5C027F71 00", out, &olen), SW_OK);
    assert_int_equal(olen, 9);
    assert_memory_equal(out, "\x7f\x71\x06\x97\x01", 5);
    assert_int_equal(out[6], 0x93);
    *left = out[5];
    *max = out[8];
}

static void admin_status(cf_simcard_t *c, unsigned *left, unsigned *max)
{
    uint8_t out[32];
    size_t olen;
    assert_int_equal(tx(c, "00CB3FFF 04 5C027F7A 00", out, &olen), SW_OK);
    assert_int_equal(olen, 9);
    assert_memory_equal(out, "\x7f\x7a\x06\x97\x01", 5);
    assert_int_equal(out[6], 0x93);
    *left = out[5];
    *max = out[8];
}

static uint16_t verify_pin(cf_simcard_t *c, const char *pin)
{
    return tx_data(c, "00200080", (const uint8_t *)pin, strlen(pin), 0, NULL, NULL);
}

/* A state file in a fresh directory of its own, so the test can break it. */
struct tmpstate {
    char dir[64];
    char path[96];
};

static void tmpstate_init(struct tmpstate *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/cf-gids-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/card.state", t->dir);
}

/* Make every later save fail: the directory disappears (works as root too). */
static void tmpstate_break(struct tmpstate *t)
{
    assert_int_equal(unlink(t->path), 0);
    assert_int_equal(rmdir(t->dir), 0);
}

static void tmpstate_done(struct tmpstate *t)
{
    char tmp[128];
    unlink(t->path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", t->path);
    unlink(tmp);
    rmdir(t->dir);
}

static cf_simcard_t *reload(const char *path)
{
    cf_simcard_t *c = NULL;
    char err[256];
    assert_int_equal(cf_simcard_load(path, err, sizeof(err), &c), CF_OK);
    cf_simcard_power_on(c);
    return c;
}

/* ---- identity and probes ---- */

static void test_atr_is_well_formed_and_names_gids(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card(NULL, 1);
    uint8_t atr[33];
    size_t n = cf_simcard_atr(c, atr, sizeof(atr));
    assert_int_equal(n, 16);
    assert_int_equal(atr[0], 0x3b);
    uint8_t x = 0;
    for (size_t i = 1; i < n; i++)
        x ^= atr[i];
    assert_int_equal(x, 0);             /* TCK */
    assert_int_equal(atr[3] & 0x0f, 1); /* T=1 offered */
    assert_memory_equal(atr + 6, "\xa0\x00\x00\x03\x97\x42\x54\x46\x59", 9);
    assert_int_equal(cf_simcard_atr(c, atr, 4), 0);
    assert_string_equal(cf_simcard_type(c), "gids");
    cf_simcard_free(c);
}

static void test_select_gids_aid_returns_fci_with_both_mechanisms(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card(NULL, 1);
    uint8_t out[64];
    size_t olen;
    assert_int_equal(tx(c, "00A4040009A0000003974254465900", out, &olen), SW_OK);
    uint8_t fci[20];
    hexbytes("61124F0BA0000003974254465902017303400"
             "1C0",
             fci, sizeof(fci));
    assert_int_equal(olen, sizeof(fci));
    assert_memory_equal(out, fci, sizeof(fci));
    /* P2=0C: no data; the full 11-byte AID works too. */
    assert_int_equal(tx(c, "00A4040C09A00000039742544659", out, &olen), SW_OK);
    assert_int_equal(olen, 0);
    assert_int_equal(tx(c, "00A404000BA0000003974254465902 01 00", out, &olen), SW_OK);
    assert_int_equal(olen, 20);
    /* FCP and FMD of the application. */
    assert_int_equal(tx(c, "00A4040409A0000003974254465900", out, &olen), SW_OK);
    assert_memory_equal(out, "\x62\x08\x82\x01\x38\x8c\x03\x03\x30\x30", 10);
    assert_int_equal(tx(c, "00A4040809A0000003974254465900", out, &olen), SW_OK);
    assert_int_equal(out[0], 0x64);
    cf_simcard_free(c);
}

static void test_foreign_probes_are_refused(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 7);
    static const char *const refused_6a82[] = {
        "00A4040009A0000003080000100000",       /* PIV */
        "00A4040006D2760001240100",             /* OpenPGP */
        "00A4040006A0000000010100",             /* MUSCLE */
        "00A404000BE82B0601040181C31F020100",   /* SC-HSM */
        "00A4040007A000000116DB0000",           /* CAC */
        "00A404000CF276A288BCFBA69D34F3100100", /* IsoApplet */
        "00A4040008A000000003000000",           /* a GlobalPlatform card manager */
        "00A4040005A00000039700",               /* RID only: too short a prefix */
        "00A404000CA000000397425446590201FF00", /* longer than the AID */
        "00A40000023F0000",                     /* MF */
        "00A40000022F0000",                     /* EF.DIR */
        "00A4000C025015",                       /* PKCS#15 DF */
    };
    for (size_t i = 0; i < sizeof(refused_6a82) / sizeof(refused_6a82[0]); i++)
        assert_int_equal(tx(c, refused_6a82[i], NULL, NULL), 0x6a82);
    /* By path (P1=08) and PIV-style GET DATA: errors too, never 9000. */
    assert_int_equal(tx(c, "00A4080C043F005015", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00A4080C045015 5031", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00CB3FFF 03 5C017E 00", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "00CB3FFF 05 5C035FC107 00", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "00CA006E00", NULL, NULL), 0x6d00);
    assert_int_equal(tx(c, "0084000008", NULL, NULL), 0x6d00);
    /* The GIDS application is still there afterwards. */
    select_gids(c);
    cf_simcard_free(c);
}

static void test_class_bytes_are_checked(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 7);
    assert_int_equal(tx(c, "80A4040009A0000003974254465900", NULL, NULL), 0x6e00);
    assert_int_equal(tx(c, "0CA4040009A0000003974254465900", NULL, NULL), 0x6882);
    assert_int_equal(tx(c, "01A4040009A0000003974254465900", NULL, NULL), 0x6881);
    assert_int_equal(tx(c, "40A4040009A0000003974254465900", NULL, NULL), 0x6e00);
    assert_int_equal(tx(c, "00FF000000", NULL, NULL), 0x6d00);
    assert_int_equal(tx(c, "00C0000000", NULL, NULL), 0x6985);
    cf_simcard_free(c);
}

static void test_unknown_factory_is_not_found(void **state)
{
    (void)state;
    cf_simcard_t *c = (cf_simcard_t *)1;
    assert_int_equal(cf_simcard_new("gids", "yubikey", 1, &c), CF_ERR_NOT_FOUND);
    assert_null(c);
    c = new_card("blank", 1);
    cf_simcard_free(c);
}

static void test_unpowered_card_answers_nothing(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    size_t rlen;
    uint8_t apdu[] = {0x00, 0x20, 0x00, 0x80};
    cf_simcard_power_off(c);
    assert_int_equal(cf_simcard_transmit(c, apdu, sizeof(apdu), rbuf, &rlen), CF_ERR_NO_CARD);
    cf_simcard_free(c);
}

/* ---- gids-tool -X on a blank card ---- */

/* The exact APDUs of `gids-tool -X --pin 123456 --admin-key <x_key>
 * --serial-number 00112233445566778899AABBCCDDEEFF` after the prelude. */
static const char *const x_masterfile =
    "016D736370000000000000000000000000000000000000000000A00000000000"
    "000000000000636172646964000000000020DF000012A0000000000000000000"
    "0000636172646170707300000021DF000010A000000000000000000000006361"
    "72646366000000000022DF000010A000006D7363700000000000636D61706669"
    "6C6500000023DF000010A00000";

static void run_gids_tool_x(cf_simcard_t *c)
{
    char mfapdu[2 * 160];
    uint8_t out[256];
    size_t olen;
    /* prelude: match SELECT, then gids-tool's own SELECT (P2=0C, no Le) */
    select_gids(c);
    assert_int_equal(tx(c, "00A4040C09A00000039742544659", NULL, NULL), SW_OK);
    /* 1: masterfile must NOT be readable on a fresh card */
    assert_int_not_equal(tx(c, "00CBA000045C02DF1F00", out, &olen), SW_OK);
    /* 2: the PIN, without any authentication (initialization mode) */
    assert_int_equal(tx(c, "00240180 06 313233343536", NULL, NULL), SW_OK);
    /* 3-14: six BER-TLV EFs, each created then activated */
    static const char *const efs[] = {"00 30 00", "10 30 00", "11 30 FF",
                                      "12 20 00", "13 30 30", "14 20 20"};
    for (size_t i = 0; i < 6; i++) {
        char apdu[80];
        snprintf(apdu, sizeof(apdu), "00E00000 0E 620C 820139 8302A0%.2s 8C0303%s", efs[i],
                 efs[i] + 3);
        assert_int_equal(tx(c, apdu, NULL, NULL), SW_OK);
        assert_int_equal(tx(c, "00440000", NULL, NULL), SW_OK);
    }
    /* 15-16: the admin key file */
    assert_int_equal(tx(c,
                        "00E00000 1C 621A 820118 8302B080 8C04870020FF "
                        "A50BA409800102830180950 1C0",
                        NULL, NULL),
                     SW_OK);
    assert_int_equal(tx(c, "00440000", NULL, NULL), SW_OK);
    /* 17: the admin key, with OpenSC's constant check value */
    assert_int_equal(tx(c,
                        "00DB3FFF 26 7024 840180 A51F 8718 "
                        "010203040506070811121314151617182122232425262728 8803B073DC",
                        NULL, NULL),
                     SW_OK);
    /* 18-22: masterfile, cardapps, cardcf, empty cmapfile, cardid */
    snprintf(mfapdu, sizeof(mfapdu), "00DBA000 91 DF1F818D %s", x_masterfile);
    assert_int_equal(tx(c, mfapdu, NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00DBA010 0B DF21 08 6D73637000000000", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00DBA010 09 DF22 06 000000000000", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00DBA010 03 DF23 00", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00DBA012 13 DF20 10 00112233445566778899AABBCCDDEEFF", NULL, NULL),
                     SW_OK);
    /* 23-24: select the application and activate it: operational */
    assert_int_equal(tx(c, "00A4000C023FFF", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00440000", NULL, NULL), SW_OK);
}

static void test_gids_tool_x_initialises_blank_card(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card(NULL, 42);
    uint8_t out[256], mf[141];
    size_t olen;
    unsigned left, max;
    run_gids_tool_x(c);

    /* What OpenSC's PKCS#11 bind reads: masterfile, cmapfile, cardid, PIN. */
    assert_int_equal(tx(c, "00CBA000045C02DF1F00", out, &olen), SW_OK);
    hexbytes(x_masterfile, mf, sizeof(mf));
    assert_int_equal(olen, 145);
    assert_memory_equal(out, "\xdf\x1f\x81\x8d", 4);
    assert_memory_equal(out + 4, mf, sizeof(mf));
    assert_int_equal(tx(c, "00CBA010045C02DF2300", out, &olen), SW_OK);
    assert_int_equal(olen, 3);
    assert_memory_equal(out, "\xdf\x23\x00", 3);
    assert_int_equal(tx(c, "00CBA012045C02DF2000", out, &olen), SW_OK);
    assert_int_equal(olen, 19);
    assert_memory_equal(out + 3, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
                        16);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    assert_int_equal(max, 5);
    admin_status(c, &left, &max);
    assert_int_equal(left, 5);
    assert_int_equal(max, 5);
    assert_int_equal(tx(c, "00CB3FFF045C027F7300", NULL, NULL), 0x6a88); /* no PUK */

    /* Activation logged out and left a working PIN and admin key. */
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x63c5);
    assert_int_equal(verify_pin(c, "123456"), SW_OK);
    assert_int_equal(mutual_auth(c, x_key), SW_OK);
    assert_int_equal(external_auth(c, x_key), SW_OK);
    cf_simcard_free(c);
}

static void test_gids_tool_x_second_run_is_refused(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card(NULL, 42);
    uint8_t out[256];
    size_t olen;
    run_gids_tool_x(c);
    /* gids-tool's own check: the masterfile is there and starts with 01. */
    assert_int_equal(tx(c, "00CBA000045C02DF1F00", out, &olen), SW_OK);
    assert_int_equal(out[4], 0x01);
    /* A host that skipped that check gets nowhere: setting the PIN needs
     * the PIN, files need PIN or admin, the admin key needs the admin. */
    assert_int_equal(tx(c, "00240180 06 393939393939", NULL, NULL), 0x6982);
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0008C03033000", NULL, NULL), 0x6982);
    assert_int_equal(tx(c,
                        "00DB3FFF 26 7024 840180 A51F 8718 "
                        "000000000000000000000000000000000000000000000000 8803B073DC",
                        NULL, NULL),
                     0x6982);
    assert_int_equal(tx(c, "00DBA012 13 DF20 10 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", NULL, NULL),
                     0x6982);
    /* Even with the PIN the existing files stay: 6A89. */
    assert_int_equal(verify_pin(c, "123456"), SW_OK);
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0008C03033000", NULL, NULL), 0x6a89);
    /* Activating the application again changes nothing. */
    assert_int_equal(tx(c, "00A4000C023FFF", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00440000", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00200080", NULL, NULL), SW_OK); /* still verified */
    cf_simcard_free(c);
}

static void test_blank_card_refuses_admin_commands(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("blank", 1);
    unsigned left, max;
    /* Initialization mode: no GA, no RESET RETRY COUNTER, no admin key. */
    assert_int_equal(tx(c, "00870000 04 7C028100 00", NULL, NULL), 0x6986);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6986);
    assert_int_equal(tx(c, "0022C1A403830180", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "00CB3FFF045C027F7A00", NULL, NULL), 0x6a88);
    /* No PIN yet; the status form says no verification is needed. */
    assert_int_equal(verify_pin(c, "1234"), 0x6a88);
    assert_int_equal(tx(c, "00200080", NULL, NULL), SW_OK);
    pin_status(c, &left, &max);
    assert_int_equal(max, 5);
    /* The application cannot be activated without a PIN. */
    assert_int_equal(tx(c, "00440000", NULL, NULL), 0x6985);
    cf_simcard_free(c);
}

/* ---- gemalto factory state ---- */

static void test_gemalto_defaults(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1234567890u);
    uint8_t out[256], mf[141];
    size_t olen;
    unsigned left, max;
    select_gids(c);
    assert_string_equal(cf_simcard_factory(c), "gemalto");
    assert_int_equal(tx(c, "00CBA000045C02DF1F00", out, &olen), SW_OK);
    hexbytes(x_masterfile, mf, sizeof(mf));
    assert_memory_equal(out + 4, mf, sizeof(mf));
    /* CARDID: "CFGIDS" 00 00 + the serial in BCD. */
    assert_int_equal(tx(c, "00CBA012045C02DF2000", out, &olen), SW_OK);
    assert_int_equal(olen, 19);
    assert_memory_equal(out,
                        "\xdf\x20\x10"
                        "CFGIDS\x00\x00\x00\x00\x00\x12\x34\x56\x78\x90",
                        19);
    assert_int_equal(tx(c, "00CBA010045C02DF2100", out, &olen), SW_OK);
    assert_memory_equal(out, "\xdf\x21\x08mscp\x00\x00\x00\x00", 11);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    assert_int_equal(max, 5);
    admin_status(c, &left, &max);
    assert_int_equal(left, 5);
    assert_int_equal(max, 5);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(mutual_auth(c, zero_key), SW_OK);
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    cf_simcard_free(c);
}

/* ---- VERIFY ---- */

static void test_verify_wrong_pin_spends_a_try(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    unsigned left, max;
    assert_int_equal(verify_pin(c, "1111"), 0x63c4);
    pin_status(c, &left, &max);
    assert_int_equal(left, 4);
    assert_int_equal(max, 5);
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x63c4);
    assert_int_equal(cf_simcard_last_cost(c).nv_writes, 0);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    cf_simcard_free(c);
}

static void test_verify_last_try_blocks_then_6983(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    unsigned left, max;
    assert_int_equal(verify_pin(c, "1111"), 0x63c4);
    assert_int_equal(verify_pin(c, "1111"), 0x63c3);
    assert_int_equal(verify_pin(c, "1111"), 0x63c2);
    assert_int_equal(verify_pin(c, "1111"), 0x63c1);
    assert_int_equal(verify_pin(c, "1111"), 0x63c0);
    pin_status(c, &left, &max);
    assert_int_equal(left, 0);
    /* Blocked: the right PIN, the status form and CHANGE all answer 6983. */
    assert_int_equal(verify_pin(c, "0000"), 0x6983);
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x6983);
    assert_int_equal(tx(c, "00240080 08 3030303031313131", NULL, NULL), 0x6983);
    cf_simcard_free(c);
}

static void test_verify_right_pin_on_last_try_restores_counter(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    unsigned left, max;
    for (int i = 0; i < 4; i++)
        assert_int_not_equal(verify_pin(c, "9999"), SW_OK);
    pin_status(c, &left, &max);
    assert_int_equal(left, 1);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    assert_int_equal(tx(c, "00200080", NULL, NULL), SW_OK);
    cf_simcard_free(c);
}

static void test_verify_length_outside_4_to_16_spends_nothing(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    unsigned left, max;
    assert_int_equal(verify_pin(c, "000"), 0x63c5);
    assert_int_equal(verify_pin(c, "00000000000000000"), 0x63c5);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    cf_simcard_free(c);
}

static void test_verify_wrong_pin_ends_verified_state(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "00200080", NULL, NULL), SW_OK);
    assert_int_equal(verify_pin(c, "0001"), 0x63c4);
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x63c4);
    cf_simcard_free(c);
}

static void test_verify_p2_82_logs_out_pin_and_admin(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(mutual_auth(c, zero_key), SW_OK);
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x63c5);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982);
    assert_int_equal(tx(c, "00DBA010 05 DF24 02 0102", NULL, NULL), 0x6982);
    cf_simcard_free(c);
}

static void test_verify_bad_parameters(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(tx(c, "00200180 04 30303030", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00200081 04 30303030", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "00200000 04 30303030", NULL, NULL), SW_OK); /* 00 = 80 */
    cf_simcard_free(c);
}

/* ---- CHANGE REFERENCE DATA ---- */

static void test_change_pin_old_then_new(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    /* OLD "0000" immediately followed by NEW "12345678". */
    assert_int_equal(tx(c, "00240080 0C 30303030 3132333435363738", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00200080", NULL, NULL), SW_OK); /* verified by the change */
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(verify_pin(c, "0000"), 0x63c4);
    assert_int_equal(verify_pin(c, "12345678"), SW_OK);
    cf_simcard_free(c);
}

static void test_change_pin_wrong_old_spends_a_try(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    unsigned left, max;
    assert_int_equal(tx(c, "00240080 08 31313131 32323232", NULL, NULL), 0x63c4);
    pin_status(c, &left, &max);
    assert_int_equal(left, 4);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    cf_simcard_free(c);
}

static void test_change_pin_length_rules(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    unsigned left, max;
    /* Total below 8 or above 32: 63Cx, nothing spent. */
    assert_int_equal(tx(c, "00240080 07 30303030 313233", NULL, NULL), 0x63c5);
    /* Right old PIN, new PIN too long (17): 6700, PIN unchanged. */
    assert_int_equal(tx(c, "00240080 15 30303030 3131313131313131313131313131313131", NULL, NULL),
                     0x6700);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    assert_int_equal(tx(c, "00240080", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00240280 04 31323334", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00240081 08 3030303031313131", NULL, NULL), 0x6a88);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    cf_simcard_free(c);
}

static void test_set_pin_p1_01_needs_verified_pin_when_operational(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(tx(c, "00240180 04 31323334", NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "00240180 03 313233", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00240180 04 31323334", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(verify_pin(c, "1234"), SW_OK);
    cf_simcard_free(c);
}

/* ---- RESET RETRY COUNTER and the helpdesk flow ---- */

static void block_pin(cf_simcard_t *c)
{
    for (int i = 0; i < 5; i++)
        (void)verify_pin(c, "9999");
    assert_int_equal(verify_pin(c, "0000"), 0x6983);
}

static void test_offline_unblock_with_external_auth(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    unsigned left, max;
    uint8_t ch[8], r[8];
    block_pin(c);
    /* The helpdesk flow of the seeds: challenge out, 3DES answer in. */
    select_gids(c);
    get_challenge(c, ch);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    assert_int_equal(send_response(c, r), SW_OK);
    assert_int_equal(tx(c, "002C0280 06 373737373737", NULL, NULL), SW_OK);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    assert_int_equal(verify_pin(c, "777777"), SW_OK);
    /* The unblock logged the admin out. */
    assert_int_equal(tx(c, "002C0280 04 31313131", NULL, NULL), 0x6982);
    cf_simcard_free(c);
}

static void test_unblock_with_mutual_auth_like_gids_tool_u(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    block_pin(c);
    assert_int_equal(mutual_auth(c, zero_key), SW_OK);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(verify_pin(c, "1234"), SW_OK);
    cf_simcard_free(c);
}

static void test_reset_retry_counter_refusals(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982); /* PIN is not admin */
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    assert_int_equal(tx(c, "002C0080 08 3030303031323334", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "002C0281 04 31323334", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "002C0280 03 313233", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "002C0280", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), SW_OK);
    cf_simcard_free(c);
}

/* ---- admin authentication ---- */

static void test_ecb_helper_matches_known_answers(void **state)
{
    (void)state;
    uint8_t k2[24], ch[8], r[8], want[8];
    hexbytes("010203040506070801020304050607080102030405060708", k2, 24);
    hexbytes("0000000000000000", ch, 8);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    hexbytes("8CA64DE9C1B123A7", want, 8);
    assert_memory_equal(r, want, 8);
    host_des3("DES-EDE3-ECB", 1, k2, ch, 8, r);
    hexbytes("B073DC3FB209536D", want, 8);
    assert_memory_equal(r, want, 8);
    hexbytes("0102030405060708", ch, 8);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    hexbytes("CEAD373DB80EABF8", want, 8);
    assert_memory_equal(r, want, 8);
    host_des3("DES-EDE3-ECB", 1, k2, ch, 8, r);
    hexbytes("77A7D6BCF57962B9", want, 8);
    assert_memory_equal(r, want, 8);
}

static void test_mutual_auth_right_key_grants_admin(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    /* Admin-write EF A012 needs the admin. */
    assert_int_equal(tx(c, "00DBA012 13 DF20 10 0102030405060708090A0B0C0D0E0F10", NULL, NULL),
                     0x6982);
    assert_int_equal(mutual_auth(c, zero_key), SW_OK);
    assert_int_equal(cf_simcard_last_cost(c).crypto_ops, 2);
    assert_int_equal(tx(c, "00DBA012 13 DF20 10 0102030405060708090A0B0C0D0E0F10", NULL, NULL),
                     SW_OK);
    cf_simcard_free(c);
}

static void test_mutual_auth_wrong_key_spends_admin_try(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    unsigned left, max;
    assert_int_equal(mutual_auth(c, x_key), 0x63c4);
    admin_status(c, &left, &max);
    assert_int_equal(left, 4);
    assert_int_equal(tx(c, "00DBA012 13 DF20 10 0102030405060708090A0B0C0D0E0F10", NULL, NULL),
                     0x6982);
    assert_int_equal(mutual_auth(c, zero_key), SW_OK);
    admin_status(c, &left, &max);
    assert_int_equal(left, 5);
    cf_simcard_free(c);
}

static void test_mutual_auth_with_card_random_swapped_is_refused(void **state)
{
    (void)state;
    /* R1 | R2 instead of R2 | R1 (the order the Microsoft text suggests). */
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    uint8_t r1[16] = {1}, out[64], plain[40] = {0}, cg[44] = {0x7c, 0x2a, 0x82, 0x28};
    size_t olen;
    uint8_t req[20] = {0x7c, 0x12, 0x81, 0x10};
    memcpy(req + 4, r1, 16);
    mse_admin(c);
    assert_int_equal(tx_data(c, "00870000", req, 20, 1, out, &olen), SW_OK);
    memcpy(plain, r1, 16);
    memcpy(plain + 16, out + 4, 16);
    plain[39] = 0x80;
    host_des3("DES-EDE3-CBC", 1, zero_key, plain, 40, cg + 4);
    assert_int_equal(tx_data(c, "00870000", cg, 44, 1, NULL, NULL), 0x63c4);
    cf_simcard_free(c);
}

static void test_mutual_auth_replayed_cryptogram_refused(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    uint8_t r1[16] = {7, 7, 7}, out[64], plain[40] = {0}, cg[44] = {0x7c, 0x2a, 0x82, 0x28};
    uint8_t req[20] = {0x7c, 0x12, 0x81, 0x10};
    size_t olen;
    unsigned left, max;
    memcpy(req + 4, r1, 16);
    mse_admin(c);
    assert_int_equal(tx_data(c, "00870000", req, 20, 1, out, &olen), SW_OK);
    memcpy(plain, out + 4, 16);
    memcpy(plain + 16, r1, 16);
    plain[39] = 0x80;
    host_des3("DES-EDE3-CBC", 1, zero_key, plain, 40, cg + 4);
    assert_int_equal(tx_data(c, "00870000", cg, 44, 1, NULL, NULL), SW_OK);
    assert_int_equal(tx_data(c, "00870000", cg, 44, 1, NULL, NULL), 0x6985);
    /* Same R1 again: the card's R2 is new, so the old C1 no longer fits. */
    assert_int_equal(tx_data(c, "00870000", req, 20, 1, out, &olen), SW_OK);
    assert_int_equal(tx_data(c, "00870000", cg, 44, 1, NULL, NULL), 0x63c4);
    admin_status(c, &left, &max);
    assert_int_equal(left, 4);
    cf_simcard_free(c);
}

static void test_external_auth_wrong_answer_spends_admin_try(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    unsigned left, max;
    assert_int_equal(external_auth(c, x_key), 0x63c4);
    admin_status(c, &left, &max);
    assert_int_equal(left, 4);
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    admin_status(c, &left, &max);
    assert_int_equal(left, 5);
    cf_simcard_free(c);
}

static void test_external_auth_replayed_response_refused(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    uint8_t ch[8], r[8];
    get_challenge(c, ch);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    assert_int_equal(send_response(c, r), SW_OK);
    assert_int_equal(send_response(c, r), 0x6985);
    /* A new challenge: the old answer is wrong for it (and costs a try). */
    get_challenge(c, ch);
    assert_int_equal(send_response(c, r), 0x63c4);
    assert_int_equal(send_response(c, r), 0x6985);
    cf_simcard_free(c);
}

static void test_external_auth_second_answer_after_wrong_one_refused(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    uint8_t ch[8], r[8], bad[8] = {0};
    get_challenge(c, ch);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    assert_int_equal(send_response(c, bad), 0x63c4);
    assert_int_equal(send_response(c, r), 0x6985); /* the challenge is gone */
    cf_simcard_free(c);
}

static void test_external_auth_reset_between_challenge_and_answer_refused(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    uint8_t ch[8], r[8];
    unsigned left, max;
    get_challenge(c, ch);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    cf_simcard_reset(c);
    mse_admin(c);
    assert_int_equal(send_response(c, r), 0x6985);
    /* Power cycle and re-SELECT drop it too. */
    get_challenge(c, ch);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    cf_simcard_power_off(c);
    cf_simcard_power_on(c);
    mse_admin(c);
    assert_int_equal(send_response(c, r), 0x6985);
    get_challenge(c, ch);
    host_des3("DES-EDE3-ECB", 1, zero_key, ch, 8, r);
    select_gids(c);
    mse_admin(c);
    assert_int_equal(send_response(c, r), 0x6985);
    admin_status(c, &left, &max);
    assert_int_equal(left, 5); /* refusals of a dead challenge cost nothing */
    cf_simcard_free(c);
}

static void test_reset_clears_pin_and_admin_authentication(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    cf_simcard_reset(c);
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x63c5);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982);
    /* GA without MSE after the reset: 6985. */
    assert_int_equal(tx(c, "00870000 04 7C028100 00", NULL, NULL), 0x6985);
    cf_simcard_free(c);
}

static void test_new_witness_request_drops_admin_authentication(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    uint8_t ch[8];
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    get_challenge(c, ch);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982);
    cf_simcard_free(c);
}

static void test_general_authenticate_malformed(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    unsigned left, max;
    mse_admin(c);
    assert_int_equal(tx(c, "00870100 04 7C028100 00", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00870000", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00870000 04 7D028100 00", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00870000 04 7C038100 00", NULL, NULL), 0x6a80);      /* bad length */
    assert_int_equal(tx(c, "00870000 05 7C02810000 00", NULL, NULL), 0x6a80);    /* trailing */
    assert_int_equal(tx(c, "00870000 02 7C00 00", NULL, NULL), 0x6a80);          /* empty */
    assert_int_equal(tx(c, "00870000 06 7C0481008200 00", NULL, NULL), 0x6a80);  /* both */
    assert_int_equal(tx(c, "00870000 07 7C05810301020300", NULL, NULL), 0x6a80); /* 3-byte R1 */
    /* An answer of the wrong size is not a guess: no try, challenge gone. */
    uint8_t ch[8];
    get_challenge(c, ch);
    assert_int_equal(tx(c, "00870000 0B 7C09820701020304050607", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00870000 0C 7C0A82080102030405060708", NULL, NULL), 0x6985);
    admin_status(c, &left, &max);
    assert_int_equal(left, 5);
    cf_simcard_free(c);
}

static void test_mse_refusals(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(tx(c, "0022C1A4", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "0022C1A403830181", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "0022C1A403800102", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "0022C1A40483018000", NULL, NULL), 0x6a80); /* broken TLV */
    /* 41 B6: a container key; there is no key file B081 on this card. */
    assert_int_equal(tx(c, "002241B606800157840181", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "002241A406800157840181", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "0022F3A403830180", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00228 1A4 06 800102 830180", NULL, NULL), SW_OK);
    cf_simcard_free(c);
}

/* ---- the admin-key counter (the admin-counter quirk) ---- */

static void test_admin_counter_last_try_then_blocked(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    unsigned left, max;
    assert_int_equal(external_auth(c, x_key), 0x63c4);
    assert_int_equal(mutual_auth(c, x_key), 0x63c3);
    assert_int_equal(external_auth(c, x_key), 0x63c2);
    assert_int_equal(external_auth(c, x_key), 0x63c1);
    assert_int_equal(mutual_auth(c, x_key), 0x63c0);
    admin_status(c, &left, &max);
    assert_int_equal(left, 0);
    assert_int_equal(max, 5);
    /* Blocked: every authentication attempt answers 6983, right key too. */
    mse_admin(c);
    assert_int_equal(tx(c, "00870000 04 7C028100 00", NULL, NULL), 0x6983);
    assert_int_equal(tx(c, "00870000 14 7C128110 000102030405060708090A0B0C0D0E0F 00", NULL, NULL),
                     0x6983);
    assert_int_equal(tx(c, "00870000 0C 7C0A82080102030405060708", NULL, NULL), 0x6983);
    /* And nothing that needs the admin works. */
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982);
    cf_simcard_free(c);
}

static void test_admin_counter_right_key_on_last_try_restores(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    unsigned left, max;
    for (int i = 0; i < 4; i++)
        assert_int_not_equal(external_auth(c, x_key), SW_OK);
    admin_status(c, &left, &max);
    assert_int_equal(left, 1);
    assert_int_equal(mutual_auth(c, zero_key), SW_OK);
    admin_status(c, &left, &max);
    assert_int_equal(left, 5);
    cf_simcard_free(c);
}

static void test_admin_status_read_spends_nothing(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    unsigned left, max;
    for (int i = 0; i < 20; i++) {
        admin_status(c, &left, &max);
        assert_int_equal(left, 5);
        assert_int_equal(cf_simcard_last_cost(c).nv_writes, 0);
    }
    cf_simcard_free(c);
}

/* ---- writing the admin key ---- */

static void test_put_admin_key_needs_admin_and_replaces_key(void **state)
{
    (void)state;
    cf_simcard_t *c = new_counted_card("gemalto", 1);
    static const char *const put_x_key =
        "00DB3FFF 26 7024 840180 A51F 8718 "
        "010203040506070811121314151617182122232425262728 8803B073DC";
    assert_int_equal(tx(c, put_x_key, NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, put_x_key, NULL, NULL), 0x6982);
    assert_int_equal(mutual_auth(c, zero_key), SW_OK);
    assert_int_equal(tx(c, put_x_key, NULL, NULL), SW_OK); /* gids-tool -C */
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(mutual_auth(c, zero_key), 0x63c4);
    assert_int_equal(mutual_auth(c, x_key), SW_OK);
    /* Tag 88 is ignored whatever it holds, and may be absent. */
    assert_int_equal(tx(c,
                        "00DB3FFF 23 7021 840180 A51C 8718 "
                        "000000000000000000000000000000000000000000000000 8800",
                        NULL, NULL),
                     SW_OK);
    assert_int_equal(tx(c,
                        "00DB3FFF 21 701F 840180 A51A 8718 "
                        "000000000000000000000000000000000000000000000000",
                        NULL, NULL),
                     SW_OK);
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    cf_simcard_free(c);
}

static void test_put_admin_key_malformed(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    /* 16-byte key: only 3-key 3DES. */
    assert_int_equal(tx(c,
                        "00DB3FFF 19 7017 840180 A512 8710 "
                        "00000000000000000000000000000000",
                        NULL, NULL),
                     0x6a80);
    /* Another key reference: no such key. */
    assert_int_equal(tx(c,
                        "00DB3FFF 21 701F 840181 A51A 8718 "
                        "000000000000000000000000000000000000000000000000",
                        NULL, NULL),
                     0x6a88);
    assert_int_equal(tx(c, "00DB3FFF 05 7103840180", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00DB3FFF 05 7003840180", NULL, NULL), 0x6a80); /* no A5 */
    assert_int_equal(tx(c, "00DB3FFF 06 7004840180 00", NULL, NULL), 0x6a80);
    assert_int_equal(external_auth(c, zero_key), SW_OK); /* key unchanged */
    cf_simcard_free(c);
}

/* ---- file system ---- */

static void test_data_objects_and_access_conditions(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    uint8_t out[64];
    size_t olen;
    /* A010: everyone reads, PIN or admin writes. */
    assert_int_equal(tx(c, "00DBA010 05 DF24 02 0102", NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "00DBA010 05 DF24 02 0102", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00CBA010045C02DF2400", out, &olen), SW_OK);
    assert_int_equal(olen, 5);
    assert_memory_equal(out, "\xdf\x24\x02\x01\x02", 5);
    /* A011: never read; A013: PIN to read; A014: admin to read. */
    assert_int_equal(tx(c, "00CBA011045C02DF2400", NULL, NULL), 0x6982);
    assert_int_equal(tx(c, "00CBA013045C02DF2400", NULL, NULL), 0x6982);
    assert_int_equal(tx(c, "00CBA014045C02DF2400", NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "00CBA011045C02DF2400", NULL, NULL), 0x6982);
    assert_int_equal(tx(c, "00CBA013045C02DF2400", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "00CBA014045C02DF2400", NULL, NULL), 0x6982);
    assert_int_equal(tx(c, "00DBA014 05 DF24 02 0102", NULL, NULL), 0x6982);
    assert_int_equal(external_auth(c, zero_key), SW_OK);
    assert_int_equal(tx(c, "00DBA014 05 DF24 02 0102", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00CBA014045C02DF2400", NULL, NULL), SW_OK);
    /* Unknown EF, unknown DO, the key file, special P1P2. */
    assert_int_equal(tx(c, "00CBA020045C02DF2400", NULL, NULL), 0x6a82);
    assert_int_equal(tx(c, "00CBA010045C02DF3000", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "00CBB080045C02DF2400", NULL, NULL), 0x6981);
    assert_int_equal(tx(c, "00DBB080 05 DF24 02 0102", NULL, NULL), 0x6981);
    assert_int_equal(tx(c, "00CB0000045C02DF2400", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00DBFFFF 05 DF24 02 0102", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00CB3FFF0A7008840181A5037F498000", NULL, NULL), 0x6a88);
    cf_simcard_free(c);
}

static void test_zero_length_objects(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    uint8_t out[64];
    size_t olen;
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "00DBA010 03 DF25 00", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00CBA010045C02DF2500", out, &olen), SW_OK);
    assert_int_equal(olen, 3);
    assert_memory_equal(out, "\xdf\x25\x00", 3);
    /* An empty object written over an empty object deletes it. */
    assert_int_equal(tx(c, "00DBA010 03 DF25 00", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00CBA010045C02DF2500", NULL, NULL), 0x6a88);
    /* A filled object made empty stays, empty. */
    assert_int_equal(tx(c, "00DBA010 04 DF25 01 AA", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00DBA010 03 DF25 00", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00CBA010045C02DF2500", out, &olen), SW_OK);
    assert_int_equal(olen, 3);
    cf_simcard_free(c);
}

static void test_put_data_malformed(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "00DBA010", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00DBA010 04 DF24 05 01", NULL, NULL), 0x6a80);   /* short value */
    assert_int_equal(tx(c, "00DBA010 05 DF24 01 0102", NULL, NULL), 0x6a80); /* trailing */
    assert_int_equal(tx(c, "00DBA010 03 00 01 01", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00DBA010 03 FF 01 01", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00CBA010", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00CBA010 02 5C00 00", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00CBA010 04 4F02DF20 00", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00CBA010 05 5C02DF2000 00", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00CB3FFF 04 4F027F71 00", NULL, NULL), 0x6a80);
    cf_simcard_free(c);
}

static void test_large_object_with_chaining_and_get_response(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    enum { V = 599 }; /* DF24 82 0257 <599 bytes>: three chained links */
    uint8_t tlv[5 + V], apdu[5 + 255], got[5 + V];
    size_t off = 0, glen = 0, olen, total = sizeof(tlv);
    tlv[0] = 0xdf;
    tlv[1] = 0x24;
    tlv[2] = 0x82;
    tlv[3] = (uint8_t)(V >> 8);
    tlv[4] = (uint8_t)V;
    for (size_t i = 0; i < V; i++)
        tlv[5 + i] = (uint8_t)(i * 7);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    while (off < total) {
        size_t n = total - off > 255 ? 255 : total - off;
        apdu[0] = off + n < total ? 0x10 : 0x00;
        apdu[1] = 0xdb;
        apdu[2] = 0xa0;
        apdu[3] = 0x10;
        apdu[4] = (uint8_t)n;
        memcpy(apdu + 5, tlv + off, n);
        assert_int_equal(txb(c, apdu, 5 + n, NULL, NULL), SW_OK);
        off += n;
    }
    uint16_t sw = tx(c, "00CBA010045C02DF2400", got, &olen);
    glen = olen;
    while ((sw >> 8) == 0x61) {
        sw = tx(c, "00C0000000", got + glen, &olen);
        glen += olen;
    }
    assert_int_equal(sw, SW_OK);
    assert_int_equal(glen, total);
    assert_memory_equal(got, tlv, total);
    cf_simcard_free(c);
}

static void test_create_file_rules(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    uint8_t out[64];
    size_t olen;
    /* Operational: creating needs PIN or admin. */
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0208C03033000", NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0208C03033000", NULL, NULL), SW_OK);
    /* A new EF refuses data until it is activated. */
    assert_int_equal(tx(c, "00DBA020 05 DF24 02 0102", NULL, NULL), 0x6985);
    assert_int_equal(tx(c, "00CBA020045C02DF2400", NULL, NULL), 0x6985);
    assert_int_equal(tx(c, "00A4000C02A020", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00A4000402A020", out, &olen), SW_OK);
    assert_int_equal(olen, 14);
    assert_int_equal(tx(c, "00A4000002A020", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00440000", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00DBA020 05 DF24 02 0102", NULL, NULL), SW_OK);
    /* Duplicates, bad FCPs, unsupported key files, parameters. */
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0208C03033000", NULL, NULL), 0x6a89);
    assert_int_equal(tx(c, "00E00000 0E 630C8201398302A0218C03033000", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00E00000 0E 620D8201398302A0218C03033000", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0218C03033030", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00E00000 0D 620B8201398302A0228C020330", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00E00000 08 62068201398301A0", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00E00000 09 6207820101 8302A023", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00E00000 09 6207820139 83023FFF", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c,
                        "00E00000 1C 621A 820118 8302B081 8C04870020FF "
                        "A50BA409800102830181950 1C0",
                        NULL, NULL),
                     0x6a81);
    assert_int_equal(tx(c, "00E00000 0B 6209 820118 8302B081 A500", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00E00100 0E 620C8201398302A0238C03033000", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00E00000", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00440100", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00440000 01 00", NULL, NULL), 0x6700);
    cf_simcard_free(c);
}

static void test_storage_limits_answer_6a84(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    uint8_t apdu[5 + 255];
    int full = 0;
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    /* 248-byte objects with distinct three-byte tags 5F 8x xx until the
     * card is full (object count or bytes). */
    for (unsigned i = 0; i < 400 && !full; i++) {
        apdu[0] = 0x00;
        apdu[1] = 0xdb;
        apdu[2] = 0xa0;
        apdu[3] = 0x13;
        apdu[4] = 3 + 2 + 248;
        apdu[5] = 0x5f;
        apdu[6] = (uint8_t)(0x80 | (i >> 7));
        apdu[7] = (uint8_t)(i & 0x7f);
        apdu[8] = 0x81;
        apdu[9] = 248;
        memset(apdu + 10, (int)i, 248);
        uint16_t sw = txb(c, apdu, 5 + 3 + 2 + 248, NULL, NULL);
        if (sw == 0x6a84)
            full = 1;
        else
            assert_int_equal(sw, SW_OK);
    }
    assert_true(full);
    cf_simcard_free(c);
}

/* ---- persistence ---- */

static void test_pin_counter_persisted_before_the_result(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = new_card("gemalto", 9);
    unsigned left, max;
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    assert_int_equal(verify_pin(c, "1111"), 0x63c4);
    cf_simcard_free(c); /* "pulled" without any other save */
    c = reload(t.path);
    pin_status(c, &left, &max);
    assert_int_equal(left, 4);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(cf_simcard_last_cost(c).nv_writes, 2);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

static void test_admin_counter_persisted_before_the_result(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = new_counted_card("gemalto", 9);
    unsigned left, max;
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    assert_int_equal(external_auth(c, x_key), 0x63c4);
    assert_int_equal(mutual_auth(c, x_key), 0x63c3);
    cf_simcard_free(c);
    c = reload(t.path);
    admin_status(c, &left, &max);
    assert_int_equal(left, 3);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

static void test_unwritable_state_refuses_correct_pin_6581(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = new_card("gemalto", 9);
    unsigned left, max;
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    tmpstate_break(&t);
    assert_int_equal(verify_pin(c, "0000"), 0x6581);
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x63c4); /* not verified */
    pin_status(c, &left, &max);
    assert_int_equal(left, 4); /* and no free guess */
    assert_int_equal(tx(c, "00240080 08 3030303031313131", NULL, NULL), 0x6581);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

static void test_unwritable_state_refuses_correct_cryptogram_6581(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = new_card("gemalto", 9);
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    tmpstate_break(&t);
    assert_int_equal(external_auth(c, zero_key), 0x6581);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982);
    assert_int_equal(mutual_auth(c, zero_key), 0x6581);
    assert_int_equal(tx(c, "002C0280 04 31323334", NULL, NULL), 0x6982);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

static void test_unwritable_state_undoes_writes(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = new_card("blank", 9);
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    assert_int_equal(tx(c, "00240180 04 31323334", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0008C03033000", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00440000", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00DBA000 05 DF1F 02 0102", NULL, NULL), SW_OK);
    tmpstate_break(&t);
    assert_int_equal(tx(c, "00DBA000 05 DF1F 02 0304", NULL, NULL), 0x6581);
    assert_int_equal(tx(c, "00DBA000 05 DF20 02 0304", NULL, NULL), 0x6581);
    assert_int_equal(tx(c, "00E00000 0E 620C8201398302A0108C03033000", NULL, NULL), 0x6581);
    assert_int_equal(tx(c, "00240180 04 35353535", NULL, NULL), 0x6581);
    assert_int_equal(tx(c, "00A4000C023FFF", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00440000", NULL, NULL), 0x6581);
    uint8_t out[16];
    size_t olen;
    assert_int_equal(tx(c, "00CBA000045C02DF1F00", out, &olen), SW_OK);
    assert_memory_equal(out, "\xdf\x1f\x02\x01\x02", 5);
    assert_int_equal(tx(c, "00CBA000045C02DF2000", NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "00CBA010045C02DF2000", NULL, NULL), 0x6a82);
    assert_int_equal(verify_pin(c, "1234"), 0x6581); /* still the old PIN, save fails */
    cf_simcard_free(c);
    tmpstate_done(&t);
}

static void test_state_file_round_trip(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = new_counted_card(NULL, 77);
    unsigned left, max;
    uint8_t out[256];
    size_t olen;
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    run_gids_tool_x(c);
    assert_int_equal(verify_pin(c, "999999"), 0x63c4);
    assert_int_equal(external_auth(c, zero_key), 0x63c4);
    assert_int_equal(verify_pin(c, "123456"), SW_OK);
    assert_int_equal(tx(c, "00DBA010 03 DF24 00", NULL, NULL), SW_OK);
    cf_simcard_free(c);

    c = reload(t.path);
    assert_string_equal(cf_simcard_type(c), "gids+admin-counter");
    assert_int_equal(cf_simcard_serial(c), 77);
    pin_status(c, &left, &max);
    assert_int_equal(left, 5);
    admin_status(c, &left, &max);
    assert_int_equal(left, 4);
    assert_int_equal(tx(c, "00200080", NULL, NULL), 0x63c5); /* volatile state not saved */
    assert_int_equal(tx(c, "00CBA010045C02DF2400", out, &olen), SW_OK);
    assert_int_equal(olen, 3);
    assert_int_equal(tx(c, "00CBA012045C02DF2000", out, &olen), SW_OK);
    assert_int_equal(out[3], 0x00);
    assert_int_equal(out[18], 0xff);
    /* Saving the reloaded card gives the same file. */
    char p2[128];
    snprintf(p2, sizeof(p2), "%s/again.state", t.dir);
    assert_int_equal(cf_simcard_save(c, p2), CF_OK);
    FILE *a = fopen(t.path, "r"), *b = fopen(p2, "r");
    assert_non_null(a);
    assert_non_null(b);
    static char fa[20000], fb[20000];
    size_t na = fread(fa, 1, sizeof(fa), a), nb = fread(fb, 1, sizeof(fb), b);
    fclose(a);
    fclose(b);
    assert_true(na < sizeof(fa));
    fa[na] = 0;
    assert_int_equal(na, nb);
    assert_memory_equal(fa, fb, na);
    assert_non_null(strstr(fa, "initialized=1\n"));
    assert_non_null(strstr(fa, "pin=313233343536\n"));
    assert_non_null(strstr(fa, "admin_tries=4\n"));
    assert_non_null(strstr(fa, "admin_key=010203040506070811121314151617182122232425262728\n"));
    assert_non_null(strstr(fa, "ef=B080:1:621A820118"));
    assert_non_null(strstr(fa, "do=A010:DF23:\n"));
    unlink(p2);
    assert_int_equal(verify_pin(c, "123456"), SW_OK);
    assert_int_equal(mutual_auth(c, x_key), SW_OK);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

static void test_default_factory_state_reloads(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = new_card(NULL, 5);
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    cf_simcard_free(c);
    c = reload(t.path);
    assert_int_equal(tx(c, "00CBA000045C02DF1F00", NULL, NULL), 0x6a82); /* still blank */
    cf_simcard_free(c);
    tmpstate_done(&t);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_state_file_bad_values_are_rejected(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    static const struct {
        const char *body;
        const char *msg; /* part of the expected message */
    } bad[] = {
        {"pin_tries=6\n", "pin_tries"},
        {"pin_max=0\n", "pin_max"},
        {"pin_max=16\n", "pin_max"},
        {"admin_tries=x\n", "admin_tries"},
        {"pin=313233\n", "pin"},
        {"pin=31323Z34\n", "pin"},
        {"admin_key=0011\n", "admin_key"},
        {"initialized=2\n", "initialized"},
        {"ef=A000:1:620C8201398302A0018C03033000\n", "ef"}, /* FID mismatch */
        {"ef=A000:2:620C8201398302A0008C03033000\n", "ef"},
        {"ef=A0:1:620C8201398302A0008C03033000\n", "ef"},
        {"ef=A000:1:620C8201398302A0008C030330\n", "ef"},
        {"ef=A000:1:620C8201398302A0008C03033000\nef=A000:1:620C8201398302A0008C03033000\n",
         "duplicate"},
        {"do=A000:DF1F:01\n", "do"}, /* before any ef line */
        {"ef=A000:1:620C8201398302A0008C03033000\ndo=A001:DF1F:01\n", "do"},
        {"ef=A000:1:620C8201398302A0008C03033000\ndo=A000:DF:01\n", "do"},
        {"ef=A000:1:620C8201398302A0008C03033000\ndo=A000:DF1F:0\n", "do"},
        {"ef=A000:1:620C8201398302A0008C03033000\ndo=A000:DF1F:01\ndo=A000:DF1F:01\n", "duplicate"},
        {"colour=blue\n", "unknown key"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512], err[256] = "";
        cf_simcard_t *c = (cf_simcard_t *)1;
        snprintf(text, sizeof(text), "type=gids\nfactory=gemalto\nserial=1\n%s", bad[i].body);
        write_file(t.path, text);
        assert_int_equal(cf_simcard_load(t.path, err, sizeof(err), &c), CF_ERR_PARSE);
        assert_null(c);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s'", i, err, bad[i].msg);
        assert_null(strstr(err, "31323")); /* secrets never in messages */
    }
    write_file(t.path, "type=gids\nfactory=nosuch\nserial=1\n");
    cf_simcard_t *c = NULL;
    assert_int_equal(cf_simcard_load(t.path, NULL, 0, &c), CF_ERR_PARSE);
    /* A hand-written minimal file works. */
    write_file(t.path, "type=gids\nfactory=blank\nserial=3\ninitialized=1\npin=31323334\n"
                       "pin_max=3\npin_tries=2\n");
    c = reload(t.path);
    unsigned left, max;
    pin_status(c, &left, &max);
    assert_int_equal(left, 2);
    assert_int_equal(max, 3);
    assert_int_equal(verify_pin(c, "1234"), SW_OK);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

/* ---- robustness ---- */

static void test_malformed_apdus_answer_6700(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(tx(c, "00A404", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00A4040009A00000", NULL, NULL), 0x6700);          /* Lc > data */
    assert_int_equal(tx(c, "00200080 04 3030303030 30", NULL, NULL), 0x6700); /* Lc < data */
    assert_int_equal(tx(c, "00A40400", NULL, NULL), 0x6700);                  /* no AID */
    assert_int_equal(tx(c, "00A40000 01 3F", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00DB3FFF", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00E0000000", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "0022C1A400", NULL, NULL), 0x6700);
    cf_simcard_free(c);
}

static void test_random_apdus_never_crash(void **state)
{
    (void)state;
    static const uint8_t ins[] = {0xa4, 0xcb, 0xdb, 0xe0, 0x44, 0x20, 0x24,
                                  0x2c, 0x22, 0x87, 0xc0, 0x84, 0xb0};
    const char *factories[] = {"blank", "gemalto"};
    uint32_t x = 0x12345678;
    for (int f = 0; f < 2; f++) {
        cf_simcard_t *c = new_card(factories[f], 1);
        for (int i = 0; i < 20000; i++) {
            uint8_t apdu[300];
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            size_t len = 4 + x % 40;
            for (size_t k = 0; k < len; k++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                apdu[k] = (uint8_t)x;
            }
            apdu[0] &= 0x1f;
            apdu[1] = ins[x % sizeof(ins)];
            if (x % 3 == 0 && len > 5) /* a consistent Lc half of the time */
                apdu[4] = (uint8_t)(len - 5);
            (void)txb(c, apdu, len, NULL, NULL);
            if (i % 1000 == 0)
                cf_simcard_reset(c);
        }
        cf_simcard_free(c);
    }
}

/* ---- container keys (OpenSC's key files, generation, import, signing) ---- */

/* OpenSC 0.23's key file FCPs (card-gids.c gids_perform_create_keyfile):
 * key exchange (decipher with alg, 80+alg, 40+alg; sign with 10+alg,
 * 50+alg) or signature only (10+alg, 50+alg, with OpenSC's key id 83 in
 * the CRTs); ACL 8C 05 8F 10 10 10 00. */
static size_t keyfile_fcp(uint8_t kid, uint8_t alg, int sign_only, uint8_t *out)
{
    static const uint8_t dec_pad[3] = {0x00, 0x80, 0x40}, sig_pad[2] = {0x10, 0x50};
    uint8_t crts[80];
    size_t n = 0;
    for (size_t i = 0; !sign_only && i < 3; i++) {
        const uint8_t crt[11] = {0xb8, 0x09, 0x80, 0x01, (uint8_t)(dec_pad[i] + alg), 0x83, 0x01,
                                 kid,  0x95, 0x01, 0x40};
        memcpy(crts + n, crt, sizeof(crt));
        n += sizeof(crt);
    }
    for (size_t i = 0; i < 2; i++) {
        const uint8_t crt[11] = {
            0xb6, 0x09, 0x80, 0x01, (uint8_t)(sig_pad[i] + alg), 0x83, 0x01, sign_only ? 0x83 : kid,
            0x95, 0x01, 0x40};
        memcpy(crts + n, crt, sizeof(crt));
        n += sizeof(crt);
    }
    const uint8_t head[16] = {0x62, (uint8_t)(14 + 2 + n),
                              0x82, 0x01,
                              0x18, 0x83,
                              0x02, 0xb0,
                              kid,  0x8c,
                              0x05, 0x8f,
                              0x10, 0x10,
                              0x10, 0x00};
    memcpy(out, head, sizeof(head));
    out[16] = 0xa5;
    out[17] = (uint8_t)n;
    memcpy(out + 18, crts, n);
    return 18 + n;
}

static void create_key_file(cf_simcard_t *c, uint8_t kid, uint8_t alg, int sign_only)
{
    uint8_t fcp[128];
    size_t n = keyfile_fcp(kid, alg, sign_only, fcp);
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00440000", NULL, NULL), SW_OK);
}

/* Any command: chained in 255-byte links as OpenSC sends them, the answer
 * collected through 61xx / GET RESPONSE. */
static uint16_t tx_long(cf_simcard_t *c, const char *hdr4hex, const uint8_t *data, size_t len,
                        int le, uint8_t *out, size_t *outlen)
{
    uint8_t apdu[5 + 255 + 1];
    size_t off = 0, got = 0, olen = 0;
    uint16_t sw;
    assert_int_equal(cf_hex_decode(hdr4hex, 8, apdu, 4), CF_OK);
    for (;;) {
        size_t n = len - off > 255 ? 255 : len - off;
        int last = off + n == len;
        apdu[0] = last ? 0x00 : 0x10;
        apdu[4] = (uint8_t)n;
        memcpy(apdu + 5, data + off, n);
        size_t alen = 5 + n;
        if (last && le)
            apdu[alen++] = 0x00;
        sw = txb(c, apdu, alen, out, &olen);
        off += n;
        if (last)
            break;
        assert_int_equal(sw, SW_OK);
    }
    got = olen;
    while ((sw >> 8) == 0x61) {
        sw = tx(c, "00C0000000", out + got, &olen);
        got += olen;
    }
    if (outlen != NULL)
        *outlen = got;
    return sw;
}

/* GET DATA 3FFF 70 {84 01 kid, A5 {7F 49 80}}, byte for byte as OpenSC. */
static uint16_t get_public(cf_simcard_t *c, uint8_t kid, uint8_t *out, size_t *outlen)
{
    const uint8_t data[10] = {0x70, 0x08, 0x84, 0x01, kid, 0xa5, 0x03, 0x7f, 0x49, 0x80};
    return tx_long(c, "00CB3FFF", data, sizeof(data), 1, out, outlen);
}

/* The host's view of a 7F49 {81 n, 82 e} answer: an OpenSSL public key. */
static EVP_PKEY *pubkey_from_7f49(const uint8_t *p, size_t len)
{
    assert_true(len > 10);
    assert_int_equal(p[0], 0x7f);
    assert_int_equal(p[1], 0x49);
    size_t off = 2, inner;
    if (p[off] == 0x82) {
        inner = (size_t)(p[off + 1] << 8 | p[off + 2]);
        off += 3;
    } else if (p[off] == 0x81) {
        inner = p[off + 1];
        off += 2;
    } else {
        inner = p[off++];
    }
    assert_int_equal(off + inner, len);
    BIGNUM *bn[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(p[off], 0x81 + i);
        size_t l = p[off + 1];
        off += 2;
        if (l == 0x82) {
            l = (size_t)(p[off] << 8 | p[off + 1]);
            off += 2;
        } else if (l == 0x81) {
            l = p[off++];
        }
        bn[i] = BN_bin2bn(p + off, (int)l, NULL);
        off += l;
    }
    assert_int_equal(off, len);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn[0]), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[1]), 1);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn[0]);
    BN_free(bn[1]);
    return pk;
}

static EVP_PKEY *card_public(cf_simcard_t *c, uint8_t kid)
{
    static uint8_t out[1100];
    size_t olen;
    assert_int_equal(get_public(c, kid, out, &olen), SW_OK);
    return pubkey_from_7f49(out, olen);
}

/* SHA-256 DigestInfo of msg, what OpenSC hands a card that pads itself. */
static size_t digest_info(const char *msg, uint8_t out[51])
{
    static const uint8_t prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                       0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    unsigned int n = 0;
    memcpy(out, prefix, sizeof(prefix));
    assert_int_equal(EVP_Digest(msg, strlen(msg), out + 19, &n, EVP_sha256(), NULL), 1);
    return 19 + n;
}

/* The host verifies a SHA256-RSA-PKCS signature as openssl dgst -verify. */
static int host_verify(EVP_PKEY *pk, const char *msg, const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerify(md, sig, siglen, (const uint8_t *)msg, strlen(msg)) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

static size_t host_encrypt(EVP_PKEY *pk, int padding, const char *msg, uint8_t *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    size_t olen = 512;
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, padding) > 0);
    assert_int_equal(EVP_PKEY_encrypt(ctx, out, &olen, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_PKEY_CTX_free(ctx);
    return olen;
}

static uint16_t mse_key(cf_simcard_t *c, uint8_t op, uint8_t alg, uint8_t kid)
{
    const uint8_t data[6] = {0x80, 0x01, alg, 0x84, 0x01, kid};
    char hdr[9];
    snprintf(hdr, sizeof(hdr), "002241%02X", op);
    return tx_data(c, hdr, data, sizeof(data), 0, NULL, NULL);
}

static uint16_t generate(cf_simcard_t *c, uint8_t alg, uint8_t kid, int le, uint8_t *out,
                         size_t *outlen)
{
    const uint8_t data[8] = {0xac, 0x06, 0x80, 0x01, alg, 0x83, 0x01, kid};
    return tx_long(c, "00470000", data, sizeof(data), le, out, outlen);
}

/* A gemalto card with the PIN verified and one key file 81 of alg. */
static cf_simcard_t *card_with_key_file(uint8_t alg)
{
    cf_simcard_t *c = new_card("gemalto", 1);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    create_key_file(c, 0x81, alg, 0);
    return c;
}

static void test_key_files_accept_opensc_fcps_and_refuse_others(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    uint8_t fcp[128], out[128];
    size_t n, olen;
    /* Creating a key file needs the PIN (or admin): the application's 8C. */
    n = keyfile_fcp(0x81, 0x07, 0, fcp);
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    create_key_file(c, 0x81, 0x07, 0);
    create_key_file(c, 0x82, 0x06, 1);
    assert_int_equal(tx(c, "00A4000402B081", out, &olen), SW_OK);
    assert_int_equal(olen, 73);
    assert_memory_equal(out, "\x62\x47\x82\x01\x18\x83\x02\xb0\x81", 9);
    /* ECC (P-256 = 0C): OpenSC 0.23 has no ECC for GIDS, neither has the card. */
    n = keyfile_fcp(0x83, 0x0c, 1, fcp);
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), 0x6a81);
    /* CRTs of two sizes, an unknown size, no algorithm, a foreign CRT. */
    n = keyfile_fcp(0x83, 0x07, 0, fcp);
    fcp[22] = 0x06; /* the first B8's algorithm: 1024, the others 2048 */
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), 0x6a80);
    fcp[22] = 0x05;
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), 0x6a80);
    fcp[20] = 0x81; /* 80 01 -> 81 01: no algorithm in the first CRT */
    fcp[22] = 0x07;
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), 0x6a80);
    fcp[20] = 0x80;
    fcp[18] = 0xb4; /* a CRT kind GIDS key files do not have */
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), 0x6a80);
    /* The same file twice. */
    n = keyfile_fcp(0x81, 0x07, 0, fcp);
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), 0x6a89);
    cf_simcard_free(c);
}

static void test_generate_then_read_public_key_like_opensc(void **state)
{
    (void)state;
    cf_simcard_t *c = card_with_key_file(0x07);
    static uint8_t out[1100], out2[1100];
    size_t olen, olen2;
    /* No key yet: the public key is not there. */
    assert_int_equal(get_public(c, 0x81, out, &olen), 0x6a88);
    /* OpenSC sends GENERATE as case 3: 9000 and no data. */
    assert_int_equal(generate(c, 0x07, 0x81, 0, out, &olen), SW_OK);
    assert_int_equal(olen, 0);
    /* 7F49 82 0109 {81 82 0100 <n>, 82 03 010001} at the top level. */
    assert_int_equal(get_public(c, 0x81, out, &olen), SW_OK);
    assert_int_equal(olen, 5 + 4 + 256 + 5);
    assert_memory_equal(out, "\x7f\x49\x82\x01\x09\x81\x82\x01\x00", 9);
    assert_memory_equal(out + 9 + 256, "\x82\x03\x01\x00\x01", 5);
    EVP_PKEY *pk = pubkey_from_7f49(out, olen);
    assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
    EVP_PKEY_free(pk);
    /* The public key is free to read (8C: 00 for b1), without the PIN. */
    cf_simcard_reset(c);
    assert_int_equal(get_public(c, 0x81, out2, &olen2), SW_OK);
    assert_int_equal(olen2, olen);
    assert_memory_equal(out2, out, olen);
    /* A host that asks with Le gets the new public key with GENERATE. */
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(generate(c, 0x07, 0x81, 1, out, &olen), SW_OK);
    assert_int_equal(get_public(c, 0x81, out2, &olen2), SW_OK);
    assert_int_equal(olen2, olen);
    assert_memory_equal(out2, out, olen);
    cf_simcard_free(c);
}

static void test_generate_refusals(void **state)
{
    (void)state;
    cf_simcard_t *c = card_with_key_file(0x06);
    uint8_t fcp[128];
    size_t n;
    /* wrong key references: no file 82, the admin key 80 */
    assert_int_equal(generate(c, 0x06, 0x82, 0, NULL, NULL), 0x6a88);
    assert_int_equal(generate(c, 0x02, 0x80, 0, NULL, NULL), 0x6a88);
    /* wrong algorithms: another RSA size, ECC, a padding nibble, unknown */
    assert_int_equal(generate(c, 0x07, 0x81, 0, NULL, NULL), 0x6a80);
    assert_int_equal(generate(c, 0x0c, 0x81, 0, NULL, NULL), 0x6a81);
    assert_int_equal(generate(c, 0x56, 0x81, 0, NULL, NULL), 0x6a81);
    assert_int_equal(generate(c, 0x01, 0x81, 0, NULL, NULL), 0x6a81);
    /* malformed: P1P2, no data, not AC, no 83, no 80, a two-byte reference */
    assert_int_equal(tx(c, "00470100 08 AC06800106830181", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00470000", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "00470000 08 A406800106830181", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00470000 05 AC03800106", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00470000 05 AC03830181", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00470000 09 AC0780010683028100", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00470000 07 AC068001068301", NULL, NULL), 0x6a80);
    /* a key file still in creation state accepts only ACTIVATE */
    n = keyfile_fcp(0x82, 0x06, 0, fcp);
    assert_int_equal(tx_data(c, "00E00000", fcp, n, 0, NULL, NULL), SW_OK);
    assert_int_equal(generate(c, 0x06, 0x82, 0, NULL, NULL), 0x6985);
    /* no PIN: 6982, and no key appears */
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(generate(c, 0x06, 0x81, 0, NULL, NULL), 0x6982);
    assert_int_equal(get_public(c, 0x81, NULL, NULL), 0x6a88);
    cf_simcard_free(c);
}

static void test_public_key_read_refusals(void **state)
{
    (void)state;
    cf_simcard_t *c = card_with_key_file(0x06);
    assert_int_equal(get_public(c, 0x82, NULL, NULL), 0x6a88);                /* no such key file */
    assert_int_equal(get_public(c, 0x80, NULL, NULL), 0x6a88);                /* the admin key */
    assert_int_equal(get_public(c, 0x81, NULL, NULL), 0x6a88);                /* key absent */
    assert_int_equal(tx(c, "00CB3FFF 05 7003A50100 00", NULL, NULL), 0x6a80); /* no 84 */
    assert_int_equal(tx(c, "00CB3FFF 06 70048402818100", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "00CB3FFF 05 7004840181 00", NULL, NULL), 0x6a80); /* broken */
    cf_simcard_free(c);
}

static void test_sign_pkcs1_and_raw_verify_with_openssl(void **state)
{
    (void)state;
    cf_simcard_t *c = card_with_key_file(0x07);
    static uint8_t sig[600], sig2[600], block[256];
    uint8_t di[51];
    size_t slen, slen2, dlen = digest_info("signed by the gids card", di);
    assert_int_equal(generate(c, 0x07, 0x81, 0, NULL, NULL), SW_OK);
    EVP_PKEY *pk = card_public(c, 0x81);
    /* OpenSC: MSE 41 B6 {80 01 57, 84 01 81}, then 2A 9E 9A DigestInfo. */
    assert_int_equal(mse_key(c, 0xb6, 0x57, 0x81), SW_OK);
    assert_int_equal(tx_long(c, "002A9E9A", di, dlen, 1, sig, &slen), SW_OK);
    assert_int_equal(slen, 256);
    assert_true(host_verify(pk, "signed by the gids card", sig, slen));
    assert_false(host_verify(pk, "something else", sig, slen));
    /* The same block padded by the host, signed raw (17): same signature. */
    block[0] = 0x00;
    block[1] = 0x01;
    memset(block + 2, 0xff, 256 - 3 - dlen);
    block[256 - dlen - 1] = 0x00;
    memcpy(block + 256 - dlen, di, dlen);
    assert_int_equal(mse_key(c, 0xb6, 0x17, 0x81), SW_OK);
    assert_int_equal(tx_long(c, "002A9E9A", block, 256, 1, sig2, &slen2), SW_OK);
    assert_int_equal(slen2, 256);
    assert_memory_equal(sig2, sig, 256);
    EVP_PKEY_free(pk);
    cf_simcard_free(c);
}

static void test_sign_refusals(void **state)
{
    (void)state;
    cf_simcard_t *c = card_with_key_file(0x06);
    static uint8_t data[300];
    memset(data, 0x11, sizeof(data));
    /* key absent, then generated */
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), 0x6a88);
    assert_int_equal(generate(c, 0x06, 0x81, 0, NULL, NULL), SW_OK);
    /* no MSE yet */
    assert_int_equal(tx_long(c, "002A9E9A", data, 20, 1, NULL, NULL), 0x6985);
    /* wrong key reference; an algorithm the file's B6 CRTs do not name; B8's */
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x82), 0x6a88);
    assert_int_equal(mse_key(c, 0xb6, 0x57, 0x81), 0x6a80);
    assert_int_equal(mse_key(c, 0xb6, 0x46, 0x81), 0x6a80);
    /* MSE malformed: P2, no data, no key, no algorithm, unknown tag */
    assert_int_equal(tx(c, "002241A4 06 800156840181", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "002241B6", NULL, NULL), 0x6700);
    assert_int_equal(tx(c, "002241B6 03 800156", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "002241B6 03 840181", NULL, NULL), 0x6a80);
    assert_int_equal(tx(c, "002241B6 09 800156840181830101", NULL, NULL), 0x6a80);
    /* a failed MSE leaves no environment behind */
    assert_int_equal(tx_long(c, "002A9E9A", data, 20, 1, NULL, NULL), 0x6985);
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), SW_OK);
    /* data too long for PKCS#1 (k - 11 = 117), empty; raw of the wrong length */
    assert_int_equal(tx_long(c, "002A9E9A", data, 118, 1, NULL, NULL), 0x6700);
    assert_int_equal(tx_long(c, "002A9E9A", data, 117, 1, NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "002A9E9A00", NULL, NULL), 0x6700);
    /* a decipher with a signing environment; unknown P1P2 */
    assert_int_equal(tx_long(c, "002A8086", data, 128, 1, NULL, NULL), 0x6985);
    assert_int_equal(tx_long(c, "002A9E9B", data, 20, 1, NULL, NULL), 0x6a86);
    assert_int_equal(mse_key(c, 0xb6, 0x16, 0x81), SW_OK);
    assert_int_equal(tx_long(c, "002A9E9A", data, 127, 1, NULL, NULL), 0x6700);
    memset(data, 0xff, 128); /* raw input above the modulus */
    assert_int_equal(tx_long(c, "002A9E9A", data, 128, 1, NULL, NULL), 0x6a80);
    /* no PIN any more: MSE and the operation are refused */
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), 0x6982);
    /* PIN lost after the MSE: a failed VERIFY ends it, the key is not used */
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), SW_OK);
    assert_int_equal(verify_pin(c, "1111"), 0x63c4);
    assert_int_equal(tx_long(c, "002A9E9A", data, 20, 1, NULL, NULL), 0x6982);
    /* reset drops the environment */
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), SW_OK);
    cf_simcard_reset(c);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx_long(c, "002A9E9A", data, 20, 1, NULL, NULL), 0x6985);
    /* an admin MSE replaces it too */
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), SW_OK);
    mse_admin(c);
    assert_int_equal(tx_long(c, "002A9E9A", data, 20, 1, NULL, NULL), 0x6985);
    cf_simcard_free(c);
}

static void test_decipher_pkcs1_oaep_and_refusals(void **state)
{
    (void)state;
    cf_simcard_t *c = card_with_key_file(0x07);
    static uint8_t ct[257], out[600];
    size_t olen;
    const char *msg = "a session key";
    assert_int_equal(generate(c, 0x07, 0x81, 0, NULL, NULL), SW_OK);
    EVP_PKEY *pk = card_public(c, 0x81);
    /* OpenSC: MSE 41 B8 {80 01 47}, then the bare 256-byte cryptogram, chained. */
    size_t n = host_encrypt(pk, RSA_PKCS1_PADDING, msg, ct);
    assert_int_equal(n, 256);
    assert_int_equal(mse_key(c, 0xb8, 0x47, 0x81), SW_OK);
    assert_int_equal(tx_long(c, "002A8086", ct, n, 1, out, &olen), SW_OK);
    assert_int_equal(olen, strlen(msg));
    assert_memory_equal(out, msg, olen);
    /* ISO form: padding indicator 00 first. */
    memmove(ct + 1, ct, 256);
    ct[0] = 0x00;
    assert_int_equal(tx_long(c, "002A8086", ct, 257, 1, out, &olen), SW_OK);
    assert_memory_equal(out, msg, strlen(msg));
    ct[0] = 0x01;
    assert_int_equal(tx_long(c, "002A8086", ct, 257, 1, NULL, NULL), 0x6a80);
    assert_int_equal(tx_long(c, "002A8086", ct + 1, 255, 1, NULL, NULL), 0x6700);
    memset(ct + 1, 0xff, 256); /* a cryptogram above the modulus */
    assert_int_equal(tx_long(c, "002A8086", ct + 1, 256, 1, NULL, NULL), 0x6a80);
    /* OAEP (87) */
    n = host_encrypt(pk, RSA_PKCS1_OAEP_PADDING, msg, ct);
    assert_int_equal(mse_key(c, 0xb8, 0x87, 0x81), SW_OK);
    assert_int_equal(tx_long(c, "002A8086", ct, n, 1, out, &olen), SW_OK);
    assert_int_equal(olen, strlen(msg));
    assert_memory_equal(out, msg, olen);
    /* a signature with the decipher environment; B8 of a signature-only key */
    assert_int_equal(tx_long(c, "002A9E9A", ct, 20, 1, NULL, NULL), 0x6985);
    create_key_file(c, 0x82, 0x07, 1);
    assert_int_equal(generate(c, 0x07, 0x82, 0, NULL, NULL), SW_OK);
    assert_int_equal(mse_key(c, 0xb8, 0x47, 0x82), 0x6a80);
    assert_int_equal(mse_key(c, 0xb6, 0x57, 0x82), SW_OK);
    EVP_PKEY_free(pk);
    cf_simcard_free(c);
}

/* OpenSC's import blob (card-gids.c gids_import_key): 70 {84 01 kid, A5
 * {83 01 02, 84 01 00, 87 {30 {02 01 00, n, e, d, p, q, dp, dq, qinv}}}},
 * the integers written unsigned (no 00 before a high bit). */
static size_t import_blob(EVP_PKEY *key, uint8_t kid, uint8_t *out, size_t cap)
{
    static const char *const names[8] = {"n",
                                         "e",
                                         "d",
                                         "rsa-factor1",
                                         "rsa-factor2",
                                         "rsa-exponent1",
                                         "rsa-exponent2",
                                         "rsa-coefficient1"};
    static uint8_t seq[2400], tmp[600];
    size_t s = 0;
    seq[s++] = 0x02;
    seq[s++] = 0x01;
    seq[s++] = 0x00;
    for (int i = 0; i < 8; i++) {
        BIGNUM *bn = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(key, names[i], &bn), 1);
        int l = BN_bn2bin(bn, tmp);
        BN_clear_free(bn);
        seq[s++] = 0x02;
        if (l > 255) {
            seq[s++] = 0x82;
            seq[s++] = (uint8_t)(l >> 8);
        } else if (l > 127) {
            seq[s++] = 0x81;
        }
        seq[s++] = (uint8_t)l;
        memcpy(seq + s, tmp, (size_t)l);
        s += (size_t)l;
    }
    /* 70 82 LL {84 01 kid, A5 82 LL {83 01 02, 84 01 00, 87 82 LL {30 82 LL seq}}} */
    size_t in87 = 4 + s, ina5 = 6 + 4 + in87, in70 = 3 + 4 + ina5;
    assert_true(4 + in70 <= cap);
    uint8_t *p = out;
    *p++ = 0x70, *p++ = 0x82, *p++ = (uint8_t)(in70 >> 8), *p++ = (uint8_t)in70;
    *p++ = 0x84, *p++ = 0x01, *p++ = kid;
    *p++ = 0xa5, *p++ = 0x82, *p++ = (uint8_t)(ina5 >> 8), *p++ = (uint8_t)ina5;
    *p++ = 0x83, *p++ = 0x01, *p++ = 0x02, *p++ = 0x84, *p++ = 0x01, *p++ = 0x00;
    *p++ = 0x87, *p++ = 0x82, *p++ = (uint8_t)(in87 >> 8), *p++ = (uint8_t)in87;
    *p++ = 0x30, *p++ = 0x82, *p++ = (uint8_t)(s >> 8), *p++ = (uint8_t)s;
    memcpy(p, seq, s);
    return (size_t)(p - out) + s;
}

static void test_import_key_like_opensc(void **state)
{
    (void)state;
    cf_simcard_t *c = new_card("gemalto", 1);
    static uint8_t blob[2600], sig[600], out[1100];
    uint8_t di[51];
    size_t n, slen, olen, dlen = digest_info("imported", di);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(key);
    assert_non_null(small);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    create_key_file(c, 0x81, 0x07, 1); /* OpenSC makes signature-only files for imports */
    n = import_blob(key, 0x81, blob, sizeof(blob));
    /* no PIN: refused */
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), 0x6982);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), SW_OK);
    /* the card's public key is the imported one, and it signs with it */
    assert_int_equal(get_public(c, 0x81, out, &olen), SW_OK);
    EVP_PKEY *pk = pubkey_from_7f49(out, olen);
    assert_int_equal(EVP_PKEY_eq(pk, key), 1);
    assert_int_equal(mse_key(c, 0xb6, 0x57, 0x81), SW_OK);
    assert_int_equal(tx_long(c, "002A9E9A", di, dlen, 1, sig, &slen), SW_OK);
    assert_true(host_verify(key, "imported", sig, slen));
    /* wrong key reference; a key of another size than the file's */
    blob[6] = 0x82;
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), 0x6a88);
    n = import_blob(small, 0x81, blob, sizeof(blob));
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), 0x6a80);
    /* symmetric key type, a wrapping key, version 1, an inconsistent key */
    n = import_blob(key, 0x81, blob, sizeof(blob));
    blob[13] = 0x01;
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), 0x6a81);
    blob[13] = 0x02;
    blob[16] = 0x01;
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), 0x6a81);
    blob[16] = 0x00;
    blob[27] = 0x01;
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), 0x6a80);
    blob[27] = 0x00;
    blob[n - 1] ^= 0x01; /* qinv wrong */
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n, 0, NULL, NULL), 0x6a80);
    blob[n - 1] ^= 0x01;
    /* truncated: the key value is shorter than its length says */
    assert_int_equal(tx_long(c, "00DB3FFF", blob, n - 1, 0, NULL, NULL), 0x6a80);
    /* none of that replaced the imported key */
    assert_int_equal(get_public(c, 0x81, out, &olen), SW_OK);
    EVP_PKEY *pk2 = pubkey_from_7f49(out, olen);
    assert_int_equal(EVP_PKEY_eq(pk2, key), 1);
    EVP_PKEY_free(pk2);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(small);
    EVP_PKEY_free(key);
    cf_simcard_free(c);
}

static void test_keys_persist_in_the_state_file(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = card_with_key_file(0x06);
    static uint8_t out[600], out2[600], sig[300];
    uint8_t di[51];
    size_t olen, olen2, slen, dlen = digest_info("after reload", di);
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    assert_int_equal(generate(c, 0x06, 0x81, 0, NULL, NULL), SW_OK);
    assert_int_equal(get_public(c, 0x81, out, &olen), SW_OK);
    struct stat st;
    assert_int_equal(stat(t.path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    cf_simcard_free(c);

    c = reload(t.path);
    assert_int_equal(get_public(c, 0x81, out2, &olen2), SW_OK);
    assert_int_equal(olen2, olen);
    assert_memory_equal(out2, out, olen);
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), SW_OK);
    assert_int_equal(tx_long(c, "002A9E9A", di, dlen, 1, sig, &slen), SW_OK);
    EVP_PKEY *pk = pubkey_from_7f49(out, olen);
    assert_true(host_verify(pk, "after reload", sig, slen));
    EVP_PKEY_free(pk);
    /* A save that fails: 6581, and the old key stays. */
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    tmpstate_break(&t);
    assert_int_equal(generate(c, 0x06, 0x81, 0, NULL, NULL), 0x6581);
    assert_int_equal(get_public(c, 0x81, out2, &olen2), SW_OK);
    assert_memory_equal(out2, out, olen);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

/* Load a state file holding lines; CF_OK or the error. */
static cf_err_t load_text(const char *text, char *err, size_t errlen)
{
    struct tmpstate t;
    tmpstate_init(&t);
    FILE *f = fopen(t.path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    cf_simcard_t *c = NULL;
    cf_err_t rc = cf_simcard_load(t.path, err, errlen, &c);
    cf_simcard_free(c);
    tmpstate_done(&t);
    return rc;
}

static void test_state_file_key_lines_are_checked(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = card_with_key_file(0x06);
    create_key_file(c, 0x82, 0x07, 1); /* a 2048-bit file: the 1024-bit key does not fit */
    assert_int_equal(generate(c, 0x06, 0x81, 0, NULL, NULL), SW_OK);
    assert_int_equal(cf_simcard_save(c, t.path), CF_OK);
    cf_simcard_free(c);
    static char good[40000], bad[40000], err[256];
    FILE *f = fopen(t.path, "r");
    assert_non_null(f);
    size_t n = fread(good, 1, sizeof(good) - 1, f);
    fclose(f);
    tmpstate_done(&t);
    good[n] = 0;
    assert_int_equal(load_text(good, err, sizeof(err)), CF_OK);
    char *key = strstr(good, "key=B081:");
    assert_non_null(key);
    char *end = strchr(key, '\n');
    assert_non_null(end);
    /* the line for the other file (B082) or the admin key file; twice;
     * before the file system; damaged; not hex; a key of the wrong size */
    static const char *const breaks[] = {"B082", "B080", "dup", "first", "damage", "hex"};
    for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
        size_t pre = (size_t)(key - good), line = (size_t)(end - key) + 1;
        if (strcmp(breaks[i], "dup") == 0) {
            snprintf(bad, sizeof(bad), "%.*s%.*s%s", (int)(pre + line), good, (int)line, key,
                     end + 1);
        } else if (strcmp(breaks[i], "first") == 0) {
            char *ef = strstr(good, "ef=");
            size_t before = (size_t)(ef - good);
            snprintf(bad, sizeof(bad), "%.*s%.*s%.*s%s", (int)before, good, (int)line, key,
                     (int)(pre - before), ef, end + 1);
        } else {
            snprintf(bad, sizeof(bad), "%s", good);
            char *k = bad + pre;
            if (strcmp(breaks[i], "damage") == 0)
                k[40] = k[40] == '0' ? '1' : '0';
            else if (strcmp(breaks[i], "hex") == 0)
                k[40] = 'x';
            else
                memcpy(k + 4, breaks[i], 4);
        }
        err[0] = 0;
        assert_int_not_equal(load_text(bad, err, sizeof(err)), CF_OK);
        assert_non_null(strstr(err, ": key: ")); /* path:line: key: reason */
    }
}

static void test_delete_key_file_like_opensc(void **state)
{
    (void)state;
    struct tmpstate t;
    tmpstate_init(&t);
    cf_simcard_t *c = card_with_key_file(0x06);
    create_key_file(c, 0x82, 0x06, 1);
    assert_int_equal(cf_simcard_set_state_file(c, t.path), CF_OK);
    assert_int_equal(generate(c, 0x06, 0x81, 0, NULL, NULL), SW_OK);
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), SW_OK);
    /* not allowed: the application (nothing selected), the admin key file,
     * a data-object EF; parameters and lengths */
    assert_int_equal(tx(c, "00A4000C023FFF", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00E40000", NULL, NULL), 0x6985);
    assert_int_equal(tx(c, "00E40000 02 B080", NULL, NULL), 0x6a81);
    assert_int_equal(tx(c, "00E40000 02 A010", NULL, NULL), 0x6a81);
    assert_int_equal(tx(c, "00E40000 02 B083", NULL, NULL), 0x6a82);
    assert_int_equal(tx(c, "00E40100 02 B081", NULL, NULL), 0x6a86);
    assert_int_equal(tx(c, "00E40000 01 B0", NULL, NULL), 0x6700);
    /* without the PIN: 6982, the key stays */
    assert_int_equal(tx(c, "00200082", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00A4000C02B081", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00E40000", NULL, NULL), 0x6982);
    assert_int_equal(get_public(c, 0x81, NULL, NULL), SW_OK);
    /* a save that fails: 6581, the file stays */
    assert_int_equal(verify_pin(c, "0000"), SW_OK);
    assert_int_equal(mse_key(c, 0xb6, 0x56, 0x81), SW_OK);
    tmpstate_break(&t);
    assert_int_equal(tx(c, "00A4000C02B081", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00E40000", NULL, NULL), 0x6581);
    assert_int_equal(get_public(c, 0x81, NULL, NULL), SW_OK);
    assert_int_equal(cf_simcard_set_state_file(c, NULL), CF_OK);
    /* OpenSC: SELECT B081 (P2 0C), DELETE FILE of the current file */
    assert_int_equal(tx(c, "00A4000C02B081", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00E40000", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00A4000C02B081", NULL, NULL), 0x6a82);
    assert_int_equal(get_public(c, 0x81, NULL, NULL), 0x6a88);
    assert_int_equal(tx(c, "002A9E9A 02 0102 00", NULL, NULL), 0x6985); /* its MSE is gone */
    /* the other key file is still there; the container can be made again */
    assert_int_equal(tx(c, "00A4000C02B082", NULL, NULL), SW_OK);
    create_key_file(c, 0x81, 0x06, 0);
    assert_int_equal(generate(c, 0x06, 0x81, 0, NULL, NULL), SW_OK);
    /* by FID in the data field */
    assert_int_equal(tx(c, "00E40000 02 B082", NULL, NULL), SW_OK);
    assert_int_equal(tx(c, "00A4000C02B082", NULL, NULL), 0x6a82);
    assert_int_equal(get_public(c, 0x81, NULL, NULL), SW_OK);
    cf_simcard_free(c);
    tmpstate_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atr_is_well_formed_and_names_gids),
        cmocka_unit_test(test_select_gids_aid_returns_fci_with_both_mechanisms),
        cmocka_unit_test(test_foreign_probes_are_refused),
        cmocka_unit_test(test_class_bytes_are_checked),
        cmocka_unit_test(test_unknown_factory_is_not_found),
        cmocka_unit_test(test_unpowered_card_answers_nothing),
        cmocka_unit_test(test_gids_tool_x_initialises_blank_card),
        cmocka_unit_test(test_gids_tool_x_second_run_is_refused),
        cmocka_unit_test(test_blank_card_refuses_admin_commands),
        cmocka_unit_test(test_gemalto_defaults),
        cmocka_unit_test(test_verify_wrong_pin_spends_a_try),
        cmocka_unit_test(test_verify_last_try_blocks_then_6983),
        cmocka_unit_test(test_verify_right_pin_on_last_try_restores_counter),
        cmocka_unit_test(test_verify_length_outside_4_to_16_spends_nothing),
        cmocka_unit_test(test_verify_wrong_pin_ends_verified_state),
        cmocka_unit_test(test_verify_p2_82_logs_out_pin_and_admin),
        cmocka_unit_test(test_verify_bad_parameters),
        cmocka_unit_test(test_change_pin_old_then_new),
        cmocka_unit_test(test_change_pin_wrong_old_spends_a_try),
        cmocka_unit_test(test_change_pin_length_rules),
        cmocka_unit_test(test_set_pin_p1_01_needs_verified_pin_when_operational),
        cmocka_unit_test(test_offline_unblock_with_external_auth),
        cmocka_unit_test(test_unblock_with_mutual_auth_like_gids_tool_u),
        cmocka_unit_test(test_reset_retry_counter_refusals),
        cmocka_unit_test(test_ecb_helper_matches_known_answers),
        cmocka_unit_test(test_mutual_auth_right_key_grants_admin),
        cmocka_unit_test(test_mutual_auth_wrong_key_spends_admin_try),
        cmocka_unit_test(test_mutual_auth_with_card_random_swapped_is_refused),
        cmocka_unit_test(test_mutual_auth_replayed_cryptogram_refused),
        cmocka_unit_test(test_external_auth_wrong_answer_spends_admin_try),
        cmocka_unit_test(test_external_auth_replayed_response_refused),
        cmocka_unit_test(test_external_auth_second_answer_after_wrong_one_refused),
        cmocka_unit_test(test_external_auth_reset_between_challenge_and_answer_refused),
        cmocka_unit_test(test_reset_clears_pin_and_admin_authentication),
        cmocka_unit_test(test_new_witness_request_drops_admin_authentication),
        cmocka_unit_test(test_general_authenticate_malformed),
        cmocka_unit_test(test_mse_refusals),
        cmocka_unit_test(test_admin_counter_last_try_then_blocked),
        cmocka_unit_test(test_admin_counter_right_key_on_last_try_restores),
        cmocka_unit_test(test_admin_status_read_spends_nothing),
        cmocka_unit_test(test_put_admin_key_needs_admin_and_replaces_key),
        cmocka_unit_test(test_put_admin_key_malformed),
        cmocka_unit_test(test_data_objects_and_access_conditions),
        cmocka_unit_test(test_zero_length_objects),
        cmocka_unit_test(test_put_data_malformed),
        cmocka_unit_test(test_large_object_with_chaining_and_get_response),
        cmocka_unit_test(test_create_file_rules),
        cmocka_unit_test(test_storage_limits_answer_6a84),
        cmocka_unit_test(test_pin_counter_persisted_before_the_result),
        cmocka_unit_test(test_admin_counter_persisted_before_the_result),
        cmocka_unit_test(test_unwritable_state_refuses_correct_pin_6581),
        cmocka_unit_test(test_unwritable_state_refuses_correct_cryptogram_6581),
        cmocka_unit_test(test_unwritable_state_undoes_writes),
        cmocka_unit_test(test_state_file_round_trip),
        cmocka_unit_test(test_default_factory_state_reloads),
        cmocka_unit_test(test_state_file_bad_values_are_rejected),
        cmocka_unit_test(test_malformed_apdus_answer_6700),
        cmocka_unit_test(test_random_apdus_never_crash),
        cmocka_unit_test(test_key_files_accept_opensc_fcps_and_refuse_others),
        cmocka_unit_test(test_generate_then_read_public_key_like_opensc),
        cmocka_unit_test(test_generate_refusals),
        cmocka_unit_test(test_public_key_read_refusals),
        cmocka_unit_test(test_sign_pkcs1_and_raw_verify_with_openssl),
        cmocka_unit_test(test_sign_refusals),
        cmocka_unit_test(test_decipher_pkcs1_oaep_and_refusals),
        cmocka_unit_test(test_import_key_like_opensc),
        cmocka_unit_test(test_keys_persist_in_the_state_file),
        cmocka_unit_test(test_state_file_key_lines_are_checked),
        cmocka_unit_test(test_delete_key_file_like_opensc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
