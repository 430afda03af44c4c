/*
 * test_runner_sched.c - the runner's reader specs and record scheduler.
 *
 * The scheduler is driven the way the runner drives it: assign a record to
 * a card serial, write what happened into a journal state with the
 * journal's own apply functions, finish. The rules asserted are those of
 * "never twice, nothing lost": done records and serials are skipped or
 * refused, a card with an open intent gets its own record back, failed
 * records go to the next card up to max_attempts, held records come last,
 * and the batch is complete exactly when nothing usable is left.
 */
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

#include <openssl/evp.h>

#include <cardforge/journal.h>
#include <cardforge/personalize.h>
#include <cardforge/plan.h>
#include <cardforge/runner.h>

#include "runner/history.h"
#include "runner/sched.h"
#include "util/digest.h"

/* ---- reader specs --------------------------------------------------------- */

static void test_spec_all_is_the_default(void **state)
{
    (void)state;
    cf_reader_spec_t s;
    char err[128];
    assert_int_equal(cf_reader_spec_parse(NULL, &s, err, sizeof(err)), CF_OK);
    assert_int_equal(s.source, CF_READERS_ALL);
    assert_int_equal(cf_reader_spec_parse("all", &s, err, sizeof(err)), CF_OK);
    assert_int_equal(s.source, CF_READERS_ALL);
    assert_true(cf_reader_spec_matches(&s, "anything 00 00"));
    cf_reader_spec_free(&s);
}

static void test_spec_names_match_as_substrings(void **state)
{
    (void)state;
    cf_reader_spec_t s;
    char err[128];
    assert_int_equal(cf_reader_spec_parse("CardForge 0,Yubico", &s, err, sizeof(err)), CF_OK);
    assert_int_equal(s.source, CF_READERS_MATCH);
    assert_int_equal(s.n_match, 2);
    assert_true(cf_reader_spec_matches(&s, "CardForge 0 00 01"));
    assert_true(cf_reader_spec_matches(&s, "Yubico YubiKey OTP+FIDO+CCID 00 00"));
    assert_false(cf_reader_spec_matches(&s, "CardForge 1 00 00"));
    assert_false(cf_reader_spec_matches(&s, "cardforge 0 00 00")); /* case counts */
    cf_reader_spec_free(&s);
}

static void test_spec_sim_defaults_to_yubikey(void **state)
{
    (void)state;
    cf_reader_spec_t s;
    char err[128];
    assert_int_equal(cf_reader_spec_parse("sim:8", &s, err, sizeof(err)), CF_OK);
    assert_int_equal(s.source, CF_READERS_SIM);
    assert_int_equal(s.sim_count, 8);
    assert_string_equal(s.sim_type, "piv"); /* the standard card */
    assert_string_equal(s.sim_factory, "");
    assert_false(cf_reader_spec_matches(&s, "sim 1"));
    assert_int_equal(cf_reader_spec_parse("sim:1024:gids:gemalto", &s, err, sizeof(err)), CF_OK);
    assert_int_equal(s.sim_count, 1024);
    assert_string_equal(s.sim_type, "gids");
    assert_string_equal(s.sim_factory, "gemalto");
    assert_int_equal(cf_reader_spec_parse("sim:2:piv:default", &s, err, sizeof(err)), CF_OK);
}

static void test_spec_sim_type_takes_quirks_in_canonical_order(void **state)
{
    (void)state;
    cf_reader_spec_t s;
    char err[128];
    assert_int_equal(
        cf_reader_spec_parse("sim:3:gids+wrong-6982+admin-counter:gemalto", &s, err, sizeof(err)),
        CF_OK);
    assert_int_equal(s.sim_count, 3);
    assert_string_equal(s.sim_type, "gids+admin-counter+wrong-6982");
    assert_string_equal(s.sim_factory, "gemalto");
}

static void expect_bad(const char *text, const char *needle)
{
    cf_reader_spec_t s;
    char err[160] = "";
    assert_int_equal(cf_reader_spec_parse(text, &s, err, sizeof(err)), CF_ERR_ARG);
    if (strstr(err, needle) == NULL)
        fail_msg("spec '%s': message '%s' lacks '%s'", text, err, needle);
}

