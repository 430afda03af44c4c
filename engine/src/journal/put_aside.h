/*
 * put_aside.h - copies of a journal the writer had to put aside (internal).
 *
 * When a journal is deleted, renamed or replaced during a run, the writer
 * puts its content back (writer.c). Over a file someone put at the path it
 * never writes: the content then stays beside it as PATH.restore-PID. A
 * later run on PATH would read the other file, most likely an older copy,
 * and personalize again records whose cards are already made: one holder's
 * values on two cards. So a journal with such a copy beside it is refused
 * until the operator has put the right file in place.
 */
#ifndef CF_JOURNAL_PUT_ASIDE_H
#define CF_JOURNAL_PUT_ASIDE_H

#include <stddef.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>

/* The name of the copy for this process: PATH.restore-PID. -1 if it does
 * not fit in cap. */
int cf_journal_put_aside_name(const char *path, char *out, size_t cap);

/* CF_OK when no PATH.restore-<digits> exists beside path; otherwise
 * CF_ERR_INVALID with an error naming the copy and what to do. */
cf_err_t cf_journal_check_put_aside(const char *path, cf_diag_list_t *diags);

#endif
