/*
 * test_journal.c - the batch journal (journal.h): JSON escaping and parsing,
 * record round trips, the writer and its lock, torn last lines, damage, and
 * the resume state rebuilt from what was written.
 *
 * Journals are written to a fresh temporary directory per test; the state a
 * test asserts is always the one read back from the file, never the writer's
 * memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/journal.h>
#include <cardforge/plan.h>

#include "journal/jbuf.h"
#include "journal/journal_int.h"
#include "journal/json.h"
#include "journal/u64map.h"

/* ---- fixture ------------------------------------------------------------ */

struct fx {
    char dir[64];
    char path[128];
    cf_diag_list_t *diags;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/cf-journal.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/j.jsonl", f->dir);
    f->diags = cf_diag_list_new();
    *state = f;
    return f->diags == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char other[192];
    const char *names[] = {"moved.jsonl", "link.jsonl", "target.jsonl"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(other, sizeof(other), "%s/%s", f->dir, names[i]);
        unlink(other);
    }
    unlink(f->path);
    rmdir(f->dir);
    cf_diag_list_free(f->diags);
    free(f);
    return 0;
}

static void append_bytes(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static off_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static int has_diag(const cf_diag_list_t *d, cf_severity_t sev, unsigned long line,
                    const char *needle)
{
    for (size_t i = 0; i < cf_diag_count(d); i++)
        if (cf_diag_severity(d, i) == sev && (line == 0 || cf_diag_line(d, i) == line) &&
            strstr(cf_diag_message(d, i), needle) != NULL)
            return 1;
    return 0;
}

static const cf_journal_step_t step_done = {
    "set-pin-by-puk", "done", "yes", CF_OK, 0x9000, 12.5, 3, "", "", "field", "", 0, NULL};
static const cf_journal_step_t step_rot = {
    "rotate-admin-key", "done", "yes",     CF_OK,          0x9000, 40.0, 6,
    "A1B2C3",           "",     "derived", "bureau-admin", 2,      NULL};
static const cf_journal_step_t step_lost = {"rotate-admin-key",
                                            "failed",
                                            "unknown",
                                            CF_ERR_CARD_REMOVED,
                                            0,
                                            7.0,
                                            2,
                                            "",
                                            "reader 'sim 1': card removed",
                                            "literal",
                                            "",
                                            0,
                                            NULL};
static const cf_journal_step_t step_notrun = {"block-pin", "not-run", "no", CF_OK, 0, 0,   0,
                                              "",          "",        "",   "",    0, NULL};
static const cf_journal_step_t step_refused = {
    "set-pin-by-puk", "refused", "no", CF_ERR_POLICY, 0, 0.1, 0, "", "PIN too short",
    "field",          "",        0,    NULL};

static cf_journal_card_t card(uint64_t attempt, uint64_t record, const char *serial,
                              cf_card_status_t status, const cf_journal_step_t *steps, size_t n)
{
    cf_journal_card_t c;
    memset(&c, 0, sizeof(c));
    c.attempt = attempt;
    c.record = record;
    c.line = record ? (unsigned long)record + 1 : 0;
    c.reader = "sim 1";
    c.serial = serial;
    c.atr = "3BFD1300";
    c.profile = "piv-yubikey";
    c.status = status;
    c.err = status == CF_STATUS_PERSONALIZED ? CF_OK : CF_ERR_CARD_REMOVED;
    c.start = 1700000000000;
    c.end = 1700000000250;
    c.apdus = 17;
    c.steps = steps;
    c.n_steps = n;
    c.tries[0] = 3;
    c.tries[1] = -1;
    c.tries[2] = 2;
    return c;
}

static cf_journal_intent_t intent(uint64_t attempt, uint64_t record, const char *serial,
                                  const char *step)
{
    cf_journal_intent_t in = {
        1700000000100, attempt, record, (unsigned long)record + 1, "sim 1", serial,
        "piv-yubikey", step,    2};
    return in;
}

static cf_journal_run_t run_rec(void)
{
    cf_journal_run_t r = {1700000000000, "d.ini", "aa11", "b.csv", "bb22", 10, "sim:2", 3,
                          "0.1.0",       42,      NULL,   NULL,    0};
    return r;
}

static cf_journal_t *open_ok(struct fx *f, cf_journal_info_t *info)
{
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, info, f->diags), CF_OK);
    assert_non_null(j);
    return j;
}

/* Read the journal back into a fresh state (the caller frees it). */
static cf_journal_state_t *reread(struct fx *f, cf_journal_info_t *info)
{
    cf_journal_state_t *st = cf_journal_state_new();
    assert_non_null(st);
    assert_int_equal(cf_journal_scan(f->path, NULL, NULL, st, info, f->diags), CF_OK);
    return st;
}

/* ---- JSON escaping ------------------------------------------------------ */

static void test_escaper_escapes_quotes_backslashes_and_controls(void **state)
{
    (void)state;
    char buf[128];
    cf_jbuf b;
    cf_jbuf_init(&b, buf, sizeof(buf));
    const char in[] = "a\"b\\c\nd\te\x01\x7f";
    cf_jbuf_str(&b, in, sizeof(in) - 1);
    assert_false(b.overflow);
    buf[b.len] = '\0';
    assert_string_equal(buf, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u007f\"");
}

static void test_escaper_keeps_utf8_and_replaces_invalid_bytes(void **state)
{
    (void)state;
    char buf[128];
    cf_jbuf b;
    cf_jbuf_init(&b, buf, sizeof(buf));
    /* é (C3 A9), a lone continuation byte, an overlong '/', a cut-off
     * 3-byte sequence at the end. */
    const char in[] = "\xC3\xA9x\x80y\xC0\xAFz\xE2\x82";
    cf_jbuf_str(&b, in, sizeof(in) - 1);
    buf[b.len] = '\0';
    assert_string_equal(buf, "\"\xC3\xA9x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd\"");
}

static void test_escaper_never_writes_past_capacity(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'Z', sizeof(buf));
    cf_jbuf b;
    cf_jbuf_init(&b, buf, 10);
    cf_jbuf_str(&b, "\x01\x02\x03", 3); /* 2 + 3 * 6 bytes */
    assert_true(b.overflow);
    assert_true(b.len <= 10);
    for (size_t i = 10; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 'Z');
    /* Sticky: a later small append does not clear it. */
    cf_jbuf_raw(&b, "x", 1);
    assert_true(b.overflow);
}

static void test_escaped_string_parses_back_to_the_same_bytes(void **state)
{
    (void)state;
    char buf[512], sbuf[600];
    cf_json_node nodes[8];
    cf_json_doc d = {nodes, 8, 0, sbuf, sizeof(sbuf), 0};
    char in[200];
    size_t n = 0;
    for (int c = 1; c < 128; c++)
        in[n++] = (char)c;
    memcpy(in + n, "\xF0\x9F\x92\xB3", 4); /* U+1F4B3, a credit card */
    n += 4;
    cf_jbuf b;
    cf_jbuf_init(&b, buf, sizeof(buf));
    cf_jbuf_str(&b, in, n);
    assert_false(b.overflow);
    assert_int_equal(cf_json_parse(&d, buf, b.len), 0);
    assert_int_equal(nodes[0].type, CF_JSON_STR);
    assert_int_equal(nodes[0].len, n);
    assert_memory_equal(nodes[0].str, in, n);
}

/* ---- JSON parsing ------------------------------------------------------- */

static int parses(const char *text)
{
    char sbuf[256];
    cf_json_node nodes[32];
    cf_json_doc d = {nodes, 32, 0, sbuf, sizeof(sbuf), 0};
    return cf_json_parse(&d, text, strlen(text)) == 0;
}

static void test_json_parser_refuses_what_rfc8259_refuses(void **state)
{
    (void)state;
    assert_true(parses("{\"a\":[1,2.5,-3e2,true,false,null,\"x\\u00e9\\ud83d\\udcb3\"]}"));
    assert_false(parses("{\"a\":1,}"));
    assert_false(parses("[1,]"));
    assert_false(parses("{\"a\":01}"));
    assert_false(parses("{\"a\":1.}"));
    assert_false(parses("{\"a\":\"x\ny\"}"));    /* raw control character */
    assert_false(parses("{\"a\":\"\\ud83d\"}")); /* unpaired surrogate */
    assert_false(parses("{\"a\":\"\\udcb3\"}")); /* lone low surrogate */
    assert_false(parses("{\"a\":\"\\u0000\"}")); /* NUL cannot be a C string */
    assert_false(parses("{\"a\":\"\xC3\"}"));    /* cut-off UTF-8 */
    assert_false(parses("{\"a\" 1}"));
    assert_false(parses("{} {}"));
    assert_false(parses("tru"));
    assert_false(parses(""));
}

