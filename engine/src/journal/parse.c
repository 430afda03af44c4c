/*
 * parse.c - one journal line back into a record.
 *
 * The inverse of format.c, strict about what the resume state depends on
 * (types, attempt and record numbers, serials, statuses, steps' "reached")
 * and lenient about what it does not (an informative field missing or of
 * another type reads as empty), so that a journal stays readable by later
 * versions that add fields.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/plan.h>

#include "journal/journal_int.h"

int cf_journal_parser_init(cf_journal_parser *p)
{
    memset(p, 0, sizeof(*p));
    p->doc.nodes = calloc(CF_JOURNAL_MAX_NODES, sizeof(cf_json_node));
    p->doc.sbuf = malloc(CF_JOURNAL_MAX_LINE + 1);
    if (p->doc.nodes == NULL || p->doc.sbuf == NULL) {
        cf_journal_parser_free(p);
        return -1;
    }
    p->doc.cap = CF_JOURNAL_MAX_NODES;
    p->doc.scap = CF_JOURNAL_MAX_LINE + 1;
    return 0;
}

void cf_journal_parser_free(cf_journal_parser *p)
{
    free(p->doc.nodes);
    free(p->doc.sbuf);
    p->doc.nodes = NULL;
    p->doc.sbuf = NULL;
}

cf_err_t cf_journal_err_from_name(const char *name)
{
    /* cf_err_t values are small and stable; probing them all keeps this in
     * step with error.c without a second table. Nearly every step is CF_OK. */
    if (strcmp(name, "CF_OK") == 0)
        return CF_OK;
    for (int v = 0; v < 128; v++) {
        const char *n = cf_errname((cf_err_t)v);
        if (strcmp(n, "CF_ERR_UNKNOWN") != 0 && strcmp(n, name) == 0)
            return (cf_err_t)v;
    }
    return CF_ERR_INTERNAL;
}

struct ctx {
    const cf_json_doc *d;
    const cf_json_node *obj;
    const char *why;
};

/* An optional string member: "" when absent or not a string. */
static const char *opt_str(const struct ctx *c, const cf_json_node *obj, const char *key)
{
    const cf_json_node *n = cf_json_get(c->d, obj, key);
    return (n != NULL && n->type == CF_JSON_STR) ? n->str : "";
}

/* A required string member. */
static int req_str(struct ctx *c, const char *key, const char **out)
{
    const cf_json_node *n = cf_json_get(c->d, c->obj, key);
    if (n == NULL || n->type != CF_JSON_STR) {
        c->why = key;
        return -1;
    }
    *out = n->str;
    return 0;
}

/* A required non-negative integer member; with nullable, null reads as 0. */
static int req_u64(struct ctx *c, const char *key, int nullable, uint64_t *out)
{
    const cf_json_node *n = cf_json_get(c->d, c->obj, key);
    if (n != NULL && nullable && n->type == CF_JSON_NULL) {
        *out = 0;
        return 0;
    }
    if (n == NULL || n->type != CF_JSON_NUM || !n->is_u64) {
        c->why = key;
        return -1;
    }
    *out = n->u64;
    return 0;
}

static uint64_t opt_u64(const struct ctx *c, const cf_json_node *obj, const char *key)
{
    const cf_json_node *n = cf_json_get(c->d, obj, key);
    return (n != NULL && n->type == CF_JSON_NUM && n->is_u64) ? n->u64 : 0;
}

static double opt_num(const struct ctx *c, const cf_json_node *obj, const char *key)
{
    const cf_json_node *n = cf_json_get(c->d, obj, key);
    return (n != NULL && n->type == CF_JSON_NUM) ? n->num : 0.0;
}

static int64_t opt_time(const struct ctx *c, const cf_json_node *obj, const char *key)
{
    int64_t t = 0;
    if (cf_journal_parse_time(opt_str(c, obj, key), &t) != 0)
        return 0;
    return t;
}

static int check_record(struct ctx *c, uint64_t record)
{
    if (record > CF_JOURNAL_MAX_RECORD) {
        c->why = "record";
        return -1;
    }
    return 0;
}

