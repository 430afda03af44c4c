/*
 * test_personalize.c - the plan executor on virtual cards through the
 * in-process reader: every step on both card types, the refusals, the
 * guards, recovery, and a card pulled at every APDU of a whole plan.
 *
 * The judge of what ended up on a card is its state file (the card's own
 * record of its PIN, PUK, keys and counters), never the executor's report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cardforge/card.h>
#include <cardforge/personalize.h>
#include <cardforge/plan.h>
#include <cardforge/transport.h>

#include "simcard_tx.h"

#define FACTORY_MGM "010203040506070801020304050607080102030405060708"
#define NEW_KEY "00112233445566778899AABBCCDDEEFF0011223344556677"
#define GEMALTO_ADMIN "000000000000000000000000000000000000000000000000"

/* A PIV production job: PIN by PUK, new PUK, new management key, blocked. */
static const char PIV_JOB[] = "[Description]\nSetPIN=true\nPIN=#654321\n"
                              "InitialPUK=#12345678\nPUK=#87654321\n"
                              "CardManagerKey=#" FACTORY_MGM "\n"
                              "NewCardManagerKey=#" NEW_KEY "\n"
                              "[Application_B]\nBlockCard=true\n";

/* A Gemalto-style job: PIN by admin key, rotation, C/R key, blocked. */
static const char GIDS_JOB[] = "[Description]\nSetPIN=true\nPIN=#24680\n"
                               "CardManagerKey=#" GEMALTO_ADMIN "\n"
                               "NewCardManagerKey=#" NEW_KEY "\n"
                               "InitCRKey=true\nUseCardManagerKey=true\n"
                               "[Application_B]\nBlockCard=true\n";

static cf_profiles_t *profiles;
/* The profile rig_connect names (NULL: the card is recognised). */
static const char *rig_profile;

struct rig {
    cf_simcard_t *sc;
    cf_transport_t *t;
    cf_card_t *card;
    cf_plan_t *plan;
    cf_card_values_t *values;
};

static int group_setup(void **state)
{
    (void)state;
    cf_diag_list_t *d = cf_diag_list_new();
    cf_err_t e = cf_profiles_load(CF_SOURCE_DIR "/profiles", d, &profiles);
    if (e != CF_OK)
        cf_diag_print(d, stderr);
    cf_diag_list_free(d);
    return e == CF_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cf_profiles_free(profiles);
    return 0;
}

/* Connect (power on) to the card and identify it. */
static void rig_connect(struct rig *r)
{
    assert_int_equal(cf_transport_open_sim(r->sc, "sim 0", &r->t), CF_OK);
    char err[256] = "";
    cf_err_t e = cf_card_open(r->t, profiles, rig_profile, &r->card, err, sizeof(err));
    if (e != CF_OK)
        fail_msg("cf_card_open: %s (%s)", cf_strerror(e), err);
}

static void rig_disconnect(struct rig *r)
{
    cf_card_free(r->card);
    r->card = NULL;
    cf_transport_close(r->t, CF_DISPOSE_UNPOWER);
    r->t = NULL;
}

static void rig_plan(struct rig *r, const char *desc)
{
    cf_diag_list_t *d = cf_diag_list_new();
    assert_int_equal(cf_plan_compile_mem("job.ini", desc, strlen(desc), d, &r->plan), CF_OK);
    assert_int_equal(cf_plan_resolve(r->plan, NULL, NULL, NULL, NULL, "job", 0, d, &r->values),
                     CF_OK);
    cf_diag_list_free(d);
}

static void rig_new(struct rig *r, const char *type, const char *factory, const char *desc)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(cf_simcard_new(type, factory, 4242, &r->sc), CF_OK);
    assert_int_equal(cf_simcard_set_state_file(r->sc, path), CF_OK);
    rig_connect(r);
    rig_plan(r, desc);
}

static void rig_free(struct rig *r)
{
    rig_disconnect(r);
    cf_card_values_free(r->values);
    cf_plan_free(r->plan);
    cf_simcard_free(r->sc);
}

static const char *st(const char *key)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    const char *v = tx_state_value(path, key, buf[i], sizeof(buf[i]));
    return v ? v : "(absent)";
}

static const char *hex_of(const char *text)
{
    static char buf[4][80];
    static int i;
    i = (i + 1) % 4;
    size_t n = strlen(text);
    for (size_t k = 0; k < n && 2 * k + 2 < sizeof(buf[i]); k++)
        snprintf(buf[i] + 2 * k, 3, "%02X", (unsigned char)text[k]);
    return buf[i];
}

