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

/* The seven fixed kinds, plus one issue-certificate step per
 * [Certificate_<Name>] section (at most CF_PLAN_MAX_CERTS). */
#define CF_PLAN_MAX_STEPS 16

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

/* A template of a [Certificate_<Name>] value: literal text and ${FIELD}
 * references, expanded per card (desc_cert.c). */
struct plan_tmpl {
    char *text; /* as written, "$$" for a literal '$' */
    unsigned long line;
};

struct plan_cert {
    char name[CF_PLAN_CERT_NAME]; /* <Name> of the section */
    unsigned long line;           /* of the section header */
    char slot[8];                 /* "9a".."9e"; "" = the first free GIDS container */
    cf_key_alg_t alg;
    uint8_t pin_policy, touch_policy; /* cf_keygen_t's values; 0 = the slot's default */
    size_t n_subject;
    char *subject_attr[CF_PLAN_CERT_MAX_RDN];
    struct plan_tmpl subject[CF_PLAN_CERT_MAX_RDN];
    struct plan_tmpl upn, email; /* text NULL when absent */
    unsigned validity_days;
    int ca_command;         /* 0: local CA */
    char *ca_cert, *ca_key; /* local: paths, relative ones joined to the description's directory */
    char *ca_exec;          /* command */
    unsigned ca_timeout_ms;
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
    struct plan_cert certs[CF_PLAN_MAX_CERTS];
    size_t ncerts;
};

/* Where one card value came from (cf_card_values_origin). */
struct value_origin {
    cf_source_t src;
    char master[CF_KEYS_NAME_MAX + 1]; /* CF_SOURCE_DERIVED */
    unsigned version;                  /* the version used; 0 until derived */
};

/* The texts of one certificate section for one card, expanded. */
struct cert_texts {
    char *subject[CF_PLAN_CERT_MAX_RDN];
    char *upn, *email;
};

struct cf_card_values {
    cf_secret_t *v[CF_PARAM_COUNT];
    struct value_origin origin[CF_PARAM_COUNT];
    struct cert_texts certs[CF_PLAN_MAX_CERTS];
};

/* Expand template t for one card: ${FIELD} from lookup (the batch cell,
 * else the field's default). *out is malloc'd (NULL when t has no text).
 * 0; -1 with a message naming the field (never a value) in msg. */
int cf_desc_tmpl_expand(const cf_plan_t *plan, const struct plan_tmpl *t, cf_field_lookup_fn lookup,
                        void *ctx, char **out, char *msg, size_t msglen);

void cf_desc_cert_free(struct plan_cert *pc);

/* Expand every certificate template of plan for one record into v's texts
 * (v NULL: check only). Problems go to diags at where_file:where_line,
 * naming the column, never a value. 0, or -1 when any was found. */
int cf_desc_cert_resolve(const cf_plan_t *plan, cf_card_values_t *v, cf_field_lookup_fn lookup,
                         void *ctx, const char *where_file, unsigned long where_line,
                         cf_diag_list_t *diags);

/* Wipe and free v's certificate texts. */
void cf_desc_cert_texts_free(cf_card_values_t *v);

/* Check a value for parameter p given as text; on success *out holds the
 * value in its card form (keys decoded from hex). On failure a message
 * (without the value) is in msg and *out is NULL. */
int cf_plan_check_value(cf_param_t p, const char *text, size_t len, cf_secret_t **out, char *msg,
                        size_t msglen);

#endif
