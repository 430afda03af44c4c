/*
 * card.h - card profiles (YAML) and the operations the engine performs on a
 * card through them.
 *
 * A profile (profiles/<name>.yaml, schema in docs/profiles.md) says how to
 * recognise a card type, how to read its serial and retry counters without
 * spending a try, its PIN/PUK/admin-key references, factory values and
 * policies, its admin-key authentication scheme, and the APDU templates of
 * each operation. Card-specific bytes live in the YAML; generic mechanisms
 * (padding, TLV, the crypto of each authentication scheme) are C.
 *
 * A cf_card_t is one identified card on one open transport: the profile that
 * matched, its serial, and the session state (admin authenticated, PIN
 * verified, which credentials already saw a failed attempt). Every operation
 * below sends APDUs built from the profile, through the transport, and maps
 * the card's answer to a cf_err_t.
 *
 * Safety guards live HERE, not in the callers, so that every tool (the
 * runner, the officer's desk, the PIN tool) gets them:
 *   - before every PUK or admin-key attempt the remaining tries are read
 *     (without spending one); an attempt that could use the last try is
 *     refused with CF_ERR_LAST_TRY unless CF_OP_ALLOW_LAST_TRY is given;
 *   - a credential whose counter the card cannot report gets at most one
 *     attempt per cf_card_t: after a failure every later attempt on it is
 *     refused (CF_ERR_REFUSED), as is any second attempt with a secret the
 *     card already rejected;
 *   - no operation touches a counter other than the one it names.
 *
 * Threads: a cf_card_t is used by one thread at a time, like its transport.
 * A cf_profiles_t is read-only after loading and may be shared by threads.
 */
#ifndef CARDFORGE_CARD_H
#define CARDFORGE_CARD_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/keys.h>
#include <cardforge/secret.h>
#include <cardforge/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- profiles ------------------------------------------------------------ */

typedef struct cf_profiles cf_profiles_t;
typedef struct cf_profile cf_profile_t;

/* Load every *.yaml in dir (a profile may `extends:` another in the same
 * directory). Every problem goes to diags as "file:line: message";
 * CF_ERR_INVALID when any profile is wrong (then *out is NULL), CF_ERR_IO
 * when dir cannot be read. The caller owns *out. */
cf_err_t cf_profiles_load(const char *dir, cf_diag_list_t *diags, cf_profiles_t **out);

/* Load one profile document from memory (name is used in diagnostics and
 * must be the profile's file name without .yaml); `extends` is resolved
 * against the profiles already in set (may be NULL). Used by the fuzz
 * target and tests. On CF_OK the profile was added to *set (created when
 * *set is NULL). */
cf_err_t cf_profiles_add_mem(cf_profiles_t **set, const char *name, const char *yaml, size_t len,
                             cf_diag_list_t *diags);

void cf_profiles_free(cf_profiles_t *set); /* NULL is fine */

/* The directory the profiles are read from when none is named: the
 * environment's CARDFORGE_PROFILES when set; else, found once per process,
 * EXE_DIR/../share/cardforge/profiles (an installed program, through
 * /proc/self/exe), the source tree's profiles/ for a program inside a build
 * tree, LIB_DIR/../share/cardforge/profiles (a program linked to the
 * installed shared library), or the configured DATADIR/cardforge/profiles.
 * Borrowed; never NULL. docs/profiles.md tells the order and why. */
const char *cf_profiles_default_dir(void);

size_t cf_profiles_count(const cf_profiles_t *set);
const cf_profile_t *cf_profiles_at(const cf_profiles_t *set, size_t i);           /* borrowed */
const cf_profile_t *cf_profiles_find(const cf_profiles_t *set, const char *name); /* or NULL */

const char *cf_profile_name(const cf_profile_t *p);   /* "piv-yubikey", "gids-gemalto" */
const char *cf_profile_family(const cf_profile_t *p); /* "piv" or "gids" (the scheme family) */
const char *cf_profile_description(const cf_profile_t *p);
/* Where the profile reads a card's serial, for people ("APDU 00 CB 3F FF
 * 5C(5F C1 02), field 53/34"). */