static void expect_all_proven(const cf_personalize_result_t *res)
{
    for (size_t i = 0; i < res->n_steps; i++) {
        if (res->steps[i].outcome != CF_OUTCOME_DONE && res->steps[i].outcome != CF_OUTCOME_ALREADY)
            fail_msg("step %s: %s (%s)", cf_step_kind_name(res->steps[i].kind),
                     cf_outcome_name(res->steps[i].outcome), res->steps[i].message);
    }
}

static void expect_piv_job_done(void)
{
    assert_string_equal(st("pin"), hex_of("654321"));
    assert_string_equal(st("pin_tries"), "0");
    assert_string_equal(st("puk"), hex_of("87654321"));
    assert_string_equal(st("mgm_key"), NEW_KEY);
}

static void expect_gids_job_done(void)
{
    assert_string_equal(st("pin"), hex_of("24680"));
    assert_string_equal(st("pin_tries"), "0");
    assert_string_equal(st("admin_key"), NEW_KEY);
}

static void test_piv_job_sets_pin_by_puk_changes_puk_rotates_key_and_blocks(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", NULL, PIV_JOB);
    cf_personalize_result_t res;
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), CF_OK);
    assert_int_equal(res.n_steps, 5);
    expect_all_proven(&res);
    expect_piv_job_done();
    assert_string_equal(st("puk_tries"), "3"); /* blocking cost no PUK try */
    assert_int_equal(res.tries[CF_CRED_PIN].kind, CF_TRIES_KNOWN);
    assert_int_equal(res.tries[CF_CRED_PIN].left, 0);
    assert_int_equal(res.tries[CF_CRED_PUK].left, 3);
    /* the rotation reports the new key's check value */
    char kcv[7];
    cf_secret_t *k = NULL;
    assert_int_equal(cf_secret_from_hex(NEW_KEY, strlen(NEW_KEY), &k), CF_OK);
    assert_int_equal(cf_card_key_check_value(k, kcv), CF_OK);
    cf_secret_free(k);
    assert_int_equal(res.steps[3].kind, CF_STEP_ROTATE_ADMIN_KEY);
    assert_string_equal(res.steps[3].kcv, kcv);
    rig_free(&r);
}

static void test_gids_job_sets_pin_by_admin_rotates_proves_cr_key_and_blocks(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "gids", "gemalto", GIDS_JOB);
    cf_personalize_result_t res;
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), CF_OK);
    assert_int_equal(res.n_steps, 5);
    expect_all_proven(&res);
    expect_gids_job_done();
    assert_string_equal(st("admin_tries"), st("admin_max")); /* nothing spent */
    assert_int_equal(res.steps[3].kind, CF_STEP_INSTALL_CR_KEY);
    assert_string_equal(res.steps[3].kcv, res.steps[2].kcv);
    rig_free(&r);
}

/* A refusal happens before anything changes: the state file is untouched. */
static void expect_refused(const char *type, const char *factory, const char *desc, cf_err_t err,
                           const char *needle)
{
    struct rig r;
    rig_new(&r, type, factory, desc);
    char before[4096], after[4096];
    FILE *f = fopen(path, "r");
    size_t nb = fread(before, 1, sizeof(before) - 1, f);
    before[nb] = 0;
    fclose(f);
    cf_personalize_result_t res;
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), err);
    if (strstr(res.message, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", res.message, needle);
    f = fopen(path, "r");
    size_t na = fread(after, 1, sizeof(after) - 1, f);
    after[na] = 0;
    fclose(f);
    assert_string_equal(before, after);
    size_t refused = 0;
    for (size_t i = 0; i < res.n_steps; i++) {
        assert_int_equal(res.steps[i].reached, CF_REACHED_NO);
        if (res.steps[i].outcome == CF_OUTCOME_REFUSED) {
            refused++;
            /* the step named in the message is the one marked refused */
            assert_non_null(strstr(res.message, cf_step_kind_name(res.steps[i].kind)));
        }
    }
    assert_int_equal(refused, 1);
    rig_free(&r);
}

static void test_combinations_a_card_type_cannot_do_are_refused_before_any_change(void **state)
{
    (void)state;
    expect_refused("yubikey", NULL,
                   "[Description]\nSetPIN=true\nPIN=#123456\nCardManagerKey=#" FACTORY_MGM "\n",
                   CF_ERR_REFUSED, "set-pin-by-admin (line 2) refused on card type piv-yubikey");
    expect_refused("yubikey", NULL,
                   "[Description]\nCardManagerKey=#" FACTORY_MGM "\nInitCRKey=true\n"
                   "UseCardManagerKey=true\n",
                   CF_ERR_REFUSED, "install-cr-key");
    expect_refused("gids", "gemalto",
                   "[Description]\nSetPIN=true\nPIN=#123456\nInitialPUK=#12345678\n",
                   CF_ERR_REFUSED, "no PUK");
}

static void test_factory_key_as_new_key_and_policy_violations_are_refused(void **state)
{
    (void)state;
    expect_refused("yubikey", NULL,
                   "[Description]\nCardManagerKey=#" NEW_KEY "\nNewCardManagerKey=#" FACTORY_MGM
                   "\n",
                   CF_ERR_POLICY, "factory default");
    /* PIV PINs are 6 to 8 characters */
    expect_refused("yubikey", NULL, "[Description]\nSetPIN=true\nPIN=#1234\nInitialPUK=#12345678\n",
                   CF_ERR_POLICY, "PIN");
}

static void test_factory_key_allowed_when_the_operator_says_so(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", NULL,
            "[Description]\nCardManagerKey=#" FACTORY_MGM "\nNewCardManagerKey=#" FACTORY_MGM "\n");
    cf_personalize_result_t res;
    assert_int_equal(
        cf_personalize(r.card, r.plan, r.values, CF_PERS_ALLOW_FACTORY_KEY, NULL, &res), CF_OK);
    assert_string_equal(st("mgm_key"), FACTORY_MGM);
    rig_free(&r);
}

