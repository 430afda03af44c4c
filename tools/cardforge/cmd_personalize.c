/*
 * cmd_personalize.c - `cardforge personalize`: the issuance officer's desk.
 *
 * One description, one card in front of the officer: the values come from
 * --field (a batch record typed on the command line) and from the
 * description's prompts, asked at the terminal without echo (new values
 * twice). Everything is resolved and checked against the card type before
 * the first APDU that changes the card. One line per step; on failure the
 * card's exact state (which changes reached it, the counters) and a non-zero
 * status. Derived and random values (@derive, @random) are made once the
 * card is open and its serial known, from the key file given with
 * --keyfile; they are never shown.
 *
 * Typed values are checked one by one as they are typed, against the card
 * type of the card in the reader (identified first, then released while
 * the person types): a value that does not fit is refused at once with the
 * rule it breaks, and asked again, a few times at most.
 *
 * With --audit the run writes one event (desk_audit.h): the log is opened
 * once the description and key file are known good, before any card.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cardforge/keys.h>
#include <cardforge/personalize.h>
#include <cardforge/plan.h>

#include "commands.h"
#include "desk_audit.h"
#include "desk_card.h"
#include "tty_secret.h"

#define CMD "cardforge personalize"
#define MAX_FIELDS 64

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge personalize DESC (--reader NAME | --card SERIAL)\n"
                 "         [--field NAME=VALUE ...] [--profile NAME] [--profiles DIR]\n"
                 "         [--keyfile FILE] [--trace FILE] [--allow-last-try]\n"
                 "         [--allow-factory-key] [--wait[=SECONDS]]\n"
                 "         [--audit FILE --audit-key FILE]\n\n"
                 "Run the encoding description DESC on one card and prove every change.\n\n"
                 "  --reader NAME        the PC/SC reader (full name or a part naming one reader)\n"
                 "  --card SERIAL        the card with this serial, in whichever reader it is\n"
                 "  --field NAME=VALUE   a [Fields] value, as a batch record would give it;\n"
                 "                       FROM_USER_DIALOG_<n>_FIELD=VALUE answers prompt n\n"
                 "                       (values on a command line are visible to other users\n"
                 "                       of the machine: prefer the prompts)\n"
                 "  --profile NAME       use this card profile instead of recognising the card\n"
                 "  --profiles DIR       card profiles directory (default: the installed ones)\n"
                 "  --keyfile FILE       master-key file for values the description derives\n"
                 "                       (@derive); mode 0600 or 0400, owned by you\n"
                 "  --trace FILE         write an APDU trace, every secret byte shown as **\n"
                 "  --allow-last-try     allow an attempt that could spend the last PUK or\n"
                 "                       admin-key try (refused by default)\n"
                 "  --allow-factory-key  allow a factory-default value as the new key or PUK\n"
                 "  --wait[=SECONDS]     no card yet: wait for the reader to hold one, or for\n"
                 "                       the card with the serial to appear in any reader (up\n"
                 "                       to SECONDS, 1 to 86400; no limit without); Ctrl-C\n"
                 "                       ends the wait with status 1, no card touched\n"
                 "  --audit FILE         write one event for this card to this audit log\n"
                 "                       (created 0600, or continued): the OS user, the\n"
                 "                       serial, the master key and version, the outcome\n"
                 "  --audit-key FILE     the Ed25519 key signing the log (`cardforge audit\n"
                 "                       keygen`; owned by you, mode 0600 or 0400); both or\n"
                 "                       neither\n"
                 "  -h, --help           this help\n\n"
                 "Prompts (!FROM_USER_DIALOG_<n>_FIELD) are asked at the terminal without echo,\n"
                 "once the card is identified (and released while you type). Each value is\n"
                 "checked against the card type as soon as it is typed (a PIN's length and\n"
                 "characters, a key's hex and size); one that does not fit is refused with the\n"
                 "rule it breaks and asked again; new values are asked twice. After 3 refused\n"
                 "tries for one value nothing is done (status 2). Without a terminal the values\n"
                 "must come from --field.\n"
                 "Exit status: 0 every step done and proven; 1 a step failed or was refused\n"
                 "(the card's state is printed), or no card (a --wait interrupted or timed out);\n"
                 "2 usage error, invalid description, or no acceptable value typed.\n");
}

struct fields {
    size_t n;
    char *name[MAX_FIELDS];
    char *value[MAX_FIELDS]; /* secret: wiped on exit */
};

