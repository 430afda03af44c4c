/*
 * ytree.c - libyaml events to a node tree, deep copy, and the `extends:`
 * merge (see ytree.h).
 *
 * The event parser is used instead of libyaml's document loader because the
 * loader resolves aliases (an input of a few kilobytes can expand to
 * gigabytes) and gives no way to bound the tree while it is built. Here the
 * first anchor or alias is an error and every limit is checked as the
 * events arrive.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "profile/ytree.h"

#define MAX_PAIRS 256u  /* keys of one mapping (duplicates are checked pairwise) */
#define MAX_ITEMS 1024u /* items of one sequence */

struct pctx {
    yaml_parser_t parser;
    const char *file;
    cf_diag_list_t *diags;
    size_t nodes;
    int failed;
};

const char *cf_ykind_name(cf_ykind_t k)
{
    switch (k) {
    case CF_Y_MAP:
        return "mapping";
    case CF_Y_SEQ:
        return "sequence";
    default:
        return "scalar";
    }
}

static void fail(struct pctx *c, unsigned long line, const char *msg, const char *detail)
{
    if (!c->failed)
        cf_diag_add(c->diags, CF_SEV_ERROR, c->file, line, "%s%s%s", msg, detail ? ": " : "",
                    detail ? detail : "");
    c->failed = 1;
}

static int next_event(struct pctx *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->parser, ev))
        return 0;
    const char *problem = c->parser.problem ? c->parser.problem : "malformed document";
    unsigned long line = (unsigned long)c->parser.problem_mark.line + 1;
    if (!c->failed) {
        if (c->parser.context)
            cf_diag_add(c->diags, CF_SEV_ERROR, c->file, line, "YAML syntax error: %s %s",
                        c->parser.context, problem);
        else
            cf_diag_add(c->diags, CF_SEV_ERROR, c->file, line, "YAML syntax error: %s", problem);
    }
    c->failed = 1;
    return -1;
}

void cf_ynode_free(cf_ynode_t *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == CF_Y_MAP) {
            free(n->pairs[i].key);
            cf_ynode_free(n->pairs[i].val);
        } else if (n->kind == CF_Y_SEQ) {
            cf_ynode_free(n->items[i]);
        }
    }
    free(n->pairs);
    free(n->items);
    free(n->text);
    free(n);
}

static cf_ynode_t *new_node(struct pctx *c, cf_ykind_t kind, unsigned long line)
{
    if (++c->nodes > CF_Y_MAX_NODES) {
        fail(c, line, "too many YAML nodes (a profile is small; the limit is 20000)", NULL);
        return NULL;
    }
    cf_ynode_t *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        fail(c, line, "out of memory", NULL);
        return NULL;
    }
    n->kind = kind;
    n->file = c->file;
    n->line = line;
    return n;
}

/* Anchors, aliases and tags are refused: profiles need none of them and
 * aliases are the classic way to make a small document huge. */
static int plain_properties(struct pctx *c, unsigned long line, const yaml_char_t *anchor,
                            const yaml_char_t *tag)
{
    if (anchor != NULL) {
        fail(c, line, "YAML anchors and aliases are not supported in profiles", NULL);
        return -1;
    }
    if (tag != NULL) {
        fail(c, line, "YAML tags are not supported in profiles", NULL);
        return -1;
    }
    return 0;
}

static char *scalar_text(struct pctx *c, unsigned long line, const yaml_event_t *ev, size_t *len)
{
    size_t n = ev->data.scalar.length;
    if (n > CF_Y_MAX_SCALAR) {
        fail(c, line, "scalar too long (at most 4096 bytes)", NULL);
        return NULL;
    }
    if (n > 0 && memchr(ev->data.scalar.value, 0, n) != NULL) {
        fail(c, line, "scalar contains a NUL character", NULL);
        return NULL;
    }
    char *s = malloc(n + 1);
    if (s == NULL) {
        fail(c, line, "out of memory", NULL);
        return NULL;
    }
    if (n > 0)
        memcpy(s, ev->data.scalar.value, n);
    s[n] = 0;
    *len = n;
    return s;
}

