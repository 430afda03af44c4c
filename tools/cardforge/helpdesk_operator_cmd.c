/*
 * helpdesk_operator_cmd.c - `cardforge helpdesk operator add|passwd|disable|
 * enable|list`: managing who may log in to the helpdesk web page.
 *
 * Passwords are asked twice without echo at a terminal, or read as one
 * line from standard input with --password-stdin (for provisioning
 * scripts); never taken from the command line. list shows names and
 * states, never a hash.
 */
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "commands.h"
#include "helpdesk_operators.h"
#include "tty_secret.h"

static void operator_usage(FILE *out)
{
    fprintf(out,
            "usage: cardforge helpdesk operator add|passwd NAME --operators FILE\n"
            "         [--password-stdin]\n"
            "       cardforge helpdesk operator disable|enable NAME --operators FILE\n"
            "       cardforge helpdesk operator list --operators FILE\n\n"
            "Manage the operators who may log in to `cardforge helpdesk serve`: add one,\n"
            "set a new password (passwd), disable or enable one, list them.\n\n"
            "  --operators FILE   the operators file (created 0600 by the first add; it\n"
            "                     must be owned by you, mode 0600 or 0400)\n"
            "  --password-stdin   read the new password as one line from standard input\n"
            "                     instead of asking twice at the terminal\n"
            "  -h, --help         this help\n\n"
            "NAME: 1-%u of a-z 0-9 . _ -, starting with a letter. Passwords: %u to %u\n"
            "characters, stored as scrypt hashes (N=2^15, r=8, p=1).\n"
            "Exit status: 0 done; 1 the file could not be written; 2 usage error, bad\n"
            "name or password, unknown or duplicate operator, file refused.\n",
            OPS_NAME_MAX, OPS_PASSWORD_MIN, OPS_PASSWORD_MAX);
}

/* The new password: from standard input, or asked twice. CF_EXIT_*. */
static int read_password(int from_stdin, cf_secret_t **out)
{
    *out = NULL;
    if (from_stdin) {
        char line[OPS_PASSWORD_MAX + 2];
        int tty = isatty(STDIN_FILENO);
        if (tty)
            tty_echo_off();
        long n = tty_read_line(line, sizeof(line));
        if (tty)
            tty_restore();
        while (n > 0 && line[n - 1] == '\r')
            line[--n] = 0;
        int st = CF_EXIT_USAGE;
        if (n < 0 || (size_t)n > OPS_PASSWORD_MAX || (size_t)n < OPS_PASSWORD_MIN)
            fprintf(stderr, "cardforge: the password must have %u to %u characters\n",
                    OPS_PASSWORD_MIN, OPS_PASSWORD_MAX);
        else if ((*out = cf_secret_new(line, (size_t)n)) == NULL)
            st = CF_EXIT_FAIL;
        else
            st = CF_EXIT_OK;
        OPENSSL_cleanse(line, sizeof(line));
        return st;
    }
    cf_secret_t *a = NULL, *b = NULL;
    cf_err_t e = tty_ask_secret("new password (not shown): ", OPS_PASSWORD_MAX, &a);
    if (e == CF_OK)
        e = tty_ask_secret("the same again: ", OPS_PASSWORD_MAX, &b);
    int st = CF_EXIT_USAGE;
    if (e == CF_ERR_UNSUPPORTED)
        fprintf(stderr, "cardforge: standard input is not a terminal; use --password-stdin\n");
    else if (e != CF_OK)
        fprintf(stderr, "cardforge: no password read (empty or longer than %u)\n",
                OPS_PASSWORD_MAX);
    else if (!cf_secret_equal(a, b))
        fprintf(stderr, "cardforge: the two passwords differ; nothing was changed\n");
    else if (cf_secret_len(a) < OPS_PASSWORD_MIN)
        fprintf(stderr, "cardforge: the password must have at least %u characters\n",
                OPS_PASSWORD_MIN);
    else {
        *out = a;
        a = NULL;
        st = CF_EXIT_OK;
    }
    cf_secret_free(a);
    cf_secret_free(b);
    return st;
}

static int op_list(const ops_t *ops)
{
    for (size_t i = 0; i < ops->n; i++)
        printf("%-*s %s\n", (int)OPS_NAME_MAX, ops->e[i].name,
               ops->e[i].active ? "active" : "disabled");
    if (ops->n == 0)
        printf("no operators\n");
    return CF_EXIT_OK;
}

