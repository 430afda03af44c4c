/*
 * simcard_int.h - what a card type implements, and what the core gives it.
 *
 * The core (simcard.c) owns everything all cards share: power and reset,
 * ISO command chaining (CLA bit 0x10) and 61xx response chaining with GET
 * RESPONSE, the state file, and the cost accounting. A card type sees one
 * complete, parsed command at a time and writes its response data into a
 * bounded cursor; it never sees chaining or the file format.
 */
#ifndef CF_SIMCARD_INT_H
#define CF_SIMCARD_INT_H

#include <stdio.h>

#include <cardforge/simcard.h>

#include "apdu/apdu.h"
#include "util/cursor.h"

/* Status words the cards share. */
#define SW_OK 0x9000
#define SW_WRONG_LENGTH 0x6700
#define SW_SECURITY_STATUS 0x6982
#define SW_AUTH_BLOCKED 0x6983
#define SW_INVALID_DATA 0x6984
#define SW_CONDITIONS 0x6985
#define SW_WRONG_DATA 0x6A80
#define SW_FUNC_NOT_SUPPORTED 0x6A81
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_NOT_ENOUGH_MEMORY 0x6A84
#define SW_INCORRECT_P1P2 0x6A86
#define SW_REF_NOT_FOUND 0x6A88
#define SW_WRONG_P1P2 0x6B00
#define SW_INS_NOT_SUPPORTED 0x6D00
#define SW_CLA_NOT_SUPPORTED 0x6E00
#define SW_MEMORY_FAILURE 0x6581
#define SW_UNKNOWN 0x6F00

struct cf_simcard_ops {
    /* The factory state a NULL factory means, as recorded in state files. */
    const char *default_factory;
    /* Set up card->impl in the named factory state (NULL = default);
     * card->base, card->quirks and card->from_file are already set (a card
     * made for the loader gets its data objects from the file, not from the
     * factory). CF_ERR_NOT_FOUND for an unknown state, or one the quirks
     * cannot apply to. */
    cf_err_t (*create)(cf_simcard_t *card, const char *factory);
    /* Wipe and free card->impl. */
    void (*destroy)(cf_simcard_t *card);
    /* The base's own ATR (the core applies the atr-* quirks). */
    size_t (*atr)(const cf_simcard_t *card, uint8_t *atr, size_t cap);
    /* Clear volatile state (power on/off, reset). */
    void (*reset)(cf_simcard_t *card);
    /* Process one complete command; response data goes to resp (whose
     * capacity is 65536), the status word is returned. */
    uint16_t (*process)(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp);
    /* Write the non-volatile state as "key=value\n" lines (the core writes
     * type, factory and serial first). Return 0 or -1. */
    int (*save)(const cf_simcard_t *card, FILE *f);
    /* Apply one "key=value" line of a state file; -1 for an unknown key or
     * a bad value (with a message in err). */
    int (*load)(cf_simcard_t *card, const char *key, const char *value, char *err, size_t errlen);
    /* Optional (NULL: nothing to check). Called once after the last line of
     * a state file, for what no single line can show (a counter above its
     * maximum, a key whose length does not fit its algorithm). Return 0, or
     * -1 with a message in err. */
    int (*loaded)(cf_simcard_t *card, char *err, size_t errlen);
};

/* The bases: which card type code runs, and for piv_*.c whether the
 * YubiKey extensions are there. */
enum cf_sim_base {
    CF_SIM_PIV,     /* SP 800-73-4 PIV, no vendor extensions */
    CF_SIM_YUBIKEY, /* PIV as a YubiKey 5.4.3 has it */
    CF_SIM_GIDS,    /* GIDS v2 */
};

/* Quirks, one bit each; variant.c holds the table that names and
 * describes them and says which bases take them. */
#define CF_Q_ADMIN_COUNTER 0x0001u    /* gids: 7F7A readable, wrong cryptogram 63Cx */
#define CF_Q_AID_FULL 0x0002u         /* piv: SELECT answers the whole AID in 4F */
#define CF_Q_ATR_OTHER 0x0004u        /* ATR 3B 80 80 01 01 */
#define CF_Q_ATR_YUBIKEY 0x0008u      /* the YubiKey 5 USB ATR */
#define CF_Q_WRONG_6A80 0x0010u       /* wrong admin cryptogram: 6A80 */
#define CF_Q_WRONG_63CX 0x0020u       /* wrong admin cryptogram: 63Cx */
#define CF_Q_WRONG_6982 0x0040u       /* wrong admin cryptogram: 6982 */
#define CF_Q_ABSENT_6A82 0x0080u      /* absent data object: 6A82 */
#define CF_Q_ABSENT_6984 0x0100u      /* absent data object: 6984 */
#define CF_Q_NO_VERIFY_STATUS 0x0200u /* piv: empty VERIFY answers 6A80 */

