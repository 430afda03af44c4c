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

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge profiles [--profiles DIR]\n\n"
                 "Load every card profile (*.yaml) in DIR (default: the installed ones),\n"
                 "report every problem as file:line: message, and list the profiles with\n"
                 "their PIN policies. Cards are recognised most specific first (a profile\n"
                 "that extends another before it).\n\n"
                 "  --profiles DIR   the profile directory to check\n"
                 "  -h, --help       this help\n\n"
                 "Exit status: 0 every profile is valid; 1 a profile has an error; 2 usage\n"
                 "error or unreadable directory. Schema: docs/profiles.md.\n");
}

int cmd_profiles(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profiles", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            dir = optarg;
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
    cf_diag_list_free(diags);
    if (e == CF_ERR_IO) {
        fprintf(stderr, "cardforge profiles: cannot read %s\n", dir);
        return CF_EXIT_USAGE;
    }
    if (e != CF_OK) {
        fprintf(stderr, "cardforge profiles: %s has invalid profiles\n", dir);
        return CF_EXIT_FAIL;
    }
    printf("%zu profiles in %s\n", cf_profiles_count(set), dir);
    for (size_t i = 0; i < cf_profiles_count(set); i++) {
        const cf_profile_t *p = cf_profiles_at(set, i);
        printf("  %-16s %-5s %s\n", cf_profile_name(p), cf_profile_family(p),
               cf_profile_description(p));
        printf("  %-16s       PIN %s\n", "", cf_profile_pin_policy_text(p));
    }
    cf_profiles_free(set);
    return CF_EXIT_OK;
}
