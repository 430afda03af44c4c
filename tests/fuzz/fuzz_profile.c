/*
 * fuzz_profile.c - the YAML profile loader on arbitrary bytes.
 *
 * The input is one profile document, or two separated by a NUL byte: the
 * first is loaded as "base", the second as "child" (which may say
 * `extends: base`), so the merge is fuzzed too. Beyond not crashing: a
 * document that loads has no error diagnostics, one that does not has at
 * least one, and a loaded profile answers every query.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/card.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void query(const cf_profile_t *p)
{
    static const uint8_t key[32];
    cf_secret_t *k = cf_secret_new(key, 24), *pin = cf_secret_new("123456", 6);
    char why[128];
    cf_card_key_type_t t;
    if (k == NULL || pin == NULL)
        abort();
    (void)cf_profile_name(p);
    (void)cf_profile_family(p);
    (void)cf_profile_description(p);
    (void)cf_profile_pin_policy_text(p);
    for (int c = 0; c < CF_CRED_COUNT; c++) {
        (void)cf_profile_factory(p, (cf_cred_t)c);
        (void)cf_profile_check_policy(p, (cf_cred_t)c, c == CF_CRED_ADMIN ? k : pin, why,
                                      sizeof(why));
    }
    for (int c = 0; c <= CF_CAP_EXTERNAL_AUTH; c++)
        (void)cf_profile_can(p, (cf_card_cap_t)c);
    (void)cf_profile_admin_key_type(p, 24, &t);
    cf_secret_free(k);
    cf_secret_free(pin);
}

static void add(cf_profiles_t **set, const char *name, const uint8_t *data, size_t size)
{
    cf_diag_list_t *d = cf_diag_list_new();
    if (d == NULL)
        abort();
    size_t before = cf_profiles_count(*set);
    cf_err_t err = cf_profiles_add_mem(set, name, (const char *)data, size, d);
    if (err == CF_OK) {
        if (cf_diag_errors(d) != 0 || cf_profiles_count(*set) != before + 1)
            abort();
        query(cf_profiles_find(*set, name));
    } else if (err != CF_ERR_NOMEM &&
               (cf_diag_errors(d) == 0 || cf_profiles_count(*set) != before)) {
        abort();
    }
    cf_diag_list_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_profiles_t *set = NULL;
    const uint8_t *nul = memchr(data, 0, size);
    if (nul != NULL) {
        add(&set, "base", data, (size_t)(nul - data));
        add(&set, "child", nul + 1, size - (size_t)(nul - data) - 1);
    } else {
        add(&set, "fuzz", data, size);
    }
    cf_profiles_free(set);
    return 0;
}
