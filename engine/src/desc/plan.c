/*
 * plan.c - questions about a compiled plan, and per-card value resolution.
 *
 * Resolution is where a description meets a batch record: each parameter's
 * source becomes a secret. Validation of a whole batch runs the same code
 * with no prompt function, so what `validate --batch` accepts is exactly
 * what `run` will be able to use.
 */
#include <stdlib.h>
#include <string.h>

#include "desc/desc_gen.h"
#include "desc/desc_int.h"
#include "util/hex.h"

static const struct {
    const char *name;
    const char *summary;
} step_kinds[] = {
    [CF_STEP_AUTH_ADMIN] = {"auth-admin", "authenticate with the card manager key"},
    [CF_STEP_SET_PIN_BY_PUK] = {"set-pin-by-puk", "set the PIN with the PUK"},
    [CF_STEP_CHANGE_PUK] = {"change-puk", "change the PUK"},
    [CF_STEP_SET_PIN_BY_ADMIN] = {"set-pin-by-admin", "set the PIN with the card manager key"},
    [CF_STEP_ROTATE_ADMIN_KEY] = {"rotate-admin-key", "rotate the card manager key"},
    [CF_STEP_INSTALL_CR_KEY] = {"install-cr-key", "install the challenge-response unblock key"},
    [CF_STEP_BLOCK_PIN] = {"block-pin", "block the PIN"},
    [CF_STEP_WRITE_CHUID] = {"write-chuid", "write a CHUID with a new GUID"},
    [CF_STEP_WRITE_CCC] = {"write-ccc", "write a CCC with a new card identifier"},
    [CF_STEP_ISSUE_CERT] = {"issue-certificate",
                            "generate a key on the card and write its certificate from the CA"},
};

const char *cf_step_kind_name(cf_step_kind_t k)
{
    return (size_t)k < sizeof(step_kinds) / sizeof(step_kinds[0]) ? step_kinds[k].name : "unknown";
}

const char *cf_step_kind_summary(cf_step_kind_t k)
{
    return (size_t)k < sizeof(step_kinds) / sizeof(step_kinds[0]) ? step_kinds[k].summary
                                                                  : "unknown step";
}

