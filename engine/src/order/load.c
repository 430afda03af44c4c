/*
 * load.c - a batch into a new order.
 *
 * The file is read once into memory: its SHA-256, the validation (the very
 * check `run` makes) and the records stored all come from the same bytes,
 * so the order's fingerprint names exactly what was checked. The bytes hold
 * PINs and keys: they are wiped before the memory is freed, and only the
 * record number, its line and its ID column reach the database (COPY, in
 * the same transaction as the order's row: an order is there whole or not
 * at all).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cardforge/batch.h>
#include <cardforge/secret.h>

#include "order/order_int.h"
#include "util/file.h"

/* Big enough for some millions of records; a file over it is refused
 * rather than swapped through. */
#define MAX_BATCH_BYTES (2048ull * 1024 * 1024)

struct batch_bytes {
    uint8_t *data;
    size_t len;
    char sha256[65];
};

static void batch_bytes_free(struct batch_bytes *b)
{
    if (b->data != NULL) {
        cf_wipe(b->data, b->len);
        free(b->data);
    }
    b->data = NULL;
}

static cf_err_t read_batch(const char *path, struct batch_bytes *b, cf_diag_list_t *diags)
{
    struct stat st;
    char why[128];
    int fd = cf_open_regular(path, &st, why, sizeof(why));
    if (fd < 0) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot read the batch: %s", why);
        return CF_ERR_IO;
    }
    if ((unsigned long long)st.st_size > MAX_BATCH_BYTES) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "the batch is larger than %llu MiB",
                    MAX_BATCH_BYTES >> 20);
        close(fd);
        return CF_ERR_INVALID;
    }
    size_t cap = (size_t)st.st_size + 1; /* one more: a file that grew is seen */
    b->data = malloc(cap);
    if (b->data == NULL) {
        close(fd);
        return CF_ERR_NOMEM;
    }
    cf_err_t e = CF_OK;
    while (b->len < cap) {
        ssize_t n = read(fd, b->data + b->len, cap - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cf_diag_add(diags, CF_SEV_ERROR, path, 0, "cannot read the batch: %s", strerror(errno));
            e = CF_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    close(fd);
    if (e == CF_OK && b->len != (size_t)st.st_size) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0,
                    "the file changed while it was read: leave the batch alone while it loads");
        e = CF_ERR_IO;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (e == CF_OK &&
        (EVP_Digest(b->data, b->len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32))
        e = CF_ERR_CRYPTO;
    for (unsigned i = 0; e == CF_OK && i < 32; i++)
        snprintf(b->sha256 + 2 * i, 3, "%02x", md[i]);
    if (e != CF_OK)
        batch_bytes_free(b);
    return e;
}

/* Room for n more bytes in the growing COPY buffer. */
static int reserve(char **buf, size_t len, size_t *cap, size_t n)
{
    if (len + n <= *cap)
        return 0;
    size_t want = (*cap ? *cap * 2 : 65536) + n;
    char *p = realloc(*buf, want);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = want;
    return 0;
}

/* Append s[0..n) to a COPY text row, escaping what COPY's text format gives
 * a meaning to, and leave room for the row's end. */
static int copy_text(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (reserve(buf, *len, cap, 2 * n + 2) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            (*buf)[(*len)++] = '\\';
            c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        }
        (*buf)[(*len)++] = c;
    }
    return 0;
}

/* The ID column goes to the database only when it is not one of the plan's
 * fields (a field may carry a PIN): the rule the journal follows. -1: none. */
static long id_column(const cf_plan_t *plan, const cf_csv_t *csv)
{
    for (size_t i = 0; i < cf_plan_field_count(plan); i++)
        if (strcmp(cf_plan_field_name(plan, i), "ID") == 0)
            return -1;
    return cf_csv_column_index(csv, "ID");
}

/* COPY the records (number, line, ID) of the validated bytes into the
 * order. Flushes every 64 KiB or so. */
