/*
 * plan.h - encoding descriptions compiled into plans of typed steps.
 *
 * An encoding description (INI: [Description], [Fields], [Application_*])
 * says what to do to every card of a batch. cf_plan_compile() validates it,
 * reporting every problem as "file:line: message", and produces a cf_plan_t:
 * the ordered steps, and for each parameter (PIN, PUK, keys) where its value
 * comes from (a literal, a batch field, or an operator prompt). Per card,
 * cf_plan_resolve() turns those sources into secret values.
 *
 * Step order, always: authenticate with the card manager key, set the PIN,
 * change the PUK, rotate the card manager key, install the challenge-response
 * key, block the PIN. The challenge-response key IS the card manager key the
 * card ends with: NewCardManagerKey when the key is rotated, else
 * CardManagerKey. Blocking comes last so that every earlier step can still
 * prove itself with the PIN. docs/encoding-description.md has the details.
 */
#ifndef CARDFORGE_PLAN_H
#define CARDFORGE_PLAN_H

#include <stddef.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/secret.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_plan cf_plan_t;

/* The secret parameters a description can name. */
typedef enum cf_param {
    CF_PARAM_PIN = 0,
    CF_PARAM_INITIAL_PUK,
    CF_PARAM_PUK,
    CF_PARAM_CARD_MANAGER_KEY,
    CF_PARAM_NEW_CARD_MANAGER_KEY,
    CF_PARAM_COUNT,
    CF_PARAM_NONE = CF_PARAM_COUNT,
} cf_param_t;

/* Where a parameter's value comes from. */
typedef enum cf_source {
    CF_SOURCE_NONE = 0, /* not given */
    CF_SOURCE_LITERAL,  /* "#value" */
    CF_SOURCE_FIELD,    /* NAME: a [Fields] entry, filled from the batch */
    CF_SOURCE_PROMPT,   /* "!FROM_USER_DIALOG_<n>_FIELD": asked at the desk */
} cf_source_t;

typedef enum cf_step_kind {
    CF_STEP_AUTH_ADMIN = 0,   /* authenticate with CardManagerKey */
    CF_STEP_SET_PIN_BY_PUK,   /* InitialPUK unblocks and sets PIN */
    CF_STEP_CHANGE_PUK,       /* InitialPUK -> PUK */
    CF_STEP_SET_PIN_BY_ADMIN, /* admin-authenticated PIN reset to PIN */
    CF_STEP_ROTATE_ADMIN_KEY, /* CardManagerKey -> NewCardManagerKey */
    CF_STEP_INSTALL_CR_KEY,   /* challenge-response key := final admin key */
    CF_STEP_BLOCK_PIN,        /* spend the PIN tries until blocked */
} cf_step_kind_t;

typedef struct cf_step {
    cf_step_kind_t kind;
    unsigned long line;    /* description line that asked for the step */
    cf_param_t credential; /* secret the step authenticates with, or NONE */
    cf_param_t new_value;  /* secret the step installs, or NONE */
} cf_step_t;

/* Longest PIN or PUK any card type cardforge knows accepts (GIDS: 16).
 * Each card profile's own policy is checked when the plan meets a card. */
#define CF_PIN_MAX_ANY 16

/* Compile the description at path. Every problem goes to diags (errors and
 * warnings). On CF_OK *out is the plan (caller frees) and diags may hold
 * warnings; with any error the result is CF_ERR_INVALID and *out is NULL;
 * CF_ERR_IO when the file cannot be read (also reported in diags). */
cf_err_t cf_plan_compile(const char *path, cf_diag_list_t *diags, cf_plan_t **out);

/* The same from memory; name is used in messages. data need not be
 * NUL-terminated and is not kept. */
cf_err_t cf_plan_compile_mem(const char *name, const char *data, size_t len,
                             cf_diag_list_t *diags, cf_plan_t **out);

void cf_plan_free(cf_plan_t *plan); /* wipes literal secrets; NULL is fine */

