/*
 * desc_compile.c - encoding description (INI) -> validated plan.
 *
 * Two passes. The first (inih + the line checks) collects every setting
 * with its line, flagging what is malformed on its own: unknown sections
 * and keys, duplicates, bad booleans, bad value forms. The second applies
 * the rules that involve several settings (InitialPUK with CardManagerKey,
 * PUK without InitialPUK, ...) and builds the steps. Fields may be declared
 * after they are used, so field references are only checked in pass two.
 * Every problem is reported; compilation fails if any of them is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "desc/desc_cert.h"
#include "desc/desc_gen.h"
#include "desc/desc_idobj.h"
#include "desc/desc_int.h"
#include "desc/desc_lines.h"
#include "util/file.h"
#include "util/digest.h"

/* A description is small; this bounds memory on hostile input. */
#define MAX_DESC_BYTES (1024 * 1024)
#define MAX_FIELDS 256
#define MAX_SECTIONS 64

enum section_kind {
    SEC_NONE,
    SEC_DESCRIPTION,
    SEC_FIELDS,
    SEC_APPLICATION,
    SEC_CERTIFICATE,
    SEC_UNKNOWN
};

enum bool_key { B_SETPIN, B_INITCR, B_USECMK, B_COUNT };
static const char *const bool_names[B_COUNT] = {"SetPIN", "InitCRKey", "UseCardManagerKey"};

struct setting {
    char *raw; /* the value as written; may be a secret */
    unsigned long line;
};

struct section_seen {
    char name[64];
    unsigned long line;
};

struct compile {
    const char *file;
    cf_diag_list_t *diags;
    struct desc_lines *lines;
    enum section_kind cur;
    struct section_seen sections[MAX_SECTIONS];
    size_t nsections;
    struct setting params[CF_PARAM_COUNT];
    struct {
        int value;
        unsigned long line;
    } bools[B_COUNT];
    unsigned long app_block_line; /* BlockCard in the current section */
    unsigned long block_line;     /* first BlockCard=true */
    int block_count;
    /* [Application_PIV] identity objects: the line of each key (0: absent) */
    unsigned long chuid_line, expiry_line, ccc_line;
    struct desc_certs certs; /* [Certificate_<Name>] sections (desc_cert.c) */
    cf_plan_t *plan;
};

static const char *const param_names[CF_PARAM_COUNT] = {
    "PIN", "InitialPUK", "PUK", "CardManagerKey", "NewCardManagerKey",
};

const char *cf_param_name(cf_param_t p)
{
    return p < CF_PARAM_COUNT ? param_names[p] : "none";
}

int cf_param_is_key(cf_param_t p)
{
    return p == CF_PARAM_CARD_MANAGER_KEY || p == CF_PARAM_NEW_CARD_MANAGER_KEY;
}

/* err() and warn(): one diagnostic at a description line. */
#define err(c, line, ...) cf_diag_add((c)->diags, CF_SEV_ERROR, (c)->file, (line), __VA_ARGS__)
#define warn(c, line, ...) cf_diag_add((c)->diags, CF_SEV_WARNING, (c)->file, (line), __VA_ARGS__)

static enum section_kind classify_section(const char *name, size_t len)
{
    if (len == 11 && strncasecmp(name, "Description", 11) == 0)
        return SEC_DESCRIPTION;
    if (len == 6 && strncasecmp(name, "Fields", 6) == 0)
        return SEC_FIELDS;
    if (len > 12 && strncasecmp(name, "Application_", 12) == 0)
        return SEC_APPLICATION;
    if (len > 12 && strncasecmp(name, "Certificate_", 12) == 0)
        return SEC_CERTIFICATE;
    return SEC_UNKNOWN;
}

