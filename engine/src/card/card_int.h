/*
 * card_int.h - a cf_card_t and the helpers the card operations share
 * (internal to engine/src/card).
 *
 * The card object holds what one card session knows: the profile that
 * matched, the serial, whether the admin key is authenticated, a pending
 * external-authentication challenge, and per credential the guard state
 * (an attempt failed; the secrets the card rejected, kept as wiped copies
 * and compared in constant time).
 */
#ifndef CF_CARD_INT_H
#define CF_CARD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/card.h>

#include "profile/profile_int.h"

/* Rejected values remembered per credential; beyond that every attempt on
 * the credential is refused (a run that guesses that much is wrong). */
#define CF_CARD_MAX_REJECTED 16
#define CF_CARD_MAX_CHALLENGE 32

struct cf_cred_state {
    int failed; /* an attempt reached the card and did not succeed */
    int kind_known;
    cf_tries_kind_t kind; /* from the last counter read */
    /* What the card last said of this counter in this session (a read, a
     * 63Cx, a 6983), kept until something could have lowered it: a success
     * never lowers a counter, a command presenting another credential never
     * touches it. Lets the guards and proofs skip reads that prove nothing. */
    int told;
    int exact; /* tries is what the card said; 0: a lower bound (a success
                * since may have raised the counter, never lowered it) */
    cf_tries_t tries;
    cf_secret_t *rejected[CF_CARD_MAX_REJECTED];
    size_t n_rejected;
    int lost; /* a rejected value could not be remembered: refuse every attempt */
};

struct cf_card {
    cf_transport_t *t;        /* borrowed */
    const cf_profiles_t *set; /* borrowed */
    const cf_profile_t *p;    /* borrowed from set */
    char serial[80];
    char version[40];
    char errmsg[384];
    uint16_t last_sw;
    int admin_auth; /* admin authenticated in this session (as far as we know) */
    int pin_ok;     /* the PIN verified in this session (cf_card_verify_pin succeeded) */
    struct cf_cred_state cred[CF_CRED_COUNT];
    int ext_pending; /* a challenge from cf_card_get_challenge awaits its answer */
    uint8_t ext_challenge[CF_CARD_MAX_CHALLENGE];
    size_t ext_len;
    cf_card_write_t last_write; /* what the current operation's writes did */
    /* The algorithm of the admin key on the card, once the card said it
     * (or once this session wrote the key): it changes only with the key. */
    const cf_prof_alg_t *admin_alg;
    /* The last plain read and its answer: the same read sent again with
     * nothing in between is answered from here (GET METADATA of 9B serves
     * the algorithm and the counter). Not secret; cleared by any other
     * command. */
    uint8_t last_read[4 + 255 + 1];
    size_t last_read_len;
    uint64_t last_read_count; /* the transport's APDU count after it */
    uint8_t last_read_data[258];
    size_t last_read_dlen;
    uint16_t last_read_sw;
    int last_read_ok;
    /* How the card was recognised, one line per profile considered, and
     * the answer of the SELECT that chose the profile (not secret). */
    char ident_log[1024];
    uint8_t sel_answer[64];
    size_t sel_len;
};

/* ---- messages --------------------------------------------------------- */

