/*
 * writer.c - appending records to the journal, durably, from many threads.
 *
 * One file descriptor opened O_APPEND and locked with flock(LOCK_EX), so a
 * second run on the same journal is refused instead of interleaving. Each
 * record is formatted whole and written with one write(2) under the mutex.
 * Durability uses group commit: a thread that needs its line on disk either
 * starts an fdatasync covering everything written so far, or waits for the
 * one in progress and checks whether it covered its line. With 16 readers
 * finishing cards at once, one fdatasync serves all of them.
 *
 * After a failed write or sync the journal is marked broken and refuses
 * every later record: the runner must stop rather than personalize a card
 * it cannot account for. The same happens when the path no longer names
 * the open file (deleted, renamed or replaced during the run: checked
 * before every write by st_dev/st_ino); the journal's content is then put
 * back at its path from the open descriptor, so the next run continues it.
 *
 * Opening refuses anything that is not plainly a journal, untouched: a
 * symbolic link (O_NOFOLLOW), a non-regular file, a file that does not
 * begin with a run record. A journal this open created and nothing was
 * written to is removed again at close, so a refusal before the first card
 * leaves no file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal_int.h"
#include "journal/put_aside.h"
#include "journal/reader.h"
#include "util/syncdir.h"

struct cf_journal {
    int fd;
    unsigned flags;
    char *path;
    dev_t dev;
    ino_t ino;
    int created;          /* this open created the file */
    unsigned long lines0; /* complete lines at open */
    char why[4400];       /* what broke the journal, "" while it works */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t written; /* lines written */
    uint64_t synced;  /* lines known to be on disk */
    int syncing;
    int broken;
    uint64_t syncs;
    double sync_ms;
    char *buf; /* CF_JOURNAL_MAX_LINE, used under mu */
    cf_journal_state_t *st;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A journal is empty or begins with a run record. Anything else (a key
 * file, a batch given by mistake) is refused before a byte of it is
 * touched. A first line cut short while it was written (a prefix of a run
 * record, or NUL bytes) is a torn line like any other. */
static cf_err_t check_head(int fd, const char *path, cf_diag_list_t *diags)
{
    static const char head[] = "{\"type\":\"run\"";
    char buf[sizeof(head) - 1];
    ssize_t n;
    do
        n = pread(fd, buf, sizeof(buf), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot read the journal: %s", strerror(errno));
        return CF_ERR_IO;
    }
    if (n == 0 || memcmp(buf, head, (size_t)n) == 0)
        return CF_OK;
    int nul = 1;
    for (ssize_t i = 0; i < n; i++)
        nul &= buf[i] == 0;
    if (nul)
        return CF_OK; /* the reader decides whether the NUL tail is torn */
    cf_diag_add(diags, CF_SEV_ERROR, path, 1,
                "not a journal (a journal begins with a run record); nothing was changed: "
                "check the --journal path");
    return CF_ERR_INVALID;
}

cf_err_t cf_journal_open(const char *path, unsigned flags, cf_journal_t **out,
                         cf_journal_info_t *info, cf_diag_list_t *diags)
{
    cf_journal_info_t local;
    if (info == NULL)
        info = &local;
    *out = NULL;
    cf_journal_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return CF_ERR_NOMEM;
    j->fd = -1;
    j->flags = flags;
    j->buf = malloc(CF_JOURNAL_MAX_LINE);
    j->st = cf_journal_state_new();
    if (j->buf == NULL || j->st == NULL) {
        free(j->buf);
        cf_journal_state_free(j->st);
        free(j);
        return CF_ERR_NOMEM;
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    cf_err_t err = CF_ERR_IO;

    j->path = strdup(path);
    if (j->path == NULL) {
        err = CF_ERR_NOMEM;
        goto fail;
    }
    if ((err = cf_journal_check_put_aside(path, diags)) != CF_OK)
        goto fail;
    err = CF_ERR_IO;
    /* O_NOFOLLOW: a link is refused, and a dangling one never creates its
     * target. Created only when nothing is there (O_EXCL), so that close
     * knows whether the file is this run's own. */
    j->fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (j->fd < 0 && errno == ENOENT) {
        j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        j->created = j->fd >= 0;
    }
    if (j->fd < 0) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot open the journal: %s%s", strerror(errno),
                    errno == ELOOP ? " (a symbolic link: give the journal's own path)" : "");
        goto fail;
    }
    struct stat sb;
    if (fstat(j->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "the journal must be a regular file");
        goto fail;
    }
    j->dev = sb.st_dev;
    j->ino = sb.st_ino;
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            cf_diag_add(diags, CF_SEV_ERROR, path, 0,
                        "the journal is in use by another run; one journal, one run at a "
                        "time");
            err = CF_ERR_SHARING;
        } else {
            cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot lock the journal: %s",
                        strerror(errno));
        }
        goto fail;
    }
    if ((err = check_head(j->fd, path, diags)) != CF_OK)
        goto fail;
    err = cf_journal_scan_fd(j->fd, path, NULL, NULL, j->st, info, diags);
    if (err != CF_OK)
        goto fail;
    j->lines0 = info->lines;
    if (info->torn) {
        if (ftruncate(j->fd, (off_t)info->bytes) != 0 || fsync(j->fd) != 0) {
            cf_diag_add(diags, CF_SEV_ERROR, path, info->torn_line,
                        "cannot remove the torn last line: %s", strerror(errno));
            err = CF_ERR_IO;
            goto fail;
        }
        info->torn_removed = 1;
        cf_diag_add(diags, CF_SEV_WARNING, path, info->torn_line,
                    "the torn last line was removed (%llu bytes); the journal ends at line %lu",
                    (unsigned long long)info->torn_bytes, info->lines);
    }
    cf_sync_parent_dir(path);
    *out = j;
    return CF_OK;