static void test_spec_errors_name_the_wrong_part(void **state)
{
    (void)state;
    expect_bad("", "empty");
    expect_bad("sim:0", "1 to 1024");
    expect_bad("sim:1025", "at most 1024");
    expect_bad("sim:08", "1 to 1024");
    expect_bad("sim:x", "1 to 1024");
    expect_bad("sim:", "1 to 1024");
    expect_bad("sim:2:java", "card type 'java'");
    expect_bad("sim:2:piv:nosuch", "no factory state 'nosuch'");
    expect_bad("sim:2:gids+nosuch", "unknown quirk 'nosuch'");
    expect_bad("sim:2:gids+aid-full", "quirk 'aid-full' does not apply to gids cards");
    expect_bad("sim:2:gids:", "empty factory");
    expect_bad("sim:2:piv:default:x", "expected sim:N");
    expect_bad("A,,B", "empty name");
    expect_bad("A,", "empty name");
}

/* ---- scheduler fixture ------------------------------------------------------- */

static const char desc[] = "[Fields]\nPIN=\nNEW_PUK=\n"
                           "[Description]\nSetPIN=true\nPIN=PIN\nInitialPUK=#12345678\n"
                           "PUK=NEW_PUK\n";

struct fx {
    char path[64];
    cf_batch_src_t src; /* the run's open batch */
    cf_plan_t *plan;
    cf_journal_state_t *st;
    cf_sched_t *s;
    cf_diag_list_t *diags;
    uint64_t attempt;
};

static void write_batch(struct fx *f, int n, int with_id)
{
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fprintf(fp, with_id ? "ID,PIN,NEW_PUK\n" : "NAME,PIN,NEW_PUK\n");
    for (int i = 1; i <= n; i++)
        fprintf(fp, "%s%d,%06d,%08d\n", with_id ? "" : "n", 100 + i, 111110 + i, 22222220 + i);
    fclose(fp);
}

/* Open the batch as a run does, and the scheduler over it. */
static void sched_new(struct fx *f, unsigned max_attempts)
{
    cf_batch_src_close(&f->src);
    assert_int_equal(cf_batch_src_open(f->path, &f->src, f->diags), CF_OK);
    assert_int_equal(cf_sched_new(f->plan, &f->src, f->st, max_attempts, &f->s, f->diags), CF_OK);
}