/* A wrong CardManagerKey spends one admin try per run; the run that could
 * spend the last one is refused and spends nothing. (The card must show
 * its counter for the engine to know which try is the last.) */
static void test_wrong_admin_key_never_spends_the_last_try(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "gids+admin-counter", "gemalto",
            "[Description]\nSetPIN=true\nPIN=#2468\nCardManagerKey=#" NEW_KEY "\n");
    cf_personalize_result_t res;
    for (int run = 0; run < 4; run++) {
        assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res),
                         CF_ERR_WRONG_SECRET);
        assert_int_equal(res.steps[0].outcome, CF_OUTCOME_FAILED);
        /* a new session: within one, the card layer refuses a rejected
         * secret outright */
        rig_disconnect(&r);
        rig_connect(&r);
    }
    assert_string_equal(st("admin_tries"), "1");
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), CF_ERR_LAST_TRY);
    assert_int_equal(res.steps[0].outcome, CF_OUTCOME_REFUSED);
    assert_string_equal(st("admin_tries"), "1");
    assert_string_equal(st("pin"), hex_of("0000"));
    rig_free(&r);
}

static cf_step_kind_t intents[16];
static size_t n_intents;
static int stop_after_steps = -1, steps_seen;

static cf_err_t record_intent(void *user, const cf_card_t *card, const cf_step_t *step)
{
    (void)user;
    (void)card;
    if (n_intents < 16)
        intents[n_intents++] = step->kind;
    return CF_OK;
}

static cf_err_t refuse_intent(void *user, const cf_card_t *card, const cf_step_t *step)
{
    (void)user;
    (void)card;
    (void)step;
    return CF_ERR_IO;
}

static void count_step(void *user, const cf_card_t *card, const cf_step_result_t *r)
{
    (void)user;
    (void)card;
    (void)r;
    steps_seen++;
}

static int stop_now(void *user)
{
    (void)user;
    return stop_after_steps >= 0 && steps_seen >= stop_after_steps;
}

static void test_intent_precedes_every_irreversible_step_and_its_failure_stops_the_run(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", NULL, PIV_JOB);
    cf_personalize_hooks_t hooks = {.intent = record_intent};
    cf_personalize_result_t res;
    n_intents = 0;
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, &hooks, &res), CF_OK);
    cf_step_kind_t want[] = {CF_STEP_SET_PIN_BY_PUK, CF_STEP_CHANGE_PUK, CF_STEP_ROTATE_ADMIN_KEY,
                             CF_STEP_BLOCK_PIN};
    assert_int_equal(n_intents, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(intents[i], want[i]);
    rig_free(&r);

    rig_new(&r, "yubikey", NULL, PIV_JOB);
    hooks.intent = refuse_intent;
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, &hooks, &res), CF_ERR_IO);
    assert_int_equal(res.steps[1].outcome, CF_OUTCOME_NOT_RUN);
    assert_string_equal(st("pin"), hex_of("123456")); /* nothing written */
    rig_free(&r);
}

static void test_stop_request_ends_the_run_between_steps(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "yubikey", NULL, PIV_JOB);
    cf_personalize_hooks_t hooks = {.step_done = count_step, .should_stop = stop_now};
    cf_personalize_result_t res;
    steps_seen = 0;
    stop_after_steps = 2;
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, &hooks, &res), CF_ERR_INTERRUPTED);
    stop_after_steps = -1;
    assert_int_equal(res.steps[1].outcome, CF_OUTCOME_DONE);
    assert_int_equal(res.steps[2].outcome, CF_OUTCOME_NOT_RUN);
    assert_string_equal(st("pin"), hex_of("654321"));
    assert_string_equal(st("mgm_key"), FACTORY_MGM);
    rig_free(&r);
}

