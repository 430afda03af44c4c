/*
 * writer.c - appending events to the audit log, durably, from many threads.
 *
 * Shaped like the journal's writer: one descriptor opened O_APPEND and
 * locked with flock(LOCK_EX | LOCK_NB) (a second writer is refused rather
 * than forking the chain), every line formatted whole and written with one
 * write(2) under the mutex, then fdatasync'd before the caller goes on:
 * an event is on disk before the response it records is shown. Events are
 * rare (a person at a desk), so there is no group commit.
 *
 * The chain state is the last line's seq and SHA-256. Reopening a log
 * reads back only its tail: the last line must parse as an audit line. A
 * torn last line (no line end, a crash mid-write) is cut off and the cut
 * recorded; a log that was not closed by a final checkpoint gets a
 * "reopen" event saying so, so the gap is in the log itself.
 *
 * After a failed write or sync, or when the path no longer names the open
 * file, the log is broken and refuses every later event: the server must
 * then stop giving responses it cannot account for.
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

#include <openssl/sha.h>

#include "audit/audit_int.h"
#include "journal/jbuf.h"
#include "util/hex.h"
#include "util/syncdir.h"

struct cf_audit {
    int fd;
    char *path;
    dev_t dev;
    ino_t ino;
    EVP_PKEY *key;
    uint8_t keyid[CF_AUDIT_KEYID_LEN];
    unsigned every;
    pthread_mutex_t mu;
    uint64_t seq;                    /* seq of the last line, 0 for an empty log */
    uint8_t last[CF_AUDIT_HASH_LEN]; /* its SHA-256 */
    unsigned since;                  /* lines since the last checkpoint */
    int sealed;                      /* the last line is a final checkpoint */
    int broken;
    char buf[CF_AUDIT_MAX_LINE];
};

static int64_t now_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pread_all(int fd, char *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Find the log's last line and continue the chain from it. *torn gets the
 * bytes of a torn last line that were cut off. */
static cf_err_t load_tail(cf_audit_t *a, off_t size, size_t *torn, char *err, size_t errlen)
{
    *torn = 0;
    if (size == 0)
        return CF_OK;
    size_t want = 2 * CF_AUDIT_MAX_LINE;
    if ((off_t)want > size)
        want = (size_t)size;
    char *tail = malloc(want);
    if (tail == NULL)
        return CF_ERR_NOMEM;
    off_t base = size - (off_t)want;
    cf_err_t e = CF_OK;
    if (pread_all(a->fd, tail, want, base) != 0) {
        cf_audit_set_err(err, errlen, "%s: cannot read the audit log: %s", a->path,
                         strerror(errno));
        free(tail);
        return CF_ERR_IO;
    }
    size_t end = want; /* one past the last line end */
    while (end > 0 && tail[end - 1] != '\n')
        end--;
    if (want - end >= CF_AUDIT_MAX_LINE || (end == 0 && base > 0)) {
        cf_audit_set_err(err, errlen, "%s: not an audit log (no line end near its end)", a->path);
        free(tail);
        return CF_ERR_INVALID;
    }
    *torn = want - end;
    size_t start = end == 0 ? 0 : end - 1;
    while (start > 0 && tail[start - 1] != '\n')
        start--;
    cf_audit_line_t line;
    if (end == 0) {
        /* Only a torn line: as good as empty. */
    } else if ((start == 0 && base > 0) ||
               cf_audit_parse_line(tail + start, end - 1 - start, &line) != 0) {
        cf_audit_set_err(
            err, errlen,
            "%s: its last line is not an audit line; nothing was written (check it with "
            "'cardforge audit verify')",
            a->path);
        e = CF_ERR_INVALID;
    } else {
        a->seq = line.seq;
        SHA256((const uint8_t *)tail + start, end - start, a->last);
        a->sealed = line.checkpoint && line.final;
        a->since = line.checkpoint ? 0 : 1;
    }
    free(tail);
    if (e == CF_OK && *torn > 0) {
        if (ftruncate(a->fd, size - (off_t)*torn) != 0 || fsync(a->fd) != 0) {
            cf_audit_set_err(err, errlen, "%s: cannot remove the torn last line: %s", a->path,
                             strerror(errno));
            e = CF_ERR_IO;
        }
    }
    return e;
}

/* Called with mu held: 1 when the path still names the open file. */
static int still_there_locked(cf_audit_t *a)
{
    struct stat sb;
    if (stat(a->path, &sb) == 0 && sb.st_dev == a->dev && sb.st_ino == a->ino)
        return 1;
    a->broken = 1;
    return 0;
}

/* Called with mu held: write a->buf[0..len) as the next line and sync it. */
static cf_err_t put_line_locked(cf_audit_t *a, size_t len)
{
    if (!still_there_locked(a))
        return CF_ERR_IO;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(a->fd, a->buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            a->broken = 1;
            return CF_ERR_IO;
        }
        done += (size_t)n;
    }
    int rc;
    do
        rc = fdatasync(a->fd);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        a->broken = 1;
        return CF_ERR_IO;
    }
    SHA256((const uint8_t *)a->buf, len, a->last);
    a->seq++;
    return CF_OK;
}