static int check_serial(struct ctx *c, const char *serial)
{
    if (strlen(serial) > CF_JOURNAL_SERIAL_MAX) {
        c->why = "serial";
        return -1;
    }
    return 0;
}

static uint16_t parse_sw(const char *s)
{
    if (strlen(s) != 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = s[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else
            return 0;
    }
    return (uint16_t)v;
}

/* The order and station of a station's run: all three or none (a run
 * without --order, or a journal older than orders). */
static int parse_run_order(struct ctx *c, cf_journal_run_t *r)
{
    r->order = r->station = NULL;
    r->station_number = 0;
    if (cf_json_get(c->d, c->obj, "order") == NULL)
        return 0;
    uint64_t n;
    if (req_str(c, "order", &r->order) != 0 || req_str(c, "station", &r->station) != 0 ||
        req_u64(c, "station_number", 0, &n) != 0)
        return -1;
    if (n == 0 || n > 255) { /* an order takes at most 255 stations */
        c->why = "station_number";
        return -1;
    }
    r->station_number = (unsigned)n;
    return 0;
}

static int parse_run(struct ctx *c, cf_journal_run_t *r)
{
    uint64_t v;
    if (req_u64(c, "v", 0, &v) != 0)
        return -1;
    if (v == 0 || v > CF_JOURNAL_FORMAT) {
        c->why = "v (written by a newer cardforge?)";
        return -1;
    }
    if (req_str(c, "batch_sha256", &r->batch_sha256) != 0 ||
        req_str(c, "description_sha256", &r->description_sha256) != 0 ||
        req_u64(c, "records", 0, &r->records) != 0 || check_record(c, r->records) != 0)
        return -1;
    r->time = opt_time(c, c->obj, "time");
    r->version = opt_str(c, c->obj, "cardforge");
    r->pid = (long)opt_u64(c, c->obj, "pid");
    r->description = opt_str(c, c->obj, "description");
    r->batch = opt_str(c, c->obj, "batch");
    r->readers = opt_str(c, c->obj, "readers");
    r->max_attempts = (unsigned)opt_u64(c, c->obj, "max_attempts");
    return parse_run_order(c, r);
}

static int parse_intent(struct ctx *c, cf_journal_intent_t *in)
{
    uint64_t line;
    if (req_u64(c, "attempt", 0, &in->attempt) != 0 || req_u64(c, "record", 0, &in->record) != 0 ||
        check_record(c, in->record) != 0 || req_str(c, "serial", &in->serial) != 0 ||
        check_serial(c, in->serial) != 0 || req_str(c, "step", &in->step) != 0)
        return -1;
    line = opt_u64(c, c->obj, "line");
    in->line = line > ULONG_MAX ? 0 : (unsigned long)line;
    in->time = opt_time(c, c->obj, "time");
    in->reader = opt_str(c, c->obj, "reader");
    in->profile = opt_str(c, c->obj, "profile");
    in->step_index = (unsigned)opt_u64(c, c->obj, "step_index");
    return 0;
}

static int parse_status(struct ctx *c, cf_card_status_t *out)
{
    const char *s;
    if (req_str(c, "status", &s) != 0)
        return -1;
    for (int v = CF_STATUS_PERSONALIZED; v <= CF_STATUS_REJECTED; v++) {
        if (strcmp(s, cf_card_status_name((cf_card_status_t)v)) == 0) {
            *out = (cf_card_status_t)v;
            return 0;
        }
    }
    c->why = "status";
    return -1;
}

static int parse_steps(struct ctx *c, cf_journal_parser *p, cf_journal_card_t *card)
{
    const cf_json_node *arr = cf_json_get(c->d, c->obj, "steps");
    if (arr == NULL || arr->type != CF_JSON_ARR || arr->count > CF_JOURNAL_MAX_STEPS) {
        c->why = "steps";
        return -1;
    }
    size_t i = 0;
    card->n_certs = 0;
    for (const cf_json_node *s = cf_json_child(c->d, arr, 0); s != NULL;
         s = cf_json_next(c->d, s), i++) {
        if (s->type != CF_JSON_OBJ) {
            c->why = "steps";
            return -1;
        }
        cf_journal_step_t *st = &p->steps[i];
        const cf_json_node *reached = cf_json_get(c->d, s, "reached");
        /* "reached" decides whether the card was changed: required. */
        if (reached == NULL || reached->type != CF_JSON_STR ||
            (strcmp(reached->str, "yes") != 0 && strcmp(reached->str, "no") != 0 &&
             strcmp(reached->str, "unknown") != 0)) {
            c->why = "steps[].reached";
            return -1;
        }
        st->reached = reached->str;
        st->step = opt_str(c, s, "step");
        st->outcome = opt_str(c, s, "outcome");
        st->sw = parse_sw(opt_str(c, s, "sw"));
        st->ms = opt_num(c, s, "ms");
        uint64_t a = opt_u64(c, s, "apdus");
        st->apdus = a > UINT32_MAX ? UINT32_MAX : (unsigned)a;
        st->kcv = opt_str(c, s, "kcv");
        st->guid = opt_str(c, s, "guid");
        st->source = opt_str(c, s, "source");
        st->master_key = opt_str(c, s, "master_key");
        uint64_t mv = opt_u64(c, s, "master_key_version");
        st->master_version = mv > UINT32_MAX ? 0 : (unsigned)mv;
        st->err = cf_journal_err_from_name(opt_str(c, s, "error"));
        st->message = opt_str(c, s, "message");
        /* issue-certificate's facts; absent on every other step. */
        const cf_json_node *ct = cf_json_get(c->d, s, "certificate");
        if (ct != NULL && ct->type == CF_JSON_OBJ) {
            cf_journal_cert_t *jc = &p->certs[card->n_certs++];
            jc->step = (unsigned)i;
            jc->state = opt_str(c, ct, "state");
            jc->slot = opt_str(c, ct, "slot");
            jc->algorithm = opt_str(c, ct, "algorithm");
            jc->serial = opt_str(c, ct, "serial");
            jc->sha256 = opt_str(c, ct, "sha256");
            jc->issuer = opt_str(c, ct, "issuer");
            jc->not_after = opt_str(c, ct, "not_after");
        }
    }
    card->certs = card->n_certs > 0 ? p->certs : NULL;
    card->steps = p->steps;
    card->n_steps = i;
    return 0;
}

/* A count in "spent": absent reads as 0 (a member later versions may drop),
 * anything but an integer of 0..UINT32_MAX is damage. */
static int spent_count(struct ctx *c, const cf_json_node *spent, const char *key, unsigned *out)
{
    const cf_json_node *n = cf_json_get(c->d, spent, key);
    *out = 0;
    if (n == NULL)
        return 0;
    if (n->type != CF_JSON_NUM || !n->is_u64 || n->u64 > UINT32_MAX) {
        c->why = "spent";
        return -1;
    }
    *out = (unsigned)n->u64;
    return 0;
}

/* "spent" and "refused" decide which values the next attempt on the card
 * may present: strict when present. Absent (a journal written before they
 * existed): nothing spent, nothing refused. */
static int parse_spent_refused(struct ctx *c, cf_journal_card_t *card)
{
    const cf_json_node *spent = cf_json_get(c->d, c->obj, "spent");
    if (spent != NULL) {
        if (spent->type != CF_JSON_OBJ) {
            c->why = "spent";
            return -1;
        }
        if (spent_count(c, spent, "PUK", &card->spent_puk) != 0 ||
            spent_count(c, spent, "admin", &card->spent_admin) != 0)
            return -1;
    }
    const cf_json_node *refused = cf_json_get(c->d, c->obj, "refused");
    if (refused == NULL)
        return 0;
    if (refused->type != CF_JSON_ARR) {
        c->why = "refused";
        return -1;
    }
    for (const cf_json_node *n = cf_json_child(c->d, refused, 0); n != NULL;
         n = cf_json_next(c->d, n)) {
        unsigned p = 0;
        while (p < CF_PARAM_COUNT &&
               (n->type != CF_JSON_STR || strcmp(n->str, cf_param_name((cf_param_t)p)) != 0))
            p++;
        if (p == CF_PARAM_COUNT) {
            c->why = "refused: not a parameter name";
            return -1;
        }
        card->refused |= 1u << p;
    }
    return 0;
}

static int parse_card(struct ctx *c, cf_journal_parser *p, cf_journal_card_t *card)
{
    static const char *const tries_names[3] = {"PIN", "PUK", "admin"};
    uint64_t line;
    const char *err;
    if (req_u64(c, "attempt", 0, &card->attempt) != 0 ||
        req_u64(c, "record", 1, &card->record) != 0 || check_record(c, card->record) != 0 ||
        req_str(c, "serial", &card->serial) != 0 || check_serial(c, card->serial) != 0 ||
        parse_status(c, &card->status) != 0 || req_str(c, "error", &err) != 0 ||
        parse_steps(c, p, card) != 0 || parse_spent_refused(c, card) != 0)
        return -1;
    card->err = strcmp(err, "CF_OK") == 0 ? CF_OK : cf_journal_err_from_name(err);
    line = opt_u64(c, c->obj, "line");
    card->line = line > ULONG_MAX ? 0 : (unsigned long)line;
    card->recovers = opt_u64(c, c->obj, "recovers");
    card->id = opt_str(c, c->obj, "id");
    card->reader = opt_str(c, c->obj, "reader");
    card->atr = opt_str(c, c->obj, "atr");
    card->profile = opt_str(c, c->obj, "profile");
    card->version = opt_str(c, c->obj, "version");
    card->message = opt_str(c, c->obj, "message");
    card->start = opt_time(c, c->obj, "start");
    card->end = opt_time(c, c->obj, "end");
    card->apdus = opt_u64(c, c->obj, "apdus");
    const cf_json_node *tries = cf_json_get(c->d, c->obj, "tries");
    for (int i = 0; i < 3; i++) {
        const cf_json_node *t = cf_json_get(c->d, tries, tries_names[i]);
        card->tries[i] =
            (t != NULL && t->type == CF_JSON_NUM && t->is_u64 && t->u64 < 1000) ? (int)t->u64 : -1;
    }
    return 0;
}

static void parse_end(struct ctx *c, cf_journal_end_t *e)
{
    e->time = opt_time(c, c->obj, "time");
    e->reason = opt_str(c, c->obj, "reason");
    e->personalized = opt_u64(c, c->obj, "personalized");
    e->failed = opt_u64(c, c->obj, "failed");
    e->rejected = opt_u64(c, c->obj, "rejected");
    e->remaining = opt_u64(c, c->obj, "remaining");
}

cf_jline cf_journal_parse_line(cf_journal_parser *p, const char *line, size_t len,
                               cf_journal_entry_t *e, const char **why)
{
    struct ctx c = {&p->doc, NULL, NULL};
    const char *type;
    unsigned long lineno = e->lineno;
    memset(e, 0, sizeof(*e));
    e->lineno = lineno;
    *why = "not a JSON object";
    if (len > CF_JOURNAL_MAX_LINE || cf_json_parse(&p->doc, line, len) != 0 ||
        p->doc.nodes[0].type != CF_JSON_OBJ)
        return CF_JLINE_BAD;
    c.obj = &p->doc.nodes[0];
    if (req_str(&c, "type", &type) != 0) {
        *why = "no \"type\"";
        return CF_JLINE_BAD;
    }
    int rc;
    if (strcmp(type, "run") == 0) {
        e->kind = CF_JOURNAL_RUN;
        rc = parse_run(&c, &e->run);
    } else if (strcmp(type, "intent") == 0) {
        e->kind = CF_JOURNAL_INTENT;
        rc = parse_intent(&c, &e->intent);
    } else if (strcmp(type, "card") == 0) {
        e->kind = CF_JOURNAL_CARD;
        rc = parse_card(&c, p, &e->card);
    } else if (strcmp(type, "end") == 0) {
        e->kind = CF_JOURNAL_END;
        parse_end(&c, &e->end);
        rc = 0;
    } else {
        return CF_JLINE_UNKNOWN;
    }
    if (rc != 0) {
        *why = c.why ? c.why : "malformed record";
        return CF_JLINE_BAD;
    }
    return CF_JLINE_OK;
}
