/*
 * put_aside.c - copies of a journal the writer had to put aside; see
 * put_aside.h for why a run refuses a journal that has one.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/put_aside.h"

#define SUFFIX ".restore-"

int cf_journal_put_aside_name(const char *path, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s" SUFFIX "%ld", path, (long)getpid());
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* 1 when name is base SUFFIX followed by one or more digits. */
static int is_copy_of(const char *name, const char *base)
{
    size_t bl = strlen(base), sl = strlen(SUFFIX);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, SUFFIX, sl) != 0)
        return 0;
    const char *d = name + bl + sl;
    if (*d == '\0')
        return 0;
    for (; *d; d++)
        if (*d < '0' || *d > '9')
            return 0;
    return 1;
}

cf_err_t cf_journal_check_put_aside(const char *path, cf_diag_list_t *diags)
{
    char *a = strdup(path), *b = strdup(path);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return CF_ERR_NOMEM;
    }
    const char *dir = dirname(a), *base = basename(b);
    cf_err_t e = CF_OK;
    DIR *d = opendir(dir);
    /* A directory that cannot be listed: the journal's own open reports
     * what is wrong with it. */
    if (d != NULL) {
        const struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            if (!is_copy_of(ent->d_name, base))
                continue;
            cf_diag_add(diags, CF_SEV_ERROR, path, 0,
                        "%s/%s holds this journal's content, put aside when the journal was "
                        "replaced during a run; the file now at %s may be an older copy, and a "
                        "run on it could personalize records a second time. Find out which is "
                        "the journal, put it at %s, move the other away, and run again",
                        dir, ent->d_name, path, path);
            e = CF_ERR_INVALID;
            break;
        }
        closedir(d);
    }
    free(a);
    free(b);
    return e;
}