static void on_section(void *ctx, const char *name, size_t len, unsigned long line)
{
    struct compile *c = ctx;
    c->cur = classify_section(name, len);
    c->app_block_line = 0;
    c->certs.current = -1;
    if (c->cur == SEC_UNKNOWN) {
        err(c, line,
            "unknown section [%.*s] (expected [Description], [Fields], "
            "[Application_<name>] or [Certificate_<name>])",
            (int)(len > 60 ? 60 : len), name);
        return;
    }
    for (size_t i = 0; i < c->nsections; i++) {
        if (strlen(c->sections[i].name) == len &&
            strncasecmp(c->sections[i].name, name, len) == 0) {
            err(c, line, "section [%.*s] appears twice (first at line %lu)", (int)len, name,
                c->sections[i].line);
            return;
        }
    }
    if (c->nsections < MAX_SECTIONS && len < sizeof(c->sections[0].name)) {
        struct section_seen *s = &c->sections[c->nsections++];
        memcpy(s->name, name, len);
        s->name[len] = 0;
        s->line = line;
    }
    if (c->cur == SEC_CERTIFICATE)
        cf_desc_cert_section(&c->certs, name + 12, len - 12, line);
}

/* "true"/"false" in any case; -1 for anything else. */
static int parse_bool(const char *v)
{
    if (strcasecmp(v, "true") == 0)
        return 1;
    if (strcasecmp(v, "false") == 0)
        return 0;
    return -1;
}

static int valid_field_name(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return 0;
    return strlen(s) <= 64;
}

static void handle_description(struct compile *c, const char *name, const char *value,
                               unsigned long line)
{
    for (int b = 0; b < B_COUNT; b++) {
        if (strcasecmp(name, bool_names[b]) != 0)
            continue;
        if (c->bools[b].line != 0) {
            err(c, line, "duplicate key %s (first at line %lu)", bool_names[b], c->bools[b].line);
            return;
        }
        int v = parse_bool(value);
        if (v < 0) /* -1 stays: rules that depend on an unknown flag stay quiet */
            err(c, line, "%s must be true or false", bool_names[b]);
        c->bools[b].value = v;
        c->bools[b].line = line;
        return;
    }
    for (int p = 0; p < CF_PARAM_COUNT; p++) {
        if (strcasecmp(name, param_names[p]) != 0)
            continue;
        if (c->params[p].line != 0) {
            err(c, line, "duplicate key %s (first at line %lu)", param_names[p], c->params[p].line);
            return;
        }
        c->params[p].line = line;
        c->params[p].raw = strdup(value);
        if (c->params[p].raw == NULL)
            err(c, line, "out of memory");
        return;
    }
    err(c, line,
        "unknown key '%s' in [Description] (known: SetPIN, PIN, InitialPUK, PUK, "
        "CardManagerKey, NewCardManagerKey, InitCRKey, UseCardManagerKey)",
        name);
}

static void handle_field(struct compile *c, const char *name, const char *value, unsigned long line)
{
    cf_plan_t *plan = c->plan;
    if (!valid_field_name(name)) {
        err(c, line,
            "field name '%.64s' must be letters, digits and _ (not starting with "
            "a digit), at most 64",
            name);
        return;
    }
    for (size_t i = 0; i < plan->nfields; i++) {
        if (strcmp(plan->fields[i].name, name) == 0) {
            err(c, line, "duplicate field %s (first at line %lu)", name, plan->fields[i].line);
            return;
        }
    }
    if (plan->nfields >= MAX_FIELDS) {
        err(c, line, "more than %d fields", MAX_FIELDS);
        return;
    }
    if (plan->fields == NULL) {
        plan->fields = calloc(MAX_FIELDS, sizeof(*plan->fields));
        if (plan->fields == NULL) {
            err(c, line, "out of memory");
            return;
        }
    }
    struct plan_field *f = &plan->fields[plan->nfields];
    f->name = strdup(name);
    f->line = line;
    if (value[0] != 0)
        f->def = cf_secret_new(value, strlen(value));
    if (f->name == NULL || (value[0] != 0 && f->def == NULL)) {
        free(f->name);
        cf_secret_free(f->def);
        memset(f, 0, sizeof(*f));
        err(c, line, "out of memory");
        return;
    }
    plan->nfields++;
}

/* CHUID=generate, CHUIDExpiry=..., CCC=generate: PIV data objects, so only
 * in [Application_PIV]. Returns 0 when name is none of them. */
