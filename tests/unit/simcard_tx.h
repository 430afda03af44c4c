/*
 * simcard_tx.h - test helpers for the virtual cards: send APDUs written in
 * hex the way a host would, read the state file, do the host's side of the
 * 9B management key authentication. Header-only (static inline) so each
 * test program takes what it uses.
 */
#ifndef CF_TEST_SIMCARD_TX_H
#define CF_TEST_SIMCARD_TX_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cardforge/simcard.h>

/* The last response: data in tx_resp[0..tx_len), status word returned. */
static uint8_t tx_resp[CF_SIMCARD_MAX_RESPONSE];
static size_t tx_len;

/* Send raw bytes; returns SW1SW2, or 0 if transmit itself failed. */
static inline uint16_t tx_raw(cf_simcard_t *card, const uint8_t *apdu, size_t n)
{
    size_t rl = 0;
    if (cf_simcard_transmit(card, apdu, n, tx_resp, &rl) != CF_OK || rl < 2)
        return 0;
    tx_len = rl - 2;
    return (uint16_t)((tx_resp[rl - 2] << 8) | tx_resp[rl - 1]);
}

/* Hex to bytes, spaces ignored; returns the length. Aborts on bad hex. */
static inline size_t tx_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        int v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
        if (v < 0 || v > 15 || n >= cap)
            abort();
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0)
        abort();
    return n;
}

static inline uint16_t tx_hex(cf_simcard_t *card, const char *hex)
{
    static uint8_t apdu[70000];
    size_t n = tx_unhex(hex, apdu, sizeof(apdu));
    return tx_raw(card, apdu, n);
}

/* 1 when the last response data equals hex. */
static inline int tx_data_is(const char *hex)
{
    uint8_t want[512];
    size_t n = tx_unhex(hex, want, sizeof(want));
    return n == tx_len && memcmp(want, tx_resp, n) == 0;
}

/* Value of key in a state file, in buf; NULL if absent. */
static inline const char *tx_state_value(const char *path, const char *key, char *buf,
                                         size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char line[40000];
    const char *found = NULL;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            /* copied by length: a state file line may be longer than buf */
            size_t vl = strlen(line + kl + 1);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(buf, line + kl + 1, vl);
            buf[vl] = 0;
            found = buf;
        }
    }
    fclose(f);
    return found;
}

/* A fresh private directory for state files; path in dir (cap >= 64). */
static inline void tx_tmpdir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/cf-simcard-XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
}

