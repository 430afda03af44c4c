/*
 * plan.h - encoding descriptions compiled into plans of typed steps.
 *
 * An encoding description (INI: [Description], [Fields], [Application_*])
 * says what to do to every card of a batch. cf_plan_compile() validates it,
 * reporting every problem as "file:line: message", and produces a cf_plan_t:
 * the ordered steps, and for each parameter (PIN, PUK, keys) where its value
 * comes from (a literal, a batch field, an operator prompt, a master key, or
 * the random generator). Per card, cf_plan_resolve() turns the first three
 * into secret values before the card is touched; cf_plan_resolve_card()
 * adds the derived and random ones once the card's serial is known.
 *
 * Step order, always: authenticate with the card manager key, set the PIN,
 * change the PUK, rotate the card manager key, install the challenge-response
 * key, write the CHUID, write the CCC, block the PIN. The challenge-response key IS the card
 * manager key the card ends with: NewCardManagerKey when the key is rotated, else CardManagerKey.
 * Blocking comes last so that every earlier step can still prove itself with the PIN.
 * docs/encoding-description.md has the details.
 */
#ifndef CARDFORGE_PLAN_H
#define CARDFORGE_PLAN_H

#include <stddef.h>
#include <time.h>

#include <cardforge/batch.h>
#include <cardforge/cert.h>
#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/issue.h>
#include <cardforge/keys.h>
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
    CF_SOURCE_DERIVED,  /* "@derive:MASTER[:VERSION[:FORM]]": from a master key and
                           the card serial (docs/key-derivation.md) */
    CF_SOURCE_RANDOM,   /* "@random[:FORM]": a fresh random value per card */
} cf_source_t;

typedef enum cf_step_kind {
    CF_STEP_AUTH_ADMIN = 0,   /* authenticate with CardManagerKey */
    CF_STEP_SET_PIN_BY_PUK,   /* InitialPUK unblocks and sets PIN */
    CF_STEP_CHANGE_PUK,       /* InitialPUK -> PUK */
    CF_STEP_SET_PIN_BY_ADMIN, /* admin-authenticated PIN reset to PIN */
    CF_STEP_ROTATE_ADMIN_KEY, /* CardManagerKey -> NewCardManagerKey */
    CF_STEP_INSTALL_CR_KEY,   /* challenge-response key := final admin key */
    CF_STEP_BLOCK_PIN,        /* spend the PIN tries until blocked */
    CF_STEP_WRITE_CHUID,      /* a CHUID with a fresh GUID, under the admin key (PIV) */
    CF_STEP_WRITE_CCC,        /* a CCC with a fresh card identifier, likewise */
    CF_STEP_ISSUE_CERT,       /* generate a key, have the CA certify it, write the
                                 certificate ([Certificate_<Name>]; runs before block-pin) */
} cf_step_kind_t;

