/*
 * check.c - can this plan run on this card type with these values?
 *
 * Everything here is decided from the profile and the values alone, before
 * the first APDU that could change the card: a bureau would rather have a
 * whole batch refused at the first card than a card half-done. The messages
 * name the step, its description line and the card type.
 */
#include <stdio.h>
#include <string.h>

#include "desc/desc_int.h"
#include "personalize/pers_int.h"

struct need {
    cf_card_cap_t cap;
    const char *why; /* what the card type lacks */
};

/* The capability each step needs (AUTH_ADMIN needs only an admin key,
 * which every profile has). */
static int step_need(cf_step_kind_t k, struct need *n)
{
    switch (k) {
    case CF_STEP_SET_PIN_BY_PUK:
        *n = (struct need){CF_CAP_PIN_BY_PUK, "has no PUK to set the PIN with"};
        return 1;
    case CF_STEP_CHANGE_PUK:
        *n = (struct need){CF_CAP_CHANGE_PUK, "has no PUK to change"};
        return 1;
    case CF_STEP_SET_PIN_BY_ADMIN:
        *n = (struct need){CF_CAP_PIN_BY_ADMIN,
                           "cannot set the PIN with its admin (management) key; use "
                           "InitialPUK"};
        return 1;
    case CF_STEP_ROTATE_ADMIN_KEY:
        *n = (struct need){CF_CAP_SET_ADMIN_KEY, "cannot replace its admin key"};
        return 1;
    case CF_STEP_INSTALL_CR_KEY:
        *n = (struct need){CF_CAP_EXTERNAL_AUTH,
                           "has no challenge-response unblock (its PIN is unblocked with "
                           "the PUK)"};
        return 1;
    case CF_STEP_WRITE_CHUID:
    case CF_STEP_WRITE_CCC:
        *n = (struct need){CF_CAP_ID_OBJECTS,
                           "keeps no PIV data objects to write under an admin key (CHUID and "
                           "CCC are PIV objects)"};
        return 1;
    default:
        return 0;
    }
}

static cf_err_t refuse(char *msg, size_t msglen, cf_err_t err, const cf_step_t *st,
                       const char *profile, const char *detail)
{
    if (msg != NULL && msglen > 0)
        snprintf(msg, msglen, "step %s (line %lu) refused on card type %s: %s",
                 cf_step_kind_name(st->kind), st->line, profile, detail);
    return err;
}