/* Set the card's error message (printf); returns err for tail calls. */
cf_err_t cf_card_fail(cf_card_t *card, cf_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A successful operation clears the message. */
void cf_card_ok(cf_card_t *card);

/* ISO 7816-4 meaning of a status word ("authentication method blocked"). */
const char *cf_sw_meaning(uint16_t sw);

/* ---- commands --------------------------------------------------------- */

/* The placeholder values every command may use (references, algorithm id
 * of alg when not NULL). */
void cf_card_base_vals(const cf_card_t *card, const cf_prof_alg_t *alg, cf_tmpl_vals_t *v);

/* Credential c's value as the card wants it (padded per the profile) in
 * out[0..*len); CF_ERR_POLICY (nothing sent) when it cannot be encoded. */
cf_err_t cf_card_encode_secret(cf_card_t *card, const char *what, cf_cred_t c, const cf_secret_t *s,
                               uint8_t *out, size_t cap, size_t *len);

/* cf_card_cmd flags */
#define CF_CMD_SECRET_RESPONSE 0x1u /* the answer's data is secret */
#define CF_CMD_PLAIN 0x2u           /* no secret in play: every bad SW is CF_ERR_CARD_STATUS */
#define CF_CMD_WRITE 0x4u           /* the command changes the card (a counter counts) */
/* The command presents credential `cred`'s secret (VERIFY, CHANGE, RESET
 * RETRY COUNTER with the PUK): 6982 is a refusal of that secret too. */
#define CF_CMD_PRESENTS 0x8u
/* The command presents a well-formed authentication cryptogram: besides
 * 6982, "incorrect data" (6A80) can only mean the key is wrong. Implies
 * CF_CMD_PRESENTS. */
#define CF_CMD_CRYPTOGRAM 0x10u
/* Ask the card even when the same read was just answered (proofs). */
#define CF_CMD_FRESH 0x20u

/* Expand cmd with v, send it, and say what the answer means: CF_OK for one
 * of the command's success SWs; CF_ERR_WRONG_SECRET for 63Cx, one of its
 * wrong_sw, or the standard refusals of CF_CMD_PRESENTS / CF_CMD_CRYPTOGRAM
 * (unless CF_CMD_PLAIN); CF_ERR_BLOCKED for 6983 (same);
 * CF_ERR_CARD_STATUS for anything else; transport errors as they are. The
 * message names what and the credential cred (for "wrong PIN"). *resp is
 * the transport's (valid until the next transmit) whenever the card
 * answered. *sent (may be NULL) is 1 once the command was handed to the
 * transport. */
cf_err_t cf_card_cmd(cf_card_t *card, const char *what, const cf_prof_cmd_t *cmd,
                     const cf_tmpl_vals_t *v, unsigned flags, cf_cred_t cred, cf_rapdu_t *resp,
                     int *sent);

/* 1 when sw is in list[0..n). */
int cf_sw_in(uint16_t sw, const uint16_t *list, size_t n);

/* ---- guards ----------------------------------------------------------- */

/* Before an attempt on credential c with secret s (may be NULL): refuse a
 * value the card already rejected; for the PUK and the admin key read the
 * counter and refuse a blocked credential or the last try (unless
 * CF_OP_ALLOW_LAST_TRY in flags); refuse any attempt after a failure when
 * the counter is unknown. Nothing that spends a try is sent. */
cf_err_t cf_card_guard(cf_card_t *card, const char *what, cf_cred_t c, const cf_secret_t *s,
                       unsigned flags);

/* 1 when the card already rejected s for credential c in this cf_card_t
 * (or rejected so much that nothing is tried any more). */
int cf_card_was_rejected(const cf_card_t *card, cf_cred_t c, const cf_secret_t *s);

/* After an attempt: remember a rejected value and a failure. */
void cf_card_after(cf_card_t *card, cf_cred_t c, const cf_secret_t *s, cf_err_t err, int sent);

/* The credential's value changed on the card: forget rejected values and
 * failures (they were measured against the old value). */
void cf_card_cred_changed(cf_card_t *card, cf_cred_t c);

/* What the card just said of credential c's counter (a 63Cx, a 6983),
 * or that it may have changed without saying (forget). */
void cf_card_told(cf_card_t *card, cf_cred_t c, const cf_tries_t *t);
void cf_card_forget_counter(cf_card_t *card, cf_cred_t c);
/* A success presented or set credential c: what the card said of its
 * counter is now a lower bound. */
void cf_card_counter_raised(cf_card_t *card, cf_cred_t c);

/* Forget everything a reset or reselect ends. */
void cf_card_session_ended(cf_card_t *card);

/* ---- crypto ----------------------------------------------------------- */

/* Block size of the admin key type: 8 (3DES) or 16 (AES). */
size_t cf_card_block_size(cf_card_key_type_t type);

/* One pass of the key's cipher over in[0..len) (a multiple of the block
 * size), without padding, ECB or CBC with a zero IV. */
cf_err_t cf_card_cipher(cf_card_key_type_t type, const cf_secret_t *key, int cbc, int encrypt,
                        const uint8_t *in, size_t len, uint8_t *out);

/* First 3 bytes of the key's encryption of a zero block. */
cf_err_t cf_card_kcv(cf_card_key_type_t type, const cf_secret_t *key, uint8_t out[3]);

#endif