static void begin_line(cf_audit_t *a, cf_jbuf *b, const char *event)
{
    cf_jbuf_init(b, a->buf, sizeof(a->buf));
    cf_jbuf_open_obj(b);
    cf_jbuf_kv_u64(b, "seq", a->seq + 1);
    cf_jbuf_kv_time(b, "time", now_epoch_ms());
    cf_jbuf_kv_str(b, "event", event);
}

static void put_prev(cf_audit_t *a, cf_jbuf *b)
{
    char hex[2 * CF_AUDIT_HASH_LEN + 1];
    cf_hex_encode(a->last, sizeof(a->last), hex);
    if (a->seq == 0)
        memset(hex, '0', 2 * CF_AUDIT_HASH_LEN);
    cf_jbuf_kv_str(b, "prev", hex);
}

/* Called with mu held. */
static cf_err_t checkpoint_locked(cf_audit_t *a, int final)
{
    if (a->broken)
        return CF_ERR_IO;
    cf_jbuf b;
    begin_line(a, &b, "checkpoint");
    cf_jbuf_kv_bool(&b, "final", final);
    char id[2 * CF_AUDIT_KEYID_LEN + 1];
    cf_hex_encode(a->keyid, sizeof(a->keyid), id);
    cf_jbuf_kv_str(&b, "key", id);
    put_prev(a, &b);
    uint8_t sig[CF_AUDIT_SIG_LEN];
    char sighex[2 * CF_AUDIT_SIG_LEN + 1];
    if (b.overflow || cf_audit_sign(a->key, b.p, b.len, sig) != 0)
        return CF_ERR_CRYPTO;
    cf_hex_encode(sig, sizeof(sig), sighex);
    cf_jbuf_raw(&b, ",\"sig\":\"", 8);
    cf_jbuf_raw(&b, sighex, 2 * CF_AUDIT_SIG_LEN);
    cf_jbuf_raw(&b, "\"}\n", 3);
    if (b.overflow)
        return CF_ERR_BUFFER;
    cf_err_t e = put_line_locked(a, b.len);
    if (e == CF_OK) {
        a->since = 0;
        a->sealed = final;
    }
    return e;
}

/* Called with mu held: one event line. */
static cf_err_t event_locked(cf_audit_t *a, const cf_audit_event_t *ev)
{
    if (a->broken)
        return CF_ERR_IO;
    cf_jbuf b;
    begin_line(a, &b, ev->event);
    const struct {
        const char *k, *v;
    } f[] = {{"operator", ev->operator_name}, {"client", ev->client},   {"serial", ev->serial},
             {"key_name", ev->key_name},      {"outcome", ev->outcome}, {"detail", ev->detail}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].v != NULL && f[i].v[0] != 0)
            cf_jbuf_kv_str(&b, f[i].k, f[i].v);
        if (i == 3 && ev->key_version != 0)
            cf_jbuf_kv_u64(&b, "key_version", ev->key_version);
    }
    put_prev(a, &b);
    cf_jbuf_raw(&b, "}\n", 2);
    if (b.overflow)
        return CF_ERR_BUFFER;
    cf_err_t e = put_line_locked(a, b.len);
    if (e != CF_OK)
        return e;
    a->sealed = 0;
    if (++a->since >= a->every)
        e = checkpoint_locked(a, 0);
    return e;
}

