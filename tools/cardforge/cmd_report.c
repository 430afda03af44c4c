/*
 * cmd_report.c - `cardforge report JOURNAL [--json]`: what a batch journal
 * says, for a person or a program.
 *
 * Streams the journal once (cf_journal_scan, never modifying it; a torn last
 * line is reported, not removed) and aggregates: records done and remaining,
 * card attempts by status, failures by reason (status, error, failing step),
 * per-reader counts and throughput, the open intents an operator must act
 * on, and the cards to which wrong values were presented (counts and
 * parameter names, as the card records say). Aggregates are small tables
 * keyed by reader, by reason and by serial, capped so that a hostile
 * journal cannot make them grow without bound; the per-line data is not
 * kept.
 *
 * Throughput: a reader's active time is, per run, the span from its first
 * card's start to its last card's end, summed over runs, so the pauses
 * between runs do not count.
 */
#include <getopt.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cardforge/diag.h>
#include <cardforge/journal.h>
#include <cardforge/plan.h>

#include "commands.h"
#include "report_order.h"
#include "journal/jbuf.h"
#include "journal/journal_int.h"

#define MAX_READERS 4096
#define MAX_REASONS 256
#define MAX_SPENT 1024
#define NAME_MAX_LEN 128

struct reader_row {
    char name[NAME_MAX_LEN];
    uint64_t cards, personalized, failed, rejected, apdus;
    double busy_ms;
    uint64_t run; /* run of the current span */
    int64_t span_start, span_end;
    double active_ms; /* closed spans */
};

struct reason_row {
    cf_card_status_t status;
    char error[48];
    char step[32];
    uint64_t count;
};

/* A card to which wrong values were presented, over all its attempts. */
struct spent_row {
    char serial[CF_JOURNAL_SERIAL_MAX + 1];
    uint64_t puk, admin;
    unsigned refused; /* bit (1u << cf_param_t) */
};

struct report {
    struct reader_row *readers;
    size_t n_readers;
    int readers_capped;
    struct reason_row reasons[MAX_REASONS];
    size_t n_reasons;
    int reasons_capped;
    uint64_t run; /* runs seen */
    uint64_t recovered;
    int64_t first_time, last_time;
    char batch[256];
    char batch_sha[72];
    /* The order and station of the latest run that was a station's
     * (run --order); order[0] == 0: no run was. */
    char order[256], station[72];
    unsigned station_number;
    double apdus_personalized;
    struct spent_row spent[MAX_SPENT];
    size_t n_spent;
    uint64_t spent_unlisted; /* cards past MAX_SPENT */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge report JOURNAL [--json]\n"
                 "       cardforge report --db CONNINFO --order ORDER [--json]\n\n"
                 "Summarise a batch journal: records done and remaining, card attempts by\n"
                 "status, failures by reason, per-reader throughput, the cards left with an\n"
                 "open intent, and the cards that refused wrong values (counts and parameter\n"
                 "names, never values). The journal is only read (a torn last line is\n"
                 "reported, not removed).\n\n"
                 "With --db and --order: the whole order across its stations, from the order\n"
                 "database (docs/stations.md): records done, claimed, pending and failed, each\n"
                 "station and reader with its throughput, and the open intents (cards that may\n"
                 "be changed), those of stations not running marked IN DOUBT.\n\n"
                 "  --json           the same as one JSON object\n"
                 "  --db CONNINFO    the order database (libpq; no password: ~/.pgpass)\n"
                 "  --order ORDER    the order to report\n"
                 "  -h, --help       this help\n\n"
                 "Exit status: 0 read, 1 the journal is damaged, 2 usage error or unreadable "
                 "file.\n");
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static struct reader_row *reader_for(struct report *r, const char *name)
{
    for (size_t i = 0; i < r->n_readers; i++)
        if (strncmp(r->readers[i].name, name, NAME_MAX_LEN - 1) == 0)
            return &r->readers[i];
    if (r->n_readers == MAX_READERS) {
        r->readers_capped = 1;
        return &r->readers[MAX_READERS - 1]; /* counted with the last one */
    }
    struct reader_row *row = &r->readers[r->n_readers++];
    memset(row, 0, sizeof(*row));
    copy_name(row->name, sizeof(row->name), name);
    return row;
}