/* What the card holds after a pulled run matches what the run reported,
 * for the values a step installs. */
static void expect_report_matches_card(const char *type, const cf_personalize_result_t *res)
{
    for (size_t i = 0; i < res->n_steps; i++) {
        const cf_step_result_t *s = &res->steps[i];
        const char *key = NULL, *want_new = NULL;
        switch (s->kind) {
        case CF_STEP_SET_PIN_BY_PUK:
        case CF_STEP_SET_PIN_BY_ADMIN:
            key = "pin";
            want_new = hex_of(strcmp(type, "yubikey") == 0 ? "654321" : "24680");
            break;
        case CF_STEP_CHANGE_PUK:
            key = "puk";
            want_new = hex_of("87654321");
            break;
        case CF_STEP_ROTATE_ADMIN_KEY:
            key = strcmp(type, "yubikey") == 0 ? "mgm_key" : "admin_key";
            want_new = NEW_KEY;
            break;
        default:
            continue;
        }
        int has_new = strcmp(st(key), want_new) == 0;
        if ((s->outcome == CF_OUTCOME_DONE || s->reached == CF_REACHED_YES) && !has_new)
            fail_msg("%s reported on the card but %s is not the new value",
                     cf_step_kind_name(s->kind), key);
        if (s->outcome != CF_OUTCOME_DONE && s->reached == CF_REACHED_NO && has_new)
            fail_msg("%s reported not reached but the card holds the new %s",
                     cf_step_kind_name(s->kind), key);
    }
}

/* Pull the card at APDU k of the run (in both ways the host cannot tell
 * apart), check the report against the card, then re-run on the same card
 * and expect the job finished. */
static void pull_everywhere(const char *type, const char *factory, const char *desc,
                            void (*expect_done)(void))
{
    struct rig r;
    rig_new(&r, type, factory, desc);
    cf_personalize_result_t res;
    uint64_t a0 = cf_transport_apdu_count(r.t);
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), CF_OK);
    unsigned long total = (unsigned long)(cf_transport_apdu_count(r.t) - a0);
    rig_free(&r);
    assert_true(total > 5);

    for (unsigned long k = 1; k <= total; k++) {
        for (int mode = 0; mode < 2; mode++) {
            rig_new(&r, type, factory, desc);
            assert_int_equal(cf_transport_sim_pull_after(r.t, k, (cf_sim_pull_t)mode), CF_OK);
            cf_err_t e = cf_personalize(r.card, r.plan, r.values, 0, NULL, &res);
            /* A pull while the final counters are read (after the last
             * step) leaves a finished card: the run has succeeded. */
            if (e == CF_OK)
                expect_all_proven(&res);
            else if (e != CF_ERR_CARD_REMOVED)
                fail_msg("pull at %lu (mode %d): %s, %s", k, mode, cf_strerror(e), res.message);
            expect_report_matches_card(type, &res);
            rig_disconnect(&r);

            /* Re-run: the description finishes the card. */
            rig_connect(&r);
            e = cf_personalize(r.card, r.plan, r.values, 0, NULL, &res);
            if (e != CF_OK)
                fail_msg("re-run after pull at %lu (mode %d): %s", k, mode, res.message);
            expect_done();
            rig_free(&r);
        }
    }
}

static void test_piv_job_pulled_at_every_apdu_reports_exactly_and_rerun_finishes(void **state)
{
    (void)state;
    pull_everywhere("yubikey", NULL, PIV_JOB, expect_piv_job_done);
}

static void test_gids_job_pulled_at_every_apdu_reports_exactly_and_rerun_finishes(void **state)
{
    (void)state;
    /* Recovering an interrupted rotation tries the old key, then the new
     * one: the second attempt needs a counter the card shows. */
    pull_everywhere("gids+admin-counter", "gemalto", GIDS_JOB, expect_gids_job_done);
}

/* Recovery costs at most one try: a gids card whose rotation went through
 * (key written, answer lost) is finished by a re-run that spends one admin
 * try finding out which key the card holds (a card that shows its admin
 * counter: the engine tries a second key only then). */