static void test_json_parser_limits_depth_and_nodes(void **state)
{
    (void)state;
    char deep[64];
    memset(deep, '[', CF_JSON_MAX_DEPTH + 2);
    deep[CF_JSON_MAX_DEPTH + 2] = '\0';
    assert_false(parses(deep));
    char ok[2 * CF_JSON_MAX_DEPTH + 4];
    memset(ok, '[', CF_JSON_MAX_DEPTH);
    memset(ok + CF_JSON_MAX_DEPTH, ']', CF_JSON_MAX_DEPTH);
    ok[2 * CF_JSON_MAX_DEPTH] = '\0';
    assert_true(parses(ok));
    /* 40 values do not fit in 32 nodes. */
    char many[128] = "[";
    for (int i = 0; i < 40; i++)
        strcat(many, i ? ",1" : "1");
    strcat(many, "]");
    assert_false(parses(many));
}

static void test_json_u64_is_exact_and_bounded(void **state)
{
    (void)state;
    char sbuf[64];
    cf_json_node nodes[4];
    cf_json_doc d = {nodes, 4, 0, sbuf, sizeof(sbuf), 0};
    assert_int_equal(cf_json_parse(&d, "18446744073709551615", 20), 0);
    assert_true(nodes[0].is_u64);
    assert_true(nodes[0].u64 == UINT64_MAX);
    assert_int_equal(cf_json_parse(&d, "18446744073709551616", 20), 0);
    assert_false(nodes[0].is_u64);
    assert_int_equal(cf_json_parse(&d, "-1", 2), 0);
    assert_false(nodes[0].is_u64);
}

/* ---- times, maps -------------------------------------------------------- */

static void test_time_format_parses_back(void **state)
{
    (void)state;
    char t[32];
    int64_t back = 0;
    cf_journal_format_time(1738317723117, t);
    assert_string_equal(t, "2025-01-31T10:02:03.117Z");
    assert_int_equal(cf_journal_parse_time(t, &back), 0);
    assert_true(back == 1738317723117);
    assert_int_equal(cf_journal_parse_time("2025-01-31 10:02:03.117Z", &back), -1);
    assert_int_equal(cf_journal_parse_time("2025-13-31T10:02:03.117Z", &back), -1);
}

static void test_u64map_matches_a_reference_under_random_puts_and_deletes(void **state)
{
    (void)state;
    enum { N = 5000 };
    static uint64_t ref[N]; /* 0: absent, else value */
    cf_u64map m;
    cf_u64map_init(&m);
    unsigned seed = 12345;
    for (int op = 0; op < 200000; op++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t k = (seed >> 8) % N;
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 3 == 0) {
            assert_int_equal(cf_u64map_del(&m, k), ref[k] != 0);
            ref[k] = 0;
        } else {
            assert_int_equal(cf_u64map_put(&m, k, op + 1), 0);
            ref[k] = (uint64_t)op + 1;
        }
    }
    size_t count = 0;
    for (uint64_t k = 0; k < N; k++) {
        uint64_t v = 0;
        assert_int_equal(cf_u64map_get(&m, k, &v), ref[k] != 0);
        if (ref[k] != 0) {
            assert_true(v == ref[k]);
            count++;
        }
    }
    assert_int_equal(cf_u64map_count(&m), count);
    cf_u64map_free(&m);
}

/* ---- records ------------------------------------------------------------ */

/* A standard PIV card's serial is its CHUID's GUID: the GUID a
 * personalized card's write-chuid step wrote names a done card too. */
static void test_personalized_card_is_done_under_the_guid_its_chuid_step_wrote(void **state)
{
    (void)state;
    static const char old_guid[] = "43465049560000000000ff0001000001";
    static const char new_guid[] = "0123456789ab4def8123456789abcdef";
    cf_journal_step_t steps[2] = {step_done, step_done};
    steps[1].step = "write-chuid";
    steps[1].guid = new_guid;
    cf_journal_state_t *st = cf_journal_state_new();
    assert_non_null(st);
    cf_journal_card_t c = card(1, 1, old_guid, CF_STATUS_FAILED, steps, 2);
    assert_int_equal(cf_journal_state_apply_card(st, &c), CF_OK);
    assert_false(cf_journal_state_serial_done(st, new_guid)); /* failed: not done */
    c = card(2, 1, old_guid, CF_STATUS_PERSONALIZED, steps, 2);
    assert_int_equal(cf_journal_state_apply_card(st, &c), CF_OK);
    assert_true(cf_journal_state_serial_done(st, old_guid));
    assert_true(cf_journal_state_serial_done(st, new_guid));
    cf_journal_totals_t t;
    cf_journal_state_totals(st, &t);
    assert_int_equal(t.serial_repeats, 0);
    cf_journal_state_free(st);
}

static void test_card_record_round_trips_through_its_line(void **state)
{
    (void)state;
    cf_journal_step_t steps[3] = {step_done, step_rot, step_lost};
    steps[0].guid = "0123456789abcdef4123856789abcdef"; /* as write-chuid records it */
    cf_journal_card_t c = card(7, 3, "1000003", CF_STATUS_FAILED, steps, 3);
    c.id = "Doe, \"Jane\"";
    c.message = "card removed\tduring rotate-admin-key";
    c.recovers = 5;
    char line[CF_JOURNAL_MAX_LINE];
    size_t len;
    assert_int_equal(cf_journal_format_card(&c, line, sizeof(line), &len), CF_OK);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1)); /* one line */

    cf_journal_parser p;
    assert_int_equal(cf_journal_parser_init(&p), 0);
    cf_journal_entry_t e;
    const char *why;
    e.lineno = 1;
    assert_int_equal(cf_journal_parse_line(&p, line, len - 1, &e, &why), CF_JLINE_OK);
    assert_int_equal(e.kind, CF_JOURNAL_CARD);
    const cf_journal_card_t *r = &e.card;
    assert_true(r->attempt == 7 && r->record == 3 && r->line == 4 && r->recovers == 5);
    assert_string_equal(r->id, c.id);
    assert_string_equal(r->serial, "1000003");
    assert_string_equal(r->message, c.message);
    assert_int_equal(r->status, CF_STATUS_FAILED);
    assert_int_equal(r->err, CF_ERR_CARD_REMOVED);
    assert_true(r->start == c.start && r->end == c.end && r->apdus == 17);
    assert_int_equal(r->tries[0], 3);
    assert_int_equal(r->tries[1], -1);
    assert_int_equal(r->tries[2], 2);
    assert_int_equal(r->n_steps, 3);
    assert_string_equal(r->steps[1].kcv, "A1B2C3");
    assert_string_equal(r->steps[0].guid, "0123456789abcdef4123856789abcdef");
    assert_true(r->steps[1].guid == NULL || r->steps[1].guid[0] == 0); /* none written */
    assert_null(strstr(line, "\"kcv\":\"A1B2C3\",\"guid\""));          /* only where there is one */
    assert_string_equal(r->steps[1].source, "derived");
    assert_string_equal(r->steps[1].master_key, "bureau-admin");
    assert_int_equal(r->steps[1].master_version, 2);
    assert_string_equal(r->steps[0].master_key, "");
    assert_int_equal(r->steps[0].master_version, 0);
    assert_int_equal(r->steps[1].sw, 0x9000);
    assert_int_equal(r->steps[2].sw, 0);
    assert_string_equal(r->steps[2].reached, "unknown");
    assert_int_equal(r->steps[2].err, CF_ERR_CARD_REMOVED);
    assert_true(r->steps[0].ms > 12.4 && r->steps[0].ms < 12.6);
    cf_journal_parser_free(&p);
}

static void test_card_record_with_too_many_steps_is_refused(void **state)
{
    (void)state;
    cf_journal_step_t steps[CF_JOURNAL_MAX_STEPS + 1];
    for (size_t i = 0; i < CF_JOURNAL_MAX_STEPS + 1; i++)
        steps[i] = step_done;
    cf_journal_card_t c = card(1, 1, "1", CF_STATUS_PERSONALIZED, steps, CF_JOURNAL_MAX_STEPS + 1);
    char line[CF_JOURNAL_MAX_LINE];
    size_t len;
    assert_int_equal(cf_journal_format_card(&c, line, sizeof(line), &len), CF_ERR_BUFFER);
}

static void test_card_record_that_does_not_fit_is_not_cut(void **state)
{
    (void)state;
    cf_journal_card_t c = card(1, 1, "1", CF_STATUS_PERSONALIZED, NULL, 0);
    char line[100];
    size_t len = 0;
    assert_int_equal(cf_journal_format_card(&c, line, sizeof(line), &len), CF_ERR_BUFFER);
    assert_int_equal(len, 0);
}

