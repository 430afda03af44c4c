/*
 * cf_bench.c - batch runner figures: prints tables, asserts nothing.
 *
 *   cf_bench sim     [--readers LIST] [--cards K] [--latency P]
 *        cards/min on N simulated readers in this process (up to 256), and
 *        the engine's overhead: card time in the reader over the cards' own
 *        service time (the latency model's sum);
 *   cf_bench pcsc    --ctl FMT [--readers LIST] [--cards K] [--latency P]
 *        the same through pcscd + vpcd readers "CardForge E 00 0S" whose
 *        feeder cards (cardforge-vcard --feed, with --latency) are swapped
 *        through their control sockets (FMT: printf pattern, %d = reader)
 *        whenever the runner releases a card: a hopper;
 *   cf_bench fsync   [--readers N] [--cards K] [--latency P]
 *        the per-card cost of the journal's fsyncs: the same batch with and
 *        without them, and the time spent in fdatasync per card;
 *   cf_bench million [--records N]
 *        validating an N-record batch and resuming against an N-card
 *        journal: time and peak memory, each in a fresh child process, next
 *        to the same with 1,000 records.
 * Common: --desc FILE (default tests/data/run/piv-job.ini), --profiles DIR,
 * --work DIR (scratch files; default a new directory under /tmp).
 *
 * The job is the production PIV job: set the PIN with the PUK, change the
 * PUK, rotate the management key, block the PIN. bench/run.sh runs
 * everything, with the pcscd set-up, and the yubico-piv-tool comparison.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cardforge/journal.h>
#include <cardforge/plan.h>
#include <cardforge/runner.h>

#include "journal/journal_int.h"

#ifndef CF_SOURCE_DIR
#define CF_SOURCE_DIR "."
#endif

struct opts {
    const char *desc;
    const char *profiles;
    char work[512];
    const char *readers;
    unsigned cards;
    const char *latency;
    const char *ctl;
    unsigned long records;
    int keep; /* keep the generated files */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A small deterministic generator for test data (not secrets). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int write_batch(const char *path, unsigned long n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    fprintf(f, "ID,NAME,PIN,NEW_PUK,NEW_KEY\n");
    for (unsigned long i = 1; i <= n; i++)
        fprintf(f, "%lu,Cardholder %lu,%06u,%08u,%016" PRIX64 "%016" PRIX64 "%016" PRIX64 "\n",
                100000 + i, i, (unsigned)(rnd() % 1000000), (unsigned)(rnd() % 100000000), rnd(),
                rnd(), rnd());
    return fclose(f);
}

/* ---- one runner run ---------------------------------------------------------- */

struct hopper {
    const char *ctl_fmt; /* NULL: no hopper (simulated readers) */
    uint64_t cards, apdus;
    double busy_ms;
    pthread_mutex_t mu;
};

static int ctl_send(const char *path, const char *cmds)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        close(fd);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    size_t want_lines = 0;
    for (const char *p = cmds; *p; p++)
        want_lines += *p == '\n';
    if (write(fd, cmds, strlen(cmds)) < 0) {
        close(fd);
        return -1;
    }
    char buf[256];
    size_t lines = 0;
    while (lines < want_lines) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    }
    close(fd);
    return lines == want_lines ? 0 : -1;
}

static void on_card(void *user, const cf_journal_card_t *c)
{
    struct hopper *h = user;
    pthread_mutex_lock(&h->mu);
    h->cards++;
    h->apdus += c->apdus;
    if (c->end > c->start)
        h->busy_ms += (double)(c->end - c->start);
    pthread_mutex_unlock(&h->mu);
    if (h->ctl_fmt == NULL)
        return;
    /* "CardForge E 00 0S" is reader 2E+S. */
    unsigned e, s;
    if (sscanf(c->reader, "CardForge %u 00 %u", &e, &s) != 2)
        return;
    char path[512];
    const char *at = strstr(h->ctl_fmt, "%d");
    if (at == NULL)
        return;
    snprintf(path, sizeof(path), "%.*s%u%s", (int)(at - h->ctl_fmt), h->ctl_fmt, 2 * e + s, at + 2);
    ctl_send(path, "remove\ninsert\n");
}