static int handle_idobj(struct compile *c, const char *section, const char *name, const char *value,
                        unsigned long line)
{
    unsigned long *at;
    if (strcasecmp(name, "CHUID") == 0)
        at = &c->chuid_line;
    else if (strcasecmp(name, "CCC") == 0)
        at = &c->ccc_line;
    else if (strcasecmp(name, "CHUIDExpiry") == 0)
        at = &c->expiry_line;
    else
        return 0;
    if (strcasecmp(section, "Application_PIV") != 0) {
        err(c, line,
            "%s is a PIV data object: it belongs in [Application_PIV], not [%s] (a GIDS card "
            "has no CHUID or CCC)",
            name, section);
        return 1;
    }
    if (*at != 0) {
        err(c, line, "duplicate key %s (first at line %lu)", name, *at);
        return 1;
    }
    *at = line;
    if (at == &c->expiry_line) {
        char msg[160];
        if (cf_desc_parse_expiry(value, c->plan->chuid_expiry, &c->plan->chuid_years, msg,
                                 sizeof(msg)) != 0)
            err(c, line, "%s", msg);
    } else if (strcasecmp(value, "generate") != 0) {
        err(c, line, "%s must be 'generate' (a new random identifier for every card)", name);
    }
    return 1;
}

static void handle_application(struct compile *c, const char *section, const char *name,
                               const char *value, unsigned long line)
{
    if (handle_idobj(c, section, name, value, line))
        return;
    if (strcasecmp(name, "BlockCard") != 0) {
        err(c, line,
            "unknown key '%s' in [%s] (known: BlockCard; in [Application_PIV] also "
            "CHUID, CHUIDExpiry, CCC)",
            name, section);
        return;
    }
    if (c->app_block_line != 0) {
        err(c, line, "duplicate key BlockCard (first at line %lu)", c->app_block_line);
        return;
    }
    c->app_block_line = line;
    int v = parse_bool(value);
    if (v < 0) {
        err(c, line, "BlockCard must be true or false");
        return;
    }
    if (v) {
        if (c->block_count == 0)
            c->block_line = line;
        c->block_count++;
    }
}

/* inih handler: one KEY=VALUE with its section. */
static int on_setting(void *user, const char *section, const char *name, const char *value)
{
    struct compile *c = user;
    unsigned long line = c->lines->lineno;
    switch (c->cur) {
    case SEC_DESCRIPTION:
        handle_description(c, name, value, line);
        break;
    case SEC_FIELDS:
        handle_field(c, name, value, line);
        break;
    case SEC_APPLICATION:
        handle_application(c, section, name, value, line);
        break;
    case SEC_CERTIFICATE:
        cf_desc_cert_setting(&c->certs, name, value, line);
        break;
    case SEC_UNKNOWN:
        break; /* the section was reported already */
    case SEC_NONE:
        err(c, line, "setting '%s' before any [Section]", name);
        break;
    }
    return 1;
}

static struct plan_field *find_field(cf_plan_t *plan, const char *name)
{
    for (size_t i = 0; i < plan->nfields; i++)
        if (strcmp(plan->fields[i].name, name) == 0)
            return &plan->fields[i];
    return NULL;
}

/* A value that names no declared field. The text is never repeated: a PIN
 * or a key typed without its '#' (PIN=Secret99, CardManagerKey=ABCD...) has
 * the form of a field name, and this message reaches terminals and logs.
 * The line and the key name point at it; the declared names help the typo. */
static void undeclared_field(struct compile *c, cf_param_t p, unsigned long line)
{
    char names[200] = "none";
    size_t used = 0;
    for (size_t i = 0; i < c->plan->nfields; i++) {
        const char *nm = c->plan->fields[i].name;
        if (used + strlen(nm) + 2 + sizeof(", ...") > sizeof(names)) {
            memcpy(names + used, ", ...", sizeof(", ..."));
            break;
        }
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", nm);
    }
    err(c, line,
        "%s names a field that is not declared in [Fields] (declared: %s); a literal value "
        "needs the leading # (the text is not repeated here, in case it is a secret)",
        param_names[p], names);
}

