/*
 * reader.c - streaming a journal back: lines, torn tails, the resume state.
 *
 * The file is read through one fixed input buffer into one line buffer of
 * CF_JOURNAL_MAX_LINE bytes, so reading a million-line journal takes the
 * same memory as reading ten lines. Each complete line is parsed, handed to
 * the visitor and applied to the state before the next one is read.
 *
 * Torn last lines: a line is written with one write(2) and synced before the
 * run goes on, so after a crash only the LAST line can be incomplete: bytes
 * without a line end, or a tail of NUL bytes that a file system leaves when
 * the size reached the disk before the data. A torn line has exactly that
 * shape: no line end, at most CF_JOURNAL_MAX_LINE bytes, beginning like a
 * record ('{') or with NULs, and its NULs (if any) run to the end of the
 * file. Such a line is reported, not applied. Anything else that does not
 * parse is damage, wherever it is (a complete last line included: its line
 * end was written, so the write was not cut short), and stops the reading
 * with its line number. Lines of only blanks are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal_int.h"
#include "journal/reader.h"
#include "journal/u64map.h"

#define IOBUF 65536u

struct scan {
    const char *name;
    cf_journal_read_fn read;
    void *rctx;
    cf_journal_visit_fn visit;
    void *user;
    cf_journal_state_t *st;
    cf_journal_info_t *info;
    cf_diag_list_t *diags;
    cf_journal_parser parser;
    /* What a machine-written journal never has, checked across lines: a
     * card line for a record beyond the batch of the first run record,
     * attempt numbers out of range or given to two card lines. The card
     * lines' attempts are a bitmap (a run numbers its attempts from the
     * journal's next one, so they stay below about the number of lines:
     * 1 bit per line), and a set for numbers far above that (only a hand
     * edit makes those). */
    int have_run;
    uint64_t batch_records;
    uint8_t *seen;
    size_t seen_bytes;
    cf_u64map card_attempts;
    char line_why[96]; /* a why built for one line */
    char *line;
    size_t len;   /* bytes kept in line (at most CF_JOURNAL_MAX_LINE - 1) */
    uint64_t raw; /* bytes the line really has */
    int has_nul;
    int nul_mid; /* a byte other than NUL after a NUL */
    int overlong;
    uint64_t offset; /* file offset of the current line's first byte */
    unsigned long lineno;
    /* A complete last line that did not parse: an error only if more
     * follows (then it is damage), else it may be a torn tail. */
    int pending_bad;
    unsigned long pending_lineno;
    uint64_t pending_offset;
    uint64_t pending_bytes;
    int pending_zero; /* ... made of NUL bytes only: the start of a NUL tail */
    const char *pending_why;
};

static cf_err_t bad_line(struct scan *s, unsigned long lineno, const char *why);

/* Note the attempt of a card line at line lineno: 1 when it was seen
 * before, 0 when not, -1 when out of memory. */
static int seen_attempt(struct scan *s, uint64_t attempt, unsigned long lineno)
{
    uint64_t dense = 2 * (uint64_t)lineno + 4096;
    if (attempt > dense) {
        if (cf_u64map_get(&s->card_attempts, attempt, NULL))
            return 1;
        return cf_u64map_put(&s->card_attempts, attempt, 1) == 0 ? 0 : -1;
    }
    uint64_t byte = attempt / 8;
    if (byte >= s->seen_bytes) {
        size_t n = s->seen_bytes ? s->seen_bytes : 1024;
        while (n <= byte)
            n *= 2;
        uint8_t *nb = realloc(s->seen, n);
        if (nb == NULL)
            return -1;
        memset(nb + s->seen_bytes, 0, n - s->seen_bytes);
        s->seen = nb;
        s->seen_bytes = n;
    }
    uint8_t bit = (uint8_t)(1u << (attempt % 8));
    /* A number first seen far above the lines (a set entry), now in the
     * bitmap's range, is looked up in both. */
    if ((s->seen[byte] & bit) || cf_u64map_get(&s->card_attempts, attempt, NULL))
        return 1;
    s->seen[byte] |= bit;
    return 0;
}

/* The checks across lines (see struct scan). */
static cf_err_t check_entry(struct scan *s, const cf_journal_entry_t *e)
{
    uint64_t attempt = 0, record = 0;
    if (e->kind == CF_JOURNAL_RUN && !s->have_run) {
        s->have_run = 1;
        s->batch_records = e->run.records;
    } else if (e->kind == CF_JOURNAL_INTENT) {
        attempt = e->intent.attempt;
        record = e->intent.record;
    } else if (e->kind == CF_JOURNAL_CARD) {
        attempt = e->card.attempt;
        record = e->card.record;
    } else {
        return CF_OK;
    }
    if (e->kind == CF_JOURNAL_RUN)
        return CF_OK;
    if (attempt == 0 || attempt > CF_JOURNAL_MAX_ATTEMPT) {
        snprintf(s->line_why, sizeof(s->line_why), "attempt %llu out of range",
                 (unsigned long long)attempt);
        return bad_line(s, e->lineno, s->line_why);
    }
    if (s->have_run && record > s->batch_records) {
        snprintf(s->line_why, sizeof(s->line_why), "record %llu is beyond the batch (%llu records)",
                 (unsigned long long)record, (unsigned long long)s->batch_records);
        return bad_line(s, e->lineno, s->line_why);
    }
    if (e->kind == CF_JOURNAL_CARD) {
        int again = seen_attempt(s, attempt, e->lineno);
        if (again < 0)
            return CF_ERR_NOMEM;
        if (again) {
            snprintf(s->line_why, sizeof(s->line_why), "a second card line of attempt %llu",
                     (unsigned long long)attempt);
            return bad_line(s, e->lineno, s->line_why);
        }
    }
    return CF_OK;
}

