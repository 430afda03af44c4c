/*
 * out.h - writing what the commands hand out: JSON strings, and files made
 * private to their owner (traces, exports), like the journal they come
 * from.
 */
#ifndef CF_TOOLS_OUT_H
#define CF_TOOLS_OUT_H

#include <stdio.h>

/* s as a JSON string, quotes included: quotes, backslashes and control
 * bytes escaped. */
void out_json_string(FILE *f, const char *s);

/* Create or truncate path for writing, mode 0600, never through a symbolic
 * link. NULL with errno set on failure. */
FILE *out_open_private(const char *path);

#endif
