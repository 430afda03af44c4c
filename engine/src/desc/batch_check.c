/*
 * batch_check.c - a plan against a whole batch file, before any card.
 *
 * The header is checked once (every field the plan needs is a column or has
 * a default), then every record is resolved exactly as the runner will
 * resolve it, so a batch that passes here cannot fail later for a missing
 * or malformed value. The file is streamed: memory does not grow with the
 * number of records. Reports are capped per batch so a systematically
 * broken file of a million records gives a readable answer. Rows that
 * repeat an ID are errors (see id_seen).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

/* The ID column's values seen so far, as 64-bit digests (SHA-256, first 8
 * bytes), not the values: nothing of a row lingers, and memory is 8 to 16
 * bytes per record (16 MB for a million). Two rows for one holder would
 * make two cards with one holder's data. Two different IDs sharing a digest
 * would be reported as a repeat, naming both lines (odds about n^2 / 2^65).
 * The lines of the first rows are found by a second pass, only when there
 * are repeats. */
#define MAX_ID_REPEATS 100

struct id_seen {
    uint64_t *digest; /* 0 = empty slot */
    size_t cap, n;
    struct {
        uint64_t digest;
        unsigned long line, first;
    } rep[MAX_ID_REPEATS];
    size_t n_rep, total_rep;
};

static uint64_t id_digest(const char *id, size_t len)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    uint64_t d = 0;
    if (EVP_Digest(id, len, md, &mdlen, EVP_sha256(), NULL) == 1)
        memcpy(&d, md, sizeof(d));
    return d == 0 ? 1 : d;
}

/* 1 seen before, 0 new, -1 out of memory. */
static int id_add(struct id_seen *t, uint64_t d)
{
    if (4 * (t->n + 1) > 3 * t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 1024;
        uint64_t *nd = calloc(ncap, sizeof(*nd));
        if (nd == NULL)
            return -1;
        for (size_t i = 0; i < t->cap; i++) {
            if (t->digest[i] == 0)
                continue;
            size_t j = (size_t)(t->digest[i] & (ncap - 1));
            while (nd[j] != 0)
                j = (j + 1) & (ncap - 1);
            nd[j] = t->digest[i];
        }
        free(t->digest);
        t->digest = nd;
        t->cap = ncap;
    }
    size_t j = (size_t)(d & (t->cap - 1));
    while (t->digest[j] != 0) {
        if (t->digest[j] == d)
            return 1;
        j = (j + 1) & (t->cap - 1);
    }
    t->digest[j] = d;
    t->n++;
    return 0;
}

/* The second pass: the first line of each repeated ID, then one report per
 * repeat (the value is not shown: the ID column may be a field too). */
static void report_repeats(struct id_seen *t, const char *path, const char *name, long id_col,
                           cf_diag_list_t *diags)
{
    cf_csv_t *csv = NULL;
    if (cf_csv_open(path, NULL, &csv) == CF_OK) {
        const cf_csv_record_t *rec = NULL;
        while (cf_csv_next(csv, &rec) == CF_OK && rec != NULL) {
            size_t len = 0;
            const char *id = cf_csv_field(rec, (size_t)id_col, &len);
            if (id == NULL || len == 0)
                continue;
            uint64_t d = id_digest(id, len);
            for (size_t i = 0; i < t->n_rep; i++)
                if (t->rep[i].digest == d && t->rep[i].first == 0)
                    t->rep[i].first = cf_csv_record_line(rec);
        }
        cf_csv_free(csv);
    }
    for (size_t i = 0; i < t->n_rep; i++) {
        char earlier[48] = "an earlier row";
        if (t->rep[i].first != 0)
            snprintf(earlier, sizeof(earlier), "line %lu", t->rep[i].first);
        cf_diag_add(diags, CF_SEV_ERROR, name, t->rep[i].line,
                    "the ID of this row is the ID of %s: one holder would get two cards (give "
                    "a replacement card its own ID)",
                    earlier);
    }
    if (t->total_rep > t->n_rep)
        cf_diag_add(diags, CF_SEV_ERROR, name, 0,
                    "%zu rows repeat an earlier ID; only the first %d are listed", t->total_rep,
                    MAX_ID_REPEATS);
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
    /* A header that is one column holding another separator: the file was
     * written with ';' or a tab (a spreadsheet's habit), and every column
     * would be "missing". Say so once. */
    if (cf_csv_column_count(csv) == 1) {
        const char *h = cf_csv_column_name(csv, 0);
        const char *sep = strchr(h, ';') ? "';'" : strchr(h, '\t') ? "a tab" : NULL;
        if (sep != NULL) {
            cf_diag_add(diags, CF_SEV_ERROR, cf_csv_name(csv), 1,
                        "the header is a single column and holds %s: the batch must separate "
                        "its columns with commas (RFC 4180); export it as comma-separated",
                        sep);
            header_ok = 0;
        }
    }
    for (size_t i = 0; header_ok && i < cf_plan_field_count(plan); i++) {
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
            int n = snprintf(users + ulen, sizeof(users) - ulen, "%s%s in %s:%lu", ulen ? ", " : "",
                             cf_param_name((cf_param_t)p), cf_plan_name(plan),
                             cf_plan_param_line(plan, (cf_param_t)p));
            if (n > 0)
                ulen += (size_t)n;
        }
        for (size_t k = 0; k < cf_plan_cert_count(plan) && ulen < sizeof(users); k++) {
            cf_plan_cert_t pc;
            if (!cf_plan_cert_uses_field(plan, k, f) || !cf_plan_cert(plan, k, &pc))
                continue;
            int n = snprintf(users + ulen, sizeof(users) - ulen, "%s[Certificate_%s] in %s:%lu",
                             ulen ? ", " : "", pc.name, cf_plan_name(plan), pc.line);
            if (n > 0)
                ulen += (size_t)n;
        }
        cf_diag_add(diags, CF_SEV_ERROR, cf_csv_name(csv), 1,
                    "column %s is missing and the field has no default (needed by %s)", f, users);
        header_ok = 0;
    }

    size_t records = 0, bad_records = 0;
    struct lookup_ctx l = {csv, NULL};
    long id_col = cf_csv_column_index(csv, "ID");
    static const struct id_seen none;
    struct id_seen ids = none;
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
        size_t idlen = 0;
        const char *id = id_col >= 0 ? cf_csv_field(rec, (size_t)id_col, &idlen) : NULL;
        if (id != NULL && idlen > 0) {
            uint64_t dg = id_digest(id, idlen);
            int seen = id_add(&ids, dg);
            if (seen < 0) {
                err = CF_ERR_NOMEM;
                break;
            }
            if (seen && ids.total_rep++ < MAX_ID_REPEATS) {
                ids.rep[ids.n_rep].digest = dg;
                ids.rep[ids.n_rep].line = cf_csv_record_line(rec);
                ids.rep[ids.n_rep++].first = 0;
            }
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
    free(ids.digest);
    if (ids.total_rep > 0 && err == CF_OK)
        report_repeats(&ids, cf_csv_name(csv), cf_csv_name(csv), id_col, diags);
    if (records_out)
        *records_out = records;
    if (err != CF_OK)
        return err;
    return cf_diag_errors(diags) > errors_before ? CF_ERR_INVALID : CF_OK;
}
