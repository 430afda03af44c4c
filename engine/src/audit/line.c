/*
 * line.c - parsing one audit line (untrusted: the log may have been edited).
 *
 * The line goes through the journal's strict JSON parser (bounded nodes,
 * no allocation) and then through the few members the chain needs. The
 * signature must be the last member and the last bytes of the line, so
 * that what it covers is exactly the text before it: no second copy of the
 * line is rebuilt from parsed values, which could differ from what was
 * signed.
 */
#include <string.h>

#include "audit/audit_int.h"
#include "journal/jbuf.h"
#include "journal/json.h"
#include "util/hex.h"

#define LINE_NODES 48u

static int get_hex(const cf_json_doc *d, const cf_json_node *root, const char *key, uint8_t *out,
                   size_t len)
{
    const cf_json_node *n = cf_json_get(d, root, key);
    if (n == NULL || n->type != CF_JSON_STR || n->len != 2 * len)
        return -1;
    return cf_hex_decode(n->str, n->len, out, len) == CF_OK ? 0 : -1;
}

int cf_audit_parse_line(const char *s, size_t n, cf_audit_line_t *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0 || n >= CF_AUDIT_MAX_LINE)
        return -1;
    cf_json_node nodes[LINE_NODES];
    char sbuf[CF_AUDIT_MAX_LINE + 1];
    cf_json_doc d = {.nodes = nodes, .cap = LINE_NODES, .sbuf = sbuf, .scap = sizeof(sbuf)};
    if (cf_json_parse(&d, s, n) != 0 || nodes[0].type != CF_JSON_OBJ)
        return -1;
    const cf_json_node *root = &nodes[0];
    const cf_json_node *seq = cf_json_get(&d, root, "seq");
    const cf_json_node *time = cf_json_get(&d, root, "time");
    const cf_json_node *event = cf_json_get(&d, root, "event");
    int64_t ms;
    if (seq == NULL || seq->type != CF_JSON_NUM || !seq->is_u64 || seq->u64 == 0)
        return -1;
    if (time == NULL || time->type != CF_JSON_STR || cf_journal_parse_time(time->str, &ms) != 0)
        return -1;
    if (event == NULL || event->type != CF_JSON_STR || event->len == 0)
        return -1;
    if (get_hex(&d, root, "prev", out->prev, sizeof(out->prev)) != 0)
        return -1;
    out->seq = seq->u64;
    if (strcmp(event->str, "checkpoint") != 0)
        return 0;

    const cf_json_node *final = cf_json_get(&d, root, "final");
    if (final == NULL || final->type != CF_JSON_BOOL)
        return -1;
    if (get_hex(&d, root, "key", out->keyid, sizeof(out->keyid)) != 0)
        return -1;
    /* The signature: the last member, its text the last bytes of the line. */
    static const char tag[] = ",\"sig\":\"";
    if (n < CF_AUDIT_SIG_TAIL_LEN)
        return -1;
    size_t at = n - CF_AUDIT_SIG_TAIL_LEN;
    const char *tail = s + at;
    if (memcmp(tail, tag, sizeof(tag) - 1) != 0 || s[n - 2] != '"' || s[n - 1] != '}')
        return -1;
    if (cf_hex_decode(tail + sizeof(tag) - 1, 2 * CF_AUDIT_SIG_LEN, out->sig, sizeof(out->sig)) !=
        CF_OK)
        return -1;
    out->checkpoint = 1;
    out->final = final->boolean;
    out->signed_len = at;
    return 0;
}