struct cf_simcard {
    const struct cf_simcard_ops *ops;
    void *impl;
    enum cf_sim_base base;
    unsigned quirks;                /* CF_Q_* bits */
    char type[CF_SIMCARD_TYPE_MAX]; /* canonical BASE[+QUIRK...] */
    int from_file;                  /* created by the loader: the file says what it holds */
    uint32_t serial;
    char factory[32];
    char *state_path;
    int powered;
    cf_simcard_cost_t cost;
    /* command chaining */
    uint8_t *chain;
    size_t chain_len;
    uint8_t chain_ins, chain_p1, chain_p2;
    int chaining;
    /* response chaining */
    uint8_t *pending;
    size_t pending_len, pending_off;
};

extern const struct cf_simcard_ops cf_simcard_piv_ops;
extern const struct cf_simcard_ops cf_simcard_gids_ops;

/* ---- variant.c: bases and quirks ---- */

/* A parsed card type. */
struct cf_simcard_variant {
    enum cf_sim_base base;
    unsigned quirks;
};

/* Parse BASE[+QUIRK...] (see cf_simcard_type_check). 0, or -1 with a
 * message in err. */
int cf_simcard_variant_parse(const char *type, struct cf_simcard_variant *v, char *err,
                             size_t errlen);
/* The card type code of a base, and the base's name. */
const struct cf_simcard_ops *cf_simcard_base_ops(enum cf_sim_base base);
const char *cf_simcard_base_name(enum cf_sim_base base);
/* Canonical name of v into out (cap >= CF_SIMCARD_TYPE_MAX); the quirks
 * alone, '+'-separated, when quirks_only. */
void cf_simcard_variant_name(const struct cf_simcard_variant *v, int quirks_only, char *out,
                             size_t cap);

static inline int cf_simcard_has(const cf_simcard_t *card, unsigned quirk)
{
    return (card->quirks & quirk) != 0;
}

/* The YubiKey 5 USB (CCID) ATR: the yubikey base's own, and atr-yubikey's. */
extern const uint8_t cf_simcard_yubikey_atr[];
extern const size_t cf_simcard_yubikey_atr_len;
/* The ATR an atr-* quirk imposes: its length (copied to atr), or 0 when
 * the card has no such quirk and the base's own ATR applies. */
size_t cf_simcard_quirk_atr(const cf_simcard_t *card, uint8_t *atr, size_t cap);
/* The status word for a well-formed but wrong admin-key cryptogram: the
 * wrong-* quirk's if the card has one (wrong-63cx: 63Cx with x = tries,
 * capped at 15), else dflt. */
uint16_t cf_simcard_wrong_sw(const cf_simcard_t *card, uint16_t dflt, unsigned tries);
/* The status word for a data object the card does not have: the absent-*
 * quirk's, else dflt. */
uint16_t cf_simcard_absent_sw(const cf_simcard_t *card, uint16_t dflt);

/* Save the non-volatile state now, if a state file is set; counts one NV
 * write either way. Card types call this after every change and BEFORE
 * acting on a secret comparison whose counter they just decremented.
 * Returns 0, or -1 when the save failed: the card must then answer
 * SW_MEMORY_FAILURE and not act on the comparison. */
int cf_simcard_persist(cf_simcard_t *card);

/* Count one on-card cryptographic operation for the latency model. */
void cf_simcard_count_crypto(cf_simcard_t *card);

/* The asymmetric operations the latency model prices apart. */
enum cf_sim_cost_kind {
    CF_SIM_COST_KEYGEN_RSA,
    CF_SIM_COST_KEYGEN_EC,
    CF_SIM_COST_PRIVATE_RSA,
    CF_SIM_COST_PRIVATE_EC,
};
void cf_simcard_count(cf_simcard_t *card, enum cf_sim_cost_kind kind);

/* Helpers for state files: hex values and unsigned numbers. */
void cf_simcard_put_hex(FILE *f, const char *key, const uint8_t *p, size_t len);
/* Decode hex value into out (cap bytes); returns length or -1. */
long cf_simcard_get_hex(const char *value, uint8_t *out, size_t cap);
/* Parse a decimal number <= max; returns 0 or -1. */
int cf_simcard_get_uint(const char *value, unsigned long max, unsigned long *out);
/* v as 2 * n BCD digits, zero-padded on the left, into out[0..n) (a
 * serial number a host shows in hex then reads in decimal). */
void cf_simcard_put_bcd(uint32_t v, uint8_t *out, size_t n);

#endif
