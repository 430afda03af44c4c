/*
 * cmd_profiles.c - `cardforge profiles`: list and check the card profiles.
 *
 * Whoever writes a profile for a new card type checks it here before any
 * card sees it: every problem is printed as file:line: message, the same
 * way descriptions are checked by `cardforge validate`.
 */
#include <getopt.h>
#include <stdio.h>

#include <cardforge/card.h>
#include <cardforge/diag.h>

#include "commands.h"
#include "out.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge profiles [--profiles DIR] [--json]\n\n"
                 "Load every card profile (*.yaml) in DIR (default: the installed ones),\n"
                 "report every problem as file:line: message, and list the profiles with\n"
                 "their PIN policies. Cards are recognised most specific first (a profile\n"
                 "that extends another before it).\n\n"
                 "  --profiles DIR   the profile directory to check\n"
                 "  --json           one JSON object on stdout: {\"directory\", \"valid\",\n"
                 "                   \"profiles\": [{\"name\", \"family\", \"description\",\n"
                 "                   \"pin_policy\", \"serial_from\"}], \"diagnostics\":\n"
                 "                   [{\"severity\", \"file\", \"line\", \"message\"}]}; invalid\n"
                 "                   profiles give \"valid\": false and no profiles (status 1)\n"
                 "  -h, --help       this help\n\n"
                 "Problems are also printed on stderr. Exit status: 0 every profile is valid;\n"
                 "1 a profile has an error; 2 usage error or unreadable directory (nothing\n"
                 "on stdout). Schema: docs/profiles.md; JSON: docs/operator-guide.md.\n");
}

struct json_ctx {
    const char *dir;
    const cf_profiles_t *set; /* NULL: invalid */
    const cf_diag_list_t *diags;
};

/* The --json document (out.h). */
static void print_json(FILE *f, const void *ctx)
{
    const struct json_ctx *c = ctx;
    const char *dir = c->dir;
    const cf_profiles_t *set = c->set;
    fputc('{', f);
    out_json_key(f, "directory");
    out_json_string(f, dir);
    fprintf(f, ",\"valid\":%s,", set != NULL ? "true" : "false");
    out_json_key(f, "profiles");
    fputc('[', f);
    for (size_t i = 0; set != NULL && i < cf_profiles_count(set); i++) {
        const cf_profile_t *p = cf_profiles_at(set, i);
        fputs(i ? ",{" : "{", f);
        out_json_key(f, "name");
        out_json_string(f, cf_profile_name(p));
        out_json_member(f, "family", cf_profile_family(p));
        out_json_member(f, "description", cf_profile_description(p));
        out_json_member(f, "pin_policy", cf_profile_pin_policy_text(p));
        out_json_member(f, "serial_from", cf_profile_serial_source(p));
        fputc('}', f);
    }
    fputs("],", f);
    out_json_key(f, "diagnostics");
    out_json_diags(f, c->diags);
    fputc('}', f);
}

int cmd_profiles(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profiles", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            dir = optarg;
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
    if (optind != argc) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    if (dir == NULL)
        dir = cf_profiles_default_dir();
    cf_diag_list_t *diags = cf_diag_list_new();
    if (diags == NULL)
        return CF_EXIT_FAIL;
    cf_profiles_t *set = NULL;
    cf_err_t e = cf_profiles_load(dir, diags, &set);
    cf_diag_print(diags, stderr);
    int st = CF_EXIT_OK;
    if (e == CF_ERR_IO) {
        fprintf(stderr, "cardforge profiles: cannot read %s\n", dir);
        st = CF_EXIT_USAGE;
    } else if (e != CF_OK) {
        fprintf(stderr, "cardforge profiles: %s has invalid profiles\n", dir);
        st = CF_EXIT_FAIL;
    }
    if (json && st != CF_EXIT_USAGE) {
        struct json_ctx jc = {dir, e == CF_OK ? set : NULL, diags};
        if (out_doc_write("cardforge profiles", print_json, &jc) != 0)
            st = CF_EXIT_FAIL;
    } else if (st == CF_EXIT_OK) {
        printf("%zu profiles in %s\n", cf_profiles_count(set), dir);
        for (size_t i = 0; i < cf_profiles_count(set); i++) {
            const cf_profile_t *p = cf_profiles_at(set, i);
            printf("  %-16s %-5s %s\n", cf_profile_name(p), cf_profile_family(p),
                   cf_profile_description(p));
            printf("  %-16s       PIN %s\n", "", cf_profile_pin_policy_text(p));
        }
    }
    cf_diag_list_free(diags);
    cf_profiles_free(set);
    return st;
}
