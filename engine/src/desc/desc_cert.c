/*
 * desc_cert.c - [Certificate_<Name>] sections: a key generated on the card
 * and a certificate issued for it by a CA (docs/encoding-description.md,
 * "Certificates"). The seeds show no certificate section of the Identity
 * Manager's, so this one is ours, written in the file's style: one section
 * per key, KEY=VALUE settings, values naming [Fields] entries.
 *
 * Subject, UPN and Email are templates: literal text with ${FIELD} taken
 * from the batch record ($$ is a literal $). The subject is written as
 * OpenSSL's -subj does (/CN=.../O=...) and split into its attributes
 * HERE, before any field is expanded, so a holder's name may contain '/',
 * ',' or '=' and still be one attribute value.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>

#include "desc/desc_cert.h"

#define err(dc, line, ...) cf_diag_add((dc)->diags, CF_SEV_ERROR, (dc)->file, (line), __VA_ARGS__)

static const char *const key_names[CK_COUNT] = {
    "Slot",         "Algorithm", "PINPolicy", "TouchPolicy", "Subject",   "UPN",       "Email",
    "ValidityDays", "CA",        "CAKey",     "CACert",      "CACommand", "CATimeout",
};

#define DEFAULT_VALIDITY_DAYS 365
#define MAX_VALIDITY_DAYS 7300
#define DEFAULT_TIMEOUT_S 30
#define MAX_TIMEOUT_S 600

void cf_desc_cert_section(struct desc_certs *dc, const char *name, size_t len, unsigned long line)
{
    dc->current = -1;
    if (len == 0 || len >= CF_PLAN_CERT_NAME) {
        err(dc, line, "[Certificate_<Name>]: the name must be 1 to %d characters",
            CF_PLAN_CERT_NAME - 1);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-') {
            err(dc, line, "[Certificate_%.*s]: the name may hold letters, digits, _ and -",
                (int)len, name);
            return;
        }
    }
    if (dc->n >= CF_PLAN_MAX_CERTS) {
        err(dc, line, "more than %d [Certificate_<Name>] sections", CF_PLAN_MAX_CERTS);
        return;
    }
    struct cert_raw *r = &dc->raw[dc->n];
    memcpy(r->name, name, len);
    r->name[len] = '\0';
    r->line = line;
    dc->current = (int)dc->n++;
}

void cf_desc_cert_setting(struct desc_certs *dc, const char *key, const char *value,
                          unsigned long line)
{
    if (dc->current < 0)
        return; /* the section header was reported */
    struct cert_raw *r = &dc->raw[dc->current];
    for (int k = 0; k < CK_COUNT; k++) {
        if (strcasecmp(key, key_names[k]) != 0)
            continue;
        if (r->vline[k] != 0) {
            err(dc, line, "duplicate key %s (first at line %lu)", key_names[k], r->vline[k]);
            return;
        }
        r->vline[k] = line;
        r->value[k] = strdup(value);
        if (r->value[k] == NULL)
            err(dc, line, "out of memory");
        return;
    }
    err(dc, line,
        "unknown key '%.40s' in [Certificate_%s] (known: Slot, Algorithm, PINPolicy, "
        "TouchPolicy, Subject, UPN, Email, ValidityDays, CA, CAKey, CACert, CACommand, "
        "CATimeout)",
        key, r->name);
}

void cf_desc_cert_raw_free(struct desc_certs *dc)
{
    for (size_t i = 0; i < dc->n; i++)
        for (int k = 0; k < CK_COUNT; k++)
            free(dc->raw[i].value[k]);
    dc->n = 0;
}

void cf_desc_cert_free(struct plan_cert *pc)
{
    for (size_t j = 0; j < pc->n_subject; j++) {
        free(pc->subject_attr[j]);
        free(pc->subject[j].text);
    }
    free(pc->upn.text);
    free(pc->email.text);
    free(pc->ca_cert);
    free(pc->ca_key);
    free(pc->ca_exec);
    memset(pc, 0, sizeof(*pc));
}

