/*
 * profile_int.h - a loaded card profile as the card layer uses it
 * (internal to libcardforge: engine/src/profile and engine/src/card).
 *
 * The YAML is checked and compiled once, at load: templates are compiled,
 * status words and paths parsed, factory values moved into cf_secret_t. The
 * card layer then reads these structs and never looks at YAML. The merged
 * YAML tree is kept too, because a profile loaded later may `extends:` this
 * one.
 */
#ifndef CF_PROFILE_INT_H
#define CF_PROFILE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/card.h>

#include "profile/match.h"
#include "profile/tmpl.h"
#include "profile/ytree.h"

#define CF_PROF_MAX_SW 8
#define CF_PROF_MAX_ATR 16
#define CF_PROF_MAX_ALGS 8
#define CF_PROF_NAME_MAX 64

/* One command: an APDU template, its Le, and what its answers mean. */
typedef struct cf_prof_cmd {
    int present;
    cf_tmpl_t *apdu;
    size_t le;                   /* 0: no Le field; 1..256 */
    uint16_t ok[CF_PROF_MAX_SW]; /* success (default 9000) */
    size_t n_ok;
    uint16_t wrong[CF_PROF_MAX_SW]; /* "wrong secret" besides 63Cx */
    size_t n_wrong;
    uint16_t unknown[CF_PROF_MAX_SW]; /* counter reads: the card cannot say */
    size_t n_unknown;
    cf_tlv_path_t response; /* where the value of interest is */
    int has_response;
    const char *file; /* where the command is written, for messages */
    unsigned long line;
} cf_prof_cmd_t;

typedef enum cf_text_format {
    CF_FMT_DECIMAL = 0, /* unsigned big-endian integer, 1..8 bytes */
    CF_FMT_HEX_LOWER,
    CF_FMT_HEX_UPPER,
    CF_FMT_DOTTED, /* each byte in decimal, joined by '.' ("5.4.3") */
} cf_text_format_t;

/* A value read from the card and shown as text (serial, version). */
typedef struct cf_prof_read {
    cf_prof_cmd_t cmd;
    cf_field_t value;
    cf_text_format_t format;
} cf_prof_read_t;

/* How a retry counter is read without spending a try. */
typedef struct cf_prof_counter {
    int readable;         /* 0: kind says what it is */
    cf_tries_kind_t kind; /* when not readable: UNKNOWN or UNLIMITED */
    cf_prof_cmd_t cmd;
    cf_field_t left;
    cf_field_t max;
    int has_max;
    int absent_set;         /* `absent:` given */
    cf_tries_kind_t absent; /* when `left` is absent from a 9000 answer */
    /* `left: status-word`: the counter is the answer's status word (an
     * empty VERIFY: 63Cx = x left, 6983 = blocked), not a data field. */
    int from_sw;
} cf_prof_counter_t;

typedef enum cf_charset {
    CF_CHARSET_DIGITS = 0,
    CF_CHARSET_ALNUM,
    CF_CHARSET_ASCII, /* printable 0x20..0x7E */
    CF_CHARSET_ANY,   /* any byte but NUL (and the padding byte) */
} cf_charset_t;

typedef struct cf_prof_cred {
    int present;
    uint8_t ref;
    cf_secret_t *factory;
    size_t min_len, max_len;
    cf_charset_t charset;
    int padded;
    uint8_t pad_byte;
    size_t pad_to;
    cf_prof_counter_t tries;
} cf_prof_cred_t;

typedef enum cf_scheme {
    CF_SCHEME_PIV_9B = 0,   /* mutual, PIV SP 800-73 / yubico-piv-tool */
    CF_SCHEME_GIDS_MUTUAL,  /* mutual, OpenSC gids-tool */
    CF_SCHEME_GIDS_EXTERNAL /* one-way challenge-response */
} cf_scheme_t;

typedef struct cf_prof_auth {
    int present;
    cf_scheme_t scheme;
    cf_prof_cmd_t prepare; /* optional (MSE SET) */
    cf_prof_cmd_t challenge;
    cf_prof_cmd_t answer;
} cf_prof_auth_t;

typedef struct cf_prof_alg {
    cf_card_key_type_t type;
    uint8_t id;
} cf_prof_alg_t;

typedef struct cf_prof_admin {
    int present;
    uint8_t ref;
    cf_secret_t *factory;
    cf_prof_alg_t algs[CF_PROF_MAX_ALGS];
    size_t n_algs;
    cf_prof_read_t alg_read; /* optional: the card says which algorithm it has */
    cf_prof_counter_t tries;
    cf_prof_auth_t auth;
    cf_prof_auth_t external;
} cf_prof_admin_t;

