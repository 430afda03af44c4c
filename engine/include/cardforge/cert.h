/*
 * cert.h - the asymmetric keys on a card and their certificates: list the
 * key slots (PIV) or containers (GIDS), read, write and delete a
 * certificate, generate a key pair on the card, sign with an on-card key,
 * import a private key, set the default container.
 *
 * The profile's `keys:` scheme (docs/profiles.md) says how the card keeps
 * them; callers never name a card type. A slot is named as people write
 * it: a PIV slot in hex ("9a", "9c", "82"), a GIDS container by its number
 * ("0", "1", ...).
 *
 * Rules every changing operation obeys (they live here so that every tool
 * gets them):
 *   - the PIN must have been verified in this card session
 *     (cf_card_verify_pin); otherwise CF_ERR_REFUSED and nothing is sent;
 *   - where the card type needs the admin key for the write (PIV:
 *     GENERATE, PUT DATA, IMPORT need 9B), it must have been authenticated
 *     (cf_card_admin_auth); otherwise CF_ERR_REFUSED, nothing sent;
 *   - a change is proven by reading it back; CF_ERR_PROOF_FAILED when the
 *     card does not hold what was written (cf_card_last_write says whether
 *     anything reached it);
 *   - a full card (6A84) is CF_ERR_CARD_STATUS with a message saying so.
 * Messages (cf_card_errmsg) never hold a private key or a PIN.
 *
 * These operations also serve a production line (generate, have a CSR
 * signed by the card, write the issued certificate, prove it with a
 * signature): cf_cert_generate, cf_cert_sign, cf_cert_write and
 * cf_cert_check_pair are its four steps.
 */
#ifndef CARDFORGE_CERT_H
#define CARDFORGE_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/card.h>
#include <cardforge/error.h>
#include <cardforge/secret.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cf_key_alg {
    CF_KEYALG_UNKNOWN = 0,
    CF_KEYALG_RSA2048 = 1,
    CF_KEYALG_ECCP256 = 2,
    CF_KEYALG_ECCP384 = 3,
} cf_key_alg_t;

/* "RSA-2048", "ECC P-256", "ECC P-384", "unknown". */
const char *cf_key_alg_name(cf_key_alg_t alg);
/* "rsa2048", "eccp256", "eccp384" (case-insensitive); CF_ERR_PARSE else. */
cf_err_t cf_key_alg_parse(const char *text, cf_key_alg_t *out);

/* Whether a slot holds a private key, as far as the card tells. */
typedef enum cf_key_presence {
    CF_KEY_ABSENT = 0,
    CF_KEY_PRESENT = 1,
    CF_KEY_UNKNOWN = 2, /* the card type has no way to say (standard PIV) */
} cf_key_presence_t;

#define CF_CERT_SLOT_NAME 8
#define CF_CERT_LABEL 48
#define CF_CERT_MAX_SLOTS 32
/* Longest certificate (DER) the operations accept: what a PIV object
 * holds (yubico-piv-tool's limit) and more than a GIDS DO takes. */
#define CF_CERT_MAX_DER 3052

typedef struct cf_key_slot {
    char name[CF_CERT_SLOT_NAME]; /* "9a", "0" */
    int has_cert;
    cf_key_presence_t key;
    cf_key_alg_t alg;          /* of the key (or of the certificate's key); UNKNOWN */
    int is_default;            /* GIDS: the cmapfile's default flag; PIV: always 0 */
    char label[CF_CERT_LABEL]; /* GIDS container label (ASCII); "" */
} cf_key_slot_t;

/* 1 when the card type has a default container (GIDS), 0 when not (PIV). */
int cf_cert_has_default(const cf_card_t *card);

/* 1 when writes need the admin key authenticated besides the PIN (PIV's
 * 9B), so a tool asks for it before anything is sent. */
int cf_cert_needs_admin(const cf_card_t *card);

/* 1 when the card can delete a key (GIDS: the container's key file). */
int cf_cert_deletes_keys(const cf_card_t *card);

/* 1 when the card's certificate operations are available (`keys:`). */
int cf_cert_supported(const cf_card_t *card);

/* The slots of the card: every PIV slot that holds a key or a
 * certificate, in the order 9a 9c 9d 9e 82..95 (all of them with all != 0);
 * every valid GIDS container. Reads only. */
cf_err_t cf_cert_slots(cf_card_t *card, int all, cf_key_slot_t *out, size_t cap, size_t *n);

/* The certificate of slot as DER in *der (malloc'd; the caller frees).
 * CF_ERR_NOT_FOUND when the slot has none, CF_ERR_ARG for a slot the card
 * type has not, CF_ERR_BAD_RESPONSE for a malformed object. */