static void on_log(void *user, const char *line)
{
    (void)user;
    if (strstr(line, "set aside") != NULL || strstr(line, "PC/SC") != NULL)
        fprintf(stderr, "  runner: %s\n", line);
}

struct result {
    double wall_s;
    uint64_t personalized, failed, cards, apdus;
    double busy_ms, service_ms;
    uint64_t syncs;
    double sync_ms;
};

static int run_once(const struct opts *o, const char *readers, unsigned long records,
                    const char *latency, unsigned journal_flags, const char *ctl_fmt,
                    struct result *res)
{
    char batch[600], journal[600];
    snprintf(batch, sizeof(batch), "%s/batch-%lu.csv", o->work, records);
    snprintf(journal, sizeof(journal), "%s/journal.jsonl", o->work);
    unlink(journal);
    if (write_batch(batch, records) != 0) {
        fprintf(stderr, "cf_bench: cannot write %s\n", batch);
        return -1;
    }
    struct hopper h = {ctl_fmt, 0, 0, 0.0, PTHREAD_MUTEX_INITIALIZER};
    cf_runner_opts_t ro;
    memset(&ro, 0, sizeof(ro));
    ro.description = o->desc;
    ro.batch = batch;
    ro.journal = journal;
    ro.readers = readers;
    ro.profiles_dir = o->profiles;
    ro.sim_latency = latency;
    ro.journal_flags = journal_flags;
    ro.on_card = on_card;
    ro.on_log = on_log;
    ro.user = &h;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_runner_t *r = NULL;
    cf_err_t e = cf_runner_new(&ro, &r, d);
    if (e != CF_OK) {
        cf_diag_print(d, stderr);
        cf_diag_list_free(d);
        return -1;
    }
    double t0 = now_s();
    e = cf_runner_run(r);
    double t1 = now_s();
    cf_runner_progress_t p;
    size_t n = 1024;
    cf_runner_reader_t *rows = calloc(n, sizeof(*rows));
    cf_runner_snapshot(r, &p, rows, n);
    memset(res, 0, sizeof(*res));
    res->wall_s = t1 - t0;
    res->personalized = p.personalized;
    res->failed = p.failed;
    res->cards = h.cards;
    res->apdus = h.apdus;
    res->busy_ms = h.busy_ms;
    for (size_t i = 0; i < p.n_readers && i < n; i++)
        res->service_ms += rows[i].service_ms;
    cf_runner_sync_stats(r, &res->syncs, &res->sync_ms);
    free(rows);
    cf_runner_free(r);
    cf_diag_list_free(d);
    unlink(journal);
    if (e != CF_OK && e != CF_ERR_INTERRUPTED) {
        fprintf(stderr, "cf_bench: run ended with %s\n", cf_strerror(e));
        return -1;
    }
    return 0;
}

/* ---- modes ----------------------------------------------------------------------- */

static unsigned next_count(const char **p)
{
    char *end;
    unsigned long v = strtoul(*p, &end, 10);
    *p = (*end == ',') ? end + 1 : end;
    return (unsigned)v;
}