/* Remove dir and the files a card may have left in it. */
static inline void tx_rmdir(const char *dir)
{
    char p[256];
    static const char *const names[] = {"state", "state.tmp", "other", "bad"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Write text to dir/name; the path goes to path. */
static inline void tx_write_file(const char *dir, const char *name, const char *text,
                                 char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
}

/* One block of E_K (enc=1) or D_K (enc=0) with a 3DES or AES key, ECB, as
 * the host computes it. Returns 0 on success. */
static inline int tx_block(const uint8_t *key, size_t keylen, int aes, int enc,
                           const uint8_t *in, uint8_t *out)
{
    const char *name = !aes ? "DES-EDE3-ECB"
                       : keylen == 16 ? "AES-128-ECB"
                       : keylen == 24 ? "AES-192-ECB"
                                      : "AES-256-ECB";
    int bl = aes ? 16 : 8, l1 = 0, l2 = 0, ok;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    ok = c != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, c, key, NULL, enc, NULL) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
         EVP_CipherUpdate(ctx, out, &l1, in, bl) == 1 &&
         EVP_CipherFinal_ex(ctx, out + l1, &l2) == 1 && l1 + l2 == bl;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

/* 3DES-CBC encryption, zero IV, n a multiple of 8 (the GIDS mutual form),
 * built from single ECB blocks. Returns 0 on success. */
static inline int tx_cbc(const uint8_t key[24], const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t prev[8] = {0}, x[8];
    for (size_t off = 0; off < n; off += 8) {
        for (size_t i = 0; i < 8; i++)
            x[i] = in[off + i] ^ prev[i];
        if (tx_block(key, 24, 0, 1, x, out + off) != 0)
            return -1;
        memcpy(prev, out + off, 8);
    }
    return 0;
}

/* The host's side of an admin-key authentication with a 3DES key, right
 * or wrong: the SW of the first step that fails, else of the last (a
 * wrong key fails only there). PIV: 9B mutual or external (P1 03); GIDS:
 * MSE, then the mutual form (OpenSC's) or the external form (the
 * minidriver's challenge-response). */
static inline uint16_t tx_piv_mutual(cf_simcard_t *card, const uint8_t key[24])
{
    uint8_t a2[27] = {0x00, 0x87, 0x03, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08};
    uint16_t sw = tx_hex(card, "00 87 03 9B 04 7C 02 80 00");
    if (sw != 0x9000 || tx_len != 12 || tx_block(key, 24, 0, 0, tx_resp + 4, a2 + 9) != 0)
        return sw;
    a2[17] = 0x81; /* W as the host decrypted it, then the host's challenge */
    a2[18] = 0x08;
    memset(a2 + 19, 0x5A, 8);
    return tx_raw(card, a2, sizeof(a2));
}

static inline uint16_t tx_piv_external(cf_simcard_t *card, const uint8_t key[24])
{
    uint8_t a2[17] = {0x00, 0x87, 0x03, 0x9B, 0x0C, 0x7C, 0x0A, 0x82, 0x08};
    uint16_t sw = tx_hex(card, "00 87 03 9B 04 7C 02 81 00");
    if (sw != 0x9000 || tx_len != 12 || tx_block(key, 24, 0, 1, tx_resp + 4, a2 + 9) != 0)
        return sw;
    return tx_raw(card, a2, sizeof(a2));
}

static inline uint16_t tx_gids_mutual(cf_simcard_t *card, const uint8_t key[24])
{
    uint8_t a[5 + 44] = {0x00, 0x87, 0x00, 0x00, 0x14, 0x7C, 0x12, 0x81, 0x10};
    uint8_t plain[40];
    uint16_t sw = tx_hex(card, "00 22 C1 A4 03 83 01 80");
    memset(a + 9, 0x11, 16); /* R1 */
    if (sw == 0x9000)
        sw = tx_raw(card, a, 25);
    if (sw != 0x9000 || tx_len != 20)
        return sw;
    memcpy(plain, tx_resp + 4, 16); /* R2 | R1 | Z1 | 80 */
    memset(plain + 16, 0x11, 16);
    memset(plain + 32, 0x22, 7);
    plain[39] = 0x80;
    static const uint8_t head[] = {0x2C, 0x7C, 0x2A, 0x82, 0x28};
    memcpy(a + 4, head, sizeof(head));
    if (tx_cbc(key, plain, sizeof(plain), a + 9) != 0)
        return 0;
    return tx_raw(card, a, sizeof(a));
}

static inline uint16_t tx_gids_external(cf_simcard_t *card, const uint8_t key[24])
{
    uint8_t a2[17] = {0x00, 0x87, 0x00, 0x00, 0x0C, 0x7C, 0x0A, 0x82, 0x08};
    uint16_t sw = tx_hex(card, "00 22 81 A4 03 83 01 80");
    if (sw == 0x9000)
        sw = tx_hex(card, "00 87 00 00 04 7C 02 81 00 00");
    if (sw != 0x9000 || tx_len != 12 || tx_block(key, 24, 0, 1, tx_resp + 4, a2 + 9) != 0)
        return sw;
    return tx_raw(card, a2, sizeof(a2));
}

/* The state-file fixture: a cmocka setup/teardown pair that gives a test
 * a fresh directory (dir) and the state file path in it (path). */
/* After every helper above, whose parameters carry the same names. */
static char dir[64], path[128];

static inline int with_dir(void **state)
{
    (void)state;
    tx_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state", dir);
    return 0;
}

static inline int without_dir(void **state)
{
    (void)state;
    tx_rmdir(dir);
    return 0;
}

#endif