static cf_ynode_t *parse_node(struct pctx *c, yaml_event_t *ev, unsigned depth);

static cf_ynode_t *parse_scalar(struct pctx *c, yaml_event_t *ev)
{
    unsigned long line = (unsigned long)ev->start_mark.line + 1;
    if (plain_properties(c, line, ev->data.scalar.anchor, ev->data.scalar.tag) < 0)
        return NULL;
    cf_ynode_t *n = new_node(c, CF_Y_SCALAR, line);
    if (n == NULL)
        return NULL;
    n->text = scalar_text(c, line, ev, &n->len);
    if (n->text == NULL) {
        cf_ynode_free(n);
        return NULL;
    }
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    return n;
}

static int add_pair(struct pctx *c, cf_ynode_t *map, char *key, unsigned long line,
                    cf_ynode_t *val)
{
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->pairs[i].key, key) == 0) {
            char first[48];
            snprintf(first, sizeof(first), "first at line %lu", map->pairs[i].line);
            if (!c->failed)
                cf_diag_add(c->diags, CF_SEV_ERROR, c->file, line, "duplicate key '%s' (%s)",
                            key, first);
            c->failed = 1;
            return -1;
        }
    }
    if (map->n >= MAX_PAIRS) {
        fail(c, line, "too many keys in one mapping (at most 256)", NULL);
        return -1;
    }
    cf_ypair_t *p = realloc(map->pairs, (map->n + 1) * sizeof(*p));
    if (p == NULL) {
        fail(c, line, "out of memory", NULL);
        return -1;
    }
    map->pairs = p;
    p[map->n].key = key;
    p[map->n].line = line;
    p[map->n].val = val;
    map->n++;
    return 0;
}

static cf_ynode_t *parse_map(struct pctx *c, yaml_event_t *start, unsigned depth)
{
    unsigned long line = (unsigned long)start->start_mark.line + 1;
    if (plain_properties(c, line, start->data.mapping_start.anchor,
                         start->data.mapping_start.tag) < 0)
        return NULL;
    cf_ynode_t *map = new_node(c, CF_Y_MAP, line);
    if (map == NULL)
        return NULL;
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev) < 0)
            break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return map;
        }
        unsigned long kline = (unsigned long)ev.start_mark.line + 1;
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            fail(c, kline, "a mapping key must be a plain word", NULL);
            break;
        }
        size_t klen = 0;
        char *key = NULL;
        if (plain_properties(c, kline, ev.data.scalar.anchor, ev.data.scalar.tag) == 0)
            key = scalar_text(c, kline, &ev, &klen);
        yaml_event_delete(&ev);
        if (key == NULL)
            break;
        yaml_event_t vev;
        if (next_event(c, &vev) < 0) {
            free(key);
            break;
        }
        cf_ynode_t *val = parse_node(c, &vev, depth + 1);
        if (val == NULL) {
            free(key);
            break;
        }
        if (add_pair(c, map, key, kline, val) < 0) {
            free(key);
            cf_ynode_free(val);
            break;
        }
    }
    cf_ynode_free(map);
    return NULL;
}

static cf_ynode_t *parse_seq(struct pctx *c, yaml_event_t *start, unsigned depth)
{
    unsigned long line = (unsigned long)start->start_mark.line + 1;
    if (plain_properties(c, line, start->data.sequence_start.anchor,
                         start->data.sequence_start.tag) < 0)
        return NULL;
    cf_ynode_t *seq = new_node(c, CF_Y_SEQ, line);
    if (seq == NULL)
        return NULL;
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev) < 0)
            break;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return seq;
        }
        unsigned long iline = (unsigned long)ev.start_mark.line + 1;
        cf_ynode_t *item = parse_node(c, &ev, depth + 1);
        if (item == NULL)
            break;
        cf_ynode_t **items = NULL;
        if (seq->n < MAX_ITEMS)
            items = realloc(seq->items, (seq->n + 1) * sizeof(*items));
        if (items == NULL) {
            fail(c, iline,
                 seq->n < MAX_ITEMS ? "out of memory" : "too many items in one sequence (at most 1024)",
                 NULL);
            cf_ynode_free(item);
            break;
        }
        seq->items = items;
        seq->items[seq->n++] = item;
    }
    cf_ynode_free(seq);
    return NULL;
}