/* Value forms: #literal, !FROM_USER_DIALOG_<n>_FIELD, @derive..., @random...,
 * NAME. */
static void classify_param(struct compile *c, cf_param_t p)
{
    struct setting *s = &c->params[p];
    struct plan_param *pp = &c->plan->params[p];
    if (s->line == 0)
        return;
    pp->line = s->line;
    const char *v = s->raw ? s->raw : "";
    if (v[0] == 0) {
        err(c, s->line,
            "%s has no value (use #literal, a field name, "
            "!FROM_USER_DIALOG_<n>_FIELD, @derive:MASTER or @random)",
            param_names[p]);
        return;
    }
    if (v[0] == '@') {
        char msg[200];
        int r = cf_desc_parse_generated(p, v, pp, msg, sizeof(msg));
        if (r == -2)
            err(c, s->line, "out of memory");
        else if (r != 0)
            err(c, s->line, "%s", msg);
        return;
    }
    if (v[0] == '#') {
        char msg[160];
        pp->src = CF_SOURCE_LITERAL;
        if (cf_plan_check_value(p, v + 1, strlen(v + 1), &pp->literal, msg, sizeof(msg)) != 0)
            err(c, s->line, "%s literal: %s", param_names[p], msg);
        return;
    }
    if (v[0] == '!') {
        static const char pre[] = "!FROM_USER_DIALOG_", post[] = "_FIELD";
        size_t n = strlen(v), lp = sizeof(pre) - 1, ls = sizeof(post) - 1;
        if (n > lp + ls && strncmp(v, pre, lp) == 0 && strcmp(v + n - ls, post) == 0) {
            const char *d = v + lp;
            size_t dl = n - lp - ls;
            unsigned long num = 0;
            int ok = dl > 0 && dl <= 3;
            for (size_t i = 0; ok && i < dl; i++) {
                if (!isdigit((unsigned char)d[i]))
                    ok = 0;
                else
                    num = num * 10 + (unsigned long)(d[i] - '0');
            }
            if (ok && num > 0) {
                pp->src = CF_SOURCE_PROMPT;
                pp->dialog = (unsigned)num;
                return;
            }
        }
        err(c, s->line,
            "%s: a prompt must be written !FROM_USER_DIALOG_<n>_FIELD with n "
            "from 1 to 999",
            param_names[p]);
        return;
    }
    if (!valid_field_name(v)) {
        err(c, s->line,
            "%s: value must be #literal, a field name, "
            "!FROM_USER_DIALOG_<n>_FIELD, @derive:MASTER or @random (a literal "
            "needs the leading #)",
            param_names[p]);
        return;
    }
    struct plan_field *f = find_field(c->plan, v);
    if (f == NULL) {
        undeclared_field(c, p, s->line);
        return;
    }
    f->used = 1;
    pp->src = CF_SOURCE_FIELD;
    pp->field = strdup(v);
    if (pp->field == NULL) {
        err(c, s->line, "out of memory");
        return;
    }
    if (f->def != NULL && cf_desc_looks_generated(cf_secret_str(f->def), cf_secret_len(f->def))) {
        err(c, f->line,
            "default of field %s (used as %s): @derive and @random are written "
            "in [Description] (%s=@...), not as a field's value",
            f->name, param_names[p], param_names[p]);
    } else if (f->def != NULL) {
        char msg[160];
        cf_secret_t *tmp = NULL;
        if (cf_plan_check_value(p, cf_secret_str(f->def), cf_secret_len(f->def), &tmp, msg,
                                sizeof(msg)) != 0)
            err(c, f->line, "default of field %s (used as %s): %s", f->name, param_names[p], msg);
        cf_secret_free(tmp);
    }
}

static int given(const struct compile *c, cf_param_t p)
{
    return c->params[p].line != 0;
}

