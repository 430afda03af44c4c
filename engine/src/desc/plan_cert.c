/*
 * plan_cert.c - the certificate sections of a compiled plan, and their
 * texts for one card: the templates of desc_cert.c expanded from the batch
 * record when the record is resolved (cf_plan_resolve), so that a record
 * whose subject cannot be made is refused with the others before any card
 * is touched, and the step gets finished strings.
 *
 * The expanded texts are the holder's names: not secrets, but personal
 * data, wiped when the values are freed like everything else there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/secret.h>

#include "desc/desc_int.h"
#include "util/utf8.h"

/* Longest expanded text (an X.520 attribute, a UPN, an address). */
#define MAX_TEXT 256

size_t cf_plan_cert_count(const cf_plan_t *plan)
{
    return plan != NULL ? plan->ncerts : 0;
}

int cf_plan_cert(const cf_plan_t *plan, size_t i, cf_plan_cert_t *out)
{
    if (plan == NULL || i >= plan->ncerts)
        return 0;
    const struct plan_cert *pc = &plan->certs[i];
    memset(out, 0, sizeof(*out));
    out->name = pc->name;
    out->line = pc->line;
    out->slot = pc->slot;
    out->keygen.alg = pc->alg;
    out->keygen.pin_policy = pc->pin_policy;
    out->keygen.touch_policy = pc->touch_policy;
    out->validity_days = pc->validity_days;
    out->ca_command = pc->ca_command;
    out->ca_cert = pc->ca_cert;
    out->ca_key = pc->ca_key;
    out->ca_command_line = pc->ca_exec;
    out->ca_timeout_ms = pc->ca_timeout_ms;
    return 1;
}

static const struct plan_field *field_of(const cf_plan_t *plan, const char *name, size_t len)
{
    for (size_t i = 0; i < plan->nfields; i++)
        if (strlen(plan->fields[i].name) == len && strncmp(plan->fields[i].name, name, len) == 0)
            return &plan->fields[i];
    return NULL;
}

int cf_desc_tmpl_expand(const cf_plan_t *plan, const struct plan_tmpl *t, cf_field_lookup_fn lookup,
                        void *ctx, char **out, char *msg, size_t msglen)
{
    *out = NULL;
    if (t->text == NULL)
        return 0;
    char buf[MAX_TEXT + 1];
    size_t n = 0;
    for (const char *p = t->text; *p;) {
        const char *piece = p;
        size_t len = 1;
        if (p[0] == '$' && p[1] == '$') {
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *close = strchr(p + 2, '}'); /* checked at compile time */
            char name[80];
            size_t nl = close ? (size_t)(close - p - 2) : 0;
            snprintf(name, sizeof(name), "%.*s", (int)(nl < 79 ? nl : 79), p + 2);
            const struct plan_field *f = field_of(plan, p + 2, nl);
            piece = lookup ? lookup(ctx, name, &len) : NULL;
            if ((piece == NULL || len == 0) && f != NULL && f->def != NULL) {
                piece = cf_secret_str(f->def);
                len = cf_secret_len(f->def);
            }
            if (piece == NULL || len == 0) {
                snprintf(msg, msglen, "column %s is %s and field %s has no default", name,
                         piece == NULL ? "missing" : "empty", name);
                return -1;
            }
            p = close ? close + 1 : p + strlen(p);
        } else {
            p++;
        }
        if (n + len > MAX_TEXT) {
            snprintf(msg, msglen, "longer than %d bytes once the fields are filled in", MAX_TEXT);
            return -1;
        }
        memcpy(buf + n, piece, len);
        n += len;
    }
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
            snprintf(msg, msglen, "holds a control character once the fields are filled in");
            return -1;
        }
    }
    if (cf_utf8_check((const uint8_t *)buf, n, NULL) != CF_UTF8_OK) {
        snprintf(msg, msglen, "is not UTF-8 text once the fields are filled in");
        return -1;
    }
    *out = strdup(buf);
    return *out != NULL ? 0 : -1;
}

