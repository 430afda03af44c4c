/*
 * test_audit.c - the audit log: chained, signed, durable, and every way of
 * tampering with it found and named (cf_audit_*).
 *
 * Each test makes a fresh directory with a new Ed25519 key pair, writes a
 * log through the public API and then edits the file as an attacker would:
 * one byte changed, a line deleted, a line inserted (naively and fitted to
 * the chain), the tail cut, a checkpoint changed, the wrong public key.
 */
#include <errno.h>
#include <pthread.h>
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

#include <openssl/sha.h>

#include <cardforge/audit.h>

#include "audit/audit_int.h"
#include "util/hex.h"

#define MAX_LINES 256

struct fx {
    char dir[64];
    char log[128], key[128], pub[128], key2[128], pub2[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/cf-audit.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->log, sizeof(f->log), "%s/audit.log", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/audit.key", f->dir);
    snprintf(f->pub, sizeof(f->pub), "%s/audit.pub", f->dir);
    snprintf(f->key2, sizeof(f->key2), "%s/other.key", f->dir);
    snprintf(f->pub2, sizeof(f->pub2), "%s/other.pub", f->dir);
    char err[CF_AUDIT_ERRLEN];
    assert_int_equal(cf_audit_keygen(f->key, f->pub, err, sizeof(err)), CF_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* A log of n response events (checkpoint every `every`), closed. */
static void write_log(const struct fx *f, unsigned n, unsigned every)
{
    cf_audit_t *a = NULL;
    char err[CF_AUDIT_ERRLEN];
    assert_int_equal(cf_audit_open(f->log, f->key, every, &a, err, sizeof(err)), CF_OK);
    for (unsigned i = 0; i < n; i++) {
        char serial[16];
        snprintf(serial, sizeof(serial), "%08u", 1000 + i);
        cf_audit_event_t ev = {.event = "response",
                               .operator_name = "alice",
                               .client = "192.0.2.7",
                               .serial = serial,
                               .key_name = "helpdesk",
                               .key_version = 2,
                               .outcome = "ok"};
        assert_int_equal(cf_audit_write(a, &ev), CF_OK);
    }
    assert_int_equal(cf_audit_close(a), CF_OK);
}

struct lines {
    char *l[MAX_LINES]; /* each with its line end */
    size_t n;
};

static void read_lines(const char *path, struct lines *ls)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    ls->n = 0;
    char buf[CF_AUDIT_MAX_LINE + 2];
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        assert_true(ls->n < MAX_LINES);
        ls->l[ls->n++] = strdup(buf);
    }
    fclose(fp);
}

static void write_lines(const char *path, struct lines *ls)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < ls->n; i++) {
        fputs(ls->l[i], fp);
        free(ls->l[i]);
    }
    fclose(fp);
}

static cf_audit_report_t verify(const struct fx *f, const char *pub, unsigned flags)
{
    cf_audit_report_t rep;
    assert_int_equal(cf_audit_verify(f->log, pub, flags, &rep), CF_OK);
    return rep;
}

static void expect(const struct fx *f, cf_audit_damage_t d, unsigned long line)
{
    cf_audit_report_t rep = verify(f, f->pub, 0);
    if (rep.damage != d || rep.line != line)
        fail_msg("expected %s at line %lu, got %s at line %lu: %s", cf_audit_damage_name(d), line,
                 cf_audit_damage_name(rep.damage), rep.line, rep.message);
}

