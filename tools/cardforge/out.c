/*
 * out.c - see out.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "out.h"

void out_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void out_json_string_or_null(FILE *f, const char *s)
{
    if (s == NULL || s[0] == 0)
        fputs("null", f);
    else
        out_json_string(f, s);
}

void out_json_key(FILE *f, const char *key)
{
    out_json_string(f, key);
    fputc(':', f);
}

void out_json_member(FILE *f, const char *key, const char *s)
{
    fputc(',', f);
    out_json_key(f, key);
    out_json_string(f, s);
}

void out_json_diags(FILE *f, const cf_diag_list_t *diags)
{
    fputc('[', f);
    for (size_t i = 0; diags != NULL && i < cf_diag_count(diags); i++) {
        fputs(i ? ",{" : "{", f);
        out_json_key(f, "severity");
        out_json_string(f, cf_diag_severity(diags, i) == CF_SEV_ERROR ? "error" : "warning");
        fputc(',', f);
        out_json_key(f, "file");
        out_json_string_or_null(f, cf_diag_file(diags, i));
        fputc(',', f);
        out_json_key(f, "line");
        if (cf_diag_line(diags, i) != 0)
            fprintf(f, "%lu", cf_diag_line(diags, i));
        else
            fputs("null", f);
        out_json_member(f, "message", cf_diag_message(diags, i));
        fputc('}', f);
    }
    fputc(']', f);
}

int out_doc_open(struct out_doc *d)
{
    d->buf = NULL;
    d->len = 0;
    d->f = open_memstream(&d->buf, &d->len);
    return d->f ? 0 : -1;
}

int out_doc_emit(struct out_doc *d)
{
    int bad = d->f == NULL || ferror(d->f);
    if (d->f != NULL && fclose(d->f) != 0)
        bad = 1;
    d->f = NULL;
    if (!bad && (fwrite(d->buf, 1, d->len, stdout) != d->len || fputc('\n', stdout) == EOF ||
                 fflush(stdout) != 0))
        bad = 1;
    free(d->buf);
    d->buf = NULL;
    return bad ? -1 : 0;
}

void out_doc_discard(struct out_doc *d)
{
    if (d->f != NULL)
        fclose(d->f);
    d->f = NULL;
    free(d->buf);
    d->buf = NULL;
}

int out_doc_write(const char *cmd, void (*fill)(FILE *f, const void *ctx), const void *ctx)
{
    struct out_doc doc;
    int bad = out_doc_open(&doc) != 0;
    if (!bad) {
        fill(doc.f, ctx);
        bad = out_doc_emit(&doc) != 0;
    }
    if (bad)
        fprintf(stderr, "%s: cannot write the JSON document\n", cmd);
    return bad ? -1 : 0;
}

FILE *out_open_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}
