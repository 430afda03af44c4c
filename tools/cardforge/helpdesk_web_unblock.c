/*
 * helpdesk_web_unblock.c - the response to a card's unblock challenge, from
 * the values the officer typed into the page.
 *
 * The same engine calls as `cardforge helpdesk response` (serial
 * normalisation, hex parsing, check values, derivation from the master key,
 * cf_keys_unblock_response), so the page and the command give the same
 * answers. Every check value must match before a key is touched: a
 * mismatch never yields a response. The reasons given back are fixed
 * sentences; nothing typed is echoed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "helpdesk_web.h"
#include "journal_key.h"

/* The master key for the card: as chosen, checked against the card's
 * journal record; a name alone takes the record's version, or the newest
 * when there is no record. NULL with why. */
static const cf_master_key_t *pick_key(const web_ctx_t *w, const char *sel, const char *serial,
                                       web_answer_t *a, const char **why, unsigned *http)
{
    char name[CF_KEYS_NAME_MAX + 1];
    unsigned version;
    if (web_key_choice(sel, name, &version) != 0) {
        *why = "no such master key in the key file";
        return NULL;
    }
    journal_key_t jk = {0};
    if (w->n_journals > 0) {
        char err[512];
        if (journal_key_find(w->journals, w->n_journals, serial, &jk, err, sizeof(err)) != CF_OK) {
            fprintf(stderr, "helpdesk: %s\n", err);
            *http = 503;
            *why = "the journal cannot be read: no response given";
            return NULL;
        }
    }
    if (jk.line != 0 && jk.unknown) {
        *why = "the card's journal record says its admin key change may not have finished: "
               "run its batch again before answering";
        return NULL;
    }
    if (jk.line != 0 && (strcmp(jk.key, name) != 0 || (version != 0 && version != jk.version))) {
        *why = "the card's journal record names another master key or version than the one "
               "chosen: choose that one";
        return NULL;
    }
    if (jk.line != 0)
        version = jk.version;
    const cf_master_key_t *mk = cf_keyfile_find(w->keys, name, version);
    if (mk == NULL) {
        *why = jk.line != 0 ? "the master key version the card's journal record names is not "
                              "in the key file"
                            : "no such master key in the key file";
        return NULL;
    }
    if (jk.line != 0) {
        char when[40];
        journal_key_time(jk.time, when, sizeof(when));
        snprintf(a->key_source, sizeof(a->key_source), "from the journal record of %s", when);
    } else {
        snprintf(a->key_source, sizeof(a->key_source), "%s",
                 strchr(sel, '/') != NULL ? "as chosen" : "version unknown: the newest is used");
    }
    return mk;
}

int web_unblock(const web_ctx_t *w, const web_form_t *f, web_answer_t *a, const char **why,
                unsigned *http)
{
    memset(a, 0, sizeof(*a));
    *http = 422;
    const char *serial = web_form_get(f, "serial"), *serial_cv = web_form_get(f, "serial_check");
    const char *ch = web_form_get(f, "challenge"), *ch_cv = web_form_get(f, "challenge_check");
    const char *key = web_form_get(f, "key");
    if (serial == NULL || serial_cv == NULL || ch == NULL || ch_cv == NULL || key == NULL) {
        *http = 400;
        *why = "the form is incomplete";
        return -1;
    }
    if (cf_keys_serial_normalize(serial, a->serial, sizeof(a->serial)) != CF_OK) {
        *why = "the serial must be 1 to 64 hex or decimal digits (spaces and dashes allowed)";
        return -1;
    }
    cf_err_t e = cf_keys_check_matches(serial, serial_cv);
    if (e == CF_ERR_PARSE) {
        *why = "a check value is two digits, 00 to 96";
        return -1;
    }
    if (e != CF_OK) {
        *why = "the serial's check value does not match: read the serial back to the holder "
               "and type it again";
        return -1;
    }
    uint8_t challenge[16];
    size_t chlen = 0;
    e = cf_keys_parse_hex(ch, challenge, sizeof(challenge), &chlen);
    if (e != CF_OK || (chlen != 8 && chlen != 16)) {
        *why = "the challenge must be 16 or 32 hex digits (spaces and dashes allowed)";
        return -1;
    }
    e = cf_keys_check_matches(ch, ch_cv);
    if (e == CF_ERR_PARSE) {
        *why = "a check value is two digits, 00 to 96";
        return -1;
    }
    if (e != CF_OK) {
        *why = "the challenge's check value does not match: read the challenge back to the "
               "holder and type it again";
        return -1;
    }
    const cf_master_key_t *mk = pick_key(w, key, a->serial, a, why, http);
    if (mk == NULL)
        return -1;
    cf_card_key_type_t type = chlen == 8 ? CF_CARD_KEY_3DES : CF_CARD_KEY_AES128;
    cf_secret_t *admin = NULL, *resp = NULL;
    e = cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, a->serial, type, &admin);
    if (e == CF_OK)
        e = cf_keys_unblock_response(admin, challenge, chlen, &resp);
    cf_secret_free(admin);
    if (e != CF_OK) {
        *http = 500;
        *why = "computing the response failed";
        return -1;
    }
    snprintf(a->key_name, sizeof(a->key_name), "%s", cf_master_key_name(mk));
    a->key_version = cf_master_key_version(mk);
    cf_keys_group(a->serial, a->serial_g, sizeof(a->serial_g));
    cf_keys_check_value(a->serial, a->serial_cv);
    cf_keys_group_bytes(challenge, chlen, a->challenge_g, sizeof(a->challenge_g));
    cf_keys_check_value_bytes(challenge, chlen, a->challenge_cv);
    cf_keys_group_bytes(cf_secret_data(resp), chlen, a->response_g, sizeof(a->response_g));
    cf_keys_check_value_bytes(cf_secret_data(resp), chlen, a->response_cv);
    cf_secret_free(resp);
    *http = 200;
    return 0;
}
