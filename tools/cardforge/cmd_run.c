/*
 * cmd_run.c - `cardforge run DESC --batch CSV --journal FILE ...`: the batch
 * runner (runner.h) with progress for a person and signals for stopping.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP (the terminal or ssh session closed)
 * are blocked in every thread and taken by one thread with sigwait, so no
 * work happens in a signal handler; no other signal is blocked. They are
 * handled from the first instant, before any file is opened. Before the run
 * starts, the first abandons the checks (nothing is done), the second exits
 * at once. During the run, the first asks the runner to finish the cards in
 * flight and stop; the second to stop them at their next safe point. The
 * summary is printed either way, to wherever output can still go. SIGPIPE
 * is ignored: a reader of the output that went away (`| head`) costs the
 * output, never a card. SIGUSR1 and SIGUSR2 mean nothing here and are
 * ignored too.
 *
 * Progress: on a terminal, a block of live lines (totals, then one line per
 * reader) redrawn four times a second, with log lines scrolling above it;
 * otherwise one plain line per card and per event, and a totals line every
 * ten seconds, for logs and pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cardforge/diag.h>
#include <cardforge/journal.h>
#include <cardforge/runner.h>

#include "commands.h"
#include "journal/jbuf.h"

#define CMD "cardforge run"
#define LIVE_READERS 16 /* reader lines shown live; the rest summed up */

struct ui {
    cf_runner_t *r;
    int tty;
    pthread_mutex_t mu; /* one writer on stdout at a time */
    int drawn;          /* live lines on screen below the cursor's line */
    int done;           /* the run is over: the progress thread ends */
    int dry;            /* a dry run: cards are checked, not personalized */
    pthread_cond_t cv;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cardforge run DESC --batch CSV --journal FILE [--readers SPEC]\n"
            "         [--profile NAME] [--profiles DIR] [--keyfile FILE] [--max-attempts N]\n"
            "         [--dry-run] [--wait]\n"
            "         [--trace FILE] [--sim-latency PROFILE] [--sim-keep DIR]\n"
            "         [--db CONNINFO --order ORDER [--station NAME]]\n\n"
            "Personalize one card per batch record on every reader at once. Every card\n"
            "attempt is recorded in the journal (JSON Lines, docs/journal.md) before the\n"
            "card is released; running the same command again continues the batch: done\n"
            "records are skipped, a personalized card is never done twice, a card cut off\n"
            "in the middle of a change is finished when it comes back.\n\n"
            "  -b, --batch CSV        the batch: one record per card\n"
            "  -j, --journal FILE     the journal (created if missing, appended to)\n"
            "  -r, --readers SPEC     all (default: every PC/SC reader), NAME[,NAME...]\n"
            "                         (readers whose name contains one of them), or\n"
            "                         sim:N[:TYPE[:FACTORY]]: N simulated readers fed fresh\n"
            "                         factory cards; TYPE a virtual card type\n"
            "                         BASE[+QUIRK...] (piv, the standard card, by default;\n"
            "                         bases piv, yubikey, gids: cardforge-vcard --list-types)\n"
            "      --profile NAME     take every card for this card profile (card stock\n"
            "                         the card cannot show, e.g. gids-gemalto's factory\n"
            "                         values): only its SELECT must answer\n"
            "  -p, --profiles DIR     card profiles (default: the installed ones)\n"
            "  -k, --keyfile FILE     master keys, when the description derives values\n"
            "  -m, --max-attempts N   failed cards per record before it is given up (3)\n"
            "  -n, --dry-run          identify the card in each reader and check the plan\n"
            "                         against it with the next record, once; change\n"
            "                         nothing, write no journal, end; with --order,\n"
            "                         also check the order and the batch's SHA-256 and\n"
            "                         show its counts and what this station would claim\n"
            "                         (nothing is claimed or written to the database)\n"
            "      --wait             PC/SC readers: wait for a reader --readers names to\n"
            "                         appear (else the run ends naming the readers there\n"
            "                         are)\n"
            "  -t, --trace FILE       APDU trace, secrets shown as **\n"
            "      --sim-latency P    simulated cards answer as slowly as a real contact\n"
            "                         card (contact, contact-9600, contact-fast, contact-rsa)\n"
            "      --sim-keep DIR     keep simulated cards as state files in DIR (in/ while\n"
            "                         in a reader, out/ once released); a resumed run puts\n"
            "                         the cards left in readers back first\n"
            "      --db CONNINFO      with --order: the order database (libpq connection\n"
            "                         string or URI; no password: ~/.pgpass)\n"
            "      --order ORDER      run as one station of ORDER (cardforge order load):\n"
            "                         records are claimed from the database, the batch\n"
            "                         file must be the order's (docs/stations.md)\n"
            "      --station NAME     this station's name in the order (default: the host\n"
            "                         name); one process per name; keep its journal\n"
            "      --order-lease S    seconds a station's untouched claims stay its own\n"
            "                         without a heartbeat (30; 2 to 100)\n"
            "  -h, --help             this help\n\n"
            "A description that asks the operator (!FROM_USER_DIALOG_n_FIELD) is refused:\n"
            "nobody answers prompts in a batch. SIGINT/SIGTERM/SIGHUP: finish the cards in\n"
            "flight, then stop; a second one stops them at the next safe point. Output to a\n"
            "closed pipe or terminal never stops the batch.\n\n"
            "Exit status: 0 every record personalized, 1 records left (failed, given up,\n"
            "stopped) or an invalid document, 2 usage error or unreadable file.\n");
}