cf_err_t pers_check(const cf_card_t *card, const cf_plan_t *plan, const cf_card_values_t *values,
                    unsigned flags, char *msg, size_t msglen, size_t *refused_step)
{
    if (card == NULL || plan == NULL || values == NULL)
        return CF_ERR_ARG;
    if (msg != NULL && msglen > 0)
        msg[0] = 0;
    const cf_profile_t *pr = cf_card_profile(card);
    const char *pname = cf_profile_name(pr);
    size_t n = cf_plan_step_count(plan);
    if (n > CF_PERSONALIZE_MAX_STEPS)
        return CF_ERR_INTERNAL;

    for (size_t i = 0; i < n; i++) {
        const cf_step_t *st = cf_plan_step(plan, i);
        *refused_step = i;
        struct need nd;
        if (step_need(st->kind, &nd) && !cf_profile_can(pr, nd.cap))
            return refuse(msg, msglen, CF_ERR_REFUSED, st, pname, nd.why);
        char cwhy[160];
        if (st->kind == CF_STEP_ISSUE_CERT &&
            pers_check_issue_cert(card, plan, st, cwhy, sizeof(cwhy)) != 0)
            return refuse(msg, msglen, CF_ERR_REFUSED, st, pname, cwhy);

        /* A write under the admin key needs a key to authenticate with:
         * the description's, or the card type's factory key. */
        if ((st->kind == CF_STEP_WRITE_CHUID || st->kind == CF_STEP_WRITE_CCC) &&
            st->credential == CF_PARAM_NONE && cf_profile_factory(pr, CF_CRED_ADMIN) == NULL)
            return refuse(msg, msglen, CF_ERR_REFUSED, st, pname,
                          "no CardManagerKey is given and the card type names no factory "
                          "admin key to write with");

        /* Every value the step uses must be there (a prompt left
         * unanswered is the typical case). */
        cf_param_t used[2] = {st->credential, st->new_value};
        for (int u = 0; u < 2; u++) {
            if (used[u] == CF_PARAM_NONE)
                continue;
            const cf_secret_t *v = cf_card_values_get(values, used[u]);
            if (v == NULL) {
                char why[80];
                snprintf(why, sizeof(why), "%s has no value", cf_param_name(used[u]));
                return refuse(msg, msglen, CF_ERR_ARG, st, pname, why);
            }
            char why[160] = "";
            cf_err_t e = CF_OK;
            if (cf_param_is_key(used[u])) {
                cf_card_key_type_t kt;
                e = cf_profile_admin_key_type(pr, cf_secret_len(v), &kt);
                if (e != CF_OK)
                    snprintf(why, sizeof(why),
                             "%s: a %zu-byte key is not accepted by this "
                             "card type",
                             cf_param_name(used[u]), cf_secret_len(v));
            } else {
                cf_cred_t c = used[u] == CF_PARAM_PIN ? CF_CRED_PIN : CF_CRED_PUK;
                char pw[120] = "";
                e = cf_profile_check_policy(pr, c, v, pw, sizeof(pw));
                if (e != CF_OK)
                    snprintf(why, sizeof(why), "%s", pw); /* it names the credential */
            }
            if (e != CF_OK)
                return refuse(msg, msglen, CF_ERR_POLICY, st, pname, why);
        }

        /* A factory value as the NEW key or PUK leaves the card as open as
         * it came. */
        if (!(flags & CF_PERS_ALLOW_FACTORY_KEY) &&
            (st->new_value == CF_PARAM_NEW_CARD_MANAGER_KEY || st->new_value == CF_PARAM_PUK)) {
            cf_cred_t c = st->new_value == CF_PARAM_PUK ? CF_CRED_PUK : CF_CRED_ADMIN;
            const cf_secret_t *factory = cf_profile_factory(pr, c);
            const cf_secret_t *v = cf_card_values_get(values, st->new_value);
            if (factory != NULL && v != NULL && cf_secret_equal(factory, v)) {
                char why[160];
                snprintf(why, sizeof(why),
                         "%s is the card type's factory default, which would leave the card "
                         "as open as it came (allow it explicitly if really wanted)",
                         cf_param_name(st->new_value));
                return refuse(msg, msglen, CF_ERR_POLICY, st, pname, why);
            }
        }
    }
    return CF_OK;
}

cf_err_t cf_personalize_check(const cf_card_t *card, const cf_plan_t *plan,
                              const cf_card_values_t *values, unsigned flags, char *msg,
                              size_t msglen)
{
    size_t step;
    return pers_check(card, plan, values, flags, msg, msglen, &step);
}

cf_err_t cf_personalize_check_typed(const cf_profile_t *profile, cf_param_t p,
                                    const cf_secret_t *typed, char *why, size_t whylen)
{
    char dummy[8], msg[160];
    if (why == NULL || whylen == 0) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    why[0] = 0;
    if (typed == NULL || p >= CF_PARAM_COUNT)
        return CF_ERR_ARG;
    /* The card form first: a key is hex of 16, 24 or 32 bytes, a PIN or PUK
     * is 1 to CF_PIN_MAX_ANY characters, whatever the card. */
    cf_secret_t *value = NULL;
    if (cf_plan_check_value(p, cf_secret_str(typed), cf_secret_len(typed), &value, msg,
                            sizeof(msg)) != 0) {
        snprintf(why, whylen, "%s: %s", cf_param_name(p), msg);
        return CF_ERR_POLICY;
    }
    cf_err_t e = CF_OK;
    if (profile != NULL && cf_param_is_key(p)) {
        cf_card_key_type_t kt;
        if (cf_profile_admin_key_type(profile, cf_secret_len(value), &kt) != CF_OK) {
            snprintf(why, whylen, "%s: card type %s takes no %zu-byte key", cf_param_name(p),
                     cf_profile_name(profile), cf_secret_len(value));
            e = CF_ERR_POLICY;
        }
    } else if (profile != NULL) {
        cf_cred_t c = p == CF_PARAM_PIN ? CF_CRED_PIN : CF_CRED_PUK;
        char pw[160];
        e = cf_profile_check_policy(profile, c, value, pw, sizeof(pw));
        /* pw names the credential ("PUK: ..."); InitialPUK is said as such. */
        if (e != CF_OK && p == CF_PARAM_INITIAL_PUK && strncmp(pw, "PUK: ", 5) == 0)
            snprintf(why, whylen, "%s: %s", cf_param_name(p), pw + 5);
        else if (e != CF_OK)
            snprintf(why, whylen, "%s", pw);
    }
    cf_secret_free(value);
    return e;
}