const char *cf_profile_serial_source(const cf_profile_t *p);

/* ---- opening a card ------------------------------------------------------ */

typedef struct cf_card cf_card_t;

/* Identify the card on t and select its application. With profile_name
 * NULL: the application answering a profile's SELECT recognises the card
 * (the ATR never has to match: a profile whose ATR patterns name the card
 * is only tried first); profiles are tried most specific first, and one
 * that extends another is chosen only when its probe (a read that spends
 * no try) or its ATR patterns show the card is of that kind. With a
 * profile_name, only that profile's SELECT has to succeed
 * (CF_ERR_NOT_FOUND when no such profile, CF_ERR_UNKNOWN_CARD when the
 * card does not answer it). Then the serial is read (PIV: GET SERIAL of a
 * YubiKey, else the CHUID's GUID; GIDS: CARDID). On a PC/SC reader still
 * settling after an insertion (a transport error or a reset on these
 * first, read-only exchanges) it retries after a warm reset for at most
 * 200 ms.
 * t and profiles are BORROWED and must outlive the card. On failure a
 * message is written to errbuf (may be NULL). The caller owns *out. */
cf_err_t cf_card_open(cf_transport_t *t, const cf_profiles_t *profiles, const char *profile_name,
                      cf_card_t **out, char *errbuf, size_t errlen);

/* Free the card object (not the transport); wipes its session secrets. */
void cf_card_free(cf_card_t *card);

cf_transport_t *cf_card_transport(const cf_card_t *card);
const cf_profile_t *cf_card_profile(const cf_card_t *card);

/* The serial as the card reports it, in the profile's text form (YubiKey:
 * decimal of the 4-byte serial; standard PIV: 32 hex digits of the CHUID's
 * GUID; GIDS: 32 hex digits of CARDID). This is the
 * string key derivation and the journal use. Borrowed. */
const char *cf_card_serial(const cf_card_t *card);

/* Card/application version as text ("5.4.3"), "" when the profile has no
 * way to read it. Borrowed. */
const char *cf_card_version(const cf_card_t *card);

/* How the card was recognised: one line per profile considered, in the
 * order they were tried, saying what the card answered (for `cardforge
 * probe`). Borrowed. */
const char *cf_card_ident_log(const cf_card_t *card);

/* The answer to the SELECT of the card's application (at most 64 bytes
 * kept), e.g. the PIV application property template. Borrowed. */
const uint8_t *cf_card_select_answer(const cf_card_t *card, size_t *len);

/* The message of the last failed operation on card ("" after a success):
 * names the operation, the card's status word and its meaning, never a
 * secret. Borrowed, valid until the next call on card. */
const char *cf_card_errmsg(const cf_card_t *card);

/* The status word of the card's last answer (0 when none). */
uint16_t cf_card_last_sw(const cf_card_t *card);

/* What the last operation did to the card, for reports that must say
 * exactly which changes reached it. */
typedef enum cf_card_write {
    CF_WRITE_NONE = 0,    /* no command that changes the card was delivered */
    CF_WRITE_DONE = 1,    /* a changing command was sent and the card answered */
    CF_WRITE_UNKNOWN = 2, /* a changing command was handed to the reader and its
                             answer was lost (card pulled, reader gone) */
} cf_card_write_t;

/* Set at the start of every operation to CF_WRITE_NONE and updated as its
 * changing commands (VERIFY with a wrong value counts: it spends a try) go
 * out and come back. */
cf_card_write_t cf_card_last_write(const cf_card_t *card);

/* ---- what the card type can do ----------------------------------------- */

typedef enum cf_cred {
    CF_CRED_PIN = 0,
    CF_CRED_PUK = 1,
    CF_CRED_ADMIN = 2, /* admin / card manager / PIV management key */
    CF_CRED_COUNT
} cf_cred_t;

const char *cf_cred_name(cf_cred_t c); /* "PIN", "PUK", "admin key" */

