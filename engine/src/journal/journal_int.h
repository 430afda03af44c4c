/*
 * journal_int.h - journal internals shared by the writer, the reader and
 * the tests: records to lines and lines back to records.
 */
#ifndef CF_JOURNAL_INT_H
#define CF_JOURNAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/journal.h>

#include "journal/jbuf.h"
#include "journal/json.h"

/* Format a record as one line, line end included. The buffer's overflow
 * flag says whether it fit. */
void cf_journal_fmt_run(cf_jbuf *b, const cf_journal_run_t *r);
void cf_journal_fmt_intent(cf_jbuf *b, const cf_journal_intent_t *in);
void cf_journal_fmt_card(cf_jbuf *b, const cf_journal_card_t *c);
void cf_journal_fmt_end(cf_jbuf *b, const cf_journal_end_t *e);
/* The members "spent":{"PUK":puk,"admin":admin},"refused":[names...] of a
 * card record (and of `report --json`): what a card refused as wrong, by
 * count and by parameter name (bit 1u << cf_param_t), never a value. A bit
 * of no parameter sets the overflow flag rather than being dropped. */
void cf_journal_fmt_spent_refused(cf_jbuf *b, uint64_t puk, uint64_t admin, unsigned refused);

/* Nodes a line's JSON tree may use (a card record with 16 steps of 10
 * members needs about 200). */
#define CF_JOURNAL_MAX_NODES 1024u

/* Storage for parsing lines; allocated once per scan. */
typedef struct cf_journal_parser {
    cf_json_doc doc;
    cf_journal_step_t steps[CF_JOURNAL_MAX_STEPS];
    cf_journal_cert_t certs[CF_JOURNAL_MAX_STEPS];
} cf_journal_parser;

int cf_journal_parser_init(cf_journal_parser *p);
void cf_journal_parser_free(cf_journal_parser *p);

/* Result of parsing one line. */
typedef enum cf_jline {
    CF_JLINE_OK = 0,      /* *e filled */
    CF_JLINE_UNKNOWN = 1, /* valid JSON of an unknown "type": skip it */
    CF_JLINE_BAD = 2,     /* not a journal record; why says what is wrong */
} cf_jline;

/* Parse line[0..len) (no line end). Strings in *e point into the parser's
 * storage until the next call. */
cf_jline cf_journal_parse_line(cf_journal_parser *p, const char *line, size_t len,
                               cf_journal_entry_t *e, const char **why);

/* The cf_err_t whose cf_errname is name; CF_ERR_INTERNAL for a name this
 * version does not know. */
cf_err_t cf_journal_err_from_name(const char *name);

#endif