const char *cf_plan_name(const cf_plan_t *plan);
size_t cf_plan_step_count(const cf_plan_t *plan);
const cf_step_t *cf_plan_step(const cf_plan_t *plan, size_t i); /* borrowed */

/* A parameter's source, and its line in the description (0 if absent). */
cf_source_t cf_plan_source(const cf_plan_t *plan, cf_param_t p);
unsigned long cf_plan_param_line(const cf_plan_t *plan, cf_param_t p);
/* CF_SOURCE_FIELD: the field name; otherwise NULL. Borrowed. */
const char *cf_plan_param_field(const cf_plan_t *plan, cf_param_t p);
/* CF_SOURCE_PROMPT: the dialog number n; otherwise 0. */
unsigned cf_plan_param_dialog(const cf_plan_t *plan, cf_param_t p);
/* 1 when the parameter is a key (hex, 16/24/32 bytes), 0 for PIN/PUK. */
int cf_param_is_key(cf_param_t p);
/* "PIN", "InitialPUK", ... as the description spells the key. */
const char *cf_param_name(cf_param_t p);
const char *cf_step_kind_name(cf_step_kind_t k); /* "set-pin-by-puk", ... */
/* One line for a person: "set the PIN with the PUK (InitialPUK -> PIN)". */
const char *cf_step_kind_summary(cf_step_kind_t k);

/* Fields the plan uses (declared in [Fields] and referenced). */
size_t cf_plan_field_count(const cf_plan_t *plan);
const char *cf_plan_field_name(const cf_plan_t *plan, size_t i);
/* 1 when field i has a default value in [Fields]. */
int cf_plan_field_has_default(const cf_plan_t *plan, size_t i);
/* 1 when the plan has a parameter of CF_SOURCE_PROMPT. */
int cf_plan_has_prompts(const cf_plan_t *plan);

/* ---- per-card values ---- */

typedef struct cf_card_values cf_card_values_t;

/* Gives the batch record's cell for a field: *len and a pointer valid until
 * the resolve call returns, or NULL when the batch has no such column. */
typedef const char *(*cf_field_lookup_fn)(void *ctx, const char *field, size_t *len);

/* Asks the operator for dialog n (for parameter p); the callee owns nothing
 * afterwards: *out is handed over. NULL prompt function: prompts resolve to
 * no value (used by validation, which must not ask anything). */
typedef cf_err_t (*cf_prompt_fn)(void *ctx, unsigned dialog, cf_param_t p,
                                 cf_secret_t **out);

/* Resolve every parameter for one card. Problems (an empty cell with no
 * default, a key that is not 16/24/32 bytes of hex, a PIN too long) are
 * reported to diags at where_file:where_line, naming the column, never the
 * value. CF_ERR_INVALID when any was found; *out NULL then. With out NULL
 * the values are only checked, never copied (batch validation). */
cf_err_t cf_plan_resolve(const cf_plan_t *plan, cf_field_lookup_fn lookup, void *lookup_ctx,
                         cf_prompt_fn prompt, void *prompt_ctx, const char *where_file,
                         unsigned long where_line, cf_diag_list_t *diags,
                         cf_card_values_t **out);

/* Check a batch file against the plan before any card is touched: every
 * needed field is a column or has a default (reported once, on the header
 * line), and every record resolves (reported at the record's line; at most
 * 100 records are listed). Streams the file. *records gets the number of
 * records read. CF_OK, CF_ERR_INVALID, or CF_ERR_IO when the file cannot
 * be read. */
cf_err_t cf_plan_check_batch(const cf_plan_t *plan, const char *csv_path, cf_diag_list_t *diags,
                             size_t *records);

/* The value of p (keys as bytes, PIN/PUK as text), or NULL when the plan
 * does not use p or it is a prompt left unresolved. Borrowed. */
const cf_secret_t *cf_card_values_get(const cf_card_values_t *v, cf_param_t p);
void cf_card_values_free(cf_card_values_t *v); /* wipes; NULL is fine */

#ifdef __cplusplus
}
#endif
#endif