static void close_span(struct reader_row *row)
{
    if (row->span_end > row->span_start)
        row->active_ms += (double)(row->span_end - row->span_start);
    row->span_start = row->span_end = 0;
}

static void count_reason(struct report *r, const cf_journal_card_t *c)
{
    const char *step = "";
    for (size_t i = 0; i < c->n_steps; i++) {
        if (strcmp(c->steps[i].outcome, "failed") == 0 ||
            strcmp(c->steps[i].outcome, "refused") == 0) {
            step = c->steps[i].step;
            break;
        }
    }
    const char *err = cf_errname(c->err);
    for (size_t i = 0; i < r->n_reasons; i++) {
        struct reason_row *x = &r->reasons[i];
        if (x->status == c->status && strcmp(x->error, err) == 0 && strcmp(x->step, step) == 0) {
            x->count++;
            return;
        }
    }
    if (r->n_reasons == MAX_REASONS) {
        r->reasons_capped = 1;
        r->reasons[MAX_REASONS - 1].count++;
        return;
    }
    struct reason_row *x = &r->reasons[r->n_reasons++];
    x->status = c->status;
    copy_name(x->error, sizeof(x->error), err);
    copy_name(x->step, sizeof(x->step), step);
    x->count = 1;
}

/* Sum what card record c says was refused as wrong into its serial's row. */
static void count_spent(struct report *r, const cf_journal_card_t *c)
{
    if (c->spent_puk == 0 && c->spent_admin == 0 && c->refused == 0)
        return;
    struct spent_row *x = NULL;
    for (size_t i = 0; i < r->n_spent && x == NULL; i++)
        if (strcmp(r->spent[i].serial, c->serial) == 0)
            x = &r->spent[i];
    if (x == NULL) {
        if (r->n_spent == MAX_SPENT) {
            r->spent_unlisted++; /* a card seen twice here counts twice */
            return;
        }
        x = &r->spent[r->n_spent++];
        memset(x, 0, sizeof(*x));
        copy_name(x->serial, sizeof(x->serial), c->serial);
    }
    x->puk += c->spent_puk;
    x->admin += c->spent_admin;
    x->refused |= c->refused;
}

static void saw_time(struct report *r, int64_t t)
{
    if (t <= 0)
        return;
    if (r->first_time == 0 || t < r->first_time)
        r->first_time = t;
    if (t > r->last_time)
        r->last_time = t;
}

static cf_err_t visit(void *user, const cf_journal_entry_t *e)
{
    struct report *r = user;
    switch (e->kind) {
    case CF_JOURNAL_RUN:
        if (r->run == 0) {
            copy_name(r->batch, sizeof(r->batch), e->run.batch);
            copy_name(r->batch_sha, sizeof(r->batch_sha), e->run.batch_sha256);
        }
        if (e->run.order != NULL) {
            copy_name(r->order, sizeof(r->order), e->run.order);
            copy_name(r->station, sizeof(r->station), e->run.station);
            r->station_number = e->run.station_number;
        }
        r->run++;
        saw_time(r, e->run.time);
        break;
    case CF_JOURNAL_INTENT:
        saw_time(r, e->intent.time);
        break;
    case CF_JOURNAL_END:
        saw_time(r, e->end.time);
        break;
    case CF_JOURNAL_CARD: {
        const cf_journal_card_t *c = &e->card;
        struct reader_row *row = reader_for(r, c->reader);
        saw_time(r, c->start);
        saw_time(r, c->end);
        row->cards++;
        row->apdus += c->apdus;
        if (c->end > c->start)
            row->busy_ms += (double)(c->end - c->start);
        if (row->run != r->run)
            close_span(row);
        row->run = r->run;
        if (row->span_start == 0 || (c->start > 0 && c->start < row->span_start))
            row->span_start = c->start;
        if (c->end > row->span_end)
            row->span_end = c->end;
        if (c->recovers != 0)
            r->recovered++;
        count_spent(r, c);
        if (c->status == CF_STATUS_PERSONALIZED) {
            row->personalized++;
            r->apdus_personalized += (double)c->apdus;
        } else {
            if (c->status == CF_STATUS_FAILED)
                row->failed++;
            else
                row->rejected++;
            count_reason(r, c);
        }
        break;
    }
    }
    return CF_OK;
}

