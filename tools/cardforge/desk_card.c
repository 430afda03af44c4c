/*
 * desk_card.c - open the one card a desk command works on (desk_card.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cardforge/diag.h>

#include "commands.h"
#include "desk_card.h"
#include "out.h"

/* pcsc-lite serves at most 16 readers. */
#define CF_DESK_MAX_READERS 16

static int load_profiles(const char *cmd, const struct desk_opts *o, struct desk_card *dc)
{
    const char *dir = o->profiles_dir ? o->profiles_dir : cf_profiles_default_dir();
    cf_diag_list_t *diags = cf_diag_list_new();
    if (diags == NULL)
        return CF_EXIT_FAIL;
    cf_err_t e = cf_profiles_load(dir, diags, &dc->profiles);
    if (e != CF_OK) {
        fprintf(stderr, "%s: the card profiles in %s are not usable:\n", cmd, dir);
        cf_diag_print(diags, stderr);
    }
    cf_diag_list_free(diags);
    if (e != CF_OK)
        return o->profiles_dir ? CF_EXIT_USAGE : CF_EXIT_FAIL;
    if (o->profile != NULL && cf_profiles_find(dc->profiles, o->profile) == NULL) {
        fprintf(stderr, "%s: no card profile named '%s' in %s\n", cmd, o->profile, dir);
        return CF_EXIT_USAGE;
    }
    return CF_EXIT_OK;
}

/* Connect to reader name and identify its card; quiet (for the serial scan)
 * or with messages; WAIT_QUIET_SHARING: with messages, except for a card
 * another application holds (the caller waits for it). */
#define WAIT_QUIET_SHARING 2
static cf_err_t try_reader(const char *cmd, const struct desk_opts *o, struct desk_card *dc,
                           const char *name, int quiet)
{
    char err[256] = "";
    cf_err_t e = cf_transport_open_pcsc(name, &dc->t, err, sizeof(err));
    if (e != CF_OK) {
        if (!quiet || (quiet == WAIT_QUIET_SHARING && e != CF_ERR_SHARING))
            fprintf(stderr, "%s: %s\n", cmd, err[0] ? err : cf_strerror(e));
        return e;
    }
    if (dc->trace != NULL)
        cf_transport_set_trace(dc->t, dc->trace);
    /* cf_card_open waits out a reader still settling after an insertion. */
    e = cf_card_open(dc->t, dc->profiles, o->profile, &dc->card, err, sizeof(err));
    if (e != CF_OK) {
        if (!quiet || (quiet == WAIT_QUIET_SHARING && e != CF_ERR_SHARING))
            fprintf(stderr, "%s: reader '%s': %s\n", cmd, name, err[0] ? err : cf_strerror(e));
        cf_transport_close(dc->t, CF_DISPOSE_LEAVE);
        dc->t = NULL;
    }
    return e;
}

int desk_option(const char *cmd, int c, const char *arg, struct desk_opts *o)
{
    switch (c) {
    case 'r':
        o->reader = arg;
        return 1;
    case 'c':
        o->serial = arg;
        return 1;
    case 'p':
        o->profile = arg;
        return 1;
    case 'P':
        o->profiles_dir = arg;
        return 1;
    case 't':
        o->trace_path = arg;
        return 1;
    case 'L':
        o->allow_last_try = 1;
        return 1;
    case 'W': {
        o->wait = 1;
        o->wait_s = 0;
        if (arg == NULL)
            return 1;
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(arg, &end, 10);
        if (errno != 0 || end == arg || *end != 0 || arg[0] == '-' || v < 1 || v > 86400) {
            fprintf(stderr, "%s: --wait=SECONDS wants a whole number of seconds from 1 to 86400\n",
                    cmd);
            return -1;
        }
        o->wait_s = (unsigned)v;
        return 1;
    }
    default:
        return 0;
    }
}

/* A look at the readers that found nothing final: wait and look again. */
#define LOOK_AGAIN (-1)

