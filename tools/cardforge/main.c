/*
 * main.c - `cardforge`: dispatch to a subcommand, --help and --version.
 */
#include <stdio.h>
#include <string.h>

#include <cardforge/secret.h>
#include <cardforge/version.h>

#include "commands.h"

static const struct cf_command commands[] = {
    {"validate", "check an encoding description (and a batch) without touching a card",
     cmd_validate},
    {"plan", "print the steps a description compiles to, secrets shown as ***", cmd_plan},
    {"personalize", "run a description on the one card at the officer's desk", cmd_personalize},
    {"pin", "PIN status, change and unblock (PUK or offline challenge) at one card", cmd_pin},
    {"probe", "what a card supports and which profile it gets; reads only", cmd_probe},
    {"readers", "the PC/SC readers, their cards and the profile each would get", cmd_readers},
    {"profiles", "list and check the card profiles (file:line for every problem)", cmd_profiles},
    {"helpdesk", "compute the response to a card's offline unblock challenge", cmd_helpdesk},
    {"run", "personalize a batch on many readers, journaled, resumable", cmd_run},
    {"report", "summarise a batch journal: counts, failures by reason, throughput", cmd_report},
    {"export", "one row per card of a journal (CSV or JSON), for a card management system",
     cmd_export},
    {"cert", "the certificate tab of one card: list, show, export, import, delete, default",
     cmd_cert},
    {"order",
     "orders shared by several stations in PostgreSQL: init, load, list, status, release, void",
     cmd_order},
    {"audit", "verify the helpdesk's signed audit log; make its key", cmd_audit},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge [--version] [--help] COMMAND [ARGS]\n\n"
                 "Batch smart-card personalization and encoding.\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`cardforge COMMAND --help` describes each command.\n"
                 "Exit status: 0 success, 1 failure or invalid document, 2 usage error or\n"
                 "malformed command-line value.\n");
}

int main(int argc, char **argv)
{
    /* Before anything is read: a core dump would hold every key in memory
     * (docs/operator-guide.md, "Core dumps"). A failure here is not fatal,
     * and cannot happen on Linux for an unprivileged process lowering its
     * own limits. */
    (void)cf_process_protect();
    if (argc < 2) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CF_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("cardforge %s\n", cf_version());
        return CF_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cardforge: '%s' is not a command; see 'cardforge --help'\n", cmd);
    return CF_EXIT_USAGE;
}
