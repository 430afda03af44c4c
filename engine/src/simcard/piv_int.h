/*
 * piv_int.h - the PIV cards' state and the split of their work (internal).
 *
 * One card type code serves two bases: "piv", a NIST SP 800-73-4 PIV card
 * without vendor extensions, and "yubikey", a YubiKey 5.4.3 PIV application
 * as yubico-piv-tool 2.2.0 and OpenSC 0.23 see it (docs/cards/piv.md,
 * piv-reference.md); piv_is_yubikey tells them apart. The code is split by
 * job:
 *   piv.c          operations table, lifecycle, dispatch, SELECT, and the
 *                  YubiKey's version, serial, metadata
 *   piv_nv.c       factory state, the non-volatile change protocol, the
 *                  state file keys
 *   piv_pin.c      PIN and PUK: VERIFY, CHANGE REFERENCE DATA, RESET RETRY
 *                  COUNTER, SET PIN RETRIES, RESET
 *   piv_crypto.c   management key (9B): GENERAL AUTHENTICATE, SET MGM KEY
 *   piv_objects.c  data objects: GET DATA, PUT DATA
 *   piv_keys.c     asymmetric keys: slots and algorithms, GENERATE,
 *                  GENERAL AUTHENTICATE with a slot key, slot metadata
 *   piv_import.c   the YubiKey's IMPORT ASYMMETRIC KEY
 *   piv_keyfile.c  the key lines of the state file
 *   piv_attest.c   YubiKey attestation: the test attestation CA, the
 *                  card's F9 key and certificate, ATTEST
 *
 * Every non-volatile item lives in struct piv_nv so that a change can be
 * made on the live state and rolled back as a whole when the state file
 * cannot be written (piv_nv_begin / piv_nv_commit).
 */
#ifndef CF_SIMCARD_PIV_INT_H
#define CF_SIMCARD_PIV_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "simcard/simcard_int.h"

/* PIN and PUK travel as 8 bytes, right-padded with FF; a value is 6-8
 * bytes before the padding. */
#define PIV_PIN_SIZE 8
#define PIV_PIN_MIN 6

/* Factory values (Yubico's documented defaults). */
#define PIV_DEFAULT_TRIES 3

/* Largest object value: with its 53 82 LL LL header the GET DATA reply is
 * then at most 3072 bytes, ykpiv's object buffer. */
#define PIV_OBJ_MAX 3068

/* Writable objects: 5FC101-5FC123 (SP 800-73-4) and 5FFF00-5FFF15
 * (YubiKey: admin data, attestation certificate, ...). */
#define PIV_OBJ_STD_FIRST 0x5FC101u
#define PIV_OBJ_STD_LAST 0x5FC123u
#define PIV_OBJ_YK_FIRST 0x5FFF00u
#define PIV_OBJ_YK_LAST 0x5FFF15u
#define PIV_NOBJ                                                                                   \
    ((PIV_OBJ_STD_LAST - PIV_OBJ_STD_FIRST + 1) + (PIV_OBJ_YK_LAST - PIV_OBJ_YK_FIRST + 1))
#define PIV_OBJ_ATTESTATION 0x5FFF01u

/* Management key algorithms (P1 of GENERAL AUTHENTICATE, F7 tag 01). */
#define PIV_ALG_3DES 0x03
#define PIV_ALG_AES128 0x08
#define PIV_ALG_AES192 0x0A
#define PIV_ALG_AES256 0x0C
#define PIV_MGM_KEY_MAX 32
#define PIV_BLOCK_MAX 16

/* Key references. */
#define PIV_REF_PIN 0x80
#define PIV_REF_PUK 0x81
#define PIV_REF_MGM 0x9B

/* Asymmetric algorithms (P1 of GENERATE's 80, IMPORT, GENERAL
 * AUTHENTICATE; SP 800-78-4 table 6-2). */
#define PIV_ALG_RSA2048 0x07
#define PIV_ALG_ECCP256 0x11
#define PIV_ALG_ECCP384 0x14

/* Key slots: 9A 9C 9D 9E, the retired 82-95, and the YubiKey's
 * attestation key F9. */
#define PIV_NSLOTS 25
#define PIV_SLOT_ATTEST 0xF9

/* PIN and touch policies as the YubiKey numbers them (tags AA, AB; GET
 * METADATA tag 02). 0 ("default") is resolved per slot before storing. */
