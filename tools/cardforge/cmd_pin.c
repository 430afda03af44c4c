/*
 * cmd_pin.c - `cardforge pin`: the card holder's or officer's PIN tool for
 * one card: status, change, unblock with the PUK, and the offline unblock
 * by challenge-response with the helpdesk on the phone.
 *
 * Secrets are typed at a terminal without echo and never taken from the
 * command line. Each PIN or PUK is checked against the card type's policy
 * as soon as it is typed (and asked again when it does not fit), new PINs
 * are asked twice, all before the card is asked: a typo never costs a try. The
 * offline unblock keeps one card session from the challenge to the new
 * PIN: a GIDS challenge dies on reset or re-select. With --audit, change
 * and unblock write one event each (desk_audit.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cardforge/card.h>
#include <cardforge/keys.h>

#include "commands.h"
#include "desk_audit.h"
#include "desk_card.h"
#include "pin_status.h"
#include "tty_secret.h"

#define CMD "cardforge pin"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cardforge pin SUBCOMMAND (--reader NAME | --card SERIAL) [OPTIONS]\n\n"
            "subcommands:\n"
            "  status              card type, serial, tries left (PIN, PUK, admin key), PIN\n"
            "                      policy; spends nothing\n"
            "  change              change the PIN (current PIN, new PIN twice)\n"
            "  unblock             set a new PIN with the PUK\n"
            "  unblock --challenge offline unblock with the helpdesk: shows the card's\n"
            "                      serial and challenge, reads the response and a new PIN\n\n"
            "options:\n"
            "  --reader NAME       the PC/SC reader (full name or a part naming one reader)\n"
            "  --card SERIAL       the card with this serial, in whichever reader it is\n"
            "  --profile NAME      use this card profile instead of recognising the card\n"
            "  --profiles DIR      card profiles directory (default: the installed ones)\n"
            "  --trace FILE        write an APDU trace, every secret byte shown as **\n"
            "  --allow-last-try    allow a PUK or admin-key attempt that could spend the\n"
            "                      last try (refused by default)\n" DESK_WAIT_HELP DESK_AUDIT_HELP
            "                      (change and unblock: one event each, never a secret)\n"
            "  --json              status only: one JSON object on stdout, {\"card_type\",\n"
            "                      \"description\", \"serial\", \"version\", \"reader\",\n"
            "                      \"tries\": {\"pin\", \"puk\", \"admin_key\"}, \"pin_policy\",\n"
            "                      \"offline_unblock\"}; each counter {\"state\", \"left\",\n"
            "                      \"max\", \"note\"}: null when the card did not tell, and\n"
            "                      the note says why\n"
            "  -h, --help          this help\n\n"
            "PINs, PUKs and responses are read from the terminal without echo; there is\n"
            "no option to give them on the command line. Each PIN and PUK is checked\n"
            "against the card's policy as soon as it is typed; one that does not fit, or\n"
            "two entries of a new PIN that differ, are said (never the value) and asked\n"
            "again, 3 tries in all. See docs/operator-guide.md.\n"
            "Exit status: 0 done; 1 the card refused or failed (tries left are shown), or\n"
            "no card (a --wait interrupted or timed out); 2 usage error, or no value that\n"
            "fits the card's policy in 3 tries.\n");
}

/* The message and status for a secret that could not be read at all. */
static int ask_failed(cf_err_t e)
{
    if (e == CF_ERR_UNSUPPORTED)
        fprintf(stderr, CMD ": standard input is not a terminal; secrets are only read from "
                            "a terminal\n");
    else if (e == CF_ERR_IO)
        fprintf(stderr, CMD ": end of input; nothing was sent to the card\n");
    else
        fprintf(stderr, CMD ": %s\n", cf_strerror(e));
    return e == CF_ERR_NOMEM ? CF_EXIT_FAIL : CF_EXIT_USAGE;
}

/* Ask for a secret no policy judges (the response): CF_EXIT_* status. */
static int ask(const char *prompt, cf_secret_t **out)
{
    cf_err_t e = tty_ask_secret(prompt, 64, out);
    if (e == CF_ERR_ARG)
        fprintf(stderr, CMD ": empty or longer than 64 characters\n");
    else if (e != CF_OK)
        return ask_failed(e);
    return e == CF_OK ? CF_EXIT_OK : CF_EXIT_USAGE;
}