static void test_bad_lines_say_which_field(void **state)
{
    (void)state;
    cf_journal_parser p;
    assert_int_equal(cf_journal_parser_init(&p), 0);
    cf_journal_entry_t e;
    const char *why;
    const char *l1 = "{\"type\":\"card\",\"attempt\":1,\"record\":2,\"serial\":\"9\","
                     "\"status\":\"great\",\"error\":\"CF_OK\",\"steps\":[]}";
    assert_int_equal(cf_journal_parse_line(&p, l1, strlen(l1), &e, &why), CF_JLINE_BAD);
    assert_string_equal(why, "status");
    const char *l2 = "{\"type\":\"intent\",\"attempt\":1,\"record\":-2,\"serial\":\"9\","
                     "\"step\":\"x\"}";
    assert_int_equal(cf_journal_parse_line(&p, l2, strlen(l2), &e, &why), CF_JLINE_BAD);
    assert_string_equal(why, "record");
    const char *l3 = "{\"type\":\"intent\",\"attempt\":1,\"record\":200000000,\"serial\":\"9\","
                     "\"step\":\"x\"}";
    assert_int_equal(cf_journal_parse_line(&p, l3, strlen(l3), &e, &why), CF_JLINE_BAD);
    assert_string_equal(why, "record");
    const char *l4 = "{\"type\":\"card\",\"attempt\":1,\"record\":null,\"serial\":\"\","
                     "\"status\":\"failed\",\"error\":\"CF_ERR_IO\",\"steps\":[{\"step\":\"x\","
                     "\"reached\":\"maybe\"}]}";
    assert_int_equal(cf_journal_parse_line(&p, l4, strlen(l4), &e, &why), CF_JLINE_BAD);
    assert_string_equal(why, "steps[].reached");
    const char *l5 = "{\"type\":\"run\",\"v\":2,\"batch_sha256\":\"\",\"description_sha256\":\"\","
                     "\"records\":1}";
    assert_int_equal(cf_journal_parse_line(&p, l5, strlen(l5), &e, &why), CF_JLINE_BAD);
    assert_non_null(strstr(why, "newer"));
    const char *l6 = "{\"type\":\"weather\",\"sunny\":true}";
    assert_int_equal(cf_journal_parse_line(&p, l6, strlen(l6), &e, &why), CF_JLINE_UNKNOWN);
    cf_journal_parser_free(&p);
}

/* A card line as cardforge wrote it before "spent" and "refused". */
static const char old_card_line[] =
    "{\"type\":\"card\",\"attempt\":1,\"record\":1,\"line\":2,\"id\":\"\",\"reader\":\"sim 1\","
    "\"serial\":\"1001\",\"atr\":\"3BFD\",\"profile\":\"piv\",\"version\":\"\","
    "\"status\":\"failed\",\"error\":\"CF_ERR_WRONG_SECRET\",\"message\":\"\","
    "\"start\":\"2025-01-31T10:00:00.000Z\",\"end\":\"2025-01-31T10:00:00.300Z\",\"ms\":300.0,"
    "\"apdus\":20,\"recovers\":null,\"tries\":{\"PIN\":3,\"PUK\":null,\"admin\":null},"
    "\"steps\":[{\"step\":\"set-pin-by-puk\",\"outcome\":\"failed\",\"reached\":\"no\","
    "\"sw\":\"6982\",\"ms\":20.5,\"apdus\":4,\"kcv\":\"\",\"error\":\"CF_ERR_WRONG_SECRET\","
    "\"message\":\"\"}]}";

/* old_card_line with text inserted before its "steps". */
static size_t card_line_with(char *buf, size_t cap, const char *insert)
{
    const char *at = strstr(old_card_line, "\"steps\"");
    int n = snprintf(buf, cap, "%.*s%s%s", (int)(at - old_card_line), old_card_line, insert, at);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Parse line[0..len) as a card record, failing the test when it is not. */
static void parse_card_line(cf_journal_parser *p, const char *line, size_t len,
                            cf_journal_entry_t *e)
{
    const char *why = NULL;
    e->lineno = 1;
    if (cf_journal_parse_line(p, line, len, e, &why) != CF_JLINE_OK)
        fail_msg("card line not read back: %s", why);
    assert_int_equal(e->kind, CF_JOURNAL_CARD);
}

static void test_spent_and_refused_round_trip_as_counts_and_names(void **state)
{
    (void)state;
    cf_journal_step_t steps[1] = {step_refused};
    cf_journal_card_t c = card(3, 2, "1002", CF_STATUS_FAILED, steps, 1);
    c.spent_puk = 1;
    c.spent_admin = 2;
    c.refused = (1u << CF_PARAM_NEW_CARD_MANAGER_KEY) | (1u << CF_PARAM_INITIAL_PUK);
    char line[CF_JOURNAL_MAX_LINE];
    size_t len;
    assert_int_equal(cf_journal_format_card(&c, line, sizeof(line), &len), CF_OK);
    line[len] = '\0';
    /* Names in cf_param_t order, right after the tries. */
    assert_non_null(strstr(line, "\"admin\":2},\"spent\":{\"PUK\":1,\"admin\":2},"
                                 "\"refused\":[\"InitialPUK\",\"NewCardManagerKey\"],\"steps\":"));

    cf_journal_parser p;
    assert_int_equal(cf_journal_parser_init(&p), 0);
    cf_journal_entry_t e;
    parse_card_line(&p, line, len - 1, &e);
    assert_int_equal(e.card.spent_puk, 1);
    assert_int_equal(e.card.spent_admin, 2);
    assert_int_equal(e.card.refused, c.refused);

    /* Nothing spent: zeros and an empty list, still written. */
    c.spent_puk = c.spent_admin = 0;
    c.refused = 0;
    assert_int_equal(cf_journal_format_card(&c, line, sizeof(line), &len), CF_OK);
    line[len] = '\0';
    assert_non_null(strstr(line, "\"spent\":{\"PUK\":0,\"admin\":0},\"refused\":[],"));
    parse_card_line(&p, line, len - 1, &e);
    assert_true(e.card.spent_puk == 0 && e.card.spent_admin == 0 && e.card.refused == 0);
    cf_journal_parser_free(&p);
}

static void test_refused_bit_of_no_parameter_is_not_written(void **state)
{
    (void)state;
    cf_journal_card_t c = card(1, 1, "1", CF_STATUS_FAILED, NULL, 0);
    c.refused = 1u << CF_PARAM_COUNT;
    char line[4096];
    size_t len = 0;
    assert_int_equal(cf_journal_format_card(&c, line, sizeof(line), &len), CF_ERR_BUFFER);
}

static void test_card_line_written_before_spent_and_refused_reads_as_nothing_spent(void **state)
{
    (void)state;
    cf_journal_parser p;
    assert_int_equal(cf_journal_parser_init(&p), 0);
    cf_journal_entry_t e;
    parse_card_line(&p, old_card_line, sizeof(old_card_line) - 1, &e);
    assert_true(e.card.spent_puk == 0 && e.card.spent_admin == 0 && e.card.refused == 0);
    assert_int_equal(e.card.err, CF_ERR_WRONG_SECRET);
    /* A member a later version drops reads as 0; one it adds is ignored. */
    char buf[2048];
    size_t n = card_line_with(buf, sizeof(buf), "\"spent\":{\"admin\":1,\"PIN\":4},");
    parse_card_line(&p, buf, n, &e);
    assert_true(e.card.spent_puk == 0 && e.card.spent_admin == 1);
    /* A name given twice is the same refusal. */
    n = card_line_with(buf, sizeof(buf), "\"refused\":[\"PUK\",\"PUK\",\"PIN\"],");
    parse_card_line(&p, buf, n, &e);
    assert_int_equal(e.card.refused, (1u << CF_PARAM_PUK) | (1u << CF_PARAM_PIN));
    cf_journal_parser_free(&p);
}

static void test_malformed_spent_or_refused_is_damage_naming_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *insert;
        const char *why;
    } bad[] = {
        {"\"spent\":null,", "spent"},
        {"\"spent\":2,", "spent"},
        {"\"spent\":{\"PUK\":-1,\"admin\":0},", "spent"},
        {"\"spent\":{\"PUK\":1.5,\"admin\":0},", "spent"},
        {"\"spent\":{\"PUK\":0,\"admin\":\"1\"},", "spent"},
        {"\"spent\":{\"PUK\":4294967296,\"admin\":0},", "spent"},
        {"\"refused\":\"PUK\",", "refused"},
        {"\"refused\":{},", "refused"},
        {"\"refused\":[3],", "refused: not a parameter name"},
        {"\"refused\":[\"puk\"],", "refused: not a parameter name"},
        {"\"refused\":[\"PUK\",\"MasterKey\"],", "refused: not a parameter name"},
    };
    cf_journal_parser p;
    assert_int_equal(cf_journal_parser_init(&p), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[2048];
        size_t n = card_line_with(buf, sizeof(buf), bad[i].insert);
        cf_journal_entry_t e;
        const char *why = NULL;
        e.lineno = 1;
        if (cf_journal_parse_line(&p, buf, n, &e, &why) != CF_JLINE_BAD ||
            strcmp(why, bad[i].why) != 0)
            fail_msg("'%s': expected damage '%s', got '%s'", bad[i].insert, bad[i].why,
                     why ? why : "(accepted)");
    }
    cf_journal_parser_free(&p);
}