static void test_interrupted_rotation_recovery_spends_at_most_one_try(void **state)
{
    (void)state;
    struct rig r;
    rig_new(&r, "gids+admin-counter", "gemalto",
            "[Description]\nCardManagerKey=#" GEMALTO_ADMIN "\nNewCardManagerKey=#" NEW_KEY "\n");
    cf_personalize_result_t res;
    /* find the APDU that writes the key: the first pull after which the
     * card holds the new key */
    unsigned long k;
    for (k = 1; k < 40; k++) {
        rig_free(&r);
        rig_new(&r, "gids+admin-counter", "gemalto",
                "[Description]\nCardManagerKey=#" GEMALTO_ADMIN "\nNewCardManagerKey=#" NEW_KEY
                "\n");
        cf_transport_sim_pull_after(r.t, k, CF_SIM_PULL_ANSWER_LOST);
        cf_personalize(r.card, r.plan, r.values, 0, NULL, &res);
        if (strcmp(st("admin_key"), NEW_KEY) == 0)
            break;
    }
    assert_true(k < 40);
    assert_int_equal(res.steps[1].kind, CF_STEP_ROTATE_ADMIN_KEY);
    assert_int_equal(res.steps[1].reached, CF_REACHED_UNKNOWN);
    rig_disconnect(&r);
    rig_connect(&r);
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), CF_OK);
    assert_int_equal(res.steps[1].outcome, CF_OUTCOME_ALREADY);
    int left = atoi(st("admin_tries")), max = atoi(st("admin_max"));
    assert_true(left >= max - 1);
    rig_free(&r);
}

/* ---- cards that cannot report their admin-key tries ---------------------
 * The gids card below counts its admin tries (the state file shows them);
 * the `gids` profile, named, gives the executor no way to read them, as on
 * a GIDS card without cardforge's extension. */

#define ROTATION_JOB                                                                               \
    "[Description]\nCardManagerKey=#" GEMALTO_ADMIN "\nNewCardManagerKey=#" NEW_KEY "\n"

/* A gids card whose rotation was cut off: after the key write reached the
 * card (holds_new) or just before it. */
static void cut_rotation(struct rig *r, int holds_new)
{
    cf_personalize_result_t res;
    for (unsigned long k = 1; k < 40; k++) {
        rig_new(r, "gids", "gemalto", ROTATION_JOB);
        cf_transport_sim_pull_after(r->t, k,
                                    holds_new ? CF_SIM_PULL_ANSWER_LOST : CF_SIM_PULL_UNDELIVERED);
        cf_personalize(r->card, r->plan, r->values, 0, NULL, &res);
        int has_new = strcmp(st("admin_key"), NEW_KEY) == 0;
        if (has_new == holds_new && res.steps[1].kind == CF_STEP_ROTATE_ADMIN_KEY &&
            res.steps[1].reached == CF_REACHED_UNKNOWN) {
            rig_disconnect(r);
            rig_connect(r);
            return;
        }
        rig_free(r);
    }
    fail_msg("no pull leaves the rotation %s the write", holds_new ? "after" : "before");
}

static void test_unknown_counter_without_evidence_presents_one_key_only(void **state)
{
    (void)state;
    rig_profile = "gids";
    struct rig r;
    cut_rotation(&r, 1);
    int before = atoi(st("admin_tries"));
    cf_personalize_result_t res;
    /* No journal: nothing says the card may hold the new key, so only
     * CardManagerKey is presented; it is refused, and no second guess. */
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), CF_ERR_WRONG_SECRET);
    assert_int_equal(atoi(st("admin_tries")), before - 1);
    assert_int_equal(res.spent[CF_CRED_ADMIN], 1);
    assert_int_equal(res.refused, CF_PARAM_BIT(CF_PARAM_CARD_MANAGER_KEY));
    assert_non_null(strstr(res.steps[0].message, "may have cost a try if the card counts them"));
    assert_string_equal(st("admin_key"), NEW_KEY);
    rig_free(&r);
    rig_profile = NULL;
}

static void test_unknown_counter_recovery_presents_one_value_per_run(void **state)
{
    (void)state;
    rig_profile = "gids";
    cf_personalize_result_t res;
    struct rig r;

    /* Cut after the write: the journal's open intent puts the new key first,
     * and it authenticates: no try spent at all. */
    cut_rotation(&r, 1);
    int max = atoi(st("admin_max"));
    cf_card_history_t h = {.open_step = CF_STEP_ROTATE_ADMIN_KEY};
    assert_int_equal(cf_personalize_resume(r.card, r.plan, r.values, 0, NULL, &h, &res), CF_OK);
    assert_int_equal(res.steps[1].outcome, CF_OUTCOME_ALREADY);
    assert_int_equal(res.spent[CF_CRED_ADMIN], 0);
    assert_int_equal(atoi(st("admin_tries")), max);
    rig_free(&r);

    /* Cut before the write: the new key, presented first, is refused; this
     * run stops there (one try at most), the next presents CardManagerKey
     * and finishes the rotation. */
    cut_rotation(&r, 0);
    assert_int_equal(cf_personalize_resume(r.card, r.plan, r.values, 0, NULL, &h, &res),
                     CF_ERR_WRONG_SECRET);
    assert_int_equal(res.spent[CF_CRED_ADMIN], 1);
    assert_int_equal(res.refused, CF_PARAM_BIT(CF_PARAM_NEW_CARD_MANAGER_KEY));
    assert_non_null(strstr(res.steps[0].message, "presented by the next run"));
    assert_int_equal(atoi(st("admin_tries")), max - 1);
    rig_disconnect(&r);
    rig_connect(&r);
    h.spent[CF_CRED_ADMIN] = res.spent[CF_CRED_ADMIN];
    h.refused = res.refused;
    assert_int_equal(cf_personalize_resume(r.card, r.plan, r.values, 0, NULL, &h, &res), CF_OK);
    assert_int_equal(res.steps[1].outcome, CF_OUTCOME_DONE);
    assert_int_equal(res.spent[CF_CRED_ADMIN], 0);
    assert_string_equal(st("admin_key"), NEW_KEY);
    rig_free(&r);
    rig_profile = NULL;
}