static void make(struct fx *f, int n, unsigned max_attempts)
{
    write_batch(f, n, 1);
    sched_new(f, max_attempts);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    f->src.fd = -1;
    snprintf(f->path, sizeof(f->path), "/tmp/cf-sched.XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    f->diags = cf_diag_list_new();
    f->st = cf_journal_state_new();
    if (cf_plan_compile_mem("d.ini", desc, sizeof(desc) - 1, f->diags, &f->plan) != CF_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cf_sched_free(f->s);
    cf_batch_src_close(&f->src);
    cf_journal_state_free(f->st);
    cf_plan_free(f->plan);
    cf_diag_list_free(f->diags);
    unlink(f->path);
    free(f);
    return 0;
}

static cf_work_t *expect_work(struct fx *f, const char *serial, uint64_t record)
{
    cf_work_t *w = NULL;
    cf_err_t err;
    char why[256];
    cf_assign_t a = cf_sched_assign(f->s, serial, &w, &err, why, sizeof(why));
    if (a != CF_ASSIGN_WORK)
        fail_msg("serial %s: assign %d (%s), expected record %llu", serial, (int)a, why,
                 (unsigned long long)record);
    assert_non_null(w);
    assert_int_equal(w->record, record);
    assert_non_null(cf_card_values_get(w->values, CF_PARAM_PIN));
    return w;
}

static void expect_assign(struct fx *f, const char *serial, cf_assign_t want, cf_err_t want_err,
                          const char *needle)
{
    cf_work_t *w = NULL;
    cf_err_t err = CF_OK;
    char why[256];
    cf_assign_t a = cf_sched_assign(f->s, serial, &w, &err, why, sizeof(why));
    assert_int_equal(a, want);
    assert_null(w);
    if (want == CF_ASSIGN_REJECT) {
        assert_int_equal(err, want_err);
        if (needle != NULL && strstr(why, needle) == NULL)
            fail_msg("reason '%s' lacks '%s'", why, needle);
    }
}

static const cf_journal_step_t s_yes = {
    "set-pin-by-puk", "done", "yes", CF_OK, 0x9000, 1, 1, "", "", "field", "", 0, NULL};
static const cf_journal_step_t s_lost = {
    "change-puk", "failed", "unknown", CF_ERR_CARD_REMOVED, 0, 1, 1, "", "", "field", "", 0, NULL};
static const cf_journal_step_t s_no = {
    "set-pin-by-puk", "failed", "no", CF_ERR_CARD_REMOVED, 0, 1, 1, "", "", "field", "", 0, NULL};

/* Record the end of a card in the state (as the runner does, with what the
 * executor's result res says the card refused; NULL: nothing), then
 * finish. */
static void end_card_with(struct fx *f, const char *serial, cf_work_t *w, cf_card_status_t status,
                          int changed, const cf_personalize_result_t *res)
{
    cf_journal_step_t steps[2] = {s_yes, s_lost};
    cf_journal_step_t nothing[1] = {s_no};
    cf_journal_card_t c;
    memset(&c, 0, sizeof(c));
    c.attempt = ++f->attempt;
    c.record = w->record;
    c.line = w->line;
    c.serial = serial;
    c.status = status;
    c.err = status == CF_STATUS_PERSONALIZED ? CF_OK : CF_ERR_CARD_REMOVED;
    if (status == CF_STATUS_PERSONALIZED || changed) {
        c.steps = steps;
        c.n_steps = status == CF_STATUS_PERSONALIZED ? 1 : 2;
    } else {
        c.steps = nothing;
        c.n_steps = 1;
    }
    if (res != NULL)
        cf_runner_record_spent(&c, res);
    assert_int_equal(cf_journal_state_apply_card(f->st, &c), CF_OK);
    cf_sched_finish(f->s, serial, w, status, c.err);
}

static void end_card(struct fx *f, const char *serial, cf_work_t *w, cf_card_status_t status,
                     int changed)
{
    end_card_with(f, serial, w, status, changed, NULL);
}

/* ---- scheduler ----------------------------------------------------------------- */

static void test_records_are_handed_out_in_order_and_resolved(void **state)
{
    struct fx *f = *state;
    make(f, 3, 3);
    cf_work_t *w1 = expect_work(f, "A", 1);
    assert_int_equal(w1->line, 2);
    assert_string_equal(w1->id, "101");
    assert_string_equal(cf_secret_str(cf_card_values_get(w1->values, CF_PARAM_PIN)), "111111");
    cf_work_t *w2 = expect_work(f, "B", 2);
    end_card(f, "A", w1, CF_STATUS_PERSONALIZED, 1);
    end_card(f, "B", w2, CF_STATUS_PERSONALIZED, 1);
    cf_work_t *w3 = expect_work(f, "C", 3);
    assert_false(cf_sched_complete(f->s));
    end_card(f, "C", w3, CF_STATUS_PERSONALIZED, 1);
    assert_true(cf_sched_complete(f->s));
    expect_assign(f, "D", CF_ASSIGN_NONE, CF_OK, NULL);
    assert_true(cf_sched_records(f->s) == 3);
}

static void test_id_column_is_not_copied_when_the_plan_uses_it(void **state)
{
    struct fx *f = *state;
    static const char d2[] = "[Fields]\nID=\nNEW_PUK=\n[Description]\nSetPIN=true\nPIN=ID\n"
                             "InitialPUK=#12345678\nPUK=NEW_PUK\n";
    cf_plan_free(f->plan);
    assert_int_equal(cf_plan_compile_mem("d.ini", d2, sizeof(d2) - 1, f->diags, &f->plan), CF_OK);
    FILE *fp = fopen(f->path, "w");
    fprintf(fp, "ID,NEW_PUK\n123456,87654321\n");
    fclose(fp);
    sched_new(f, 3);
    cf_work_t *w = NULL;
    cf_err_t err;
    char why[128];
    assert_int_equal(cf_sched_assign(f->s, "A", &w, &err, why, sizeof(why)), CF_ASSIGN_WORK);
    assert_string_equal(w->id, ""); /* ID is the PIN here: never journaled */
    cf_work_free(w);
}

/* Records appended after the run opened its batch (validated, fingerprinted)
 * are never handed out, not even when a held record is re-read. */
static void test_records_appended_during_the_run_are_never_given(void **state)
{
    struct fx *f = *state;
    make(f, 2, 3);
    FILE *fp = fopen(f->path, "a");
    assert_non_null(fp);
    fprintf(fp, "103,111113,22222223\n104,111114,22222224\n");
    fclose(fp);
    cf_work_t *a = expect_work(f, "A", 1);
    cf_work_t *b = expect_work(f, "B", 2);
    cf_work_t *w = NULL;
    cf_err_t err;
    char why[128];
    assert_int_equal(cf_sched_assign(f->s, "C", &w, &err, why, sizeof(why)), CF_ASSIGN_WAIT);
    cf_sched_finish(f->s, "A", a, CF_STATUS_PERSONALIZED, CF_OK);
    cf_sched_finish(f->s, "B", b, CF_STATUS_PERSONALIZED, CF_OK);
    assert_int_equal(cf_sched_assign(f->s, "C", &w, &err, why, sizeof(why)), CF_ASSIGN_NONE);
    assert_null(w);
    assert_int_equal(cf_sched_records(f->s), 2);
}

/* Hand out every record of the stream, each on its own card, done. */
static void take_all(struct fx *f, int n)
{
    char serial[16];
    for (int i = 1; i <= n; i++) {
        snprintf(serial, sizeof(serial), "S%d", i);
        cf_work_t *w = expect_work(f, serial, (uint64_t)i);
        cf_sched_finish(f->s, serial, w, CF_STATUS_PERSONALIZED, CF_OK);
    }
}

/* The batch's fingerprint as the runner takes it when validating. */
static void fingerprint(struct fx *f, char hex[72])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL), 1);
    cf_batch_cursor_t cur;
    cf_csv_t *csv = NULL;
    assert_int_equal(cf_batch_src_csv(&f->src, &cur, ctx, NULL, f->diags, &csv), CF_OK);
    const cf_csv_record_t *rec = NULL;
    while (cf_csv_next(csv, &rec) == CF_OK && rec != NULL)
        ;
    cf_csv_free(csv);
    assert_int_equal(cf_sha256_final_hex(ctx, hex), CF_OK);
    EVP_MD_CTX_free(ctx);
}