static int mode_sim(const struct opts *o)
{
    const char *list = o->readers ? o->readers : "1,2,4,8,16,32,64,128,256";
    printf("### Simulated readers in process (latency model '%s', %u cards per reader)\n\n",
           o->latency, o->cards);
    printf("| readers | cards | wall s | cards/min | per reader | vs N x 1 reader | card time / "
           "service time | wall / service per reader | APDUs/card |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    double single = 0;
    for (const char *p = list; *p;) {
        unsigned n = next_count(&p);
        if (n == 0)
            break;
        char spec[32];
        snprintf(spec, sizeof(spec), "sim:%u:yubikey", n);
        struct result r;
        if (run_once(o, spec, (unsigned long)n * o->cards, o->latency, 0, NULL, &r) != 0)
            return 1;
        double cpm = (double)r.personalized * 60.0 / r.wall_s;
        if (n == 1)
            single = cpm;
        char scale[32] = "-";
        if (single > 0 && n > 1)
            snprintf(scale, sizeof(scale), "%.2f", cpm / (single * n));
        double service_per_reader_s = r.service_ms / 1000.0 / n;
        printf("| %u | %" PRIu64 " | %.2f | %.0f | %.1f | %s | %.3f | %.3f | %.1f |\n", n,
               r.personalized, r.wall_s, cpm, cpm / n, scale,
               r.service_ms > 0 ? r.busy_ms / r.service_ms : 0,
               service_per_reader_s > 0 ? r.wall_s / service_per_reader_s : 0,
               r.cards ? (double)r.apdus / (double)r.cards : 0);
        fflush(stdout);
    }
    printf("\n");
    return 0;
}

static int mode_pcsc(const struct opts *o)
{
    if (o->ctl == NULL) {
        fprintf(stderr, "cf_bench pcsc: --ctl FMT is required\n");
        return 2;
    }
    const char *list = o->readers ? o->readers : "1,2,4,8,16";
    /* The cards' own service time per card: the same job on a simulated
     * card with the same latency model (one card, the model's sum). */
    struct result s;
    if (run_once(o, "sim:1:yubikey", 5, o->latency, 0, NULL, &s) != 0)
        return 1;
    double service_card_ms = s.service_ms / (double)s.personalized;
    printf("### pcscd + vpcd readers, feeder cards with --latency (%s), hopper swaps\n\n",
           o->latency);
    printf("service time per card (latency model): %.1f ms\n\n", service_card_ms);
    printf("| readers | cards | wall s | cards/min | per reader | vs N x 1 reader | card time / "
           "service time | APDUs/card |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    double single = 0;
    for (const char *p = list; *p;) {
        unsigned n = next_count(&p);
        if (n == 0 || n > 16)
            break;
        char spec[1024] = "";
        for (unsigned i = 0; i < n; i++) {
            char name[40];
            snprintf(name, sizeof(name), "%sCardForge %u 00 %02u", i ? "," : "", i / 2, i % 2);
            strncat(spec, name, sizeof(spec) - strlen(spec) - 1);
        }
        struct result r;
        if (run_once(o, spec, (unsigned long)n * o->cards, NULL, 0, o->ctl, &r) != 0)
            return 1;
        double cpm = (double)r.personalized * 60.0 / r.wall_s;
        if (n == 1)
            single = cpm;
        char scale[32] = "-";
        if (single > 0 && n > 1)
            snprintf(scale, sizeof(scale), "%.2f", cpm / (single * n));
        printf("| %u | %" PRIu64 " | %.2f | %.0f | %.1f | %s | %.3f | %.1f |\n", n, r.personalized,
               r.wall_s, cpm, cpm / n, scale, r.busy_ms / (service_card_ms * (double)r.cards),
               r.cards ? (double)r.apdus / (double)r.cards : 0);
        fflush(stdout);
    }
    printf("\n");
    return 0;
}

static int mode_fsync(const struct opts *o)
{
    unsigned n = o->readers ? (unsigned)atoi(o->readers) : 16;
    char spec[32];
    snprintf(spec, sizeof(spec), "sim:%u:yubikey", n);
    struct result with, without;
    if (run_once(o, spec, (unsigned long)n * o->cards, o->latency, 0, NULL, &with) != 0 ||
        run_once(o, spec, (unsigned long)n * o->cards, o->latency, CF_JOURNAL_NO_SYNC, NULL,
                 &without) != 0)
        return 1;
    double per_card_with = with.busy_ms / (double)with.cards;
    double per_card_without = without.busy_ms / (double)without.cards;
    printf("### Journal fsync cost, %u simulated readers (latency '%s'), journal in %s\n\n", n,
           o->latency, o->work);
    printf(
        "| journal | cards | wall s | card time ms | fdatasync calls | fdatasync ms per card |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    printf("| synced (normal) | %" PRIu64 " | %.2f | %.1f | %" PRIu64 " | %.2f |\n", with.cards,
           with.wall_s, per_card_with, with.syncs, with.sync_ms / (double)with.cards);
    printf("| not synced | %" PRIu64 " | %.2f | %.1f | 0 | 0 |\n\n", without.cards, without.wall_s,
           per_card_without);
    printf(
        "per-card cost of the fsyncs: %.2f ms of %.1f ms = %.1f %% (card time), wall %+.1f %%\n\n",
        per_card_with - per_card_without, per_card_with,
        100.0 * (per_card_with - per_card_without) / per_card_with,
        100.0 * (with.wall_s - without.wall_s) / without.wall_s);
    return 0;
}

/* ---- a million records ------------------------------------------------------------ */

static int write_journal(const char *path, unsigned long n, const char *batch_sha,
                         const char *desc_sha)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    cf_journal_run_t run = {
        1700000000000, "piv-job.ini", desc_sha, "batch.csv", batch_sha, n, "sim:16", 3, "bench", 1,
        NULL,          NULL,          0};
    char *buf = malloc(CF_JOURNAL_MAX_LINE);
    cf_jbuf b;
    cf_jbuf_init(&b, buf, CF_JOURNAL_MAX_LINE);
    cf_journal_fmt_run(&b, &run);
    fwrite(buf, 1, b.len, f);
    static const char *names[5] = {"auth-admin", "set-pin-by-puk", "change-puk", "rotate-admin-key",
                                   "block-pin"};
    for (unsigned long i = 1; i <= n; i++) {
        char serial[16], id[16];
        snprintf(serial, sizeof(serial), "%lu", 10000000 + i);
        snprintf(id, sizeof(id), "%lu", 100000 + i);
        cf_journal_step_t steps[5];
        for (int k = 0; k < 5; k++)
            steps[k] = (cf_journal_step_t){names[k],
                                           "done",
                                           k ? "yes" : "no",
                                           CF_OK,
                                           0x9000,
                                           12.5,
                                           6,
                                           k == 3 ? "A1B2C3" : "",
                                           "",
                                           k == 0 || k == 4 ? "" : "field",
                                           "",
                                           0,
                                           NULL};
        cf_journal_card_t c;
        memset(&c, 0, sizeof(c));
        c.attempt = i;
        c.record = i;
        c.line = i + 1;
        c.id = id;
        c.reader = "sim 7";
        c.serial = serial;
        c.atr = "3BFD1300008131FE158073C021C057597562694B657940";
        c.profile = "piv-yubikey";
        c.version = "5.4.3";
        c.status = CF_STATUS_PERSONALIZED;
        c.start = 1700000000000 + (int64_t)i * 10;
        c.end = c.start + 212;
        c.apdus = 38;
        c.steps = steps;
        c.n_steps = 5;
        c.tries[0] = 0;
        c.tries[1] = 3;
        c.tries[2] = 3;
        /* The job's four intents, then the card record, as a run writes them. */
        for (int k = 1; k < 5; k++) {
            cf_journal_intent_t in = {c.start + k, i,         i,        c.line,         c.reader,
                                      serial,      c.profile, names[k], (unsigned)k + 1};
            cf_jbuf_init(&b, buf, CF_JOURNAL_MAX_LINE);
            cf_journal_fmt_intent(&b, &in);
            fwrite(buf, 1, b.len, f);
        }
        size_t len;
        if (cf_journal_format_card(&c, buf, CF_JOURNAL_MAX_LINE, &len) != CF_OK)
            return -1;
        fwrite(buf, 1, len, f);
    }
    free(buf);
    return fclose(f);
}

struct child_figure {
    double seconds;
    long maxrss_kb;
    int ok;
};

/* Run what in a fresh child: its wall time and peak resident memory. */
static struct child_figure in_child(int (*what)(void *), void *arg)
{
    struct child_figure fig = {0, 0, 0};
    int pfd[2];
    if (pipe(pfd) != 0)
        return fig;
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        double t0 = now_s();
        int rc = what(arg);
        struct child_figure c = {now_s() - t0, 0, rc == 0};
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        c.maxrss_kb = ru.ru_maxrss;
        if (write(pfd[1], &c, sizeof(c)) != (ssize_t)sizeof(c))
            _exit(1);
        _exit(0);
    }
    close(pfd[1]);
    if (read(pfd[0], &fig, sizeof(fig)) != (ssize_t)sizeof(fig))
        fig.ok = 0;
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    return fig;
}

