/*
 * fuzz_simcard_apdu.c - feed a sequence of APDUs and card events to a fresh
 * PIV card and a fresh gids card; nothing may crash, leak or break the
 * response contract (CF_OK while powered, 2 <= response length <= max).
 *
 * Input: one byte choosing both cards' variants (fuzz_variant.h: 00 is a
 * blank plain gids card and a yubikey card), then a list of records, each
 * starting with one control byte:
 *   00-FB  an APDU of that many bytes follows (short of input: what is left)
 *   FC     an APDU whose length is the next two bytes, big-endian (max 4096),
 *          for extended APDUs
 *   FD     the harness does the host's side of a 9B mutual authentication
 *          with the default 3DES key on the piv card, which the fuzzer could
 *          never compute, so that admin-only paths (PUT DATA, SET MGM KEY,
 *          SET PIN RETRIES, GENERATE, IMPORT KEY) are reached; the keys
 *          they make are then used (GENERAL AUTHENTICATE, ATTEST, GET
 *          METADATA: seeds keys_*)
 *   FE     power off, then on
 *   FF     warm reset
 * Both cards see every record. No state file: the fuzzer must not write
 * to disk at this rate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <cardforge/simcard.h>

#include "fuzz_variant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t resp[CF_SIMCARD_MAX_RESPONSE];

static size_t xmit(cf_simcard_t *card, const uint8_t *apdu, size_t n)
{
    size_t rl = 0;
    if (cf_simcard_transmit(card, apdu, n, resp, &rl) != CF_OK)
        abort(); /* the cards are always powered here */
    if (rl < 2 || rl > CF_SIMCARD_MAX_RESPONSE)
        abort();
    return rl;
}

static void mgm_auth_default(cf_simcard_t *card)
{
    static const uint8_t key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t a1[] = {0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00};
    uint8_t a2[27] = {0x00, 0x87, 0x03, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08};
    size_t rl = xmit(card, a1, sizeof(a1));
    if (rl != 14 || resp[12] != 0x90 || resp[0] != 0x7C || resp[3] != 0x08)
        return;
    int l1 = 0, l2 = 0, ok;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "DES-EDE3-ECB", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    ok = c != NULL && ctx != NULL && EVP_DecryptInit_ex2(ctx, c, key, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
         EVP_DecryptUpdate(ctx, a2 + 9, &l1, resp + 4, 8) == 1 &&
         EVP_DecryptFinal_ex(ctx, a2 + 9 + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    if (!ok)
        return;
    a2[17] = 0x81;
    a2[18] = 0x08;
    memset(a2 + 19, 0x5A, 8);
    xmit(card, a2, sizeof(a2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cf_simcard_t *cards[2] = {fuzz_variant_card(0, data[0], 1234),
                              fuzz_variant_card(1, data[0], 1234)};
    for (int i = 0; i < 2; i++)
        cf_simcard_power_on(cards[i]);

    size_t off = 1;
    while (off < size) {
        uint8_t ctl = data[off++];
        size_t n;
        if (ctl == 0xFF || ctl == 0xFE) {
            for (int i = 0; i < 2; i++) {
                if (ctl == 0xFE)
                    cf_simcard_power_off(cards[i]);
                if (ctl == 0xFE)
                    cf_simcard_power_on(cards[i]);
                else
                    cf_simcard_reset(cards[i]);
            }
            continue;
        }
        if (ctl == 0xFD) {
            mgm_auth_default(cards[0]); /* piv and yubikey: the same default key */
            continue;
        }
        if (ctl == 0xFC) {
            if (size - off < 2)
                break;
            n = ((size_t)data[off] << 8) | data[off + 1];
            off += 2;
            if (n > 4096)
                n = 4096;
        } else {
            n = ctl;
        }
        if (n > size - off)
            n = size - off;
        for (int i = 0; i < 2; i++)
            xmit(cards[i], data + off, n);
        off += n;
    }
    for (int i = 0; i < 2; i++)
        cf_simcard_free(cards[i]);
    return 0;
}