typedef enum cf_reselect_how {
    CF_RESELECT_SELECT = 0, /* SELECT the application again */
    CF_RESELECT_RESET = 1,  /* warm reset, then SELECT (cards that keep state on SELECT) */
} cf_reselect_how_t;

/* How the card keeps asymmetric keys and their certificates (the
 * operations of cert.h): the byte layouts of each scheme are C, in
 * engine/src/card/card_cert_*.c, like the admin-key schemes' crypto. */
typedef enum cf_keys_scheme {
    CF_KEYS_NONE = 0,    /* no `keys:`: certificate operations are unsupported */
    CF_KEYS_PIV,         /* SP 800-73-4: GENERATE, GENERAL AUTHENTICATE, certificate objects */
    CF_KEYS_PIV_YUBIKEY, /* the above plus IMPORT (FE), GET METADATA (F7), PIN/touch policies */
    CF_KEYS_GIDS,        /* GIDS key files + the minidriver files OpenSC writes */
} cf_keys_scheme_t;

/* The operations of card.h, by template. */
typedef enum cf_op {
    CF_OP_VERIFY_PIN = 0,
    CF_OP_CHANGE_PIN,
    CF_OP_UNBLOCK_PIN_BY_PUK,
    CF_OP_CHANGE_PUK,
    CF_OP_SET_ADMIN_KEY,
    CF_OP_UNBLOCK_PIN_BY_ADMIN,
    CF_OP_COUNT
} cf_op_t;

struct cf_profile {
    char name[CF_PROF_NAME_MAX + 1];
    char family[8];
    char *description;
    char *base; /* the profile it extends, or NULL */
    char pin_policy_text[96];
    cf_ynode_t *tree; /* merged YAML, for profiles that extend this one */

    /* Identification. The SELECT is the recognition; ATR patterns only
     * put a profile first in line; the probe (optional, a read that spends
     * no try) proves an extension the base profile does not assume. */
    cf_atr_pattern_t atr[CF_PROF_MAX_ATR];
    size_t n_atr;
    cf_prof_cmd_t select; /* also reselects */
    cf_expect_t select_expect;
    cf_prof_cmd_t probe;
    cf_expect_t probe_expect;

    cf_prof_read_t serial;
    char serial_source[200]; /* the serial's command and field, for people */
    cf_prof_read_t version;  /* cmd.present 0: none */

    cf_prof_cred_t pin, puk;
    cf_prof_admin_t admin;
    cf_prof_cmd_t ops[CF_OP_COUNT];
    cf_reselect_how_t reselect;
    cf_keys_scheme_t keys;
};

/* The profile of credential c (pin, puk); NULL for the admin key. */
const cf_prof_cred_t *cf_prof_cred(const cf_profile_t *p, cf_cred_t c);

/* The counter description of c (any credential). */
const cf_prof_counter_t *cf_prof_counter(const cf_profile_t *p, cf_cred_t c);

/* 1 when the profile has credential c. */
int cf_prof_has_cred(const cf_profile_t *p, cf_cred_t c);

/* The algorithm entry of type, or NULL. */
const cf_prof_alg_t *cf_prof_alg_by_type(const cf_profile_t *p, cf_card_key_type_t type);
const cf_prof_alg_t *cf_prof_alg_by_id(const cf_profile_t *p, uint8_t id);

/* Check value[0..len) against c's policy (length, characters, not the
 * padding byte). 0 fits; -1 the length does not, -2 a character does not
 * (the padding byte included), with the reason in why (never the value). */
int cf_prof_policy_check(const cf_prof_cred_t *c, const uint8_t *value, size_t len, char *why,
                         size_t whylen);

/* Write c's policy as text ("6-8 characters, ASCII"). */
void cf_prof_policy_text(const cf_prof_cred_t *c, char *out, size_t outlen);

/* Validate and compile a merged tree into p (name already set). Every
 * problem goes to diags; returns the number of errors found. */
size_t cf_prof_build(cf_profile_t *p, const cf_ynode_t *tree, cf_diag_list_t *diags);

/* Free what cf_prof_build allocated, and p. */
void cf_prof_free(cf_profile_t *p);

/* The identification order of a set (most specific first), borrowed. */
size_t cf_profiles_ident_count(const cf_profiles_t *set);
const cf_profile_t *cf_profiles_ident_at(const cf_profiles_t *set, size_t i);

#endif
