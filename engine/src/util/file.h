/*
 * file.h - opening an input that must be a regular file (internal).
 *
 * The documents cardforge reads (description, batch) are read whole and
 * fingerprinted; a FIFO would block the open or never end, a device such as
 * /dev/zero would never end, a directory cannot be read. They are refused
 * by name before a byte is read.
 */
#ifndef CF_UTIL_FILE_H
#define CF_UTIL_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* What kind of file mode is, for a message: "FIFO", "directory", ... */
const char *cf_file_kind(mode_t mode);

/* Open path read-only, close-on-exec, never blocking on a FIFO nor taking a
 * controlling terminal, and check it is a regular file. The descriptor
 * (blocking again), with *st filled; or -1 with errno set (EINVAL for "not
 * a regular file") and a message without the path in why. */
int cf_open_regular(const char *path, struct stat *st, char *why, size_t whylen);

#endif