static int op_add(ops_t *ops, const char *name, int from_stdin, const char *path)
{
    if (ops_find(ops, name) != NULL) {
        fprintf(stderr, "cardforge: %s: operator '%s' exists already\n", path, name);
        return CF_EXIT_USAGE;
    }
    if (ops->n >= OPS_MAX) {
        fprintf(stderr, "cardforge: %s: already %u operators\n", path, OPS_MAX);
        return CF_EXIT_USAGE;
    }
    cf_secret_t *pw = NULL;
    int st = read_password(from_stdin, &pw);
    if (st != CF_EXIT_OK)
        return st;
    ops_entry_t e = {.active = 1};
    snprintf(e.name, sizeof(e.name), "%s", name);
    cf_err_t err = ops_set_password(&e, cf_secret_data(pw), cf_secret_len(pw));
    cf_secret_free(pw);
    if (err != CF_OK) {
        fprintf(stderr, "cardforge: hashing the password failed: %s\n", cf_strerror(err));
        return CF_EXIT_FAIL;
    }
    ops_entry_t *grown = realloc(ops->e, (ops->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return CF_EXIT_FAIL;
    ops->e = grown;
    ops->e[ops->n++] = e;
    return CF_EXIT_OK;
}

static int op_passwd(ops_t *ops, const char *name, int from_stdin, const char *path)
{
    ops_entry_t *o = ops_find(ops, name);
    if (o == NULL) {
        fprintf(stderr, "cardforge: %s: no operator '%s'\n", path, name);
        return CF_EXIT_USAGE;
    }
    cf_secret_t *pw = NULL;
    int st = read_password(from_stdin, &pw);
    if (st != CF_EXIT_OK)
        return st;
    cf_err_t err = ops_set_password(o, cf_secret_data(pw), cf_secret_len(pw));
    cf_secret_free(pw);
    if (err != CF_OK) {
        fprintf(stderr, "cardforge: hashing the password failed: %s\n", cf_strerror(err));
        return CF_EXIT_FAIL;
    }
    return CF_EXIT_OK;
}

int cmd_helpdesk_operator(int argc, char **argv)
{
    static const struct option opts[] = {
        {"operators", required_argument, NULL, 'o'},
        {"password-stdin", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int from_stdin = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            path = optarg;
            break;
        case 's':
            from_stdin = 1;
            break;
        case 'h':
            operator_usage(stdout);
            return CF_EXIT_OK;
        default:
            operator_usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    const char *verb = optind < argc ? argv[optind] : NULL;
    int is_list = verb != NULL && strcmp(verb, "list") == 0;
    int want_args = is_list ? 1 : 2;
    const char *name = argc - optind == 2 ? argv[optind + 1] : NULL;
    const char *problem = NULL;
    int sets_pw = verb != NULL && (strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0);
    if (verb == NULL ||
        (!is_list && !sets_pw && strcmp(verb, "disable") != 0 && strcmp(verb, "enable") != 0))
        problem = "say add, passwd, disable, enable or list";
    else if (argc - optind != want_args)
        problem = is_list ? "list takes no NAME" : "give one operator NAME";
    else if (path == NULL)
        problem = "--operators FILE is required";
    else if (from_stdin && !sets_pw)
        problem = "--password-stdin goes with add and passwd";
    else if (name != NULL && !ops_name_ok(name))
        problem = "NAME must be 1-32 of a-z 0-9 . _ -, starting with a letter";
    if (problem != NULL) {
        fprintf(stderr, "cardforge helpdesk operator: %s\n", problem);
        operator_usage(stderr);
        return CF_EXIT_USAGE;
    }
    ops_t ops;
    char err[OPS_ERRLEN];
    cf_err_t e = ops_load(path, strcmp(verb, "add") == 0, &ops, err, sizeof(err));
    if (e != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err);
        return e == CF_ERR_NOMEM ? CF_EXIT_FAIL : CF_EXIT_USAGE;
    }
    int st;
    if (is_list) {
        st = op_list(&ops);
        ops_free(&ops);
        return st;
    }
    if (strcmp(verb, "add") == 0) {
        st = op_add(&ops, name, from_stdin, path);
    } else if (strcmp(verb, "passwd") == 0) {
        st = op_passwd(&ops, name, from_stdin, path);
    } else {
        ops_entry_t *o = ops_find(&ops, name);
        st = CF_EXIT_OK;
        if (o == NULL) {
            fprintf(stderr, "cardforge: %s: no operator '%s'\n", path, name);
            st = CF_EXIT_USAGE;
        } else {
            o->active = strcmp(verb, "enable") == 0;
        }
    }
    if (st == CF_EXIT_OK && ops_save(path, &ops, err, sizeof(err)) != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err);
        st = CF_EXIT_FAIL;
    }
    if (st == CF_EXIT_OK)
        printf("operator %s %s\n", name,
               strcmp(verb, "add") == 0      ? "added"
               : strcmp(verb, "enable") == 0 ? "enabled"
                                             : "disabled");
    ops_free(&ops);
    return st;
}
