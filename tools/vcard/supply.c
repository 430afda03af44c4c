/*
 * supply.c - which card is in the slot.
 *
 * Two ways to run:
 *   single  one card for the life of the process; with --state FILE it is
 *           loaded from FILE when FILE exists, else created, and saved to
 *           FILE atomically after every change (the card core does that).
 *           Remove and insert take the same card out and put it back.
 *   feeder  a production-line hopper (--feed DIR): each insertion takes a
 *           fresh factory card with the next serial, whose state lives in
 *           DIR/card-<serial>.state and stays there after it is removed;
 *           every insertion and removal is appended to DIR/events.log.
 * The feeder never overwrites a card file: at start it skips serials whose
 * file already exists, so restarting a line continues after its last card.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vcard.h"

static int feed_path(const struct vcard_opts *o, uint32_t serial, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/card-%lu.state", o->feed_dir, (unsigned long)serial);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* One line per event, written with a single append so that concurrent
 * readers (a test tailing the file) never see half a line. */
static void feed_event(const struct vcard_opts *o, const char *event, uint32_t serial,
                       const char *reason)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/events.log", o->feed_dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char line[256];
    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02dZ %s serial=%lu file=card-%lu.state%s%s\n",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, event, (unsigned long)serial, (unsigned long)serial,
                 reason ? " reason=" : "", reason ? reason : "");
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        vcard_err("%s: cannot open: %s", path, strerror(errno));
        return;
    }
    if (write(fd, line, (size_t)n) != n)
        vcard_err("%s: write failed: %s", path, strerror(errno));
    fdatasync(fd);
    close(fd);
}

static int new_card(const struct vcard_opts *o, uint32_t serial, cf_simcard_t **out)
{
    cf_err_t err = cf_simcard_new(o->type, o->factory, serial, out);
    if (err == CF_ERR_NOT_FOUND) {
        /* The type is checked already: the factory state is unknown to the
         * base, or does not fit a quirk (wrong-63cx on a card that counts
         * no admin-key tries). */
        char base[CF_SIMCARD_TYPE_MAX];
        cf_simcard_t *plain = NULL;
        snprintf(base, sizeof(base), "%.*s", (int)strcspn(o->type, "+"), o->type);
        if (cf_simcard_new(base, o->factory, serial, &plain) == CF_OK)
            vcard_err("factory state '%s' does not fit the quirks of a %s card",
                      cf_simcard_factory(plain), o->type);
        else
            vcard_err("unknown factory state '%s' for a %s card", o->factory ? o->factory : "",
                      o->type);
        cf_simcard_free(plain);
        return VCARD_EXIT_USAGE;
    }
    if (err != CF_OK) {
        vcard_err("cannot create a %s card: %s", o->type, cf_strerror(err));
        return VCARD_EXIT_FAIL;
    }
    return VCARD_EXIT_OK;
}

static int open_single(struct supply *s, const struct vcard_opts *o)
{
    struct stat st;
    if (o->state != NULL && stat(o->state, &st) == 0) {
        char msg[256];
        cf_err_t err = cf_simcard_load(o->state, msg, sizeof(msg), &s->card);
        if (err != CF_OK) {
            vcard_err("%s", msg[0] ? msg : cf_strerror(err));
            return VCARD_EXIT_FAIL;
        }
        if (o->type != NULL && strcmp(o->type, cf_simcard_type(s->card)) != 0) {
            vcard_err("%s holds a %s card, not %s (drop --type or use another file)",
                      o->state, cf_simcard_type(s->card), o->type);
            cf_simcard_free(s->card);
            s->card = NULL;
            return VCARD_EXIT_USAGE;
        }
        vcard_log(1, "loaded %s card serial %lu from %s", cf_simcard_type(s->card),
                  (unsigned long)cf_simcard_serial(s->card), o->state);
    } else {
        if (o->type == NULL) {
            vcard_err("--type is needed to create a card%s%s",
                      o->state ? ": no state file at " : "", o->state ? o->state : "");
            return VCARD_EXIT_USAGE;
        }
        int rc = new_card(o, o->serial, &s->card);
        if (rc != VCARD_EXIT_OK)
            return rc;
        vcard_log(1, "created %s card (%s) serial %lu", o->type, cf_simcard_factory(s->card),
                  (unsigned long)o->serial);
    }
    if (o->state != NULL) {
        cf_err_t err = cf_simcard_set_state_file(s->card, o->state);
        if (err != CF_OK) {
            vcard_err("%s: cannot save the card: %s", o->state, cf_strerror(err));
            cf_simcard_free(s->card);
            s->card = NULL;
            return VCARD_EXIT_FAIL;
        }
    }
    return VCARD_EXIT_OK;
}