static void test_unknown_counter_budget_across_runs_is_never_exceeded(void **state)
{
    (void)state;
    rig_profile = "gids";
    struct rig r;
    rig_new(&r, "gids", "gemalto",
            "[Description]\nSetPIN=true\nPIN=#2468\nCardManagerKey=#" NEW_KEY "\n");
    int max = atoi(st("admin_max"));
    cf_card_history_t h = {.open_step = -1};
    cf_personalize_result_t res;
    unsigned total = 0;
    for (int run = 0; run < 5; run++) {
        cf_err_t e = cf_personalize_resume(r.card, r.plan, r.values, 0, NULL, &h, &res);
        assert_true(e == CF_ERR_WRONG_SECRET || e == CF_ERR_REFUSED);
        total += res.spent[CF_CRED_ADMIN];
        h.spent[CF_CRED_ADMIN] += res.spent[CF_CRED_ADMIN];
        h.refused |= res.refused;
        rig_disconnect(&r);
        rig_connect(&r);
    }
    /* The wrong key is refused once; later runs present nothing. */
    assert_int_equal(total, 1);
    assert_int_equal(atoi(st("admin_tries")), max - 1);
    assert_int_equal(res.steps[0].outcome, CF_OUTCOME_REFUSED);
    assert_non_null(strstr(res.steps[0].message, "nothing sent"));
    /* Even a value never refused is not presented once the budget is
     * spent. */
    h.refused = 0;
    h.spent[CF_CRED_ADMIN] = CF_HISTORY_MAX_SPENT;
    assert_int_equal(cf_personalize_resume(r.card, r.plan, r.values, 0, NULL, &h, &res),
                     CF_ERR_REFUSED);
    assert_non_null(strstr(res.steps[0].message, "hand the card to an operator"));
    assert_int_equal(atoi(st("admin_tries")), max - 1);
    rig_free(&r);
    rig_profile = NULL;
}

/* ---- recovery on every variant that can do the step ---------------------- */

static cf_step_kind_t last_intent;

static cf_err_t note_intent(void *user, const cf_card_t *card, const cf_step_t *step)
{
    (void)user;
    (void)card;
    last_intent = step->kind;
    return CF_OK;
}

/* Cut the job on a card of type at the write of step k (before it reached
 * the card, or after), then run it again as the runner would, with the
 * history its journal keeps: at most one wrong value per run, finished
 * within two runs, the card holding new_hex under key. */
static void recover_on(const char *type, const char *factory, const char *desc, cf_step_kind_t k,
                       const char *key, const char *new_hex, int holds_new)
{
    cf_personalize_hooks_t hooks = {NULL, note_intent, NULL, NULL};
    cf_personalize_result_t res;
    struct rig r;
    unsigned long pull;
    for (pull = 1; pull < 60; pull++) {
        rig_new(&r, type, factory, desc);
        last_intent = (cf_step_kind_t)-1;
        cf_transport_sim_pull_after(r.t, pull,
                                    holds_new ? CF_SIM_PULL_ANSWER_LOST : CF_SIM_PULL_UNDELIVERED);
        cf_personalize(r.card, r.plan, r.values, 0, &hooks, &res);
        int has_new = strcmp(st(key), new_hex) == 0;
        if (last_intent == k && has_new == holds_new && res.err == CF_ERR_CARD_REMOVED)
            break;
        rig_free(&r);
    }
    if (pull == 60)
        fail_msg("%s: no pull cuts %s %s its write", type, cf_step_kind_name(k),
                 holds_new ? "after" : "before");
    rig_disconnect(&r);
    cf_card_history_t h = {.open_step = (int)k};
    cf_err_t e = CF_ERR_INTERNAL;
    for (int run = 0; run < 2 && e != CF_OK; run++) {
        rig_connect(&r);
        e = cf_personalize_resume(r.card, r.plan, r.values, 0, NULL, &h, &res);
        unsigned spent = res.spent[CF_CRED_PUK] + res.spent[CF_CRED_ADMIN];
        if (spent > 1)
            fail_msg("%s: run %d presented %u wrong values", type, run, spent);
        h.spent[CF_CRED_PUK] += res.spent[CF_CRED_PUK];
        h.spent[CF_CRED_ADMIN] += res.spent[CF_CRED_ADMIN];
        h.refused |= res.refused;
        if (e != CF_OK && e != CF_ERR_WRONG_SECRET)
            fail_msg("%s: run %d: %s", type, run, res.message);
        rig_disconnect(&r);
    }
    if (e != CF_OK)
        fail_msg("%s: %s cut %s its write not finished in two runs: %s", type, cf_step_kind_name(k),
                 holds_new ? "after" : "before", res.message);
    assert_string_equal(st(key), new_hex);
    rig_connect(&r);
    rig_free(&r);
}

