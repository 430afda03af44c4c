/*
 * cmd_plan.c - `cardforge plan DESC`: the steps a description compiles to.
 *
 * Shows where every value comes from; a literal value is a secret and is
 * printed as ***, always. Derived and random values are shown by how they
 * are made (@derive:NAME, @random): they do not exist before a card does.
 * --json says the same as one document (docs/operator-guide.md), with no
 * member that could hold a value.
 */
#include <getopt.h>
#include <stdio.h>

#include <cardforge/diag.h>
#include <cardforge/plan.h>

#include "commands.h"
#include "out.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: cardforge plan DESC [--json]\n\n"
        "Compile an encoding description and print its steps in the order they\n"
        "run, and where each value comes from. Secret values are shown as ***.\n\n"
        "  --json       one JSON object on stdout: {\"description\", \"steps\": [{\"number\",\n"
        "               \"kind\", \"summary\", \"line\", \"credential\", \"new_value\"}],\n"
        "               \"fields\": [{\"name\", \"has_default\"}], \"asks_at_desk\",\n"
        "               \"master_keys\": [{\"parameter\", \"name\", \"version\"}]}; a value is\n"
        "               {\"parameter\", \"source\": \"literal\"|\"field\"|\"prompt\"|\"derive\"|\n"
        "               \"random\", \"line\", ...}: where it comes from, never the value\n"
        "  -h, --help   this help\n\n"
        "Exit status: 0 printed, 1 invalid description, 2 usage error (problems on\n"
        "stderr, nothing on stdout).\n");
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

/* Where p's value comes from, as a JSON object: how it is made, never
 * what it is (a literal is only "literal" and its line). */
static void json_source(FILE *f, const cf_plan_t *plan, cf_param_t p)
{
    static const char *const kinds[] = {
        [CF_SOURCE_NONE] = "none",      [CF_SOURCE_LITERAL] = "literal",
        [CF_SOURCE_FIELD] = "field",    [CF_SOURCE_PROMPT] = "prompt",
        [CF_SOURCE_DERIVED] = "derive", [CF_SOURCE_RANDOM] = "random",
    };
    cf_source_t src = cf_plan_source(plan, p);
    fputc('{', f);
    out_json_key(f, "parameter");
    out_json_string(f, cf_param_name(p));
    out_json_member(f, "source", kinds[src]);
    fprintf(f, ",\"line\":%lu", cf_plan_param_line(plan, p));
    if (src == CF_SOURCE_FIELD) {
        out_json_member(f, "field", cf_plan_param_field(plan, p));
    } else if (src == CF_SOURCE_PROMPT) {
        fprintf(f, ",\"dialog\":%u", cf_plan_param_dialog(plan, p));
    } else if (src == CF_SOURCE_DERIVED || src == CF_SOURCE_RANDOM) {
        char form[32];
        describe_form(plan, p, form, sizeof(form));
        out_json_member(f, "form", form);
        if (src == CF_SOURCE_DERIVED) {
            out_json_member(f, "master_key", cf_plan_param_master(plan, p));
            /* 0: the newest version in the key file, known only then. */
            unsigned v = cf_plan_param_master_version(plan, p);
            if (v != 0)
                fprintf(f, ",\"master_version\":%u", v);
            else
                fputs(",\"master_version\":null,\"master_version_note\":\"the newest in the key "
                      "file\"",
                      f);
        }
    }
    fputc('}', f);
}

static void json_param_or_null(FILE *f, const cf_plan_t *plan, cf_param_t p)
{
    if (p == CF_PARAM_NONE)
        fputs("null", f);
    else
        json_source(f, plan, p);
}

static void print_json(FILE *f, const void *ctx)
{
    const cf_plan_t *plan = ctx;
    fputc('{', f);
    out_json_key(f, "description");
    out_json_string(f, cf_plan_name(plan));
    fputc(',', f);
    out_json_key(f, "steps");
    fputc('[', f);
    for (size_t i = 0; i < cf_plan_step_count(plan); i++) {
        const cf_step_t *s = cf_plan_step(plan, i);
        fprintf(f, "%s{\"number\":%zu,", i ? "," : "", i + 1);
        out_json_key(f, "kind");
        out_json_string(f, cf_step_kind_name(s->kind));
        out_json_member(f, "summary", cf_step_kind_summary(s->kind));
        fprintf(f, ",\"line\":%lu,", s->line);
        out_json_key(f, "credential");
        json_param_or_null(f, plan, s->credential);
        fputc(',', f);
        out_json_key(f, "new_value");
        json_param_or_null(f, plan, s->new_value);
        cf_plan_cert_t pc;
        if (s->kind == CF_STEP_ISSUE_CERT && cf_plan_cert(plan, s->cert, &pc)) {
            /* What the step makes; the CA's files and command are in the
             * description itself. */
            fputc(',', f);
            out_json_key(f, "certificate");
            fputc('{', f);
            out_json_key(f, "section");
            out_json_string(f, pc.name);
            out_json_member(f, "slot", pc.slot[0] ? pc.slot : "auto");
            out_json_member(f, "algorithm", cf_key_alg_name(pc.keygen.alg));
            out_json_member(f, "ca", pc.ca_command ? "command" : "local");
            fprintf(f, ",\"validity_days\":%u}", pc.validity_days);
        }
        fputc('}', f);
    }
    fputs("],", f);
    out_json_key(f, "fields");
    fputc('[', f);
    for (size_t i = 0; i < cf_plan_field_count(plan); i++) {
        fputs(i ? ",{" : "{", f);
        out_json_key(f, "name");
        out_json_string(f, cf_plan_field_name(plan, i));
        fprintf(f, ",\"has_default\":%s}", cf_plan_field_has_default(plan, i) ? "true" : "false");
    }
    fprintf(f, "],\"asks_at_desk\":%s}", cf_plan_has_prompts(plan) ? "true" : "false");
}

int cmd_plan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
            continue;
        }
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
    if (json) {
        int bad = out_doc_write("cardforge plan", print_json, plan);
        cf_plan_free(plan);
        return bad ? CF_EXIT_FAIL : CF_EXIT_OK;
    }
    size_t n = cf_plan_step_count(plan);
    printf("plan for %s: %zu step%s\n", cf_plan_name(plan), n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const cf_step_t *s = cf_plan_step(plan, i);
        printf("  %zu. %-17s %s (line %lu)\n", i + 1, cf_step_kind_name(s->kind),
               cf_step_kind_summary(s->kind), s->line);
        cf_plan_cert_t pc;
        if (s->kind == CF_STEP_ISSUE_CERT && cf_plan_cert(plan, s->cert, &pc))
            printf("       key  [Certificate_%s] %s %s, %s, %s\n", pc.name,
                   pc.slot[0] ? "slot" : "container", pc.slot[0] ? pc.slot : "auto",
                   cf_key_alg_name(pc.keygen.alg), pc.ca_command ? "CA command" : "local CA");
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