static int cmp_reason(const void *a, const void *b)
{
    const struct reason_row *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->error, y->error);
}

static double per_min(uint64_t n, double ms)
{
    return ms > 0 ? (double)n * 60000.0 / ms : 0.0;
}

/* Up to 4 times the longest field a journal line holds, escaped. */
#define SHOWN_MAX 512

/* src with its control characters (a hand-edited journal may hold escape
 * sequences for the terminal) written as \xHH, in buf. */
static const char *shown(char buf[SHOWN_MAX], const char *src)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && o + 5 < SHOWN_MAX; p++) {
        if (*p < 0x20 || *p == 0x7f)
            o += (size_t)snprintf(buf + o, SHOWN_MAX - o, "\\x%02X", *p);
        else
            buf[o++] = (char)*p;
    }
    buf[o] = '\0';
    return buf;
}

static void print_text(const struct report *r, const char *path, const cf_journal_info_t *info,
                       const cf_journal_state_t *st)
{
    cf_journal_totals_t t;
    cf_journal_state_totals(st, &t);
    char t0[32], t1[32], e1[SHOWN_MAX], e2[SHOWN_MAX];
    cf_journal_format_time(r->first_time, t0);
    cf_journal_format_time(r->last_time, t1);
    printf("journal   %s: %lu lines, %" PRIu64 " run%s, %s .. %s\n", path, info->lines, t.runs,
           t.runs == 1 ? "" : "s", t0, t1);
    if (t.runs > 0)
        printf("batch     %s: %" PRIu64 " records (sha256 %.16s...)\n", shown(e1, r->batch),
               t.batch_records, shown(e2, r->batch_sha));
    if (r->order[0])
        printf("order     %s, as station %s (number %u)\n", shown(e1, r->order),
               shown(e2, r->station), r->station_number);
    uint64_t remaining = t.batch_records > t.records_done ? t.batch_records - t.records_done : 0;
    printf("records   %" PRIu64 " personalized, %" PRIu64 " remaining\n", t.records_done,
           remaining);
    printf("cards     %" PRIu64 " attempts: %" PRIu64 " personalized, %" PRIu64 " failed, %" PRIu64
           " rejected; %" PRIu64 " recovered an open intent\n",
           t.cards, t.personalized, t.failed, t.rejected, r->recovered);
    if (t.personalized > 0)
        printf("          %.1f APDUs per personalized card\n",
               r->apdus_personalized / (double)t.personalized);
    if (r->n_reasons > 0) {
        printf("\nfailures by reason\n");
        printf("  %7s  %-9s  %-24s  %s\n", "cards", "status", "error", "step");
        for (size_t i = 0; i < r->n_reasons; i++) {
            const struct reason_row *x = &r->reasons[i];
            printf("  %7" PRIu64 "  %-9s  %-24s  %s\n", x->count, cf_card_status_name(x->status),
                   shown(e1, x->error), x->step[0] ? shown(e2, x->step) : "-");
        }
        if (r->reasons_capped)
            printf("  (more reasons than %d: the last row counts the rest)\n", MAX_REASONS);
    }
    if (r->n_readers > 0) {
        printf("\nper reader\n");
        printf("  %-28s %6s %6s %6s %6s %9s %10s\n", "reader", "cards", "done", "failed", "rej.",
               "active s", "cards/min");
        for (size_t i = 0; i < r->n_readers; i++) {
            const struct reader_row *x = &r->readers[i];
            printf("  %-28.28s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %9.1f %10.1f\n",
                   shown(e1, x->name), x->cards, x->personalized, x->failed, x->rejected,
                   x->active_ms / 1000.0, per_min(x->personalized, x->active_ms));
        }
        if (r->readers_capped)
            printf("  (more readers than %d: the last row counts the rest)\n", MAX_READERS);
    }
    size_t nopen = cf_journal_state_open_count(st);
    if (nopen > 0) {
        printf("\nopen intents: %zu card%s changed and not finished; put %s back in a reader "
               "and run the same command again\n",
               nopen, nopen == 1 ? "" : "s", nopen == 1 ? "it" : "them");
        for (size_t i = 0; i < nopen; i++) {
            const cf_journal_open_t *o = cf_journal_state_open_at(st, i);
            printf("  serial %-20s record %-6" PRIu64 " (line %lu) %s at %s\n",
                   shown(e1, o->serial), o->record, o->line,
                   o->final_written ? "failed" : "cut off", shown(e2, o->step));
        }
    }
    if (r->n_spent > 0) {
        printf("\nwrong values presented (the card refused them; counts over all attempts)\n");
        for (size_t i = 0; i < r->n_spent; i++) {
            const struct spent_row *x = &r->spent[i];
            printf("  serial %s: PUK %" PRIu64 ", admin %" PRIu64, shown(e1, x->serial), x->puk,
                   x->admin);
            for (unsigned p = 0, first = 1; p < CF_PARAM_COUNT; p++) {
                if (x->refused & (1u << p)) {
                    printf("%s%s", first ? "; refused " : ", ", cf_param_name((cf_param_t)p));
                    first = 0;
                }
            }
            printf("\n");
        }
        if (r->spent_unlisted)
            printf("  (more cards than %d: %" PRIu64 " card records not listed)\n", MAX_SPENT,
                   r->spent_unlisted);
    }
    if (t.duplicates || t.serial_repeats)
        printf("\nPROBLEM: %" PRIu64 " record%s personalized more than once, %" PRIu64
               " serial%s personalized more than once\n",
               t.duplicates, t.duplicates == 1 ? "" : "s", t.serial_repeats,
               t.serial_repeats == 1 ? "" : "s");
    if (info->torn)
        printf("\nnote: torn last line %lu (%" PRIu64 " bytes) ignored; the next run removes it\n",
               info->torn_line, info->torn_bytes);
}