/* Cards already asked for their serial while waiting: a reader's card is
 * asked once per insertion (pcsc-lite's event counter), so our own
 * connections, which change the reader's state too, do not make us ask
 * the same card again and again. */
struct looked {
    char name[256];
    unsigned events;
};

struct search {
    struct looked looked[CF_DESK_MAX_READERS];
    size_t n_looked;
    size_t cards_seen;
    /* --reader, waiting: the card is there but another application holds
     * it (a smart-card service or a tool polling the reader); looked at
     * again on the next tick rather than the next reader event, since its
     * release need not be one. */
    int busy, busy_said;
};

static int already_looked(struct search *sr, const cf_reader_info_t *ri)
{
    for (size_t i = 0; i < sr->n_looked; i++) {
        if (strcmp(sr->looked[i].name, ri->name) != 0)
            continue;
        if (sr->looked[i].events == ri->events)
            return 1;
        sr->looked[i].events = ri->events;
        return 0;
    }
    if (sr->n_looked < CF_DESK_MAX_READERS) {
        struct looked *l = &sr->looked[sr->n_looked++];
        snprintf(l->name, sizeof(l->name), "%s", ri->name);
        l->events = ri->events;
    }
    return 0;
}

/* --reader: an exact name wins; otherwise the substring must pick one
 * reader. Waiting, a reader not there yet or without a card is looked at
 * again; without, every problem is final and said. */
static int look_reader(const char *cmd, const struct desk_opts *o, struct desk_card *dc,
                       cf_pcsc_t *ctx, struct search *sr)
{
    size_t n = cf_pcsc_reader_count(ctx), matches = 0;
    cf_reader_info_t pick = {0}, ri;
    for (size_t i = 0; i < n; i++) {
        if (cf_pcsc_reader_info(ctx, i, &ri) != CF_OK)
            continue;
        if (strcmp(ri.name, o->reader) == 0) {
            pick = ri;
            matches = 1;
            break;
        }
        if (strstr(ri.name, o->reader) != NULL) {
            pick = ri;
            matches++;
        }
    }
    if (matches == 0 && o->wait)
        return LOOK_AGAIN; /* the reader may be plugged in yet */
    if (matches != 1) {
        if (matches == 0)
            fprintf(stderr, "%s: no reader matches '%s'; readers:", cmd, o->reader);
        else
            fprintf(stderr, "%s: '%s' matches %zu readers; give more of the name:", cmd, o->reader,
                    matches);
        for (size_t i = 0; i < n; i++)
            if (cf_pcsc_reader_info(ctx, i, &ri) == CF_OK &&
                (matches == 0 || strstr(ri.name, o->reader) != NULL))
                fprintf(stderr, "\n  %s", ri.name);
        fprintf(stderr, n || matches ? "\n" : " none\n");
        return CF_EXIT_USAGE;
    }
    if (o->wait && !(pick.state & CF_READER_PRESENT))
        return LOOK_AGAIN;
    sr->busy = 0;
    if (!o->wait)
        return try_reader(cmd, o, dc, pick.name, 0) == CF_OK ? CF_EXIT_OK : CF_EXIT_FAIL;
    cf_err_t e = try_reader(cmd, o, dc, pick.name, WAIT_QUIET_SHARING);
    if (e == CF_ERR_SHARING) {
        if (!sr->busy_said)
            fprintf(stderr,
                    "%s: the card in reader '%s' is in use by another application; waiting "
                    "until it is free\n",
                    cmd, pick.name);
        sr->busy = sr->busy_said = 1;
        return LOOK_AGAIN;
    }
    return e == CF_OK ? CF_EXIT_OK : CF_EXIT_FAIL;
}

/* --card: every reader holding a card is asked for its serial (waiting:
 * each card once per insertion). */