static cf_err_t apply(struct scan *s, const cf_journal_entry_t *e)
{
    cf_err_t err = check_entry(s, e);
    if (err != CF_OK)
        return err;
    if (s->visit != NULL && (err = s->visit(s->user, e)) != CF_OK)
        return err;
    if (s->st == NULL)
        return CF_OK;
    switch (e->kind) {
    case CF_JOURNAL_RUN:
        err = cf_journal_state_apply_run(s->st, &e->run);
        break;
    case CF_JOURNAL_INTENT:
        err = cf_journal_state_apply_intent(s->st, &e->intent);
        break;
    case CF_JOURNAL_CARD:
        err = cf_journal_state_apply_card(s->st, &e->card);
        break;
    case CF_JOURNAL_END:
        break;
    }
    if (err != CF_OK)
        cf_diag_add(s->diags, CF_SEV_ERROR, s->name, e->lineno, "cannot keep the resume state: %s",
                    cf_strerror(err));
    return err;
}

static cf_err_t bad_line(struct scan *s, unsigned long lineno, const char *why)
{
    cf_diag_add(s->diags, CF_SEV_ERROR, s->name, lineno,
                "not a journal record (%s); the journal is damaged here: restore it or move "
                "the damaged lines away, never guess",
                why);
    return CF_ERR_PARSE;
}

/* A complete line (without its line end) is in s->line[0..len). */
static cf_err_t complete_line(struct scan *s)
{
    uint64_t bytes = s->raw + 1;
    s->lineno++;
    if (s->pending_bad)
        return bad_line(s, s->pending_lineno, s->pending_why);
    size_t k = 0;
    while (k < s->len && (s->line[k] == ' ' || s->line[k] == '\t' || s->line[k] == '\r'))
        k++;
    if (k == s->len && !s->overlong) {
        s->info->lines++;
        s->info->bytes += bytes;
        return CF_OK; /* blank lines are tolerated */
    }
    cf_journal_entry_t e;
    const char *why = "line too long";
    cf_jline r = CF_JLINE_BAD;
    e.lineno = s->lineno;
    if (!s->overlong && !s->has_nul)
        r = cf_journal_parse_line(&s->parser, s->line, s->len, &e, &why);
    else if (s->has_nul)
        why = "NUL byte";
    if (r == CF_JLINE_BAD) {
        s->pending_bad = 1;
        s->pending_lineno = s->lineno;
        s->pending_offset = s->offset;
        s->pending_bytes = bytes;
        s->pending_zero = s->has_nul && !s->nul_mid && s->line[0] == '\0' && !s->overlong;
        s->pending_why = why; /* static strings only */
        return CF_OK;
    }
    s->info->lines++;
    s->info->bytes += bytes;
    if (r == CF_JLINE_UNKNOWN) {
        s->info->unknown++;
        return CF_OK;
    }
    return apply(s, &e);
}

static void torn(struct scan *s, unsigned long lineno, uint64_t offset, uint64_t bytes)
{
    s->info->torn = 1;
    s->info->torn_line = lineno;
    s->info->torn_bytes = bytes;
    s->info->bytes = offset; /* everything before it is good */
}

