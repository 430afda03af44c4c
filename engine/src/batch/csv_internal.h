/*
 * csv_internal.h - CSV reader entry points for tests and fuzzing (internal).
 *
 * cf_csv_open_reader opens a reader over any read function with a chosen
 * buffer size. The unit tests and the fuzz target use it with sources that
 * return one or a few bytes per call and with tiny buffers, to prove the
 * parser gives the same records and messages wherever the refills fall.
 */
#ifndef CF_BATCH_CSV_INTERNAL_H
#define CF_BATCH_CSV_INTERNAL_H

#include <cardforge/batch.h>

#include "batch/csv_input.h"

/* As cf_csv_open_fd, over fn(ctx, ...) (ctx borrowed, must outlive the
 * reader) with an input buffer of bufsize bytes (raised to 4 if smaller). */
cf_err_t cf_csv_open_reader(const char *name, cf_csv_read_fn fn, void *ctx,
                            size_t bufsize, cf_diag_list_t *diags, cf_csv_t **out);

#endif