struct million_arg {
    const struct opts *o;
    char batch[600], journal[600];
};

static int do_nothing(void *arg)
{
    (void)arg;
    return 0;
}

static int do_validate(void *arg)
{
    struct million_arg *m = arg;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_plan_t *plan = NULL;
    size_t records = 0;
    int rc = cf_plan_compile(m->o->desc, d, &plan) == CF_OK &&
                     cf_plan_check_batch(plan, m->batch, d, &records) == CF_OK
                 ? 0
                 : 1;
    cf_plan_free(plan);
    cf_diag_list_free(d);
    return rc;
}

/* The whole start of a resumed run: validation of the batch, fingerprints,
 * the journal read into the resume state, the scheduler positioned. */
static int do_resume(void *arg)
{
    struct million_arg *m = arg;
    cf_runner_opts_t ro;
    memset(&ro, 0, sizeof(ro));
    ro.description = m->o->desc;
    ro.batch = m->batch;
    ro.journal = m->journal;
    ro.readers = "sim:1:yubikey";
    ro.profiles_dir = m->o->profiles;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_runner_t *r = NULL;
    cf_err_t e = cf_runner_new(&ro, &r, d);
    if (e != CF_OK)
        cf_diag_print(d, stderr);
    cf_runner_free(r);
    cf_diag_list_free(d);
    return e == CF_OK ? 0 : 1;
}

