/*
 * diag.c - a growable list of file:line diagnostics.
 *
 * Adding never fails from the caller's point of view: validators keep going
 * after an allocation failure and the list remembers it, so the final
 * verdict can still say "invalid (out of memory while reporting)".
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/diag.h>

struct diag {
    cf_severity_t sev;
    unsigned long line;
    char *file;
    char *msg;
};

struct cf_diag_list {
    struct diag *items;
    size_t count, cap;
    size_t errors, warnings;
    int oom;
};

cf_diag_list_t *cf_diag_list_new(void)
{
    return calloc(1, sizeof(cf_diag_list_t));
}

void cf_diag_list_free(cf_diag_list_t *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].file);
        free(list->items[i].msg);
    }
    free(list->items);
    free(list);
}

void cf_diag_add(cf_diag_list_t *list, cf_severity_t sev, const char *file,
                 unsigned long line, const char *fmt, ...)
{
    if (list == NULL)
        return;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct diag *n = realloc(list->items, cap * sizeof(*n));
        if (n == NULL) {
            list->oom = 1;
            return;
        }
        list->items = n;
        list->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    struct diag *d = &list->items[list->count];
    d->sev = sev;
    d->line = line;
    d->file = strdup(file ? file : "<input>");
    d->msg = strdup(buf);
    if (d->file == NULL || d->msg == NULL) {
        free(d->file);
        free(d->msg);
        list->oom = 1;
        return;
    }
    list->count++;
    if (sev == CF_SEV_ERROR)
        list->errors++;
    else
        list->warnings++;
}

size_t cf_diag_count(const cf_diag_list_t *list)
{
    return list ? list->count : 0;
}

size_t cf_diag_errors(const cf_diag_list_t *list)
{
    return list ? list->errors : 0;
}

size_t cf_diag_warnings(const cf_diag_list_t *list)
{
    return list ? list->warnings : 0;
}

int cf_diag_list_oom(const cf_diag_list_t *list)
{
    return list ? list->oom : 0;
}

cf_severity_t cf_diag_severity(const cf_diag_list_t *list, size_t i)
{
    return list->items[i].sev;
}

const char *cf_diag_file(const cf_diag_list_t *list, size_t i)
{
    return list->items[i].file;
}

unsigned long cf_diag_line(const cf_diag_list_t *list, size_t i)
{
    return list->items[i].line;
}

const char *cf_diag_message(const cf_diag_list_t *list, size_t i)
{
    return list->items[i].msg;
}

void cf_diag_sort(cf_diag_list_t *list)
{
    if (list == NULL)
        return;
    /* Insertion sort: lists are short, and it is stable. */
    for (size_t i = 1; i < list->count; i++) {
        struct diag d = list->items[i];
        size_t j = i;
        while (j > 0) {
            const struct diag *p = &list->items[j - 1];
            int fc = strcmp(p->file, d.file);
            if (fc < 0 || (fc == 0 && p->line <= d.line))
                break;
            list->items[j] = list->items[j - 1];
            j--;
        }
        list->items[j] = d;
    }
}

void cf_diag_print(const cf_diag_list_t *list, FILE *out)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++) {
        const struct diag *d = &list->items[i];
        const char *kind = d->sev == CF_SEV_ERROR ? "error" : "warning";
        if (d->line > 0)
            fprintf(out, "%s:%lu: %s: %s\n", d->file, d->line, kind, d->msg);
        else
            fprintf(out, "%s: %s: %s\n", d->file, kind, d->msg);
    }
    if (list->oom)
        fprintf(out, "(out of memory: some diagnostics were lost)\n");
}