fail:
    if (j->created)
        unlink(path); /* refused before anything was written: leave nothing */
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    cf_journal_state_free(j->st);
    free(j->buf);
    free(j);
    return err;
}

cf_journal_state_t *cf_journal_get_state(cf_journal_t *j)
{
    return j->st;
}

/* Called with mu held: mark the journal unusable, saying why (the first
 * reason stays). */
static void broke_locked(cf_journal_t *j, const char *what, int errnum)
{
    if (!j->broken)
        snprintf(j->why, sizeof(j->why), "%s: %s", what, strerror(errnum));
    j->broken = 1;
}

/* Put the journal's content back at its path from the open descriptor:
 * a new file next to it, synced, renamed in (never over another file),
 * the directory synced. 0 when done; where names the file written. */
static int restore_locked(cf_journal_t *j, char *where, size_t cap)
{
    char tmp[4096];
    if (cf_journal_put_aside_name(j->path, tmp, sizeof(tmp)) != 0)
        return -1;
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return -1;
    char buf[65536];
    off_t off = 0;
    int ok = 1;
    for (;;) {
        ssize_t n = pread(j->fd, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ok = 0;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                ok = 0;
                break;
            }
            done += w;
        }
        if (!ok)
            break;
        off += n;
    }
    if (fsync(out) != 0)
        ok = 0;
    close(out);
    /* Never over a file someone put at the path: then the copy stays next
     * to it under its own name. */
    if (ok && renameat2(AT_FDCWD, tmp, AT_FDCWD, j->path, RENAME_NOREPLACE) == 0) {
        snprintf(where, cap, "%s", j->path);
    } else if (ok) {
        snprintf(where, cap, "%s", tmp);
    } else {
        unlink(tmp);
        return -1;
    }
    cf_sync_parent_dir(j->path);
    return 0;
}

/* Called with mu held: 1 when the path still names the open file. When it
 * does not (deleted, renamed, replaced), the journal breaks and its content
 * is put back. */
static int still_there_locked(cf_journal_t *j)
{
    struct stat sb;
    int rc = stat(j->path, &sb);
    if (rc == 0 && sb.st_dev == j->dev && sb.st_ino == j->ino)
        return 1;
    char where[4200];
    const char *what = rc == 0           ? "replaced by another file"
                       : errno == ENOENT ? "deleted or renamed"
                                         : "no longer reachable";
    if (restore_locked(j, where, sizeof(where)) == 0)
        snprintf(j->why, sizeof(j->why),
                 "the journal was %s during the run; its content was put back as %s", what, where);
    else
        snprintf(j->why, sizeof(j->why),
                 "the journal was %s during the run, and its content could not be put back: "
                 "%s",
                 what, strerror(errno));
    j->broken = 1;
    return 0;
}

/* Called with mu held: write j->buf[0..len) whole. */
static cf_err_t write_locked(cf_journal_t *j, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(j->fd, j->buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* A partial line may be on disk: the next open removes it as a
             * torn line. Nothing more may be written after it. */
            broke_locked(j, "cannot write to the journal", n < 0 ? errno : ENOSPC);
            return CF_ERR_IO;
        }
        done += (size_t)n;
    }
    j->written++;
    return CF_OK;
}