static void print_json(const struct report *r, const char *path, const cf_journal_info_t *info,
                       const cf_journal_state_t *st)
{
    cf_journal_totals_t t;
    cf_journal_state_totals(st, &t);
    uint64_t remaining = t.batch_records > t.records_done ? t.batch_records - t.records_done : 0;
    size_t cap = 65536 + (r->n_readers + r->n_reasons) * 512 +
                 cf_journal_state_open_count(st) * 256 + r->n_spent * 256;
    char *buf = malloc(cap);
    if (buf == NULL) {
        fprintf(stderr, "cardforge report: out of memory\n");
        return;
    }
    cf_jbuf b;
    cf_jbuf_init(&b, buf, cap);
    cf_jbuf_open_obj(&b);
    cf_jbuf_kv_str(&b, "journal", path);
    cf_jbuf_kv_u64(&b, "lines", info->lines);
    cf_jbuf_kv_u64(&b, "runs", t.runs);
    cf_jbuf_kv_time(&b, "first", r->first_time);
    cf_jbuf_kv_time(&b, "last", r->last_time);
    cf_jbuf_key(&b, "batch");
    cf_jbuf_open_obj(&b);
    cf_jbuf_kv_str(&b, "path", r->batch);
    cf_jbuf_kv_str(&b, "sha256", r->batch_sha);
    cf_jbuf_kv_u64(&b, "records", t.batch_records);
    cf_jbuf_close_obj(&b);
    cf_jbuf_key(&b, "order");
    if (r->order[0]) {
        cf_jbuf_open_obj(&b);
        cf_jbuf_kv_str(&b, "name", r->order);
        cf_jbuf_kv_str(&b, "station", r->station);
        cf_jbuf_kv_u64(&b, "station_number", r->station_number);
        cf_jbuf_close_obj(&b);
    } else {
        cf_jbuf_raw(&b, "null", 4);
    }
    cf_jbuf_key(&b, "records");
    cf_jbuf_open_obj(&b);
    cf_jbuf_kv_u64(&b, "personalized", t.records_done);
    cf_jbuf_kv_u64(&b, "remaining", remaining);
    cf_jbuf_kv_u64(&b, "duplicates", t.duplicates);
    cf_jbuf_close_obj(&b);
    cf_jbuf_key(&b, "cards");
    cf_jbuf_open_obj(&b);
    cf_jbuf_kv_u64(&b, "attempts", t.cards);
    cf_jbuf_kv_u64(&b, "personalized", t.personalized);
    cf_jbuf_kv_u64(&b, "failed", t.failed);
    cf_jbuf_kv_u64(&b, "rejected", t.rejected);
    cf_jbuf_kv_u64(&b, "recovered", r->recovered);
    cf_jbuf_kv_u64(&b, "serial_repeats", t.serial_repeats);
    cf_jbuf_kv_ms(&b, "apdus_per_card",
                  t.personalized ? r->apdus_personalized / (double)t.personalized : 0.0);
    cf_jbuf_close_obj(&b);
    cf_jbuf_key(&b, "failures");
    cf_jbuf_open_arr(&b);
    for (size_t i = 0; i < r->n_reasons; i++) {
        const struct reason_row *x = &r->reasons[i];
        cf_jbuf_elem(&b);
        cf_jbuf_open_obj(&b);
        cf_jbuf_kv_str(&b, "status", cf_card_status_name(x->status));
        cf_jbuf_kv_str(&b, "error", x->error);
        cf_jbuf_kv_str(&b, "step", x->step);
        cf_jbuf_kv_u64(&b, "count", x->count);
        cf_jbuf_close_obj(&b);
    }
    cf_jbuf_close_arr(&b);
    cf_jbuf_key(&b, "readers");
    cf_jbuf_open_arr(&b);
    for (size_t i = 0; i < r->n_readers; i++) {
        const struct reader_row *x = &r->readers[i];
        cf_jbuf_elem(&b);
        cf_jbuf_open_obj(&b);
        cf_jbuf_kv_str(&b, "reader", x->name);
        cf_jbuf_kv_u64(&b, "cards", x->cards);
        cf_jbuf_kv_u64(&b, "personalized", x->personalized);
        cf_jbuf_kv_u64(&b, "failed", x->failed);
        cf_jbuf_kv_u64(&b, "rejected", x->rejected);
        cf_jbuf_kv_u64(&b, "apdus", x->apdus);
        cf_jbuf_kv_ms(&b, "busy_ms", x->busy_ms);
        cf_jbuf_kv_ms(&b, "active_ms", x->active_ms);
        cf_jbuf_kv_ms(&b, "cards_per_min", per_min(x->personalized, x->active_ms));
        cf_jbuf_close_obj(&b);
    }
    cf_jbuf_close_arr(&b);
    cf_jbuf_key(&b, "open_intents");
    cf_jbuf_open_arr(&b);
    for (size_t i = 0; i < cf_journal_state_open_count(st); i++) {
        const cf_journal_open_t *o = cf_journal_state_open_at(st, i);
        cf_jbuf_elem(&b);
        cf_jbuf_open_obj(&b);
        cf_jbuf_kv_str(&b, "serial", o->serial);
        cf_jbuf_kv_u64(&b, "record", o->record);
        cf_jbuf_kv_u64(&b, "line", o->line);
        cf_jbuf_kv_u64(&b, "attempt", o->attempt);
        cf_jbuf_kv_str(&b, "step", o->step);
        cf_jbuf_kv_bool(&b, "failed", o->final_written);
        cf_jbuf_close_obj(&b);
    }
    cf_jbuf_close_arr(&b);
    cf_jbuf_key(&b, "wrong_values");
    cf_jbuf_open_arr(&b);
    for (size_t i = 0; i < r->n_spent; i++) {
        const struct spent_row *x = &r->spent[i];
        cf_jbuf_elem(&b);
        cf_jbuf_open_obj(&b);
        cf_jbuf_kv_str(&b, "serial", x->serial);
        cf_journal_fmt_spent_refused(&b, x->puk, x->admin, x->refused);
        cf_jbuf_close_obj(&b);
    }
    cf_jbuf_close_arr(&b);
    cf_jbuf_kv_u64(&b, "wrong_values_unlisted", r->spent_unlisted);
    cf_jbuf_kv_bool(&b, "torn_last_line", info->torn);
    cf_jbuf_close_obj(&b);
    if (b.overflow)
        fprintf(stderr, "cardforge report: the JSON summary does not fit\n");
    else
        printf("%.*s\n", (int)b.len, buf);
    free(buf);
}

