/*
 * desk_card.h - finding and opening the one card in front of an officer or
 * card holder, for the commands that work on a single card (personalize,
 * pin).
 *
 * A card is chosen by reader (a PC/SC reader name or a substring that picks
 * exactly one reader) or by card serial: every reader holding a card is
 * asked, and the card whose serial matches is used. Choosing by serial is
 * what people at a desk with several readers want: reader order changes
 * whenever a reader is plugged in.
 */
#ifndef CF_TOOLS_DESK_CARD_H
#define CF_TOOLS_DESK_CARD_H

#include <getopt.h>
#include <stdio.h>

#include <cardforge/card.h>
#include <cardforge/transport.h>

struct desk_opts {
    const char *reader;       /* reader name or unique substring, or NULL */
    const char *serial;       /* card serial, or NULL (exactly one of the two) */
    const char *profile;      /* force this profile, or NULL: recognise the card */
    const char *profiles_dir; /* NULL: cf_profiles_default_dir() */
    const char *trace_path;   /* APDU trace (secrets redacted), or NULL */
    int allow_last_try;       /* --allow-last-try was given */
    int wait;                 /* --wait was given */
    unsigned wait_s;          /* --wait=SECONDS: give up after that; 0: no limit */
};

/* The options every desk command takes, for its getopt_long table:
 * --reader, --card, --profile, --profiles, --trace, --allow-last-try,
 * --wait[=SECONDS]. */
/* clang-format off */
#define DESK_LONG_OPTIONS                                   \
    {"reader", required_argument, NULL, 'r'},               \
    {"card", required_argument, NULL, 'c'},                 \
    {"profile", required_argument, NULL, 'p'},              \
    {"profiles", required_argument, NULL, 'P'},             \
    {"trace", required_argument, NULL, 't'},                \
    {"allow-last-try", no_argument, NULL, 'L'},             \
    {"wait", optional_argument, NULL, 'W'}
/* clang-format on */

/* The lines of --help for --wait, the same for every desk command. */
#define DESK_WAIT_HELP                                                                             \
    "  --wait[=SECONDS]    no card yet: wait for the reader to hold one, or for the\n"             \
    "                      card with the serial to appear in any reader (up to\n"                  \
    "                      SECONDS, 1 to 86400; no limit without); Ctrl-C ends the\n"              \
    "                      wait with status 1, no card touched\n"

/* Record option c (from DESK_LONG_OPTIONS) with its argument in o: 1 when
 * c is a desk option, 0 when it is not (the command handles it), -1 when
 * its value is malformed (said on stderr, prefixed with cmd: status 2). */
int desk_option(const char *cmd, int c, const char *arg, struct desk_opts *o);

struct desk_card {
    cf_profiles_t *profiles;
    cf_transport_t *t;
    cf_card_t *card;
    cf_trace_t *trace;
    FILE *trace_file;
};

/* Open the card (waiting for it with o->wait); messages go to stderr
 * prefixed with cmd. Returns a CF_EXIT_* status (usage problems 2,
 * anything else 1, an interrupted wait too). On success dc holds
 * everything, closed with desk_close. */
int desk_open(const char *cmd, const struct desk_opts *o, struct desk_card *dc);

/* Close the card session but keep the profiles (and the card's profile
 * borrowed from them) and the trace: for a command that asks a person
 * for values once it knows the card type, without holding the card. */
void desk_release(struct desk_card *dc);

/* Find and open the card again after desk_release (waiting with o->wait).
 * CF_EXIT_* as desk_open; on failure dc is closed (desk_close). */
int desk_reopen(const char *cmd, const struct desk_opts *o, struct desk_card *dc);

/* What a counter read said, in words that claim only what the card said:
 * "3 of 3", "BLOCKED (0 of 3)", "no retry counter", "cannot be read (the
 * card answered 6D00)", "not told: verified in this session", "the card
 * type has no way to report it". */
void desk_tries_text(const cf_tries_t *t, char *out, size_t cap);

/* Free the card, close the connection (leaving the card as it is, so the
 * reader's next user sees it unchanged) and the trace. */
void desk_close(struct desk_card *dc);

#endif