static void test_unknown_refused_name_stops_the_scan_at_its_line(void **state)
{
    struct fx *f = *state;
    char buf[4096];
    size_t n = sizeof(old_card_line) - 1;
    memcpy(buf, old_card_line, n);
    buf[n++] = '\n';
    n += card_line_with(buf + n, sizeof(buf) - n, "\"refused\":[\"SecretKey\"],");
    buf[n++] = '\n';
    cf_journal_state_t *st = cf_journal_state_new();
    assert_int_equal(
        cf_journal_scan_mem("j.jsonl", (const uint8_t *)buf, n, NULL, NULL, st, NULL, f->diags),
        CF_ERR_PARSE);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 2, "(refused: not a parameter name)"));
    assert_null(strstr(cf_diag_message(f->diags, 0), "SecretKey")); /* no value echoed */
    cf_journal_state_free(st);
}

/* ---- writer, reader, state ---------------------------------------------- */

static void test_written_journal_reads_back_into_resume_state(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_run_t r = run_rec();
    cf_journal_step_t ok2[2] = {step_done, step_rot};
    cf_journal_intent_t i1 = intent(1, 1, "1001", "set-pin-by-puk");
    cf_journal_card_t c1 = card(1, 1, "1001", CF_STATUS_PERSONALIZED, ok2, 2);
    cf_journal_card_t c2 = card(2, 2, "1002", CF_STATUS_PERSONALIZED, ok2, 2);
    assert_int_equal(cf_journal_write_run(j, &r), CF_OK);
    assert_int_equal(cf_journal_write_intent(j, &i1), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &c1), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &c2), CF_OK);
    uint64_t syncs;
    cf_journal_sync_stats(j, &syncs, NULL);
    assert_true(syncs >= 3);
    assert_int_equal(cf_journal_close(j), CF_OK);

    cf_journal_info_t info;
    cf_journal_state_t *st = reread(f, &info);
    assert_int_equal(info.lines, 4);
    assert_false(info.torn);
    assert_true(cf_journal_state_record_done(st, 1));
    assert_true(cf_journal_state_record_done(st, 2));
    assert_false(cf_journal_state_record_done(st, 3));
    assert_true(cf_journal_state_serial_done(st, "1001"));
    assert_false(cf_journal_state_serial_done(st, "1003"));
    assert_int_equal(cf_journal_state_open_count(st), 0);
    assert_true(cf_journal_state_next_attempt(st) == 3);
    assert_string_equal(cf_journal_state_batch_sha256(st), "bb22");
    assert_string_equal(cf_journal_state_description_sha256(st), "aa11");
    cf_journal_totals_t t;
    cf_journal_state_totals(st, &t);
    assert_true(t.runs == 1 && t.intents == 1 && t.cards == 2 && t.personalized == 2);
    assert_true(t.records_done == 2 && t.duplicates == 0 && t.batch_records == 10);
    cf_journal_state_free(st);
}

static void test_intent_without_final_record_is_open_and_holds_its_record(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_intent_t in = intent(4, 6, "77", "rotate-admin-key");
    assert_int_equal(cf_journal_write_intent(j, &in), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);

    cf_journal_state_t *st = reread(f, NULL);
    cf_journal_open_t o;
    assert_true(cf_journal_state_open_intent(st, "77", &o));
    assert_true(o.record == 6 && o.attempt == 4 && o.line == 7);
    assert_string_equal(o.step, "rotate-admin-key");
    assert_false(o.final_written);
    assert_true(cf_journal_state_record_held(st, 6));
    assert_false(cf_journal_state_record_done(st, 6));
    assert_int_equal(cf_journal_state_attempts(st, 6), 0);
    assert_true(cf_journal_state_next_attempt(st) == 5);
    cf_journal_state_free(st);
}

static void test_failed_card_whose_change_reached_it_keeps_an_open_intent(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_step_t steps[3] = {step_done, step_lost, step_notrun};
    cf_journal_intent_t in = intent(1, 5, "55", "rotate-admin-key");
    cf_journal_card_t c = card(1, 5, "55", CF_STATUS_FAILED, steps, 3);
    assert_int_equal(cf_journal_write_intent(j, &in), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &c), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);

    cf_journal_state_t *st = reread(f, NULL);
    cf_journal_open_t o;
    assert_true(cf_journal_state_open_intent(st, "55", &o));
    assert_true(o.final_written);
    assert_string_equal(o.step, "rotate-admin-key");
    assert_int_equal(cf_journal_state_attempts(st, 5), 1);
    assert_false(cf_journal_state_serial_done(st, "55"));
    cf_journal_state_free(st);
}