/* A batch edited in place after validation (same size, other values): the
 * scheduler's stream no longer matches the fingerprint validated, and says
 * so at its end; an untouched batch does not. */
static void test_a_batch_edited_during_the_run_is_noticed(void **state)
{
    struct fx *f = *state;
    write_batch(f, 3, 1);
    assert_int_equal(cf_batch_src_open(f->path, &f->src, f->diags), CF_OK);
    char sha[72];
    fingerprint(f, sha);
    f->src.sha256 = sha;
    assert_int_equal(cf_sched_new(f->plan, &f->src, f->st, 3, &f->s, f->diags), CF_OK);
    take_all(f, 3);
    assert_true(cf_sched_complete(f->s));
    assert_false(cf_sched_batch_changed(f->s));
    cf_sched_free(f->s);
    f->s = NULL;
    cf_journal_state_free(f->st);
    f->st = cf_journal_state_new();

    /* Edited after validation; the stream reads ahead (64 KiB), so a small
     * file is edited before the scheduler opens it. */
    FILE *fp = fopen(f->path, "r+");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, -9, SEEK_END), 0);
    fputs("99999999\n", fp); /* record 3's NEW_PUK */
    fclose(fp);
    assert_int_equal(cf_sched_new(f->plan, &f->src, f->st, 3, &f->s, f->diags), CF_OK);
    take_all(f, 3);
    assert_true(cf_sched_complete(f->s));
    assert_true(cf_sched_batch_changed(f->s));
}

/* A batch must be a regular file: a FIFO is refused at once (never waited
 * on), and so is a device that never ends. */
static void test_a_batch_that_is_not_a_file_is_refused(void **state)
{
    struct fx *f = *state;
    char fifo[80];
    snprintf(fifo, sizeof(fifo), "%s.fifo", f->path);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    cf_batch_src_t src;
    assert_int_equal(cf_batch_src_open(fifo, &src, f->diags), CF_ERR_IO);
    assert_int_equal(src.fd, -1);
    assert_int_equal(cf_batch_src_open("/dev/zero", &src, f->diags), CF_ERR_IO);
    assert_int_equal(cf_batch_src_open("/tmp", &src, f->diags), CF_ERR_IO);
    unlink(fifo);
    int found = 0;
    for (size_t i = 0; i < cf_diag_count(f->diags); i++) {
        const char *m = cf_diag_message(f->diags, i);
        found |= strstr(m, "not a regular file (a FIFO)") ? 1 : 0;
        found |= strstr(m, "not a regular file (a character device)") ? 2 : 0;
        found |= strstr(m, "not a regular file (a directory)") ? 4 : 0;
    }
    assert_int_equal(found, 7);
}