static cf_err_t copy_records(struct cf_order_db *db, const char *order_id, const cf_plan_t *plan,
                             const struct batch_bytes *b, const char *batch_path,
                             cf_diag_list_t *diags)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "COPY cf_record (order_id, record, line, card_id) FROM STDIN");
    PGresult *r = pq_exec(db, "storing the records", sql, diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    PQclear(r);
    cf_csv_t *csv = NULL;
    cf_err_t e = cf_csv_open_mem(batch_path, b->data, b->len, NULL, &csv);
    long id_col = e == CF_OK ? id_column(plan, csv) : -1;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const cf_csv_record_t *rec = NULL;
    while (e == CF_OK && (e = cf_csv_next(csv, &rec)) == CF_OK && rec != NULL) {
        char head[96];
        int hn = snprintf(head, sizeof(head), "%s\t%zu\t%lu\t", order_id, cf_csv_record_index(rec),
                          cf_csv_record_line(rec));
        size_t idlen = 0;
        const char *id = id_col >= 0 ? cf_csv_field(rec, (size_t)id_col, &idlen) : "";
        /* The numbers and their tabs as they are; the ID escaped. */
        if (reserve(&buf, len, &cap, (size_t)hn) != 0) {
            e = CF_ERR_NOMEM;
            break;
        }
        memcpy(buf + len, head, (size_t)hn);
        len += (size_t)hn;
        if (copy_text(&buf, &len, &cap, id ? id : "", id ? idlen : 0) != 0) {
            e = CF_ERR_NOMEM;
            break;
        }
        buf[len++] = '\n'; /* copy_text left room */
        if (len >= 60000) {
            if (PQputCopyData(db->conn, buf, (int)len) != 1)
                e = CF_ERR_DATABASE;
            len = 0;
        }
    }
    if (e == CF_OK && len > 0 && PQputCopyData(db->conn, buf, (int)len) != 1)
        e = CF_ERR_DATABASE;
    free(buf);
    cf_csv_free(csv);
    /* End the COPY whatever happened: a failed one is aborted, not left
     * hanging on the connection. */
    if (PQputCopyEnd(db->conn, e == CF_OK ? NULL : "cardforge stopped the load") != 1)
        e = CF_ERR_DATABASE;
    while ((r = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && e == CF_OK) {
            cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "storing the records: %s",
                        PQresultErrorMessage(r));
            e = CF_ERR_DATABASE;
        }
        PQclear(r);
    }
    if (e != CF_OK && cf_diag_errors(diags) == 0)
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "storing the records: %s",
                    e == CF_ERR_DATABASE ? PQerrorMessage(db->conn) : cf_strerror(e));
    return e;
}

/* The order's row and its records, in one transaction. */
struct load_tx {
    const char *const *vals; /* the order's row: name .. record count */
    const char *name;
    const cf_plan_t *plan;
    const struct batch_bytes *b;
    const char *batch_path;
    cf_diag_list_t *diags;
};

static cf_err_t load_tx(struct cf_order_db *db, void *user)
{
    struct load_tx *t = user;
    PGresult *r = pq_exec_params(db, "creating the order",
                                 "INSERT INTO cf_order (name, description_name, "
                                 "description_sha256, batch_name, batch_sha256, records) VALUES "
                                 "($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING "
                                 "RETURNING id",
                                 6, t->vals, t->diags);
    cf_err_t e;
    if (r == NULL) {
        e = CF_ERR_DATABASE;
    } else if (PQntuples(r) != 1) {
        cf_diag_add(t->diags, CF_SEV_ERROR, db->where, 0,
                    "an order named '%s' exists already: give the new one its own name", t->name);
        e = CF_ERR_ALREADY_DONE;
    } else {
        e = copy_records(db, PQgetvalue(r, 0, 0), t->plan, t->b, t->batch_path, t->diags);
    }
    PQclear(r);
    return e;
}

cf_err_t cf_order_load(cf_order_db_t *db, const char *name, const cf_plan_t *plan,
                       const char *batch_path, cf_diag_list_t *diags, size_t *records_out)
{
    if (records_out)
        *records_out = 0;
    if (!order_name_ok(name, diags))
        return CF_ERR_INVALID;
    cf_err_t e = order_schema_check(db, diags);
    if (e != CF_OK)
        return e;
    struct batch_bytes b = {0};
    if ((e = read_batch(batch_path, &b, diags)) != CF_OK)
        return e;
    cf_csv_t *csv = NULL;
    size_t records = 0;
    e = cf_csv_open_mem(batch_path, b.data, b.len, diags, &csv);
    if (e == CF_OK)
        e = cf_plan_check_batch_csv(plan, csv, diags, &records);
    else
        e = e == CF_ERR_NOMEM ? e : CF_ERR_INVALID;
    cf_csv_free(csv);
    if (e != CF_OK) {
        batch_bytes_free(&b);
        return e == CF_ERR_IO ? CF_ERR_IO : e == CF_ERR_NOMEM ? e : CF_ERR_INVALID;
    }
    char count[24];
    snprintf(count, sizeof(count), "%zu", records);
    const char *vals[6] = {name,       cf_plan_name(plan), cf_plan_sha256(plan),
                           batch_path, b.sha256,           count};
    struct load_tx t = {.vals = vals,
                        .name = name,
                        .plan = plan,
                        .b = &b,
                        .batch_path = batch_path,
                        .diags = diags};
    char why[512] = "";
    e = pq_transaction(db, "loading the order", load_tx, &t, why, sizeof(why));
    if (why[0])
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "%s", why);
    if (e == CF_OK && records_out)
        *records_out = records;
    batch_bytes_free(&b);
    return e;
}
