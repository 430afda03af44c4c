/*
 * json.h - a small, strict JSON parser for one journal line (internal).
 *
 * The journal is read back after crashes and may have been edited by hand,
 * so each line is untrusted input. The parser builds a tree in caller-sized
 * storage (a node array and a string area allocated once), never allocates
 * per line, bounds the nesting depth, and refuses anything RFC 8259 does not
 * allow (trailing commas, leading zeros, raw control characters in strings,
 * invalid UTF-8, unpaired surrogates) plus strings holding U+0000, which C
 * strings cannot carry. Every read of the input goes through one cursor
 * with an explicit end.
 */
#ifndef CF_JOURNAL_JSON_H
#define CF_JOURNAL_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum cf_json_type {
    CF_JSON_NULL = 0,
    CF_JSON_BOOL,
    CF_JSON_NUM,
    CF_JSON_STR,
    CF_JSON_ARR,
    CF_JSON_OBJ,
} cf_json_type;

#define CF_JSON_NONE ((uint32_t)-1)
#define CF_JSON_MAX_DEPTH 16

typedef struct cf_json_node {
    cf_json_type type;
    int boolean;
    int is_u64; /* a non-negative integer that fits in 64 bits */
    uint64_t u64;
    double num;
    const char *str; /* CF_JSON_STR: NUL-terminated, in the doc's string area */
    size_t len;
    const char *key; /* member name when the parent is an object, else NULL */
    uint32_t first;  /* first child (arrays, objects) or CF_JSON_NONE */
    uint32_t next;   /* next sibling or CF_JSON_NONE */
    uint32_t count;  /* children */
} cf_json_node;

typedef struct cf_json_doc {
    cf_json_node *nodes; /* caller-provided, cap entries */
    uint32_t cap, n;
    char *sbuf; /* caller-provided string area, scap bytes */
    size_t scap, slen;
} cf_json_doc;

/* Parse s[0..n) (one value, surrounded by optional blanks) into d, whose
 * storage the caller provides: nodes for at most d->cap values, a string
 * area of at least n + 1 bytes is always enough. 0 on success (the root is
 * d->nodes[0]), -1 when the text is not valid JSON or does not fit. */
int cf_json_parse(cf_json_doc *d, const char *s, size_t n);

/* Member key of object obj, or NULL (the first when a key repeats). */
const cf_json_node *cf_json_get(const cf_json_doc *d, const cf_json_node *obj, const char *key);
/* Child i of an array or object, or NULL. Linear in i. */
const cf_json_node *cf_json_child(const cf_json_doc *d, const cf_json_node *parent, uint32_t i);
const cf_json_node *cf_json_next(const cf_json_doc *d, const cf_json_node *node);

#endif