/* The operator's stop before the run starts: the batch reader gives up at
 * its next read, and cf_runner_new returns CF_ERR_INTERRUPTED without
 * creating the journal. */
static void test_a_stop_before_the_run_abandons_the_checks(void **state)
{
    struct fx *f = *state;
    write_batch(f, 3, 1);
    assert_int_equal(cf_batch_src_open(f->path, &f->src, f->diags), CF_OK);
    int cancel = 1;
    cf_batch_cursor_t cur;
    cf_csv_t *csv = NULL;
    assert_int_not_equal(cf_batch_src_csv(&f->src, &cur, NULL, &cancel, f->diags, &csv), CF_OK);
    assert_null(csv);
    assert_int_equal(cur.off, 0);

    char desc_path[80], journal[80];
    snprintf(desc_path, sizeof(desc_path), "%s.ini", f->path);
    snprintf(journal, sizeof(journal), "%s.jsonl", f->path);
    FILE *fp = fopen(desc_path, "w");
    assert_non_null(fp);
    fputs(desc, fp);
    fclose(fp);
    cf_runner_opts_t o;
    memset(&o, 0, sizeof(o));
    o.description = desc_path;
    o.batch = f->path;
    o.journal = journal;
    o.readers = "sim:1";
    o.profiles_dir = CF_SOURCE_DIR "/profiles";
    o.cancel = &cancel;
    cf_runner_t *r = NULL;
    assert_int_equal(cf_runner_new(&o, &r, f->diags), CF_ERR_INTERRUPTED);
    assert_null(r);
    assert_int_equal(access(journal, F_OK), -1);
    cancel = 0; /* the same options without the stop do open the run */
    assert_int_equal(cf_runner_new(&o, &r, f->diags), CF_OK);
    cf_runner_free(r);
    unlink(journal);
    unlink(desc_path);
}

static void test_no_id_column_gives_an_empty_id(void **state)
{
    struct fx *f = *state;
    write_batch(f, 1, 0);
    sched_new(f, 3);
    cf_work_t *w = expect_work(f, "A", 1);
    assert_string_equal(w->id, "");
    cf_work_free(w);
}

static void test_personalized_records_from_the_journal_are_skipped(void **state)
{
    struct fx *f = *state;
    cf_journal_step_t ok[1] = {s_yes};
    for (uint64_t r = 1; r <= 2; r++) {
        cf_journal_card_t c;
        memset(&c, 0, sizeof(c));
        c.attempt = r;
        c.record = r;
        c.serial = r == 1 ? "S1" : "S2";
        c.status = CF_STATUS_PERSONALIZED;
        c.steps = ok;
        c.n_steps = 1;
        assert_int_equal(cf_journal_state_apply_card(f->st, &c), CF_OK);
    }
    make(f, 3, 3);
    cf_work_t *w = expect_work(f, "X", 3);
    end_card(f, "X", w, CF_STATUS_PERSONALIZED, 1);
    assert_true(cf_sched_complete(f->s));
}

static void test_a_personalized_serial_is_refused(void **state)
{
    struct fx *f = *state;
    make(f, 2, 3);
    cf_work_t *w = expect_work(f, "A", 1);
    end_card(f, "A", w, CF_STATUS_PERSONALIZED, 1);
    expect_assign(f, "A", CF_ASSIGN_REJECT, CF_ERR_ALREADY_DONE, "already personalized");
    cf_work_t *w2 = expect_work(f, "B", 2); /* record 2 was not consumed */
    cf_work_free(w2);
}

static void test_the_same_serial_in_two_readers_is_refused(void **state)
{
    struct fx *f = *state;
    make(f, 3, 3);
    cf_work_t *w = expect_work(f, "A", 1);
    expect_assign(f, "A", CF_ASSIGN_REJECT, CF_ERR_SHARING, "another reader");
    /* The refusal must not release the first reader's hold on A. */
    expect_assign(f, "A", CF_ASSIGN_REJECT, CF_ERR_SHARING, "another reader");
    end_card(f, "A", w, CF_STATUS_PERSONALIZED, 1);
}