/* Tries for one value (refused by the policy, or two entries differing):
 * enough for typos, few enough that nobody guesses at the prompt. */
#define ASK_TRIES 3

/* Ask for credential c's value (what: "new PIN", "PUK", ...), checked
 * against the card type's policy as soon as it is typed, before anything
 * else is asked; with confirm asked twice. A refused value or two entries
 * that differ are said (never the value) and asked again, ASK_TRIES times
 * in all. CF_EXIT_*: 2 when no acceptable value came. */
static int ask_value(const cf_profile_t *p, cf_cred_t c, const char *what, int confirm,
                     cf_secret_t **out)
{
    char q[64], why[200];
    for (int attempt = 1; attempt <= ASK_TRIES; attempt++) {
        snprintf(q, sizeof(q), "%s (not shown): ", what);
        cf_err_t e = tty_ask_secret(q, 64, out);
        if (e != CF_OK && e != CF_ERR_ARG)
            return ask_failed(e);
        cf_secret_t *again = NULL;
        if (e == CF_ERR_ARG) {
            snprintf(why, sizeof(why), "%s: empty or longer than 64 characters", what);
        } else if (cf_profile_check_policy(p, c, *out, why, sizeof(why)) != CF_OK) {
            /* why names the credential and the rule */
        } else if (!confirm) {
            return CF_EXIT_OK;
        } else {
            snprintf(q, sizeof(q), "%s again: ", what);
            e = tty_ask_secret(q, 64, &again);
            if (e != CF_OK && e != CF_ERR_ARG) {
                cf_secret_free(*out);
                *out = NULL;
                return ask_failed(e);
            }
            int same = e == CF_OK && cf_secret_equal(*out, again);
            cf_secret_free(again);
            if (same)
                return CF_EXIT_OK;
            snprintf(why, sizeof(why), "%s: the two entries differ", what);
        }
        cf_secret_free(*out);
        *out = NULL;
        fprintf(stderr, CMD ": %s%s\n", why, attempt < ASK_TRIES ? "; type it again" : "");
    }
    fprintf(stderr, CMD ": no acceptable %s in %d tries; nothing was sent to the card\n", what,
            ASK_TRIES);
    return CF_EXIT_USAGE;
}

/* Why the card (or a guard before it) last said no, for the audit event. */
static cf_err_t card_refusal;

static int card_failed(struct desk_card *dc, const char *what, cf_err_t e)
{
    card_refusal = e;
    const char *m = cf_card_errmsg(dc->card);
    fprintf(stderr, CMD ": %s: %s\n", what, m && m[0] ? m : cf_strerror(e));
    if (e == CF_ERR_LAST_TRY)
        fprintf(stderr, "  (use --allow-last-try only when losing the card is acceptable)\n");
    return CF_EXIT_FAIL;
}

static int pin_change(struct desk_card *dc)
{
    cf_secret_t *old = NULL, *neu = NULL;
    const cf_profile_t *p = cf_card_profile(dc->card);
    /* The current PIN is checked too: one that breaks the policy cannot be
     * right, and a typo must not cost a try. */
    int st = ask_value(p, CF_CRED_PIN, "current PIN", 0, &old);
    if (st == CF_EXIT_OK)
        st = ask_value(p, CF_CRED_PIN, "new PIN", 1, &neu);
    if (st == CF_EXIT_OK) {
        cf_err_t e = cf_card_change_pin(dc->card, old, neu);
        if (e != CF_OK)
            st = card_failed(dc, "the PIN was not changed", e);
        else
            printf("PIN changed\n");
    }
    cf_secret_free(old);
    cf_secret_free(neu);
    return st;
}

static int pin_unblock_puk(struct desk_card *dc, unsigned flags)
{
    const cf_profile_t *p = cf_card_profile(dc->card);
    if (!cf_profile_can(p, CF_CAP_PIN_BY_PUK)) {
        fprintf(stderr,
                CMD ": a %s card has no PUK; use `pin unblock --challenge` with the "
                    "helpdesk\n",
                cf_profile_name(p));
        return CF_EXIT_FAIL;
    }
    cf_secret_t *puk = NULL, *pin = NULL;
    int st = ask_value(p, CF_CRED_PUK, "PUK", 0, &puk);
    if (st == CF_EXIT_OK)
        st = ask_value(p, CF_CRED_PIN, "new PIN", 1, &pin);
    if (st == CF_EXIT_OK) {
        cf_err_t e = cf_card_unblock_pin_by_puk(dc->card, puk, pin, flags);
        if (e == CF_OK)
            e = cf_card_verify_pin(dc->card, pin);
        if (e != CF_OK)
            st = card_failed(dc, "the PIN was not unblocked", e);
        else
            printf("PIN unblocked and set; the new PIN verifies\n");
    }
    cf_secret_free(puk);
    cf_secret_free(pin);
    return st;
}