static void test_written_log_verifies_intact_with_checkpoints(void **state)
{
    struct fx *f = *state;
    write_log(f, 10, 4);
    cf_audit_report_t rep = verify(f, f->pub, 0);
    assert_int_equal(rep.damage, CF_AUDIT_INTACT);
    /* 10 events, checkpoints after 4 and 8, the final one after 10. */
    assert_int_equal(rep.lines, 13);
    assert_int_equal(rep.checkpoints, 3);
    struct stat sb;
    assert_int_equal(stat(f->log, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
}

static void test_line_holds_the_event_fields_and_the_previous_hash(void **state)
{
    struct fx *f = *state;
    write_log(f, 2, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    assert_int_equal(ls.n, 3);
    assert_non_null(strstr(ls.l[0], "\"seq\":1,"));
    assert_non_null(strstr(ls.l[0], "\"event\":\"response\",\"operator\":\"alice\","
                                    "\"client\":\"192.0.2.7\",\"serial\":\"00001000\","
                                    "\"key_name\":\"helpdesk\",\"key_version\":2,"
                                    "\"outcome\":\"ok\""));
    char zeros[80];
    snprintf(zeros, sizeof(zeros), "\"prev\":\"%064d\"}", 0);
    assert_non_null(strstr(ls.l[0], zeros));
    uint8_t md[32];
    char hex[65], want[80];
    SHA256((const uint8_t *)ls.l[0], strlen(ls.l[0]), md);
    cf_hex_encode(md, 32, hex);
    snprintf(want, sizeof(want), "\"prev\":\"%s\"", hex);
    assert_non_null(strstr(ls.l[1], want));
    assert_non_null(strstr(ls.l[2], "\"event\":\"checkpoint\",\"final\":true"));
    write_lines(f->log, &ls);
}

static void test_changed_byte_names_the_edited_line(void **state)
{
    struct fx *f = *state;
    write_log(f, 6, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    char *p = strstr(ls.l[2], "00001002");
    assert_non_null(p);
    p[7] = '9'; /* the serial of line 3 */
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_EDITED, 3);
}

static void test_changed_last_event_is_found_by_the_final_checkpoint(void **state)
{
    struct fx *f = *state;
    write_log(f, 3, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    char *p = strstr(ls.l[2], "alice");
    p[0] = 'm';
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_EDITED, 3);
}

static void test_changed_prev_field_names_that_line(void **state)
{
    struct fx *f = *state;
    write_log(f, 6, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    char *p = strstr(ls.l[3], "\"prev\":\"");
    p[8] = p[8] == 'A' ? 'B' : 'A';
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_EDITED, 4);
}

static void test_deleted_line_is_found(void **state)
{
    struct fx *f = *state;
    write_log(f, 6, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    free(ls.l[3]);
    memmove(&ls.l[3], &ls.l[4], (ls.n - 4) * sizeof(ls.l[0]));
    ls.n--;
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_DELETED, 4);
    cf_audit_report_t rep = verify(f, f->pub, 0);
    assert_non_null(strstr(rep.message, "seq 4 to 4"));
}

static void test_deleted_first_line_is_found(void **state)
{
    struct fx *f = *state;
    write_log(f, 3, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    free(ls.l[0]);
    memmove(&ls.l[0], &ls.l[1], (ls.n - 1) * sizeof(ls.l[0]));
    ls.n--;
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_DELETED, 1);
}

static void test_inserted_copy_of_a_line_is_found(void **state)
{
    struct fx *f = *state;
    write_log(f, 6, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    /* A foreign line between 2 and 3: a copy of line 5. */
    memmove(&ls.l[3], &ls.l[2], (ls.n - 2) * sizeof(ls.l[0]));
    ls.l[2] = strdup(ls.l[5]);
    ls.n++;
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_INSERTED, 3);
}

/* An inserted line with the seq and prev it would have had: the forger
 * can compute the hash, not the rest of the chain. */
static void test_inserted_line_fitted_to_the_chain_is_found(void **state)
{
    struct fx *f = *state;
    write_log(f, 6, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    uint8_t md[32];
    char hex[65], line[600];
    SHA256((const uint8_t *)ls.l[1], strlen(ls.l[1]), md);
    cf_hex_encode(md, 32, hex);
    snprintf(line, sizeof(line),
             "{\"seq\":3,\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":\"response\","
             "\"operator\":\"mallory\",\"serial\":\"0001\",\"prev\":\"%s\"}\n",
             hex);
    memmove(&ls.l[3], &ls.l[2], (ls.n - 2) * sizeof(ls.l[0]));
    ls.l[2] = strdup(line);
    ls.n++;
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_INSERTED, 3);
}

static void test_tail_cut_after_a_checkpoint_is_reported(void **state)
{
    struct fx *f = *state;
    write_log(f, 9, 4); /* events 1-4, cp 5, 6-9, cp 10, event 11, final cp 12 */
    struct lines ls;
    read_lines(f->log, &ls);
    assert_int_equal(ls.n, 12);
    free(ls.l[11]);
    free(ls.l[10]);
    ls.n = 10;
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_TAIL_UNSEALED, 10);
}

static void test_tail_cut_between_checkpoints_names_the_unsealed_lines(void **state)
{
    struct fx *f = *state;
    write_log(f, 9, 4);
    struct lines ls;
    read_lines(f->log, &ls);
    free(ls.l[11]);
    ls.n = 11;
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_TAIL_UNSEALED, 11);
    /* A log still in use: the same tail is chained, not damage. */
    assert_int_equal(verify(f, f->pub, CF_AUDIT_VERIFY_OPEN).damage, CF_AUDIT_INTACT);
}

static void test_cut_in_the_middle_of_a_line_is_torn(void **state)
{
    struct fx *f = *state;
    write_log(f, 3, 0);
    struct stat sb;
    assert_int_equal(stat(f->log, &sb), 0);
    assert_int_equal(truncate(f->log, sb.st_size - 20), 0);
    expect(f, CF_AUDIT_TORN, 4);
}

static void test_changed_checkpoint_fails_its_signature(void **state)
{
    struct fx *f = *state;
    write_log(f, 3, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    char *p = strstr(ls.l[3], "\"time\":\"20");
    assert_non_null(p);
    p[9] = p[9] == '1' ? '2' : '1';
    write_lines(f->log, &ls);
    expect(f, CF_AUDIT_BAD_SIGNATURE, 4);
}

static void test_log_checked_with_another_key_says_so(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN];
    assert_int_equal(cf_audit_keygen(f->key2, f->pub2, err, sizeof(err)), CF_OK);
    write_log(f, 2, 0);
    assert_int_equal(verify(f, f->pub2, 0).damage, CF_AUDIT_WRONG_KEY);
}

/* A forger without the private key re-signs with their own: refused. */
static void test_log_resigned_with_a_forged_key_fails(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN];
    assert_int_equal(cf_audit_keygen(f->key2, f->pub2, err, sizeof(err)), CF_OK);
    cf_audit_t *a = NULL;
    assert_int_equal(cf_audit_open(f->log, f->key2, 0, &a, err, sizeof(err)), CF_OK);
    cf_audit_event_t ev = {.event = "login", .operator_name = "mallory"};
    assert_int_equal(cf_audit_write(a, &ev), CF_OK);
    assert_int_equal(cf_audit_close(a), CF_OK);
    assert_int_equal(verify(f, f->pub, 0).damage, CF_AUDIT_WRONG_KEY);
}

