/*
 * cmd_audit.c - `cardforge audit verify|keygen`: checking the helpdesk's
 * audit log and making the key that signs it.
 *
 * verify is what an auditor runs, with only the public key: it reads the
 * log, walks the hash chain and the signed checkpoints and names the first
 * line that was changed, inserted or deleted, or the tail cut off after the
 * last checkpoint. keygen makes a new Ed25519 key pair; the private key
 * stays with the service, the public one goes to the auditors.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/audit.h>

#include "commands.h"

static void audit_usage(FILE *out)
{
    fprintf(out, "usage: cardforge audit SUBCOMMAND [ARGS]\n\n"
                 "The helpdesk's tamper-evident audit log.\n\n"
                 "subcommands:\n"
                 "  verify   check a log's hash chain and signed checkpoints\n"
                 "  keygen   make a new Ed25519 audit key pair\n\n"
                 "`cardforge audit SUBCOMMAND --help` describes each.\n"
                 "See docs/helpdesk-guide.md, \"The audit log\".\n");
}

static void verify_usage(FILE *out)
{
    fprintf(out, "usage: cardforge audit verify LOG --pubkey FILE [--open]\n\n"
                 "Check an audit log: every line must carry the SHA-256 of the line before\n"
                 "it, every checkpoint must be signed by the audit key, and the log must end\n"
                 "with the final checkpoint written when the service stopped.\n\n"
                 "  --pubkey FILE   the audit key's public half (PEM)\n"
                 "  --open          the log is still being written: lines after the last\n"
                 "                  checkpoint are reported, not counted as damage\n"
                 "  -h, --help      this help\n\n"
                 "Exit status: 0 intact; 1 damaged (the first changed, inserted or deleted\n"
                 "line, a bad signature, or a tail cut off after the last checkpoint is\n"
                 "named); 2 usage error, unreadable log or key.\n");
}

static void keygen_usage(FILE *out)
{
    fprintf(out, "usage: cardforge audit keygen --out FILE\n\n"
                 "Make a new Ed25519 audit key: the private key in FILE (PEM, mode 0600,\n"
                 "never over an existing file) and the public key in FILE.pub.\n\n"
                 "  --out FILE   where to put the private key\n"
                 "  -h, --help   this help\n\n"
                 "Exit status: 0 made; 1 could not be written; 2 usage error.\n");
}

static int audit_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"open", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *pub = NULL;
    unsigned flags = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            pub = optarg;
            break;
        case 'o':
            flags |= CF_AUDIT_VERIFY_OPEN;
            break;
        case 'h':
            verify_usage(stdout);
            return CF_EXIT_OK;
        default:
            verify_usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || pub == NULL) {
        fprintf(stderr, "cardforge audit verify: give one LOG and --pubkey FILE\n");
        verify_usage(stderr);
        return CF_EXIT_USAGE;
    }
    const char *log = argv[optind];
    cf_audit_report_t rep;
    if (cf_audit_verify(log, pub, flags, &rep) != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", rep.message);
        return CF_EXIT_USAGE;
    }
    if (rep.damage == CF_AUDIT_INTACT) {
        printf("%s: %s\n", log, rep.message);
        return CF_EXIT_OK;
    }
    printf("%s: DAMAGED (%s): %s\n", log, cf_audit_damage_name(rep.damage), rep.message);
    return CF_EXIT_FAIL;
}

static int audit_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            keygen_usage(stdout);
            return CF_EXIT_OK;
        default:
            keygen_usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if (optind != argc || out == NULL) {
        fprintf(stderr, "cardforge audit keygen: --out FILE is required\n");
        keygen_usage(stderr);
        return CF_EXIT_USAGE;
    }
    char pub[4200], err[CF_AUDIT_ERRLEN];
    if (snprintf(pub, sizeof(pub), "%s.pub", out) >= (int)sizeof(pub)) {
        fprintf(stderr, "cardforge: the --out path is too long\n");
        return CF_EXIT_USAGE;
    }
    if (cf_audit_keygen(out, pub, err, sizeof(err)) != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err);
        return CF_EXIT_FAIL;
    }
    printf("private key %s (mode 0600: keep it with the service)\n"
           "public key  %s (for whoever verifies the log)\n",
           out, pub);
    return CF_EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2) {
        audit_usage(stderr);
        return CF_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        audit_usage(stdout);
        return CF_EXIT_OK;
    }
    if (strcmp(argv[1], "verify") == 0)
        return audit_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "keygen") == 0)
        return audit_keygen(argc - 1, argv + 1);
    fprintf(stderr, "cardforge audit: '%s' is not a subcommand; see 'cardforge audit --help'\n",
            argv[1]);
    return CF_EXIT_USAGE;
}
