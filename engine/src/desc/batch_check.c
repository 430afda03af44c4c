/*
 * batch_check.c - a plan against a whole batch file, before any card.
 *
 * The header is checked once (every field the plan needs is a column or has
 * a default), then every record is resolved exactly as the runner will
 * resolve it, so a batch that passes here cannot fail later for a missing
 * or malformed value. The file is streamed: memory does not grow with the
 * number of records. Reports are capped per batch so a systematically
 * broken file of a million records gives a readable answer.
 */
#include <stdio.h>
#include <string.h>

#include <cardforge/batch.h>
#include <cardforge/plan.h>

#define MAX_RECORD_REPORTS 100

struct lookup_ctx {
    const cf_csv_t *csv;
    const cf_csv_record_t *rec;
};

static const char *lookup(void *ctx, const char *field, size_t *len)
{
    struct lookup_ctx *l = ctx;
    long col = cf_csv_column_index(l->csv, field);
    if (col < 0)
        return NULL;
    return cf_csv_field(l->rec, (size_t)col, len);
}

cf_err_t cf_plan_check_batch(const cf_plan_t *plan, const char *csv_path, cf_diag_list_t *diags,
                             size_t *records_out)
{
    if (records_out)
        *records_out = 0;
    cf_csv_t *csv = NULL;
    cf_err_t err = cf_csv_open(csv_path, diags, &csv);
    if (err != CF_OK)
        return err == CF_ERR_IO || err == CF_ERR_NOT_FOUND ? CF_ERR_IO : CF_ERR_INVALID;
    err = cf_plan_check_batch_csv(plan, csv, diags, records_out);
    cf_csv_free(csv);
    return err;
}

cf_err_t cf_plan_check_batch_csv(const cf_plan_t *plan, cf_csv_t *csv, cf_diag_list_t *diags,
                                 size_t *records_out)
{
    if (records_out)
        *records_out = 0;
    size_t errors_before = cf_diag_errors(diags);
    cf_err_t err = CF_OK;
    int header_ok = 1;
    for (size_t i = 0; i < cf_plan_field_count(plan); i++) {
        const char *f = cf_plan_field_name(plan, i);
        if (cf_csv_column_index(csv, f) >= 0 || cf_plan_field_has_default(plan, i))
            continue;
        /* Name the parameters that need the field, with their lines. */
        char users[256] = "";
        size_t ulen = 0;
        for (int p = 0; p < CF_PARAM_COUNT; p++) {
            const char *pf = cf_plan_param_field(plan, (cf_param_t)p);
            if (pf == NULL || strcmp(pf, f) != 0 || ulen >= sizeof(users))
                continue;
            int n = snprintf(users + ulen, sizeof(users) - ulen, "%s%s in %s:%lu",
                             ulen ? ", " : "", cf_param_name((cf_param_t)p), cf_plan_name(plan),
                             cf_plan_param_line(plan, (cf_param_t)p));
            if (n > 0)
                ulen += (size_t)n;
        }
        cf_diag_add(diags, CF_SEV_ERROR, cf_csv_name(csv), 1,
                    "column %s is missing and the field has no default (needed by %s)", f,
                    users);
        header_ok = 0;
    }

    size_t records = 0, bad_records = 0;
    struct lookup_ctx l = {csv, NULL};
    for (;;) {
        const cf_csv_record_t *rec = NULL;
        size_t before = cf_diag_errors(diags);
        cf_err_t e = cf_csv_next(csv, &rec);
        if (e == CF_OK && rec == NULL)
            break;
        if (e == CF_ERR_IO) {
            err = CF_ERR_IO;
            break;
        }
        records++;
        if (e != CF_OK) {
            bad_records++;
            continue;
        }
        if (!header_ok)
            continue; /* every record would repeat the header's problem */
        l.rec = rec;
        cf_diag_list_t *sink = bad_records < MAX_RECORD_REPORTS ? diags : NULL;
        /* Check only (no out): no secret is copied for a record nobody uses. */
        cf_err_t r = cf_plan_resolve(plan, lookup, &l, NULL, NULL, cf_csv_name(csv),
                                     cf_csv_record_line(rec), sink, NULL);
        if (r == CF_ERR_NOMEM) {
            err = CF_ERR_NOMEM;
            break;
        }
        if (r != CF_OK || cf_diag_errors(diags) > before)
            bad_records++;
    }
    if (bad_records > MAX_RECORD_REPORTS)
        cf_diag_add(diags, CF_SEV_ERROR, cf_csv_name(csv), 0,
                    "%zu records have errors; only the first %d are listed", bad_records,
                    MAX_RECORD_REPORTS);
    if (records == 0 && err == CF_OK)
        cf_diag_add(diags, CF_SEV_ERROR, cf_csv_name(csv), 0, "the batch has no records");
    if (records_out)
        *records_out = records;
    if (err != CF_OK)
        return err;
    return cf_diag_errors(diags) > errors_before ? CF_ERR_INVALID : CF_OK;
}
