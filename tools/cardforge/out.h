/*
 * out.h - writing what the commands hand out: JSON documents and strings,
 * and files made private to their owner (traces, exports), like the journal
 * they come from.
 */
#ifndef CF_TOOLS_OUT_H
#define CF_TOOLS_OUT_H

#include <stddef.h>
#include <stdio.h>

#include <cardforge/diag.h>

/* s as a JSON string, quotes included: quotes, backslashes and control
 * bytes escaped. */
void out_json_string(FILE *f, const char *s);

/* A JSON string, or null when s is NULL or empty. */
void out_json_string_or_null(FILE *f, const char *s);

/* `"key":` (a member name; key is one of ours, not escaped further than
 * out_json_string does). */
void out_json_key(FILE *f, const char *key);

/* `,"key":"s"`: a string member after the first one. */
void out_json_member(FILE *f, const char *key, const char *s);

/* The diagnostics as an array of {"severity": "error"|"warning", "file",
 * "line" (null when 0), "message"}, in the list's order. The messages
 * name columns and parameters, never values (cf_diag's contract). */
void out_json_diags(FILE *f, const cf_diag_list_t *diags);

/* A JSON document built in memory and written to stdout whole: a command
 * that fails half-way (it then says why on stderr) leaves nothing on
 * stdout, never half a document. */
struct out_doc {
    FILE *f; /* write the document here */
    char *buf;
    size_t len;
};

/* 0, or -1 when no memory (nothing to discard then). */
int out_doc_open(struct out_doc *d);
/* Write the document and a newline to stdout and release it. 0, or -1
 * when it could not be built or written. */
int out_doc_emit(struct out_doc *d);
/* Release it unwritten; fine on a document never opened. */
void out_doc_discard(struct out_doc *d);

/* The whole of the above: fill(f, ctx) writes the document, which then goes
 * to stdout whole. 0, or -1 after saying on stderr (prefixed with cmd) that
 * it could not be written. */
int out_doc_write(const char *cmd, void (*fill)(FILE *f, const void *ctx), const void *ctx);

/* Create or truncate path for writing, mode 0600, never through a symbolic
 * link. NULL with errno set on failure. */
FILE *out_open_private(const char *path);

#endif