/* Called with mu held: return when line `seq` is on disk. */
static cf_err_t sync_locked(cf_journal_t *j, uint64_t seq)
{
    if (j->flags & CF_JOURNAL_NO_SYNC)
        return CF_OK;
    while (j->synced < seq && !j->broken) {
        if (j->syncing) {
            pthread_cond_wait(&j->cv, &j->mu);
            continue;
        }
        uint64_t target = j->written;
        j->syncing = 1;
        pthread_mutex_unlock(&j->mu);
        double t0 = now_ms();
        int rc;
        do
            rc = fdatasync(j->fd);
        while (rc != 0 && errno == EINTR);
        double dt = now_ms() - t0;
        pthread_mutex_lock(&j->mu);
        j->syncing = 0;
        j->syncs++;
        j->sync_ms += dt;
        if (rc != 0)
            broke_locked(j, "cannot sync the journal", errno);
        else if (target > j->synced)
            j->synced = target;
        pthread_cond_broadcast(&j->cv);
    }
    return j->broken ? CF_ERR_IO : CF_OK;
}

typedef void (*fmt_fn)(cf_jbuf *b, const void *rec);

static cf_err_t append(cf_journal_t *j, fmt_fn fmt, const void *rec, int sync)
{
    cf_jbuf b;
    cf_err_t err;
    pthread_mutex_lock(&j->mu);
    if (j->broken) {
        pthread_mutex_unlock(&j->mu);
        return CF_ERR_IO;
    }
    cf_jbuf_init(&b, j->buf, CF_JOURNAL_MAX_LINE);
    fmt(&b, rec);
    if (b.overflow) {
        pthread_mutex_unlock(&j->mu);
        return CF_ERR_BUFFER;
    }
    if (!still_there_locked(j)) {
        pthread_mutex_unlock(&j->mu);
        return CF_ERR_IO;
    }
    err = write_locked(j, b.len);
    if (err == CF_OK && sync)
        err = sync_locked(j, j->written);
    pthread_mutex_unlock(&j->mu);
    return err;
}

static void fmt_run(cf_jbuf *b, const void *r)
{
    cf_journal_fmt_run(b, r);
}

static void fmt_intent(cf_jbuf *b, const void *r)
{
    cf_journal_fmt_intent(b, r);
}

static void fmt_card(cf_jbuf *b, const void *r)
{
    cf_journal_fmt_card(b, r);
}

static void fmt_end(cf_jbuf *b, const void *r)
{
    cf_journal_fmt_end(b, r);
}

cf_err_t cf_journal_write_run(cf_journal_t *j, const cf_journal_run_t *r)
{
    return append(j, fmt_run, r, 0);
}

cf_err_t cf_journal_write_intent(cf_journal_t *j, const cf_journal_intent_t *in)
{
    return append(j, fmt_intent, in, 1);
}

cf_err_t cf_journal_write_card(cf_journal_t *j, const cf_journal_card_t *c)
{
    return append(j, fmt_card, c, 1);
}

cf_err_t cf_journal_write_end(cf_journal_t *j, const cf_journal_end_t *e)
{
    return append(j, fmt_end, e, 0);
}

int cf_journal_where(cf_journal_t *j, char *buf, size_t cap)
{
    pthread_mutex_lock(&j->mu);
    int broken = j->broken;
    /* Lines written but never synced may or may not be there after a
     * crash; the synced ones are. */
    unsigned long long sure = j->lines0 + j->synced;
    if (broken)
        snprintf(buf, cap,
                 "%s; lines 1-%llu of the journal are on disk, %llu written after them may not "
                 "be",
                 j->why, sure, (unsigned long long)(j->written - j->synced));
    else
        snprintf(buf, cap, "the journal works; %llu lines on disk", sure);
    pthread_mutex_unlock(&j->mu);
    return broken;
}

void cf_journal_sync_stats(cf_journal_t *j, uint64_t *syncs, double *total_ms)
{
    pthread_mutex_lock(&j->mu);
    if (syncs != NULL)
        *syncs = j->syncs;
    if (total_ms != NULL)
        *total_ms = j->sync_ms;
    pthread_mutex_unlock(&j->mu);
}

cf_err_t cf_journal_close(cf_journal_t *j)
{
    if (j == NULL)
        return CF_OK;
    cf_err_t err = CF_OK;
    pthread_mutex_lock(&j->mu);
    if (!j->broken && j->synced < j->written && !(j->flags & CF_JOURNAL_NO_SYNC))
        err = sync_locked(j, j->written);
    /* Lost after the last write: put it back all the same. */
    if (!j->broken && j->written > 0)
        still_there_locked(j);
    if (j->broken)
        err = CF_ERR_IO;
    /* A journal this open created, with nothing written: the run was
     * refused before its first record. Leave no file behind. */
    if (j->created && j->written == 0 && !j->broken) {
        struct stat sb;
        if (stat(j->path, &sb) == 0 && sb.st_dev == j->dev && sb.st_ino == j->ino &&
            sb.st_size == 0)
            unlink(j->path);
    }
    pthread_mutex_unlock(&j->mu);
    close(j->fd); /* releases the lock */
    free(j->path);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    cf_journal_state_free(j->st);
    free(j->buf);
    free(j);
    return err;
}
