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
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "helpdesk_web.h"

/* "NAME/VERSION" of a key in the file, or NULL. */
static const cf_master_key_t *pick_key(const cf_keyfile_t *kf, const char *sel)
{
    const char *slash = sel != NULL ? strrchr(sel, '/') : NULL;
    if (slash == NULL || slash == sel || (size_t)(slash - sel) > CF_KEYS_NAME_MAX ||
        slash[1] < '1' || slash[1] > '9' || strlen(slash + 1) > 6)
        return NULL;
    char name[CF_KEYS_NAME_MAX + 1];
    memcpy(name, sel, (size_t)(slash - sel));
    name[slash - sel] = 0;
    char *end;
    unsigned long v = strtoul(slash + 1, &end, 10);
    if (*end != 0)
        return NULL;
    return cf_keyfile_find(kf, name, (unsigned)v);
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
    const cf_master_key_t *mk = pick_key(w->keys, key);
    if (mk == NULL) {
        *why = "no such master key in the key file";
        return -1;
    }
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
