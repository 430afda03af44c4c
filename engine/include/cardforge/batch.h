/*
 * batch.h - streaming reader for batch files: RFC 4180 CSV, one record per card.
 *
 * A batch file is a header row naming the columns, then one record per card.
 * The reader holds one record at a time in a fixed-size buffer, so memory
 * does not grow with the number of records: a million-card batch is read
 * with the same few hundred KiB as a ten-card one. Columns may hold PINs and
 * keys, so the record buffer is wiped before it is reused and when the
 * reader is freed, and no message ever quotes a field value: diagnostics
 * name the record, line and column instead.
 *
 * Malformed records do not stop the reader. cf_csv_next reports the problem
 * (one diagnostic per bad record) and resynchronises at the start of the
 * next record, so a validator can list every bad record in one pass.
 * docs/batch-csv.md describes the accepted format, limits and messages.
 */
#ifndef CARDFORGE_BATCH_H
#define CARDFORGE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits. A field is counted after quotes are removed and "" collapsed; a
 * record's size is the sum of its fields (separators and quotes excluded). */
#define CF_CSV_MAX_FIELD 4096u    /* bytes in one field */
#define CF_CSV_MAX_RECORD 65536u  /* bytes in all the fields of one record */
#define CF_CSV_MAX_COLUMNS 256u   /* columns in the header */

typedef struct cf_csv cf_csv_t;
typedef struct cf_csv_record cf_csv_record_t;

/*
 * Open a batch file and read its header row. On success *out is a reader
 * the caller frees with cf_csv_free. On failure *out is NULL and the reason
 * is in diags (which may be NULL): CF_ERR_NOT_FOUND (no such file),
 * CF_ERR_IO (cannot open or read), CF_ERR_PARSE (empty file, bad header),
 * CF_ERR_NOMEM, CF_ERR_ARG. diags is borrowed and must outlive the reader:
 * cf_csv_next adds to it.
 */
cf_err_t cf_csv_open(const char *path, cf_diag_list_t *diags, cf_csv_t **out);

/*
 * The same over an open file descriptor (a file, a pipe, stdin). fd is
 * borrowed: the reader reads from it and never closes it. name is copied
 * and used in diagnostics.
 */
cf_err_t cf_csv_open_fd(int fd, const char *name, cf_diag_list_t *diags,
                        cf_csv_t **out);

/*
 * The same over bytes in memory. data[0..len) is borrowed, not copied: it
 * must outlive the reader, and wiping it is the caller's business. name
 * (copied; NULL gives "<memory>") is used in diagnostics.
 */
cf_err_t cf_csv_open_mem(const char *name, const uint8_t *data, size_t len,
                         cf_diag_list_t *diags, cf_csv_t **out);

/* Wipe the record buffers, close the file cf_csv_open opened, free. NULL ok. */
void cf_csv_free(cf_csv_t *csv);

/* The name used in diagnostics (the path given to cf_csv_open). Borrowed. */
const char *cf_csv_name(const cf_csv_t *csv);

/* Header: number of columns (at least 1), name of column i (< count;
 * borrowed, valid until cf_csv_free; NULL when i is out of range). */
size_t cf_csv_column_count(const cf_csv_t *csv);
const char *cf_csv_column_name(const cf_csv_t *csv, size_t i);

/* Index of the column called name (exact, case-sensitive), -1 if none. */
long cf_csv_column_index(const cf_csv_t *csv, const char *name);

/*
 * Read the next record.
 *   CF_OK, *rec set       a well-formed record with exactly one field per
 *                         column. *rec is owned by the reader and valid until
 *                         the next cf_csv_next or cf_csv_free, which wipe it.
 *   CF_OK, *rec NULL      end of file (and on every later call).
 *   CF_ERR_PARSE          a malformed record or a run of blank lines; one
 *                         "file:line: message" diagnostic has been added and
 *                         *rec is NULL. The reader has skipped to the start
 *                         of the next record: call again to go on.
 *   CF_ERR_IO             reading failed (diagnostic added); sticky.
 */
cf_err_t cf_csv_next(cf_csv_t *csv, const cf_csv_record_t **rec);

/* 1-based number of the record among the data records (header excluded).
 * Malformed records are counted too, so numbers match the messages. */
size_t cf_csv_record_index(const cf_csv_record_t *rec);

/* Physical line (1-based, the header's first line is 1) where the record
 * starts. A quoted field with newlines makes a record span several lines. */
unsigned long cf_csv_record_line(const cf_csv_record_t *rec);

/* Field col (< cf_csv_column_count) of rec: NUL-terminated, valid UTF-8
 * without NUL bytes; *len (if len is not NULL) gets its length. Borrowed,
 * same lifetime as rec. NULL (and *len 0) when col is out of range. */
const char *cf_csv_field(const cf_csv_record_t *rec, size_t col, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
