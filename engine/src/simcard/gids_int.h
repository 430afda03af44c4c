/*
 * gids_int.h - the inside of the gids virtual card, shared by its files.
 *
 * The card is split by job: gids.c (identity, factory states, SELECT and the
 * command dispatch), gids_fs.c (the GIDS file system: BER-TLV EFs holding
 * data objects, the key file, access conditions), gids_pin.c (user PIN
 * commands), gids_auth.c (admin key: MSE, GENERAL AUTHENTICATE, PUT KEY)
 * gids_keys.c (container key files: generation, import, public key),
 * gids_pso.c (MSE SET and PERFORM SECURITY OPERATION with a container
 * key) and gids_state.c (the state file). They all work on one struct gids_card,
 * reached as card->impl. Byte-level facts come from
 * docs/cards/gids.md and the GIDS reference it cites.
 */
#ifndef CF_SIMCARD_GIDS_INT_H
#define CF_SIMCARD_GIDS_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "simcard/simcard_int.h"

/* Status words only this card uses (the shared ones are in simcard_int.h). */
#define SW_GIDS_CLA_CHANNEL 0x6881  /* logical channel not supported */
#define SW_GIDS_CLA_SM 0x6882       /* secure messaging not supported */
#define SW_GIDS_INCOMPATIBLE 0x6981 /* command incompatible with file structure */
#define SW_GIDS_NOT_ALLOWED 0x6986  /* command not allowed (initialization mode) */
#define SW_GIDS_FILE_EXISTS 0x6A89
#define SW_GIDS_TRIES(n) ((uint16_t)(0x63C0 | ((n)&0x0f)))

#define GIDS_PIN_MIN 4
#define GIDS_PIN_MAX 16
#define GIDS_ADMIN_KEY_LEN 24
#define GIDS_TRIES_DEFAULT 5
#define GIDS_TRIES_LIMIT 15 /* 63Cx can only say 0..15 */

#define GIDS_MAX_EFS 32
#define GIDS_MAX_DOS 128
#define GIDS_FCP_MAX 255
/* Total bytes of data-object values the card can hold: about a Gemalto
 * .NET card's free EEPROM for the minidriver files. */
#define GIDS_STORAGE_MAX 65536

/* Data objects of the application (GET DATA with P1P2 = 3FFF). */
#define GIDS_DO_PIN_STATUS 0x7F71
#define GIDS_DO_PUK_STATUS 0x7F73
#define GIDS_DO_ADMIN_STATUS 0x7F7A /* quirk admin-counter, docs/cards/gids.md */
#define GIDS_DO_KEY_TEMPLATE 0x70

#define GIDS_FID_APP 0x3FFF
#define GIDS_FID_ADMIN_KEY 0xB080
#define GIDS_ADMIN_KEY_REF 0x80
/* Container keys: reference 81.. (container index + 0x81), key file
 * B000 | reference (OpenSC card-gids.c, GIDS_FIRST_KEY_IDENTIFIER). */
#define GIDS_KEY_REF_FIRST 0x81
#define GIDS_FID_KEY_BASE 0xB000
/* Control reference templates of a container key file (FCP A5). */
#define GIDS_CRT_SIGN 0xB6
#define GIDS_CRT_DECIPHER 0xB8

/* File descriptor bytes GIDS uses. */
#define GIDS_EF_DO 0x39  /* BER-TLV EF holding data objects */
#define GIDS_EF_KEY 0x18 /* key file */

/* Operation bits of the compact security attributes (tag 8C), per object
 * kind; the access-mode byte lists the ones that carry a condition byte. */
#define GIDS_OP_DF_DELETE_CHILD 0x01
#define GIDS_OP_DF_CREATE_EF 0x02
#define GIDS_OP_EF_ACTIVATE 0x10
#define GIDS_OP_EF_DELETE 0x40
#define GIDS_OP_DO_GET 0x01
#define GIDS_OP_DO_PUT 0x02
#define GIDS_OP_KEY_READ_PUBLIC 0x01
#define GIDS_OP_KEY_PUT 0x02
#define GIDS_OP_KEY_MSE 0x04
#define GIDS_OP_KEY_GENERATE 0x08

