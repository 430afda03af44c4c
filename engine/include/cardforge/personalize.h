/*
 * personalize.h - run a compiled plan on one identified card.
 *
 * cf_personalize() executes the plan's steps in order on a cf_card_t with one
 * card's resolved values, proving every state change on the card before the
 * step reports success (the new PIN verifies; a rotated key authenticates
 * again from a fresh session; an installed challenge-response key answers one
 * external challenge-response; a blocked PIN reports blocked while the PUK
 * and admin counters are unchanged).
 *
 * Before the first APDU that changes anything, the whole plan is checked
 * against the card type (cf_personalize_check): a combination the card cannot
 * do is refused naming the step and the card type.
 *
 * Which key the card holds now is never guessed: it is the description's
 * CardManagerKey (the profile's factory key for fresh cards, when the
 * description gives none). Recovery of an interrupted run (a card pulled
 * between a write and its proof): when the credential the plan starts from
 * is refused and the plan also names the value the step would install
 * (NewCardManagerKey, PUK), that value is tried once, only when the counter
 * shows at least two tries left (or the credential has no counter); the
 * step is then reported as already done on the card. At most one try is
 * spent, never the last. Where the card cannot report the counter, the
 * caller's cf_card_history_t decides (cf_personalize_resume): the new value
 * is presented only when an earlier attempt left its step open, and then
 * first; at most one wrong value per run; never a value the card refused
 * before; nothing once CF_HISTORY_MAX_SPENT wrong values were presented.
 *
 * The caller (runner, officer's desk) gets hooks: an intent before every
 * irreversible change (the runner journals and fsyncs it), a call after each
 * step (progress), and a stop check at the safe points between steps.
 */
#ifndef CARDFORGE_PERSONALIZE_H
#define CARDFORGE_PERSONALIZE_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/card.h>
#include <cardforge/error.h>
#include <cardforge/issue.h>
#include <cardforge/plan.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cf_outcome {
    CF_OUTCOME_NOT_RUN = 0, /* not reached (an earlier step failed, or stopped) */
    CF_OUTCOME_DONE = 1,    /* changed and proven */
    CF_OUTCOME_ALREADY = 2, /* found already done on the card (recovery), proven */
    CF_OUTCOME_FAILED = 3,  /* failed; see reached_card */
    CF_OUTCOME_REFUSED = 4, /* refused before anything was sent (guard, policy, card type) */
} cf_outcome_t;

const char *cf_outcome_name(cf_outcome_t o); /* "not-run", "done", "already", "failed", "refused" */

/* Whether a step's change reached the card. */
typedef enum cf_reached {
    CF_REACHED_NO = 0,      /* nothing the step sent changed the card */
    CF_REACHED_YES = 1,     /* the change is on the card (proven or acknowledged) */
    CF_REACHED_UNKNOWN = 2, /* the card was lost between the write and its answer */
} cf_reached_t;

const char *cf_reached_name(cf_reached_t r); /* "no", "yes", "unknown" */

#define CF_MSG_MAX 256

typedef struct cf_step_result {
    cf_step_kind_t kind;
    cf_outcome_t outcome;
    cf_reached_t reached;
    cf_err_t err;             /* CF_OK unless failed/refused */
    uint16_t sw;              /* the card's last status word in the step, 0 when none */
    double ms;                /* wall time of the step */
    unsigned apdus;           /* APDUs the step sent */
    char kcv[7];              /* check value of the key the step installed, "" when none */
    char guid[33];            /* write-chuid: the GUID it wrote (32 hex digits), else "" */
    char message[CF_MSG_MAX]; /* what happened, for people; never a secret */
    /* issue-certificate only: where the card stands (also after a failure),
     * the slot and algorithm, and the certificate's public facts once the
     * CA's answer passed its checks (have_cert). */
    cf_issue_result_t issue;
} cf_step_result_t;

#define CF_PERSONALIZE_MAX_STEPS 16 /* as many as a plan has */

typedef struct cf_personalize_result {
    size_t n_steps;
    cf_step_result_t steps[CF_PERSONALIZE_MAX_STEPS];
    cf_err_t err; /* CF_OK when every step is done/already */
    char message[CF_MSG_MAX];
    /* Tries left after the run, as last read (kind UNKNOWN when not read). */
    cf_tries_t tries[CF_CRED_COUNT];
    /* What this run presented that the card refused as wrong (the card
     * said so: 63Cx, 6982, 6A80 to a cryptogram): count per credential
     * (PUK and admin key; the PIN tries a block step spends are not
     * counted) and the values, bit CF_PARAM_BIT(p). For the journal, so
     * that the next attempt knows. */
    unsigned spent[CF_CRED_COUNT];
    unsigned refused;
} cf_personalize_result_t;

