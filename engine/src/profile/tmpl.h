/*
 * tmpl.h - APDU templates of card profiles: compile once at load, expand per
 * command (internal).
 *
 * A template is the command as a person reads it in a reference, without
 * Lc and Le (the transport computes Lc; Le is the profile's `le:` key):
 *
 *     00 20 00 {pin_ref} {pin}
 *     00 87 {alg} 9B 7C(80({witness}) 81({challenge}))
 *     00 DB 3F FF 70(84({admin_ref}) A5(87({new_key}) 88({kcv})))
 *
 * Hex digits are literal bytes (spaces optional between bytes, an even
 * count per word); {name} is a placeholder; a hex tag written directly
 * before "(" opens a BER-TLV whose length is computed from what is inside
 * the parentheses. The first four bytes (CLA INS P1 P2) must be literal
 * bytes or one-byte placeholders. Which placeholders a template may use
 * depends on where it is (the schema passes an allowed set), so a typo or a
 * placeholder that has no value in that operation is a load error, never a
 * runtime surprise.
 *
 * Expansion reports the part of the data that came from secret
 * placeholders as one range (from the first secret byte to the last), which
 * goes into the cf_capdu_t so the trace prints it as "**".
 */
#ifndef CF_PROFILE_TMPL_H
#define CF_PROFILE_TMPL_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>

typedef enum cf_ph {
    CF_PH_PIN = 0,      /* the PIN, padded as the profile says (secret) */
    CF_PH_NEW_PIN,      /* the new PIN, padded (secret) */
    CF_PH_PUK,          /* the PUK, padded (secret) */
    CF_PH_NEW_PUK,      /* the new PUK, padded (secret) */
    CF_PH_PIN_REF,      /* one byte: the PIN's reference */
    CF_PH_PUK_REF,      /* one byte: the PUK's reference */
    CF_PH_ADMIN_REF,    /* one byte: the admin key's reference */
    CF_PH_ALG,          /* one byte: the admin key's algorithm id */
    CF_PH_NEW_KEY,      /* the new admin key (secret) */
    CF_PH_KCV,          /* 3 bytes: check value of the new admin key */
    CF_PH_WITNESS,      /* piv-9b: the decrypted witness (secret) */
    CF_PH_CHALLENGE,    /* piv-9b: the host's challenge to the card */
    CF_PH_HOST_RANDOM,  /* gids-mutual: the host's 16 random bytes */
    CF_PH_CRYPTOGRAM,   /* gids-mutual: the host's 40-byte cryptogram (secret) */
    CF_PH_RESPONSE,     /* gids-external: the response to the challenge (secret) */
    CF_PH_COUNT
} cf_ph_t;

#define CF_PH_BIT(p) (1u << (p))
#define CF_PH_REFS (CF_PH_BIT(CF_PH_PIN_REF) | CF_PH_BIT(CF_PH_PUK_REF) | CF_PH_BIT(CF_PH_ADMIN_REF))

/* Longest template text, most items, deepest TLV nesting, longest
 * expansion (bigger than any command a profile needs; the transport would
 * chain more). */
#define CF_TMPL_MAX_TEXT 512u
#define CF_TMPL_MAX_ITEMS 96u
#define CF_TMPL_MAX_DEPTH 4u
#define CF_TMPL_MAX_DATA 1024u

typedef struct cf_tmpl cf_tmpl_t;

/* Placeholder values for one expansion; unset entries have p == NULL. */
typedef struct cf_tmpl_vals {
    const uint8_t *p[CF_PH_COUNT];
    size_t len[CF_PH_COUNT];
} cf_tmpl_vals_t;

/* The placeholder's name as written between braces ("new_pin"). */
const char *cf_ph_name(cf_ph_t ph);
/* 1 when the placeholder's value is secret (printed "**" in traces). */
int cf_ph_secret(cf_ph_t ph);

/* Compile text (NUL-terminated) allowing the placeholders in the bit set
 * allowed. The caller owns *out. On error *out is NULL and why (whylen
 * bytes) says what is wrong: CF_ERR_PARSE for bad syntax or an unknown or
 * disallowed placeholder (named in why), CF_ERR_NOMEM. */
cf_err_t cf_tmpl_compile(const char *text, unsigned allowed, cf_tmpl_t **out, char *why,
                         size_t whylen);

void cf_tmpl_free(cf_tmpl_t *t); /* NULL is fine */

/* The placeholders the template uses (bit set). */
unsigned cf_tmpl_uses(const cf_tmpl_t *t);

/* Expand: hdr gets CLA INS P1 P2, data[0..*len) the command data (cap
 * bytes available), [*sec_off, *sec_off + *sec_len) the secret range
 * (*sec_len 0 when none). CF_ERR_INTERNAL when a used placeholder has no
 * value or a header placeholder is not one byte; CF_ERR_BUFFER when the
 * data does not fit cap (or CF_TMPL_MAX_DATA). On error data is wiped. */
cf_err_t cf_tmpl_expand(const cf_tmpl_t *t, const cf_tmpl_vals_t *v, uint8_t hdr[4], uint8_t *data,
                        size_t cap, size_t *len, size_t *sec_off, size_t *sec_len);

#endif
