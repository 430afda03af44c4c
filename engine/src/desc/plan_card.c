/*
 * plan_card.c - the per-card stage: derived and random values.
 *
 * cf_plan_resolve() runs before a card is touched (a batch record, the
 * operator's answers); the values here can only be made once the card is
 * open, because derivation needs its serial, and should only be made then,
 * because a random value made earlier would sit in memory for nothing.
 * Everything is computed into a scratch set first and swapped in at the
 * end, so a failure (a master key missing, an unusable serial) leaves the
 * caller's values as they were and no half-filled set can reach a card.
 *
 * Messages name the master key and version, and the description line that
 * asked for it; key material never appears in them.
 */
#include <stdio.h>
#include <string.h>

#include "desc/desc_int.h"

/* The derivation purpose of a parameter: its KDF label. */
static cf_key_purpose_t purpose_of(cf_param_t p)
{
    switch (p) {
    case CF_PARAM_PIN:
        return CF_KEY_PURPOSE_PIN;
    case CF_PARAM_INITIAL_PUK:
    case CF_PARAM_PUK:
        return CF_KEY_PURPOSE_PUK;
    default:
        return CF_KEY_PURPOSE_ADMIN;
    }
}

/* The master key for a derived parameter, or NULL with an error in diags. */
static const cf_master_key_t *find_master(const cf_plan_t *plan, cf_param_t p,
                                          const cf_keyfile_t *keys, cf_diag_list_t *diags)
{
    const struct plan_param *pp = &plan->params[p];
    const cf_master_key_t *mk = cf_keyfile_find(keys, pp->master, pp->version);
    if (mk != NULL)
        return mk;
    const cf_master_key_t *newest = cf_keyfile_find(keys, pp->master, 0);
    if (newest != NULL)
        cf_diag_add(diags, CF_SEV_ERROR, plan->name, pp->line,
                    "%s: the key file has master key %s, but not version %u (newest: %u)",
                    cf_param_name(p), pp->master, pp->version, cf_master_key_version(newest));
    else
        cf_diag_add(diags, CF_SEV_ERROR, plan->name, pp->line,
                    "%s: master key %s is not in the key file", cf_param_name(p), pp->master);
    return NULL;
}

/* Warn when the key file makes a change a no-op that the description does
 * not spell as one (the compiler already warned about the spelled ones). */
static void warn_same_key(const cf_plan_t *plan, cf_param_t a, cf_param_t b,
                          const cf_master_key_t *mka, const cf_master_key_t *mkb,
                          cf_diag_list_t *diags)
{
    const struct plan_param *pa = &plan->params[a], *pb = &plan->params[b];
    if (mka == NULL || mka != mkb || pa->version == pb->version || pa->key_type != pb->key_type ||
        pa->digits != pb->digits)
        return;
    cf_diag_add(diags, CF_SEV_WARNING, plan->name, pb->line,
                "%s and %s both derive from master key %s version %u: they are equal on "
                "every card, so the change does nothing",
                cf_param_name(a), cf_param_name(b), cf_master_key_name(mka),
                cf_master_key_version(mka));
}

cf_err_t cf_plan_check_keyfile(const cf_plan_t *plan, const cf_keyfile_t *keys,
                               cf_diag_list_t *diags)
{
    if (plan == NULL)
        return CF_ERR_ARG;
    if (!cf_plan_needs_keyfile(plan))
        return CF_OK;
    if (keys == NULL)
        return CF_ERR_ARG;
    const cf_master_key_t *mk[CF_PARAM_COUNT] = {0};
    cf_err_t err = CF_OK;
    for (int i = 0; i < CF_PARAM_COUNT; i++) {
        cf_param_t p = (cf_param_t)i;
        if (plan->params[p].src != CF_SOURCE_DERIVED)
            continue;
        mk[p] = find_master(plan, p, keys, diags);
        if (mk[p] == NULL)
            err = CF_ERR_NOT_FOUND;
    }
    warn_same_key(plan, CF_PARAM_CARD_MANAGER_KEY, CF_PARAM_NEW_CARD_MANAGER_KEY,
                  mk[CF_PARAM_CARD_MANAGER_KEY], mk[CF_PARAM_NEW_CARD_MANAGER_KEY], diags);
    warn_same_key(plan, CF_PARAM_INITIAL_PUK, CF_PARAM_PUK, mk[CF_PARAM_INITIAL_PUK],
                  mk[CF_PARAM_PUK], diags);
    return err;
}