static int field_ok(const char *s)
{
    return s == NULL || strlen(s) <= CF_AUDIT_MAX_FIELD;
}

cf_err_t cf_audit_write(cf_audit_t *a, const cf_audit_event_t *ev)
{
    if (a == NULL || ev == NULL || ev->event == NULL || ev->event[0] == 0 ||
        strcmp(ev->event, "checkpoint") == 0)
        return CF_ERR_ARG;
    if (!field_ok(ev->event) || !field_ok(ev->operator_name) || !field_ok(ev->client) ||
        !field_ok(ev->serial) || !field_ok(ev->key_name) || !field_ok(ev->outcome) ||
        !field_ok(ev->detail))
        return CF_ERR_ARG;
    pthread_mutex_lock(&a->mu);
    cf_err_t e = event_locked(a, ev);
    pthread_mutex_unlock(&a->mu);
    return e;
}

cf_err_t cf_audit_checkpoint(cf_audit_t *a)
{
    pthread_mutex_lock(&a->mu);
    cf_err_t e = a->since > 0 ? checkpoint_locked(a, 0) : (a->broken ? CF_ERR_IO : CF_OK);
    pthread_mutex_unlock(&a->mu);
    return e;
}

static void audit_free(cf_audit_t *a)
{
    if (a->fd >= 0)
        close(a->fd); /* releases the lock */
    EVP_PKEY_free(a->key);
    free(a->path);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

cf_err_t cf_audit_open(const char *path, const char *key_path, unsigned every, cf_audit_t **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = 0;
    cf_audit_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return CF_ERR_NOMEM;
    a->fd = -1;
    a->every = every == 0 ? CF_AUDIT_CHECKPOINT_EVERY : every;
    pthread_mutex_init(&a->mu, NULL);
    a->path = strdup(path);
    if (a->path == NULL) {
        audit_free(a);
        return CF_ERR_NOMEM;
    }
    a->key = cf_audit_load_private(key_path, err, errlen);
    if (a->key == NULL || cf_audit_key_id(a->key, a->keyid) != 0) {
        audit_free(a);
        return CF_ERR_INVALID;
    }
    a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat sb;
    cf_err_t e = CF_ERR_IO;
    size_t torn = 0;
    if (a->fd < 0) {
        cf_audit_set_err(err, errlen, "%s: cannot open the audit log: %s%s", path, strerror(errno),
                         errno == ELOOP ? " (a symbolic link: give the log's own path)" : "");
    } else if (fstat(a->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cf_audit_set_err(err, errlen, "%s: the audit log must be a regular file", path);
    } else if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
        cf_audit_set_err(err, errlen, "%s: the audit log is in use by another process%s", path,
                         errno == EWOULDBLOCK ? "" : ": cannot lock it");
        e = CF_ERR_SHARING;
    } else {
        a->dev = sb.st_dev;
        a->ino = sb.st_ino;
        e = load_tail(a, sb.st_size, &torn, err, errlen);
    }
    if (e != CF_OK) {
        audit_free(a);
        return e;
    }
    cf_sync_parent_dir(path);
    if (a->seq > 0 && (!a->sealed || torn > 0)) {
        char detail[96];
        snprintf(detail, sizeof(detail), "%s%s",
                 !a->sealed ? "not closed by a final checkpoint" : "closed",
                 torn > 0 ? "; a torn last line was cut off" : "");
        cf_audit_event_t ev = {.event = "reopen", .outcome = "unclean", .detail = detail};
        pthread_mutex_lock(&a->mu);
        e = event_locked(a, &ev);
        pthread_mutex_unlock(&a->mu);
        if (e != CF_OK) {
            cf_audit_set_err(err, errlen, "%s: cannot write to the audit log: %s", path,
                             strerror(errno));
            audit_free(a);
            return e;
        }
    }
    *out = a;
    return CF_OK;
}

cf_err_t cf_audit_close(cf_audit_t *a)
{
    if (a == NULL)
        return CF_OK;
    pthread_mutex_lock(&a->mu);
    cf_err_t e = a->broken ? CF_ERR_IO : CF_OK;
    if (e == CF_OK && !a->sealed)
        e = checkpoint_locked(a, 1);
    pthread_mutex_unlock(&a->mu);
    audit_free(a);
    return e;
}
