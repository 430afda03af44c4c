/*
 * pers_int.h - the state one cf_personalize() run carries from step to step.
 *
 * The executor keeps, for the card in front of it, what it knows for sure:
 * which admin key the card holds now and whether this session is
 * authenticated with it, which PIN and PUK the card holds now. Steps update
 * it only after the card acknowledged a change, so a later step (or a proof)
 * never guesses.
 */
#ifndef CF_PERS_INT_H
#define CF_PERS_INT_H

#include <cardforge/personalize.h>

struct pers {
    cf_card_t *card;
    const cf_plan_t *plan;
    const cf_card_values_t *values;
    unsigned flags;    /* CF_PERS_* */
    unsigned op_flags; /* CF_OP_* derived from flags */
    const cf_personalize_hooks_t *hooks;
    const cf_card_history_t *history; /* NULL: none (the officer's desk) */
    cf_personalize_result_t *res;

    const cf_secret_t *admin_key; /* the key the card holds now (NULL: unknown) */
    int admin_authed;             /* this session is authenticated with admin_key */
    const cf_secret_t *pin;       /* the PIN the card holds now (NULL: unknown) */
    const cf_secret_t *puk;       /* the PUK the card holds now (NULL: unknown) */
    const cf_secret_t *new_pin;   /* the PIN being set, while its step presents PUKs */
    int rotation_found_done;      /* recovery found NewCardManagerKey on the card */
    int puk_found_changed;        /* recovery found the new PUK on the card */
    int tries_fresh;              /* res->tries were read after the last change */
    const cf_secret_t *cr_proven; /* the key a fresh-session challenge-response proved */
    int kind_read[CF_CRED_COUNT]; /* kind[c] was read in this session */
    cf_tries_kind_t kind[CF_CRED_COUNT];
};

/* cf_personalize_check, also saying which step it refused (*refused_step,
 * meaningful when the result is not CF_OK). */
cf_err_t pers_check(const cf_card_t *card, const cf_plan_t *plan, const cf_card_values_t *values,
                    unsigned flags, char *msg, size_t msglen, size_t *refused_step);

/* The value of parameter p for this card (NULL when the plan has none). */
const cf_secret_t *pers_value(const struct pers *ps, cf_param_t p);

/* Fill r's message (printf-style), never with a secret. */
void pers_msg(cf_step_result_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record a failed card operation in r: err, the card's message, and whether
 * the change reached the card (from cf_card_last_write when the failing
 * operation was the step's write, else the caller's value). */
void pers_fail(struct pers *ps, cf_step_result_t *r, cf_err_t err, const char *what);

/* Whether the change an operation that returned e reached the card: yes
 * when the card acknowledged it, unknown when the answer was lost, no
 * otherwise (a refused secret changes only its counter, which the message
 * reports). */
cf_reached_t pers_reached(const struct pers *ps, cf_err_t e);

/* 1 when the plan has a step of kind k. */
int pers_plan_has(const struct pers *ps, cf_step_kind_t k);

/* Call the intent hook before an irreversible change. */
cf_err_t pers_intent(struct pers *ps, const cf_step_t *step, cf_step_result_t *r);

/* Make sure the session is authenticated with the admin key the card holds
 * (authenticates when a PIN reset or a reselect dropped the state). */
cf_err_t pers_ensure_admin(struct pers *ps, cf_step_result_t *r);

/* c's counter, read without spending a try; kind CF_TRIES_UNKNOWN when it
 * cannot be read (or the card type has no such credential: nothing sent). */
void pers_read_tries(cf_card_t *card, cf_cred_t c, cf_tries_t *t);
/* The same, always asking the card (a proof's "after"). */
void pers_read_tries_now(cf_card_t *card, cf_cred_t c, cf_tries_t *t);

/* After a write that returned e: 1 when the card refused it for want of
 * authentication (6982 to a command it answered), so nothing was written
 * and the admin session had ended (an earlier step logged it out); the
 * session is then marked unauthenticated for the caller to authenticate
 * again and write once more. 0 otherwise. */
int pers_admin_session_lost(struct pers *ps, cf_err_t e);

/* Before a change that needs the admin key's authority: authenticate when
 * the session lost it, then record the intent. */
cf_err_t pers_begin_admin_change(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);

/* ---- values the card may hold, and what presenting them costs ----------- */

/* One value a step may present for a credential. */
struct pers_cand {
    const cf_secret_t *value;
    cf_param_t param; /* the plan parameter it is (for the result and the journal) */
    int is_new;       /* the value an earlier, unfinished attempt was installing */
};

/* The values to present for credential c, in order, into out[0..2): `cur`
 * (the value the plan starts from, as param p_cur) and, when the plan
 * installs one, `next` (param p_next, installed by step kind k). Where the
 * card cannot report c's counter, only what the evidence allows: `next`
 * only when an earlier attempt may have installed it (the history's open
 * step is k or later), and then first; a value the card refused in an
 * earlier attempt is left out; a value drawn at random per attempt is never
 * a candidate. Returns the number of candidates. */
size_t pers_candidates(struct pers *ps, cf_cred_t c, const cf_secret_t *cur, cf_param_t p_cur,
                       const cf_secret_t *next, cf_param_t p_next, cf_step_kind_t k,
                       struct pers_cand out[2]);

/* Present the candidates in turn with `attempt` until the card accepts
 * one: *chosen is its index. A refusal is noted in the result; where the
 * counter is unknown no second value is presented in this run (the next run
 * presents it), and nothing at all once earlier attempts spent the budget.
 * On failure r is filled (what names the operation for the message). */
typedef cf_err_t (*pers_attempt_fn)(struct pers *ps, const cf_secret_t *value);
cf_err_t pers_present(struct pers *ps, cf_step_result_t *r, cf_cred_t c, const char *what,
                      const struct pers_cand *cand, size_t n, pers_attempt_fn attempt,
                      size_t *chosen);

/* Note that the card refused value p of credential c as wrong. */
void pers_note_refused(struct pers *ps, cf_param_t p, cf_cred_t c, cf_err_t e);

/* The step executors; each fills r and returns r->err. */
cf_err_t pers_step_auth_admin(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_set_pin_by_puk(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_change_puk(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_set_pin_by_admin(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_rotate_admin_key(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_install_cr_key(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_block_pin(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_write_chuid(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_write_ccc(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);
cf_err_t pers_step_issue_cert(struct pers *ps, const cf_step_t *st, cf_step_result_t *r);

/* Can this card type run issue-certificate step st (its slot kind, the
 * key algorithm, policies)? 0, or -1 with the reason in why. */
int pers_check_issue_cert(const cf_card_t *card, const cf_plan_t *plan, const cf_step_t *st,
                          char *why, size_t whylen);

#endif
