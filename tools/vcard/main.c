/*
 * main.c - cardforge-vcard: plug one virtual card into a vpcd reader.
 *
 * Options are checked completely before anything is created, opened or
 * connected: a usage error exits 2 with one line naming the option and the
 * fix, and leaves no state file, feeder directory or socket behind.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/secret.h>
#include <cardforge/version.h>

#include "vcard.h"
#include "vcard/args.h"

enum {
    OPT_PORT = 256,
    OPT_TYPE,
    OPT_FACTORY,
    OPT_STATE,
    OPT_SERIAL,
    OPT_FEED,
    OPT_CONTROL,
    OPT_SEND,
    OPT_PRINT_ATR,
    OPT_LIST_TYPES,
    OPT_ATTESTATION_CA,
    OPT_LATENCY,
    OPT_LATENCY_PROFILE,
    OPT_BAUD,
    OPT_IFS,
    OPT_NV_MS,
    OPT_CRYPTO_MS,
    OPT_DROP_AFTER,
    OPT_DROP_ON,
    OPT_FAULT_SW,
    OPT_NO_TUNING,
    OPT_VERSION,
};

static const struct option long_opts[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"type", required_argument, NULL, OPT_TYPE},
    {"factory", required_argument, NULL, OPT_FACTORY},
    {"state", required_argument, NULL, OPT_STATE},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"feed", required_argument, NULL, OPT_FEED},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"send", required_argument, NULL, OPT_SEND},
    {"print-atr", no_argument, NULL, OPT_PRINT_ATR},
    {"list-types", no_argument, NULL, OPT_LIST_TYPES},
    {"attestation-ca", no_argument, NULL, OPT_ATTESTATION_CA},
    {"latency", no_argument, NULL, OPT_LATENCY},
    {"latency-profile", required_argument, NULL, OPT_LATENCY_PROFILE},
    {"baud", required_argument, NULL, OPT_BAUD},
    {"ifs", required_argument, NULL, OPT_IFS},
    {"nv-write-ms", required_argument, NULL, OPT_NV_MS},
    {"crypto-ms", required_argument, NULL, OPT_CRYPTO_MS},
    {"fault-drop-after", required_argument, NULL, OPT_DROP_AFTER},
    {"fault-drop-on", required_argument, NULL, OPT_DROP_ON},
    {"fault-sw", required_argument, NULL, OPT_FAULT_SW},
    {"no-socket-tuning", no_argument, NULL, OPT_NO_TUNING},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge-vcard --port P --type TYPE [--factory STATE]\n"
                 "                       [--state FILE | --feed DIR] [--serial N]\n"
                 "                       [--control PATH] [latency and fault options] [-v]\n"
                 "       cardforge-vcard --control PATH --send remove|insert|status\n"
                 "       cardforge-vcard --type TYPE [--factory STATE] --print-atr\n"
                 "       cardforge-vcard --list-types\n"
                 "       cardforge-vcard --attestation-ca\n\n"
                 "Plugs one virtual card into a vpcd reader: connects to the vpcd driver at\n"
                 "127.0.0.1:P (the driver listens, the card connects) and answers it until\n"
                 "SIGTERM or SIGINT. WARNING: vpcd listens on every interface; anyone who\n"
                 "reaches the port can insert a card. Run demos inside `unshare -n` or on an\n"
                 "isolated machine.\n\n"
                 "card:\n"
                 "  --port P              vpcd port of the reader slot (1-65535)\n"
                 "  --type TYPE           card type BASE[+QUIRK...]: base piv (standard PIV),\n"
                 "                        yubikey or gids, each quirk an opt-in departure from\n"
                 "                        it, e.g. gids+admin-counter (needed unless --state\n"
                 "                        FILE exists; see --list-types)\n"
                 "  --factory STATE       factory state of a new card (default: the type's)\n"
                 "  --serial N            serial number of a new card (default 1); with --feed,\n"
                 "                        the first serial\n"
                 "  --state FILE          load the card from FILE if it exists, else create it;\n"
                 "                        saved atomically to FILE after every change\n"
                 "  --feed DIR            feeder: every insertion is a fresh card with the next\n"
                 "                        serial, kept in DIR/card-<serial>.state; insertions\n"
                 "                        and removals appended to DIR/events.log\n"
                 "  --print-atr           print the card's ATR in hex and exit\n"
                 "  --list-types          print every base and quirk with what it does, and exit\n"
                 "  --attestation-ca      print the test CA (PEM) that every yubikey card's\n"
                 "                        attestation certificate chains to, and exit\n\n"
                 "taking the card out and back (feeder: back = the next fresh card):\n"
                 "  SIGUSR1 removes the card, SIGUSR2 inserts it\n"
                 "  --control PATH        unix socket taking lines: remove, insert, status\n"
                 "  --send CMD            send CMD to the daemon at --control PATH, print the\n"
                 "                        reply, exit 0 if it starts with \"ok\"\n\n"
                 "latency model (off by default; any of these turns it on):\n"
                 "  --latency             use the \"contact\" profile\n"
                 "  --latency-profile P   one of:\n");
    for (size_t i = 0; cf_vcard_latency_profile_name(i) != NULL; i++)
        fprintf(out, "      %-14s %s\n", cf_vcard_latency_profile_name(i),
                cf_vcard_latency_profile_summary(i));
    fprintf(out, "  --baud N              interface bit rate, 1200-10000000\n"
                 "  --ifs N               T=1 information field size, 1-254\n"
                 "  --nv-write-ms MS      per non-volatile write (0-60000, e.g. 2.5)\n"
                 "  --crypto-ms MS        per on-card cryptographic operation (0-60000)\n\n"
                 "faults:\n"
                 "  --fault-drop-after K  pull the card when the K-th APDU arrives, before\n"
                 "                        answering; it stays out until inserted (once)\n"
                 "  --fault-drop-on INS   the same on the first command with INS (hex, e.g. 24)\n"
                 "  --fault-sw INS:SW     answer SW to every command with INS, e.g. 24:6581\n"
                 "                        (repeatable, at most 16)\n\n"
                 "other:\n"
                 "  -v, --verbose         log events to stderr; twice: also INS and SW of each\n"
                 "                        APDU (APDU data is never logged)\n"
                 "  --no-socket-tuning    plain TCP socket, for measuring its cost only\n"
                 "  -h, --help            this text\n\n"
                 "Exit status: 0 stopped cleanly, 1 failure, 2 usage error.\n");
}

static void list_types(void)
{
    printf("bases (--type BASE, factory states in brackets, the default first):\n");
    for (size_t i = 0; cf_simcard_base_at(i) != NULL; i++) {
        const cf_simcard_base_info_t *b = cf_simcard_base_at(i);
        printf("  %-18s [%s] %s\n", b->name, b->factories, b->summary);
    }
    printf("\nquirks (--type BASE+QUIRK[+QUIRK...], bases they apply to in brackets):\n");
    for (size_t i = 0; cf_simcard_quirk_at(i) != NULL; i++) {
        const cf_simcard_quirk_info_t *q = cf_simcard_quirk_at(i);
        printf("  %-18s [%s] %s\n", q->name, q->bases, q->summary);
    }
}

/* "cardforge-vcard: WHAT 'ARG'" (ARG quoted when given), exit status 2. */
static int bad_usage(const char *what, const char *arg)
{
    if (arg != NULL)
        fprintf(stderr, "cardforge-vcard: %s '%s'\n", what, arg);
    else
        fprintf(stderr, "cardforge-vcard: %s\n", what);
    fprintf(stderr, "Try 'cardforge-vcard --help'.\n");
    return VCARD_EXIT_USAGE;
}

