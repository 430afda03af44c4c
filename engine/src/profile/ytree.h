/*
 * ytree.h - a YAML document as a small tree of nodes with line numbers
 * (internal to the profile loader).
 *
 * libyaml's event stream is turned into mappings, sequences and scalars, each
 * node remembering the file and line it came from, so every later check can
 * say "file:line: message" even after `extends:` merged two files. Only the
 * plain subset profiles need is accepted: one document, no anchors, aliases
 * or tags, unique scalar keys. Scalars stay text: the schema decides what a
 * scalar means, so `0000` stays the four characters a PIN needs.
 *
 * The input is untrusted: its size, the node count, the nesting depth and
 * every scalar's length are bounded, and a scalar holding a NUL is refused.
 */
#ifndef CF_PROFILE_YTREE_H
#define CF_PROFILE_YTREE_H

#include <stddef.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>

#define CF_Y_MAX_INPUT (256u * 1024u) /* bytes of one document */
#define CF_Y_MAX_NODES 20000u         /* nodes of one document */
#define CF_Y_MAX_DEPTH 12u            /* nested mappings/sequences */
#define CF_Y_MAX_SCALAR 4096u         /* bytes of one scalar or key */

typedef enum cf_ykind {
    CF_Y_SCALAR = 0,
    CF_Y_MAP = 1,
    CF_Y_SEQ = 2,
} cf_ykind_t;

typedef struct cf_ynode cf_ynode_t;

typedef struct cf_ypair {
    char *key;
    unsigned long line; /* of the key */
    cf_ynode_t *val;
} cf_ypair_t;

struct cf_ynode {
    cf_ykind_t kind;
    const char *file; /* borrowed: outlives the tree (the set's name pool) */
    unsigned long line;
    char *text; /* scalar: NUL-terminated, no embedded NUL */
    size_t len;
    int plain;        /* scalar written without quotes */
    size_t n;         /* pairs of a map, items of a sequence */
    cf_ypair_t *pairs;
    cf_ynode_t **items;
};

/* Parse text[0..len) (file is used in diagnostics and stored, borrowed, in
 * every node). CF_ERR_PARSE with diagnostics on any problem; the caller owns
 * *out. */
cf_err_t cf_ytree_parse(const char *file, const char *text, size_t len, cf_diag_list_t *diags,
                        cf_ynode_t **out);

void cf_ynode_free(cf_ynode_t *n); /* NULL is fine */

/* Deep copy; NULL when out of memory. */
cf_ynode_t *cf_ynode_copy(const cf_ynode_t *n);

/* The value of key in map (NULL when absent or map is not a mapping), and
 * the pair itself. */
const cf_ynode_t *cf_ymap_get(const cf_ynode_t *map, const char *key);
const cf_ypair_t *cf_ymap_pair(const cf_ynode_t *map, const char *key);

/* 1 for an unquoted empty, "~" or "null" scalar: the same as absent. */
int cf_ynode_is_null(const cf_ynode_t *n);

/* base with child laid over it: mappings merge key by key (recursively),
 * anything else in child replaces what base has there, and a null value in
 * child removes the key. Keys of child named in skip (may be NULL) are left
 * out. CF_ERR_NOMEM; the caller owns *out. */
cf_err_t cf_ytree_merge(const cf_ynode_t *base, const cf_ynode_t *child, const char *skip,
                        cf_ynode_t **out);

/* "mapping", "sequence" or "scalar", for messages. */
const char *cf_ykind_name(cf_ykind_t k);

#endif