/* Read a line with echo (check values are not secret). */
static int ask_plain(const char *prompt, char *buf, size_t cap)
{
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    long n = tty_read_line(buf, cap);
    if (n < 0) {
        fprintf(stderr, CMD ": line too long\n");
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return 0;
}

/* The response as read over the phone: hex without echo, then its check
 * value, until they agree (a mismatch costs nothing: the card is not asked). */
static int ask_response(size_t want, cf_secret_t **out)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        cf_secret_t *text = NULL;
        int st = ask("response from the helpdesk (not shown): ", &text);
        if (st != CF_EXIT_OK)
            return st;
        uint8_t bytes[32];
        size_t n = 0;
        cf_err_t e = cf_keys_parse_hex(cf_secret_str(text), bytes, sizeof(bytes), &n);
        if (e != CF_OK || n != want) {
            fprintf(stderr, CMD ": the response must be %zu hex digits; type it again\n", 2 * want);
            cf_secret_free(text);
            OPENSSL_cleanse(bytes, sizeof(bytes));
            continue;
        }
        char cv[16];
        if (ask_plain("its check value (2 digits): ", cv, sizeof(cv)) != 0) {
            cf_secret_free(text);
            OPENSSL_cleanse(bytes, sizeof(bytes));
            return CF_EXIT_USAGE;
        }
        e = cf_keys_check_matches(cf_secret_str(text), cv);
        cf_secret_free(text);
        if (e == CF_OK) {
            *out = cf_secret_new(bytes, n);
            OPENSSL_cleanse(bytes, sizeof(bytes));
            return *out ? CF_EXIT_OK : CF_EXIT_FAIL;
        }
        OPENSSL_cleanse(bytes, sizeof(bytes));
        fprintf(stderr, e == CF_ERR_PARSE
                            ? CMD ": the check value is two digits 00 to 96; type both again\n"
                            : CMD ": the check value does not match the response as typed: a "
                                  "digit was misheard or mistyped; ask for it again\n");
    }
    fprintf(stderr, CMD ": no matching response after 3 attempts; nothing was sent to the "
                        "card\n");
    return CF_EXIT_USAGE;
}

static int pin_unblock_challenge(struct desk_card *dc, unsigned flags)
{
    const cf_profile_t *p = cf_card_profile(dc->card);
    if (!cf_profile_can(p, CF_CAP_EXTERNAL_AUTH)) {
        fprintf(stderr,
                CMD ": a %s card has no challenge-response unblock; use `pin "
                    "unblock` with the PUK\n",
                cf_profile_name(p));
        return CF_EXIT_FAIL;
    }
    /* The new PIN first: once the challenge is out, the session must not
     * wait on anything but the phone call. */
    cf_secret_t *pin = NULL, *resp = NULL;
    int st = ask_value(p, CF_CRED_PIN, "new PIN", 1, &pin);
    if (st != CF_EXIT_OK)
        return st;

    uint8_t ch[32];
    size_t chlen = 0;
    cf_err_t e = cf_card_get_challenge(dc->card, ch, sizeof(ch), &chlen, flags);
    if (e != CF_OK) {
        st = card_failed(dc, "no challenge", e);
        goto out;
    }
    const char *serial = cf_card_serial(dc->card);
    char grouped[80], cv[CF_KEYS_CHECK_SIZE];
    if (cf_keys_group(serial, grouped, sizeof(grouped)) != CF_OK ||
        cf_keys_check_value(serial, cv) != CF_OK) {
        snprintf(grouped, sizeof(grouped), "%s", serial);
        cv[0] = 0;
    }
    printf("Call the helpdesk and read out:\n");
    printf("  serial     %s%s%s\n", grouped, cv[0] ? "   check " : "", cv);
    cf_keys_group_bytes(ch, chlen, grouped, sizeof(grouped));
    cf_keys_check_value_bytes(ch, chlen, cv);
    printf("  challenge  %s   check %s\n", grouped, cv);
    fflush(stdout);

    st = ask_response(chlen, &resp);
    if (st != CF_EXIT_OK)
        goto out;
    e = cf_card_external_auth(dc->card, resp);
    if (e != CF_OK) {
        st = card_failed(dc, "the card refused the response", e);
        if (e == CF_ERR_WRONG_SECRET)
            fprintf(stderr, "  That cost one admin-key try. Check the serial and challenge "
                            "with the helpdesk and start again: the challenge is used up.\n");
        goto out;
    }
    e = cf_card_unblock_pin_by_admin(dc->card, pin);
    if (e == CF_OK)
        e = cf_card_verify_pin(dc->card, pin);
    if (e != CF_OK) {
        st = card_failed(dc, "the PIN was not set", e);
        goto out;
    }
    printf("PIN unblocked and set; the new PIN verifies\n");
    st = CF_EXIT_OK;
out:
    OPENSSL_cleanse(ch, sizeof(ch));
    cf_secret_free(resp);
    cf_secret_free(pin);
    return st;
}

