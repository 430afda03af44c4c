/*
 * cmd_validate.c - `cardforge validate DESC [--batch CSV] [--keyfile FILE]`.
 *
 * Compiles the description and prints every diagnostic. Touches no card.
 * A description that derives values names master keys: with --keyfile they
 * are looked up (name and version, never shown); without it they are listed
 * so the operator knows what the run will need. --json gives the verdict,
 * the problems and those key names as one document (docs/operator-guide.md).
 * Exit: 0 valid (warnings allowed), 1 invalid, 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/diag.h>
#include <cardforge/keys.h>
#include <cardforge/plan.h>

#include "commands.h"
#include "out.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cardforge validate DESC [--batch CSV] [--keyfile FILE] [--json]\n\n"
            "Check an encoding description (and, with --batch, every record of a batch\n"
            "file against it) without touching a card. Every problem is reported as\n"
            "file:line: message.\n\n"
            "  -b, --batch CSV     also check the batch file\n"
            "  -k, --keyfile FILE  check that the master keys the description derives\n"
            "                      from (@derive) are in this key file (mode 0600 or 0400)\n"
            "  --json              one JSON object on stdout: {\"description\", \"valid\",\n"
            "                      \"steps\", \"errors\", \"warnings\", \"batch\": {\"file\",\n"
            "                      \"records\"} or null, \"master_keys\": [{\"parameter\",\n"
            "                      \"name\", \"version_wanted\", \"in_keyfile\", \"version\"}],\n"
            "                      \"diagnostics\": [{\"severity\", \"file\", \"line\",\n"
            "                      \"message\"}]}; names and counts, never a value\n"
            "  -h, --help          this help\n\n"
            "Problems are printed on stderr too. Exit status: 0 valid (warnings allowed),\n"
            "1 invalid (with --json the document says \"valid\": false), 2 usage error or\n"
            "unreadable file (nothing on stdout).\n");
}

/* One master key a description derives from: for which parameter, the
 * version it asks for (0: the newest), and with a key file the key found
 * (NULL: not there, or no key file). */
struct master_use {
    cf_param_t param;
    const char *name;
    unsigned want;
    const cf_master_key_t *found;
};

static size_t master_uses(const cf_plan_t *plan, const cf_keyfile_t *keys,
                          struct master_use out[CF_PARAM_COUNT])
{
    size_t n = 0;
    for (int i = 0; plan != NULL && i < CF_PARAM_COUNT; i++) {
        cf_param_t p = (cf_param_t)i;
        const char *m = cf_plan_param_master(plan, p);
        if (m == NULL)
            continue;
        unsigned want = cf_plan_param_master_version(plan, p);
        out[n++] = (struct master_use){p, m, want, keys ? cf_keyfile_find(keys, m, want) : NULL};
    }
    return n;
}

/* For a description that derives: which master keys it needs, and with a
 * key file, which version each will use. */
static void print_master_keys(const cf_plan_t *plan, const cf_keyfile_t *keys)
{
    struct master_use mu[CF_PARAM_COUNT];
    size_t n = master_uses(plan, keys, mu);
    const char *name = cf_plan_name(plan);
    for (size_t i = 0; i < n; i++) {
        const char *param = cf_param_name(mu[i].param);
        if (mu[i].found != NULL)
            printf("%s: %s derives from master key %s version %u%s\n", name, param, mu[i].name,
                   cf_master_key_version(mu[i].found), mu[i].want == 0 ? " (the newest)" : "");
        else if (mu[i].want != 0)
            printf("%s: %s needs master key %s version %u\n", name, param, mu[i].name, mu[i].want);
        else
            printf("%s: %s needs master key %s (the newest version)\n", name, param, mu[i].name);
    }
    if (n > 0 && keys == NULL)
        printf("%s: give --keyfile FILE to check that the key file has them\n", name);
}

/* The master keys as JSON: a version and "in_keyfile" are null when not
 * known (no key file given, or the newest version wanted). */
static void json_master_keys(FILE *f, const cf_plan_t *plan, const cf_keyfile_t *keys)
{
    struct master_use mu[CF_PARAM_COUNT];
    size_t n = master_uses(plan, keys, mu);
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",{" : "{", f);
        out_json_key(f, "parameter");
        out_json_string(f, cf_param_name(mu[i].param));
        out_json_member(f, "name", mu[i].name);
        if (mu[i].want != 0)
            fprintf(f, ",\"version_wanted\":%u", mu[i].want);
        else
            fputs(",\"version_wanted\":null", f);
        fprintf(f, ",\"in_keyfile\":%s", keys == NULL ? "null" : mu[i].found ? "true" : "false");
        if (mu[i].found != NULL)
            fprintf(f, ",\"version\":%u}", cf_master_key_version(mu[i].found));
        else
            fputs(",\"version\":null}", f);
    }
    fputc(']', f);
}