static void test_failed_record_goes_to_the_next_card_until_max_attempts(void **state)
{
    struct fx *f = *state;
    make(f, 2, 2);
    cf_work_t *w = expect_work(f, "A", 1);
    end_card(f, "A", w, CF_STATUS_FAILED, 0);
    w = expect_work(f, "B", 1); /* the retry comes before record 2 */
    end_card(f, "B", w, CF_STATUS_FAILED, 0);
    w = expect_work(f, "C", 2); /* record 1 has used its 2 attempts */
    assert_int_equal(cf_sched_given_up_count(f->s), 1);
    assert_true(cf_sched_given_up(f->s, 0) == 1);
    end_card(f, "C", w, CF_STATUS_PERSONALIZED, 1);
    assert_true(cf_sched_complete(f->s));
    expect_assign(f, "D", CF_ASSIGN_NONE, CF_OK, NULL);
}

static void test_card_with_open_intent_gets_its_own_record_back(void **state)
{
    struct fx *f = *state;
    make(f, 3, 3);
    cf_work_t *w = expect_work(f, "A", 1);
    end_card(f, "A", w, CF_STATUS_FAILED, 1); /* A changed, record 1 requeued */
    /* A comes back first: it takes record 1 out of the retry queue. */
    w = expect_work(f, "A", 1);
    assert_true(w->recovers == f->attempt);
    cf_work_t *w2 = expect_work(f, "B", 2); /* record 1 is not given twice */
    end_card(f, "A", w, CF_STATUS_PERSONALIZED, 1);
    end_card(f, "B", w2, CF_STATUS_PERSONALIZED, 1);
    cf_work_t *w3 = expect_work(f, "C", 3);
    end_card(f, "C", w3, CF_STATUS_PERSONALIZED, 1);
    assert_true(cf_sched_complete(f->s));
}

static void test_open_intent_from_a_crash_holds_its_record_until_last(void **state)
{
    struct fx *f = *state;
    cf_journal_intent_t in = {0, 9, 2, 3, "r", "CUT", "p", "change-puk", 2};
    assert_int_equal(cf_journal_state_apply_intent(f->st, &in), CF_OK);
    make(f, 3, 3);
    cf_work_t *w1 = expect_work(f, "A", 1);
    cf_work_t *w3 = expect_work(f, "B", 3); /* record 2 is held for CUT */
    end_card(f, "A", w1, CF_STATUS_PERSONALIZED, 1);
    end_card(f, "B", w3, CF_STATUS_PERSONALIZED, 1);
    assert_false(cf_sched_complete(f->s));
    /* CUT did not come back: a fresh card gets record 2 at last. */
    cf_work_t *w2 = expect_work(f, "C", 2);
    assert_true(w2->recovers == 0);
    end_card(f, "C", w2, CF_STATUS_PERSONALIZED, 1);
    assert_true(cf_sched_complete(f->s));
    /* Now CUT comes back: its record is done elsewhere, set it aside. */
    expect_assign(f, "CUT", CF_ASSIGN_REJECT, CF_ERR_ALREADY_DONE, "rework");
}

static void test_cut_off_card_that_comes_back_is_finished_with_its_record(void **state)
{
    struct fx *f = *state;
    cf_journal_intent_t in = {0, 9, 2, 3, "r", "CUT", "p", "change-puk", 2};
    assert_int_equal(cf_journal_state_apply_intent(f->st, &in), CF_OK);
    make(f, 3, 3);
    cf_work_t *w = expect_work(f, "CUT", 2); /* re-read from the batch */
    assert_true(w->recovers == 9);
    assert_int_equal(w->line, 3);
    assert_string_equal(cf_secret_str(cf_card_values_get(w->values, CF_PARAM_PIN)), "111112");
    cf_work_t *w1 = expect_work(f, "A", 1);
    cf_work_t *w3 = expect_work(f, "B", 3);
    end_card(f, "CUT", w, CF_STATUS_PERSONALIZED, 1);
    end_card(f, "A", w1, CF_STATUS_PERSONALIZED, 1);
    end_card(f, "B", w3, CF_STATUS_PERSONALIZED, 1);
    assert_true(cf_sched_complete(f->s));
}

static void test_wait_while_the_last_records_are_in_flight(void **state)
{
    struct fx *f = *state;
    make(f, 1, 3);
    cf_work_t *w = expect_work(f, "A", 1);
    expect_assign(f, "B", CF_ASSIGN_WAIT, CF_OK, NULL);
    assert_false(cf_sched_complete(f->s));
    end_card(f, "A", w, CF_STATUS_FAILED, 0);
    w = expect_work(f, "B", 1);
    end_card(f, "B", w, CF_STATUS_PERSONALIZED, 1);
    expect_assign(f, "C", CF_ASSIGN_NONE, CF_OK, NULL);
}

