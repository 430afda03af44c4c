/*
 * cmd_plan.c - `cardforge plan DESC`: the steps a description compiles to.
 *
 * Shows where every value comes from; a literal value is a secret and is
 * printed as ***, always. Derived and random values are shown by how they
 * are made (@derive:NAME, @random): they do not exist before a card does.
 */
#include <getopt.h>
#include <stdio.h>

#include <cardforge/diag.h>
#include <cardforge/plan.h>

#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge plan DESC\n\n"
                 "Compile an encoding description and print its steps in the order they\n"
                 "run, and where each value comes from. Secret values are shown as ***.\n\n"
                 "  -h, --help   this help\n\n"
                 "Exit status: 0 printed, 1 invalid description, 2 usage error.\n");
}

/* "3des key" or "6 digits": what a derived or random value will be. */
static void describe_form(const cf_plan_t *plan, cf_param_t p, char *buf, size_t len)
{
    if (cf_param_is_key(p))
        snprintf(buf, len, "%s key", cf_card_key_type_name(cf_plan_param_key_type(plan, p)));
    else
        snprintf(buf, len, "%zu digits", cf_plan_param_digits(plan, p));
}

static void describe_source(const cf_plan_t *plan, cf_param_t p, char *buf, size_t len)
{
    char form[32], version[32];
    switch (cf_plan_source(plan, p)) {
    case CF_SOURCE_LITERAL:
        snprintf(buf, len, "*** (literal, line %lu)", cf_plan_param_line(plan, p));
        break;
    case CF_SOURCE_FIELD:
        snprintf(buf, len, "field %s (line %lu)", cf_plan_param_field(plan, p),
                 cf_plan_param_line(plan, p));
        break;
    case CF_SOURCE_PROMPT:
        snprintf(buf, len, "asked at the desk, dialog %u (line %lu)", cf_plan_param_dialog(plan, p),
                 cf_plan_param_line(plan, p));
        break;
    case CF_SOURCE_DERIVED:
        describe_form(plan, p, form, sizeof(form));
        if (cf_plan_param_master_version(plan, p) != 0)
            snprintf(version, sizeof(version), "version %u", cf_plan_param_master_version(plan, p));
        else
            snprintf(version, sizeof(version), "newest version");
        snprintf(buf, len, "@derive:%s (%s), %s, per card (line %lu)",
                 cf_plan_param_master(plan, p), version, form, cf_plan_param_line(plan, p));
        break;
    case CF_SOURCE_RANDOM:
        describe_form(plan, p, form, sizeof(form));
        snprintf(buf, len, "@random, %s, per card (line %lu)", form, cf_plan_param_line(plan, p));
        break;
    case CF_SOURCE_NONE:
        snprintf(buf, len, "-");
        break;
    }
}

int cmd_plan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return CF_EXIT_OK;
        }
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    cf_diag_list_t *diags = cf_diag_list_new();
    if (diags == NULL)
        return CF_EXIT_FAIL;
    cf_plan_t *plan = NULL;
    cf_err_t err = cf_plan_compile(argv[optind], diags, &plan);
    cf_diag_print(diags, stderr);
    cf_diag_list_free(diags);
    if (err != CF_OK) {
        fprintf(stderr, "%s: %s\n", argv[optind], cf_strerror(err));
        return err == CF_ERR_IO ? CF_EXIT_USAGE : CF_EXIT_FAIL;
    }
    size_t n = cf_plan_step_count(plan);
    printf("plan for %s: %zu step%s\n", cf_plan_name(plan), n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const cf_step_t *s = cf_plan_step(plan, i);
        printf("  %zu. %-17s %s (line %lu)\n", i + 1, cf_step_kind_name(s->kind),
               cf_step_kind_summary(s->kind), s->line);
        char src[200];
        if (s->credential != CF_PARAM_NONE) {
            describe_source(plan, s->credential, src, sizeof(src));
            printf("       with %-18s %s\n", cf_param_name(s->credential), src);
        }
        if (s->new_value != CF_PARAM_NONE) {
            describe_source(plan, s->new_value, src, sizeof(src));
            printf("       new  %-18s %s\n", cf_param_name(s->new_value), src);
        }
    }
    size_t nf = cf_plan_field_count(plan);
    if (nf > 0) {
        printf("batch fields:");
        for (size_t i = 0; i < nf; i++)
            printf(" %s%s", cf_plan_field_name(plan, i),
                   cf_plan_field_has_default(plan, i) ? " (has default)" : "");
        printf("\n");
    }
    if (cf_plan_has_prompts(plan))
        printf("asks the operator at the desk for every card (not usable by `run`)\n");
    if (cf_plan_needs_keyfile(plan)) {
        printf("master keys (from the key file, --keyfile):");
        for (int p = 0; p < CF_PARAM_COUNT; p++) {
            const char *m = cf_plan_param_master(plan, (cf_param_t)p);
            if (m != NULL)
                printf(" %s for %s", m, cf_param_name((cf_param_t)p));
        }
        printf("\n");
    }
    cf_plan_free(plan);
    return CF_EXIT_OK;
}