static void test_interrupted_rotation_is_finished_on_every_variant(void **state)
{
    (void)state;
    static const char *const yk[] = {"yubikey", "yubikey+wrong-6a80", "yubikey+aid-full+atr-other"};
    static const char *const gids[] = {"gids", "gids+admin-counter", "gids+wrong-6a80",
                                       "gids+wrong-63cx", "gids+absent-6984"};
    for (int holds_new = 0; holds_new < 2; holds_new++) {
        for (size_t i = 0; i < sizeof(yk) / sizeof(yk[0]); i++)
            recover_on(yk[i], NULL,
                       "[Description]\nCardManagerKey=#" FACTORY_MGM "\nNewCardManagerKey=#" NEW_KEY
                       "\n",
                       CF_STEP_ROTATE_ADMIN_KEY, "mgm_key", NEW_KEY, holds_new);
        for (size_t i = 0; i < sizeof(gids) / sizeof(gids[0]); i++)
            recover_on(gids[i], "gemalto", ROTATION_JOB, CF_STEP_ROTATE_ADMIN_KEY, "admin_key",
                       NEW_KEY, holds_new);
    }
}

static void test_interrupted_puk_change_is_finished_on_every_variant(void **state)
{
    (void)state;
    static const char *const piv[] = {"piv", "piv+wrong-6982", "piv+no-verify-status",
                                      "piv+aid-full+atr-yubikey", "yubikey"};
    for (int holds_new = 0; holds_new < 2; holds_new++)
        for (size_t i = 0; i < sizeof(piv) / sizeof(piv[0]); i++)
            recover_on(piv[i], NULL,
                       "[Description]\nSetPIN=true\nPIN=#654321\nInitialPUK=#12345678\n"
                       "PUK=#87654321\n",
                       CF_STEP_CHANGE_PUK, "puk", hex_of("87654321"), holds_new);
}

/* The APDUs a production job costs, identification included: every guard
 * and proof kept, nothing asked twice (docs/performance.md). A change that
 * adds an APDU to every card must change this number on purpose. */
static unsigned apdus_of(const char *type, const char *factory, const char *desc)
{
    struct rig r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(cf_simcard_new(type, factory, 4242, &r.sc), CF_OK);
    assert_int_equal(cf_transport_open_sim(r.sc, "sim 0", &r.t), CF_OK);
    uint64_t a0 = cf_transport_apdu_count(r.t);
    char err[256] = "";
    assert_int_equal(cf_card_open(r.t, profiles, NULL, &r.card, err, sizeof(err)), CF_OK);
    rig_plan(&r, desc);
    cf_personalize_result_t res;
    assert_int_equal(cf_personalize(r.card, r.plan, r.values, 0, NULL, &res), CF_OK);
    expect_all_proven(&res);
    unsigned n = (unsigned)(cf_transport_apdu_count(r.t) - a0);
    rig_free(&r);
    return n;
}

static void test_apdus_per_job_are_fixed(void **state)
{
    (void)state;
    assert_int_equal(apdus_of("yubikey", NULL, PIV_JOB), 19);
    assert_int_equal(apdus_of("gids", "gemalto", GIDS_JOB), 21);
}

/* One typed value judged as the desk prompt needs it: the form every card
 * needs without a profile, the card type's policy with one; the reason
 * names the parameter and the rule and never holds the value. */