/* Expand one template into *slot (NULL slot: check only). 0 or -1. */
static int expand_one(const cf_plan_t *plan, const struct plan_cert *pc, const struct plan_tmpl *t,
                      const char *what, char **slot, cf_field_lookup_fn lookup, void *ctx,
                      const char *where_file, unsigned long where_line, cf_diag_list_t *diags)
{
    char msg[160] = "out of memory", *text = NULL;
    if (cf_desc_tmpl_expand(plan, t, lookup, ctx, &text, msg, sizeof(msg)) != 0) {
        cf_diag_add(diags, CF_SEV_ERROR, where_file, where_line, "%s of [Certificate_%s]: %s", what,
                    pc->name, msg);
        return -1;
    }
    if (slot != NULL)
        *slot = text;
    else
        free(text);
    return 0;
}

int cf_desc_cert_resolve(const cf_plan_t *plan, cf_card_values_t *v, cf_field_lookup_fn lookup,
                         void *ctx, const char *where_file, unsigned long where_line,
                         cf_diag_list_t *diags)
{
    int bad = 0;
    for (size_t i = 0; i < plan->ncerts; i++) {
        const struct plan_cert *pc = &plan->certs[i];
        struct cert_texts *ct = v != NULL ? &v->certs[i] : NULL;
        for (size_t j = 0; j < pc->n_subject; j++) {
            char what[48];
            snprintf(what, sizeof(what), "Subject %s", pc->subject_attr[j]);
            bad |= expand_one(plan, pc, &pc->subject[j], what, ct ? &ct->subject[j] : NULL, lookup,
                              ctx, where_file, where_line, diags);
        }
        bad |= expand_one(plan, pc, &pc->upn, "UPN", ct ? &ct->upn : NULL, lookup, ctx, where_file,
                          where_line, diags);
        bad |= expand_one(plan, pc, &pc->email, "Email", ct ? &ct->email : NULL, lookup, ctx,
                          where_file, where_line, diags);
    }
    return bad ? -1 : 0;
}

static int tmpl_names(const struct plan_tmpl *t, const char *field)
{
    if (t->text == NULL)
        return 0;
    size_t fl = strlen(field);
    for (const char *p = strstr(t->text, "${"); p != NULL; p = strstr(p + 2, "${"))
        if (strncmp(p + 2, field, fl) == 0 && p[2 + fl] == '}')
            return 1;
    return 0;
}

int cf_plan_cert_uses_field(const cf_plan_t *plan, size_t i, const char *field)
{
    if (plan == NULL || i >= plan->ncerts || field == NULL)
        return 0;
    const struct plan_cert *pc = &plan->certs[i];
    for (size_t j = 0; j < pc->n_subject; j++)
        if (tmpl_names(&pc->subject[j], field))
            return 1;
    return tmpl_names(&pc->upn, field) || tmpl_names(&pc->email, field);
}

static void free_text(char *s)
{
    if (s != NULL) {
        cf_wipe(s, strlen(s));
        free(s);
    }
}

void cf_desc_cert_texts_free(cf_card_values_t *v)
{
    for (size_t i = 0; i < CF_PLAN_MAX_CERTS; i++) {
        for (size_t j = 0; j < CF_PLAN_CERT_MAX_RDN; j++)
            free_text(v->certs[i].subject[j]);
        free_text(v->certs[i].upn);
        free_text(v->certs[i].email);
    }
    memset(v->certs, 0, sizeof(v->certs));
}

cf_err_t cf_card_values_cert_names(const cf_plan_t *plan, const cf_card_values_t *v, size_t i,
                                   cf_dn_entry_t *dn, cf_issue_names_t *out)
{
    if (plan == NULL || v == NULL || i >= plan->ncerts || dn == NULL || out == NULL)
        return CF_ERR_ARG;
    const struct plan_cert *pc = &plan->certs[i];
    for (size_t j = 0; j < pc->n_subject; j++) {
        if (v->certs[i].subject[j] == NULL)
            return CF_ERR_ARG;
        dn[j].attr = pc->subject_attr[j];
        dn[j].value = v->certs[i].subject[j];
    }
    out->subject = dn;
    out->n_subject = pc->n_subject;
    out->upn = v->certs[i].upn;
    out->email = v->certs[i].email;
    return CF_OK;
}