static void test_cut_off_card_set_aside_later_is_no_longer_just_cut_off(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    /* attempt 1 cut off card 66 in its rotation; record 6 was then done on
     * another card; attempt 2 met card 66 again and set it aside */
    cf_journal_step_t none[1] = {step_notrun};
    cf_journal_intent_t in = intent(1, 6, "66", "rotate-admin-key");
    cf_journal_card_t c = card(2, 0, "66", CF_STATUS_REJECTED, none, 1);
    cf_journal_run_t r = run_rec();
    assert_int_equal(cf_journal_write_run(j, &r), CF_OK);
    assert_int_equal(cf_journal_write_intent(j, &in), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    cf_journal_state_t *st = reread(f, NULL);
    cf_journal_open_t o;
    assert_true(cf_journal_state_open_intent(st, "66", &o));
    assert_false(o.final_written); /* cut off */
    cf_journal_state_free(st);

    j = open_ok(f, NULL);
    assert_int_equal(cf_journal_write_card(j, &c), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    st = reread(f, NULL);
    assert_true(cf_journal_state_open_intent(st, "66", &o)); /* still changed: rework */
    assert_true(o.final_written);                            /* but looked at and set aside */
    assert_int_equal(o.attempt, 1);
    cf_journal_state_free(st);
}

static void test_failed_card_untouched_by_its_attempt_closes_that_intent(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_step_t steps[1] = {step_refused};
    cf_journal_intent_t in = intent(3, 2, "22", "set-pin-by-puk");
    cf_journal_card_t c = card(3, 2, "22", CF_STATUS_FAILED, steps, 1);
    assert_int_equal(cf_journal_write_intent(j, &in), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &c), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    cf_journal_state_t *st = reread(f, NULL);
    assert_false(cf_journal_state_open_intent(st, "22", NULL));
    assert_false(cf_journal_state_record_held(st, 2));
    assert_int_equal(cf_journal_state_attempts(st, 2), 1);
    cf_journal_state_free(st);
}

/* Issue 22: card 88 cut off in attempt 1 mid-change comes back; attempt 2
 * (its recovery) writes its intent, then fails without reaching the card
 * (a reader fault). The card still holds attempt 1's change: the intent of
 * attempt 1 stays open, and attempt 2 does not replace it. */
static void test_failed_recovery_that_never_reached_the_card_keeps_the_first_intent(void **state)
{
    (void)state;
    cf_journal_state_t *st = cf_journal_state_new();
    assert_non_null(st);
    cf_journal_intent_t in1 = intent(1, 8, "88", "set-pin-by-puk");
    assert_int_equal(cf_journal_state_apply_intent(st, &in1), CF_OK);
    cf_journal_intent_t in2 = intent(2, 8, "88", "change-puk");
    assert_int_equal(cf_journal_state_apply_intent(st, &in2), CF_OK);
    cf_journal_open_t o;
    assert_true(cf_journal_state_open_intent(st, "88", &o));
    assert_int_equal(o.attempt, 1); /* not hidden by the recovery */
    assert_int_equal(o.record, 8);
    assert_string_equal(o.step, "change-puk");
    cf_journal_step_t none[1] = {step_notrun};
    cf_journal_card_t c2 = card(2, 8, "88", CF_STATUS_FAILED, none, 1);
    c2.recovers = 1;
    c2.err = CF_ERR_TRANSPORT;
    assert_int_equal(cf_journal_state_apply_card(st, &c2), CF_OK);
    assert_true(cf_journal_state_open_intent(st, "88", &o));
    assert_int_equal(o.attempt, 1);
    assert_true(o.final_written);
    assert_int_equal(cf_journal_state_open_count(st), 1);
    assert_true(cf_journal_state_record_held(st, 8));
    /* A rejected recovery leaves it open too; only a personalized line
     * settles it. */
    cf_journal_card_t c3 = card(3, 0, "88", CF_STATUS_REJECTED, none, 1);
    assert_int_equal(cf_journal_state_apply_card(st, &c3), CF_OK);
    assert_true(cf_journal_state_open_intent(st, "88", NULL));
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t c4 = card(4, 8, "88", CF_STATUS_PERSONALIZED, ok1, 1);
    assert_int_equal(cf_journal_state_apply_card(st, &c4), CF_OK);
    assert_false(cf_journal_state_open_intent(st, "88", NULL));
    assert_false(cf_journal_state_record_held(st, 8));
    cf_journal_state_free(st);
}

static void test_recovery_that_personalizes_closes_the_open_intent(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_step_t lost[2] = {step_done, step_lost};
    cf_journal_step_t fin[2] = {step_done, step_rot};
    cf_journal_card_t c1 = card(1, 4, "44", CF_STATUS_FAILED, lost, 2);
    cf_journal_card_t c2 = card(2, 4, "44", CF_STATUS_PERSONALIZED, fin, 2);
    c2.recovers = 1;
    assert_int_equal(cf_journal_write_card(j, &c1), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &c2), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    cf_journal_state_t *st = reread(f, NULL);
    assert_false(cf_journal_state_open_intent(st, "44", NULL));
    assert_false(cf_journal_state_record_held(st, 4));
    assert_true(cf_journal_state_record_done(st, 4));
    assert_true(cf_journal_state_serial_done(st, "44"));
    cf_journal_state_free(st);
}

static void test_interrupted_attempt_does_not_count_against_its_record(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_step_t steps[2] = {step_done, step_notrun};
    cf_journal_card_t c = card(1, 9, "99", CF_STATUS_FAILED, steps, 2);
    c.err = CF_ERR_INTERRUPTED;
    assert_int_equal(cf_journal_write_card(j, &c), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    cf_journal_state_t *st = reread(f, NULL);
    assert_int_equal(cf_journal_state_attempts(st, 9), 0);
    assert_true(cf_journal_state_open_intent(st, "99", NULL)); /* its PIN was set */
    cf_journal_state_free(st);
}

static void test_a_record_personalized_twice_is_counted_as_duplicate(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t a = card(1, 1, "1", CF_STATUS_PERSONALIZED, ok1, 1);
    cf_journal_card_t b = card(2, 1, "2", CF_STATUS_PERSONALIZED, ok1, 1);
    cf_journal_card_t c = card(3, 2, "2", CF_STATUS_PERSONALIZED, ok1, 1);
    assert_int_equal(cf_journal_write_card(j, &a), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &b), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &c), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    cf_journal_state_t *st = reread(f, NULL);
    cf_journal_totals_t t;
    cf_journal_state_totals(st, &t);
    assert_true(t.duplicates == 1 && t.serial_repeats == 1 && t.records_done == 2);
    cf_journal_state_free(st);
}

static void test_state_sums_spent_and_unions_refused_over_a_cards_attempts(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_step_t refused[1] = {step_refused};
    /* Three attempts on card 31 (two failed, one rejected), one on 32 with
     * nothing refused, one on 33 that refused and was personalized later. */
    cf_journal_card_t a = card(1, 3, "31", CF_STATUS_FAILED, refused, 1);
    a.spent_puk = 1;
    a.refused = 1u << CF_PARAM_INITIAL_PUK;
    cf_journal_card_t b = card(2, 3, "31", CF_STATUS_FAILED, refused, 1);
    b.spent_admin = 1;
    b.refused = 1u << CF_PARAM_CARD_MANAGER_KEY;
    cf_journal_card_t c = card(3, 3, "31", CF_STATUS_REJECTED, NULL, 0);
    c.spent_puk = 1;
    c.refused = 1u << CF_PARAM_INITIAL_PUK;
    cf_journal_card_t d = card(4, 4, "32", CF_STATUS_FAILED, refused, 1);
    cf_journal_card_t e1 = card(5, 5, "33", CF_STATUS_FAILED, refused, 1);
    e1.spent_admin = 1;
    e1.refused = 1u << CF_PARAM_CARD_MANAGER_KEY;
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t e2 = card(6, 5, "33", CF_STATUS_PERSONALIZED, ok1, 1);
    const cf_journal_card_t *all[] = {&a, &b, &c, &d, &e1, &e2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_int_equal(cf_journal_write_card(j, all[i]), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);

    cf_journal_state_t *st = reread(f, NULL);
    cf_journal_history_t h;
    assert_true(cf_journal_state_history(st, "31", &h));
    assert_int_equal(h.spent_puk, 2);
    assert_int_equal(h.spent_admin, 1);
    assert_int_equal(h.refused, (1u << CF_PARAM_INITIAL_PUK) | (1u << CF_PARAM_CARD_MANAGER_KEY));
    assert_string_equal(h.open_step, "");
    /* Nothing refused, never seen, personalized: nothing remembered. */
    const char *none[] = {"32", "34", "33", ""};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        memset(&h, 0xA5, sizeof(h));
        assert_false(cf_journal_state_history(st, none[i], &h));
        assert_true(h.spent_puk == 0 && h.spent_admin == 0 && h.refused == 0);
        assert_string_equal(h.open_step, "");
    }
    cf_journal_state_free(st);
}

static void test_history_names_the_open_intents_step(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    /* Card 41 was cut off rotating its key; card 42 failed after its PIN
     * was set and spent a wrong admin key on the way. */
    cf_journal_intent_t in = intent(1, 1, "41", "rotate-admin-key");
    cf_journal_step_t lost[2] = {step_done, step_lost};
    cf_journal_card_t c = card(2, 2, "42", CF_STATUS_FAILED, lost, 2);
    c.spent_admin = 1;
    assert_int_equal(cf_journal_write_intent(j, &in), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &c), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);

    cf_journal_state_t *st = reread(f, NULL);
    cf_journal_history_t h;
    assert_true(cf_journal_state_history(st, "41", &h));
    assert_string_equal(h.open_step, "rotate-admin-key");
    assert_true(h.spent_puk == 0 && h.spent_admin == 0 && h.refused == 0);
    assert_true(cf_journal_state_history(st, "42", &h));
    assert_string_equal(h.open_step, "rotate-admin-key"); /* step_lost's step */
    assert_int_equal(h.spent_admin, 1);
    cf_journal_state_free(st);
}

static void test_second_open_of_a_journal_in_use_is_refused(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_t *j2 = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j2, NULL, f->diags), CF_ERR_SHARING);
    assert_null(j2);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 0, "in use by another run"));
    assert_int_equal(cf_journal_close(j), CF_OK);
    j2 = open_ok(f, NULL);
    assert_int_equal(cf_journal_close(j2), CF_OK);
}

static void test_journal_is_created_private(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_run_t r = run_rec();
    assert_int_equal(cf_journal_write_run(j, &r), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);
}

static void test_journal_that_is_a_directory_is_refused(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = NULL;
    assert_int_not_equal(cf_journal_open(f->dir, 0, &j, NULL, f->diags), CF_OK);
    assert_null(j);
}

/* A journal as a run writes it: its run record, then two cards (lines 2
 * and 3). */
static void write_two_cards(struct fx *f)
{
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_run_t r = run_rec();
    assert_int_equal(cf_journal_write_run(j, &r), CF_OK);
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t a = card(1, 1, "1", CF_STATUS_PERSONALIZED, ok1, 1);
    cf_journal_card_t b = card(2, 2, "2", CF_STATUS_PERSONALIZED, ok1, 1);
    assert_int_equal(cf_journal_write_card(j, &a), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &b), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
}

/* Append the line of record 3 personalized on card "3" by hand (as an
 * editor or a later write would). */
static void append_card3(struct fx *f)
{
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t c = card(3, 3, "3", CF_STATUS_PERSONALIZED, ok1, 1);
    char line[4096];
    size_t len;
    assert_int_equal(cf_journal_format_card(&c, line, sizeof(line), &len), CF_OK);
    append_bytes(f->path, line, len);
}