/* Build the node that starts with *ev; consumes (deletes) *ev. */
static cf_ynode_t *parse_node(struct pctx *c, yaml_event_t *ev, unsigned depth)
{
    unsigned long line = (unsigned long)ev->start_mark.line + 1;
    cf_ynode_t *n = NULL;
    if (depth > CF_Y_MAX_DEPTH) {
        fail(c, line, "nested too deeply (at most 12 levels)", NULL);
    } else if (ev->type == YAML_SCALAR_EVENT) {
        n = parse_scalar(c, ev);
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        n = parse_map(c, ev, depth);
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        n = parse_seq(c, ev, depth);
    } else if (ev->type == YAML_ALIAS_EVENT) {
        fail(c, line, "YAML anchors and aliases are not supported in profiles", NULL);
    } else {
        fail(c, line, "unexpected YAML structure", NULL);
    }
    yaml_event_delete(ev);
    return n;
}

cf_err_t cf_ytree_parse(const char *file, const char *text, size_t len, cf_diag_list_t *diags,
                        cf_ynode_t **out)
{
    *out = NULL;
    struct pctx c = {.file = file, .diags = diags};
    if (len > CF_Y_MAX_INPUT) {
        cf_diag_add(diags, CF_SEV_ERROR, file, 0, "file too large (%zu bytes; at most %u)", len,
                    CF_Y_MAX_INPUT);
        return CF_ERR_PARSE;
    }
    if (!yaml_parser_initialize(&c.parser)) {
        cf_diag_add(diags, CF_SEV_ERROR, file, 0, "out of memory");
        return CF_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);

    cf_ynode_t *root = NULL;
    yaml_event_t ev;
    int docs = 0;
    while (!c.failed && next_event(&c, &ev) == 0) {
        yaml_event_type_t type = ev.type;
        unsigned long line = (unsigned long)ev.start_mark.line + 1;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            yaml_event_delete(&ev);
            fail(&c, line, "one document per profile file (a second '---' document found)",
                 NULL);
            break;
        }
        if (type == YAML_STREAM_START_EVENT || type == YAML_DOCUMENT_START_EVENT ||
            type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        root = parse_node(&c, &ev, 1); /* the document's one node */
    }
    yaml_parser_delete(&c.parser);
    if (!c.failed && (root == NULL || root->kind != CF_Y_MAP)) {
        cf_diag_add(diags, CF_SEV_ERROR, file, root ? root->line : 1,
                    "a profile is a YAML mapping of keys (found %s)",
                    root ? cf_ykind_name(root->kind) : "an empty document");
        c.failed = 1;
    }
    if (c.failed) {
        cf_ynode_free(root);
        return CF_ERR_PARSE;
    }
    *out = root;
    return CF_OK;
}

cf_ynode_t *cf_ynode_copy(const cf_ynode_t *n)
{
    cf_ynode_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->kind = n->kind;
    m->file = n->file;
    m->line = n->line;
    m->plain = n->plain;
    if (n->kind == CF_Y_SCALAR) {
        m->text = malloc(n->len + 1);
        if (m->text == NULL)
            goto oom;
        memcpy(m->text, n->text, n->len + 1);
        m->len = n->len;
        return m;
    }
    if (n->n == 0)
        return m;
    if (n->kind == CF_Y_MAP) {
        m->pairs = calloc(n->n, sizeof(*m->pairs));
        if (m->pairs == NULL)
            goto oom;
        for (; m->n < n->n; m->n++) {
            cf_ypair_t *d = &m->pairs[m->n];
            const cf_ypair_t *s = &n->pairs[m->n];
            d->key = strdup(s->key);
            d->line = s->line;
            d->val = d->key ? cf_ynode_copy(s->val) : NULL;
            if (d->val == NULL) {
                free(d->key);
                goto oom;
            }
        }
    } else {
        m->items = calloc(n->n, sizeof(*m->items));
        if (m->items == NULL)
            goto oom;
        for (; m->n < n->n; m->n++) {
            m->items[m->n] = cf_ynode_copy(n->items[m->n]);
            if (m->items[m->n] == NULL)
                goto oom;
        }
    }
    return m;
oom:
    cf_ynode_free(m);
    return NULL;
}