static void test_cut_off_card_waits_while_its_record_is_on_another_card(void **state)
{
    struct fx *f = *state;
    make(f, 1, 3);
    cf_work_t *w = expect_work(f, "A", 1);
    end_card(f, "A", w, CF_STATUS_FAILED, 1); /* A changed; record 1 requeued */
    w = expect_work(f, "B", 1);               /* B takes it first */
    expect_assign(f, "A", CF_ASSIGN_WAIT, CF_OK, NULL);
    end_card(f, "B", w, CF_STATUS_PERSONALIZED, 1);
    expect_assign(f, "A", CF_ASSIGN_REJECT, CF_ERR_ALREADY_DONE, "rework");
}

/* ---- what the journal remembers about a card ------------------------------------- */

static void test_step_names_map_back_to_step_kinds(void **state)
{
    (void)state;
    for (int k = CF_STEP_AUTH_ADMIN; k <= CF_STEP_ISSUE_CERT; k++)
        assert_int_equal(cf_runner_step_kind(cf_step_kind_name((cf_step_kind_t)k)), k);
    assert_int_equal(cf_runner_step_kind(""), -1);
    assert_int_equal(cf_runner_step_kind("unknown"), -1);
    assert_int_equal(cf_runner_step_kind("polish-the-chip"), -1);
    assert_int_equal(cf_runner_step_kind(NULL), -1);
}

static void test_card_history_for_the_executor_comes_from_the_journal_state(void **state)
{
    struct fx *f = *state;
    /* Card H: cut off changing its PUK after two attempts that presented a
     * wrong InitialPUK and a wrong CardManagerKey. */
    cf_journal_card_t c;
    memset(&c, 0, sizeof(c));
    c.attempt = 1;
    c.serial = "H";
    c.status = CF_STATUS_REJECTED;
    c.err = CF_ERR_WRONG_SECRET;
    c.spent_puk = 1;
    c.refused = 1u << CF_PARAM_INITIAL_PUK;
    assert_int_equal(cf_journal_state_apply_card(f->st, &c), CF_OK);
    c.attempt = 2;
    c.spent_puk = 0;
    c.spent_admin = 1;
    c.refused = 1u << CF_PARAM_CARD_MANAGER_KEY;
    assert_int_equal(cf_journal_state_apply_card(f->st, &c), CF_OK);
    cf_journal_intent_t in = {0, 3, 2, 3, "r", "H", "p", "change-puk", 2};
    assert_int_equal(cf_journal_state_apply_intent(f->st, &in), CF_OK);

    cf_card_history_t h;
    cf_runner_card_history(f->st, "H", &h);
    assert_int_equal(h.open_step, CF_STEP_CHANGE_PUK);
    assert_int_equal(h.spent[CF_CRED_PUK], 1);
    assert_int_equal(h.spent[CF_CRED_ADMIN], 1);
    assert_int_equal(h.spent[CF_CRED_PIN], 0);
    assert_int_equal(h.refused,
                     CF_PARAM_BIT(CF_PARAM_INITIAL_PUK) | CF_PARAM_BIT(CF_PARAM_CARD_MANAGER_KEY));
    /* Another card: nothing. An open intent of a step this version does
     * not know: no open step, never a guess. */
    cf_runner_card_history(f->st, "OTHER", &h);
    assert_true(h.open_step == -1 && h.spent[CF_CRED_PUK] == 0 && h.spent[CF_CRED_ADMIN] == 0 &&
                h.refused == 0);
    cf_journal_intent_t odd = {0, 4, 1, 2, "r", "ODD", "p", "polish-the-chip", 1};
    assert_int_equal(cf_journal_state_apply_intent(f->st, &odd), CF_OK);
    cf_runner_card_history(f->st, "ODD", &h);
    assert_int_equal(h.open_step, -1);
}