static void test_torn_last_line_is_removed_on_open_and_said(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    off_t good = file_size(f->path);
    const char torn[] = "{\"type\":\"card\",\"attempt\":3,\"rec";
    append_bytes(f->path, torn, sizeof(torn) - 1);

    /* A read-only scan reports it and does not apply it. */
    cf_journal_info_t info;
    cf_journal_state_t *st = reread(f, &info);
    assert_true(info.torn);
    assert_int_equal(info.torn_line, 4);
    assert_int_equal(info.torn_bytes, sizeof(torn) - 1);
    assert_false(info.torn_removed);
    assert_int_equal(file_size(f->path), good + (off_t)sizeof(torn) - 1);
    cf_journal_state_free(st);

    cf_journal_t *j = open_ok(f, &info);
    assert_true(info.torn_removed);
    assert_true(has_diag(f->diags, CF_SEV_WARNING, 4, "torn last line was removed"));
    assert_int_equal(file_size(f->path), good);
    /* Appending goes on after the last good line. */
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t c = card(3, 3, "3", CF_STATUS_PERSONALIZED, ok1, 1);
    assert_int_equal(cf_journal_write_card(j, &c), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    st = reread(f, &info);
    assert_false(info.torn);
    assert_int_equal(info.lines, 4);
    assert_true(cf_journal_state_record_done(st, 3));
    cf_journal_state_free(st);
}

static void test_nul_tail_after_a_crash_is_a_torn_line(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    off_t good = file_size(f->path);
    char zeros[300] = {0};
    append_bytes(f->path, zeros, sizeof(zeros));
    cf_journal_info_t info;
    cf_journal_t *j = open_ok(f, &info);
    assert_true(info.torn_removed);
    assert_int_equal(file_size(f->path), good);
    assert_int_equal(cf_journal_close(j), CF_OK);

    /* The same with a line end inside the zeros' run: still the tail. */
    char z2[10] = {0, 0, 0, 0, 0, '\n', 0, 0, 0, 0};
    append_bytes(f->path, z2, 6);
    j = open_ok(f, &info);
    assert_true(info.torn_removed);
    assert_int_equal(file_size(f->path), good);
    assert_int_equal(cf_journal_close(j), CF_OK);
}

static void test_damaged_line_before_the_end_is_an_error_with_its_line(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    const char bad[] = "{\"type\":\"card\",\"garbage\n";
    append_bytes(f->path, bad, sizeof(bad) - 1);
    append_card3(f);
    off_t before = file_size(f->path);
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_PARSE);
    assert_null(j);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 4, "damaged"));
    assert_int_equal(file_size(f->path), before); /* nothing cut */
}

static void test_bad_complete_last_line_is_damage_not_a_torn_line(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    const char bad[] = "{\"type\":\"card\",\"attempt\":\"x\"}\n";
    append_bytes(f->path, bad, sizeof(bad) - 1);
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_PARSE);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 4, "attempt"));
}

static void test_overlong_line_is_damage_and_so_is_an_overlong_tail(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    off_t good = file_size(f->path);
    size_t big = CF_JOURNAL_MAX_LINE + 100;
    char *junk = malloc(big);
    assert_non_null(junk);
    memset(junk, 'x', big);
    /* An overlong tail without a line end: longer than any record, so no
     * write of ours cut short; refused, and nothing is cut. */
    append_bytes(f->path, junk, big);
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_PARSE);
    assert_null(j);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 4, "longer than any record"));
    assert_int_equal(file_size(f->path), good + (off_t)big);
    assert_int_equal(truncate(f->path, good), 0);
    /* The same with a line end and a good line after it: damage. */
    append_bytes(f->path, junk, big);
    append_bytes(f->path, "\n", 1);
    append_card3(f);
    j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_PARSE);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 4, "line too long"));
    free(junk);
}

static void test_blank_lines_and_unknown_types_are_skipped(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    const char extra[] = "\n{\"type\":\"note\",\"text\":\"operator was here\"}\n";
    append_bytes(f->path, extra, sizeof(extra) - 1);
    cf_journal_info_t info;
    cf_journal_state_t *st = reread(f, &info);
    assert_int_equal(info.unknown, 1);
    assert_int_equal(info.lines, 5);
    assert_true(cf_journal_state_record_done(st, 2));
    cf_journal_state_free(st);
}

/* The whole file, malloc'd (the caller frees it); *len its size. */
static char *slurp(const char *path, size_t *len)
{
    off_t n = file_size(path);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, p, (size_t)n), (ssize_t)n);
    close(fd);
    *len = (size_t)n;
    return p;
}

static void assert_same_file(const char *path, const char *before, size_t len)
{
    size_t now_len;
    char *now = slurp(path, &now_len);
    assert_int_equal(now_len, len);
    assert_memory_equal(now, before, len);
    free(now);
}

static void test_complete_last_line_with_a_nul_inside_is_damage_and_kept(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    size_t len;
    char *before = slurp(f->path, &len);
    /* One byte inside the last card line (line end intact) made NUL. */
    before[len - 20] = '\0';
    int fd = open(f->path, O_WRONLY);
    assert_int_equal(pwrite(fd, "", 1, (off_t)len - 20), 1);
    close(fd);
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_PARSE);
    assert_null(j);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 3, "damaged"));
    assert_same_file(f->path, before, len);
    free(before);
}

static void test_unfinished_tail_with_text_after_a_nul_is_damage(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    const char tail[] = "{\"type\":\"card\",\"att\0mpt\":3";
    append_bytes(f->path, tail, sizeof(tail) - 1);
    size_t len;
    char *before = slurp(f->path, &len);
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_PARSE);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 4, "NUL bytes inside"));
    assert_same_file(f->path, before, len);
    free(before);
}

static void test_key_file_given_as_journal_is_refused_untouched(void **state)
{
    struct fx *f = *state;
    /* A master key file: one line, no line end. */
    const char key[] = "PERSO_MASTER:1:00112233445566778899AABBCCDDEEFF";
    append_bytes(f->path, key, sizeof(key) - 1);
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_INVALID);
    assert_null(j);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 1, "not a journal"));
    assert_same_file(f->path, key, sizeof(key) - 1);
    /* A scan (report) does not take it for a torn line either. */
    cf_journal_info_t info;
    assert_int_equal(cf_journal_scan(f->path, NULL, NULL, NULL, &info, f->diags), CF_ERR_PARSE);
}

static void test_journal_symlink_is_refused_and_never_creates_its_target(void **state)
{
    struct fx *f = *state;
    char link[192], target[192];
    snprintf(link, sizeof(link), "%s/link.jsonl", f->dir);
    snprintf(target, sizeof(target), "%s/target.jsonl", f->dir);
    assert_int_equal(symlink(target, link), 0);
    cf_journal_t *j = NULL;
    assert_int_equal(cf_journal_open(link, 0, &j, NULL, f->diags), CF_ERR_IO);
    assert_null(j);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, 0, "symbolic link"));
    assert_int_equal(access(target, F_OK), -1); /* dangling: nothing created */
}

static void test_new_journal_with_nothing_written_is_removed_at_close(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    assert_int_equal(cf_journal_close(j), CF_OK);
    assert_int_equal(access(f->path, F_OK), -1);
    /* An existing empty journal is not this run's to remove. */
    append_bytes(f->path, "", 0);
    j = open_ok(f, NULL);
    assert_int_equal(cf_journal_close(j), CF_OK);
    assert_int_equal(access(f->path, F_OK), 0);
}

static void test_whitespace_only_line_is_skipped_as_blank(void **state)
{
    struct fx *f = *state;
    write_two_cards(f);
    append_bytes(f->path, "  \t\r\n", 5);
    append_card3(f);
    cf_journal_info_t info;
    cf_journal_state_t *st = reread(f, &info);
    assert_int_equal(info.lines, 5);
    assert_true(cf_journal_state_record_done(st, 3));
    cf_journal_state_free(st);
}

/* Open a new journal and write a run of 10 records and card 1 personalized
 * (lines 1 and 2); the caller closes it. */
static cf_journal_t *open_run_card1(struct fx *f)
{
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_run_t r = run_rec();
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t a = card(1, 1, "1", CF_STATUS_PERSONALIZED, ok1, 1);
    assert_int_equal(cf_journal_write_run(j, &r), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &a), CF_OK);
    return j;
}

/* The journal's path stops naming the open file (how: rename to `moved`
 * or unlink): the next write fails, says so, and the content is back at
 * the path with every line written before. */
static void journal_lost_mid_run(struct fx *f, int rename_it)
{
    cf_journal_t *j = open_run_card1(f);
    size_t len;
    char *before = slurp(f->path, &len);
    char moved[192];
    snprintf(moved, sizeof(moved), "%s/moved.jsonl", f->dir);
    if (rename_it)
        assert_int_equal(rename(f->path, moved), 0);
    else
        assert_int_equal(unlink(f->path), 0);
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_card_t b = card(2, 2, "2", CF_STATUS_PERSONALIZED, ok1, 1);
    assert_int_equal(cf_journal_write_card(j, &b), CF_ERR_IO);
    assert_int_equal(cf_journal_write_card(j, &b), CF_ERR_IO); /* and stays broken */
    char where[8192];
    assert_int_equal(cf_journal_where(j, where, sizeof(where)), 1);
    assert_non_null(strstr(where, "deleted or renamed"));
    assert_non_null(strstr(where, "put back as"));
    assert_non_null(strstr(where, "lines 1-2"));
    assert_same_file(f->path, before, len); /* back, without the refused line */
    assert_int_equal(cf_journal_close(j), CF_ERR_IO);
    /* The next run continues it. */
    cf_journal_info_t info;
    j = open_ok(f, &info);
    assert_int_equal(info.lines, 2);
    assert_true(cf_journal_state_record_done(cf_journal_get_state(j), 1));
    assert_int_equal(cf_journal_close(j), CF_OK);
    free(before);
}

static void test_journal_deleted_after_the_last_write_is_put_back_at_close(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_run_card1(f);
    size_t len;
    char *before = slurp(f->path, &len);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(cf_journal_close(j), CF_ERR_IO);
    assert_same_file(f->path, before, len);
    free(before);
}