typedef enum cf_card_cap {
    CF_CAP_PUK = 0,       /* the card has a PUK */
    CF_CAP_PIN_BY_PUK,    /* RESET RETRY COUNTER with the PUK sets the PIN */
    CF_CAP_CHANGE_PUK,    /* CHANGE REFERENCE DATA of the PUK */
    CF_CAP_PIN_BY_ADMIN,  /* admin authentication, then RESET RETRY COUNTER */
    CF_CAP_SET_ADMIN_KEY, /* the admin key can be replaced */
    CF_CAP_EXTERNAL_AUTH, /* one-way challenge-response with the admin key */
    CF_CAP_ID_OBJECTS,    /* PIV CHUID and CCC written by PUT DATA under the admin key
                             (idobj.h) */
} cf_card_cap_t;

int cf_profile_can(const cf_profile_t *p, cf_card_cap_t cap);

/* 1 when the card type has credential c at all (GIDS has no PUK). */
int cf_profile_has(const cf_profile_t *p, cf_cred_t c);

/* The factory value of a credential (PIN/PUK as text, admin key as bytes),
 * or NULL when the profile names none. Borrowed from the profile. */
const cf_secret_t *cf_profile_factory(const cf_profile_t *p, cf_cred_t c);

/* The admin key type the profile uses by default for keys of len bytes
 * (PIV: 24 -> 3des, 16 -> aes128, 32 -> aes256; GIDS: 24 -> 3des only).
 * CF_ERR_POLICY when the card type takes no key of that length. */
cf_err_t cf_profile_admin_key_type(const cf_profile_t *p, size_t len, cf_card_key_type_t *out);

/* Check a PIN or PUK against the profile's policy (length, characters)
 * before the card is asked. CF_ERR_POLICY with a reason in why (never the
 * value). */
cf_err_t cf_profile_check_policy(const cf_profile_t *p, cf_cred_t c, const cf_secret_t *value,
                                 char *why, size_t whylen);

/* A short human description of the PIN policy ("6-8 characters, ASCII"). */
const char *cf_profile_pin_policy_text(const cf_profile_t *p);

/* ---- retry counters -------------------------------------------------------- */

typedef enum cf_tries_kind {
    CF_TRIES_KNOWN = 0,     /* left/max were read from the card */
    CF_TRIES_UNKNOWN = 1,   /* the card cannot report them: one attempt only */
    CF_TRIES_UNLIMITED = 2, /* the credential has no retry counter (YubiKey 9B) */
} cf_tries_kind_t;

typedef struct cf_tries {
    cf_tries_kind_t kind;
    unsigned left; /* 0 = blocked; only with CF_TRIES_KNOWN */
    unsigned max;  /* 0 when the card does not say */
    /* With CF_TRIES_UNKNOWN: the status word with which the card refused
     * the read (it cannot tell now), or 0 when the card type has no way to
     * report this counter at all (nothing was asked). A counter read from
     * an empty VERIFY answered 9000 (the credential is verified) is UNKNOWN
     * with sw 9000. */
    uint16_t sw;
} cf_tries_t;

/* Read c's counter without spending a try. Any status word but success
 * means the card cannot tell (CF_TRIES_UNKNOWN, the word in sw): a read
 * never stops an operation. CF_ERR_UNSUPPORTED when the card type has no
 * such credential (GIDS PUK). */
cf_err_t cf_card_tries(cf_card_t *card, cf_cred_t c, cf_tries_t *out);
/* cf_card_tries answers from what the card said in this session (a read, a
 * 63Cx, a 6983) as long as nothing could have changed the counter since (a
 * command presenting another credential never touches it; a success may
 * raise it: then it asks); cf_card_tries_now always asks, for proofs. */
cf_err_t cf_card_tries_now(cf_card_t *card, cf_cred_t c, cf_tries_t *out);
/* What the card last said of c's counter in this session, asking nothing:
 * CF_OK with *out, *exact 0 when it is only a lower bound (a success since
 * may have raised the counter; none lowered it); CF_ERR_NOT_FOUND when the
 * card said nothing yet. exact may be NULL. */