static struct plan_field *field_named(cf_plan_t *plan, const char *name, size_t len)
{
    for (size_t i = 0; i < plan->nfields; i++)
        if (strlen(plan->fields[i].name) == len && strncmp(plan->fields[i].name, name, len) == 0)
            return &plan->fields[i];
    return NULL;
}

/* Check a template's references; mark the fields used. 0 or -1 (reported). */
static int check_tmpl(struct desc_certs *dc, cf_plan_t *plan, const char *t, const char *what,
                      unsigned long line)
{
    for (size_t i = 0; t[i]; i++) {
        if (t[i] != '$')
            continue;
        if (t[i + 1] == '$') {
            i++;
            continue;
        }
        const char *close = t[i + 1] == '{' ? strchr(t + i + 2, '}') : NULL;
        if (close == NULL) {
            err(dc, line, "%s: a '$' starts ${FIELD} (or write $$ for a '$')", what);
            return -1;
        }
        const char *nm = t + i + 2;
        size_t nl = (size_t)(close - nm);
        struct plan_field *f = field_named(plan, nm, nl);
        if (f == NULL) {
            err(dc, line, "%s: ${%.*s} names a field that is not declared in [Fields]", what,
                (int)(nl > 64 ? 64 : nl), nm);
            return -1;
        }
        f->used = 1;
        i = (size_t)(close - t);
    }
    return 0;
}

static int set_tmpl(struct desc_certs *dc, cf_plan_t *plan, struct plan_tmpl *out, const char *t,
                    const char *what, unsigned long line)
{
    if (check_tmpl(dc, plan, t, what, line) != 0)
        return -1;
    out->text = strdup(t);
    out->line = line;
    if (out->text == NULL) {
        err(dc, line, "out of memory");
        return -1;
    }
    return 0;
}

/* "/CN=${NAME}/O=Example": split on '/' into attributes, each checked. */
static void parse_subject(struct desc_certs *dc, cf_plan_t *plan, struct plan_cert *pc,
                          const char *v, unsigned long line)
{
    if (v[0] != '/') {
        err(dc, line,
            "Subject must be written /ATTR=value/ATTR=value (as openssl -subj), "
            "for example /CN=${HOLDER}/O=Example");
        return;
    }
    const char *p = v + 1;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (pc->n_subject >= CF_PLAN_CERT_MAX_RDN) {
            err(dc, line, "Subject: more than %d attributes", CF_PLAN_CERT_MAX_RDN);
            return;
        }
        if (eq == NULL || eq == p || eq + 1 == p + n) {
            err(dc, line, "Subject: '%.*s' is not ATTR=value", (int)(n > 40 ? 40 : n), p);
            return;
        }
        char attr[32], val[200];
        size_t al = (size_t)(eq - p), vl = n - al - 1;
        if (al >= sizeof(attr) || vl >= sizeof(val)) {
            err(dc, line, "Subject: an attribute is too long");
            return;
        }
        memcpy(attr, p, al);
        attr[al] = '\0';
        memcpy(val, eq + 1, vl);
        val[vl] = '\0';
        if (OBJ_txt2nid(attr) == NID_undef) {
            err(dc, line,
                "Subject: unknown attribute '%s' (CN, O, OU, C, L, ST, emailAddress, "
                "serialNumber, UID, ...)",
                attr);
            return;
        }
        size_t j = pc->n_subject;
        char what[48];
        snprintf(what, sizeof(what), "Subject %s", attr);
        if (set_tmpl(dc, plan, &pc->subject[j], val, what, line) != 0)
            return;
        pc->subject_attr[j] = strdup(attr);
        pc->n_subject++;
        if (pc->subject_attr[j] == NULL) {
            err(dc, line, "out of memory");
            return;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    if (pc->n_subject == 0)
        err(dc, line, "Subject names no attribute");
}

static int parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    if (!isdigit((unsigned char)v[0]))
        return -1;
    unsigned long n = strtoul(v, &end, 10);
    if (*end != '\0' || n < lo || n > hi)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int pick(const char *v, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcasecmp(v, names[i]) == 0)
            return i;
    return -1;
}

