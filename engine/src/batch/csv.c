/*
 * csv.c - the batch CSV reader's public face (batch.h): opening a source,
 * checking the header, handing out records.
 *
 * The reader owns two fixed buffers, the input buffer (csv_input.c) and the
 * record buffer (csv_reader.h); both are allocated at open and wiped on
 * free, because a batch carries PINs and keys. Blank lines between records
 * are handled here rather than in the parser because the verdict needs
 * look-ahead: blank lines at the end of a file are harmless, in the middle
 * they are reported once per run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cardforge/batch.h>
#include <cardforge/secret.h>

#include "batch/csv_input.h"
#include "batch/csv_internal.h"
#include "batch/csv_reader.h"
#include "util/file.h"

/* ---- header ------------------------------------------------------------ */

/* Validate the names just parsed and keep a copy. CF_OK or CF_ERR_PARSE. */
static cf_err_t take_header(cf_csv_t *r)
{
    const char *buf = (const char *)r->rbuf;
    int bad = 0;
    for (size_t i = 0; i < r->nfields; i++) {
        const char *name = buf + r->fields[i].off;
        size_t len = r->fields[i].len;
        if (len == 0) {
            cf_diag_add(r->diags, CF_SEV_ERROR, r->name, r->rec_line,
                        "header column %zu has an empty name; give every "
                        "column a name",
                        i + 1);
            bad = 1;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if (r->fields[j].len == len && memcmp(buf + r->fields[j].off, name, len) == 0) {
                if (cf_csv_name_printable(name, len))
                    cf_diag_add(r->diags, CF_SEV_ERROR, r->name, r->rec_line,
                                "header column %zu has the same name as column "
                                "%zu (%s); column names must be unique",
                                i + 1, j + 1, name);
                else
                    cf_diag_add(r->diags, CF_SEV_ERROR, r->name, r->rec_line,
                                "header column %zu has the same name as column "
                                "%zu; column names must be unique",
                                i + 1, j + 1);
                bad = 1;
                break;
            }
        }
        if (name[0] == ' ' || name[0] == '\t' || name[len - 1] == ' ' ||
            name[len - 1] == '\t')
            cf_diag_add(r->diags, CF_SEV_WARNING, r->name, r->rec_line,
                        "header column %zu has a name that starts or ends with "
                        "a space or tab; names are matched exactly, spaces included",
                        i + 1);
    }
    if (bad)
        return CF_ERR_PARSE;
    r->hdr_buf = malloc(r->rused);
    if (r->hdr_buf == NULL)
        return CF_ERR_NOMEM;
    memcpy(r->hdr_buf, r->rbuf, r->rused);
    memcpy(r->hdr, r->fields, r->nfields * sizeof(r->hdr[0]));
    r->ncols = r->nfields;
    return CF_OK;
}

static cf_err_t read_header(cf_csv_t *r)
{
    size_t avail;
    if (cf_csv_input_ensure(&r->in, 3, &avail) < 0) {
        cf_csv_read_failed(r);
        return CF_ERR_IO;
    }
    /* A UTF-8 byte order mark, written by some spreadsheet exports. */
    if (avail >= 3 && memcmp(r->in.win + r->in.pos, "\xef\xbb\xbf", 3) == 0)
        r->in.pos += 3;
    if (cf_csv_input_ensure(&r->in, 1, &avail) < 0) {
        cf_csv_read_failed(r);
        return CF_ERR_IO;
    }
    if (avail == 0) {
        cf_diag_add(r->diags, CF_SEV_ERROR, r->name, 1,
                    "the file is empty; the first line must be a header row "
                    "naming the columns");
        return CF_ERR_PARSE;
    }
    r->is_header = 1;
    enum cf_csv_pr res = cf_csv_parse_record(r);
    r->is_header = 0;
    switch (res) {
    case PR_IO:
        return CF_ERR_IO;
    case PR_BLANK:
    case PR_EOF:
        cf_diag_add(r->diags, CF_SEV_ERROR, r->name, 1,
                    "line 1 is blank; the first line must be a header row "
                    "naming the columns");
        return CF_ERR_PARSE;
    case PR_MORE:
    case PR_RECORD:
        break;
    }
    if (r->bad)
        return CF_ERR_PARSE;
    return take_header(r);
}

/* ---- public API -------------------------------------------------------- */

static cf_err_t reader_new(const char *name, cf_diag_list_t *diags, cf_csv_t **out)
{
    cf_csv_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return CF_ERR_NOMEM;
    r->fd = -1;
    r->diags = diags;
    r->line = 1;
    r->name = strdup(name);
    r->rbuf = malloc(CF_CSV_RBUF_SIZE);
    if (r->name == NULL || r->rbuf == NULL) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    *out = r;
    return CF_OK;
}

/* Read the header of a reader whose input is set up; frees it on failure. */
static cf_err_t finish_open(cf_csv_t *r, cf_csv_t **out)
{
    cf_err_t err = read_header(r);
    if (err != CF_OK) {
        cf_csv_free(r);
        return err;
    }
    *out = r;
    return CF_OK;
}

cf_err_t cf_csv_open_reader(const char *name, cf_csv_read_fn fn, void *ctx,
                            size_t bufsize, cf_diag_list_t *diags, cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (fn == NULL)
        return CF_ERR_ARG;
    cf_csv_t *r;
    cf_err_t err = reader_new(name != NULL ? name : "<input>", diags, &r);
    if (err != CF_OK)
        return err;
    if (cf_csv_input_reader(&r->in, fn, ctx, bufsize) < 0) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    return finish_open(r, out);
}