static void fields_free(struct fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        OPENSSL_cleanse(f->value[i], strlen(f->value[i]));
        free(f->value[i]);
        free(f->name[i]);
    }
    f->n = 0;
}

static int fields_add(struct fields *f, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        fprintf(stderr, CMD ": --field wants NAME=VALUE\n");
        return -1;
    }
    if (f->n == MAX_FIELDS) {
        fprintf(stderr, CMD ": at most %d --field options\n", MAX_FIELDS);
        return -1;
    }
    size_t nl = (size_t)(eq - arg);
    for (size_t i = 0; i < f->n; i++) {
        if (strlen(f->name[i]) == nl && strncmp(f->name[i], arg, nl) == 0) {
            fprintf(stderr, CMD ": --field %.*s given twice\n", (int)nl, arg);
            return -1;
        }
    }
    f->name[f->n] = strndup(arg, nl);
    f->value[f->n] = strdup(eq + 1);
    if (f->name[f->n] == NULL || f->value[f->n] == NULL) {
        free(f->name[f->n]);
        free(f->value[f->n]);
        return -1;
    }
    f->n++;
    return 0;
}

static const char *fields_get(const struct fields *f, const char *name, size_t *len)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->name[i], name) == 0) {
            *len = strlen(f->value[i]);
            return f->value[i];
        }
    }
    return NULL;
}

static const char *lookup_field(void *ctx, const char *field, size_t *len)
{
    return fields_get(ctx, field, len);
}

static int is_new_value(cf_param_t p)
{
    return p == CF_PARAM_PIN || p == CF_PARAM_PUK || p == CF_PARAM_NEW_CARD_MANAGER_KEY;
}

/* What the prompts need: the --field values, and the card type each typed
 * value is checked against as soon as it is typed (NULL: the form every
 * card type needs). */
struct prompt_ctx {
    const struct fields *fields;
    const cf_profile_t *profile;
};

/* Tries for one value (a value refused, or its two entries differing):
 * enough for typos, few enough that a card holder guessing stops. */
#define PROMPT_TRIES 3

/* One typed value and, for a new one, its confirmation: *out on CF_OK, or
 * CF_ERR_INVALID (or the reading error) after the reason is said. */
static cf_err_t ask_one(const struct prompt_ctx *pc, unsigned dialog, cf_param_t p,
                        cf_secret_t **out)
{
    char q[96], why[200];
    snprintf(q, sizeof(q), "%s (dialog %u, not shown): ", cf_param_name(p), dialog);
    cf_err_t e = tty_ask_secret(q, 64, out);
    if (e == CF_ERR_ARG) {
        fprintf(stderr, CMD ": %s: empty or longer than 64 characters", cf_param_name(p));
        return CF_ERR_INVALID;
    }
    if (e != CF_OK)
        return e;
    if (cf_personalize_check_typed(pc->profile, p, *out, why, sizeof(why)) != CF_OK) {
        fprintf(stderr, CMD ": %s", why); /* why names the parameter */
        return CF_ERR_INVALID;
    }
    if (!is_new_value(p))
        return CF_OK;
    cf_secret_t *again = NULL;
    snprintf(q, sizeof(q), "%s again: ", cf_param_name(p));
    e = tty_ask_secret(q, 64, &again);
    if (e == CF_OK || e == CF_ERR_ARG) {
        e = e == CF_OK && cf_secret_equal(*out, again) ? CF_OK : CF_ERR_INVALID;
        if (e != CF_OK)
            fprintf(stderr, CMD ": %s: the two entries differ", cf_param_name(p));
    }
    cf_secret_free(again);
    return e;
}