const cf_ypair_t *cf_ymap_pair(const cf_ynode_t *map, const char *key)
{
    if (map == NULL || map->kind != CF_Y_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key, key) == 0)
            return &map->pairs[i];
    return NULL;
}

const cf_ynode_t *cf_ymap_get(const cf_ynode_t *map, const char *key)
{
    const cf_ypair_t *p = cf_ymap_pair(map, key);
    return p ? p->val : NULL;
}

int cf_ynode_is_null(const cf_ynode_t *n)
{
    return n != NULL && n->kind == CF_Y_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0);
}

/* Lay child's pairs over dst (a copy of the base mapping). */
static int merge_into(cf_ynode_t *dst, const cf_ynode_t *child, const char *skip)
{
    for (size_t i = 0; i < child->n; i++) {
        const cf_ypair_t *cp = &child->pairs[i];
        if (skip != NULL && strcmp(cp->key, skip) == 0)
            continue;
        size_t j = 0;
        while (j < dst->n && strcmp(dst->pairs[j].key, cp->key) != 0)
            j++;
        if (cf_ynode_is_null(cp->val)) { /* removes the base's key */
            if (j < dst->n) {
                free(dst->pairs[j].key);
                cf_ynode_free(dst->pairs[j].val);
                memmove(&dst->pairs[j], &dst->pairs[j + 1], (dst->n - j - 1) * sizeof(cf_ypair_t));
                dst->n--;
            }
            continue;
        }
        if (j < dst->n && dst->pairs[j].val->kind == CF_Y_MAP && cp->val->kind == CF_Y_MAP) {
            /* The child changed this mapping: problems of the mapping as a
             * whole (a key it now lacks) are reported where the child wrote it. */
            dst->pairs[j].val->file = cp->val->file;
            dst->pairs[j].val->line = cp->val->line;
            dst->pairs[j].line = cp->line;
            if (merge_into(dst->pairs[j].val, cp->val, NULL) < 0)
                return -1;
            continue;
        }
        cf_ynode_t *v = cf_ynode_copy(cp->val);
        if (v == NULL)
            return -1;
        if (j < dst->n) {
            cf_ynode_free(dst->pairs[j].val);
            dst->pairs[j].val = v;
            dst->pairs[j].line = cp->line;
            continue;
        }
        cf_ypair_t *p = realloc(dst->pairs, (dst->n + 1) * sizeof(*p));
        char *key = strdup(cp->key);
        if (p != NULL)
            dst->pairs = p;
        if (p == NULL || key == NULL) {
            free(key);
            cf_ynode_free(v);
            return -1;
        }
        dst->pairs[dst->n].key = key;
        dst->pairs[dst->n].line = cp->line;
        dst->pairs[dst->n].val = v;
        dst->n++;
    }
    return 0;
}

cf_err_t cf_ytree_merge(const cf_ynode_t *base, const cf_ynode_t *child, const char *skip,
                        cf_ynode_t **out)
{
    *out = NULL;
    cf_ynode_t *m = cf_ynode_copy(base);
    if (m == NULL)
        return CF_ERR_NOMEM;
    if (m->kind != CF_Y_MAP || child->kind != CF_Y_MAP) {
        cf_ynode_free(m);
        return CF_ERR_INTERNAL;
    }
    /* The merged document is the child's: its root line is the child's. */
    m->file = child->file;
    m->line = child->line;
    if (merge_into(m, child, skip) < 0) {
        cf_ynode_free(m);
        return CF_ERR_NOMEM;
    }
    *out = m;
    return CF_OK;
}