static void test_what_a_run_refused_reaches_the_cards_next_attempt_in_the_same_run(void **state)
{
    struct fx *f = *state;
    make(f, 2, 3);
    cf_work_t *w = expect_work(f, "K", 1);
    cf_card_history_t h;
    cf_runner_card_history(f->st, "K", &h);
    assert_true(h.open_step == -1 && h.spent[CF_CRED_ADMIN] == 0 && h.refused == 0);
    /* The run presented a wrong admin key (and the executor reported a
     * bit of no parameter, which the journal cannot name). */
    cf_personalize_result_t res;
    memset(&res, 0, sizeof(res));
    res.spent[CF_CRED_ADMIN] = 1;
    res.spent[CF_CRED_PIN] = 3; /* block-pin tries: not the journal's business */
    res.refused = CF_PARAM_BIT(CF_PARAM_CARD_MANAGER_KEY) | (1u << 20);
    end_card_with(f, "K", w, CF_STATUS_FAILED, 0, &res);
    /* K comes back: the record goes to it again, and the executor hears
     * what the first attempt learned. */
    w = expect_work(f, "K", 1);
    cf_runner_card_history(f->st, "K", &h);
    assert_int_equal(h.spent[CF_CRED_ADMIN], 1);
    assert_int_equal(h.spent[CF_CRED_PUK], 0);
    assert_int_equal(h.refused, CF_PARAM_BIT(CF_PARAM_CARD_MANAGER_KEY));
    res.spent[CF_CRED_ADMIN] = 0;
    res.refused = 0;
    end_card_with(f, "K", w, CF_STATUS_PERSONALIZED, 1, &res);
    cf_runner_card_history(f->st, "K", &h);
    assert_int_equal(h.spent[CF_CRED_ADMIN], 0); /* done: forgotten */
}

static void test_a_large_batch_streams_record_by_record(void **state)
{
    struct fx *f = *state;
    FILE *fp = fopen(f->path, "w");
    fprintf(fp, "ID,PIN,NEW_PUK\n");
    for (int i = 1; i <= 200000; i++)
        fprintf(fp, "%d,123456,87654321\n", i);
    fclose(fp);
    sched_new(f, 3);
    char serial[16];
    for (uint64_t r = 1; r <= 200000; r++) {
        snprintf(serial, sizeof(serial), "%llu", (unsigned long long)r);
        cf_work_t *w = NULL;
        cf_err_t err;
        char why[64];
        assert_int_equal(cf_sched_assign(f->s, serial, &w, &err, why, sizeof(why)), CF_ASSIGN_WORK);
        assert_true(w->record == r);
        cf_sched_finish(f->s, serial, w, CF_STATUS_FAILED, CF_ERR_INTERRUPTED);
        /* interrupted: requeued, not counted; take it back out */
        w = NULL;
        assert_int_equal(cf_sched_assign(f->s, serial, &w, &err, why, sizeof(why)), CF_ASSIGN_WORK);
        assert_true(w->record == r);
        cf_journal_card_t c;
        memset(&c, 0, sizeof(c));
        c.attempt = r;
        c.record = r;
        c.serial = serial;
        c.status = CF_STATUS_PERSONALIZED;
        assert_int_equal(cf_journal_state_apply_card(f->st, &c), CF_OK);
        cf_sched_finish(f->s, serial, w, CF_STATUS_PERSONALIZED, CF_OK);
    }
    assert_true(cf_sched_complete(f->s));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_all_is_the_default),
        cmocka_unit_test(test_spec_names_match_as_substrings),
        cmocka_unit_test(test_spec_sim_defaults_to_yubikey),
        cmocka_unit_test(test_spec_sim_type_takes_quirks_in_canonical_order),
        cmocka_unit_test(test_spec_errors_name_the_wrong_part),
        T(test_records_are_handed_out_in_order_and_resolved),
        T(test_id_column_is_not_copied_when_the_plan_uses_it),
        T(test_no_id_column_gives_an_empty_id),
        T(test_records_appended_during_the_run_are_never_given),
        T(test_a_batch_that_is_not_a_file_is_refused),
        T(test_a_stop_before_the_run_abandons_the_checks),
        T(test_a_batch_edited_during_the_run_is_noticed),
        T(test_personalized_records_from_the_journal_are_skipped),
        T(test_a_personalized_serial_is_refused),
        T(test_the_same_serial_in_two_readers_is_refused),
        T(test_failed_record_goes_to_the_next_card_until_max_attempts),
        T(test_card_with_open_intent_gets_its_own_record_back),
        T(test_open_intent_from_a_crash_holds_its_record_until_last),
        T(test_cut_off_card_that_comes_back_is_finished_with_its_record),
        T(test_wait_while_the_last_records_are_in_flight),
        T(test_cut_off_card_waits_while_its_record_is_on_another_card),
        T(test_a_large_batch_streams_record_by_record),
        cmocka_unit_test(test_step_names_map_back_to_step_kinds),
        T(test_card_history_for_the_executor_comes_from_the_journal_state),
        T(test_what_a_run_refused_reaches_the_cards_next_attempt_in_the_same_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