int cf_plan_check_value(cf_param_t p, const char *text, size_t len, cf_secret_t **out, char *msg,
                        size_t msglen)
{
    if (out != NULL)
        *out = NULL;
    msg[0] = 0;
    if (cf_param_is_key(p)) {
        if (!cf_hex_valid(text, len)) {
            snprintf(msg, msglen, "a key must be hex digits (16, 24 or 32 bytes)");
            return -1;
        }
        if (len != 32 && len != 48 && len != 64) {
            snprintf(msg, msglen,
                     "a key must be 16, 24 or 32 bytes (32, 48 or 64 hex "
                     "digits), not %zu digits",
                     len);
            return -1;
        }
        if (out != NULL && cf_secret_from_hex(text, len, out) != CF_OK) {
            snprintf(msg, msglen, "cannot decode key");
            return -1;
        }
        return 0;
    }
    if (len == 0) {
        snprintf(msg, msglen, "empty value");
        return -1;
    }
    if (len > CF_PIN_MAX_ANY) {
        snprintf(msg, msglen, "%zu characters is longer than any card type accepts (%d)", len,
                 CF_PIN_MAX_ANY);
        return -1;
    }
    if (out == NULL)
        return 0;
    *out = cf_secret_new(text, len);
    if (*out == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    return 0;
}

void cf_plan_free(cf_plan_t *plan)
{
    if (plan == NULL)
        return;
    for (int p = 0; p < CF_PARAM_COUNT; p++) {
        free(plan->params[p].field);
        free(plan->params[p].master);
        cf_secret_free(plan->params[p].literal);
    }
    for (size_t i = 0; i < plan->nfields; i++) {
        free(plan->fields[i].name);
        cf_secret_free(plan->fields[i].def);
    }
    free(plan->fields);
    for (size_t i = 0; i < plan->ncerts; i++)
        cf_desc_cert_free(&plan->certs[i]);
    free(plan->name);
    free(plan);
}

const char *cf_plan_sha256(const cf_plan_t *plan)
{
    return plan->sha256;
}

const char *cf_plan_name(const cf_plan_t *plan)
{
    return plan->name;
}

size_t cf_plan_step_count(const cf_plan_t *plan)
{
    return plan->nsteps;
}

const cf_step_t *cf_plan_step(const cf_plan_t *plan, size_t i)
{
    return i < plan->nsteps ? &plan->steps[i] : NULL;
}

cf_source_t cf_plan_source(const cf_plan_t *plan, cf_param_t p)
{
    return p < CF_PARAM_COUNT ? plan->params[p].src : CF_SOURCE_NONE;
}

unsigned long cf_plan_param_line(const cf_plan_t *plan, cf_param_t p)
{
    return p < CF_PARAM_COUNT ? plan->params[p].line : 0;
}

const char *cf_plan_param_field(const cf_plan_t *plan, cf_param_t p)
{
    return p < CF_PARAM_COUNT ? plan->params[p].field : NULL;
}

unsigned cf_plan_param_dialog(const cf_plan_t *plan, cf_param_t p)
{
    return p < CF_PARAM_COUNT ? plan->params[p].dialog : 0;
}

int cf_plan_needs_keyfile(const cf_plan_t *plan)
{
    for (int p = 0; p < CF_PARAM_COUNT; p++)
        if (plan->params[p].src == CF_SOURCE_DERIVED)
            return 1;
    return 0;
}

int cf_plan_needs_card_stage(const cf_plan_t *plan)
{
    for (int p = 0; p < CF_PARAM_COUNT; p++)
        if (plan->params[p].src == CF_SOURCE_DERIVED || plan->params[p].src == CF_SOURCE_RANDOM)
            return 1;
    return 0;
}

const char *cf_plan_param_master(const cf_plan_t *plan, cf_param_t p)
{
    return p < CF_PARAM_COUNT ? plan->params[p].master : NULL;
}

unsigned cf_plan_param_master_version(const cf_plan_t *plan, cf_param_t p)
{
    return p < CF_PARAM_COUNT && plan->params[p].src == CF_SOURCE_DERIVED ? plan->params[p].version
                                                                          : 0;
}

cf_card_key_type_t cf_plan_param_key_type(const cf_plan_t *plan, cf_param_t p)
{
    if (p >= CF_PARAM_COUNT || !cf_param_is_key(p))
        return CF_CARD_KEY_3DES;
    cf_source_t src = plan->params[p].src;
    return src == CF_SOURCE_DERIVED || src == CF_SOURCE_RANDOM ? plan->params[p].key_type
                                                               : CF_CARD_KEY_3DES;
}

size_t cf_plan_param_digits(const cf_plan_t *plan, cf_param_t p)
{
    if (p >= CF_PARAM_COUNT || cf_param_is_key(p))
        return 0;
    cf_source_t src = plan->params[p].src;
    return src == CF_SOURCE_DERIVED || src == CF_SOURCE_RANDOM ? plan->params[p].digits : 0;
}

/* Used fields only: the ones a batch must supply. */
static const struct plan_field *used_field(const cf_plan_t *plan, size_t i)
{
    for (size_t k = 0; k < plan->nfields; k++) {
        if (!plan->fields[k].used)
            continue;
        if (i-- == 0)
            return &plan->fields[k];
    }
    return NULL;
}

size_t cf_plan_field_count(const cf_plan_t *plan)
{
    size_t n = 0;
    for (size_t k = 0; k < plan->nfields; k++)
        n += plan->fields[k].used != 0;
    return n;
}

const char *cf_plan_field_name(const cf_plan_t *plan, size_t i)
{
    const struct plan_field *f = used_field(plan, i);
    return f ? f->name : NULL;
}

int cf_plan_field_has_default(const cf_plan_t *plan, size_t i)
{
    const struct plan_field *f = used_field(plan, i);
    return f ? f->def != NULL : 0;
}

int cf_plan_has_prompts(const cf_plan_t *plan)
{
    for (int p = 0; p < CF_PARAM_COUNT; p++)
        if (plan->params[p].src == CF_SOURCE_PROMPT)
            return 1;
    return 0;
}

static const struct plan_field *field_by_name(const cf_plan_t *plan, const char *name)
{
    for (size_t k = 0; k < plan->nfields; k++)
        if (strcmp(plan->fields[k].name, name) == 0)
            return &plan->fields[k];
    return NULL;
}

cf_err_t cf_plan_resolve(const cf_plan_t *plan, cf_field_lookup_fn lookup, void *lookup_ctx,
                         cf_prompt_fn prompt, void *prompt_ctx, const char *where_file,
                         unsigned long where_line, cf_diag_list_t *diags, cf_card_values_t **out)
{
    /* Without out, only check: the values are not copied anywhere. */
    cf_card_values_t scratch = {0};
    cf_card_values_t *v = &scratch;
    cf_secret_t **slot;
    if (out != NULL) {
        *out = NULL;
        v = calloc(1, sizeof(*v));
        if (v == NULL)
            return CF_ERR_NOMEM;
    }
    int bad = 0;
    for (int i = 0; i < CF_PARAM_COUNT; i++) {
        cf_param_t p = (cf_param_t)i;
        const struct plan_param *pp = &plan->params[p];
        char msg[160];
        v->origin[p].src = pp->src;
        switch (pp->src) {
        case CF_SOURCE_NONE:
            break;
        case CF_SOURCE_DERIVED:
            /* Made per card by cf_plan_resolve_card; the name is kept here
             * so the origin is known even before. */
            snprintf(v->origin[p].master, sizeof(v->origin[p].master), "%s", pp->master);
            break;
        case CF_SOURCE_RANDOM:
            break;
        case CF_SOURCE_LITERAL:
            if (out != NULL && (v->v[p] = cf_secret_dup(pp->literal)) == NULL)
                bad = 1;
            break;
        case CF_SOURCE_PROMPT:
            if (prompt != NULL) {
                cf_secret_t *answer = NULL;
                cf_err_t e = prompt(prompt_ctx, pp->dialog, p, &answer);
                if (e != CF_OK) {
                    cf_secret_free(answer);
                    if (out != NULL)
                        cf_card_values_free(v);
                    return e;
                }
                slot = out != NULL ? &v->v[p] : NULL;
                if (cf_plan_check_value(p, cf_secret_str(answer), cf_secret_len(answer), slot, msg,
                                        sizeof(msg)) != 0) {
                    cf_diag_add(diags, CF_SEV_ERROR, where_file, where_line, "%s (dialog %u): %s",
                                cf_param_name(p), pp->dialog, msg);
                    bad = 1;
                }
                cf_secret_free(answer);
            }
            break;
        case CF_SOURCE_FIELD: {
            size_t len = 0;
            const char *cell = lookup ? lookup(lookup_ctx, pp->field, &len) : NULL;
            const struct plan_field *f = field_by_name(plan, pp->field);
            const char *text = cell;
            if (cell == NULL || len == 0) {
                if (f != NULL && f->def != NULL) {
                    text = cf_secret_str(f->def);
                    len = cf_secret_len(f->def);
                } else {
                    cf_diag_add(diags, CF_SEV_ERROR, where_file, where_line,
                                cell == NULL ? "no column %s and field %s has no default "
                                               "(needed by %s)"
                                             : "column %s is empty and field %s has no "
                                               "default (needed by %s)",
                                pp->field, pp->field, cf_param_name(p));
                    bad = 1;
                    break;
                }
            }
            slot = out != NULL ? &v->v[p] : NULL;
            if (cf_desc_looks_generated(text, len)) {
                cf_diag_add(diags, CF_SEV_ERROR, where_file, where_line,
                            "column %s (used as %s): @derive and @random are written in the "
                            "description, not in a batch cell",
                            pp->field, cf_param_name(p));
                bad = 1;
            } else if (cf_plan_check_value(p, text, len, slot, msg, sizeof(msg)) != 0) {
                cf_diag_add(diags, CF_SEV_ERROR, where_file, where_line,
                            "column %s (used as %s): %s", pp->field, cf_param_name(p), msg);
                bad = 1;
            }
            break;
        }
        }
    }
    if (cf_desc_cert_resolve(plan, out != NULL ? v : NULL, lookup, lookup_ctx, where_file,
                             where_line, diags) != 0)
        bad = 1;
    if (out == NULL)
        return bad ? CF_ERR_INVALID : CF_OK;
    if (bad) {
        cf_card_values_free(v);
        return CF_ERR_INVALID;
    }
    *out = v;
    return CF_OK;
}

const cf_secret_t *cf_card_values_get(const cf_card_values_t *v, cf_param_t p)
{
    return v != NULL && p < CF_PARAM_COUNT ? v->v[p] : NULL;
}

cf_source_t cf_card_values_origin(const cf_card_values_t *v, cf_param_t p, const char **master,
                                  unsigned *version)
{
    if (master != NULL)
        *master = NULL;
    if (version != NULL)
        *version = 0;
    if (v == NULL || p >= CF_PARAM_COUNT)
        return CF_SOURCE_NONE;
    const struct value_origin *o = &v->origin[p];
    if (o->src == CF_SOURCE_DERIVED) {
        if (master != NULL)
            *master = o->master;
        if (version != NULL)
            *version = o->version;
    }
    return o->src;
}

void cf_card_values_free(cf_card_values_t *v)
{
    if (v == NULL)
        return;
    for (int p = 0; p < CF_PARAM_COUNT; p++)
        cf_secret_free(v->v[p]);
    cf_desc_cert_texts_free(v);
    free(v);
}