static void test_journal_deleted_mid_run_stops_writes_and_is_put_back(void **state)
{
    journal_lost_mid_run(*state, 0);
}

static void test_journal_renamed_mid_run_stops_writes_and_is_put_back(void **state)
{
    journal_lost_mid_run(*state, 1);
}

/* A journal of a run of 10 records, card 1 personalized, then the lines
 * `extra` (with their line ends) as an editor may have added them: scanning
 * it must stop at line `at` with `needle`, and opening it must change
 * nothing. */
static void assert_hand_edit_is_damage_at(struct fx *f, const char *extra, unsigned long at,
                                          const char *needle)
{
    cf_journal_t *j = open_run_card1(f);
    assert_int_equal(cf_journal_close(j), CF_OK);
    append_bytes(f->path, extra, strlen(extra));
    size_t len;
    char *before = slurp(f->path, &len);
    cf_journal_info_t info;
    assert_int_equal(cf_journal_scan(f->path, NULL, NULL, NULL, &info, f->diags), CF_ERR_PARSE);
    assert_true(has_diag(f->diags, CF_SEV_ERROR, at, needle));
    j = NULL;
    assert_int_equal(cf_journal_open(f->path, 0, &j, NULL, f->diags), CF_ERR_PARSE);
    assert_same_file(f->path, before, len);
    free(before);
}

static void assert_hand_edit_is_damage(struct fx *f, const char *extra, const char *needle)
{
    assert_hand_edit_is_damage_at(f, extra, 3, needle);
}

static const char *card_line(cf_journal_card_t c, char *buf, size_t cap)
{
    size_t len;
    assert_int_equal(cf_journal_format_card(&c, buf, cap - 1, &len), CF_OK);
    buf[len] = '\0'; /* the line is not a C string */
    return buf;
}

static void test_hand_edited_card_beyond_the_batch_is_damage(void **state)
{
    cf_journal_step_t ok1[1] = {step_done};
    char line[4096];
    assert_hand_edit_is_damage(
        *state, card_line(card(2, 11, "11", CF_STATUS_PERSONALIZED, ok1, 1), line, sizeof(line)),
        "record 11 is beyond the batch (10 records)");
}

static void test_hand_edited_repeated_attempt_is_damage(void **state)
{
    cf_journal_step_t ok1[1] = {step_done};
    char line[4096];
    assert_hand_edit_is_damage(
        *state, card_line(card(1, 2, "2", CF_STATUS_PERSONALIZED, ok1, 1), line, sizeof(line)),
        "a second card line of attempt 1");
}

static void test_hand_edited_repeated_attempt_far_above_the_lines_is_damage(void **state)
{
    cf_journal_step_t ok1[1] = {step_done};
    char a[4096], b[4096], both[8192];
    card_line(card(1000000000, 2, "2", CF_STATUS_PERSONALIZED, ok1, 1), a, sizeof(a));
    card_line(card(1000000000, 3, "3", CF_STATUS_PERSONALIZED, ok1, 1), b, sizeof(b));
    snprintf(both, sizeof(both), "%s%s", a, b);
    assert_hand_edit_is_damage_at(*state, both, 4, "a second card line of attempt 1000000000");
}

static void test_hand_edited_attempt_that_would_wrap_is_damage(void **state)
{
    cf_journal_step_t ok1[1] = {step_done};
    char line[4096];
    assert_hand_edit_is_damage(
        *state,
        card_line(card(UINT64_MAX, 2, "2", CF_STATUS_PERSONALIZED, ok1, 1), line, sizeof(line)),
        "out of range");
}

static void test_hand_edited_duplicate_key_is_damage(void **state)
{
    cf_journal_step_t ok1[1] = {step_done};
    char line[4096], edited[4200];
    card_line(card(2, 2, "2", CF_STATUS_PERSONALIZED, ok1, 1), line, sizeof(line));
    /* The same key twice: which record would it be? */
    snprintf(edited, sizeof(edited), "{\"record\":9,%s", line + 1);
    assert_hand_edit_is_damage(*state, edited, "damaged");
}

static void test_missing_journal_is_not_found_for_scan(void **state)
{
    struct fx *f = *state;
    cf_journal_state_t *st = cf_journal_state_new();
    assert_int_equal(cf_journal_scan(f->path, NULL, NULL, st, NULL, f->diags), CF_ERR_NOT_FOUND);
    cf_journal_state_free(st);
}

struct visit_log {
    int runs, intents, cards, ends;
    cf_err_t stop_with;
};

static cf_err_t visit(void *user, const cf_journal_entry_t *e)
{
    struct visit_log *v = user;
    switch (e->kind) {
    case CF_JOURNAL_RUN:
        v->runs++;
        break;
    case CF_JOURNAL_INTENT:
        v->intents++;
        break;
    case CF_JOURNAL_CARD:
        v->cards++;
        break;
    case CF_JOURNAL_END:
        v->ends++;
        break;
    }
    return v->cards == 2 ? v->stop_with : CF_OK;
}

static void test_scan_visits_every_record_and_stops_when_asked(void **state)
{
    struct fx *f = *state;
    cf_journal_t *j = open_ok(f, NULL);
    cf_journal_run_t r = run_rec();
    cf_journal_step_t ok1[1] = {step_done};
    cf_journal_intent_t in = intent(1, 1, "1", "set-pin-by-puk");
    cf_journal_card_t a = card(1, 1, "1", CF_STATUS_PERSONALIZED, ok1, 1);
    cf_journal_card_t b = card(2, 2, "2", CF_STATUS_REJECTED, NULL, 0);
    cf_journal_end_t e = {1700000001000, "done", 1, 0, 1, 8};
    assert_int_equal(cf_journal_write_run(j, &r), CF_OK);
    assert_int_equal(cf_journal_write_intent(j, &in), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &a), CF_OK);
    assert_int_equal(cf_journal_write_card(j, &b), CF_OK);
    assert_int_equal(cf_journal_write_end(j, &e), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    struct visit_log v = {0, 0, 0, 0, CF_OK};
    assert_int_equal(cf_journal_scan(f->path, visit, &v, NULL, NULL, f->diags), CF_OK);
    assert_true(v.runs == 1 && v.intents == 1 && v.cards == 2 && v.ends == 1);
    struct visit_log w = {0, 0, 0, 0, CF_ERR_INTERRUPTED};
    assert_int_equal(cf_journal_scan(f->path, visit, &w, NULL, NULL, f->diags), CF_ERR_INTERRUPTED);
    assert_int_equal(w.ends, 0);
}

static void test_memory_scan_reads_the_same_as_the_file(void **state)
{
    (void)state;
    char buf[8192];
    size_t off = 0, len;
    cf_journal_step_t ok1[1] = {step_done};
    for (int i = 1; i <= 5; i++) {
        char serial[8];
        snprintf(serial, sizeof(serial), "%d", 100 + i);
        cf_journal_card_t c =
            card((uint64_t)i, (uint64_t)i, serial, CF_STATUS_PERSONALIZED, ok1, 1);
        assert_int_equal(cf_journal_format_card(&c, buf + off, sizeof(buf) - off, &len), CF_OK);
        off += len;
    }
    cf_journal_state_t *st = cf_journal_state_new();
    assert_int_equal(
        cf_journal_scan_mem("m", (const uint8_t *)buf, off, NULL, NULL, st, NULL, NULL), CF_OK);
    for (uint64_t r = 1; r <= 5; r++)
        assert_true(cf_journal_state_record_done(st, r));
    assert_true(cf_journal_state_serial_done(st, "105"));
    cf_journal_state_free(st);
}

static void test_state_memory_per_personalized_card_is_small(void **state)
{
    (void)state;
    cf_journal_state_t *st = cf_journal_state_new();
    cf_journal_step_t ok1[1] = {step_done};
    size_t n = 200000;
    for (size_t i = 1; i <= n; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), "%zu", 5000000 + i);
        cf_journal_card_t c = card(i, i, serial, CF_STATUS_PERSONALIZED, ok1, 1);
        assert_int_equal(cf_journal_state_apply_card(st, &c), CF_OK);
    }
    size_t bytes = cf_journal_state_bytes(st);
    /* 1 bit per record plus an 8-byte slot per serial at <= 4/5 load,
     * grown by half: under 16 bytes per card. */
    assert_true(bytes < n * 16);
    /* Presized by the run record: 10 bytes per card. */
    cf_journal_state_free(st);
    st = cf_journal_state_new();
    cf_journal_run_t r = run_rec();
    r.records = n;
    assert_int_equal(cf_journal_state_apply_run(st, &r), CF_OK);
    for (size_t i = 1; i <= n; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), "%zu", 5000000 + i);
        cf_journal_card_t c = card(i, i, serial, CF_STATUS_PERSONALIZED, ok1, 1);
        assert_int_equal(cf_journal_state_apply_card(st, &c), CF_OK);
    }
    assert_true(cf_journal_state_bytes(st) < n * 11);
    cf_journal_state_free(st);
}

