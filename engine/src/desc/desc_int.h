/*
 * desc_int.h - the compiled plan's representation (internal).
 *
 * Shared by the compiler (desc_compile.c, desc_gen.c), which fills it, and
 * plan.c / plan_card.c, which answer questions about it and resolve
 * per-card values. The per-card values are here too because both
 * resolution stages fill them.
 */
#ifndef CF_DESC_INT_H
#define CF_DESC_INT_H

#include <cardforge/plan.h>

#define CF_PLAN_MAX_STEPS 8

struct plan_param {
    cf_source_t src;
    unsigned long line;
    char *field;                 /* CF_SOURCE_FIELD */
    unsigned dialog;             /* CF_SOURCE_PROMPT */
    cf_secret_t *literal;        /* CF_SOURCE_LITERAL: text, or key bytes */
    char *master;                /* CF_SOURCE_DERIVED: master key name */
    unsigned version;            /* CF_SOURCE_DERIVED: 0 = the newest */
    cf_card_key_type_t key_type; /* DERIVED/RANDOM key */
    size_t digits;               /* DERIVED/RANDOM PIN or PUK */
};

struct plan_field {
    char *name;
    cf_secret_t *def; /* default value, NULL when none */
    unsigned long line;
    int used;
};

struct cf_plan {
    char *name;
    char sha256[65]; /* of the bytes compiled, lower-case hex: the journal's fingerprint */
    struct plan_param params[CF_PARAM_COUNT];
    cf_step_t steps[CF_PLAN_MAX_STEPS];
    size_t nsteps;
    /* CHUID=generate: the expiry as YYYYMMDD, or "" and a number of years
     * counted from the day the CHUID is written. */
    char chuid_expiry[9];
    unsigned chuid_years;
    struct plan_field *fields; /* every declared field */
    size_t nfields;
};

/* Where one card value came from (cf_card_values_origin). */
struct value_origin {
    cf_source_t src;
    char master[CF_KEYS_NAME_MAX + 1]; /* CF_SOURCE_DERIVED */
    unsigned version;                  /* the version used; 0 until derived */
};

struct cf_card_values {
    cf_secret_t *v[CF_PARAM_COUNT];
    struct value_origin origin[CF_PARAM_COUNT];
};

/* Check a value for parameter p given as text; on success *out holds the
 * value in its card form (keys decoded from hex). On failure a message
 * (without the value) is in msg and *out is NULL. */
int cf_plan_check_value(cf_param_t p, const char *text, size_t len, cf_secret_t **out, char *msg,
                        size_t msglen);

#endif