typedef struct cf_step {
    cf_step_kind_t kind;
    unsigned long line;    /* description line that asked for the step */
    cf_param_t credential; /* secret the step authenticates with, or NONE */
    cf_param_t new_value;  /* secret the step installs, or NONE */
    unsigned cert;         /* CF_STEP_ISSUE_CERT: which certificate section (0-based) */
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
cf_err_t cf_plan_compile_mem(const char *name, const char *data, size_t len, cf_diag_list_t *diags,
                             cf_plan_t **out);

void cf_plan_free(cf_plan_t *plan); /* wipes literal secrets; NULL is fine */

const char *cf_plan_name(const cf_plan_t *plan);
/* SHA-256 of the description bytes the plan was compiled from, as 64
 * lower-case hex digits (what the journal records). Borrowed. */
const char *cf_plan_sha256(const cf_plan_t *plan);
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

/* The expiry date the plan gives a CHUID written at time now, as YYYYMMDD
 * and a NUL in out: the description's CHUIDExpiry date, or now (UTC) plus
 * its number of years (5 when the description names none). CF_ERR_NOT_FOUND
 * when the plan writes no CHUID. */
cf_err_t cf_plan_chuid_expiry(const cf_plan_t *plan, time_t now, char out[9]);

/* Fields the plan uses (declared in [Fields] and referenced). */
size_t cf_plan_field_count(const cf_plan_t *plan);
const char *cf_plan_field_name(const cf_plan_t *plan, size_t i);
/* 1 when field i has a default value in [Fields]. */
int cf_plan_field_has_default(const cf_plan_t *plan, size_t i);
/* 1 when the plan has a parameter of CF_SOURCE_PROMPT. */
int cf_plan_has_prompts(const cf_plan_t *plan);

/* ---- certificate sections ----
 *
 * [Certificate_<Name>] sections (docs/encoding-description.md): a key pair
 * generated on the card and a certificate issued for it, one
 * issue-certificate step each, in the order of the file. */

#define CF_PLAN_MAX_CERTS 4
#define CF_PLAN_CERT_NAME 32
#define CF_PLAN_CERT_MAX_RDN 8

typedef struct cf_plan_cert {
    const char *name;   /* <Name> */
    unsigned long line; /* the section header's line */
    const char *slot;   /* "9a", "9c", "9d", "9e"; "" = the first free GIDS container */
    cf_keygen_t keygen; /* algorithm and policies (label NULL) */
    unsigned validity_days;
    int ca_command; /* 1: CACommand; 0: local CA (CACert, CAKey) */
    const char *ca_cert, *ca_key, *ca_command_line;
    unsigned ca_timeout_ms;
} cf_plan_cert_t;

size_t cf_plan_cert_count(const cf_plan_t *plan);
/* Section i (borrowed from plan), 0 when i is out of range. */
int cf_plan_cert(const cf_plan_t *plan, size_t i, cf_plan_cert_t *out);
/* 1 when a template (Subject, UPN, Email) of section i names ${field}. */
int cf_plan_cert_uses_field(const cf_plan_t *plan, size_t i, const char *field);

/* ---- derived and random values ----
 *
 * A parameter of CF_SOURCE_DERIVED or CF_SOURCE_RANDOM has no value until
 * the card is known: cf_plan_resolve() leaves it unset (and batch checks
 * accept it), cf_plan_resolve_card() fills it. */

/* 1 when a parameter is CF_SOURCE_DERIVED: running the plan needs a key
 * file. */
int cf_plan_needs_keyfile(const cf_plan_t *plan);
/* 1 when a parameter is CF_SOURCE_DERIVED or CF_SOURCE_RANDOM: the plan's
 * values are complete only after cf_plan_resolve_card(). */
int cf_plan_needs_card_stage(const cf_plan_t *plan);
/* CF_SOURCE_DERIVED: the master key's name (borrowed), and the version the
 * description asks for (0: the newest one in the key file). Otherwise NULL
 * and 0. */
const char *cf_plan_param_master(const cf_plan_t *plan, cf_param_t p);
unsigned cf_plan_param_master_version(const cf_plan_t *plan, cf_param_t p);
/* DERIVED or RANDOM key: the card key type made (3des unless the
 * description names one). Meaningless for other parameters (3des). */
cf_card_key_type_t cf_plan_param_key_type(const cf_plan_t *plan, cf_param_t p);
/* DERIVED or RANDOM PIN/PUK: its number of digits (default PIN 6, PUK and
 * InitialPUK 8); 0 for anything else. */
size_t cf_plan_param_digits(const cf_plan_t *plan, cf_param_t p);

/* Check that every master key (and version) the plan derives from is in
 * keys. A missing one is an error at the description line that names it,
 * giving the name and version (never key material); two parameters that
 * the key file makes identical (CardManagerKey and NewCardManagerKey from
 * the same key) are a warning. CF_OK, CF_ERR_NOT_FOUND when a key is
 * missing, CF_ERR_ARG when keys is NULL and the plan derives anything. */
cf_err_t cf_plan_check_keyfile(const cf_plan_t *plan, const cf_keyfile_t *keys,
                               cf_diag_list_t *diags);

/* The key file a command needs for plan, from path (NULL: none given): not
 * read when the plan derives nothing (a warning when one was given anyway);
 * an error naming the master keys when the plan derives and none was given;
 * else loaded (cf_keyfile_load's refusals) and checked (cf_plan_check_keyfile).
 * Problems go to diags at the description or key file. CF_OK with *out the
 * key file (NULL when none is needed; caller frees); CF_ERR_INVALID when
 * none was given or a master key is missing; cf_keyfile_load's errors
 * (CF_ERR_IO, CF_ERR_PERMISSION, CF_ERR_PARSE) as they are. */
cf_err_t cf_plan_load_keyfile(const cf_plan_t *plan, const char *path, cf_diag_list_t *diags,
                              cf_keyfile_t **out);

/* ---- per-card values ---- */

typedef struct cf_card_values cf_card_values_t;

/* Gives the batch record's cell for a field: *len and a pointer valid until
 * the resolve call returns, or NULL when the batch has no such column. */
typedef const char *(*cf_field_lookup_fn)(void *ctx, const char *field, size_t *len);

/* Asks the operator for dialog n (for parameter p); the callee owns nothing
 * afterwards: *out is handed over. NULL prompt function: prompts resolve to
 * no value (used by validation, which must not ask anything). */
typedef cf_err_t (*cf_prompt_fn)(void *ctx, unsigned dialog, cf_param_t p, cf_secret_t **out);

/* Resolve every parameter for one card. Problems (an empty cell with no
 * default, a key that is not 16/24/32 bytes of hex, a PIN too long) are
 * reported to diags at where_file:where_line, naming the column, never the
 * value. CF_ERR_INVALID when any was found; *out NULL then. With out NULL
 * the values are only checked, never copied (batch validation). */
cf_err_t cf_plan_resolve(const cf_plan_t *plan, cf_field_lookup_fn lookup, void *lookup_ctx,
                         cf_prompt_fn prompt, void *prompt_ctx, const char *where_file,
                         unsigned long where_line, cf_diag_list_t *diags, cf_card_values_t **out);

/* Check a batch file against the plan before any card is touched: every
 * needed field is a column or has a default (reported once, on the header
 * line), and every record resolves (reported at the record's line; at most
 * 100 records are listed). Streams the file. *records gets the number of
 * records read. CF_OK, CF_ERR_INVALID, or CF_ERR_IO when the file cannot
 * be read. */
cf_err_t cf_plan_check_batch(const cf_plan_t *plan, const char *csv_path, cf_diag_list_t *diags,
                             size_t *records);

/* The same over a reader the caller opened (and frees), from wherever it
 * stands: the runner reads its batch through its own source, to digest the
 * bytes it validates in the same pass. */
cf_err_t cf_plan_check_batch_csv(const cf_plan_t *plan, cf_csv_t *csv, cf_diag_list_t *diags,
                                 size_t *records);

/* The second, per-card stage: once the card is open, fill in values's
 * derived parameters (from the master keys in keys and the card serial,
 * the string cf_card_serial() gives, normalized as cf_keys_serial_normalize
 * says) and its random ones (RAND_bytes). Purposes: card manager keys use
 * the admin-key label, InitialPUK and PUK the PUK label, PIN the PIN label.
 * Every value is made before any is stored: on failure values is
 * unchanged. Calling it again (the next card) replaces the values. A plan
 * without such parameters needs no serial or keys and returns CF_OK.
 * Problems go to diags at the description line of the parameter (a master
 * key or version not in the key file: its name and version, never key
 * bytes; a serial unusable as a KDF context). values and keys are
 * borrowed. CF_OK; CF_ERR_ARG (values NULL, or keys NULL while the plan
 * derives); CF_ERR_PARSE (serial); CF_ERR_NOT_FOUND (master key);
 * CF_ERR_CRYPTO, CF_ERR_NOMEM. */
cf_err_t cf_plan_resolve_card(const cf_plan_t *plan, cf_card_values_t *values, const char *serial,
                              const cf_keyfile_t *keys, cf_diag_list_t *diags);

/* The value of p (keys as bytes, PIN/PUK as text), or NULL when the plan
 * does not use p, it is a prompt left unresolved, or it is derived/random
 * and cf_plan_resolve_card() has not run. Borrowed. */
const cf_secret_t *cf_card_values_get(const cf_card_values_t *v, cf_param_t p);

/* Where the value of p came from, for a journal: the source kind
 * (CF_SOURCE_NONE when the plan does not use p). For CF_SOURCE_DERIVED,
 * *master gets the master key's name (borrowed from v) and *version the
 * version actually used (the newest one resolved to its number; 0 until
 * cf_plan_resolve_card has run); otherwise NULL and 0. master and version
 * may be NULL. */
cf_source_t cf_card_values_origin(const cf_card_values_t *v, cf_param_t p, const char **master,
                                  unsigned *version);

void cf_card_values_free(cf_card_values_t *v); /* wipes; NULL is fine */

/* The names certificate section i gives this card: its subject (attribute
 * names from the plan, values expanded from the batch record; into dn,
 * which must hold CF_PLAN_CERT_MAX_RDN entries), UPN and email. Everything
 * borrowed from plan and v. CF_ERR_ARG when i is out of range or v has not
 * been resolved for it. */
cf_err_t cf_card_values_cert_names(const cf_plan_t *plan, const cf_card_values_t *v, size_t i,
                                   cf_dn_entry_t *dn, cf_issue_names_t *out);

#ifdef __cplusplus
}
#endif
#endif