static cf_err_t scan_run(struct scan *s)
{
    uint8_t *io = malloc(IOBUF);
    cf_err_t err = CF_OK;
    if (io == NULL)
        return CF_ERR_NOMEM;
    for (;;) {
        ssize_t got = s->read(s->rctx, io, IOBUF);
        if (got < 0) {
            cf_diag_add(s->diags, CF_SEV_ERROR, s->name, 0, "read error: %s", strerror(errno));
            err = CF_ERR_IO;
            goto out;
        }
        if (got == 0)
            break;
        /* Whole runs up to each line end at a time: memchr and memcpy. */
        size_t i = 0;
        while (i < (size_t)got) {
            const uint8_t *nl = memchr(io + i, '\n', (size_t)got - i);
            size_t run = nl ? (size_t)(nl - (io + i)) : (size_t)got - i;
            if (run > 0) {
                if (s->pending_bad) {
                    err = bad_line(s, s->pending_lineno, s->pending_why);
                    goto out;
                }
                const uint8_t *z = s->has_nul ? io + i : memchr(io + i, 0, run);
                if (z != NULL) {
                    s->has_nul = 1;
                    for (const uint8_t *q = z; q < io + i + run && !s->nul_mid; q++)
                        s->nul_mid = *q != 0;
                }
                size_t room = CF_JOURNAL_MAX_LINE - 1 - s->len;
                size_t take = run < room ? run : room;
                memcpy(s->line + s->len, io + i, take);
                s->len += take;
                s->raw += run;
                if (take < run)
                    s->overlong = 1;
            }
            i += run;
            if (nl == NULL)
                break;
            if ((err = complete_line(s)) != CF_OK)
                goto out;
            s->offset += s->raw + 1;
            s->raw = 0;
            s->len = 0;
            s->has_nul = 0;
            s->nul_mid = 0;
            s->overlong = 0;
            i++; /* the line end */
        }
    }
    /* End of file. */
    if (s->pending_bad && s->pending_zero && s->len == 0 && !s->overlong) {
        /* NUL bytes only, up to the end (a line end among them is a byte
         * the file system zeroed, like the rest): the NUL tail of a crash. */
        torn(s, s->pending_lineno, s->pending_offset, s->pending_bytes);
        goto out;
    }
    if (s->pending_bad) {
        /* A complete line that does not parse: its line end was written,
         * so it is damage, not a write cut short. */
        err = bad_line(s, s->pending_lineno, s->pending_why);
        goto out;
    }
    if (s->len > 0 || s->overlong) {
        /* Bytes after the last line end: a write cut short, if it has the
         * shape of one; else damage (or not a journal at all), and nothing
         * is cut. */
        const char *why = NULL;
        if (s->overlong || s->raw >= CF_JOURNAL_MAX_LINE)
            why = "an unfinished last line longer than any record";
        else if (s->nul_mid)
            why = "an unfinished last line with NUL bytes inside it";
        else if (s->line[0] != '{' && s->line[0] != '\0')
            why = "an unfinished last line that does not begin like a record";
        if (why != NULL) {
            err = bad_line(s, s->lineno + 1, why);
            goto out;
        }
        torn(s, s->lineno + 1, s->offset, s->raw);
    }
out:
    free(io);
    return err;
}

cf_err_t cf_journal_scan_fn(const char *name, cf_journal_read_fn read, void *rctx,
                            cf_journal_visit_fn visit, void *user, cf_journal_state_t *st,
                            cf_journal_info_t *info, cf_diag_list_t *diags)
{
    cf_journal_info_t local;
    struct scan s;
    memset(&s, 0, sizeof(s));
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof(*info));
    s.name = name;
    s.read = read;
    s.rctx = rctx;
    s.visit = visit;
    s.user = user;
    s.st = st;
    s.info = info;
    s.diags = diags;
    s.line = malloc(CF_JOURNAL_MAX_LINE);
    if (s.line == NULL || cf_journal_parser_init(&s.parser) != 0) {
        free(s.line);
        return CF_ERR_NOMEM;
    }
    cf_u64map_init_set(&s.card_attempts);
    cf_err_t err = scan_run(&s);
    cf_u64map_free(&s.card_attempts);
    free(s.seen);
    cf_journal_parser_free(&s.parser);
    free(s.line);
    if (err == CF_OK && info->torn)
        cf_diag_add(diags, CF_SEV_WARNING, name, info->torn_line,
                    "torn last line (%llu bytes without a complete record: a write cut short "
                    "by a crash); it is not used",
                    (unsigned long long)info->torn_bytes);
    return err;
}

struct fd_src {
    int fd;
    uint64_t off;
};

static ssize_t fd_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct fd_src *f = ctx;
    for (;;) {
        ssize_t n = pread(f->fd, buf, cap, (off_t)f->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            f->off += (uint64_t)n;
        return n;
    }
}

cf_err_t cf_journal_scan_fd(int fd, const char *name, cf_journal_visit_fn visit, void *user,
                            cf_journal_state_t *st, cf_journal_info_t *info, cf_diag_list_t *diags)
{
    struct fd_src f = {fd, 0};
    return cf_journal_scan_fn(name, fd_read, &f, visit, user, st, info, diags);
}

cf_err_t cf_journal_scan(const char *path, cf_journal_visit_fn visit, void *user,
                         cf_journal_state_t *st, cf_journal_info_t *info, cf_diag_list_t *diags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot open the journal: %s", strerror(e));
        return e == ENOENT ? CF_ERR_NOT_FOUND : CF_ERR_IO;
    }
    cf_err_t err = cf_journal_scan_fd(fd, path, visit, user, st, info, diags);
    close(fd);
    return err;
}

struct mem_src {
    const uint8_t *p;
    size_t len, off;
};

static ssize_t mem_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct mem_src *m = ctx;
    size_t n = m->len - m->off;
    if (n > cap)
        n = cap;
    if (n > 0)
        memcpy(buf, m->p + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

cf_err_t cf_journal_scan_mem(const char *name, const uint8_t *data, size_t len,
                             cf_journal_visit_fn visit, void *user, cf_journal_state_t *st,
                             cf_journal_info_t *info, cf_diag_list_t *diags)
{
    struct mem_src m = {data, len, 0};
    return cf_journal_scan_fn(name ? name : "<memory>", mem_read, &m, visit, user, st, info, diags);
}