/* 1 when the file begins as journal lines do ({"type":...), so that damage
 * further in is damage, not another kind of file. */
static int starts_as_journal(const char *path)
{
    static const char head[] = "{\"type\":\"";
    char buf[sizeof(head) - 1];
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* never wait on a FIFO */
    if (fd < 0)
        return 1; /* unreadable: the scan's message says why */
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    return n == (ssize_t)sizeof(buf) && memcmp(buf, head, sizeof(buf)) == 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'd'},
        {"order", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    const char *db = NULL, *order = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'd':
            db = optarg;
            break;
        case 'o':
            order = optarg;
            break;
        case 'h':
            usage(stdout);
            return CF_EXIT_OK;
        default:
            usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if ((db != NULL) != (order != NULL)) {
        fprintf(stderr, "cardforge report: --db and --order go together\n");
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    if (db != NULL && optind == argc)
        return report_order(db, order, json);
    if (optind != argc - 1 || db != NULL) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    const char *path = argv[optind];
    struct report *r = calloc(1, sizeof(*r));
    cf_diag_list_t *diags = cf_diag_list_new();
    cf_journal_state_t *st = cf_journal_state_new();
    int rc = CF_EXIT_FAIL;
    if (r == NULL || diags == NULL || st == NULL ||
        (r->readers = calloc(MAX_READERS, sizeof(*r->readers))) == NULL) {
        fprintf(stderr, "cardforge report: out of memory\n");
        goto out;
    }
    cf_journal_info_t info;
    cf_err_t err = cf_journal_scan(path, visit, r, st, &info, diags);
    for (size_t i = 0; i < r->n_readers; i++)
        close_span(&r->readers[i]);
    qsort(r->reasons, r->n_reasons, sizeof(r->reasons[0]), cmp_reason);
    if (err == CF_ERR_NOT_FOUND || err == CF_ERR_IO) {
        cf_diag_print(diags, stderr);
        rc = CF_EXIT_USAGE;
        goto out;
    }
    if (err != CF_OK && !starts_as_journal(path)) {
        fprintf(stderr,
                "cardforge report: %s is not a cardforge journal (its lines are JSON records, "
                "{\"type\":...}); nothing reported\n",
                path);
        rc = CF_EXIT_USAGE;
        goto out;
    }
    if (err != CF_OK) {
        cf_diag_print(diags, stderr);
        fprintf(stderr, "cardforge report: %s: the journal is damaged; nothing reported\n", path);
        goto out;
    }
    if (!json)
        cf_diag_print(diags, stderr); /* the torn-line warning */
    if (json)
        print_json(r, path, &info, st);
    else
        print_text(r, path, &info, st);
    rc = CF_EXIT_OK;
out:
    if (r != NULL)
        free(r->readers);
    free(r);
    cf_journal_state_free(st);
    cf_diag_list_free(diags);
    return rc;
}
