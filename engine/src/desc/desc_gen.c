/*
 * desc_gen.c - "@derive:..." and "@random..." in encoding descriptions.
 *
 * The grammar is one word and up to three ':'-separated parts, because a
 * master key name cannot contain ':' (key-file names are A-Z a-z 0-9 _ . -):
 *
 *   @derive:MASTER[:VERSION[:FORM]]     @random[:FORM]
 *
 * FORM is a card key type for keys (3des, 3des2, aes128, aes192, aes256)
 * and a digit count for PINs and PUKs, so each part has one meaning and an
 * empty VERSION ("@derive:M::aes128") is the only shorthand. Messages never
 * echo the value beyond a master key name that has been validated: a value
 * typed in the wrong place may be a real PIN.
 *
 * The rules at the bottom are about values nobody will ever know. A random
 * PIN is a good thing when the card is blocked and has an unblock path (its
 * holder then chooses a PIN at pickup, and no PIN mailer is needed); the
 * same random PIN on a card that nobody can unblock is a card nobody can
 * use. Those are warnings, not errors, because a value could be recorded
 * elsewhere (a journal) and a bureau may want a card locked for good
 * (a random PUK is the usual way to disable a PIV PUK).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "desc/desc_gen.h"
#include "keys/keys_int.h"

#define MAX_PARTS 4 /* word + three parts; one more means "too many" */

struct part {
    const char *s;
    size_t n;
};

/* Split s at ':' into at most MAX_PARTS + 1 parts; returns how many there
 * are in all (possibly more than were stored). */
static size_t split_parts(const char *s, struct part *parts)
{
    size_t np = 0;
    for (;;) {
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        if (np <= MAX_PARTS)
            parts[np] = (struct part){s, n};
        np++;
        if (colon == NULL)
            return np;
        s = colon + 1;
    }
}

static int word_is(const struct part *w, const char *word)
{
    return w->n == strlen(word) && strncasecmp(w->s, word, w->n) == 0;
}