int cmd_pin(int argc, char **argv)
{
    static const struct option opts[] = {
        DESK_LONG_OPTIONS,
        DESK_AUDIT_LONG_OPTIONS,
        {"challenge", no_argument, NULL, 'C'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct desk_opts dopt = {0};
    struct desk_audit_opts aopt = {0};
    int c, challenge = 0, json = 0;
    unsigned flags = 0;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CF_EXIT_USAGE : CF_EXIT_OK;
    }
    const char *sub = argv[1];
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'C':
            challenge = 1;
            break;
        case 'h':
            usage(stdout);
            return CF_EXIT_OK;
        case 'j':
            json = 1;
            break;
        default: {
            if (desk_audit_option(c, optarg, &aopt))
                break;
            int d = desk_option(CMD, c, optarg, &dopt);
            if (d > 0)
                break;
            if (d == 0)
                usage(stderr);
            return CF_EXIT_USAGE;
        }
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    int which = strcmp(sub, "status") == 0    ? 0
                : strcmp(sub, "change") == 0  ? 1
                : strcmp(sub, "unblock") == 0 ? 2
                                              : -1;
    if (which < 0) {
        fprintf(stderr, CMD ": '%s' is not a subcommand (status, change, unblock)\n", sub);
        return CF_EXIT_USAGE;
    }
    if (challenge && which != 2) {
        fprintf(stderr, CMD ": --challenge goes with unblock\n");
        return CF_EXIT_USAGE;
    }
    if (json && which != 0) {
        fprintf(stderr, CMD ": --json goes with status\n");
        return CF_EXIT_USAGE;
    }
    if (which == 0 && (aopt.log != NULL || aopt.key != NULL)) {
        fprintf(stderr, CMD ": --audit goes with change and unblock (status changes nothing)\n");
        return CF_EXIT_USAGE;
    }
    if (which != 0 && !isatty(STDIN_FILENO)) {
        fprintf(stderr, CMD ": %s reads PINs from a terminal, and standard input is not one\n",
                sub);
        return CF_EXIT_USAGE;
    }
    if (dopt.allow_last_try)
        flags |= CF_OP_ALLOW_LAST_TRY;
    /* The log before the card: one that cannot be written stops us here. */
    struct desk_audit da;
    const char *event = which == 0   ? NULL
                        : which == 1 ? "pin_change"
                        : challenge  ? "pin_unblock_challenge"
                                     : "pin_unblock";
    int st = desk_audit_open(CMD, event, &aopt, &da);
    if (st != CF_EXIT_OK)
        return st;
    struct desk_card dc;
    st = desk_open(CMD, &dopt, &dc);
    if (st != CF_EXIT_OK) {
        struct desk_audit_what none = {.note = "no card opened"};
        desk_audit_record(&da, st, &none);
        return desk_audit_close(&da, st);
    }
    card_refusal = CF_OK;
    if (which == 0)
        st = pin_status(&dc, json);
    else if (which == 1)
        st = pin_change(&dc);
    else if (challenge)
        st = pin_unblock_challenge(&dc, flags);
    else
        st = pin_unblock_puk(&dc, flags);
    struct desk_audit_what w = {
        .serial = cf_card_serial(dc.card), .card = dc.card, .err = card_refusal};
    st = desk_audit_record(&da, st, &w);
    desk_close(&dc);
    return desk_audit_close(&da, st);
}
