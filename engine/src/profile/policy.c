/*
 * policy.c - what a card type accepts and can do: PIN/PUK policies, admin
 * key types by length, factory values, capabilities.
 *
 * These are questions a caller asks of a profile before any card is
 * touched (the plan checker, the PIN tool), so they read only the compiled
 * profile. Reasons never quote the value they judge.
 */
#include <stdio.h>
#include <string.h>

#include "profile/profile_int.h"

const char *cf_cred_name(cf_cred_t c)
{
    switch (c) {
    case CF_CRED_PIN:
        return "PIN";
    case CF_CRED_PUK:
        return "PUK";
    case CF_CRED_ADMIN:
        return "admin key";
    default:
        return "?";
    }
}

const cf_prof_cred_t *cf_prof_cred(const cf_profile_t *p, cf_cred_t c)
{
    if (c == CF_CRED_PIN)
        return &p->pin;
    if (c == CF_CRED_PUK)
        return &p->puk;
    return NULL;
}

const cf_prof_counter_t *cf_prof_counter(const cf_profile_t *p, cf_cred_t c)
{
    if (c == CF_CRED_ADMIN)
        return &p->admin.tries;
    const cf_prof_cred_t *cr = cf_prof_cred(p, c);
    return cr ? &cr->tries : NULL;
}

int cf_prof_has_cred(const cf_profile_t *p, cf_cred_t c)
{
    switch (c) {
    case CF_CRED_PIN:
        return p->pin.present;
    case CF_CRED_PUK:
        return p->puk.present;
    case CF_CRED_ADMIN:
        return p->admin.present;
    default:
        return 0;
    }
}

const cf_prof_alg_t *cf_prof_alg_by_type(const cf_profile_t *p, cf_card_key_type_t type)
{
    for (size_t i = 0; i < p->admin.n_algs; i++)
        if (p->admin.algs[i].type == type)
            return &p->admin.algs[i];
    return NULL;
}

const cf_prof_alg_t *cf_prof_alg_by_id(const cf_profile_t *p, uint8_t id)
{
    for (size_t i = 0; i < p->admin.n_algs; i++)
        if (p->admin.algs[i].id == id)
            return &p->admin.algs[i];
    return NULL;
}

static int in_charset(cf_charset_t cs, uint8_t b)
{
    switch (cs) {
    case CF_CHARSET_DIGITS:
        return b >= '0' && b <= '9';
    case CF_CHARSET_ALNUM:
        return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
    case CF_CHARSET_ASCII:
        return b >= 0x20 && b <= 0x7e;
    default:
        return b != 0;
    }
}

static const char *charset_text(cf_charset_t cs)
{
    switch (cs) {
    case CF_CHARSET_DIGITS:
        return "digits";
    case CF_CHARSET_ALNUM:
        return "letters and digits";
    case CF_CHARSET_ASCII:
        return "printable ASCII";
    default:
        return "any byte";
    }
}

int cf_prof_policy_check(const cf_prof_cred_t *c, const uint8_t *value, size_t len, char *why,
                         size_t whylen)
{
    if (len < c->min_len || len > c->max_len) {
        /* Said as the rule and the count typed: "must be 6 to 8 digits,
         * got 5 characters" (the count is no secret worth keeping: the
         * person who typed it sees it is wrong anyway). */
        const char *unit = c->charset == CF_CHARSET_DIGITS ? "digits" : "characters";
        if (c->min_len == c->max_len)
            snprintf(why, whylen, "must be %zu %s, got %zu character%s", c->min_len, unit, len,
                     len == 1 ? "" : "s");
        else
            snprintf(why, whylen, "must be %zu to %zu %s, got %zu character%s", c->min_len,
                     c->max_len, unit, len, len == 1 ? "" : "s");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!in_charset(c->charset, value[i])) {
            snprintf(why, whylen, "character %zu is not %s", i + 1,
                     c->charset == CF_CHARSET_DIGITS  ? "a digit"
                     : c->charset == CF_CHARSET_ALNUM ? "a letter or digit"
                     : c->charset == CF_CHARSET_ASCII ? "printable ASCII"
                                                      : "allowed");
            return -2;
        }
        if (c->padded && value[i] == c->pad_byte) {
            snprintf(why, whylen, "character %zu is the padding byte %02X", i + 1, c->pad_byte);
            return -2;
        }
    }
    return 0;
}