#define PIV_PIN_NEVER 1
#define PIV_PIN_ONCE 2
#define PIV_PIN_ALWAYS 3
#define PIV_TOUCH_NEVER 1
#define PIV_TOUCH_ALWAYS 2
#define PIV_TOUCH_CACHED 3
#define PIV_ORIGIN_GENERATED 1
#define PIV_ORIGIN_IMPORTED 2

struct piv_key {
    EVP_PKEY *pkey; /* owned; NULL = empty slot */
    uint8_t alg;
    uint8_t pin_policy;   /* PIV_PIN_* */
    uint8_t touch_policy; /* PIV_TOUCH_*; stored and reported, never enforced */
    uint8_t origin;       /* PIV_ORIGIN_* */
};

struct piv_object {
    uint8_t *data; /* owned; NULL = absent */
    size_t len;
};

/* Everything the state file holds. */
struct piv_nv {
    uint8_t pin[PIV_PIN_SIZE]; /* FF-padded, as VERIFY carries it */
    uint8_t puk[PIV_PIN_SIZE];
    uint8_t pin_max, pin_tries;
    uint8_t puk_max, puk_tries;
    uint8_t mgm_alg;
    uint8_t mgm_touch; /* 1: SET MGM KEY asked for touch (P2 FE); reported only */
    uint8_t mgm_key[PIV_MGM_KEY_MAX];
    size_t mgm_len;
    struct piv_object obj[PIV_NOBJ];
    struct piv_key key[PIV_NSLOTS];
};

enum piv_chal {
    PIV_CHAL_NONE,
    PIV_CHAL_WITNESS,  /* mutual: the card's plain witness W */
    PIV_CHAL_EXTERNAL, /* external: the challenge C the card sent */
};

struct piv_card {
    struct piv_nv nv;
    /* volatile: cleared by power on/off and reset */
    int selected;
    int pin_verified;
    int admin;     /* 9B authenticated */
    int pin_fresh; /* VERIFY succeeded and no PIN-always key used it yet */
    enum piv_chal chal;
    uint8_t chal_alg;
    uint8_t chal_buf[PIV_BLOCK_MAX];
};

static inline struct piv_card *piv_of(cf_simcard_t *card)
{
    return card->impl;
}

/* 1 for the yubikey base (YubiKey instructions and objects), 0 for piv. */
static inline int piv_is_yubikey(const cf_simcard_t *card)
{
    return card->base == CF_SIM_YUBIKEY;
}

/* ---- piv_nv.c ---- */

/* Put nv in factory state "default". Frees no objects: nv must hold none. */
void piv_nv_factory(struct piv_nv *nv);
/* Wipe nv and free its objects. */
void piv_nv_clear(struct piv_nv *nv);
/* Length of an FF-padded PIN or PUK (bytes before the padding). */
size_t piv_pin_len(const uint8_t pin[PIV_PIN_SIZE]);
/* Start a change: saved becomes a shallow copy of the live state. */
void piv_nv_begin(const cf_simcard_t *card, struct piv_nv *saved);
/* Persist the live state. On success free the objects only saved still
 * points to and return 0; on failure put saved back (freeing the objects
 * only the live state pointed to) and return -1. saved is wiped either
 * way. */
int piv_nv_commit(cf_simcard_t *card, struct piv_nv *saved);
/* Index of a writable object id, or -1. */
int piv_obj_index(uint32_t id);
/* piv_obj_index of an object this card can hold (the 5FFFxx YubiKey
 * objects only on the yubikey base), or -1. */
int piv_card_obj_index(const cf_simcard_t *card, uint32_t id);
uint32_t piv_obj_id(int index);

int piv_nv_save(const cf_simcard_t *card, FILE *f);
int piv_nv_load(cf_simcard_t *card, const char *key, const char *value, char *err, size_t errlen);
int piv_nv_loaded(cf_simcard_t *card, char *err, size_t errlen);

/* ---- piv_keys.c ---- */

/* The slots GENERATE, IMPORT and GENERAL AUTHENTICATE work on: 9A 9C 9D
 * 9E, and 82-95 on the yubikey. */