cf_err_t cf_csv_open_fd(int fd, const char *name, cf_diag_list_t *diags,
                        cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (fd < 0)
        return CF_ERR_ARG;
    cf_csv_t *r;
    cf_err_t err = reader_new(name != NULL ? name : "<input>", diags, &r);
    if (err != CF_OK)
        return err;
    r->fd = fd;
    if (cf_csv_input_reader(&r->in, cf_csv_read_fd, &r->fd, CF_CSV_IOBUF_SIZE) < 0) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    return finish_open(r, out);
}

cf_err_t cf_csv_open(const char *path, cf_diag_list_t *diags, cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (path == NULL)
        return CF_ERR_ARG;
    struct stat st;
    char why[128];
    int fd = cf_open_regular(path, &st, why, sizeof(why));
    if (fd < 0) {
        int e = errno;
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot open the batch file: %s", why);
        return e == ENOENT ? CF_ERR_NOT_FOUND : CF_ERR_IO;
    }
    cf_csv_t *r;
    cf_err_t err = reader_new(path, diags, &r);
    if (err != CF_OK) {
        close(fd);
        return err;
    }
    r->fd = fd;
    r->own_fd = 1;
    r->fd = fd;
    if (cf_csv_input_reader(&r->in, cf_csv_read_fd, &r->fd, CF_CSV_IOBUF_SIZE) < 0) {
        cf_csv_free(r);
        return CF_ERR_NOMEM;
    }
    return finish_open(r, out);
}

cf_err_t cf_csv_open_mem(const char *name, const uint8_t *data, size_t len,
                         cf_diag_list_t *diags, cf_csv_t **out)
{
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (data == NULL && len > 0)
        return CF_ERR_ARG;
    cf_csv_t *r;
    cf_err_t err = reader_new(name != NULL ? name : "<memory>", diags, &r);
    if (err != CF_OK)
        return err;
    cf_csv_input_mem(&r->in, data, len);
    return finish_open(r, out);
}

void cf_csv_free(cf_csv_t *r)
{
    if (r == NULL)
        return;
    if (r->rbuf != NULL) {
        cf_wipe(r->rbuf, CF_CSV_RBUF_SIZE);
        free(r->rbuf);
    }
    cf_csv_input_fini(&r->in);
    if (r->own_fd)
        close(r->fd);
    free(r->hdr_buf);
    free(r->name);
    free(r);
}

const char *cf_csv_name(const cf_csv_t *r)
{
    return r != NULL ? r->name : NULL;
}

size_t cf_csv_column_count(const cf_csv_t *r)
{
    return r != NULL ? r->ncols : 0;
}

const char *cf_csv_column_name(const cf_csv_t *r, size_t i)
{
    if (r == NULL || i >= r->ncols)
        return NULL;
    return r->hdr_buf + r->hdr[i].off;
}

long cf_csv_column_index(const cf_csv_t *r, const char *name)
{
    if (r == NULL || name == NULL)
        return -1;
    size_t len = strlen(name);
    for (size_t i = 0; i < r->ncols; i++)
        if (r->hdr[i].len == len && memcmp(r->hdr_buf + r->hdr[i].off, name, len) == 0)
            return (long)i;
    return -1;
}

cf_err_t cf_csv_next(cf_csv_t *r, const cf_csv_record_t **rec)
{
    if (rec != NULL)
        *rec = NULL;
    if (r == NULL || rec == NULL)
        return CF_ERR_ARG;
    /* The previous record's values are wiped whatever happens next. */
    cf_wipe(r->rbuf, r->rused);
    r->rused = 0;
    if (r->io_failed)
        return CF_ERR_IO;

    unsigned long first_blank = r->line, blanks;
    if (cf_csv_skip_blank_lines(r, &blanks) < 0) {
        cf_csv_read_failed(r);
        return CF_ERR_IO;
    }
    if (blanks > 0) {
        size_t avail;
        if (cf_csv_input_ensure(&r->in, 1, &avail) < 0) {
            cf_csv_read_failed(r);
            return CF_ERR_IO;
        }
        if (avail == 0) /* blank lines at the end of the file are harmless */
            return CF_OK;
        if (blanks == 1)
            cf_diag_add(r->diags, CF_SEV_ERROR, r->name, first_blank,
                        "blank line between records; remove it");
        else
            cf_diag_add(r->diags, CF_SEV_ERROR, r->name, first_blank,
                        "lines %lu-%lu are blank; remove the blank lines "
                        "between records",
                        first_blank, first_blank + blanks - 1);
        return CF_ERR_PARSE;
    }

    switch (cf_csv_parse_record(r)) {
    case PR_IO:
        return CF_ERR_IO;
    case PR_EOF:
        return CF_OK;
    case PR_BLANK: /* not reached: blank lines were skipped above */
    case PR_MORE:
        return CF_ERR_INTERNAL;
    case PR_RECORD:
        break;
    }
    r->records = r->index;
    if (r->bad)
        return CF_ERR_PARSE;
    r->rec.index = r->index;
    r->rec.line = r->rec_line;
    r->rec.nfields = r->nfields;
    r->rec.fields = r->fields;
    r->rec.buf = (const char *)r->rbuf;
    *rec = &r->rec;
    return CF_OK;
}

size_t cf_csv_record_index(const cf_csv_record_t *rec)
{
    return rec != NULL ? rec->index : 0;
}

unsigned long cf_csv_record_line(const cf_csv_record_t *rec)
{
    return rec != NULL ? rec->line : 0;
}

const char *cf_csv_field(const cf_csv_record_t *rec, size_t col, size_t *len)
{
    if (rec == NULL || col >= rec->nfields) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = rec->fields[col].len;
    return rec->buf + rec->fields[col].off;
}
