/*
 * batch_src.h - the batch file as one run reads it (internal).
 *
 * A run opens its batch once, refuses anything but a regular file, and
 * fixes its size at that moment: validation, the SHA-256 the journal
 * records, the scheduler's stream and its re-reads all read that one open
 * file (the same inode, whatever is renamed over the path later) and never
 * past that size. Validation and the SHA-256 are one pass, so the digest is
 * of exactly the bytes validated; records appended during the run are never
 * read, let alone personalized; the scheduler digests its stream again and
 * says when it differs (a batch edited in place during the run), see
 * docs/batch-csv.md.
 */
#ifndef CF_RUNNER_BATCH_SRC_H
#define CF_RUNNER_BATCH_SRC_H

#include <stdint.h>

#include <openssl/evp.h>

#include <cardforge/batch.h>
#include <cardforge/diag.h>

typedef struct cf_batch_src {
    int fd;             /* -1 when closed */
    const char *path;   /* borrowed, for messages */
    uint64_t size;      /* bytes at open: nothing past them is read */
    const char *sha256; /* borrowed: the fingerprint validated (lower-case
                         * hex), which the scheduler's stream is checked
                         * against; NULL = not checked */
} cf_batch_src_t;

/* A cursor over the source: one per CSV reader, outliving it. md (borrowed,
 * initialised; NULL = no digest) gets every byte read; cancel (borrowed,
 * NULL = never) nonzero makes the next read fail with EINTR. */
typedef struct cf_batch_cursor {
    const cf_batch_src_t *src;
    uint64_t off;
    EVP_MD_CTX *md;
    const int *cancel;
    int md_failed;
} cf_batch_cursor_t;

/* Open path for a run: a regular file, or an error naming the path in
 * diags (CF_ERR_NOT_FOUND, CF_ERR_IO). Never blocks on a FIFO. */
cf_err_t cf_batch_src_open(const char *path, cf_batch_src_t *src, cf_diag_list_t *diags);
void cf_batch_src_close(cf_batch_src_t *src);

/* A CSV reader from the start of src through cur (set up here; it must
 * outlive the reader). As cf_csv_open otherwise. */
cf_err_t cf_batch_src_csv(const cf_batch_src_t *src, cf_batch_cursor_t *cur, EVP_MD_CTX *md,
                          const int *cancel, cf_diag_list_t *diags, cf_csv_t **out);


#endif
