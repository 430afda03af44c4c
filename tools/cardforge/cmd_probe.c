/*
 * cmd_probe.c - `cardforge probe`: what a card supports, for an operator
 * checking new card stock before a batch.
 *
 * Read-only by construction: the card is identified (SELECTs and probes),
 * its serial and version read, and each retry counter read the way the
 * profile reads it, which never spends a try. Nothing is verified,
 * authenticated or written. The output says which profile would be used and
 * why, so a new stock's surprises (no vendor serial, a counter that cannot
 * be read) are seen before the first card is personalized.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/card.h>

#include "commands.h"
#include "desk_card.h"

#define CMD "cardforge probe"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge probe (--reader NAME | --card SERIAL) [OPTIONS]\n\n"
                 "Show what the card supports: its ATR and application, the card profile\n"
                 "that would be used and why, where its serial comes from, its version,\n"
                 "which retry counters can be read, and what the card type can do. Reads\n"
                 "only: no try is spent and nothing is changed.\n\n"
                 "options:\n"
                 "  --reader NAME       the PC/SC reader (full name or a part naming one reader)\n"
                 "  --card SERIAL       the card with this serial, in whichever reader it is\n"
                 "  --profile NAME      check the card against this profile only\n"
                 "  --profiles DIR      card profiles directory (default: the installed ones)\n"
                 "  --trace FILE        write an APDU trace\n" DESK_WAIT_HELP
                 "  -h, --help          this help\n\n"
                 "Exit status: 0 the card was identified; 1 it was not (the reason is shown),\n"
                 "or no card (a --wait interrupted or timed out); 2 usage error.\n");
}

static void print_hex_line(const char *label, const uint8_t *b, size_t n)
{
    printf("%-16s", label);
    for (size_t i = 0; i < n; i++)
        printf("%s%02X", i ? " " : "", b[i]);
    printf("%s\n", n ? "" : "(none)");
}

static void print_counter(const char *label, cf_card_t *card, cf_cred_t c)
{
    cf_tries_t t;
    cf_err_t e = cf_card_tries(card, c, &t);
    if (e == CF_ERR_UNSUPPORTED) {
        printf("  %-14s(the card type has none)\n", label);
        return;
    }
    if (e != CF_OK) {
        printf("  %-14scannot be read (%s)\n", label, cf_card_errmsg(card));
        return;
    }
    char text[96];
    desk_tries_text(&t, text, sizeof(text));
    printf("  %-14s%s\n", label, text);
}

static void print_caps(const cf_profile_t *p)
{
    static const struct {
        cf_card_cap_t cap;
        const char *text;
    } caps[] = {
        {CF_CAP_PIN_BY_PUK, "set the PIN with the PUK"},
        {CF_CAP_CHANGE_PUK, "change the PUK"},
        {CF_CAP_PIN_BY_ADMIN, "set the PIN with the admin key"},
        {CF_CAP_SET_ADMIN_KEY, "replace the admin key"},
        {CF_CAP_EXTERNAL_AUTH, "offline unblock by challenge-response"},
    };
    printf("can:\n");
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        printf("  %-40s%s\n", caps[i].text, cf_profile_can(p, caps[i].cap) ? "yes" : "no");
}

static int probe(struct desk_card *dc)
{
    cf_card_t *card = dc->card;
    const cf_profile_t *p = cf_card_profile(card);
    size_t alen = 0, slen = 0;
    const uint8_t *atr = cf_transport_atr(dc->t, &alen);
    const uint8_t *sel = cf_card_select_answer(card, &slen);
    printf("%-16s%s\n", "reader", cf_transport_reader(dc->t));
    print_hex_line("ATR", atr, alen);
    printf("%-16s%s (%s)\n", "profile", cf_profile_name(p), cf_profile_description(p));
    printf("how it was chosen (profiles in the order tried):\n");
    const char *log = cf_card_ident_log(card);
    while (*log) {
        const char *nl = strchr(log, '\n');
        size_t n = nl ? (size_t)(nl - log) : strlen(log);
        printf("  %.*s\n", (int)n, log);
        log += n + (nl ? 1 : 0);
    }
    print_hex_line("SELECT answer", sel, slen);
    printf("%-16s%s\n", "serial", cf_card_serial(card));
    printf("%-16s%s\n", "serial from", cf_profile_serial_source(p));
    printf("%-16s%s\n", "version", cf_card_version(card)[0] ? cf_card_version(card) : "(not read)");
    printf("counters (read without spending a try):\n");
    print_counter("PIN", card, CF_CRED_PIN);
    print_counter("PUK", card, CF_CRED_PUK);
    print_counter("admin key", card, CF_CRED_ADMIN);
    printf("%-16s%s\n", "PIN policy", cf_profile_pin_policy_text(p));
    print_caps(p);
    return CF_EXIT_OK;
}

int cmd_probe(int argc, char **argv)
{
    static const struct option opts[] = {
        DESK_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct desk_opts dopt = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return CF_EXIT_OK;
        }
        int d = c == 'L' ? 0 : desk_option(CMD, c, optarg, &dopt);
        if (d <= 0) {
            if (d == 0)
                usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    struct desk_card dc;
    int st = desk_open(CMD, &dopt, &dc);
    if (st != CF_EXIT_OK)
        return st;
    st = probe(&dc);
    desk_close(&dc);
    return st;
}