static void test_reopened_log_continues_the_chain(void **state)
{
    struct fx *f = *state;
    write_log(f, 2, 0);
    write_log(f, 2, 0);
    cf_audit_report_t rep = verify(f, f->pub, 0);
    assert_int_equal(rep.damage, CF_AUDIT_INTACT);
    assert_int_equal(rep.lines, 6);
}

static void test_torn_line_is_cut_on_reopen_and_recorded(void **state)
{
    struct fx *f = *state;
    write_log(f, 2, 0);
    int fd = open(f->log, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"seq\":4,\"ti", 12), 12);
    close(fd);
    expect(f, CF_AUDIT_TORN, 4);
    write_log(f, 1, 0);
    struct lines ls;
    read_lines(f->log, &ls);
    assert_int_equal(ls.n, 6);
    assert_non_null(strstr(ls.l[3], "\"event\":\"reopen\""));
    assert_non_null(strstr(ls.l[3], "torn last line was cut off"));
    write_lines(f->log, &ls);
    assert_int_equal(verify(f, f->pub, 0).damage, CF_AUDIT_INTACT);
}

static void test_log_left_open_gets_a_reopen_event(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN];
    write_log(f, 1, 0);
    /* What a crash leaves: an event after the final checkpoint, unsealed. */
    struct lines ls;
    cf_audit_t *a = NULL;
    assert_int_equal(cf_audit_open(f->log, f->key, 0, &a, err, sizeof(err)), CF_OK);
    cf_audit_event_t ev = {.event = "login", .operator_name = "bob"};
    assert_int_equal(cf_audit_write(a, &ev), CF_OK);
    /* Copy the log as it is now, as a crash would leave it. */
    char crashed[160];
    snprintf(crashed, sizeof(crashed), "%s/crashed.log", f->dir);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", f->log, crashed);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cf_audit_close(a), CF_OK);
    cf_audit_t *b = NULL;
    assert_int_equal(cf_audit_open(crashed, f->key, 0, &b, err, sizeof(err)), CF_OK);
    assert_int_equal(cf_audit_close(b), CF_OK);
    read_lines(crashed, &ls);
    assert_int_equal(ls.n, 5); /* event, cp, login, reopen, final cp */
    assert_non_null(strstr(ls.l[3], "not closed by a final checkpoint"));
    write_lines(crashed, &ls);
    cf_audit_report_t rep;
    assert_int_equal(cf_audit_verify(crashed, f->pub, 0, &rep), CF_OK);
    assert_int_equal(rep.damage, CF_AUDIT_INTACT);
}