static cf_err_t prompt(void *ctx, unsigned dialog, cf_param_t p, cf_secret_t **out)
{
    const struct prompt_ctx *pc = ctx;
    char name[48];
    snprintf(name, sizeof(name), "FROM_USER_DIALOG_%u_FIELD", dialog);
    size_t len;
    const char *given = fields_get(pc->fields, name, &len);
    if (given != NULL) {
        *out = cf_secret_new(given, len);
        return *out ? CF_OK : CF_ERR_NOMEM;
    }
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr,
                CMD ": %s comes from dialog %u, but standard input is not a terminal; give "
                    "it with --field %s=VALUE\n",
                cf_param_name(p), dialog, name);
        return CF_ERR_UNSUPPORTED;
    }
    for (int attempt = 1; attempt <= PROMPT_TRIES; attempt++) {
        cf_err_t e = ask_one(pc, dialog, p, out);
        if (e == CF_OK)
            return CF_OK;
        cf_secret_free(*out);
        *out = NULL;
        if (e != CF_ERR_INVALID)
            return e; /* end of input: nobody is there to ask again */
        fprintf(stderr, attempt < PROMPT_TRIES ? "; type it again\n" : "\n");
    }
    fprintf(stderr, CMD ": %s: no acceptable value in %d tries; nothing was done\n",
            cf_param_name(p), PROMPT_TRIES);
    return CF_ERR_INVALID;
}

/* 1 when some value will be typed at the terminal: a prompt no --field
 * answers. */
static int asks_at_terminal(const cf_plan_t *plan, const struct fields *f)
{
    if (!isatty(STDIN_FILENO))
        return 0;
    for (int i = 0; i < CF_PARAM_COUNT; i++) {
        cf_param_t p = (cf_param_t)i;
        char name[48];
        size_t len;
        if (cf_plan_source(plan, p) != CF_SOURCE_PROMPT)
            continue;
        snprintf(name, sizeof(name), "FROM_USER_DIALOG_%u_FIELD", cf_plan_param_dialog(plan, p));
        if (fields_get(f, name, &len) == NULL)
            return 1;
    }
    return 0;
}

static void print_card(const struct desk_card *dc)
{
    printf("card: %s, serial %s, reader %s\n", cf_profile_name(cf_card_profile(dc->card)),
           cf_card_serial(dc->card), cf_transport_reader(dc->t));
    fflush(stdout);
}

static void print_step(void *user, const cf_card_t *card, const cf_step_result_t *r)
{
    (void)user;
    (void)card;
    printf("  %-17s %-8s %6.0f ms %3u APDUs", cf_step_kind_name(r->kind),
           cf_outcome_name(r->outcome), r->ms, r->apdus);
    if (r->kcv[0])
        printf("  KCV %s", r->kcv);
    if (r->message[0])
        printf("  %s", r->message);
    printf("\n");
    fflush(stdout);
}

static void print_tries(const char *label, const cf_card_t *card, cf_cred_t c, const cf_tries_t *t)
{
    if (!cf_profile_has(cf_card_profile(card), c))
        return; /* the card type has no such credential */
    char text[96];
    desk_tries_text(t, text, sizeof(text));
    printf("  %-10s%s\n", label, text);
}

/* After a failure: what the card holds now, step by step. */
static void print_state(const cf_card_t *card, const cf_personalize_result_t *res)
{
    printf("card state:\n");
    for (size_t i = 0; i < res->n_steps; i++) {
        const cf_step_result_t *r = &res->steps[i];
        const char *what = "not changed";
        if (r->outcome == CF_OUTCOME_DONE)
            what = "changed and proven";
        else if (r->outcome == CF_OUTCOME_ALREADY)
            what = "already done on the card (proven)";
        else if (r->reached == CF_REACHED_YES)
            what = "CHANGED on the card, not proven";
        else if (r->reached == CF_REACHED_UNKNOWN)
            what = "MAY HAVE CHANGED (the card's answer was lost)";
        printf("  %-17s %s\n", cf_step_kind_name(r->kind), what);
    }
    if (res->err >= CF_ERR_NO_SERVICE && res->err <= CF_ERR_TRANSPORT) {
        printf("tries left: not read (the card is gone or did not answer)\n");
        return;
    }
    printf("tries left:\n");
    print_tries("PIN", card, CF_CRED_PIN, &res->tries[CF_CRED_PIN]);
    print_tries("PUK", card, CF_CRED_PUK, &res->tries[CF_CRED_PUK]);
    print_tries("admin key", card, CF_CRED_ADMIN, &res->tries[CF_CRED_ADMIN]);
}

/* The master key the card's keys are derived from, for the audit event:
 * the new admin key's if it is derived, else the first derived value's;
 * "the newest" resolved to the version the key file holds. */