struct json_ctx {
    const char *desc, *batch;
    size_t records;
    const cf_plan_t *plan; /* NULL: the description did not compile */
    const cf_keyfile_t *keys;
    int valid;
    const cf_diag_list_t *diags;
};

static void print_json(FILE *f, const void *ctx)
{
    const struct json_ctx *c = ctx;
    fputc('{', f);
    out_json_key(f, "description");
    out_json_string(f, c->desc);
    fprintf(f, ",\"valid\":%s,", c->valid ? "true" : "false");
    if (c->plan != NULL)
        fprintf(f, "\"steps\":%zu,", cf_plan_step_count(c->plan));
    else
        fputs("\"steps\":null,", f);
    fprintf(f, "\"errors\":%zu,\"warnings\":%zu,", cf_diag_errors(c->diags),
            cf_diag_warnings(c->diags));
    out_json_key(f, "batch");
    if (c->batch != NULL) {
        fputc('{', f);
        out_json_key(f, "file");
        out_json_string(f, c->batch);
        /* Counted only when every record was read and checked. */
        if (c->valid)
            fprintf(f, ",\"records\":%zu}", c->records);
        else
            fputs(",\"records\":null}", f);
    } else {
        fputs("null", f);
    }
    fputc(',', f);
    out_json_key(f, "master_keys");
    json_master_keys(f, c->plan, c->keys);
    fputc(',', f);
    out_json_key(f, "diagnostics");
    out_json_diags(f, c->diags);
    fputc('}', f);
}

int cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"keyfile", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *batch = NULL, *keyfile = NULL;
    size_t records = 0;
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            batch = optarg;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return CF_EXIT_OK;
        default:
            usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    const char *desc = argv[optind];
    cf_diag_list_t *diags = cf_diag_list_new();
    if (diags == NULL) {
        fprintf(stderr, "cardforge validate: out of memory\n");
        return CF_EXIT_FAIL;
    }
    cf_plan_t *plan = NULL;
    cf_keyfile_t *keys = NULL;
    cf_err_t err = cf_plan_compile(desc, diags, &plan);
    int rc = CF_EXIT_OK;
    if (err == CF_ERR_IO) {
        cf_diag_print(diags, stderr);
        rc = CF_EXIT_USAGE;
        goto out;
    }
    if (keyfile != NULL) {
        /* Read it even when nothing is derived: a key file given on the
         * command line that cannot be read is worth knowing about. */
        char kerr[CF_KEYS_ERRLEN];
        cf_err_t ke = cf_keyfile_load(keyfile, &keys, kerr, sizeof(kerr));
        if (ke != CF_OK) {
            cf_diag_print(diags, stderr);
            fprintf(stderr, "cardforge validate: %s\n", kerr[0] ? kerr : cf_strerror(ke));
            rc = CF_EXIT_USAGE;
            goto out;
        }
        if (err == CF_OK && cf_plan_check_keyfile(plan, keys, diags) != CF_OK)
            err = CF_ERR_INVALID;
    }
    if (err == CF_OK && batch != NULL) {
        err = cf_plan_check_batch(plan, batch, diags, &records);
        if (err == CF_ERR_IO) {
            cf_diag_print(diags, stderr);
            rc = CF_EXIT_USAGE;
            goto out;
        }
    }
    cf_diag_print(diags, stderr);
    if (err != CF_OK) {
        fprintf(stderr, "%s: invalid (%zu error%s, %zu warning%s)\n", desc, cf_diag_errors(diags),
                cf_diag_errors(diags) == 1 ? "" : "s", cf_diag_warnings(diags),
                cf_diag_warnings(diags) == 1 ? "" : "s");
        rc = CF_EXIT_FAIL;
    }
    if (json) {
        struct json_ctx jc = {desc, batch, records, plan, keys, err == CF_OK, diags};
        if (out_doc_write("cardforge validate", print_json, &jc) != 0)
            rc = CF_EXIT_FAIL;
    } else if (err == CF_OK) {
        printf("%s: valid, %zu step%s, %zu warning%s\n", desc, cf_plan_step_count(plan),
               cf_plan_step_count(plan) == 1 ? "" : "s", cf_diag_warnings(diags),
               cf_diag_warnings(diags) == 1 ? "" : "s");
        if (batch != NULL)
            printf("%s: valid, %zu record%s\n", batch, records, records == 1 ? "" : "s");
        print_master_keys(plan, keys);
    }
out:
    cf_keyfile_free(keys);
    cf_plan_free(plan);
    cf_diag_list_free(diags);
    return rc;
}