/* A whole number without sign or leading zero, lo..hi; -1 otherwise. */
static long parse_number(const struct part *pt, long lo, long hi)
{
    if (pt->n == 0 || pt->n > 6 || pt->s[0] == '0')
        return -1;
    long v = 0;
    for (size_t i = 0; i < pt->n; i++) {
        if (!isdigit((unsigned char)pt->s[i]))
            return -1;
        v = v * 10 + (pt->s[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

/* The FORM part for parameter p: a key type for keys, digits otherwise. */
static int parse_form(cf_param_t p, const struct part *pt, struct plan_param *pp, char *msg,
                      size_t msglen)
{
    if (cf_param_is_key(p)) {
        char lower[8];
        cf_card_key_type_t t;
        if (pt->n > 0 && pt->n < sizeof(lower)) {
            for (size_t i = 0; i < pt->n; i++)
                lower[i] = (char)tolower((unsigned char)pt->s[i]);
            lower[pt->n] = 0;
            if (cf_card_key_type_parse(lower, &t) == CF_OK) {
                pp->key_type = t;
                return 0;
            }
        }
        snprintf(msg, msglen, "%s: the key type must be 3des, 3des2, aes128, aes192 or aes256",
                 cf_param_name(p));
        return -1;
    }
    long d = parse_number(pt, CF_GEN_DIGITS_MIN, CF_GEN_DIGITS_MAX);
    if (d < 0) {
        snprintf(msg, msglen, "%s: the number of digits must be a whole number from %d to %d",
                 cf_param_name(p), CF_GEN_DIGITS_MIN, CF_GEN_DIGITS_MAX);
        return -1;
    }
    pp->digits = (size_t)d;
    return 0;
}

/* The forms parameter p accepts, for messages. */
static const char *forms_of(cf_param_t p)
{
    switch (p) {
    case CF_PARAM_CARD_MANAGER_KEY:
        return "@derive:MASTER[:VERSION[:TYPE]]";
    case CF_PARAM_INITIAL_PUK:
        return "@derive:MASTER[:VERSION[:DIGITS]]";
    case CF_PARAM_NEW_CARD_MANAGER_KEY:
        return "@derive:MASTER[:VERSION[:TYPE]] or @random[:TYPE]";
    default:
        return "@derive:MASTER[:VERSION[:DIGITS]] or @random[:DIGITS]";
    }
}

static int parse_derive(cf_param_t p, const struct part *parts, size_t np, struct plan_param *pp,
                        char *msg, size_t msglen)
{
    const char *pn = cf_param_name(p);
    if (np < 2 || parts[1].n == 0) {
        snprintf(msg, msglen, "%s: @derive needs a master key name: %s", pn, forms_of(p));
        return -1;
    }
    if (np > MAX_PARTS) {
        snprintf(msg, msglen, "%s: too many ':' parts; write %s", pn, forms_of(p));
        return -1;
    }
    if (!cf_keys_name_valid(parts[1].s, parts[1].n)) {
        snprintf(msg, msglen,
                 "%s: a master key name is 1 to %d characters of A-Z a-z 0-9 _ . - (as in "
                 "the key file)",
                 pn, CF_KEYS_NAME_MAX);
        return -1;
    }
    if (np >= 3 && parts[2].n > 0) {
        long v = parse_number(&parts[2], 1, CF_KEYS_VERSION_MAX);
        if (v < 0) {
            snprintf(msg, msglen,
                     "%s: the master key version must be a whole number from 1 to %u, or "
                     "empty for the newest",
                     pn, CF_KEYS_VERSION_MAX);
            return -1;
        }
        pp->version = (unsigned)v;
    }
    if (np == 4 && parse_form(p, &parts[3], pp, msg, msglen) != 0)
        return -1;
    pp->master = strndup(parts[1].s, parts[1].n);
    if (pp->master == NULL)
        return -2;
    pp->src = CF_SOURCE_DERIVED;
    return 0;
}

static int parse_random(cf_param_t p, const struct part *parts, size_t np, struct plan_param *pp,
                        char *msg, size_t msglen)
{
    const char *pn = cf_param_name(p);
    if (p == CF_PARAM_CARD_MANAGER_KEY || p == CF_PARAM_INITIAL_PUK) {
        snprintf(msg, msglen,
                 "%s cannot be @random: it is the %s on the card now, which must be known "
                 "(use %s, #literal, a field or a prompt)",
                 pn, p == CF_PARAM_INITIAL_PUK ? "PUK" : "card manager key", forms_of(p));
        return -1;
    }
    if (np > 2) {
        snprintf(msg, msglen, "%s: too many ':' parts; write %s", pn, forms_of(p));
        return -1;
    }
    if (np == 2 && parse_form(p, &parts[1], pp, msg, msglen) != 0)
        return -1;
    pp->src = CF_SOURCE_RANDOM;
    return 0;
}

int cf_desc_parse_generated(cf_param_t p, const char *v, struct plan_param *pp, char *msg,
                            size_t msglen)
{
    struct part parts[MAX_PARTS + 1];
    msg[0] = 0;
    pp->key_type = CF_CARD_KEY_3DES;
    pp->digits = cf_param_is_key(p) ? 0 : p == CF_PARAM_PIN ? CF_GEN_PIN_DIGITS : CF_GEN_PUK_DIGITS;
    pp->version = 0;
    size_t np = split_parts(v + 1, parts);
    int r;
    if (word_is(&parts[0], "derive")) {
        r = parse_derive(p, parts, np, pp, msg, msglen);
    } else if (word_is(&parts[0], "random")) {
        r = parse_random(p, parts, np, pp, msg, msglen);
    } else {
        snprintf(msg, msglen, "%s: a value starting with @ must be %s", cf_param_name(p),
                 forms_of(p));
        r = -1;
    }
    if (r != 0)
        pp->src = CF_SOURCE_NONE;
    return r;
}

int cf_desc_looks_generated(const char *text, size_t len)
{
    static const char *const words[] = {"@derive", "@random"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        if (len >= n && strncasecmp(text, words[i], n) == 0 && (len == n || text[n] == ':'))
            return 1;
    }
    return 0;
}

/* 1 when a and b are derived the same way, so that they are equal on every
 * card whatever the key file holds. */
static int same_derivation(const struct plan_param *a, const struct plan_param *b)
{
    return a->src == CF_SOURCE_DERIVED && b->src == CF_SOURCE_DERIVED && a->master && b->master &&
           strcmp(a->master, b->master) == 0 && a->version == b->version &&
           a->key_type == b->key_type && a->digits == b->digits;
}

void cf_desc_generated_rules(const cf_plan_t *plan, int initcr, unsigned long block_line,
                             const char *file, cf_diag_list_t *diags)
{
    const struct plan_param *P = plan->params;
    const struct plan_param *pin = &P[CF_PARAM_PIN], *ipuk = &P[CF_PARAM_INITIAL_PUK],
                            *puk = &P[CF_PARAM_PUK], *cmk = &P[CF_PARAM_CARD_MANAGER_KEY],
                            *ncmk = &P[CF_PARAM_NEW_CARD_MANAGER_KEY];
    /* What the card ends with that somebody knows (or can recompute). */
    int puk_known = puk->line != 0 ? puk->src != CF_SOURCE_RANDOM : ipuk->line != 0;
    int admin_known = cmk->line != 0 && ncmk->src != CF_SOURCE_RANDOM;

    if (pin->src == CF_SOURCE_RANDOM) {
        if (!puk_known && !admin_known)
            cf_diag_add(diags, CF_SEV_WARNING, file, pin->line,
                        "PIN=@random: nobody will ever know this PIN, and no PUK or card "
                        "manager key that anybody knows could set a new one: the card's PIN "
                        "can never be used");
        else if (block_line == 0)
            cf_diag_add(diags, CF_SEV_WARNING, file, pin->line,
                        "PIN=@random without BlockCard=true: nobody knows this PIN, so the "
                        "card is of use only once its holder sets a new one with %s; block "
                        "the PIN (BlockCard=true) so that the card itself sends its holder "
                        "there",
                        puk_known ? "the PUK" : "the card manager key (the helpdesk)");
    }
    if (puk->src == CF_SOURCE_RANDOM && !admin_known)
        cf_diag_add(diags, CF_SEV_WARNING, file, puk->line,
                    "PUK=@random: nobody will ever know the new PUK and no card manager key "
                    "is known: %s",
                    block_line != 0 ? "the PIN is blocked and nothing can ever unblock it"
                                    : "once the PIN is blocked, nothing can unblock it");
    if (ncmk->src == CF_SOURCE_RANDOM)
        cf_diag_add(diags, CF_SEV_WARNING, file, ncmk->line,
                    "NewCardManagerKey=@random: nobody will ever know the card's new admin "
                    "key, %s, and a card cut off during its rotation can never be finished "
                    "(the key drawn for it is gone with that attempt); use @derive to be able "
                    "to recompute it",
                    initcr ? "so nobody can answer its unblock challenge (InitCRKey)"
                           : "so it can never be used again");

    if (same_derivation(cmk, ncmk))
        cf_diag_add(diags, CF_SEV_WARNING, file, ncmk->line,
                    "NewCardManagerKey is derived exactly like CardManagerKey (same master "
                    "key, version and type): the rotation changes nothing (to move cards to "
                    "a newer master key, give CardManagerKey the old version: "
                    "@derive:%s:<old version>)",
                    cmk->master);
    if (same_derivation(ipuk, puk))
        cf_diag_add(diags, CF_SEV_WARNING, file, puk->line,
                    "PUK is derived exactly like InitialPUK (same master key, version and "
                    "digits): the PUK change changes nothing");
}
