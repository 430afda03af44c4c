/*
 * history.c - the journal's memory of a card to the executor and back (see
 * history.h).
 */
#include <string.h>

#include "runner/history.h"

/* The journal's refused bits (1u << p) are the executor's CF_PARAM_BIT(p). */
_Static_assert(CF_PARAM_BIT(CF_PARAM_NEW_CARD_MANAGER_KEY) == 1u << CF_PARAM_NEW_CARD_MANAGER_KEY,
               "refused bits differ between the journal and the executor");

int cf_runner_step_kind(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return -1;
    /* cf_step_kind_name names every kind and says "unknown" past the last:
     * no second table to keep in step with plan.c. */
    for (int k = 0; k < 64; k++) {
        const char *n = cf_step_kind_name((cf_step_kind_t)k);
        if (strcmp(n, "unknown") == 0)
            break;
        if (strcmp(n, name) == 0)
            return k;
    }
    return -1;
}

void cf_runner_card_history(const cf_journal_state_t *st, const char *serial,
                            cf_card_history_t *out)
{
    cf_journal_history_t h;
    memset(out, 0, sizeof(*out));
    cf_journal_state_history(st, serial, &h);
    out->open_step = cf_runner_step_kind(h.open_step);
    out->spent[CF_CRED_PUK] = h.spent_puk;
    out->spent[CF_CRED_ADMIN] = h.spent_admin;
    out->refused = h.refused;
}

void cf_runner_record_spent(cf_journal_card_t *c, const cf_personalize_result_t *res)
{
    c->spent_puk = res->spent[CF_CRED_PUK];
    c->spent_admin = res->spent[CF_CRED_ADMIN];
    c->refused = res->refused & (CF_PARAM_BIT(CF_PARAM_COUNT) - 1u);
}