int supply_open(struct supply *s, const struct vcard_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->o = o;
    if (o->feed_dir == NULL)
        return open_single(s, o);

    if (o->type == NULL) {
        vcard_err("--feed needs --type");
        return VCARD_EXIT_USAGE;
    }
    /* Check type and factory once, before touching the directory. */
    cf_simcard_t *probe;
    int rc = new_card(o, o->serial, &probe);
    if (rc != VCARD_EXIT_OK)
        return rc;
    cf_simcard_free(probe);
    if (mkdir(o->feed_dir, 0700) != 0 && errno != EEXIST) {
        vcard_err("%s: cannot create: %s", o->feed_dir, strerror(errno));
        return VCARD_EXIT_FAIL;
    }
    uint32_t serial = o->serial;
    for (;;) {
        char path[4096];
        struct stat st;
        if (feed_path(o, serial, path, sizeof(path)) < 0) {
            vcard_err("%s: path too long", o->feed_dir);
            return VCARD_EXIT_FAIL;
        }
        if (stat(path, &st) != 0)
            break;
        if (serial == UINT32_MAX) {
            vcard_err("%s: no free serial number left", o->feed_dir);
            return VCARD_EXIT_FAIL;
        }
        serial++;
    }
    if (serial != o->serial)
        vcard_log(1, "feeder resumes at serial %lu (cards before it are in %s)",
                  (unsigned long)serial, o->feed_dir);
    s->next_serial = serial;
    return supply_insert(s) == 0 ? VCARD_EXIT_OK : VCARD_EXIT_FAIL;
}

int supply_insert(struct supply *s)
{
    const struct vcard_opts *o = s->o;
    if (s->card != NULL)
        return 0;
    if (o->feed_dir == NULL)
        return -1; /* the single card never leaves the process */
    uint32_t serial = s->next_serial;
    char path[4096];
    if (feed_path(o, serial, path, sizeof(path)) < 0)
        return -1;
    cf_simcard_t *card;
    if (new_card(o, serial, &card) != VCARD_EXIT_OK)
        return -1;
    cf_err_t err = cf_simcard_set_state_file(card, path);
    if (err != CF_OK) {
        vcard_err("%s: cannot save the card: %s", path, cf_strerror(err));
        cf_simcard_free(card);
        return -1;
    }
    s->card = card;
    s->next_serial = serial == UINT32_MAX ? serial : serial + 1;
    feed_event(o, "insert", serial, NULL);
    vcard_log(1, "feeder: card serial %lu in (%s)", (unsigned long)serial, path);
    return 0;
}

void supply_remove(struct supply *s, const char *reason)
{
    if (s->card == NULL)
        return;
    cf_simcard_power_off(s->card);
    if (s->o->feed_dir == NULL)
        return;
    uint32_t serial = cf_simcard_serial(s->card);
    feed_event(s->o, "remove", serial, reason);
    vcard_log(1, "feeder: card serial %lu out (%s)", (unsigned long)serial, reason);
    cf_simcard_free(s->card);
    s->card = NULL;
}

void supply_close(struct supply *s)
{
    if (s->card == NULL)
        return;
    if (s->o->feed_dir != NULL) {
        supply_remove(s, "shutdown");
        return;
    }
    cf_simcard_power_off(s->card);
    if (s->o->state != NULL && cf_simcard_save(s->card, s->o->state) != CF_OK)
        vcard_err("%s: cannot save the card at exit", s->o->state);
    cf_simcard_free(s->card);
    s->card = NULL;
}
