/*
 * fuzz_desc.c - the encoding-description compiler on arbitrary bytes.
 *
 * Beyond not crashing: a successful compile yields a plan whose steps are
 * in the documented order and reference only parameters the plan has; its
 * derived and random values, made for a card against a fixed key file, are
 * all there, of the form the plan says, with the origin the plan says.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <string.h>

#include <cardforge/keys.h>
#include <cardforge/plan.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names the seeds use: "m" in two versions, "bureau-admin" in one. */
static const cf_keyfile_t *test_keys(void)
{
    static cf_keyfile_t *kf;
    static const char text[] = "m 1 aes128 000102030405060708090A0B0C0D0E0F\n"
                               "m 2 aes256 000102030405060708090A0B0C0D0E0F"
                               "101112131415161718191A1B1C1D1E1F\n"
                               "bureau-admin 1 aes128 00112233445566778899AABBCCDDEEFF\n";
    if (kf == NULL && cf_keyfile_parse("fuzz.keys", text, strlen(text), &kf, NULL, 0) != CF_OK)
        abort();
    return kf;
}

/* The card stage on a compiled plan, and what it must guarantee. */
static void check_card_stage(const cf_plan_t *p, cf_card_values_t *v, cf_diag_list_t *d)
{
    const cf_keyfile_t *kf = test_keys();
    cf_err_t kc = cf_plan_check_keyfile(p, kf, d);
    cf_err_t e = cf_plan_resolve_card(p, v, "12345678", kf, d);
    if ((kc == CF_OK) != (e == CF_OK) && e != CF_ERR_NOMEM)
        abort(); /* the key-file check and the card stage disagree */
    if (e != CF_OK)
        return;
    for (int i = 0; i < CF_PARAM_COUNT; i++) {
        cf_param_t q = (cf_param_t)i;
        cf_source_t src = cf_plan_source(p, q);
        const char *master = NULL;
        unsigned version = 0;
        if (cf_card_values_origin(v, q, &master, &version) != src)
            abort();
        if (src != CF_SOURCE_DERIVED && src != CF_SOURCE_RANDOM)
            continue;
        const cf_secret_t *val = cf_card_values_get(v, q);
        if (val == NULL)
            abort();
        size_t want = cf_param_is_key(q) ? cf_card_key_len(cf_plan_param_key_type(p, q))
                                         : cf_plan_param_digits(p, q);
        if (cf_secret_len(val) != want)
            abort();
        if (src == CF_SOURCE_DERIVED &&
            (master == NULL || strcmp(master, cf_plan_param_master(p, q)) != 0 || version == 0))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_diag_list_t *d = cf_diag_list_new();
    cf_plan_t *p = NULL;
    cf_err_t e = cf_plan_compile_mem("fuzz.ini", (const char *)data, size, d, &p);
    if (e == CF_OK) {
        if (cf_diag_errors(d) != 0 || cf_plan_step_count(p) == 0)
            abort();
        /* The fixed order (docs/encoding-description.md); the kinds added
         * later are numbered after block-pin but run before it, and
         * issue-certificate once per section. */
        static const cf_step_kind_t order[] = {CF_STEP_AUTH_ADMIN,       CF_STEP_SET_PIN_BY_PUK,
                                               CF_STEP_CHANGE_PUK,       CF_STEP_SET_PIN_BY_ADMIN,
                                               CF_STEP_ROTATE_ADMIN_KEY, CF_STEP_INSTALL_CR_KEY,
                                               CF_STEP_WRITE_CHUID,      CF_STEP_WRITE_CCC,
                                               CF_STEP_ISSUE_CERT,       CF_STEP_BLOCK_PIN};
        int last = -1;
        for (size_t i = 0; i < cf_plan_step_count(p); i++) {
            const cf_step_t *s = cf_plan_step(p, i);
            int rank = -1;
            for (int k = 0; k < (int)(sizeof(order) / sizeof(order[0])); k++)
                if (order[k] == s->kind)
                    rank = k;
            if (rank < 0 || rank < last || (rank == last && s->kind != CF_STEP_ISSUE_CERT))
                abort();
            if (s->kind == CF_STEP_ISSUE_CERT && s->cert >= cf_plan_cert_count(p))
                abort();
            last = rank;
            if (s->credential != CF_PARAM_NONE &&
                cf_plan_source(p, s->credential) == CF_SOURCE_NONE)
                abort();
            if (s->new_value != CF_PARAM_NONE && cf_plan_source(p, s->new_value) == CF_SOURCE_NONE)
                abort();
        }
        cf_card_values_t *v = NULL;
        if (cf_plan_resolve(p, NULL, NULL, NULL, NULL, "fuzz", 1, d, &v) == CF_OK) {
            check_card_stage(p, v, d);
            cf_card_values_free(v);
        }
    } else if (p != NULL || cf_diag_errors(d) == 0) {
        abort();
    }
    cf_plan_free(p);
    cf_diag_list_free(d);
    return 0;
}