/* A CA file: absolute, or relative to the description's directory. */
static char *ca_path(const char *file, const char *v)
{
    if (v[0] == '/')
        return strdup(v);
    const char *slash = strrchr(file, '/');
    size_t dl = slash ? (size_t)(slash - file) + 1 : 0;
    char *out = malloc(dl + strlen(v) + 1);
    if (out != NULL) {
        memcpy(out, file, dl);
        strcpy(out + dl, v);
    }
    return out;
}

static void finish_one(struct desc_certs *dc, cf_plan_t *plan, struct cert_raw *r,
                       struct plan_cert *pc, int has_pin, int has_cmk)
{
    char *const *v = r->value;
    const unsigned long *l = r->vline;
    snprintf(pc->name, sizeof(pc->name), "%s", r->name);
    pc->line = r->line;
    for (int k = CK_SLOT; k <= CK_CA; k++) {
        if ((k == CK_SLOT || k == CK_ALGORITHM || k == CK_SUBJECT || k == CK_CA) && !v[k])
            err(dc, r->line, "[Certificate_%s] needs %s=", r->name, key_names[k]);
    }
    if (!has_pin)
        err(dc, r->line,
            "[Certificate_%s]: the card signs the request with its PIN verified: the "
            "description must set it (SetPIN=true and PIN=)",
            r->name);
    if (v[CK_SLOT]) {
        static const char *const slots[] = {"9a", "9c", "9d", "9e", "auto"};
        int s = pick(v[CK_SLOT], slots, 5);
        if (s < 0)
            err(dc, l[CK_SLOT],
                "Slot must be 9a, 9c, 9d or 9e (PIV) or auto (the first free GIDS container)");
        else
            snprintf(pc->slot, sizeof(pc->slot), "%s", s == 4 ? "" : slots[s]);
        if (s >= 0 && s < 4 && !has_cmk)
            err(dc, l[CK_SLOT],
                "Slot=%s: generating a key and writing its certificate on PIV needs the "
                "management key: give CardManagerKey",
                slots[s]);
    }
    if (v[CK_ALGORITHM]) {
        static const char *const algs[] = {"rsa2048", "p256", "p384", "eccp256", "eccp384"};
        static const cf_key_alg_t alg_of[] = {CF_KEYALG_RSA2048, CF_KEYALG_ECCP256,
                                              CF_KEYALG_ECCP384, CF_KEYALG_ECCP256,
                                              CF_KEYALG_ECCP384};
        int a = pick(v[CK_ALGORITHM], algs, 5);
        if (a < 0)
            err(dc, l[CK_ALGORITHM], "Algorithm must be rsa2048, p256 or p384");
        else
            pc->alg = alg_of[a];
    }
    if (v[CK_SLOT] && v[CK_ALGORITHM] && pc->slot[0] == '\0' && pc->alg != CF_KEYALG_RSA2048 &&
        pc->alg != CF_KEYALG_UNKNOWN)
        err(dc, l[CK_ALGORITHM], "Slot=auto (GIDS) makes RSA-2048 keys only: Algorithm=rsa2048");
    static const char *const pinpol[] = {"default", "never", "once", "always"};
    static const char *const touchpol[] = {"default", "never", "always", "cached"};
    int pp = v[CK_PINPOLICY] ? pick(v[CK_PINPOLICY], pinpol, 4) : 0;
    int tp = v[CK_TOUCHPOLICY] ? pick(v[CK_TOUCHPOLICY], touchpol, 4) : 0;
    if (pp < 0)
        err(dc, l[CK_PINPOLICY], "PINPolicy must be default, never, once or always");
    if (tp < 0)
        err(dc, l[CK_TOUCHPOLICY], "TouchPolicy must be default, never, always or cached");
    pc->pin_policy = (uint8_t)(pp > 0 ? pp : 0);
    pc->touch_policy = (uint8_t)(tp > 0 ? tp : 0);
    if (v[CK_SLOT] && pc->slot[0] == '\0' && (pp > 0 || tp > 0))
        err(dc, l[pp > 0 ? CK_PINPOLICY : CK_TOUCHPOLICY],
            "PINPolicy and TouchPolicy are PIV (YubiKey) settings; Slot=auto is a GIDS "
            "container");
    if (v[CK_SUBJECT])
        parse_subject(dc, plan, pc, v[CK_SUBJECT], l[CK_SUBJECT]);
    if (v[CK_UPN] && v[CK_UPN][0])
        set_tmpl(dc, plan, &pc->upn, v[CK_UPN], "UPN", l[CK_UPN]);
    if (v[CK_EMAIL] && v[CK_EMAIL][0])
        set_tmpl(dc, plan, &pc->email, v[CK_EMAIL], "Email", l[CK_EMAIL]);
    pc->validity_days = DEFAULT_VALIDITY_DAYS;
    if (v[CK_VALIDITY] && parse_uint(v[CK_VALIDITY], 1, MAX_VALIDITY_DAYS, &pc->validity_days) != 0)
        err(dc, l[CK_VALIDITY], "ValidityDays must be a whole number from 1 to %d",
            MAX_VALIDITY_DAYS);
    if (!v[CK_CA])
        return;
    static const char *const kinds[] = {"local", "command"};
    int kind = pick(v[CK_CA], kinds, 2);
    if (kind < 0) {
        err(dc, l[CK_CA], "CA must be local (CACert= and CAKey=) or command (CACommand=)");
        return;
    }
    pc->ca_command = kind == 1;
    if (kind == 0) {
        if (!v[CK_CACERT] || !v[CK_CAKEY] || !v[CK_CACERT][0] || !v[CK_CAKEY][0])
            err(dc, l[CK_CA],
                "CA=local needs CACert= and CAKey= (the CA's certificate and key "
                "files)");
        if (v[CK_CACOMMAND])
            err(dc, l[CK_CACOMMAND], "CACommand is for CA=command");
        if (v[CK_CATIMEOUT])
            err(dc, l[CK_CATIMEOUT], "CATimeout is for CA=command");
        if (v[CK_CACERT] && v[CK_CAKEY]) {
            pc->ca_cert = ca_path(dc->file, v[CK_CACERT]);
            pc->ca_key = ca_path(dc->file, v[CK_CAKEY]);
        }
        return;
    }
    if (!v[CK_CACOMMAND] || !v[CK_CACOMMAND][0])
        err(dc, l[CK_CA],
            "CA=command needs CACommand= (the program that turns a request on "
            "its input into a certificate on its output)");
    if (v[CK_CACERT] || v[CK_CAKEY])
        err(dc, l[v[CK_CACERT] ? CK_CACERT : CK_CAKEY], "CACert and CAKey are for CA=local");
    unsigned secs = DEFAULT_TIMEOUT_S;
    if (v[CK_CATIMEOUT] && parse_uint(v[CK_CATIMEOUT], 1, MAX_TIMEOUT_S, &secs) != 0)
        err(dc, l[CK_CATIMEOUT], "CATimeout must be a whole number of seconds from 1 to %d",
            MAX_TIMEOUT_S);
    pc->ca_timeout_ms = secs * 1000u;
    if (v[CK_CACOMMAND])
        pc->ca_exec = strdup(v[CK_CACOMMAND]);
}

void cf_desc_cert_finish(struct desc_certs *dc, cf_plan_t *plan, int has_pin, int has_cmk)
{
    for (size_t i = 0; i < dc->n; i++) {
        finish_one(dc, plan, &dc->raw[i], &plan->certs[i], has_pin, has_cmk);
        plan->ncerts = i + 1;
        for (size_t j = 0; j < i; j++) {
            if (dc->raw[i].value[CK_SLOT] && dc->raw[j].value[CK_SLOT] &&
                plan->certs[i].slot[0] != '\0' &&
                strcmp(plan->certs[i].slot, plan->certs[j].slot) == 0)
                err(dc, dc->raw[i].vline[CK_SLOT],
                    "Slot=%s is also the slot of [Certificate_%s] (line %lu)", plan->certs[i].slot,
                    dc->raw[j].name, dc->raw[j].line);
        }
    }
}