static void test_state_memory_per_card_with_a_history_is_small(void **state)
{
    (void)state;
    cf_journal_state_t *st = cf_journal_state_new();
    size_t before = cf_journal_state_bytes(st), n = 100000;
    for (size_t i = 1; i <= n; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), "%zu", 7000000 + i);
        /* Refused by the card type after a wrong admin key: no record
         * counted, no open intent; only the history. */
        cf_journal_card_t c = card(i, 0, serial, CF_STATUS_REJECTED, NULL, 0);
        c.spent_admin = 1;
        c.refused = 1u << CF_PARAM_CARD_MANAGER_KEY;
        assert_int_equal(cf_journal_state_apply_card(st, &c), CF_OK);
    }
    /* A 16-byte slot per card at <= 4/5 load, grown by half: under 32. */
    size_t grown = cf_journal_state_bytes(st) - before;
    assert_true(grown < n * 32);
    cf_journal_history_t h;
    assert_true(cf_journal_state_history(st, "7000001", &h) && h.spent_admin == 1);
    cf_journal_state_free(st);
}

/* ---- the run record of a station of an order ----------------------------- */

struct seen_run {
    int runs;
    char order[64], station[64];
    unsigned number;
    int has_order;
};

static cf_err_t see_run(void *user, const cf_journal_entry_t *e)
{
    struct seen_run *s = user;
    if (e->kind != CF_JOURNAL_RUN)
        return CF_OK;
    s->runs++;
    s->has_order = e->run.order != NULL;
    snprintf(s->order, sizeof(s->order), "%s", e->run.order ? e->run.order : "");
    snprintf(s->station, sizeof(s->station), "%s", e->run.station ? e->run.station : "");
    s->number = e->run.station_number;
    return CF_OK;
}

/* Write r as a journal's only line, read it back into seen; the file's
 * text returned (the caller frees it). */
static char *written_run(struct fx *f, const cf_journal_run_t *r, struct seen_run *seen)
{
    cf_journal_t *j = open_ok(f, NULL);
    assert_int_equal(cf_journal_write_run(j, r), CF_OK);
    assert_int_equal(cf_journal_close(j), CF_OK);
    size_t len;
    char *text = slurp(f->path, &len);
    text[len] = '\0';
    cf_journal_state_t *st = cf_journal_state_new();
    assert_int_equal(cf_journal_scan(f->path, see_run, seen, st, NULL, f->diags), CF_OK);
    cf_journal_state_free(st);
    assert_int_equal(seen->runs, 1);
    return text;
}

static void test_station_run_record_names_order_and_station_and_reads_back(void **state)
{
    cf_journal_run_t r = run_rec();
    r.order = "2026-12-bank-a";
    r.station = "west-2";
    r.station_number = 3;
    struct seen_run seen = {0};
    char *text = written_run(*state, &r, &seen);
    assert_non_null(strstr(text,
                           "\"max_attempts\":3,\"order\":\"2026-12-bank-a\",\"station\":\"west-2\","
                           "\"station_number\":3}\n"));
    free(text);
    assert_true(seen.has_order);
    assert_string_equal(seen.order, "2026-12-bank-a");
    assert_string_equal(seen.station, "west-2");
    assert_int_equal(seen.number, 3);
}

static void test_run_record_without_order_is_written_as_before_orders(void **state)
{
    cf_journal_run_t r = run_rec();
    struct seen_run seen = {0};
    char *text = written_run(*state, &r, &seen);
    /* The line a journal held before orders existed, byte for byte. */
    assert_non_null(strstr(text, ",\"readers\":\"sim:2\",\"max_attempts\":3}\n"));
    assert_null(strstr(text, "order"));
    assert_null(strstr(text, "station"));
    free(text);
    assert_false(seen.has_order);
    assert_int_equal(seen.number, 0);
}

static void test_run_record_with_half_an_order_is_damage(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        /* a station without its name, a number out of range, a name not a string */
        "\"order\":\"o\",\"station_number\":1",
        "\"order\":\"o\",\"station\":\"a\",\"station_number\":0",
        "\"order\":\"o\",\"station\":\"a\",\"station_number\":256",
        "\"order\":7,\"station\":\"a\",\"station_number\":1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[512];
        int n = snprintf(line, sizeof(line),
                         "{\"type\":\"run\",\"v\":1,\"batch_sha256\":\"bb\","
                         "\"description_sha256\":\"aa\",\"records\":3,%s}\n",
                         bad[i]);
        cf_journal_state_t *st = cf_journal_state_new();
        assert_int_equal(cf_journal_scan_mem("j.jsonl", (const uint8_t *)line, (size_t)n, NULL,
                                             NULL, st, NULL, f->diags),
                         CF_ERR_PARSE);
        cf_journal_state_free(st);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_escaper_escapes_quotes_backslashes_and_controls),
        T(test_station_run_record_names_order_and_station_and_reads_back),
        T(test_run_record_without_order_is_written_as_before_orders),
        T(test_run_record_with_half_an_order_is_damage),
        T(test_escaper_keeps_utf8_and_replaces_invalid_bytes),
        T(test_escaper_never_writes_past_capacity),
        T(test_escaped_string_parses_back_to_the_same_bytes),
        T(test_json_parser_refuses_what_rfc8259_refuses),
        T(test_json_parser_limits_depth_and_nodes),
        T(test_json_u64_is_exact_and_bounded),
        T(test_time_format_parses_back),
        T(test_u64map_matches_a_reference_under_random_puts_and_deletes),
        T(test_card_record_round_trips_through_its_line),
        T(test_personalized_card_is_done_under_the_guid_its_chuid_step_wrote),
        T(test_card_record_with_too_many_steps_is_refused),
        T(test_card_record_that_does_not_fit_is_not_cut),
        T(test_bad_lines_say_which_field),
        T(test_spent_and_refused_round_trip_as_counts_and_names),
        T(test_refused_bit_of_no_parameter_is_not_written),
        T(test_card_line_written_before_spent_and_refused_reads_as_nothing_spent),
        T(test_malformed_spent_or_refused_is_damage_naming_the_field),
        T(test_unknown_refused_name_stops_the_scan_at_its_line),
        T(test_written_journal_reads_back_into_resume_state),
        T(test_intent_without_final_record_is_open_and_holds_its_record),
        T(test_failed_card_whose_change_reached_it_keeps_an_open_intent),
        T(test_cut_off_card_set_aside_later_is_no_longer_just_cut_off),
        T(test_failed_card_untouched_by_its_attempt_closes_that_intent),
        T(test_failed_recovery_that_never_reached_the_card_keeps_the_first_intent),
        T(test_recovery_that_personalizes_closes_the_open_intent),
        T(test_interrupted_attempt_does_not_count_against_its_record),
        T(test_a_record_personalized_twice_is_counted_as_duplicate),
        T(test_state_sums_spent_and_unions_refused_over_a_cards_attempts),
        T(test_history_names_the_open_intents_step),
        T(test_second_open_of_a_journal_in_use_is_refused),
        T(test_journal_is_created_private),
        T(test_journal_that_is_a_directory_is_refused),
        T(test_torn_last_line_is_removed_on_open_and_said),
        T(test_nul_tail_after_a_crash_is_a_torn_line),
        T(test_damaged_line_before_the_end_is_an_error_with_its_line),
        T(test_bad_complete_last_line_is_damage_not_a_torn_line),
        T(test_overlong_line_is_damage_and_so_is_an_overlong_tail),
        T(test_complete_last_line_with_a_nul_inside_is_damage_and_kept),
        T(test_unfinished_tail_with_text_after_a_nul_is_damage),
        T(test_key_file_given_as_journal_is_refused_untouched),
        T(test_journal_symlink_is_refused_and_never_creates_its_target),
        T(test_new_journal_with_nothing_written_is_removed_at_close),
        T(test_whitespace_only_line_is_skipped_as_blank),
        T(test_journal_deleted_mid_run_stops_writes_and_is_put_back),
        T(test_journal_deleted_after_the_last_write_is_put_back_at_close),
        T(test_hand_edited_card_beyond_the_batch_is_damage),
        T(test_hand_edited_repeated_attempt_is_damage),
        T(test_hand_edited_repeated_attempt_far_above_the_lines_is_damage),
        T(test_hand_edited_attempt_that_would_wrap_is_damage),
        T(test_hand_edited_duplicate_key_is_damage),
        T(test_journal_renamed_mid_run_stops_writes_and_is_put_back),
        T(test_blank_lines_and_unknown_types_are_skipped),
        T(test_missing_journal_is_not_found_for_scan),
        T(test_scan_visits_every_record_and_stops_when_asked),
        T(test_memory_scan_reads_the_same_as_the_file),
        T(test_state_memory_per_personalized_card_is_small),
        T(test_state_memory_per_card_with_a_history_is_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