int piv_usable_slot(const cf_simcard_t *card, uint8_t ref);
/* The status word for a slot GENERATE or IMPORT cannot use. */
uint16_t piv_wrong_slot(const cf_simcard_t *card);
int piv_alg_is_rsa(uint8_t alg);
/* Modulus or field length in bytes; 0 for an algorithm the cards lack. */
size_t piv_alg_bytes(uint8_t alg);
/* "P-256" or "P-384" for the EC algorithms. */
const char *piv_alg_group(uint8_t alg);
/* 1 when pk is a key of algorithm alg. */
int piv_key_fits(const EVP_PKEY *pk, uint8_t alg);
/* Resolve touch policy 0 to "never"; 0 when val is not a policy. */
uint8_t piv_touch_policy_resolve(uint8_t val);
/* Put pk into slot ref durably (the old key is freed once the state file
 * is written); on failure pk is freed and the slot keeps its old key. */
uint16_t piv_store_key(cf_simcard_t *card, uint8_t ref, EVP_PKEY *pk, uint8_t alg, uint8_t pin,
                       uint8_t touch, uint8_t origin);

/* Index of a key slot (any of the 25), or -1. */
int piv_slot_index(uint8_t ref);
uint8_t piv_slot_ref(int index);
/* Free a slot's key and empty it. */
void piv_key_clear(struct piv_key *k);
/* The slot's default PIN policy (SP 800-73-4 access rules). */
uint8_t piv_slot_default_pin(uint8_t ref);
/* The inner TLVs of a public key: 81 n 82 e (RSA) or 86 point (EC). */
void piv_key_put_public(cf_wcursor *w, const struct piv_key *k);
/* Resolve policy 0 to the slot's default; 0 when val is not a policy. */
uint8_t piv_pin_policy_resolve(uint8_t ref, uint8_t val);
/* An EC key (P-256 or P-384 by alg) from its private scalar; NULL unless
 * 1 <= d < order. */
EVP_PKEY *piv_ec_from_scalar(uint8_t alg, const uint8_t *d, size_t dlen);
/* Within a piv_nv_begin/commit: put pk (owned from now) into slot ref,
 * touch policy never; the old key is left to the commit. */
void piv_key_set(cf_simcard_t *card, uint8_t ref, EVP_PKEY *pk, uint8_t alg, uint8_t pin,
                 uint8_t origin);
/* Count one private-key operation of alg for the latency model. */
void piv_count_private(cf_simcard_t *card, uint8_t alg);
uint16_t piv_generate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
/* GENERAL AUTHENTICATE with a slot key (P2 not 9B). */
uint16_t piv_key_authenticate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
/* GET METADATA of a key slot (YubiKey F7). */
uint16_t piv_key_metadata(cf_simcard_t *card, uint8_t ref, cf_wcursor *resp);

/* ---- piv_import.c ---- */

uint16_t piv_import_key(cf_simcard_t *card, const cf_apdu_t *cmd);

/* ---- piv_keyfile.c ---- */

int piv_keys_save(const struct piv_nv *nv, FILE *f);
/* A key_XX line; 0 or -1 with a message. */
int piv_keys_load(cf_simcard_t *card, const char *slot_hex, const char *value, char *err,
                  size_t errlen);

/* ---- piv_attest.c ---- */

/* YubiKey ATTEST (F9). */
uint16_t piv_attest(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
/* Make the card's attestation key (slot F9) and its certificate (5FFF01)
 * if the card lacks either (a missing certificate is made for the key the
 * card has), and persist them. 0, or -1 (nothing changed). */
int piv_attest_ensure(cf_simcard_t *card);

/* ---- piv_pin.c ---- */

uint16_t piv_verify(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t piv_change_reference(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t piv_reset_retry(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t piv_set_pin_retries(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t piv_factory_reset(cf_simcard_t *card, const cf_apdu_t *cmd);

/* ---- piv_crypto.c ---- */

/* Block length of a management key algorithm, or 0 if not one. */
size_t piv_mgm_block(uint8_t alg);
/* Key length of a management key algorithm, or 0 if not one. */
size_t piv_mgm_keylen(uint8_t alg);
uint16_t piv_general_authenticate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
uint16_t piv_set_mgm_key(cf_simcard_t *card, const cf_apdu_t *cmd);

/* ---- piv_objects.c ---- */

/* Store the factory CHUID of a piv card (its GUID from the serial).
 * Returns 0, or -1 out of memory. */
int piv_chuid_factory(cf_simcard_t *card);
uint16_t piv_get_data(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
uint16_t piv_put_data(cf_simcard_t *card, const cf_apdu_t *cmd);

#endif