static void now_text(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cf_journal_format_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}

static void fmt_duration(double s, char *out, size_t cap)
{
    if (s < 0) {
        snprintf(out, cap, "?");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, cap, "%luh%02lum%02lus", t / 3600, t / 60 % 60, t % 60);
    else if (t >= 60)
        snprintf(out, cap, "%lum%02lus", t / 60, t % 60);
    else
        snprintf(out, cap, "%lus", t);
}

/* ---- live display ------------------------------------------------------------ */

static void erase_live(struct ui *u)
{
    for (int i = 0; i < u->drawn; i++)
        fputs("\033[1A\033[2K", stdout);
    u->drawn = 0;
}

/* One live line, cut to the terminal's width so it never wraps (a wrapped
 * line would break the cursor arithmetic of the redraw). */
static void live_line(struct ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void live_line(struct ui *u, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    struct winsize ws;
    size_t cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        cols = ws.ws_col;
    if (strlen(line) >= cols)
        line[cols - 1] = '\0';
    printf("%s\n", line);
    u->drawn++;
}

static void totals_line(const cf_runner_progress_t *p, char *out, size_t cap)
{
    char eta[32], el[32];
    fmt_duration(p->eta_s, eta, sizeof(eta));
    fmt_duration(p->elapsed_s, el, sizeof(el));
    uint64_t left = p->records > p->done + p->given_up ? p->records - p->done - p->given_up : 0;
    snprintf(out, cap,
             "done %" PRIu64 "/%" PRIu64 "  failed %" PRIu64 "  rejected %" PRIu64
             "  remaining %" PRIu64 "%s  %.1f cards/min  elapsed %s  ETA %s",
             p->done, p->records, p->failed, p->rejected, left,
             p->given_up ? "  (given up: see summary)" : "", p->cards_per_min, el, eta);
}

static void draw_live(struct ui *u)
{
    cf_runner_progress_t p;
    cf_runner_reader_t rows[LIVE_READERS];
    cf_runner_snapshot(u->r, &p, rows, LIVE_READERS);
    char line[256];
    erase_live(u);
    totals_line(&p, line, sizeof(line));
    live_line(u, "%s%s", line,
              p.stopping == 1   ? "  [stopping: finishing cards in flight]"
              : p.stopping == 2 ? "  [stopping now]"
                                : "");
    size_t shown = p.n_readers < LIVE_READERS ? p.n_readers : LIVE_READERS;
    for (size_t i = 0; i < shown; i++) {
        const cf_runner_reader_t *rd = &rows[i];
        char what[96] = "";
        if (rd->state == CF_RSTATE_BUSY && rd->serial[0])
            /* The step first: on an 80-column terminal only the start of
             * the row shows, and a card's step (a key being generated, a CA
             * being asked) is what says why the reader is busy. */
            snprintf(what, sizeof(what), "%.24s%scard %.40s record %" PRIu64, rd->step,
                     rd->step[0] ? "  " : "", rd->serial, rd->record);
        else if (rd->state == CF_RSTATE_ASIDE)
            snprintf(what, sizeof(what), "%.90s", rd->note);
        live_line(u, "  %-24.24s %-9s %5" PRIu64 " done %3" PRIu64 " failed  %.60s", rd->name,
                  cf_reader_state_name(rd->state), rd->personalized, rd->failed, what);
    }
    if (p.n_readers > shown)
        live_line(u, "  ... and %zu more readers", p.n_readers - shown);
    fflush(stdout);
}

/* A line for the person: above the live block on a terminal. */
static void say(struct ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct ui *u, const char *fmt, ...)
{
    char t[32];
    va_list ap;
    pthread_mutex_lock(&u->mu);
    if (u->tty)
        erase_live(u);
    now_text(t);
    printf("%s ", t);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (u->tty && u->r != NULL && !u->done)
        draw_live(u);
    fflush(stdout);
    pthread_mutex_unlock(&u->mu);
}

static void on_log(void *user, const char *line)
{
    say(user, "%s", line);
}

static void on_card(void *user, const cf_journal_card_t *c)
{
    struct ui *u = user;
    char rec[64] = "no record";
    if (c->record != 0)
        snprintf(rec, sizeof(rec), "record %" PRIu64 " (line %lu)", c->record, c->line);
    double ms = c->end > c->start ? (double)(c->end - c->start) : 0.0;
    if (u->dry) {
        say(u, "reader '%s': %s card %s (%s): %s", c->reader, rec,
            c->serial[0] ? c->serial : "(unidentified)", c->profile[0] ? c->profile : "?",
            c->status == CF_STATUS_PERSONALIZED ? "could be personalized" : c->message);
        return;
    }
    if (c->status == CF_STATUS_PERSONALIZED) {
        /* On a terminal the live block shows the successes. */
        if (!u->tty)
            say(u, "reader '%s': %s card %s: personalized (%" PRIu64 " APDUs, %.0f ms)%s%s",
                c->reader, rec, c->serial, c->apdus, ms, c->message[0] ? "; " : "", c->message);
        return;
    }
    say(u, "reader '%s': %s card %s: %s, %s: %s", c->reader, rec,
        c->serial[0] ? c->serial : "(unidentified)", cf_card_status_name(c->status),
        cf_errname(c->err), c->message);
}

static void *progress_thread(void *arg)
{
    struct ui *u = arg;
    int ticks = 0;
    pthread_mutex_lock(&u->mu);
    while (!u->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&u->cv, &u->mu, &ts);
        if (u->done)
            break;
        if (u->tty) {
            draw_live(u);
        } else if (++ticks % 40 == 0) {
            cf_runner_progress_t p;
            char line[256], t[32];
            cf_runner_snapshot(u->r, &p, NULL, 0);
            totals_line(&p, line, sizeof(line));
            now_text(t);
            printf("%s progress: %s\n", t, line);
            fflush(stdout);
        }
    }
    if (u->tty)
        erase_live(u);
    fflush(stdout);
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

/* ---- signals ------------------------------------------------------------------- */

/* The signal thread's view of the command. Before the runner exists (its
 * documents are still being read: a huge batch, a slow disk) a first signal
 * sets cancel, which cf_runner_new checks between reads, and a second one
 * ends the process at once: nothing has been written yet. The thread ends
 * when `over` is set and it is woken with a signal of its own set, sent to
 * it alone (pthread_kill): no signal from outside can end it. */
struct sigctx {
    pthread_mutex_t mu;
    cf_runner_t *r; /* NULL until the run starts */
    struct ui *u;
    int over;
    int cancel; /* atomic: the runner's opts.cancel */
    sigset_t set;
};

static const char *sig_text(int sig)
{
    return sig == SIGINT   ? "interrupt"
           : sig == SIGHUP ? "hangup (the terminal closed)"
                           : "terminate";
}

static void *signal_thread(void *arg)
{
    struct sigctx *s = arg;
    int count = 0;
    for (;;) {
        int sig = 0;
        if (sigwait(&s->set, &sig) != 0)
            continue;
        pthread_mutex_lock(&s->mu);
        cf_runner_t *r = s->r;
        int over = s->over;
        pthread_mutex_unlock(&s->mu);
        if (over)
            break; /* the run is over (or a late signal: the same) */
        count++;
        if (r == NULL) {
            __atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
            if (count == 1) {
                say(s->u, "%s: stopping before the run starts; nothing has been done",
                    sig_text(sig));
                continue;
            }
            say(s->u, "%s again: stopping now; nothing has been done", sig_text(sig));
            fflush(NULL);
            _exit(CF_EXIT_FAIL);
        }
        cf_runner_stop(r, count >= 2 ? 2 : 1);
        if (count == 1)
            say(s->u,
                "%s: finishing the cards in flight, then stopping (again: stop them "
                "at the next safe point)",
                sig_text(sig));
        else if (count == 2)
            say(s->u, "stopping the cards in flight at the next safe point");
    }
    return NULL;
}

/* ---- summary ------------------------------------------------------------------- */

static void print_summary(cf_runner_t *r, const char *journal, cf_err_t result, int dry)
{
    if (dry) {
        cf_runner_progress_t p;
        cf_runner_snapshot(r, &p, NULL, 0);
        printf("\ndry run: %" PRIu64 " card%s checked: %" PRIu64 " could be personalized, %" PRIu64
               " refused; nothing was changed, no journal was written\n",
               p.personalized + p.rejected + p.failed,
               p.personalized + p.rejected + p.failed == 1 ? "" : "s", p.personalized,
               p.rejected + p.failed);
        if (result != CF_OK && result != CF_ERR_INTERRUPTED)
            printf("the dry run stopped on an error: %s\n", cf_strerror(result));
        return;
    }
    cf_runner_progress_t p;
    cf_runner_snapshot(r, &p, NULL, 0);
    cf_runner_reader_t *rows = calloc(p.n_readers ? p.n_readers : 1, sizeof(*rows));
    size_t n = rows ? p.n_readers : 0;
    cf_runner_snapshot(r, &p, rows, n);
    char el[32];
    fmt_duration(p.elapsed_s, el, sizeof(el));
    if (!p.order)
        printf("\nsummary: %" PRIu64 " of %" PRIu64 " records personalized (%" PRIu64
               " before this run)\n",
               p.done, p.records, p.done_before);
    else if (p.order_known)
        printf("\nsummary: order: %" PRIu64 " of %" PRIu64 " records done, %" PRIu64
               " claimed by stations, %" PRIu64 " failed; this station: %" PRIu64 " (%" PRIu64
               " before this run)\n",
               p.order_done, p.order_records, p.order_claimed, p.order_failed, p.done,
               p.done_before);
    else
        printf("\nsummary: this station: %" PRIu64 " records personalized (%" PRIu64
               " before this run); the order database could not be asked for the order's "
               "totals\n",
               p.done, p.done_before);
    printf("this run: %" PRIu64 " personalized, %" PRIu64 " failed, %" PRIu64
           " rejected in %s (%.1f cards/min)\n",
           p.personalized, p.failed, p.rejected, el, p.cards_per_min);
    if (p.given_up > 0) {
        printf("given up (every attempt failed): %" PRIu64 " record%s:", p.given_up,
               p.given_up == 1 ? "" : "s");
        for (size_t i = 0; i < 20; i++) {
            uint64_t rec = cf_runner_given_up(r, i);
            if (rec == 0)
                break;
            printf(" %" PRIu64, rec);
        }
        printf("%s\n", p.given_up > 20 ? " ..." : "");
    }
    for (size_t i = 0; i < n; i++) {
        const cf_runner_reader_t *rd = &rows[i];
        if (n <= 32 || rd->state == CF_RSTATE_ASIDE)
            printf("  %-28.28s %5" PRIu64 " personalized %3" PRIu64 " failed %3" PRIu64
                   " rejected%s%s\n",
                   rd->name, rd->personalized, rd->failed, rd->rejected,
                   rd->state == CF_RSTATE_ASIDE ? "  SET ASIDE: " : "",
                   rd->state == CF_RSTATE_ASIDE ? rd->note : "");
    }
    if (n > 32)
        printf("  (%zu readers; readers set aside are listed)\n", n);
    if (p.open_intents > 0)
        printf("open intents: %" PRIu64 " card%s changed and not finished: put %s back in a "
               "reader and run the same command again (cardforge report %s lists them)\n",
               p.open_intents, p.open_intents == 1 ? "" : "s", p.open_intents == 1 ? "it" : "them",
               journal);
    if (result == CF_ERR_INTERRUPTED)
        printf("stopped before the end: run the same command again to continue\n");
    else if (result != CF_OK)
        printf("the run stopped on an error: %s\n", cf_strerror(result));
    printf("journal: %s\n", journal);
    free(rows);
}

/* ---- the command ------------------------------------------------------------------- */

static int parse_attempts(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 100 || s[0] == '-')
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    enum {
        OPT_SIM_LATENCY = 1000,
        OPT_SIM_KEEP,
        OPT_PROFILE,
        OPT_WAIT,
        OPT_DB,
        OPT_ORDER,
        OPT_STATION,
        OPT_LEASE
    };
    static const struct option opts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"journal", required_argument, NULL, 'j'},
        {"readers", required_argument, NULL, 'r'},
        {"profiles", required_argument, NULL, 'p'},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"keyfile", required_argument, NULL, 'k'},
        {"max-attempts", required_argument, NULL, 'm'},
        {"dry-run", no_argument, NULL, 'n'},
        {"trace", required_argument, NULL, 't'},
        {"sim-latency", required_argument, NULL, OPT_SIM_LATENCY},
        {"sim-keep", required_argument, NULL, OPT_SIM_KEEP},
        {"db", required_argument, NULL, OPT_DB},
        {"order", required_argument, NULL, OPT_ORDER},
        {"station", required_argument, NULL, OPT_STATION},
        {"order-lease", required_argument, NULL, OPT_LEASE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cf_runner_opts_t o;
    memset(&o, 0, sizeof(o));
    const char *trace_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:j:r:p:k:m:nt:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o.batch = optarg;
            break;
        case 'j':
            o.journal = optarg;
            break;
        case 'r':
            o.readers = optarg;
            break;
        case 'p':
            o.profiles_dir = optarg;
            break;
        case 'k':
            o.keyfile = optarg;
            break;
        case 'm':
            if (parse_attempts(optarg, &o.max_attempts) != 0) {
                fprintf(stderr, CMD ": --max-attempts must be 1 to 100, not '%s'\n", optarg);
                return CF_EXIT_USAGE;
            }
            break;
        case 'n':
            o.dry_run = 1;
            break;
        case 't':
            trace_path = optarg;
            break;
        case OPT_SIM_LATENCY:
            o.sim_latency = optarg;
            break;
        case OPT_SIM_KEEP:
            o.sim_keep = optarg;
            break;
        case OPT_PROFILE:
            o.profile = optarg;
            break;
        case OPT_WAIT:
            o.wait_readers = 1;
            break;
        case OPT_DB:
            o.order_db = optarg;
            break;
        case OPT_ORDER:
            o.order_name = optarg;
            break;
        case OPT_STATION:
            o.station = optarg;
            break;
        case OPT_LEASE:
            if (parse_attempts(optarg, &o.order_lease_s) != 0 || o.order_lease_s < 2) {
                fprintf(stderr, CMD ": --order-lease must be 2 to 100 seconds, not '%s'\n",
                        optarg);
                return CF_EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return CF_EXIT_OK;
        default:
            usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || o.batch == NULL || o.journal == NULL) {
        if (optind == argc - 1)
            fprintf(stderr, CMD ": %s is required\n", o.batch == NULL ? "--batch" : "--journal");
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    o.description = argv[optind];
    if ((o.order_db != NULL) != (o.order_name != NULL) || (o.station && !o.order_name)) {
        fprintf(stderr, CMD ": --db and --order go together (and --station with them)\n");
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    char host[65] = "";
    if (o.order_name != NULL && o.station == NULL) {
        if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
            fprintf(stderr, CMD ": no host name to name this station: give --station NAME\n");
            return CF_EXIT_USAGE;
        }
        o.station = host;
    }

    struct ui u;
    memset(&u, 0, sizeof(u));
    pthread_mutex_init(&u.mu, NULL);
    pthread_cond_init(&u.cv, NULL);
    u.tty = isatty(STDOUT_FILENO);
    u.dry = o.dry_run;
    o.on_card = on_card;
    o.on_log = on_log;
    o.user = &u;

    /* Signals first, before any file is opened: reading a huge batch or
     * opening a trace FIFO nobody reads must not leave SIGINT pending. Only
     * the signals handled here are blocked (every thread inherits the mask,
     * only the signal thread takes them); SIGHUP (the terminal or the ssh
     * session closed) is a stop like SIGTERM, not a death in the middle of a
     * card. */
    struct sigctx sc;
    memset(&sc, 0, sizeof(sc));
    pthread_mutex_init(&sc.mu, NULL);
    sc.u = &u;
    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGINT);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
    /* No meaning here: a stray SIGUSR1/2 (a log rotator's, a mistaken kill)
     * must not end a run in the middle of a card. */
    sigaction(SIGUSR1, &ign, NULL);
    sigaction(SIGUSR2, &ign, NULL);
    pthread_t sig_tid;
    int sig_ok = pthread_create(&sig_tid, NULL, signal_thread, &sc) == 0;
    o.cancel = &sc.cancel;

    int rc = CF_EXIT_FAIL;
    cf_runner_t *r = NULL;
    cf_diag_list_t *diags = NULL;
    FILE *trace = NULL;
    int trace_created = 0;
    if (trace_path != NULL) {
        /* 0600 like the journal; a file this run creates is removed again
         * when the run is refused before its first card. */
        int fd = open(trace_path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            trace_created = 1;
        else if (errno == EEXIST)
            fd = open(trace_path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0 && (trace = fdopen(fd, "a")) == NULL)
            close(fd);
        if (trace == NULL) {
            fprintf(stderr, CMD ": %s: %s\n", trace_path, strerror(errno));
            rc = CF_EXIT_USAGE;
            goto out;
        }
    }
    o.trace = trace;

    diags = cf_diag_list_new();
    if (diags == NULL) {
        fprintf(stderr, CMD ": out of memory\n");
        goto out;
    }
    cf_err_t e = cf_runner_new(&o, &r, diags);
    cf_diag_sort(diags);
    cf_diag_print(diags, stderr);
    pthread_mutex_lock(&sc.mu);
    if (e == CF_OK && __atomic_load_n(&sc.cancel, __ATOMIC_ACQUIRE))
        e = CF_ERR_INTERRUPTED; /* a signal after the last check: still nothing done */
    sc.r = e == CF_OK ? r : NULL;
    pthread_mutex_unlock(&sc.mu);
    if (e != CF_OK) {
        switch (e) {
        case CF_ERR_ARG:
        case CF_ERR_IO:
        case CF_ERR_NOT_FOUND:
        case CF_ERR_PERMISSION:
            rc = CF_EXIT_USAGE;
            break;
        default:
            rc = CF_EXIT_FAIL;
        }
        if (cf_diag_count(diags) > 0)
            fprintf(stderr, CMD ": nothing was done (the problems are listed above)\n");
        else
            fprintf(stderr, CMD ": nothing was done (%s)\n", cf_strerror(e));
        if (trace_created && trace != NULL) {
            fclose(trace);
            trace = NULL;
            unlink(trace_path);
        }
        goto out;
    }
    u.r = r;
    pthread_t prog_tid;
    int prog_ok = pthread_create(&prog_tid, NULL, progress_thread, &u) == 0;
    if (o.dry_run)
        say(&u, "dry run: cards are identified and checked, nothing is changed, the journal "
                "is not written");

    e = cf_runner_run(r);

    pthread_mutex_lock(&u.mu);
    u.done = 1;
    pthread_cond_broadcast(&u.cv);
    pthread_mutex_unlock(&u.mu);
    if (prog_ok)
        pthread_join(prog_tid, NULL);
    print_summary(r, o.journal, e, o.dry_run);
    cf_runner_progress_t p;
    cf_runner_snapshot(r, &p, NULL, 0);
    if (o.dry_run)
        rc = (e == CF_OK && p.personalized > 0 && p.rejected + p.failed == 0) ? CF_EXIT_OK
                                                                              : CF_EXIT_FAIL;
    else
        rc = (e == CF_OK && (p.order ? p.complete && p.given_up == 0 : p.done == p.records))
                 ? CF_EXIT_OK
                 : CF_EXIT_FAIL;
out:
    if (sig_ok) {
        pthread_mutex_lock(&sc.mu);
        sc.over = 1;
        sc.r = NULL;
        pthread_mutex_unlock(&sc.mu);
        pthread_kill(sig_tid, SIGTERM); /* to that thread alone: it sees `over` */
        pthread_join(sig_tid, NULL);
    }
    cf_runner_free(r);
    cf_diag_list_free(diags);
    if (trace != NULL)
        fclose(trace);
    /* The mask stays: a late signal must not kill the process on its way
     * out with a status that hides the run's. */
    pthread_mutex_destroy(&sc.mu);
    pthread_mutex_destroy(&u.mu);
    pthread_cond_destroy(&u.cv);
    return rc;
}