static void add_step(struct compile *c, cf_step_kind_t kind, unsigned long line, cf_param_t cred,
                     cf_param_t newv)
{
    cf_plan_t *plan = c->plan;
    if (plan->nsteps >= CF_PLAN_MAX_STEPS) { /* the rules allow at most 8 */
        err(c, line, "internal: more than %d steps", CF_PLAN_MAX_STEPS);
        return;
    }
    cf_step_t *s = &plan->steps[plan->nsteps++];
    s->kind = kind;
    s->line = line;
    s->credential = cred;
    s->new_value = newv;
}

/* Pass two: rules across settings, then the steps in their fixed order. */
static void apply_rules(struct compile *c)
{
    /* 1 true, 0 false or absent, -1 malformed (already reported). */
    int setpin = c->bools[B_SETPIN].value, initcr = c->bools[B_INITCR].value;
    int usecmk = c->bools[B_USECMK].value;
    unsigned long l_setpin = c->bools[B_SETPIN].line;
    int has_cmk = given(c, CF_PARAM_CARD_MANAGER_KEY);
    int has_ipuk = given(c, CF_PARAM_INITIAL_PUK);

    if (given(c, CF_PARAM_NEW_CARD_MANAGER_KEY) && !has_cmk)
        err(c, c->params[CF_PARAM_NEW_CARD_MANAGER_KEY].line,
            "NewCardManagerKey needs CardManagerKey (the current key) to authenticate");
    if (given(c, CF_PARAM_PUK) && !has_ipuk)
        err(c, c->params[CF_PARAM_PUK].line,
            "PUK (the new PUK) needs InitialPUK (the current PUK)");
    if (setpin == 1 && !given(c, CF_PARAM_PIN))
        err(c, l_setpin, "SetPIN=true but no PIN is given");
    if (setpin == 1 && !has_ipuk && !has_cmk)
        err(c, l_setpin, "SetPIN=true needs InitialPUK or CardManagerKey to set the PIN with");
    if (setpin == 0 && given(c, CF_PARAM_PIN))
        err(c, c->params[CF_PARAM_PIN].line,
            "PIN is given but SetPIN is not true: add SetPIN=true or remove PIN");
    if (setpin == 0 && has_ipuk)
        err(c, c->params[CF_PARAM_INITIAL_PUK].line, "InitialPUK is only used with SetPIN=true");
    if (initcr == 1 && !has_cmk)
        err(c, c->bools[B_INITCR].line,
            "InitCRKey=true needs CardManagerKey: the challenge-response key is the card "
            "manager key");
    if (initcr == 1 && usecmk == 0)
        err(c, c->bools[B_INITCR].line,
            "InitCRKey=true needs UseCardManagerKey=true (the challenge-response key is "
            "the card manager key)");
    if (usecmk == 1 && initcr == 0)
        warn(c, c->bools[B_USECMK].line,
             "UseCardManagerKey has no effect without "
             "InitCRKey=true");
    /* With InitialPUK the PIN is set with the PUK; CardManagerKey then only
     * authenticates the rotation and the challenge-response key (a PIV card
     * personalized by PUK that also gets a new management key). */
    if (has_cmk && (setpin == 0 || has_ipuk) && !given(c, CF_PARAM_NEW_CARD_MANAGER_KEY) &&
        initcr == 0 && c->chuid_line == 0 && c->ccc_line == 0 && c->certs.n == 0)
        warn(c, c->params[CF_PARAM_CARD_MANAGER_KEY].line,
             "CardManagerKey is given but no step uses it%s",
             has_ipuk ? " (with InitialPUK the PIN is set with the PUK)" : "");
    if (c->block_count > 1)
        warn(c, c->block_line,
             "BlockCard=true appears in %d application sections; the PIN "
             "is blocked once",
             c->block_count);
    if (c->block_count > 0 && !has_ipuk && !has_cmk)
        warn(c, c->block_line,
             "BlockCard=true but the description names no PUK or card manager key that "
             "could unblock the card later");
    struct plan_param *a = &c->plan->params[CF_PARAM_CARD_MANAGER_KEY],
                      *b = &c->plan->params[CF_PARAM_NEW_CARD_MANAGER_KEY];
    if (a->src == CF_SOURCE_LITERAL && b->src == CF_SOURCE_LITERAL && a->literal && b->literal &&
        cf_secret_equal(a->literal, b->literal))
        warn(c, c->params[CF_PARAM_NEW_CARD_MANAGER_KEY].line,
             "NewCardManagerKey is the same as CardManagerKey: the rotation changes nothing");
    if (a->src == CF_SOURCE_FIELD && b->src == CF_SOURCE_FIELD && a->field && b->field &&
        strcmp(a->field, b->field) == 0)
        warn(c, c->params[CF_PARAM_NEW_CARD_MANAGER_KEY].line,
             "NewCardManagerKey and CardManagerKey come from the same field");
    if (c->expiry_line != 0 && c->chuid_line == 0)
        err(c, c->expiry_line, "CHUIDExpiry needs CHUID=generate (it is the CHUID's date)");
    int idobj = c->chuid_line != 0 || c->ccc_line != 0;
    if (idobj && !has_cmk)
        warn(c, c->chuid_line ? c->chuid_line : c->ccc_line,
             "%s is written under the card's factory management key (no CardManagerKey given)",
             c->chuid_line ? "CHUID" : "CCC");
    cf_desc_cert_finish(&c->certs, c->plan, setpin == 1 && given(c, CF_PARAM_PIN), has_cmk);
    size_t piv_certs = 0;
    for (size_t i = 0; i < c->plan->ncerts; i++)
        piv_certs += c->plan->certs[i].slot[0] != '\0';
    cf_desc_generated_rules(c->plan, initcr == 1, c->block_count > 0 ? c->block_line : 0, c->file,
                            c->diags);
    for (size_t i = 0; i < c->plan->nfields; i++)
        if (!c->plan->fields[i].used)
            warn(c, c->plan->fields[i].line, "field %s is declared but never used",
                 c->plan->fields[i].name);

    /* The steps, in their one order (only reached meaningfully without
     * errors: a plan is discarded when any error was reported). */
    setpin = setpin == 1;
    initcr = initcr == 1;
    const cf_param_t CMK = CF_PARAM_CARD_MANAGER_KEY, NCMK = CF_PARAM_NEW_CARD_MANAGER_KEY;
    int rotate = given(c, NCMK) && has_cmk;
    int admin_needed =
        has_cmk && ((setpin && !has_ipuk) || rotate || initcr || idobj || piv_certs > 0);
    if (admin_needed)
        add_step(c, CF_STEP_AUTH_ADMIN, c->params[CMK].line, CMK, CF_PARAM_NONE);
    if (setpin && has_ipuk) {
        add_step(c, CF_STEP_SET_PIN_BY_PUK, l_setpin, CF_PARAM_INITIAL_PUK, CF_PARAM_PIN);
        if (given(c, CF_PARAM_PUK))
            add_step(c, CF_STEP_CHANGE_PUK, c->params[CF_PARAM_PUK].line, CF_PARAM_INITIAL_PUK,
                     CF_PARAM_PUK);
    }
    if (setpin && has_cmk && !has_ipuk)
        add_step(c, CF_STEP_SET_PIN_BY_ADMIN, l_setpin, CMK, CF_PARAM_PIN);
    if (rotate)
        add_step(c, CF_STEP_ROTATE_ADMIN_KEY, c->params[NCMK].line, CMK, NCMK);
    if (initcr && has_cmk)
        add_step(c, CF_STEP_INSTALL_CR_KEY, c->bools[B_INITCR].line, CF_PARAM_NONE,
                 rotate ? NCMK : CMK);
    /* The identity objects go under the admin key the card ends with;
     * before the PIN is blocked, so a failure leaves a card that works. */
    if (c->chuid_line != 0)
        add_step(c, CF_STEP_WRITE_CHUID, c->chuid_line,
                 has_cmk ? (rotate ? NCMK : CMK) : CF_PARAM_NONE, CF_PARAM_NONE);
    if (c->ccc_line != 0)
        add_step(c, CF_STEP_WRITE_CCC, c->ccc_line, has_cmk ? (rotate ? NCMK : CMK) : CF_PARAM_NONE,
                 CF_PARAM_NONE);
    /* Certificates after every credential step (the PIN they need is set,
     * the admin key final) and before the PIN is blocked. */
    for (size_t i = 0; i < c->plan->ncerts; i++) {
        add_step(c, CF_STEP_ISSUE_CERT, c->plan->certs[i].line, CF_PARAM_NONE, CF_PARAM_NONE);
        c->plan->steps[c->plan->nsteps - 1].cert = (unsigned)i;
    }
    if (c->block_count > 0)
        add_step(c, CF_STEP_BLOCK_PIN, c->block_line, CF_PARAM_NONE, CF_PARAM_NONE);
}