cf_err_t cf_plan_load_keyfile(const cf_plan_t *plan, const char *path, cf_diag_list_t *diags,
                              cf_keyfile_t **out)
{
    if (plan == NULL || out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (!cf_plan_needs_keyfile(plan)) {
        if (path != NULL)
            cf_diag_add(diags, CF_SEV_WARNING, path, 0,
                        "the description derives nothing; the key file is not used");
        return CF_OK;
    }
    if (path == NULL) {
        char names[256] = "";
        size_t n = 0;
        for (int i = 0; i < CF_PARAM_COUNT; i++) {
            const struct plan_param *pp = &plan->params[i];
            if (pp->src == CF_SOURCE_DERIVED && n < sizeof(names))
                n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s (%s)", n ? ", " : "",
                                      pp->master, cf_param_name((cf_param_t)i));
        }
        cf_diag_add(diags, CF_SEV_ERROR, plan->name, 0,
                    "the description derives values from master keys: %s; give the key file "
                    "with --keyfile FILE",
                    names);
        return CF_ERR_INVALID;
    }
    char err[CF_KEYS_ERRLEN];
    cf_err_t e = cf_keyfile_load(path, out, err, sizeof(err));
    for (size_t i = 0; i < cf_keyfile_warning_count(*out); i++)
        cf_diag_add(diags, CF_SEV_WARNING, path, 0, "%s", cf_keyfile_warning(*out, i));
    if (e != CF_OK) {
        cf_diag_add(diags, CF_SEV_ERROR, path, 0, "%s", err[0] ? err : cf_strerror(e));
        return e;
    }
    if (cf_plan_check_keyfile(plan, *out, diags) != CF_OK) {
        cf_keyfile_free(*out);
        *out = NULL;
        return CF_ERR_INVALID;
    }
    return CF_OK;
}

/* Make the value of one derived or random parameter. */
static cf_err_t make_value(const cf_plan_t *plan, cf_param_t p, const char *serial,
                           const cf_keyfile_t *keys, cf_diag_list_t *diags, cf_secret_t **out,
                           unsigned *version)
{
    const struct plan_param *pp = &plan->params[p];
    cf_err_t e;
    if (pp->src == CF_SOURCE_RANDOM) {
        e = cf_param_is_key(p) ? cf_keys_random_key(pp->key_type, out)
                               : cf_keys_random_pin(pp->digits, CF_KEYS_DIGITS, out);
    } else {
        const cf_master_key_t *mk = find_master(plan, p, keys, diags);
        if (mk == NULL)
            return CF_ERR_NOT_FOUND;
        *version = cf_master_key_version(mk);
        e = cf_param_is_key(p) ? cf_keys_derive(mk, purpose_of(p), serial, pp->key_type, out)
                               : cf_keys_derive_digits(mk, purpose_of(p), serial, pp->digits, out);
    }
    if (e != CF_OK)
        cf_diag_add(diags, CF_SEV_ERROR, plan->name, pp->line, "%s: cannot make the %s value: %s",
                    cf_param_name(p), pp->src == CF_SOURCE_RANDOM ? "random" : "derived",
                    cf_strerror(e));
    return e;
}

cf_err_t cf_plan_resolve_card(const cf_plan_t *plan, cf_card_values_t *values, const char *serial,
                              const cf_keyfile_t *keys, cf_diag_list_t *diags)
{
    if (plan == NULL || values == NULL)
        return CF_ERR_ARG;
    if (!cf_plan_needs_card_stage(plan))
        return CF_OK;
    char norm[CF_KEYS_SERIAL_MAX + 1] = "";
    if (cf_plan_needs_keyfile(plan)) {
        cf_param_t first = CF_PARAM_NONE;
        for (int i = CF_PARAM_COUNT - 1; i >= 0; i--)
            if (plan->params[i].src == CF_SOURCE_DERIVED)
                first = (cf_param_t)i;
        unsigned long line = plan->params[first].line;
        if (keys == NULL) {
            cf_diag_add(diags, CF_SEV_ERROR, plan->name, line,
                        "%s is derived from master key %s: a key file is needed",
                        cf_param_name(first), plan->params[first].master);
            return CF_ERR_ARG;
        }
        /* The serial comes from the card: printing it is fine, and it is
         * what a person needs to see to understand the refusal. */
        if (serial == NULL || cf_keys_serial_normalize(serial, norm, sizeof(norm)) != CF_OK) {
            cf_diag_add(diags, CF_SEV_ERROR, plan->name, line,
                        "%s: the card serial '%.80s' cannot be used for key derivation (1 to "
                        "%d hex digits; spaces and dashes are ignored)",
                        cf_param_name(first), serial ? serial : "", CF_KEYS_SERIAL_MAX);
            return CF_ERR_PARSE;
        }
    }

    cf_secret_t *made[CF_PARAM_COUNT] = {0};
    unsigned versions[CF_PARAM_COUNT] = {0};
    cf_err_t err = CF_OK;
    for (int i = 0; i < CF_PARAM_COUNT; i++) {
        cf_param_t p = (cf_param_t)i;
        cf_source_t src = plan->params[p].src;
        if (src != CF_SOURCE_DERIVED && src != CF_SOURCE_RANDOM)
            continue;
        cf_err_t e = make_value(plan, p, norm, keys, diags, &made[p], &versions[p]);
        if (e != CF_OK && err == CF_OK)
            err = e; /* keep going: report every missing master key at once */
    }
    for (int i = 0; i < CF_PARAM_COUNT; i++) {
        cf_source_t src = plan->params[i].src;
        if (src != CF_SOURCE_DERIVED && src != CF_SOURCE_RANDOM)
            continue;
        if (err != CF_OK) {
            cf_secret_free(made[i]);
            continue;
        }
        struct value_origin *o = &values->origin[i];
        cf_secret_free(values->v[i]);
        values->v[i] = made[i];
        o->src = src;
        o->version = versions[i];
        if (src == CF_SOURCE_DERIVED)
            snprintf(o->master, sizeof(o->master), "%s", plan->params[i].master);
    }
    return err;
}
