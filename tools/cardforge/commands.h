/*
 * commands.h - the cardforge subcommands (git style: `cardforge CMD ...`).
 *
 * Each command is a function taking its own argv (argv[0] is the command
 * name) and returning the process exit status. Exit status convention for
 * every command: 0 success; 1 the work failed, or a checked document (a
 * description, a batch) is invalid; 2 usage error: bad flags, an unreadable
 * file named on the command line, or a malformed value typed on it (a
 * challenge, a check value, a key).
 */
#ifndef CF_TOOLS_COMMANDS_H
#define CF_TOOLS_COMMANDS_H

#define CF_EXIT_OK 0
#define CF_EXIT_FAIL 1
#define CF_EXIT_USAGE 2

struct cf_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_helpdesk(int argc, char **argv);
int cmd_personalize(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_readers(int argc, char **argv);
int cmd_profiles(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_order(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* `helpdesk operator` and `helpdesk serve` (helpdesk_*.c), reached from cmd_helpdesk. */
int cmd_helpdesk_operator(int argc, char **argv);
int cmd_helpdesk_serve(int argc, char **argv);
int cmd_cert(int argc, char **argv);

#endif