/* Only the journal: read and the resume state built. */
static int do_journal(void *arg)
{
    struct million_arg *m = arg;
    cf_journal_state_t *st = cf_journal_state_new();
    cf_err_t e = cf_journal_scan(m->journal, NULL, NULL, st, NULL, NULL);
    cf_journal_state_free(st);
    return e == CF_OK ? 0 : 1;
}

static int sha_of(const char *path, char out[72])
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    int ok = fscanf(p, "%64s", out) == 1;
    pclose(p);
    return ok ? 0 : -1;
}

static int million_case(const struct opts *o, unsigned long n)
{
    struct million_arg m;
    m.o = o;
    snprintf(m.batch, sizeof(m.batch), "%s/m-%lu.csv", o->work, n);
    snprintf(m.journal, sizeof(m.journal), "%s/m-%lu.jsonl", o->work, n);
    char bsha[72], dsha[72];
    if (write_batch(m.batch, n) != 0 || sha_of(m.batch, bsha) != 0 || sha_of(o->desc, dsha) != 0 ||
        write_journal(m.journal, n, bsha, dsha) != 0) {
        fprintf(stderr, "cf_bench: cannot write the %lu-record files\n", n);
        return 1;
    }
    struct stat sb, sj;
    stat(m.batch, &sb);
    stat(m.journal, &sj);
    struct child_figure base = in_child(do_nothing, &m);
    struct child_figure v = in_child(do_validate, &m);
    struct child_figure jr = in_child(do_journal, &m);
    struct child_figure rs = in_child(do_resume, &m);
    printf(
        "| %lu | %.0f MB / %.0f MB | %.2f s, %ld KB | %.2f s, %ld KB | %.2f s, %ld KB | %ld KB |\n",
        n, (double)sb.st_size / 1e6, (double)sj.st_size / 1e6, v.seconds, v.maxrss_kb, jr.seconds,
        jr.maxrss_kb, rs.seconds, rs.maxrss_kb, base.maxrss_kb);
    if (!v.ok || !jr.ok || !rs.ok)
        printf("(a step FAILED: validate %d, journal %d, resume %d)\n", v.ok, jr.ok, rs.ok);
    fflush(stdout);
    if (!o->keep) {
        unlink(m.batch);
        unlink(m.journal);
    }
    return 0;
}

