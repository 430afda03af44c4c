/*
 * pin_status.c - `cardforge pin status`: what a card says about itself and
 * its retry counters, for a person (aligned lines) or a program (--json).
 * Reads only: every counter is read the way the profile reads it, which
 * never spends a try.
 */
#include <stdio.h>

#include <cardforge/card.h>

#include "commands.h"
#include "out.h"
#include "pin_status.h"

#define CMD "cardforge pin"

/* One counter for --json: "left" and "max" are numbers only when the card
 * told them; otherwise null, with the reason in "note". */
static void json_counter(FILE *f, const char *key, cf_card_t *card, cf_cred_t c)
{
    cf_tries_t t;
    cf_err_t e = cf_card_tries(card, c, &t);
    char text[96] = "";
    const char *state = "unknown";
    int known = 0;
    if (e == CF_ERR_UNSUPPORTED) {
        state = "absent";
        snprintf(text, sizeof(text), "the card type has no %s", cf_cred_name(c));
    } else if (e != CF_OK) {
        snprintf(text, sizeof(text), "cannot be read (%s)", cf_strerror(e));
    } else {
        desk_tries_text(&t, text, sizeof(text));
        if (t.kind == CF_TRIES_UNLIMITED) {
            state = "unlimited";
        } else if (t.kind == CF_TRIES_KNOWN) {
            known = 1;
            state = t.left == 0 ? "blocked" : "known";
        }
    }
    out_json_key(f, key);
    fputc('{', f);
    out_json_key(f, "state");
    out_json_string(f, state);
    if (known)
        fprintf(f, ",\"left\":%u", t.left);
    else
        fputs(",\"left\":null", f);
    if (known && t.max != 0)
        fprintf(f, ",\"max\":%u", t.max);
    else
        fputs(",\"max\":null", f);
    fputc(',', f);
    out_json_key(f, "note");
    /* A complete answer needs no note. */
    out_json_string_or_null(f, known && t.max != 0 ? NULL
                               : known             ? "the card does not say its maximum"
                                                   : text);
    fputc('}', f);
}

static void pin_status_json(FILE *f, const void *ctx)
{
    const struct desk_card *dc = ctx;
    const cf_profile_t *p = cf_card_profile(dc->card);
    fputc('{', f);
    out_json_key(f, "card_type");
    out_json_string(f, cf_profile_name(p));
    out_json_member(f, "description", cf_profile_description(p));
    out_json_member(f, "serial", cf_card_serial(dc->card));
    fputc(',', f);
    out_json_key(f, "version");
    out_json_string_or_null(f, cf_card_version(dc->card));
    out_json_member(f, "reader", cf_transport_reader(dc->t));
    fputc(',', f);
    out_json_key(f, "tries");
    fputc('{', f);
    json_counter(f, "pin", dc->card, CF_CRED_PIN);
    fputc(',', f);
    json_counter(f, "puk", dc->card, CF_CRED_PUK);
    fputc(',', f);
    json_counter(f, "admin_key", dc->card, CF_CRED_ADMIN);
    fputs("},", f);
    out_json_key(f, "pin_policy");
    out_json_string(f, cf_profile_pin_policy_text(p));
    out_json_member(f, "offline_unblock",
                    cf_profile_can(p, CF_CAP_EXTERNAL_AUTH) ? "challenge-response"
                    : cf_profile_can(p, CF_CAP_PIN_BY_PUK)  ? "puk"
                                                            : "none");
    fputc('}', f);
}

static void print_tries(const char *label, cf_card_t *card, cf_cred_t c)
{
    cf_tries_t t;
    cf_err_t e = cf_card_tries(card, c, &t);
    if (e == CF_ERR_UNSUPPORTED)
        return; /* the card type has no such credential */
    printf("%-18s", label);
    if (e != CF_OK) {
        printf("cannot be read (%s)\n", cf_strerror(e));
        return;
    }
    char text[96];
    desk_tries_text(&t, text, sizeof(text));
    printf("%s\n", text);
}

int pin_status(struct desk_card *dc, int json)
{
    if (json) {
        return out_doc_write(CMD, pin_status_json, dc) ? CF_EXIT_FAIL : CF_EXIT_OK;
    }
    const cf_profile_t *p = cf_card_profile(dc->card);
    printf("%-18s%s (%s)\n", "card type", cf_profile_name(p), cf_profile_description(p));
    printf("%-18s%s\n", "serial", cf_card_serial(dc->card));
    if (cf_card_version(dc->card)[0])
        printf("%-18s%s\n", "version", cf_card_version(dc->card));
    printf("%-18s%s\n", "reader", cf_transport_reader(dc->t));
    print_tries("PIN tries left", dc->card, CF_CRED_PIN);
    print_tries("PUK tries left", dc->card, CF_CRED_PUK);
    print_tries("admin key tries", dc->card, CF_CRED_ADMIN);
    printf("%-18s%s\n", "PIN policy", cf_profile_pin_policy_text(p));
    printf("%-18s%s\n", "offline unblock",
           cf_profile_can(p, CF_CAP_EXTERNAL_AUTH) ? "challenge-response (pin unblock --challenge)"
           : cf_profile_can(p, CF_CAP_PIN_BY_PUK)  ? "with the PUK (pin unblock)"
                                                   : "none");
    return CF_EXIT_OK;
}