/* What earlier attempts of ours learned about the card in front of us:
 * the runner reads it from its journal (cf_journal_state_history), the
 * officer's desk has none. It decides, where a card cannot report a
 * counter, which value is presented first and whether any is presented at
 * all. */
typedef struct cf_card_history {
    /* The last step an earlier attempt recorded an intent for and never
     * finished (cut off, or failed after its change reached the card):
     * that change, or any before it, may be on the card unproven. -1: none. */
    int open_step; /* cf_step_kind_t, or -1 */
    /* Wrong values earlier attempts presented for this card's PUK and admin
     * key, as the card answered them (index cf_cred_t; PIN not counted). */
    unsigned spent[CF_CRED_COUNT];
    /* The plan's values the card refused in earlier attempts: bit
     * CF_PARAM_BIT(p) for each cf_param_t p. */
    unsigned refused;
} cf_card_history_t;

#define CF_PARAM_BIT(p) (1u << (unsigned)(p))

/* On a card that cannot report a PUK or admin-key counter, the wrong
 * values cardforge presents over all its attempts on that card stay below
 * this: one for the run that guesses wrong, one to spare. */
#define CF_HISTORY_MAX_SPENT 2

/* flags */
#define CF_PERS_ALLOW_LAST_TRY 0x1u    /* operator allowed spending a last try */
#define CF_PERS_ALLOW_FACTORY_KEY 0x2u /* allow a factory-default value as a new key/PUK */

typedef struct cf_personalize_hooks {
    void *user;
    /* Before the step's first APDU that changes the card irreversibly.
     * Anything but CF_OK stops the run before that APDU (the step is
     * NOT_RUN, result err is what the hook returned). May be NULL. */
    cf_err_t (*intent)(void *user, const cf_card_t *card, const cf_step_t *step);
    /* After each step, with its result. May be NULL. */
    void (*step_done)(void *user, const cf_card_t *card, const cf_step_result_t *r);
    /* Asked at the safe points between steps: non-zero stops the run there
     * (remaining steps NOT_RUN, err CF_ERR_INTERRUPTED). May be NULL. */
    int (*should_stop)(void *user);
} cf_personalize_hooks_t;

/* Check, without sending anything that changes the card, that the plan can
 * run on this card type with these values: capabilities per step, PIN/PUK
 * policy, key lengths, factory values as new keys (unless allowed). On
 * refusal: CF_ERR_REFUSED or CF_ERR_POLICY with a message naming the step and
 * the card type in msg. */
cf_err_t cf_personalize_check(const cf_card_t *card, const cf_plan_t *plan,
                              const cf_card_values_t *values, unsigned flags, char *msg,
                              size_t msglen);

/* Check one value for parameter p as a person typed it (PIN and PUKs as
 * text, keys as hex), right after it is typed and before it is confirmed:
 * the form every card type needs (what cf_plan_resolve checks) and, when
 * profile is not NULL, what that card type takes (cf_profile_check_policy
 * for the PIN, PUK and InitialPUK; a key length it accepts), as
 * cf_personalize_check will judge it. typed and profile are BORROWED and
 * nothing is kept. CF_OK; CF_ERR_POLICY with a reason in why that names the
 * parameter and the rule, never the value ("PIN: must be 6 to 8 characters,
 * got 5 characters (card type piv-yubikey)"); CF_ERR_ARG (typed NULL, p not
 * a parameter). */
cf_err_t cf_personalize_check_typed(const cf_profile_t *profile, cf_param_t p,
                                    const cf_secret_t *typed, char *why, size_t whylen);

/* Run the plan on card. values and hooks are BORROWED; res is filled in
 * (always, also on failure: every step's outcome and whether it reached the
 * card). Returns res->err. */
cf_err_t cf_personalize(cf_card_t *card, const cf_plan_t *plan, const cf_card_values_t *values,
                        unsigned flags, const cf_personalize_hooks_t *hooks,
                        cf_personalize_result_t *res);

/* cf_personalize with what earlier attempts learned about this card
 * (history BORROWED; NULL: nothing, as cf_personalize). */
cf_err_t cf_personalize_resume(cf_card_t *card, const cf_plan_t *plan,
                               const cf_card_values_t *values, unsigned flags,
                               const cf_personalize_hooks_t *hooks,
                               const cf_card_history_t *history, cf_personalize_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
