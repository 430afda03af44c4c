/*
 * json.c - recursive descent over a bounded cursor, depth-limited.
 */
#include <stdlib.h>
#include <string.h>

#include "journal/json.h"
#include "util/utf8.h"

struct jp {
    const char *s;
    size_t n, pos;
    cf_json_doc *d;
};

static void skip_ws(struct jp *p)
{
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int peek(const struct jp *p)
{
    return p->pos < p->n ? (unsigned char)p->s[p->pos] : -1;
}

static int expect_word(struct jp *p, const char *w)
{
    size_t l = strlen(w);
    if (p->n - p->pos < l || memcmp(p->s + p->pos, w, l) != 0)
        return -1;
    p->pos += l;
    return 0;
}

static uint32_t new_node(struct jp *p, cf_json_type t)
{
    if (p->d->n >= p->d->cap)
        return CF_JSON_NONE;
    uint32_t i = p->d->n++;
    cf_json_node *nd = &p->d->nodes[i];
    memset(nd, 0, sizeof(*nd));
    nd->type = t;
    nd->first = CF_JSON_NONE;
    nd->next = CF_JSON_NONE;
    return i;
}

static int put_s(struct jp *p, const void *b, size_t l)
{
    if (l > p->d->scap - p->d->slen)
        return -1;
    memcpy(p->d->sbuf + p->d->slen, b, l);
    p->d->slen += l;
    return 0;
}

static int hex4(struct jp *p, unsigned *out)
{
    if (p->n - p->pos < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static int put_utf8(struct jp *p, unsigned cp)
{
    unsigned char b[4];
    size_t l;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        l = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        l = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        l = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        l = 4;
    }
    return put_s(p, b, l);
}

/* A string literal at p->pos (the opening quote), decoded into the string
 * area; *out points at it, NUL-terminated. */
static int parse_string(struct jp *p, const char **out, size_t *outlen)
{
    if (peek(p) != '"')
        return -1;
    p->pos++;
    size_t start = p->d->slen;
    for (;;) {
        if (p->pos >= p->n)
            return -1;
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->n)
                return -1;
            char e = p->s[p->pos++];
            /* The one-character escapes, in the same order in both. */
            static const char from[] = "\"\\/bfnrt";
            static const char to[] = "\"\\/\b\f\n\r\t";
            if (e == 'u') {
                unsigned cp, lo;
                if (hex4(p, &cp) != 0)
                    return -1;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return -1;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (expect_word(p, "\\u") != 0 || hex4(p, &lo) != 0 || lo < 0xDC00 ||
                        lo > 0xDFFF)
                        return -1;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (cp == 0 || put_utf8(p, cp) != 0)
                    return -1;
                continue;
            }
            const char *at = e != '\0' ? strchr(from, e) : NULL;
            if (at == NULL)
                return -1;
            char one = to[at - from];
            if (put_s(p, &one, 1) != 0)
                return -1;
            continue;
        }
        /* Copy a run of plain bytes, checking that it is UTF-8. */
        size_t run = p->pos;
        while (run < p->n) {
            unsigned char r = (unsigned char)p->s[run];
            if (r == '"' || r == '\\' || r < 0x20)
                break;
            run++;
        }
        if (cf_utf8_check((const uint8_t *)p->s + p->pos, run - p->pos, NULL) != CF_UTF8_OK)
            return -1;
        if (put_s(p, p->s + p->pos, run - p->pos) != 0)
            return -1;
        p->pos = run;
    }
    if (put_s(p, "", 1) != 0)
        return -1;
    *out = p->d->sbuf + start;
    *outlen = p->d->slen - start - 1;
    return 0;
}

static int parse_number(struct jp *p, cf_json_node *nd)
{
    size_t start = p->pos;
    int plain = 1; /* digits only: a candidate for u64 */
    if (peek(p) == '-') {
        plain = 0;
        p->pos++;
    }
    if (peek(p) == '0') {
        p->pos++;
    } else if (peek(p) >= '1' && peek(p) <= '9') {
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    } else {
        return -1;
    }
    if (peek(p) == '.') {
        plain = 0;
        p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return -1;
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        plain = 0;
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return -1;
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    }
    size_t len = p->pos - start;
    char tmp[64];
    if (len >= sizeof(tmp))
        return -1; /* no journal number is that long */
    memcpy(tmp, p->s + start, len);
    tmp[len] = '\0';
    if (plain && len <= 20) {
        uint64_t v = 0;
        int ok = 1;
        for (size_t i = 0; i < len; i++) {
            uint64_t dgt = (uint64_t)(tmp[i] - '0');
            if (v > (UINT64_MAX - dgt) / 10) {
                ok = 0;
                break;
            }
            v = v * 10 + dgt;
        }
        nd->is_u64 = ok;
        nd->u64 = ok ? v : 0;
    }
    /* Integers (nearly every journal number) need no strtod. */
    nd->num = nd->is_u64 ? (double)nd->u64 : strtod(tmp, NULL);
    return 0;
}

