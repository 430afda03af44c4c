/*
 * journal_key.c - a card's master key and version from the journals
 * (journal_key.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cardforge/diag.h>
#include <cardforge/journal.h>

#include "journal_key.h"

struct find {
    const char *serial; /* normalized */
    const char *path;
    journal_key_t *best;
};

static cf_err_t visit(void *user, const cf_journal_entry_t *e)
{
    struct find *f = user;
    char norm[CF_KEYS_SERIAL_MAX + 1];
    if (e->kind != CF_JOURNAL_CARD ||
        cf_keys_serial_normalize(e->card.serial, norm, sizeof(norm)) != CF_OK ||
        strcmp(norm, f->serial) != 0)
        return CF_OK;
    /* Within a journal later lines are later attempts; across journals the
     * attempt's end time decides. */
    if (f->best->line != 0 && f->best->path != f->path && e->card.end < f->best->time)
        return CF_OK;
    for (size_t i = 0; i < e->card.n_steps; i++) {
        const cf_journal_step_t *st = &e->card.steps[i];
        if (strcmp(st->step, "rotate-admin-key") != 0 || strcmp(st->reached, "no") == 0)
            continue;
        if (strcmp(st->source, "derived") != 0 || st->master_key[0] == 0 ||
            strlen(st->master_key) > CF_KEYS_NAME_MAX)
            continue;
        journal_key_t *k = f->best;
        snprintf(k->key, sizeof(k->key), "%s", st->master_key);
        k->version = st->master_version;
        k->path = f->path;
        k->line = e->lineno;
        k->time = e->card.end;
        k->unknown = strcmp(st->reached, "yes") != 0 || strcmp(st->outcome, "failed") == 0;
    }
    return CF_OK;
}

cf_err_t journal_key_find(const char *const *paths, size_t n, const char *serial, journal_key_t *k,
                          char *err, size_t errlen)
{
    memset(k, 0, sizeof(*k));
    if (errlen > 0)
        err[0] = 0;
    for (size_t i = 0; i < n; i++) {
        cf_diag_list_t *diags = cf_diag_list_new();
        if (diags == NULL)
            return CF_ERR_NOMEM;
        struct find f = {serial, paths[i], k};
        cf_journal_info_t info;
        cf_err_t e = cf_journal_scan(paths[i], visit, &f, NULL, &info, diags);
        if (e != CF_OK) {
            size_t nd = cf_diag_count(diags);
            snprintf(err, errlen, "%s: %s", paths[i],
                     nd > 0 ? cf_diag_message(diags, nd - 1) : cf_strerror(e));
        }
        cf_diag_list_free(diags);
        if (e != CF_OK)
            return e;
    }
    return CF_OK;
}

void journal_key_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "(unknown time)");
}
