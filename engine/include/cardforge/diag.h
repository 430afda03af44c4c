/*
 * diag.h - collected diagnostics ("file:line: message").
 *
 * Validators report every problem they find, not only the first, so they
 * append to a cf_diag_list_t instead of returning at the first error. Each
 * entry is an error or a warning with the file and 1-based line it concerns
 * (line 0: the whole file). Messages never contain secret values.
 */
#ifndef CARDFORGE_DIAG_H
#define CARDFORGE_DIAG_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cf_severity {
    CF_SEV_ERROR = 0,
    CF_SEV_WARNING = 1,
} cf_severity_t;

typedef struct cf_diag_list cf_diag_list_t;

/* New empty list; NULL when out of memory. Free with cf_diag_list_free. */
cf_diag_list_t *cf_diag_list_new(void);
void cf_diag_list_free(cf_diag_list_t *list); /* NULL is fine */

/* Append an entry. file is copied. A failure to allocate is remembered and
 * reported by cf_diag_list_oom(); the call itself never fails loudly. */
void cf_diag_add(cf_diag_list_t *list, cf_severity_t sev, const char *file,
                 unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

size_t cf_diag_count(const cf_diag_list_t *list);
size_t cf_diag_errors(const cf_diag_list_t *list);
size_t cf_diag_warnings(const cf_diag_list_t *list);
int cf_diag_list_oom(const cf_diag_list_t *list);

/* Accessors for entry i (< cf_diag_count). Pointers are borrowed, valid until
 * the list is freed. */
cf_severity_t cf_diag_severity(const cf_diag_list_t *list, size_t i);
const char *cf_diag_file(const cf_diag_list_t *list, size_t i);
unsigned long cf_diag_line(const cf_diag_list_t *list, size_t i);
const char *cf_diag_message(const cf_diag_list_t *list, size_t i);

/* Order the entries by file, then line (stable: entries of one line keep
 * the order they were added in). Validators call this so a person reads
 * the problems top to bottom. */
void cf_diag_sort(cf_diag_list_t *list);

/* Print every entry as "file:line: error: message" (line omitted when 0),
 * in the order they were added. */
void cf_diag_print(const cf_diag_list_t *list, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
