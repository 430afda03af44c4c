/*
 * desc_lines.h - the line source that feeds inih (internal).
 *
 * inih parses one line at a time through a reader callback. Ours checks
 * each line before inih sees it: UTF-8, NUL bytes, length, section headers
 * (inih does not report sections without keys), lines that are neither
 * comment, section nor KEY=VALUE. A rejected line reaches inih as an empty
 * line, so one bad line never hides the rest of the file. Leading blanks
 * are removed because inih would read an indented line as the continuation
 * of the previous value, silently gluing two settings together.
 */
#ifndef CF_DESC_LINES_H
#define CF_DESC_LINES_H

#include <stddef.h>

#include <cardforge/diag.h>

/* Longest accepted line, in bytes, without the line end. inih as Debian
 * builds it reads lines of at most 199 bytes including the newline. */
#define CF_DESC_MAX_LINE 198

struct desc_lines;

/* Called for every section header, with its name (not NUL-terminated). */
typedef void (*desc_section_fn)(void *ctx, const char *name, size_t len, unsigned long line);

struct desc_lines {
    const char *file;
    const char *data;
    size_t len, pos;
    unsigned long lineno; /* line most recently handed to inih */
    unsigned long content_lines; /* lines that are not blank or comments */
    cf_diag_list_t *diags;
    desc_section_fn on_section;
    void *ctx;
};

/* The ini_reader for ini_parse_stream; stream is a struct desc_lines. */
char *cf_desc_read_line(char *str, int num, void *stream);

#endif
