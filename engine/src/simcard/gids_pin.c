/*
 * gids_pin.c - the user PIN of the gids virtual card: VERIFY, CHANGE
 * REFERENCE DATA, RESET RETRY COUNTER and the PIN status object 7F71.
 *
 * GIDS has one PIN, reference 80 (00 is accepted as its alias), raw bytes,
 * 4 to 16 long, no padding. Counter rules, as on real cards: a wrong PIN
 * costs a try and answers 63Cx (x = tries left), a blocked PIN answers 6983,
 * a right PIN restores the counter. The try is spent and saved BEFORE the
 * comparison (cf_gids_spend_try): killing the process between the two can
 * never yield a free guess. A PIN of impossible length is refused with 63Cx
 * without spending a try, as the reference applet does. Unblocking is RESET
 * RETRY COUNTER after admin authentication (gids_auth.c); there is no PUK.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "simcard/gids_int.h"

static int pin_ref_ok(uint8_t p2)
{
    return p2 == 0x80 || p2 == 0x00;
}

static int pin_len_ok(size_t n)
{
    return n >= GIDS_PIN_MIN && n <= GIDS_PIN_MAX;
}

uint16_t cf_gids_counter_status(unsigned tag, unsigned left, unsigned max, cf_wcursor *resp)
{
    /* 97: tries left, 93: try limit - the tags OpenSC reads. */
    const uint8_t body[6] = {0x97, 0x01, (uint8_t)left, 0x93, 0x01, (uint8_t)max};
    cf_wc_tlv(resp, tag, body, sizeof(body));
    return SW_OK;
}

uint16_t cf_gids_pin_status(const struct gids_card *g, unsigned tag, cf_wcursor *resp)
{
    return cf_gids_counter_status(tag, g->pin_tries, g->pin_max, resp);
}

uint16_t cf_gids_verify(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    if (cmd->p1 != 0x00)
        return SW_INCORRECT_P1P2;
    if (cmd->p2 == 0x82) { /* GIDS: log out everybody (PIN and admin) */
        cf_gids_logout(g);
        return SW_OK;
    }
    if (!pin_ref_ok(cmd->p2))
        return SW_REF_NOT_FOUND;
    if (cmd->nc > 0 && g->pin_len == 0)
        return SW_REF_NOT_FOUND; /* blank card: no PIN to check yet */
    if (g->pin_tries == 0)
        return SW_AUTH_BLOCKED;
    if (cmd->nc == 0) { /* status: is a verification needed? */
        if (!g->operational || g->pin_verified)
            return SW_OK;
        return SW_GIDS_TRIES(g->pin_tries);
    }
    if (!pin_len_ok(cmd->nc))
        return SW_GIDS_TRIES(g->pin_tries);

    g->pin_verified = 0;
    if (cf_gids_spend_try(card, &g->pin_tries) < 0)
        return SW_MEMORY_FAILURE;
    if (cmd->nc != g->pin_len || CRYPTO_memcmp(cmd->data, g->pin, g->pin_len) != 0)
        return SW_GIDS_TRIES(g->pin_tries);
    if (cf_gids_restore_tries(card, &g->pin_tries, g->pin_max) < 0)
        return SW_MEMORY_FAILURE;
    g->pin_verified = 1;
    return SW_OK;
}

/* Replace the PIN (and optionally the counter) and save; undo on failure. */
static uint16_t set_pin_durably(cf_simcard_t *card, const uint8_t *pin, size_t len,
                                int restore_tries)
{
    struct gids_card *g = gids_of(card);
    uint8_t old[GIDS_PIN_MAX];
    size_t old_len = g->pin_len;
    unsigned old_tries = g->pin_tries;
    memcpy(old, g->pin, sizeof(old));

    memset(g->pin, 0, sizeof(g->pin));
    memcpy(g->pin, pin, len);
    g->pin_len = len;
    if (restore_tries)
        g->pin_tries = g->pin_max;
    uint16_t sw = SW_OK;
    if (cf_simcard_persist(card) < 0) {
        memcpy(g->pin, old, sizeof(old));
        g->pin_len = old_len;
        g->pin_tries = old_tries;
        sw = SW_MEMORY_FAILURE;
    }
    OPENSSL_cleanse(old, sizeof(old));
    return sw;
}

/* P1=00: old PIN immediately followed by the new one. There is no
 * separator: the card splits at the length of the stored PIN. */
static uint16_t change_pin(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    if (g->pin_len == 0)
        return SW_REF_NOT_FOUND;
    if (g->pin_tries == 0)
        return SW_AUTH_BLOCKED;
    if (cmd->nc < 2 * GIDS_PIN_MIN || cmd->nc > 2 * GIDS_PIN_MAX)
        return SW_GIDS_TRIES(g->pin_tries);

    g->pin_verified = 0;
    if (cf_gids_spend_try(card, &g->pin_tries) < 0)
        return SW_MEMORY_FAILURE;
    /* nc >= 8, so a stored PIN longer than nc simply fails to match. */
    if (cmd->nc < g->pin_len || CRYPTO_memcmp(cmd->data, g->pin, g->pin_len) != 0)
        return SW_GIDS_TRIES(g->pin_tries);

    size_t new_len = cmd->nc - g->pin_len;
    if (!pin_len_ok(new_len)) {
        /* The old PIN was right: give the try back, refuse the new one. */
        if (cf_gids_restore_tries(card, &g->pin_tries, g->pin_max) < 0)
            return SW_MEMORY_FAILURE;
        g->pin_verified = 1;
        return SW_WRONG_LENGTH;
    }
    uint16_t sw = set_pin_durably(card, cmd->data + g->pin_len, new_len, 1);
    if (sw == SW_OK)
        g->pin_verified = 1;
    return sw;
}

uint16_t cf_gids_change_reference(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    if (cmd->p1 != 0x00 && cmd->p1 != 0x01)
        return SW_INCORRECT_P1P2;
    if (!pin_ref_ok(cmd->p2))
        return SW_REF_NOT_FOUND;
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;
    if (cmd->p1 == 0x00)
        return change_pin(card, cmd);

    /* P1=01: new PIN only. Free in initialization mode (gids-tool -X sets
     * the first PIN so, and the counter starts full); afterwards only with
     * the PIN verified. */
    if (!pin_len_ok(cmd->nc))
        return SW_WRONG_LENGTH;
    if (g->operational && !g->pin_verified)
        return SW_SECURITY_STATUS;
    return set_pin_durably(card, cmd->data, cmd->nc, !g->operational);
}

uint16_t cf_gids_reset_retry_counter(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    if (!g->operational)
        return SW_GIDS_NOT_ALLOWED;
    if (cmd->p1 != 0x02) /* new PIN only: the admin authenticated beforehand */
        return SW_INCORRECT_P1P2;
    if (cmd->p2 != 0x80)
        return SW_REF_NOT_FOUND;
    if (!g->admin_auth)
        return SW_SECURITY_STATUS;
    if (!pin_len_ok(cmd->nc))
        return SW_WRONG_LENGTH;
    uint16_t sw = set_pin_durably(card, cmd->data, cmd->nc, 1);
    if (sw == SW_OK)
        cf_gids_logout(g); /* the unblock ends both authentications */
    return sw;
}