struct gids_ef {
    uint16_t fid;
    uint8_t type;   /* GIDS_EF_DO or GIDS_EF_KEY */
    uint8_t active; /* 0: creation state (only ACTIVATE allowed) */
    uint8_t fcp[GIDS_FCP_MAX];
    size_t fcp_len;
    /* A container key file's key pair (RSA), NULL until generated or
     * imported; owned, freed with the file system. */
    EVP_PKEY *pkey;
};

struct gids_do {
    uint16_t fid; /* the EF holding it */
    unsigned tag; /* BER tag, one to three bytes, as a big-endian number */
    uint8_t *val; /* owned; NULL when len is 0 */
    size_t len;
};

enum gids_challenge {
    GIDS_CH_NONE = 0,
    GIDS_CH_MUTUAL,   /* host sent R1, card answered R2 */
    GIDS_CH_EXTERNAL, /* card gave an 8-byte challenge */
};

struct gids_card {
    /* non-volatile */
    int operational; /* 0: creation / initialization mode (blank) */
    uint8_t pin[GIDS_PIN_MAX];
    size_t pin_len; /* 0: no PIN set yet */
    unsigned pin_tries, pin_max;
    uint8_t admin_key[GIDS_ADMIN_KEY_LEN];
    int has_admin_key;
    /* Whether the card counts admin-key tries at all: the gemalto stock
     * does (5), a card initialised from blank does not (as GidsApplet),
     * unless the admin-counter quirk gives it the readable counter. Fixed
     * by base, factory state and quirks, so not in the state file. */
    int counts_admin;
    unsigned admin_tries, admin_max;
    struct gids_ef efs[GIDS_MAX_EFS];
    size_t n_efs;
    struct gids_do dos[GIDS_MAX_DOS];
    size_t n_dos;
    size_t do_bytes;

    /* volatile: cleared by reset, power and SELECT of the application */
    int pin_verified;
    int admin_auth;
    int mse_admin; /* MSE SET chose the admin key for authentication */
    enum gids_challenge challenge;
    uint8_t host_rnd[16]; /* R1 of the mutual form */
    uint8_t card_rnd[16]; /* R2 (mutual) or the 8-byte challenge (external) */
    int cur_ef;           /* index into efs, -1: the application is current */
    /* MSE SET 41 for a container key: reference (0: none), the CRT it
     * chose (B6 sign / B8 decipher) and its algorithm reference. */
    uint8_t se_key, se_op, se_alg;

    /* loading: the first "ef" line replaces the factory file system */
    int loading_fs;
};

static inline struct gids_card *gids_of(const cf_simcard_t *card)
{
    return (struct gids_card *)card->impl;
}

/* gids.c */
void cf_gids_logout(struct gids_card *g);
void cf_gids_clear_challenge(struct gids_card *g);
/* Spend one try of *tries and make it durable before the caller looks at
 * the secret. -1: the save failed; the caller answers 6581 and stops. */
int cf_gids_spend_try(cf_simcard_t *card, unsigned *tries);
/* After a proven secret: set *tries to max and save. -1: the save failed,
 * the try stays spent and the caller answers 6581 without granting. */
int cf_gids_restore_tries(cf_simcard_t *card, unsigned *tries, unsigned max);

/* gids_fs.c */
/* The application's own FCP; its 8C says who may create EFs. */
extern const uint8_t cf_gids_app_fcp[];
extern const size_t cf_gids_app_fcp_len;
/* Validate an FCP (tag 62 template) as CREATE FILE and the state file
 * accept it; on success fill fid and type. Returns 0 or an SW. */
uint16_t cf_gids_check_fcp(const uint8_t *fcp, size_t len, uint16_t *fid, uint8_t *type);
struct gids_ef *cf_gids_find_ef(struct gids_card *g, uint16_t fid);
/* Whether the current security state allows operation `op` on ef (NULL:
 * the application itself). Returns 0 or the SW to answer. */
uint16_t cf_gids_check_access(const struct gids_card *g, const struct gids_ef *ef, uint8_t op);
/* Store (replace) a data object; 0 or an SW (6A84 when full). */
uint16_t cf_gids_store_do(struct gids_card *g, uint16_t fid, unsigned tag, const uint8_t *val,
                          size_t len);
