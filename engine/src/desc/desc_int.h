/*
 * desc_int.h - the compiled plan's representation (internal).
 *
 * Shared by the compiler (desc_compile.c), which fills it, and plan.c, which
 * answers questions about it and resolves per-card values.
 */
#ifndef CF_DESC_INT_H
#define CF_DESC_INT_H

#include <cardforge/plan.h>

#define CF_PLAN_MAX_STEPS 8

struct plan_param {
    cf_source_t src;
    unsigned long line;
    char *field;          /* CF_SOURCE_FIELD */
    unsigned dialog;      /* CF_SOURCE_PROMPT */
    cf_secret_t *literal; /* CF_SOURCE_LITERAL: text, or key bytes */
};

struct plan_field {
    char *name;
    cf_secret_t *def; /* default value, NULL when none */
    unsigned long line;
    int used;
};

struct cf_plan {
    char *name;
    struct plan_param params[CF_PARAM_COUNT];
    cf_step_t steps[CF_PLAN_MAX_STEPS];
    size_t nsteps;
    struct plan_field *fields; /* every declared field */
    size_t nfields;
};

/* Check a value for parameter p given as text; on success *out holds the
 * value in its card form (keys decoded from hex). On failure a message
 * (without the value) is in msg and *out is NULL. */
int cf_plan_check_value(cf_param_t p, const char *text, size_t len, cf_secret_t **out,
                        char *msg, size_t msglen);

#endif