/* A file that does not end like an audit log (another file given by
 * mistake, or a last line edited) is not continued, nor changed. */
static void test_log_with_a_foreign_last_line_is_not_continued(void **state)
{
    struct fx *f = *state;
    FILE *fp = fopen(f->log, "w");
    assert_non_null(fp);
    fputs("issuing 1 aes128 000102030405060708090A0B0C0D0E0F\n", fp);
    fclose(fp);
    struct stat before, after;
    assert_int_equal(stat(f->log, &before), 0);
    char err[CF_AUDIT_ERRLEN];
    cf_audit_t *a = NULL;
    assert_int_equal(cf_audit_open(f->log, f->key, 0, &a, err, sizeof(err)), CF_ERR_INVALID);
    assert_null(a);
    assert_non_null(strstr(err, "its last line is not an audit line"));
    assert_int_equal(stat(f->log, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
}

static void test_second_writer_is_refused(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN];
    cf_audit_t *a = NULL, *b = NULL;
    assert_int_equal(cf_audit_open(f->log, f->key, 0, &a, err, sizeof(err)), CF_OK);
    assert_int_equal(cf_audit_open(f->log, f->key, 0, &b, err, sizeof(err)), CF_ERR_SHARING);
    assert_null(b);
    assert_int_equal(cf_audit_close(a), CF_OK);
}

static void test_private_key_readable_by_others_is_refused(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN];
    cf_audit_t *a = NULL;
    assert_int_equal(chmod(f->key, 0644), 0);
    assert_int_equal(cf_audit_open(f->log, f->key, 0, &a, err, sizeof(err)), CF_ERR_INVALID);
    assert_non_null(strstr(err, "mode 0644"));
    assert_int_equal(access(f->log, F_OK), -1); /* nothing created */
}

static void test_keygen_never_overwrites_a_key(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN];
    assert_int_equal(cf_audit_keygen(f->key, f->pub2, err, sizeof(err)), CF_ERR_IO);
    assert_non_null(strstr(err, "never overwritten"));
    struct stat sb;
    assert_int_equal(stat(f->key, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
}

static void test_event_without_name_or_with_long_field_is_refused(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN], big[CF_AUDIT_MAX_FIELD + 2];
    cf_audit_t *a = NULL;
    assert_int_equal(cf_audit_open(f->log, f->key, 0, &a, err, sizeof(err)), CF_OK);
    cf_audit_event_t ev = {.event = NULL};
    assert_int_equal(cf_audit_write(a, &ev), CF_ERR_ARG);
    ev.event = "checkpoint"; /* only the log writes those */
    assert_int_equal(cf_audit_write(a, &ev), CF_ERR_ARG);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ev.event = "login";
    ev.detail = big;
    assert_int_equal(cf_audit_write(a, &ev), CF_ERR_ARG);
    assert_int_equal(cf_audit_close(a), CF_OK);
    assert_int_equal(verify(f, f->pub, 0).damage, CF_AUDIT_INTACT);
}