static int parse_value(struct jp *p, uint32_t *out, int depth);

static int parse_container(struct jp *p, uint32_t self, int is_obj, int depth)
{
    char close = is_obj ? '}' : ']';
    p->pos++; /* the opening bracket */
    skip_ws(p);
    if (peek(p) == close) {
        p->pos++;
        return 0;
    }
    uint32_t prev = CF_JSON_NONE;
    for (;;) {
        const char *key = NULL;
        size_t klen;
        skip_ws(p);
        if (is_obj) {
            if (parse_string(p, &key, &klen) != 0)
                return -1;
            /* A key given twice: which value holds? Neither is trusted.
             * First bytes compared before whole keys: this loop runs for
             * every member of every journal line. */
            uint32_t sib = p->d->nodes[self].first;
            for (uint32_t k = 0; k < p->d->nodes[self].count; k++) {
                const char *other = p->d->nodes[sib].key;
                if (other[0] == key[0] && strcmp(other, key) == 0)
                    return -1;
                sib = p->d->nodes[sib].next;
            }
            skip_ws(p);
            if (peek(p) != ':')
                return -1;
            p->pos++;
            skip_ws(p);
        }
        uint32_t child;
        if (parse_value(p, &child, depth + 1) != 0)
            return -1;
        p->d->nodes[child].key = key;
        if (prev == CF_JSON_NONE)
            p->d->nodes[self].first = child;
        else
            p->d->nodes[prev].next = child;
        prev = child;
        p->d->nodes[self].count++;
        skip_ws(p);
        int c = peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == close) {
            p->pos++;
            return 0;
        }
        return -1;
    }
}

static int parse_value(struct jp *p, uint32_t *out, int depth)
{
    if (depth > CF_JSON_MAX_DEPTH)
        return -1;
    skip_ws(p);
    int c = peek(p);
    uint32_t i;
    switch (c) {
    case '{':
    case '[':
        i = new_node(p, c == '{' ? CF_JSON_OBJ : CF_JSON_ARR);
        if (i == CF_JSON_NONE || parse_container(p, i, c == '{', depth) != 0)
            return -1;
        break;
    case '"': {
        i = new_node(p, CF_JSON_STR);
        if (i == CF_JSON_NONE)
            return -1;
        const char *s;
        size_t l;
        if (parse_string(p, &s, &l) != 0)
            return -1;
        p->d->nodes[i].str = s;
        p->d->nodes[i].len = l;
        break;
    }
    case 't':
    case 'f':
        i = new_node(p, CF_JSON_BOOL);
        if (i == CF_JSON_NONE || expect_word(p, c == 't' ? "true" : "false") != 0)
            return -1;
        p->d->nodes[i].boolean = c == 't';
        break;
    case 'n':
        i = new_node(p, CF_JSON_NULL);
        if (i == CF_JSON_NONE || expect_word(p, "null") != 0)
            return -1;
        break;
    default:
        i = new_node(p, CF_JSON_NUM);
        if (i == CF_JSON_NONE || parse_number(p, &p->d->nodes[i]) != 0)
            return -1;
        break;
    }
    *out = i;
    return 0;
}

int cf_json_parse(cf_json_doc *d, const char *s, size_t n)
{
    struct jp p = {s, n, 0, d};
    uint32_t root;
    d->n = 0;
    d->slen = 0;
    if (parse_value(&p, &root, 0) != 0)
        return -1;
    skip_ws(&p);
    return p.pos == n ? 0 : -1;
}

const cf_json_node *cf_json_get(const cf_json_doc *d, const cf_json_node *obj, const char *key)
{
    if (obj == NULL || obj->type != CF_JSON_OBJ)
        return NULL;
    /* Objects are small (a card record has 20 members): a linear search,
     * first byte compared before the whole key. */
    for (uint32_t i = obj->first; i != CF_JSON_NONE; i = d->nodes[i].next) {
        const char *k = d->nodes[i].key;
        if (k != NULL && k[0] == key[0] && strcmp(k, key) == 0)
            return &d->nodes[i];
    }
    return NULL;
}

const cf_json_node *cf_json_child(const cf_json_doc *d, const cf_json_node *parent, uint32_t i)
{
    if (parent == NULL || (parent->type != CF_JSON_ARR && parent->type != CF_JSON_OBJ))
        return NULL;
    uint32_t k = parent->first;
    while (k != CF_JSON_NONE && i > 0) {
        k = d->nodes[k].next;
        i--;
    }
    return k == CF_JSON_NONE ? NULL : &d->nodes[k];
}

const cf_json_node *cf_json_next(const cf_json_doc *d, const cf_json_node *node)
{
    if (node == NULL || node->next == CF_JSON_NONE)
        return NULL;
    return &d->nodes[node->next];
}