static void test_typed_value_is_checked_against_form_and_card_policy(void **state)
{
    (void)state;
    const cf_profile_t *piv = cf_profiles_find(profiles, "piv-yubikey");
    const cf_profile_t *gids = cf_profiles_find(profiles, "gids");
    const cf_profile_t *std = cf_profiles_find(profiles, "piv"); /* digits-only PUK */
    assert_non_null(std);
    assert_non_null(piv);
    assert_non_null(gids);
    struct {
        const cf_profile_t *p;
        cf_param_t param;
        const char *typed;
        cf_err_t want;
        const char *says; /* in the reason */
    } cases[] = {
        {piv, CF_PARAM_PIN, "135790", CF_OK, NULL},
        {piv, CF_PARAM_PIN, "13579", CF_ERR_POLICY,
         "PIN: must be 6 to 8 characters, got 5 characters (card type piv-yubikey)"},
        {NULL, CF_PARAM_PIN, "13579", CF_OK, NULL}, /* no card type: only the form */
        {NULL, CF_PARAM_PIN, "12345678901234567", CF_ERR_POLICY, "PIN: 17 characters"},
        {piv, CF_PARAM_INITIAL_PUK, "12345", CF_ERR_POLICY,
         "InitialPUK: must be 6 to 8 characters"},
        {std, CF_PARAM_PUK, "1234567x", CF_ERR_POLICY, "PUK: character 8 is not a digit"},
        {piv, CF_PARAM_PUK, "87654321", CF_OK, NULL},
        {gids, CF_PARAM_PUK, "87654321", CF_ERR_POLICY, "has no PUK"},
        {piv, CF_PARAM_NEW_CARD_MANAGER_KEY, NEW_KEY, CF_OK, NULL},
        {piv, CF_PARAM_NEW_CARD_MANAGER_KEY, "00112233", CF_ERR_POLICY,
         "NewCardManagerKey: a key must be 16, 24 or 32 bytes"},
        {piv, CF_PARAM_CARD_MANAGER_KEY, "zz112233445566778899AABBCCDDEEFF", CF_ERR_POLICY,
         "CardManagerKey: a key must be hex digits"},
        {gids, CF_PARAM_NEW_CARD_MANAGER_KEY, "00112233445566778899AABBCCDDEEFF", CF_ERR_POLICY,
         "card type gids takes no 16-byte key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cf_secret_t *v = cf_secret_new(cases[i].typed, strlen(cases[i].typed));
        char why[200] = "x";
        cf_err_t e = cf_personalize_check_typed(cases[i].p, cases[i].param, v, why, sizeof(why));
        if (e != cases[i].want)
            fail_msg("case %zu: %s (%s)", i, cf_strerror(e), why);
        if (cases[i].says != NULL && strstr(why, cases[i].says) == NULL)
            fail_msg("case %zu: reason '%s' lacks '%s'", i, why, cases[i].says);
        if (e != CF_OK)
            assert_null(strstr(why, cases[i].typed)); /* never the value */
        cf_secret_free(v);
    }
    assert_int_equal(cf_personalize_check_typed(piv, CF_PARAM_PIN, NULL, NULL, 0), CF_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_piv_job_sets_pin_by_puk_changes_puk_rotates_key_and_blocks, with_dir, without_dir),
        cmocka_unit_test_setup_teardown(
            test_gids_job_sets_pin_by_admin_rotates_proves_cr_key_and_blocks, with_dir,
            without_dir),
        cmocka_unit_test_setup_teardown(
            test_combinations_a_card_type_cannot_do_are_refused_before_any_change, with_dir,
            without_dir),
        cmocka_unit_test_setup_teardown(
            test_factory_key_as_new_key_and_policy_violations_are_refused, with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_factory_key_allowed_when_the_operator_says_so,
                                        with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_wrong_admin_key_never_spends_the_last_try, with_dir,
                                        without_dir),
        cmocka_unit_test_setup_teardown(
            test_intent_precedes_every_irreversible_step_and_its_failure_stops_the_run, with_dir,
            without_dir),
        cmocka_unit_test_setup_teardown(test_stop_request_ends_the_run_between_steps, with_dir,
                                        without_dir),
        cmocka_unit_test_setup_teardown(
            test_piv_job_pulled_at_every_apdu_reports_exactly_and_rerun_finishes, with_dir,
            without_dir),
        cmocka_unit_test_setup_teardown(
            test_gids_job_pulled_at_every_apdu_reports_exactly_and_rerun_finishes, with_dir,
            without_dir),
        cmocka_unit_test_setup_teardown(test_interrupted_rotation_recovery_spends_at_most_one_try,
                                        with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_unknown_counter_without_evidence_presents_one_key_only,
                                        with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_unknown_counter_recovery_presents_one_value_per_run,
                                        with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_unknown_counter_budget_across_runs_is_never_exceeded,
                                        with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_interrupted_rotation_is_finished_on_every_variant,
                                        with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_interrupted_puk_change_is_finished_on_every_variant,
                                        with_dir, without_dir),
        cmocka_unit_test_setup_teardown(test_apdus_per_job_are_fixed, with_dir, without_dir),
        cmocka_unit_test(test_typed_value_is_checked_against_form_and_card_policy),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