static int mode_million(const struct opts *o)
{
    printf("### Validating a batch and resuming against a journal of every record done\n\n");
    printf("(the journal holds, per record, the job's 4 intents and its card record: 5 lines)\n\n");
    printf("| records | batch / journal | validate batch | read journal | resume (validate + "
           "fingerprints + journal + scheduler) | empty process |\n");
    printf("|---:|---|---:|---:|---:|---:|\n");
    if (million_case(o, 1000) != 0 || million_case(o, o->records / 10) != 0 ||
        million_case(o, o->records) != 0)
        return 1;
    printf("\n(peak resident memory of a fresh child process for each step)\n\n");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"desc", required_argument, NULL, 'd'},
        {"profiles", required_argument, NULL, 'p'},
        {"work", required_argument, NULL, 'w'},
        {"readers", required_argument, NULL, 'r'},
        {"cards", required_argument, NULL, 'c'},
        {"latency", required_argument, NULL, 'l'},
        {"ctl", required_argument, NULL, 't'},
        {"records", required_argument, NULL, 'n'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct opts o;
    memset(&o, 0, sizeof(o));
    o.desc = CF_SOURCE_DIR "/tests/data/run/piv-job.ini";
    o.cards = 10;
    o.latency = "contact";
    o.records = 1000000;
    if (argc < 2) {
        fprintf(stderr, "usage: cf_bench sim|pcsc|fsync|million [options] (see the source)\n");
        return 2;
    }
    const char *mode = argv[1];
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.desc = optarg;
            break;
        case 'p':
            o.profiles = optarg;
            break;
        case 'w':
            snprintf(o.work, sizeof(o.work), "%s", optarg);
            break;
        case 'r':
            o.readers = optarg;
            break;
        case 'c':
            o.cards = (unsigned)atoi(optarg);
            break;
        case 'l':
            o.latency = strcmp(optarg, "off") == 0 ? NULL : optarg;
            break;
        case 't':
            o.ctl = optarg;
            break;
        case 'n':
            o.records = strtoul(optarg, NULL, 10);
            break;
        case 'k':
            o.keep = 1;
            break;
        default:
            fprintf(stderr, "usage: cf_bench sim|pcsc|fsync|million [options]\n");
            return 2;
        }
    }
    if (o.work[0] == '\0') {
        snprintf(o.work, sizeof(o.work), "/tmp/cf-bench.XXXXXX");
        if (mkdtemp(o.work) == NULL) {
            fprintf(stderr, "cf_bench: cannot make a work directory\n");
            return 1;
        }
    } else {
        mkdir(o.work, 0700);
    }
    if (o.cards == 0)
        o.cards = 1;
    if (strcmp(mode, "sim") == 0)
        return mode_sim(&o);
    if (strcmp(mode, "pcsc") == 0)
        return mode_pcsc(&o);
    if (strcmp(mode, "fsync") == 0)
        return mode_fsync(&o);
    if (strcmp(mode, "million") == 0)
        return mode_million(&o);
    fprintf(stderr, "cf_bench: unknown mode '%s'\n", mode);
    return 2;
}
