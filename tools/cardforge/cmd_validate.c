/*
 * cmd_validate.c - `cardforge validate DESC [--batch CSV]`.
 *
 * Compiles the description and prints every diagnostic. Touches no card.
 * Exit: 0 valid (warnings allowed), 1 invalid, 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/diag.h>
#include <cardforge/plan.h>

#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cardforge validate DESC [--batch CSV]\n\n"
            "Check an encoding description (and, with --batch, every record of a batch\n"
            "file against it) without touching a card. Every problem is reported as\n"
            "file:line: message.\n\n"
            "  -b, --batch CSV   also check the batch file\n"
            "  -h, --help        this help\n\n"
            "Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error.\n");
}

int cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *batch = NULL;
    size_t records = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            batch = optarg;
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
    cf_err_t err = cf_plan_compile(desc, diags, &plan);
    int rc = CF_EXIT_OK;
    if (err == CF_ERR_IO) {
        cf_diag_print(diags, stderr);
        rc = CF_EXIT_USAGE;
        goto out;
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
        fprintf(stderr, "%s: invalid (%zu error%s, %zu warning%s)\n", desc,
                cf_diag_errors(diags), cf_diag_errors(diags) == 1 ? "" : "s",
                cf_diag_warnings(diags), cf_diag_warnings(diags) == 1 ? "" : "s");
        rc = CF_EXIT_FAIL;
    } else {
        printf("%s: valid, %zu step%s, %zu warning%s\n", desc, cf_plan_step_count(plan),
               cf_plan_step_count(plan) == 1 ? "" : "s", cf_diag_warnings(diags),
               cf_diag_warnings(diags) == 1 ? "" : "s");
        if (batch != NULL)
            printf("%s: valid, %zu record%s\n", batch, records, records == 1 ? "" : "s");
    }
out:
    cf_plan_free(plan);
    cf_diag_list_free(diags);
    return rc;
}