static void derived_from(const cf_plan_t *plan, const cf_keyfile_t *keys, struct desk_audit_what *w)
{
    for (int i = -1; i < CF_PARAM_COUNT && w->key_name == NULL; i++) {
        cf_param_t p = i < 0 ? CF_PARAM_NEW_CARD_MANAGER_KEY : (cf_param_t)i;
        if (cf_plan_source(plan, p) != CF_SOURCE_DERIVED)
            continue;
        w->key_name = cf_plan_param_master(plan, p);
        w->key_version = cf_plan_param_master_version(plan, p);
        const cf_master_key_t *mk =
            keys != NULL ? cf_keyfile_find(keys, w->key_name, w->key_version) : NULL;
        if (mk != NULL)
            w->key_version = cf_master_key_version(mk);
    }
}

/* The key file, when the plan derives anything: read and checked (every
 * master key named is there) before any card is looked for. 0, or -1
 * after the messages (usage: the officer named the wrong file or none). */
static int load_keys(const cf_plan_t *plan, const char *path, cf_keyfile_t **keys)
{
    cf_diag_list_t *diags = cf_diag_list_new();
    if (diags == NULL)
        return -1;
    cf_err_t e = cf_plan_load_keyfile(plan, path, diags, keys);
    cf_diag_print(diags, stderr);
    cf_diag_list_free(diags);
    return e == CF_OK ? 0 : -1;
}

