/*
 * simcard.h - virtual smart cards: the bottom layer under every transport.
 *
 * A cf_simcard_t is one card: a standard PIV card ("piv"), the PIV
 * application of a YubiKey 5 ("yubikey") or a GIDS admin-key card ("gids"),
 * with its non-volatile state (PINs, keys, counters, data objects) and its
 * volatile state (verified PIN, admin authentication, pending challenge,
 * chaining buffers). The same card serves the in-process simulated readers
 * and, through tools/cardforge-vcard, real pcscd + vpcd readers, so both see
 * identical behaviour.
 *
 * Card types: a card type is written BASE[+QUIRK...], e.g. "gids" or
 * "gids+admin-counter+atr-other". A base implements its standard (or, for
 * "yubikey", the named product); every extension or vendor habit beyond it
 * is a named quirk the caller asks for. The bases and quirks are listed by
 * cf_simcard_base_at and cf_simcard_quirk_at and documented in
 * docs/cards/vcard.md, "Variants".
 *
 * Persistence: with a state file set, the card saves its non-volatile state
 * atomically (write, fsync, rename, fsync of the directory) after every
 * change, and saves a retry counter's decrement before it acts on the
 * comparison result, so pulling the card (killing the process) never gives
 * a free guess. The state file is
 * "key=value" text, one per line, documented in docs/cards/; it holds the
 * card's secrets in hex because it IS the card: keep it private (mode 0600).
 *
 * Not thread-safe: one card, one thread at a time.
 */
#ifndef CARDFORGE_SIMCARD_H
#define CARDFORGE_SIMCARD_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_simcard cf_simcard_t;

/* The longest response the card produces for one APDU, status word included
 * (256 data bytes of a short APDU, or 65536 extended, + 2). */
#define CF_SIMCARD_MAX_RESPONSE (65536 + 2)

/* What the last APDU cost the card, for the latency model of the daemon and
 * the simulated transport: bytes each way, on-card symmetric cryptographic
 * operations, non-volatile writes, and the asymmetric work that dominates a
 * real card's time (key pair generation, private-key operations), by
 * algorithm family because RSA and EC differ by an order of magnitude. */
typedef struct cf_simcard_cost {
    size_t bytes_in;
    size_t bytes_out;
    unsigned crypto_ops;
    unsigned nv_writes;
    unsigned keygen_rsa;  /* RSA key pairs generated */
    unsigned keygen_ec;   /* EC key pairs generated */
    unsigned private_rsa; /* RSA private-key operations (sign, decrypt) */
    unsigned private_ec;  /* EC private-key operations (ECDSA, ECDH) */
} cf_simcard_cost_t;

/* The longest card type name, terminating NUL included. */
#define CF_SIMCARD_TYPE_MAX 128

/* One card base or quirk, for listing. Static strings. */
typedef struct cf_simcard_base_info {
    const char *name;      /* "piv", "yubikey", "gids" */
    const char *factories; /* its factory states, the default first: "blank, gemalto" */
    const char *summary;   /* one line */
} cf_simcard_base_info_t;

typedef struct cf_simcard_quirk_info {
    const char *name;    /* "admin-counter" */
    const char *bases;   /* the bases it applies to: "gids", "piv, yubikey", "any" */
    const char *summary; /* one line */
} cf_simcard_quirk_info_t;

/* The i-th base or quirk (from 0), NULL past the last. */
const cf_simcard_base_info_t *cf_simcard_base_at(size_t i);
const cf_simcard_quirk_info_t *cf_simcard_quirk_at(size_t i);

/* Check a card type name without making a card. CF_OK with the canonical
 * name (the base, then its quirks in the order cf_simcard_quirk_at lists
 * them) in canon (may be NULL; cap CF_SIMCARD_TYPE_MAX is always enough);
 * CF_ERR_NOT_FOUND with a one-line message in err (may be NULL) for an
 * unknown base or quirk, a quirk that does not apply to the base, a quirk
 * given twice, or two quirks that contradict each other. */
cf_err_t cf_simcard_type_check(const char *type, char *canon, size_t canon_cap, char *err,
                               size_t errlen);

/* A new card of type BASE[+QUIRK...] in factory state `factory` (NULL: the
 * base's default; piv and yubikey: "default"; gids: "blank" or "gemalto"),
 * with the given serial number. The card starts powered off.
 * CF_ERR_NOT_FOUND for a type cf_simcard_type_check refuses, an unknown
 * factory state, or a quirk the factory state cannot have (wrong-63cx on a
 * card that counts no admin-key tries). The caller owns *out. */
cf_err_t cf_simcard_new(const char *type, const char *factory, uint32_t serial, cf_simcard_t **out);

/* Load a card from its state file; the type comes from the file. Errors are
 * CF_ERR_IO, or CF_ERR_PARSE with a message in errbuf (may be NULL). */
cf_err_t cf_simcard_load(const char *path, char *errbuf, size_t errlen, cf_simcard_t **out);

/* Save the non-volatile state to path atomically, now. */
cf_err_t cf_simcard_save(const cf_simcard_t *card, const char *path);

/* From now on save to path after every non-volatile change (NULL: stop).
 * The path is copied. Saves once immediately. */
cf_err_t cf_simcard_set_state_file(cf_simcard_t *card, const char *path);

/* Wipe and free; NULL is fine. */
void cf_simcard_free(cf_simcard_t *card);

/* The card's type in canonical form ("gids+admin-counter"). */
const char *cf_simcard_type(const cf_simcard_t *card);
const char *cf_simcard_factory(const cf_simcard_t *card);
uint32_t cf_simcard_serial(const cf_simcard_t *card);

/* Copy the ATR into atr (cap >= 33 is always enough); returns its length. */
size_t cf_simcard_atr(const cf_simcard_t *card, uint8_t *atr, size_t cap);

/* Power on, warm reset and power off all clear the volatile state, as a
 * real card does. A card that is not powered answers nothing (transmit
 * returns CF_ERR_NO_CARD). */
void cf_simcard_power_on(cf_simcard_t *card);
void cf_simcard_reset(cf_simcard_t *card);
void cf_simcard_power_off(cf_simcard_t *card);

/* Process one command APDU. On CF_OK, resp[0..*resp_len) is the response
 * data followed by SW1 SW2 (resp_len >= 2). resp must hold
 * CF_SIMCARD_MAX_RESPONSE bytes. A malformed APDU is answered with an ISO
 * status word (6700, 6E00, ...), never an error return: the host is
 * untrusted and the card must survive anything it sends. */
cf_err_t cf_simcard_transmit(cf_simcard_t *card, const uint8_t *apdu, size_t len, uint8_t *resp,
                             size_t *resp_len);

/* The test attestation CA of the yubikey cards, as a PEM certificate: the
 * root that every virtual YubiKey's attestation certificate (object
 * 5FFF01, slot F9) chains to, for a verifier of `ykman piv keys attest`
 * output. A test CA, the same in every build (docs/cards/piv.md,
 * "Attestation"); never trust it for anything else. CF_OK with *pem a
 * NUL-terminated string the caller frees with free(); CF_ERR_CRYPTO. */
cf_err_t cf_simcard_attestation_ca_pem(char **pem);

/* The cost of the last transmit. */
cf_simcard_cost_t cf_simcard_last_cost(const cf_simcard_t *card);

#ifdef __cplusplus
}
#endif
#endif
