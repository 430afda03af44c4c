/*
 * cmd_readers.c - `cardforge readers`: the PC/SC readers, whether a card is
 * in each, its ATR, and which card profile would take it (with its serial).
 *
 * For an operator setting up a station: which reader is which, and whether
 * the cards in them are the stock the batch expects, before `run`. Reads
 * only: a card is identified as `probe` identifies it (SELECTs, probes and
 * the serial read, nothing that spends a try) and left as it was. A card
 * another program holds is reported as in use, not waited for.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cardforge/card.h>
#include <cardforge/transport.h>

#include "commands.h"
#include "out.h"

#define CMD "cardforge readers"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge readers [--profiles DIR] [--json]\n\n"
                 "List the PC/SC readers: whether a card is in each, its ATR, and the card\n"
                 "profile that would take it, with its serial. Reads only: no try is spent\n"
                 "and nothing is changed.\n\n"
                 "  --profiles DIR   card profiles directory (default: the installed ones)\n"
                 "  --json           one JSON object: {\"readers\": [...]}\n"
                 "  -h, --help       this help\n\n"
                 "Exit status: 0 listed (also when there is no reader); 1 the PC/SC service\n"
                 "is not running or the profiles cannot be loaded; 2 usage error.\n");
}

/* A reader name shown to a person: control bytes as '?'. */
static void plain_str(const char *s, int width)
{
    char buf[256];
    size_t n = 0;
    for (; *s && n + 1 < sizeof(buf); s++)
        buf[n++] = ((unsigned char)*s < 0x20 || *s == 0x7F) ? '?' : *s;
    buf[n] = 0;
    printf("%-*s", width, buf);
}

struct row {
    char state[16];
    char atr[2 * CF_ATR_MAX + 1];
    char profile[72];
    char serial[80];
    char note[256];
};

static void identify(const char *name, const cf_profiles_t *set, struct row *rw)
{
    char err[256] = "";
    cf_transport_t *t = NULL;
    cf_err_t e = cf_transport_open_pcsc(name, &t, err, sizeof(err));
    if (e != CF_OK) {
        snprintf(rw->note, sizeof(rw->note), "%s",
                 e == CF_ERR_SHARING ? "in use by another program"
                 : err[0]            ? err
                                     : cf_strerror(e));
        return;
    }
    cf_card_t *card = NULL;
    e = cf_card_open(t, set, NULL, &card, err, sizeof(err));
    if (e == CF_OK) {
        snprintf(rw->profile, sizeof(rw->profile), "%s", cf_profile_name(cf_card_profile(card)));
        snprintf(rw->serial, sizeof(rw->serial), "%s", cf_card_serial(card));
    } else {
        snprintf(rw->note, sizeof(rw->note), "%s", err[0] ? err : cf_strerror(e));
    }
    cf_card_free(card);
    cf_transport_close(t, CF_DISPOSE_LEAVE);
}

int cmd_readers(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profiles", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int json = 0, c;
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
    cf_profiles_t *set = NULL;
    cf_diag_list_t *diags = cf_diag_list_new();
    const char *pdir = dir ? dir : cf_profiles_default_dir();
    cf_err_t e = diags ? cf_profiles_load(pdir, diags, &set) : CF_ERR_NOMEM;
    if (e != CF_OK) {
        fprintf(stderr, CMD ": the card profiles in %s are not usable:\n", pdir);
        cf_diag_print(diags, stderr);
        cf_diag_list_free(diags);
        return dir ? CF_EXIT_USAGE : CF_EXIT_FAIL;
    }
    cf_diag_list_free(diags);
    char err[256] = "";
    cf_pcsc_t *ctx = NULL;
    e = cf_pcsc_new(&ctx, err, sizeof(err));
    if (e == CF_OK)
        e = cf_pcsc_wait_change(ctx, 0); /* the first call: a snapshot */
    if (e != CF_OK) {
        fprintf(stderr, CMD ": %s\n", err[0] ? err : ctx ? cf_pcsc_errmsg(ctx) : cf_strerror(e));
        cf_pcsc_free(ctx);
        cf_profiles_free(set);
        return CF_EXIT_FAIL;
    }
    size_t n = cf_pcsc_reader_count(ctx);
    if (json)
        printf("{\"readers\":[");
    else if (n == 0)
        printf("no reader\n");
    for (size_t i = 0; i < n; i++) {
        cf_reader_info_t ri;
        if (cf_pcsc_reader_info(ctx, i, &ri) != CF_OK)
            continue;
        struct row rw;
        memset(&rw, 0, sizeof(rw));
        snprintf(rw.state, sizeof(rw.state), "%s",
                 (ri.state & CF_READER_PRESENT)       ? "card"
                 : (ri.state & CF_READER_UNAVAILABLE) ? "unavailable"
                                                      : "empty");
        for (size_t k = 0; k < ri.atr_len && k < CF_ATR_MAX; k++)
            snprintf(rw.atr + 2 * k, 3, "%02X", ri.atr[k]);
        if ((ri.state & CF_READER_PRESENT) && (ri.state & CF_READER_MUTE))
            snprintf(rw.note, sizeof(rw.note), "the card does not answer (the wrong way round?)");
        else if (ri.state & CF_READER_PRESENT)
            identify(ri.name, set, &rw);
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            out_json_string(stdout, ri.name);
            printf(",\"state\":\"%s\",\"atr\":\"%s\",\"profile\":", rw.state, rw.atr);
            out_json_string(stdout, rw.profile);
            printf(",\"serial\":");
            out_json_string(stdout, rw.serial);
            printf(",\"note\":");
            out_json_string(stdout, rw.note);
            printf("}");
        } else {
            plain_str(ri.name, 28);
            printf(" %-6s", rw.state);
            if (rw.profile[0])
                printf(" %s serial %s", rw.profile, rw.serial);
            if (rw.note[0])
                printf(" (%s)", rw.note);
            if (rw.atr[0])
                printf("\n  ATR %s", rw.atr);
            printf("\n");
        }
    }
    if (json)
        printf("]}\n");
    cf_pcsc_free(ctx);
    cf_profiles_free(set);
    return CF_EXIT_OK;
}
