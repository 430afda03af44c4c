/*
 * latency.h - how long a real contact card would have taken (internal).
 *
 * The virtual card answers in microseconds; a contact card takes
 * milliseconds, and a batch benchmark against virtual cards is only honest
 * when each answer is held back by what the real card would have spent:
 *
 *   transmission  ISO/IEC 7816-3 T=1 blocks at the interface bit rate:
 *                 every byte is a character of etu_per_char etu, every
 *                 block adds its 3-byte prologue and 1-byte LRC epilogue,
 *                 a message longer than the information field size goes as
 *                 a chain whose links the other side acknowledges with
 *                 4-byte R-blocks, and each change of direction waits out
 *                 the block guard time;
 *   crypto        crypto_us per on-card symmetric cryptographic operation;
 *   NV writes     nv_write_us per non-volatile (EEPROM/flash) write;
 *   asymmetric    a fixed figure per RSA / EC key pair generated and per
 *                 RSA / EC private-key operation (a real card's RSA key
 *                 generation varies by seconds with the prime search; the
 *                 model takes a typical value so that runs stay
 *                 deterministic).
 *
 * The counts come from cf_simcard_last_cost(). Pure arithmetic, no clock:
 * the daemon does the waiting. Figures and their sources are in
 * docs/cards/vcard.md.
 */
#ifndef CF_VCARD_LATENCY_H
#define CF_VCARD_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>
#include <cardforge/simcard.h>

typedef struct cf_vcard_latency {
    uint32_t baud;           /* interface bit rate: etu per second, > 0 */
    uint32_t ifs;            /* T=1 information field size (IFSC = IFSD), 1..254 */
    uint32_t etu_per_char;   /* character time incl. guard time; ISO default 12 */
    uint32_t bgt_etu;        /* block guard time, ISO: 22 */
    uint32_t crypto_us;      /* per symmetric cryptographic operation */
    uint32_t nv_write_us;    /* per non-volatile write */
    uint32_t keygen_rsa_us;  /* per RSA-2048 key pair generated */
    uint32_t keygen_ec_us;   /* per EC (P-256/P-384) key pair generated */
    uint32_t private_rsa_us; /* per RSA-2048 private-key operation */
    uint32_t private_ec_us;  /* per ECDSA signature or ECDH */
} cf_vcard_latency_t;

/* Fill *out with the named profile. CF_ERR_NOT_FOUND for an unknown name. */
cf_err_t cf_vcard_latency_profile(const char *name, cf_vcard_latency_t *out);

/* The i-th profile name (for --help), NULL past the last. Static strings. */
const char *cf_vcard_latency_profile_name(size_t i);

/* A one-line description of the i-th profile, NULL past the last. */
const char *cf_vcard_latency_profile_summary(size_t i);

/* Microseconds to carry a command of bytes_in bytes to the card and a
 * response of bytes_out bytes back, in T=1, rounded up. 0 if the model is
 * unusable (baud, ifs or etu_per_char zero). Counts above 16 MiB saturate. */
uint64_t cf_vcard_latency_transmit_us(const cf_vcard_latency_t *m, size_t bytes_in,
                                      size_t bytes_out);

/* Microseconds the whole exchange described by cost would have taken:
 * transmission + crypto + NV writes + key generation + private-key
 * operations. */
uint64_t cf_vcard_latency_us(const cf_vcard_latency_t *m, const cf_simcard_cost_t *cost);

#endif