/* "cardforge-vcard: OPTION: MESSAGE" for messages that quote the value
 * themselves, exit status 2. */
static int bad_value(const char *option, const char *msg)
{
    fprintf(stderr, "cardforge-vcard: %s: %s\nTry 'cardforge-vcard --help'.\n", option, msg);
    return VCARD_EXIT_USAGE;
}

/* A test CA, public by design: stdout is the place for it. */
static int print_attestation_ca(void)
{
    char *pem = NULL;
    if (cf_simcard_attestation_ca_pem(&pem) != CF_OK) {
        fprintf(stderr, "cardforge-vcard: cannot make the attestation CA certificate\n");
        return VCARD_EXIT_FAIL;
    }
    fputs(pem, stdout);
    free(pem);
    return VCARD_EXIT_OK;
}

static int print_atr(const struct vcard_opts *o)
{
    struct supply s;
    struct vcard_opts q = *o;
    q.feed_dir = NULL;
    /* Only reads: never create or rewrite a state file for --print-atr. */
    cf_simcard_t *card = NULL;
    if (q.state != NULL) {
        char msg[256] = "";
        FILE *f = fopen(q.state, "r");
        if (f != NULL) {
            fclose(f);
            if (cf_simcard_load(q.state, msg, sizeof(msg), &card) != CF_OK) {
                fprintf(stderr, "cardforge-vcard: %s\n", msg);
                return VCARD_EXIT_FAIL;
            }
        }
    }
    if (card == NULL) {
        q.state = NULL;
        int rc = supply_open(&s, &q);
        if (rc != VCARD_EXIT_OK)
            return rc;
        card = s.card;
    }
    uint8_t atr[33];
    size_t n = cf_simcard_atr(card, atr, sizeof(atr));
    for (size_t i = 0; i < n; i++)
        printf("%02X%s", atr[i], i + 1 < n ? ":" : "\n");
    cf_simcard_free(card);
    return n > 0 ? VCARD_EXIT_OK : VCARD_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    static struct vcard_opts o;
    int have_port = 0, latency_base = 0;
    const char *profile = NULL;
    uint32_t baud = 0, ifs = 0, nv_us = 0, crypto_us = 0;
    int have_baud = 0, have_ifs = 0, have_nv = 0, have_crypto = 0;
    char msg[160];
    static char type[CF_SIMCARD_TYPE_MAX];
    uint32_t u;

    /* The card's state is its secrets (PINs, keys): no core dump, ever. */
    (void)cf_process_protect();
    o.serial = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":vh", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_PORT:
            if (cf_vcard_parse_u32(optarg, 1, 65535, &u) != CF_OK)
                return bad_usage("--port: expected 1-65535, got", optarg);
            o.port = (uint16_t)u;
            have_port = 1;
            break;
        case OPT_TYPE:
            if (cf_simcard_type_check(optarg, type, sizeof(type), msg, sizeof(msg)) != CF_OK)
                return bad_value("--type", msg);
            o.type = type; /* canonical: compared with a state file's type */
            break;
        case OPT_FACTORY:
            o.factory = optarg;
            break;
        case OPT_STATE:
            o.state = optarg;
            break;
        case OPT_SERIAL:
            if (cf_vcard_parse_u32(optarg, 0, UINT32_MAX, &o.serial) != CF_OK)
                return bad_usage("--serial: expected 0-4294967295, got", optarg);
            break;
        case OPT_FEED:
            o.feed_dir = optarg;
            break;
        case OPT_CONTROL:
            o.control = optarg;
            break;
        case OPT_SEND:
            o.send = optarg;
            break;
        case OPT_PRINT_ATR:
            o.print_atr = 1;
            break;
        case OPT_LIST_TYPES:
            list_types();
            return VCARD_EXIT_OK;
        case OPT_ATTESTATION_CA:
            return print_attestation_ca();
        case OPT_LATENCY:
            latency_base = 1;
            break;
        case OPT_LATENCY_PROFILE:
            profile = optarg;
            if (cf_vcard_latency_profile(profile, &o.latency) != CF_OK)
                return bad_usage("--latency-profile: unknown profile (see --help)", optarg);
            break;
        case OPT_BAUD:
            if (cf_vcard_parse_u32(optarg, 1200, 10000000, &baud) != CF_OK)
                return bad_usage("--baud: expected 1200-10000000 bit/s, got", optarg);
            have_baud = 1;
            break;
        case OPT_IFS:
            if (cf_vcard_parse_u32(optarg, 1, 254, &ifs) != CF_OK)
                return bad_usage("--ifs: expected 1-254, got", optarg);
            have_ifs = 1;
            break;
        case OPT_NV_MS:
            if (cf_vcard_parse_ms(optarg, 60000, &nv_us) != CF_OK)
                return bad_usage("--nv-write-ms: expected milliseconds 0-60000 "
                                 "(at most 3 decimals), got",
                                 optarg);
            have_nv = 1;
            break;
        case OPT_CRYPTO_MS:
            if (cf_vcard_parse_ms(optarg, 60000, &crypto_us) != CF_OK)
                return bad_usage("--crypto-ms: expected milliseconds 0-60000 "
                                 "(at most 3 decimals), got",
                                 optarg);
            have_crypto = 1;
            break;
        case OPT_DROP_AFTER:
            if (cf_vcard_fault_set_drop(&o.faults, optarg, msg, sizeof(msg)) != CF_OK)
                return bad_value("--fault-drop-after", msg);
            break;
        case OPT_DROP_ON:
            if (cf_vcard_fault_set_drop_ins(&o.faults, optarg, msg, sizeof(msg)) != CF_OK)
                return bad_value("--fault-drop-on", msg);
            break;
        case OPT_FAULT_SW:
            if (cf_vcard_fault_add_sw(&o.faults, optarg, msg, sizeof(msg)) != CF_OK)
                return bad_value("--fault-sw", msg);
            break;
        case OPT_NO_TUNING:
            o.no_tuning = 1;
            break;
        case 'v':
            o.verbose++;
            break;
        case 'h':
            usage(stdout);
            return VCARD_EXIT_OK;
        case OPT_VERSION:
            printf("cardforge-vcard %s\n", cf_version());
            return VCARD_EXIT_OK;
        case ':':
            return bad_usage("option needs a value:", argv[optind - 1]);
        default:
            return bad_usage("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument", argv[optind]);

    if (o.send != NULL) {
        if (o.control == NULL)
            return bad_usage("--send needs --control PATH", NULL);
        return control_send(o.control, o.send);
    }
    if (o.print_atr)
        return print_atr(&o);
    if (!have_port)
        return bad_usage("--port P is required (the vpcd reader slot's port)", NULL);
    if (o.state != NULL && o.feed_dir != NULL)
        return bad_usage("--state and --feed exclude each other", NULL);

    if (latency_base || profile != NULL || have_baud || have_ifs || have_nv || have_crypto) {
        o.latency_on = 1;
        if (profile == NULL)
            cf_vcard_latency_profile("contact", &o.latency);
        if (have_baud)
            o.latency.baud = baud;
        if (have_ifs)
            o.latency.ifs = ifs;
        if (have_nv)
            o.latency.nv_write_us = nv_us;
        if (have_crypto)
            o.latency.crypto_us = crypto_us;
    }

    vcard_log_init(o.verbose, o.port);
    static struct vcard v;
    v.o = &o;
    v.sock = -1;
    v.rx = malloc(sizeof(*v.rx));
    v.resp = malloc(CF_SIMCARD_MAX_RESPONSE);
    v.out = malloc(2 + CF_SIMCARD_MAX_RESPONSE);
    if (v.rx == NULL || v.resp == NULL || v.out == NULL) {
        vcard_err("out of memory");
        return VCARD_EXIT_FAIL;
    }
    int rc = supply_open(&v.sup, &o);
    if (rc != VCARD_EXIT_OK)
        return rc;
    if (control_open(&v.ctl, o.control) < 0) {
        supply_close(&v.sup);
        return VCARD_EXIT_FAIL;
    }
    if (o.latency_on)
        vcard_log(1, "latency model: %lu bit/s, IFS %lu, crypto %lu us, NV write %lu us",
                  (unsigned long)o.latency.baud, (unsigned long)o.latency.ifs,
                  (unsigned long)o.latency.crypto_us, (unsigned long)o.latency.nv_write_us);
    rc = vcard_run(&v);
    control_close(&v.ctl);
    supply_close(&v.sup);
    /* The response buffers held card answers (keys read back, challenges). */
    cf_wipe(v.resp, CF_SIMCARD_MAX_RESPONSE);
    cf_wipe(v.out, 2 + CF_SIMCARD_MAX_RESPONSE);
    cf_wipe(v.rx->buf, sizeof(v.rx->buf));
    free(v.rx);
    free(v.resp);
    free(v.out);
    return rc;
}
