/*
 * cmd_validate.c - `cardforge validate DESC [--batch CSV] [--keyfile FILE]`.
 *
 * Compiles the description and prints every diagnostic. Touches no card.
 * A description that derives values names master keys: with --keyfile they
 * are looked up (name and version, never shown); without it they are listed
 * so the operator knows what the run will need.
 * Exit: 0 valid (warnings allowed), 1 invalid, 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/diag.h>
#include <cardforge/keys.h>
#include <cardforge/plan.h>

#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge validate DESC [--batch CSV] [--keyfile FILE]\n\n"
                 "Check an encoding description (and, with --batch, every record of a batch\n"
                 "file against it) without touching a card. Every problem is reported as\n"
                 "file:line: message.\n\n"
                 "  -b, --batch CSV     also check the batch file\n"
                 "  -k, --keyfile FILE  check that the master keys the description derives\n"
                 "                      from (@derive) are in this key file (mode 0600 or 0400)\n"
                 "  -h, --help          this help\n\n"
                 "Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error.\n");
}

/* For a description that derives: which master keys it needs, and with a
 * key file, which version each will use. */
static void print_master_keys(const cf_plan_t *plan, const cf_keyfile_t *keys)
{
    if (!cf_plan_needs_keyfile(plan))
        return;
    for (int i = 0; i < CF_PARAM_COUNT; i++) {
        cf_param_t p = (cf_param_t)i;
        const char *m = cf_plan_param_master(plan, p);
        if (m == NULL)
            continue;
        unsigned want = cf_plan_param_master_version(plan, p);
        const cf_master_key_t *mk = keys ? cf_keyfile_find(keys, m, want) : NULL;
        if (mk != NULL)
            printf("%s: %s derives from master key %s version %u%s\n", cf_plan_name(plan),
                   cf_param_name(p), m, cf_master_key_version(mk),
                   want == 0 ? " (the newest)" : "");
        else if (want != 0)
            printf("%s: %s needs master key %s version %u\n", cf_plan_name(plan), cf_param_name(p),
                   m, want);
        else
            printf("%s: %s needs master key %s (the newest version)\n", cf_plan_name(plan),
                   cf_param_name(p), m);
    }
    if (keys == NULL)
        printf("%s: give --keyfile FILE to check that the key file has them\n", cf_plan_name(plan));
}

int cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"keyfile", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *batch = NULL, *keyfile = NULL;
    size_t records = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            batch = optarg;
            break;
        case 'k':
            keyfile = optarg;
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
    } else {
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