static int look_serial(const struct desk_opts *o, struct desk_card *dc, cf_pcsc_t *ctx,
                       struct search *sr)
{
    for (size_t i = 0; i < cf_pcsc_reader_count(ctx); i++) {
        cf_reader_info_t ri;
        if (cf_pcsc_reader_info(ctx, i, &ri) != CF_OK)
            continue;
        if (o->wait && (!(ri.state & CF_READER_PRESENT) || already_looked(sr, &ri)))
            continue;
        if (try_reader(NULL, o, dc, ri.name, 1) != CF_OK)
            continue;
        sr->cards_seen++;
        if (strcmp(cf_card_serial(dc->card), o->serial) == 0)
            return CF_EXIT_OK;
        desk_release(dc);
    }
    return LOOK_AGAIN;
}

static volatile sig_atomic_t wait_signal;

static void on_wait_signal(int sig)
{
    wait_signal = sig;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void say_waiting(const char *cmd, const struct desk_opts *o)
{
    char limit[48] = "";
    if (o->wait_s != 0)
        snprintf(limit, sizeof(limit), "up to %u s; ", o->wait_s);
    if (o->reader != NULL)
        fprintf(stderr, "%s: waiting for a card in reader '%s' (%sCtrl-C stops)\n", cmd, o->reader,
                limit);
    else
        fprintf(stderr, "%s: waiting for the card with serial %s in any reader (%sCtrl-C stops)\n",
                cmd, o->serial, limit);
}

/* Look at the readers until the card is open in dc or something final
 * happened; without o->wait, once. The signals are taken only while
 * waiting: before any card is opened for the command, a signal ends the
 * wait, and a card being identified is closed untouched. */
static int find_card(const char *cmd, const struct desk_opts *o, struct desk_card *dc)
{
    char err[256] = "";
    cf_pcsc_t *ctx = NULL;
    cf_err_t e = cf_pcsc_new(&ctx, err, sizeof(err));
    if (e != CF_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err[0] ? err : cf_strerror(e));
        return CF_EXIT_FAIL;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_wait_signal; /* no SA_RESTART: the PC/SC wait returns */
    sigemptyset(&sa.sa_mask);
    wait_signal = 0;
    if (o->wait) {
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }
    struct search sr = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int st = LOOK_AGAIN, said = 0;
    e = cf_pcsc_wait_change(ctx, 0); /* the first call: a snapshot at once */
    for (;;) {
        if (wait_signal)
            break;
        if (e == CF_OK || (e == CF_ERR_TIMEOUT && sr.busy))
            st = o->reader ? look_reader(cmd, o, dc, ctx, &sr) : look_serial(o, dc, ctx, &sr);
        else if (e != CF_ERR_TIMEOUT) {
            fprintf(stderr, "%s: %s\n", cmd, cf_pcsc_errmsg(ctx));
            st = CF_EXIT_FAIL;
        }
        if (st != LOOK_AGAIN || !o->wait || wait_signal)
            break;
        if (!said) {
            say_waiting(cmd, o);
            said = 1;
        }
        long left = o->wait_s ? (long)o->wait_s * 1000 - ms_since(&t0) : 250;
        if (left <= 0)
            break;
        /* A quarter of a second at most, so that a signal is seen even
         * when pcsc-lite resumes its wait after one. */
        e = cf_pcsc_wait_change(ctx, left < 250 ? left : 250);
    }
    if (o->wait) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    if (wait_signal) {
        /* A card found as the signal came is closed by the caller as it
         * was found: identified, nothing else. */
        fprintf(stderr, "%s: interrupted while waiting for the card; no card was touched\n", cmd);
        st = CF_EXIT_FAIL;
    } else if (st == LOOK_AGAIN && o->reader != NULL) {
        fprintf(stderr, "%s: no card in reader '%s' after %u s\n", cmd, o->reader, o->wait_s);
        st = CF_EXIT_FAIL;
    } else if (st == LOOK_AGAIN && o->wait) {
        fprintf(stderr, "%s: no card with serial %s appeared in %u s (%zu card%s looked at)\n", cmd,
                o->serial, o->wait_s, sr.cards_seen, sr.cards_seen == 1 ? "" : "s");
        st = CF_EXIT_FAIL;
    } else if (st == LOOK_AGAIN) {
        fprintf(stderr, "%s: no card with serial %s in any reader (%zu card%s looked at)\n", cmd,
                o->serial, sr.cards_seen, sr.cards_seen == 1 ? "" : "s");
        st = CF_EXIT_FAIL;
    }
    cf_pcsc_free(ctx);
    return st;
}

int desk_open(const char *cmd, const struct desk_opts *o, struct desk_card *dc)
{
    memset(dc, 0, sizeof(*dc));
    if ((o->reader == NULL) == (o->serial == NULL)) {
        fprintf(stderr, "%s: name the card with exactly one of --reader or --card\n", cmd);
        return CF_EXIT_USAGE;
    }
    if (o->reader != NULL && strncmp(o->reader, "sim:", 4) == 0) {
        /* In-process cards live and die with a `run`: nothing to wait
         * for, and nothing a person at a desk could hand out. */
        fprintf(stderr,
                "%s: '%s' is an in-process card of `cardforge run`; a desk command works on "
                "a PC/SC reader (cardforge-vcard puts a virtual card in one)\n",
                cmd, o->reader);
        return CF_EXIT_USAGE;
    }
    int st = load_profiles(cmd, o, dc);
    if (st != CF_EXIT_OK) {
        desk_close(dc);
        return st;
    }
    if (o->trace_path != NULL) {
        /* 0600 like the journal: a trace names cards, readers and steps. */
        dc->trace_file = out_open_private(o->trace_path);
        if (dc->trace_file == NULL) {
            fprintf(stderr, "%s: cannot write the trace %s: %s\n", cmd, o->trace_path,
                    strerror(errno));
            desk_close(dc);
            return CF_EXIT_USAGE;
        }
        if (cf_trace_new(dc->trace_file, &dc->trace) != CF_OK) {
            desk_close(dc);
            return CF_EXIT_FAIL;
        }
    }
    return desk_reopen(cmd, o, dc);
}

int desk_reopen(const char *cmd, const struct desk_opts *o, struct desk_card *dc)
{
    desk_release(dc);
    int st = find_card(cmd, o, dc);
    if (st != CF_EXIT_OK)
        desk_close(dc);
    return st;
}

void desk_release(struct desk_card *dc)
{
    cf_card_free(dc->card);
    dc->card = NULL;
    cf_transport_close(dc->t, CF_DISPOSE_LEAVE);
    dc->t = NULL;
}

void desk_close(struct desk_card *dc)
{
    desk_release(dc);
    cf_trace_free(dc->trace);
    dc->trace = NULL;
    if (dc->trace_file != NULL)
        fclose(dc->trace_file);
    dc->trace_file = NULL;
    cf_profiles_free(dc->profiles);
    dc->profiles = NULL;
}

void desk_tries_text(const cf_tries_t *t, char *out, size_t cap)
{
    if (t->kind == CF_TRIES_UNLIMITED)
        snprintf(out, cap, "no retry counter");
    else if (t->kind == CF_TRIES_UNKNOWN && t->sw == 0x9000)
        snprintf(out, cap, "not told (verified in this session)");
    else if (t->kind == CF_TRIES_UNKNOWN && t->sw != 0)
        snprintf(out, cap, "cannot be read (the card answered %04X)", t->sw);
    else if (t->kind == CF_TRIES_UNKNOWN)
        snprintf(out, cap, "cannot be read (this card type has no way to report it)");
    else if (t->left == 0 && t->max != 0)
        snprintf(out, cap, "BLOCKED (0 of %u)", t->max);
    else if (t->left == 0)
        snprintf(out, cap, "BLOCKED");
    else if (t->max != 0)
        snprintf(out, cap, "%u of %u", t->left, t->max);
    else
        snprintf(out, cap, "%u left", t->left);
}
