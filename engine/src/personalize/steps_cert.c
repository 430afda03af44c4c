/*
 * steps_cert.c - the issue-certificate step: a key pair generated on the
 * card, a request signed by the card, a certificate from the section's CA
 * written back and proven (cf_issue_run does the card work, issue.h).
 *
 * The CA is opened for the step, so a CA key file that changed mode or a
 * command that was removed is reported on the card it affects, before the
 * intent is recorded and before anything is sent. The result says exactly
 * where the card stands whatever happened (cf_step_result_t.issue): a CA
 * that refuses, hangs or answers garbage leaves "key generated, no
 * certificate", which the journal records as such.
 */
#include <stdio.h>
#include <string.h>

#include <cardforge/issue.h>

#include "personalize/pers_int.h"

int pers_check_issue_cert(const cf_card_t *card, const cf_plan_t *plan, const cf_step_t *st,
                          char *why, size_t whylen)
{
    cf_plan_cert_t pc;
    if (!cf_plan_cert(plan, st->cert, &pc)) {
        snprintf(why, whylen, "no certificate section %u in the plan", st->cert);
        return -1;
    }
    if (!cf_cert_supported(card)) {
        snprintf(why, whylen, "has no key slots for [Certificate_%s]", pc.name);
        return -1;
    }
    int piv = cf_cert_needs_admin(card);
    if (piv && pc.slot[0] == '\0') {
        snprintf(why, whylen,
                 "[Certificate_%s] Slot=auto is a GIDS container; this card needs "
                 "a PIV slot (9a, 9c, 9d, 9e)",
                 pc.name);
        return -1;
    }
    if (!piv && pc.slot[0] != '\0') {
        snprintf(why, whylen,
                 "[Certificate_%s] Slot=%s is a PIV slot; this card keeps its keys "
                 "in containers (Slot=auto)",
                 pc.name, pc.slot);
        return -1;
    }
    return 0;
}

static cf_err_t open_ca(const cf_plan_cert_t *pc, cf_ca_t **ca, char *why, size_t whylen)
{
    if (pc->ca_command)
        return cf_ca_open_command(pc->ca_command_line, pc->ca_timeout_ms, why, whylen, ca);
    return cf_ca_open_local(pc->ca_cert, pc->ca_key, why, whylen, ca);
}

/* A generated key is a change for certain; a write in doubt is in
 * r->issue.state ("certificate-unknown"). */
static cf_reached_t reached_of(cf_issue_state_t s)
{
    return s == CF_ISSUE_UNTOUCHED ? CF_REACHED_NO : CF_REACHED_YES;
}

cf_err_t pers_step_issue_cert(struct pers *ps, const cf_step_t *st, cf_step_result_t *r)
{
    cf_plan_cert_t pc;
    cf_dn_entry_t dn[CF_PLAN_CERT_MAX_RDN];
    cf_issue_request_t req;
    memset(&req, 0, sizeof(req));
    if (!cf_plan_cert(ps->plan, st->cert, &pc) ||
        cf_card_values_cert_names(ps->plan, ps->values, st->cert, dn, &req.names) != CF_OK) {
        r->err = CF_ERR_INTERNAL;
        r->outcome = CF_OUTCOME_REFUSED;
        pers_msg(r, "the certificate's names were not resolved for this card");
        return r->err;
    }
    if (ps->pin == NULL) {
        r->err = CF_ERR_REFUSED;
        r->outcome = CF_OUTCOME_REFUSED;
        pers_msg(r, "[Certificate_%s]: the PIN the card holds is not known", pc.name);
        return r->err;
    }
    req.slot = pc.slot;
    req.keygen = pc.keygen;
    req.validity_days = pc.validity_days;
    req.pin = ps->pin;

    char why[CF_MSG_MAX];
    cf_ca_t *ca = NULL;
    cf_err_t e = open_ca(&pc, &ca, why, sizeof(why));
    if (e != CF_OK) {
        r->err = e;
        r->outcome = CF_OUTCOME_REFUSED;
        pers_msg(r, "[Certificate_%s]: %s", pc.name, why);
        return r->err;
    }
    /* PIV writes need the management key; both need the PIN verified. */
    if (cf_cert_needs_admin(ps->card))
        e = pers_ensure_admin(ps, r);
    if (e == CF_OK && (e = cf_card_verify_pin(ps->card, ps->pin)) != CF_OK)
        pers_fail(ps, r, e, "verify the PIN before generating the key");
    if (e == CF_OK)
        e = pers_intent(ps, st, r);
    if (e != CF_OK) {
        cf_ca_free(ca);
        return r->err != CF_OK ? r->err : e;
    }
    e = cf_issue_run(ps->card, &req, ca, &r->issue, why, sizeof(why));
    cf_ca_free(ca);
    /* The proof re-selected the application: the admin key's session is
     * gone (a later step authenticates again). */
    ps->admin_authed = 0;
    r->reached = reached_of(r->issue.state);
    const char *slot = r->issue.slot[0] ? r->issue.slot : "(none)";
    if (e != CF_OK) {
        r->err = e;
        r->outcome = r->issue.state == CF_ISSUE_UNTOUCHED && e == CF_ERR_UNSUPPORTED
                         ? CF_OUTCOME_REFUSED
                         : CF_OUTCOME_FAILED;
        r->sw = cf_card_last_sw(ps->card);
        pers_msg(r, "%s; card state: %s (slot %s)", why, cf_issue_state_name(r->issue.state), slot);
        return r->err;
    }
    pers_msg(r, "slot %s %s: certificate %s from %s, not after %s (read back, signature verified)",
             slot, cf_key_alg_name(r->issue.alg), r->issue.cert.serial, r->issue.cert.issuer,
             r->issue.cert.not_after);
    return CF_OK;
}