cf_err_t cf_cert_read(cf_card_t *card, const char *slot, uint8_t **der, size_t *len);

/* Write der (a certificate, checked to parse) into slot, replacing any
 * there; proven by reading it back. The key is not checked here: see
 * cf_cert_check_pair. GIDS: the container must hold a key. */
cf_err_t cf_cert_write(cf_card_t *card, const char *slot, const uint8_t *der, size_t len);

/* Delete the certificate of slot, and with with_key the key too where the
 * card can (GIDS: the key file and the container; PIV: no command deletes
 * a key, CF_ERR_UNSUPPORTED before anything is sent). Proven by reading
 * back. CF_ERR_NOT_FOUND when there is nothing to delete. */
cf_err_t cf_cert_delete(cf_card_t *card, const char *slot, int with_key);

/* The public key of the slot's key as DER SubjectPublicKeyInfo in *spki
 * (malloc'd; caller frees). CF_ERR_UNSUPPORTED when the card type cannot
 * tell (standard PIV: use cf_cert_check_pair, which proves by signing),
 * CF_ERR_NOT_FOUND when the slot has no key. */
cf_err_t cf_cert_public_key(cf_card_t *card, const char *slot, uint8_t **spki, size_t *len);

/* Does the certificate der match the slot's key? From the public key
 * where the card reports it, else by a signature made by the slot's key
 * over a random digest and verified with the certificate's key (this uses
 * the key: the PIN rule of the slot applies). CF_OK when it matches,
 * CF_ERR_INVALID when it does not (or the slot has no key), other errors
 * as the card answered. */
cf_err_t cf_cert_check_pair(cf_card_t *card, const char *slot, const uint8_t *der, size_t len);

/* What a new key is to be: algorithm, the PIN and touch policies of a
 * YubiKey key (0 = the slot's default), the label of a GIDS container. */
typedef struct cf_keygen {
    cf_key_alg_t alg;
    uint8_t pin_policy;   /* 1 never, 2 once, 3 always */
    uint8_t touch_policy; /* 1 never, 2 always, 3 cached */
    const char *label;    /* GIDS: ASCII, at most 39 characters; NULL: "cardforge-N" */
} cf_keygen_t;

/* Generate a key pair in slot (GIDS: slot NULL or "", the first free
 * container is taken, RSA-2048 as OpenSC makes them); *spki (malloc'd,
 * caller frees; spki may be NULL) gets the public key as
 * SubjectPublicKeyInfo; used (CF_CERT_SLOT_NAME bytes, may be NULL) the
 * slot. Policies other than 0 on a card type without them:
 * CF_ERR_UNSUPPORTED, nothing sent. */
cf_err_t cf_cert_generate(cf_card_t *card, const char *slot, const cf_keygen_t *g, uint8_t **spki,
                          size_t *len, char *used);

/* Sign digest (dlen bytes, made with digest md: "sha256", "sha384",
 * "sha512", "sha1") with the slot's key: RSA PKCS#1 v1.5, or ECDSA (DER).
 * *sig is malloc'd; the caller frees it. Needs the PIN as the slot's
 * policy says (verified in the session). */
cf_err_t cf_cert_sign(cf_card_t *card, const char *slot, const char *md, const uint8_t *digest,
                      size_t dlen, uint8_t **sig, size_t *siglen);

/* cf_cert_sign for a caller that knows the key's algorithm (it generated
 * the key): a standard PIV card cannot report it, and a slot whose
 * certificate is not written yet cannot tell it either. */
cf_err_t cf_cert_sign_as(cf_card_t *card, const char *slot, cf_key_alg_t alg, const char *md,
                         const uint8_t *digest, size_t dlen, uint8_t **sig, size_t *siglen);

/* Put a private key (DER PKCS#8 PrivateKeyInfo, a secret) into slot.
 * PIV: only where the card type imports (`keys: yubikey`); policy (may be
 * NULL) sets its policies. GIDS: RSA-2048 only, into the first free
 * container (slot NULL or ""), labelled policy->label. The slot actually
 * used is written to used (CF_CERT_SLOT_NAME bytes, may be NULL). */
cf_err_t cf_cert_import_key(cf_card_t *card, const char *slot, const cf_secret_t *pkcs8,
                            const cf_keygen_t *policy, char *used);

/* Make slot the default container (GIDS: the cmapfile flag). PIV has no
 * default: CF_ERR_UNSUPPORTED, nothing sent. */
cf_err_t cf_cert_set_default(cf_card_t *card, const char *slot);

#ifdef __cplusplus
}
#endif
#endif