static void free_settings(struct compile *c)
{
    for (int p = 0; p < CF_PARAM_COUNT; p++) {
        if (c->params[p].raw) {
            cf_wipe(c->params[p].raw, strlen(c->params[p].raw));
            free(c->params[p].raw);
        }
    }
}

cf_err_t cf_plan_compile_mem(const char *name, const char *data, size_t len, cf_diag_list_t *diags,
                             cf_plan_t **out)
{
    *out = NULL;
    if (name == NULL)
        name = "<description>";
    size_t errors_before = cf_diag_errors(diags);
    if (len > MAX_DESC_BYTES) {
        cf_diag_add(diags, CF_SEV_ERROR, name, 0, "file is larger than %d bytes", MAX_DESC_BYTES);
        return CF_ERR_INVALID;
    }
    struct compile c = {0};
    c.file = name;
    c.diags = diags;
    c.certs.file = name;
    c.certs.diags = diags;
    c.certs.current = -1;
    c.plan = calloc(1, sizeof(cf_plan_t));
    if (c.plan == NULL || (c.plan->name = strdup(name)) == NULL) {
        free(c.plan);
        return CF_ERR_NOMEM;
    }
    struct desc_lines lines = {0};
    lines.file = name;
    lines.data = data;
    lines.len = len;
    lines.diags = diags;
    lines.on_section = on_section;
    lines.ctx = &c;
    c.lines = &lines;

    ini_parse_stream(cf_desc_read_line, &lines, on_setting, &c);
    if (lines.content_lines == 0) {
        cf_diag_add(diags, CF_SEV_ERROR, name, 0, "empty description: no sections or settings");
    } else {
        for (int p = 0; p < CF_PARAM_COUNT; p++)
            classify_param(&c, (cf_param_t)p);
        apply_rules(&c);
        if (c.plan->nsteps == 0 && cf_diag_errors(diags) == errors_before)
            cf_diag_add(diags, CF_SEV_ERROR, name, 0,
                        "the description asks for nothing to be done to the card");
    }
    free_settings(&c);
    cf_desc_cert_raw_free(&c.certs);
    cf_diag_sort(diags);
    if (cf_diag_errors(diags) > errors_before || cf_diag_list_oom(diags)) {
        cf_plan_free(c.plan);
        return CF_ERR_INVALID;
    }
    if (cf_sha256_hex(data, len, c.plan->sha256) != CF_OK) {
        cf_plan_free(c.plan);
        return CF_ERR_CRYPTO;
    }
    *out = c.plan;
    return CF_OK;
}

cf_err_t cf_plan_compile(const char *path, cf_diag_list_t *diags, cf_plan_t **out)
{
    *out = NULL;
    struct stat st;
    char why[128];
    int fd = cf_open_regular(path, &st, why, sizeof(why));
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (f == NULL) {
        if (fd >= 0) {
            snprintf(why, sizeof(why), "%s", strerror(errno));
            close(fd);
        }
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot open: %s", why);
        return CF_ERR_IO;
    }
    char *buf = malloc(MAX_DESC_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return CF_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, MAX_DESC_BYTES + 1, f);
    int rerr = ferror(f);
    fclose(f);
    cf_err_t e;
    if (rerr) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "read error");
        e = CF_ERR_IO;
    } else {
        e = cf_plan_compile_mem(path, buf, n, diags, out);
    }
    cf_wipe(buf, n);
    free(buf);
    return e;
}