int cmd_personalize(int argc, char **argv)
{
    static const struct option opts[] = {
        DESK_LONG_OPTIONS,
        DESK_AUDIT_LONG_OPTIONS,
        {"field", required_argument, NULL, 'f'},
        {"keyfile", required_argument, NULL, 'k'},
        {"allow-factory-key", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct desk_opts dopt = {0};
    struct desk_audit_opts aopt = {0};
    struct desk_audit da = {0};
    struct desk_audit_what aw = {0};
    char aserial[128] = ""; /* the serial of the card reached, for the audit event */
    struct fields fields = {0};
    const char *keyfile = NULL;
    cf_keyfile_t *keys = NULL;
    unsigned flags = 0;
    int c, status = CF_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (fields_add(&fields, optarg) != 0)
                goto out;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'F':
            flags |= CF_PERS_ALLOW_FACTORY_KEY;
            break;
        case 'h':
            usage(stdout);
            status = CF_EXIT_OK;
            goto out;
        default: {
            if (desk_audit_option(c, optarg, &aopt))
                break;
            int d = desk_option(CMD, c, optarg, &dopt);
            if (d > 0)
                break;
            if (d == 0)
                usage(stderr);
            goto out;
        }
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        goto out;
    }
    if ((dopt.reader == NULL) == (dopt.serial == NULL)) {
        fprintf(stderr, CMD ": name the card with exactly one of --reader or --card\n");
        goto out;
    }
    const char *desc = argv[optind];

    cf_diag_list_t *diags = cf_diag_list_new();
    cf_plan_t *plan = NULL;
    cf_card_values_t *values = NULL;
    if (diags == NULL) {
        status = CF_EXIT_FAIL;
        goto out;
    }
    cf_err_t e = cf_plan_compile(desc, diags, &plan);
    cf_diag_print(diags, stderr);
    cf_diag_list_free(diags);
    if (e != CF_OK)
        goto out; /* usage: the description is what the officer typed */
    if (load_keys(plan, keyfile, &keys) != 0)
        goto out_plan;
    /* The audit log before any card: one that cannot be written stops us. */
    status = desk_audit_open(CMD, "personalize", &aopt, &da);
    if (status != CF_EXIT_OK)
        goto out_plan;
    derived_from(plan, keys, &aw);
    aw.note = "no card opened";

    /* Values typed at the terminal are checked against the card type as
     * they are typed, so the card is identified first, then released:
     * nobody types a PIN while a card session is held open. */
    struct desk_card dc;
    struct prompt_ctx pctx = {&fields, NULL};
    int identified = 0;
    char typed_for[128] = ""; /* the serial of the card the values were typed for */
    if (asks_at_terminal(plan, &fields)) {
        status = desk_open(CMD, &dopt, &dc);
        if (status != CF_EXIT_OK)
            goto out_plan;
        identified = 1;
        print_card(&dc);
        snprintf(typed_for, sizeof(typed_for), "%s", cf_card_serial(dc.card));
        snprintf(aserial, sizeof(aserial), "%s", typed_for);
        aw.note = NULL;
        pctx.profile = cf_card_profile(dc.card); /* borrowed from dc's profiles */
        desk_release(&dc);
    }
    diags = cf_diag_list_new();
    if (diags == NULL) {
        status = CF_EXIT_FAIL;
        if (identified)
            desk_close(&dc);
        goto out_plan;
    }
    e = cf_plan_resolve(plan, lookup_field, &fields, prompt, &pctx, "--field", 0, diags, &values);
    cf_diag_print(diags, stderr);
    cf_diag_list_free(diags);
    if (e != CF_OK) {
        aw.err = e;
        status = e == CF_ERR_UNSUPPORTED || e == CF_ERR_INVALID ? CF_EXIT_USAGE : CF_EXIT_FAIL;
        if (identified)
            desk_close(&dc);
        goto out_plan;
    }
    fields_free(&fields);

    status = identified ? desk_reopen(CMD, &dopt, &dc) : desk_open(CMD, &dopt, &dc);
    if (status != CF_EXIT_OK)
        goto out_values;
    aw.note = NULL;
    snprintf(aserial, sizeof(aserial), "%s", cf_card_serial(dc.card));
    /* The values were typed for one card, and checked against its type: a
     * card swapped meanwhile gets none of them. */
    if (identified && strcmp(cf_card_serial(dc.card), typed_for) != 0) {
        fprintf(stderr,
                CMD ": the card in reader %s changed while the values were typed (serial %s, "
                    "now %s); no value was sent to it. Put the card back, or start again\n",
                cf_transport_reader(dc.t), typed_for, cf_card_serial(dc.card));
        desk_close(&dc);
        status = CF_EXIT_FAIL;
        aw.note = "another card was put in while the values were typed; nothing sent";
        goto out_values;
    }
    if (!identified)
        print_card(&dc);

    /* Derived and random values need the card: its serial is the KDF
     * context. Nothing has been sent that changes the card yet. */
    diags = cf_diag_list_new();
    e = CF_ERR_NOMEM;
    if (diags != NULL) {
        e = cf_plan_resolve_card(plan, values, cf_card_serial(dc.card), keys, diags);
        cf_diag_print(diags, stderr);
        cf_diag_list_free(diags);
    }
    if (e != CF_OK) {
        fprintf(stderr, CMD ": cannot make this card's values: %s; nothing was done\n",
                cf_strerror(e));
        status = CF_EXIT_FAIL;
        aw.err = e;
        desk_close(&dc);
        goto out_values;
    }

    cf_personalize_hooks_t hooks = {.step_done = print_step};
    cf_personalize_result_t res;
    /* One transaction for the whole card: nobody else gets between the
     * steps, and pcscd does not power the card down between them. */
    if (cf_transport_begin(dc.t) != CF_OK)
        fprintf(stderr, CMD ": warning: no PC/SC transaction: %s\n", cf_transport_errmsg(dc.t));
    if (dopt.allow_last_try)
        flags |= CF_PERS_ALLOW_LAST_TRY;
    e = cf_personalize(dc.card, plan, values, flags, &hooks, &res);
    cf_transport_end(dc.t);
    if (e == CF_OK) {
        printf("personalized: every step done and proven\n");
        status = CF_EXIT_OK;
    } else {
        fprintf(stderr, CMD ": %s\n", res.message[0] ? res.message : cf_strerror(e));
        print_state(dc.card, &res);
        status = CF_EXIT_FAIL;
    }
    aw.serial = aserial;
    aw.card = dc.card;
    aw.err = res.err;
    status = desk_audit_record(&da, status, &aw);
    desk_close(&dc);
out_values:
    cf_card_values_free(values);
out_plan:
    cf_plan_free(plan);
out:
    /* Every way out after the log was opened writes the one event. */
    aw.serial = aserial[0] ? aserial : NULL;
    aw.card = NULL;
    status = desk_audit_record(&da, status, &aw);
    status = desk_audit_close(&da, status);
    cf_keyfile_free(keys);
    fields_free(&fields);
    return status;
}