cf_err_t cf_card_tries_said(const cf_card_t *card, cf_cred_t c, cf_tries_t *out, int *exact);

/* ---- operations ------------------------------------------------------------ */

/* flags for the operations below */
#define CF_OP_ALLOW_LAST_TRY 0x1u /* the operator allowed spending the last try */

/* Results common to the operations: CF_OK; CF_ERR_WRONG_SECRET (the card
 * refused the secret; the counter went down; cf_card_errmsg says how many
 * tries are left); CF_ERR_BLOCKED; CF_ERR_LAST_TRY and CF_ERR_REFUSED (the
 * guards above: NOTHING was sent that could spend a try); CF_ERR_POLICY (the
 * value breaks the profile's policy, nothing sent); CF_ERR_CARD_STATUS (an
 * unexpected status word); transport errors (CF_ERR_CARD_REMOVED...).
 * Secrets are BORROWED and never copied beyond the call except into the
 * card's own wiped session state. */

cf_err_t cf_card_verify_pin(cf_card_t *card, const cf_secret_t *pin);
cf_err_t cf_card_change_pin(cf_card_t *card, const cf_secret_t *old_pin,
                            const cf_secret_t *new_pin);
/* RESET RETRY COUNTER with the PUK: the PIN becomes new_pin, its counter
 * is reset. Guarded on the PUK counter. */
cf_err_t cf_card_unblock_pin_by_puk(cf_card_t *card, const cf_secret_t *puk,
                                    const cf_secret_t *new_pin, unsigned flags);
cf_err_t cf_card_change_puk(cf_card_t *card, const cf_secret_t *old_puk, const cf_secret_t *new_puk,
                            unsigned flags);
/* Authenticate with the admin key by the profile's scheme (PIV 9B mutual
 * GENERAL AUTHENTICATE; GIDS mutual). Guarded on the admin counter. The
 * authenticated state lasts until cf_card_reselect or a reset. */
cf_err_t cf_card_admin_auth(cf_card_t *card, const cf_secret_t *key, unsigned flags);
/* Replace the admin key (needs admin authentication first). The key type
 * follows from its length (cf_profile_admin_key_type). */
cf_err_t cf_card_set_admin_key(cf_card_t *card, const cf_secret_t *new_key);
/* Set the PIN and reset its counter with the admin key's authority (GIDS
 * RESET RETRY COUNTER after admin authentication). */
cf_err_t cf_card_unblock_pin_by_admin(cf_card_t *card, const cf_secret_t *new_pin);

/* One-way (external) challenge-response with the admin key, in two calls
 * that must happen in the same card session: get the card's challenge,
 * then send the response (the challenge encrypted under the admin key,
 * cf_keys_unblock_response). A wrong response costs an admin try and is
 * CF_ERR_WRONG_SECRET. Guarded on the admin counter (checked in
 * cf_card_get_challenge, before the challenge is shown to anybody). */
cf_err_t cf_card_get_challenge(cf_card_t *card, uint8_t *challenge, size_t cap, size_t *len,
                               unsigned flags);
cf_err_t cf_card_external_auth(cf_card_t *card, const cf_secret_t *response);

/* Spend the PIN tries with a value that is certainly not the PIN (it differs
 * from known_pin, the PIN the card holds, and fits the policy so the card
 * counts it) until the card says blocked. *spent: VERIFY commands sent. */
cf_err_t cf_card_block_pin(cf_card_t *card, const cf_secret_t *known_pin, unsigned *spent);

/* Re-select the application: the PIN-verified and admin-authenticated
 * states end (used to prove a change from a clean session). */
cf_err_t cf_card_reselect(cf_card_t *card);

/* Key check value of an admin key as the journal records it: the first 3
 * bytes of the key's encryption of a zero block, as 6 hex digits + NUL. */
cf_err_t cf_card_key_check_value(const cf_secret_t *key, char out[7]);

#ifdef __cplusplus
}
#endif
#endif