struct writer_arg {
    cf_audit_t *a;
    int ok;
};

static void *write_many(void *p)
{
    struct writer_arg *w = p;
    w->ok = 1;
    for (int i = 0; i < 50; i++) {
        cf_audit_event_t ev = {.event = "login", .operator_name = "alice", .client = "::1"};
        if (cf_audit_write(w->a, &ev) != CF_OK)
            w->ok = 0;
    }
    return NULL;
}

/* The server writes from its thread pool: lines never interleave and the
 * chain holds across threads. */
static void test_threads_writing_at_once_keep_one_chain(void **state)
{
    struct fx *f = *state;
    char err[CF_AUDIT_ERRLEN];
    cf_audit_t *a = NULL;
    assert_int_equal(cf_audit_open(f->log, f->key, 16, &a, err, sizeof(err)), CF_OK);
    pthread_t t[4];
    struct writer_arg w[4];
    for (int i = 0; i < 4; i++) {
        w[i].a = a;
        assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(w[i].ok);
    }
    assert_int_equal(cf_audit_close(a), CF_OK);
    cf_audit_report_t rep = verify(f, f->pub, 0);
    assert_int_equal(rep.damage, CF_AUDIT_INTACT);
    /* 200 events, a checkpoint after every 16 (12), the final one. */
    assert_int_equal(rep.lines, 200 + 12 + 1);
}

static void test_parse_line_wants_the_signature_last(void **state)
{
    (void)state;
    cf_audit_line_t l;
    char sig[129];
    memset(sig, 'a', 128);
    sig[128] = 0;
    char good[800], bad[800];
    snprintf(good, sizeof(good),
             "{\"seq\":2,\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":\"checkpoint\","
             "\"final\":false,\"key\":\"0011223344556677\",\"prev\":\"%064d\",\"sig\":\"%s\"}",
             0, sig);
    assert_int_equal(cf_audit_parse_line(good, strlen(good), &l), 0);
    assert_int_equal(l.checkpoint, 1);
    assert_int_equal(l.seq, 2);
    assert_int_equal(l.signed_len, strlen(good) - 8 - 128 - 2);
    snprintf(bad, sizeof(bad),
             "{\"seq\":2,\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":\"checkpoint\","
             "\"final\":false,\"key\":\"0011223344556677\",\"sig\":\"%s\",\"prev\":\"%064d\"}",
             sig, 0);
    assert_int_equal(cf_audit_parse_line(bad, strlen(bad), &l), -1);
    const char *noseq = "{\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":\"x\",\"prev\":\"00\"}";
    assert_int_equal(cf_audit_parse_line(noseq, strlen(noseq), &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_written_log_verifies_intact_with_checkpoints, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_line_holds_the_event_fields_and_the_previous_hash,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_byte_names_the_edited_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_last_event_is_found_by_the_final_checkpoint,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_prev_field_names_that_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_line_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_first_line_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserted_copy_of_a_line_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserted_line_fitted_to_the_chain_is_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_cut_after_a_checkpoint_is_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_cut_between_checkpoints_names_the_unsealed_lines,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_in_the_middle_of_a_line_is_torn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_checkpoint_fails_its_signature, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_checked_with_another_key_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_resigned_with_a_forged_key_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopened_log_continues_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_line_is_cut_on_reopen_and_recorded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_left_open_gets_a_reopen_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_with_a_foreign_last_line_is_not_continued, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_key_readable_by_others_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keygen_never_overwrites_a_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_without_name_or_with_long_field_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_writing_at_once_keep_one_chain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_parse_line_wants_the_signature_last, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