void cf_prof_policy_text(const cf_prof_cred_t *c, char *out, size_t outlen)
{
    const char *unit = c->charset == CF_CHARSET_DIGITS ? "digits" : "characters";
    if (c->min_len == c->max_len)
        snprintf(out, outlen, "%zu %s", c->min_len, unit);
    else
        snprintf(out, outlen, "%zu-%zu %s", c->min_len, c->max_len, unit);
    size_t l = strlen(out);
    if (c->charset != CF_CHARSET_DIGITS)
        snprintf(out + l, outlen - l, ", %s", charset_text(c->charset));
}

int cf_profile_can(const cf_profile_t *p, cf_card_cap_t cap)
{
    if (p == NULL)
        return 0;
    switch (cap) {
    case CF_CAP_PUK:
        return p->puk.present;
    case CF_CAP_PIN_BY_PUK:
        return p->ops[CF_OP_UNBLOCK_PIN_BY_PUK].present;
    case CF_CAP_CHANGE_PUK:
        return p->ops[CF_OP_CHANGE_PUK].present;
    case CF_CAP_PIN_BY_ADMIN:
        return p->ops[CF_OP_UNBLOCK_PIN_BY_ADMIN].present;
    case CF_CAP_SET_ADMIN_KEY:
        return p->ops[CF_OP_SET_ADMIN_KEY].present;
    case CF_CAP_EXTERNAL_AUTH:
        return p->admin.external.present;
    case CF_CAP_ID_OBJECTS:
        /* the PIV `keys:` schemes write data objects under the 9B key */
        return p->keys == CF_KEYS_PIV || p->keys == CF_KEYS_PIV_YUBIKEY;
    default:
        return 0;
    }
}

const cf_secret_t *cf_profile_factory(const cf_profile_t *p, cf_cred_t c)
{
    if (p == NULL)
        return NULL;
    if (c == CF_CRED_ADMIN)
        return p->admin.present ? p->admin.factory : NULL;
    const cf_prof_cred_t *cr = cf_prof_cred(p, c);
    return cr && cr->present ? cr->factory : NULL;
}

cf_err_t cf_profile_admin_key_type(const cf_profile_t *p, size_t len, cf_card_key_type_t *out)
{
    if (p == NULL || out == NULL)
        return CF_ERR_ARG;
    /* The first algorithm of that key length in the profile's list is the
     * default for the length (a 24-byte PIV key is 3DES, not AES-192). */
    for (size_t i = 0; p->admin.present && i < p->admin.n_algs; i++) {
        if (cf_card_key_len(p->admin.algs[i].type) == len) {
            *out = p->admin.algs[i].type;
            return CF_OK;
        }
    }
    return CF_ERR_POLICY;
}

cf_err_t cf_profile_check_policy(const cf_profile_t *p, cf_cred_t c, const cf_secret_t *value,
                                 char *why, size_t whylen)
{
    char dummy[8];
    if (why == NULL || whylen == 0) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    why[0] = 0;
    if (p == NULL || value == NULL)
        return CF_ERR_ARG;
    if (!cf_prof_has_cred(p, c)) {
        snprintf(why, whylen, "card type %s has no %s", p->name, cf_cred_name(c));
        return CF_ERR_POLICY;
    }
    if (c == CF_CRED_ADMIN) {
        cf_card_key_type_t t;
        if (cf_profile_admin_key_type(p, cf_secret_len(value), &t) != CF_OK) {
            snprintf(why, whylen, "card type %s takes no admin key of %zu bytes", p->name,
                     cf_secret_len(value));
            return CF_ERR_POLICY;
        }
        return CF_OK;
    }
    char reason[96], text[96];
    const cf_prof_cred_t *cr = cf_prof_cred(p, c);
    int bad = cf_prof_policy_check(cr, cf_secret_data(value), cf_secret_len(value), reason,
                                   sizeof(reason));
    if (bad < 0) {
        /* A length reason says the rule itself; the whole policy is added
         * for a character the card type does not take. */
        cf_prof_policy_text(cr, text, sizeof(text));
        if (bad == -1)
            snprintf(why, whylen, "%s: %s (card type %s)", cf_cred_name(c), reason, p->name);
        else
            snprintf(why, whylen, "%s: %s (card type %s takes %s)", cf_cred_name(c), reason,
                     p->name, text);
        return CF_ERR_POLICY;
    }
    return CF_OK;
}

const char *cf_profile_pin_policy_text(const cf_profile_t *p)
{
    return p ? p->pin_policy_text : "";
}
