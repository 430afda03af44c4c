/*
 * reader.h - the journal reader over any byte source (internal): the
 * writer reads the file it has locked through its descriptor, tests feed
 * chunked sources.
 */
#ifndef CF_JOURNAL_READER_H
#define CF_JOURNAL_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cardforge/journal.h>

/* Like read(2): bytes read, 0 at the end, -1 with errno. */
typedef ssize_t (*cf_journal_read_fn)(void *ctx, uint8_t *buf, size_t cap);

cf_err_t cf_journal_scan_fn(const char *name, cf_journal_read_fn read, void *rctx,
                            cf_journal_visit_fn visit, void *user, cf_journal_state_t *st,
                            cf_journal_info_t *info, cf_diag_list_t *diags);

/* From offset 0 of fd, with pread (the descriptor's offset is not moved). */
cf_err_t cf_journal_scan_fd(int fd, const char *name, cf_journal_visit_fn visit, void *user,
                            cf_journal_state_t *st, cf_journal_info_t *info, cf_diag_list_t *diags);

#endif
