/*
 * fuzz_desc.c - the encoding-description compiler on arbitrary bytes.
 *
 * Beyond not crashing: a successful compile yields a plan whose steps are
 * in the documented order and reference only parameters the plan has.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cardforge/plan.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_diag_list_t *d = cf_diag_list_new();
    cf_plan_t *p = NULL;
    cf_err_t e = cf_plan_compile_mem("fuzz.ini", (const char *)data, size, d, &p);
    if (e == CF_OK) {
        if (cf_diag_errors(d) != 0 || cf_plan_step_count(p) == 0)
            abort();
        int last = -1;
        for (size_t i = 0; i < cf_plan_step_count(p); i++) {
            const cf_step_t *s = cf_plan_step(p, i);
            if ((int)s->kind <= last)
                abort();
            last = (int)s->kind;
            if (s->credential != CF_PARAM_NONE &&
                cf_plan_source(p, s->credential) == CF_SOURCE_NONE)
                abort();
            if (s->new_value != CF_PARAM_NONE &&
                cf_plan_source(p, s->new_value) == CF_SOURCE_NONE)
                abort();
        }
        cf_card_values_t *v = NULL;
        if (cf_plan_resolve(p, NULL, NULL, NULL, NULL, "fuzz", 1, d, &v) == CF_OK)
            cf_card_values_free(v);
    } else if (p != NULL || cf_diag_errors(d) == 0) {
        abort();
    }
    cf_plan_free(p);
    cf_diag_list_free(d);
    return 0;
}
