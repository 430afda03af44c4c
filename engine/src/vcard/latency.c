/*
 * latency.c - the T=1 contact-card latency model.
 *
 * Integer arithmetic in etu and microseconds, so a given cost always gives
 * the same delay on every machine (the unit tests pin exact figures). The
 * profiles are data; their figures are argued in docs/cards/vcard.md.
 */
#include <string.h>

#include "vcard/latency.h"

/* ISO/IEC 7816-3 T=1: NAD, PCB, LEN before the information field, one LRC
 * byte after it (the default error detection code). */
#define T1_BLOCK_OVERHEAD 4u
/* An R-block acknowledging one link of a chain: prologue + LRC, no INF. */
#define T1_RBLOCK 4u
/* Larger counts saturate here; keeps the etu * 10^6 product inside 64 bits
 * for any ifs and baud (a vpcd message is at most 65535 bytes anyway). */
#define MAX_BYTES ((size_t)1 << 24)

struct profile {
    const char *name;
    const char *summary;
    cf_vcard_latency_t m;
};

/* The asymmetric figures (docs/cards/vcard.md, "Where the figures come
 * from"): RSA-2048 key generation 5 s, EC 100 ms; RSA-2048 private-key
 * operation 150 ms, EC 150 ms; the fast card about a third of that. */
#define ASYM_TYPICAL                                                                               \
    .keygen_rsa_us = 5000000, .keygen_ec_us = 100000, .private_rsa_us = 150000,                    \
    .private_ec_us = 150000
#define ASYM_FAST                                                                                  \
    .keygen_rsa_us = 2000000, .keygen_ec_us = 50000, .private_rsa_us = 50000, .private_ec_us = 50000

static const struct profile profiles[] = {
    {"contact",
     "115200 bit/s, IFS 254, 1 ms per symmetric crypto op, 3 ms per NV write, RSA key "
     "generation 5 s, private-key ops 150 ms",
     {.baud = 115200,
      .ifs = 254,
      .etu_per_char = 12,
      .bgt_etu = 22,
      .crypto_us = 1000,
      .nv_write_us = 3000,
      ASYM_TYPICAL}},
    {"contact-9600",
     "ISO defaults without PPS/IFS negotiation: 9600 bit/s, IFS 32; crypto and NV as contact",
     {.baud = 9600,
      .ifs = 32,
      .etu_per_char = 12,
      .bgt_etu = 22,
      .crypto_us = 1000,
      .nv_write_us = 3000,
      ASYM_TYPICAL}},
    {"contact-fast",
     "a fast modern card: 300 kbit/s (F=512 D=32 at 4.8 MHz), IFS 254, 0.2 ms crypto, 1 ms NV, "
     "RSA key generation 2 s, private-key ops 50 ms",
     {.baud = 300000,
      .ifs = 254,
      .etu_per_char = 12,
      .bgt_etu = 22,
      .crypto_us = 200,
      .nv_write_us = 1000,
      ASYM_FAST}},
    {"contact-rsa",
     "as contact, but each symmetric crypto op is priced as an RSA-2048 private-key "
     "operation: 150 ms",
     {.baud = 115200,
      .ifs = 254,
      .etu_per_char = 12,
      .bgt_etu = 22,
      .crypto_us = 150000,
      .nv_write_us = 3000,
      ASYM_TYPICAL}},
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

cf_err_t cf_vcard_latency_profile(const char *name, cf_vcard_latency_t *out)
{
    for (size_t i = 0; name != NULL && i < NPROFILES; i++) {
        if (strcmp(profiles[i].name, name) == 0) {
            *out = profiles[i].m;
            return CF_OK;
        }
    }
    return CF_ERR_NOT_FOUND;
}

const char *cf_vcard_latency_profile_name(size_t i)
{
    return i < NPROFILES ? profiles[i].name : NULL;
}

const char *cf_vcard_latency_profile_summary(size_t i)
{
    return i < NPROFILES ? profiles[i].summary : NULL;
}

/* Blocks needed to carry n bytes; an empty message is still one block. */
static uint64_t blocks(size_t n, uint32_t ifs)
{
    return n == 0 ? 1 : ((uint64_t)n + ifs - 1) / ifs;
}

uint64_t cf_vcard_latency_transmit_us(const cf_vcard_latency_t *m, size_t bytes_in,
                                      size_t bytes_out)
{
    if (m->baud == 0 || m->ifs == 0 || m->etu_per_char == 0)
        return 0;
    if (bytes_in > MAX_BYTES)
        bytes_in = MAX_BYTES;
    if (bytes_out > MAX_BYTES)
        bytes_out = MAX_BYTES;
    uint64_t bin = blocks(bytes_in, m->ifs), bout = blocks(bytes_out, m->ifs);
    /* Each link but the last of a chain is acknowledged by the receiver. */
    uint64_t chars = (uint64_t)bytes_in + bin * T1_BLOCK_OVERHEAD + (bin - 1) * T1_RBLOCK +
                     (uint64_t)bytes_out + bout * T1_BLOCK_OVERHEAD + (bout - 1) * T1_RBLOCK;
    /* Blocks alternate direction, so every block after the first follows a
     * turnaround. BGT runs from the leading edge of the last character, which
     * is already counted, so only the remainder adds. */
    uint64_t nblocks = (2 * bin - 1) + (2 * bout - 1);
    uint64_t gap = m->bgt_etu > m->etu_per_char ? m->bgt_etu - m->etu_per_char : 0;
    uint64_t etu = chars * m->etu_per_char + (nblocks - 1) * gap;
    return (etu * 1000000u + m->baud - 1) / m->baud;
}

uint64_t cf_vcard_latency_us(const cf_vcard_latency_t *m, const cf_simcard_cost_t *cost)
{
    return cf_vcard_latency_transmit_us(m, cost->bytes_in, cost->bytes_out) +
           (uint64_t)cost->crypto_ops * m->crypto_us + (uint64_t)cost->nv_writes * m->nv_write_us +
           (uint64_t)cost->keygen_rsa * m->keygen_rsa_us +
           (uint64_t)cost->keygen_ec * m->keygen_ec_us +
           (uint64_t)cost->private_rsa * m->private_rsa_us +
           (uint64_t)cost->private_ec * m->private_ec_us;
}