struct gids_do *cf_gids_find_do(struct gids_card *g, uint16_t fid, unsigned tag);
/* Add an EF; 0 or an SW. */
uint16_t cf_gids_add_ef(struct gids_card *g, const uint8_t *fcp, size_t len, int active);
void cf_gids_free_fs(struct gids_card *g);

uint16_t cf_gids_create_file(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t cf_gids_activate(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t cf_gids_get_data(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
uint16_t cf_gids_put_data(cf_simcard_t *card, const cf_apdu_t *cmd);

/* gids_pin.c */
uint16_t cf_gids_verify(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t cf_gids_change_reference(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t cf_gids_reset_retry_counter(cf_simcard_t *card, const cf_apdu_t *cmd);
/* GET DATA 3FFF 7F71: the PIN try counter and limit. */
/* A retry counter as GIDS shows it: TLV tag { 97 01 left, 93 01 max }. */
uint16_t cf_gids_counter_status(unsigned tag, unsigned left, unsigned max, cf_wcursor *resp);
uint16_t cf_gids_pin_status(const struct gids_card *g, unsigned tag, cf_wcursor *resp);

/* gids_auth.c */
uint16_t cf_gids_mse(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t cf_gids_general_authenticate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
/* PUT DATA 3FFF with the key template 70 {84 01 80, A5 {87 18 K, 88 ..}}. */
uint16_t cf_gids_put_key(cf_simcard_t *card, const uint8_t *data, size_t len);
/* GET DATA 3FFF 7F7A (quirk admin-counter): admin key tries left / limit;
 * without the quirk the DO does not exist. */
uint16_t cf_gids_admin_status(const struct gids_card *g, unsigned tag, cf_wcursor *resp);

/* gids_keys.c */
/* Check the A5 of a container key file's FCP: one or more CRTs B6 / B8,
 * each with an algorithm reference 80 01 xx of one RSA size; *bits gets
 * that size. 0 or an SW (6A81: an algorithm the card does not have). */
uint16_t cf_gids_check_container_template(const uint8_t *a5, size_t len, unsigned *bits);
/* The RSA size of a container key file (0: not one). */
unsigned cf_gids_key_bits(const struct gids_ef *ef);
/* The container key file of reference ref, or NULL. */
struct gids_ef *cf_gids_key_file(struct gids_card *g, unsigned ref);
/* The key file of ref, if the security state allows op on it: 0, 6A88
 * (no such container key file) or the access condition's SW. */
uint16_t cf_gids_key_access(struct gids_card *g, unsigned ref, uint8_t op, struct gids_ef **ef);
uint16_t cf_gids_generate(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
/* DELETE FILE of a container key file (the current EF, or data = FID). */
uint16_t cf_gids_delete_key_file(cf_simcard_t *card, const cf_apdu_t *cmd);
/* GET DATA 3FFF with 70 {84 01 ref, A5 ..}: the public key as 7F49. */
uint16_t cf_gids_read_public(cf_simcard_t *card, const uint8_t *tpl, size_t len, cf_wcursor *resp);
/* PUT DATA 3FFF 70 {84 01 ref, A5 {83 01 02, 84 01 00, 87 {RSAPrivateKey}}}
 * for a container reference: the A5 value. */
uint16_t cf_gids_import_key(cf_simcard_t *card, unsigned ref, const uint8_t *a5, size_t len);
/* State file: "key=FID:DER" lines (PKCS#1 RSAPrivateKey). */
int cf_gids_save_keys(const struct gids_card *g, FILE *f);
int cf_gids_load_key(struct gids_card *g, const char *value, char *err, size_t errlen);

/* gids_pso.c */
void cf_gids_clear_se(struct gids_card *g);
/* MSE SET P1=41 (computation, decipherment) with a container key. */
uint16_t cf_gids_mse_key(cf_simcard_t *card, const cf_apdu_t *cmd);
uint16_t cf_gids_pso(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);

/* gids_state.c */
int cf_gids_save(const cf_simcard_t *card, FILE *f);
int cf_gids_load(cf_simcard_t *card, const char *key, const char *value, char *err, size_t errlen);

#endif
