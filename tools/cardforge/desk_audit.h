/*
 * desk_audit.h - the audit log of the desk commands (`helpdesk response`,
 * `personalize`, `pin change|unblock`, `cert import|delete|default`): the
 * same hash-chained, signed log `helpdesk serve` writes (cardforge/audit.h),
 * written from the command line with --audit FILE --audit-key FILE.
 *
 * One command run is one action and writes one event when it ends: who
 * (the OS user the command runs as, from the password database, never
 * from the environment), which card, which master key, and the outcome
 * (ok, refused, failed) with the reason code and the tries left where the
 * card said them. The event has no field a secret could go in.
 *
 * The log is opened (and the audit key loaded and checked) before any card
 * is looked for: a log that cannot be opened stops the command before it
 * changes anything. It is closed with a signed final checkpoint when the
 * command ends. A command killed at a prompt (Ctrl-C) has written nothing
 * since the log was opened, so the log stays sealed as it was.
 */
#ifndef CF_TOOLS_DESK_AUDIT_H
#define CF_TOOLS_DESK_AUDIT_H

#include <getopt.h>

#include <cardforge/audit.h>
#include <cardforge/card.h>

struct desk_audit_opts {
    const char *log; /* --audit FILE, or NULL */
    const char *key; /* --audit-key FILE, or NULL */
};

/* The options, for a getopt_long table, and their lines of --help. */
/* clang-format off */
#define DESK_AUDIT_LONG_OPTIONS                              \
    {"audit", required_argument, NULL, 'A'},                 \
    {"audit-key", required_argument, NULL, 'Y'}
/* clang-format on */
#define DESK_AUDIT_HELP                                                                            \
    "  --audit FILE        write what this command did to the card to this audit log\n"            \
    "                      (created 0600, or continued; the operator is the OS user)\n"            \
    "  --audit-key FILE    the Ed25519 key signing the log (`cardforge audit keygen`;\n"           \
    "                      owned by you, mode 0600 or 0400); both or neither\n"

/* Record option c (from DESK_AUDIT_LONG_OPTIONS): 1 when it is one of
 * them, 0 when not. */
int desk_audit_option(int c, const char *arg, struct desk_audit_opts *o);

struct desk_audit {
    cf_audit_t *log; /* NULL: no audit asked for; everything below is a no-op */
    const char *path;
    const char *cmd;
    const char *event;
    char user[64];
    int written; /* the command's event is in the log */
    /* said of a refusal or failure with no reason known; desk_audit_open
     * sets "stopped before the card was changed", a command may change it */
    const char *nothing_done;
};

/* Open the log named in o for command cmd ("cardforge pin") whose action
 * writes event ("pin_change"). Without --audit and --audit-key da->log
 * stays NULL. CF_EXIT_OK, or CF_EXIT_USAGE after a message on stderr (one
 * option without the other, a refused key file, a log that cannot be
 * opened for writing). */
int desk_audit_open(const char *cmd, const char *event, const struct desk_audit_opts *o,
                    struct desk_audit *da);

/* What an action came to, for its event. */
struct desk_audit_what {
    const char *serial;   /* the card's serial, or NULL when no card was reached */
    const char *key_name; /* the master key used, or NULL */
    unsigned key_version;
    const cf_card_t *card; /* for the tries the card said; may be NULL */
    cf_err_t err;          /* why it was refused or failed (CF_OK: none known) */
    const char *note;      /* a short fixed text ("slot 9a"); never typed by a person */
};

/* Write the command's event: outcome "ok" when status is CF_EXIT_OK,
 * "refused" when err says the card or a guard said no (a wrong PIN, a
 * blocked or last try, a check value mismatch), "failed" otherwise. Once
 * per command; later calls do nothing. Returns status, or CF_EXIT_FAIL
 * after a message when the event could not be written. */
int desk_audit_record(struct desk_audit *da, int status, const struct desk_audit_what *w);

/* Close the log with the final checkpoint. When the command's event was
 * not written yet (a path that ended early), it is written first as
 * failed. Returns status, or CF_EXIT_FAIL after a message naming the log
 * when it could not be written. */
int desk_audit_close(struct desk_audit *da, int status);

#endif
