/*
 * piv_pin.c - PIN and PUK: VERIFY, CHANGE REFERENCE DATA, RESET RETRY
 * COUNTER, and the YubiKey's SET PIN RETRIES and RESET.
 *
 * Every comparison with a PIN or PUK follows one order, so that killing the
 * process at any point never yields a free guess: refuse if the counter is
 * at 0; spend one try and save the state file; only then compare (in
 * constant time); on a match restore the counter and save again. When a
 * save fails the card answers 6581 and nothing else happens: the try is not
 * spent (the file still has the old count) and the value is not compared.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "simcard/piv_int.h"

#define SW_WRONG_PIN(n) ((uint16_t)(0x63C0 | ((n) > 15 ? 15 : (n))))

/* Spend one try of *tries (a counter inside the live state) durably.
 * 0 when the caller may now compare; else the status word to answer. */
static uint16_t spend_try(cf_simcard_t *card, uint8_t *tries)
{
    if (*tries == 0)
        return SW_AUTH_BLOCKED;
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    (*tries)--;
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    return 0;
}

static int same_secret(const uint8_t *given, const uint8_t stored[PIV_PIN_SIZE])
{
    return CRYPTO_memcmp(given, stored, PIV_PIN_SIZE) == 0;
}

uint16_t piv_verify(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    struct piv_nv *nv = &pc->nv;
    if (cmd->p1 == 0xFF) { /* SP 800-73-4: reset the PIN's security status */
        if (cmd->nc != 0)
            return SW_WRONG_LENGTH;
        if (cmd->p2 != PIV_REF_PIN)
            return SW_REF_NOT_FOUND;
        pc->pin_verified = 0;
        return SW_OK;
    }
    if (cmd->p1 != 0x00)
        return SW_INCORRECT_P1P2;
    /* Only the PIV PIN can be verified; VERIFY of the PUK (OpenSC's SO
     * login) is not a PIV operation and costs nothing. */
    if (cmd->p2 != PIV_REF_PIN)
        return SW_REF_NOT_FOUND;
    if (cmd->nc == 0) { /* status query, no try spent */
        if (cf_simcard_has(card, CF_Q_NO_VERIFY_STATUS))
            return SW_WRONG_DATA; /* a card that wants data (OpenSC: CI_VERIFY_LC0_FAIL) */
        if (nv->pin_tries == 0)
            return SW_AUTH_BLOCKED;
        return pc->pin_verified ? SW_OK : SW_WRONG_PIN(nv->pin_tries);
    }
    if (cmd->nc != PIV_PIN_SIZE)
        return SW_WRONG_LENGTH;

    uint16_t sw = spend_try(card, &nv->pin_tries);
    if (sw != 0)
        return sw;
    if (!same_secret(cmd->data, nv->pin)) {
        pc->pin_verified = 0;
        return SW_WRONG_PIN(nv->pin_tries);
    }
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    nv->pin_tries = nv->pin_max;
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    pc->pin_verified = 1;
    pc->pin_fresh = 1; /* good for one use of a PIN-always key */
    return SW_OK;
}

/* Shared by 24 and 2C: the first 8 bytes are checked against *stored with
 * counter *tries; on a match the counter is restored and, if the last 8
 * bytes are a valid new value (6-8 bytes before the FF padding), they are
 * written to *target whose counter *target_tries goes back to target_max.
 * The old value is compared before the new one is checked, as a YubiKey
 * does: ykman blocks the PUK with 2C and sixteen FF bytes. */
static uint16_t check_and_replace(cf_simcard_t *card, const uint8_t *data, uint8_t *stored,
                                  uint8_t *tries, uint8_t max, uint8_t *target,
                                  uint8_t *target_tries, uint8_t target_max)
{
    uint16_t sw = spend_try(card, tries);
    if (sw != 0)
        return sw;
    if (!same_secret(data, stored))
        return SW_WRONG_PIN(*tries);
    const uint8_t *fresh = data + PIV_PIN_SIZE;
    int valid = piv_pin_len(fresh) >= PIV_PIN_MIN;
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    *tries = max;
    if (valid) {
        memcpy(target, fresh, PIV_PIN_SIZE);
        *target_tries = target_max;
    }
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    return valid ? SW_OK : SW_WRONG_DATA;
}

uint16_t piv_change_reference(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    struct piv_nv *nv = &pc->nv;
    if (cmd->p1 != 0x00)
        return SW_INCORRECT_P1P2;
    if (cmd->p2 != PIV_REF_PIN && cmd->p2 != PIV_REF_PUK)
        return SW_REF_NOT_FOUND;
    if (cmd->nc != 2 * PIV_PIN_SIZE)
        return SW_WRONG_LENGTH;
    if (cmd->p2 == PIV_REF_PUK)
        return check_and_replace(card, cmd->data, nv->puk, &nv->puk_tries, nv->puk_max, nv->puk,
                                 &nv->puk_tries, nv->puk_max);
    uint16_t sw = check_and_replace(card, cmd->data, nv->pin, &nv->pin_tries, nv->pin_max, nv->pin,
                                    &nv->pin_tries, nv->pin_max);
    if ((sw & 0xFFF0) == 0x63C0)
        pc->pin_verified = 0;
    return sw;
}

uint16_t piv_reset_retry(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    struct piv_nv *nv = &pc->nv;
    if (cmd->p1 != 0x00)
        return SW_INCORRECT_P1P2;
    if (cmd->p2 != PIV_REF_PIN)
        return SW_REF_NOT_FOUND;
    if (cmd->nc != 2 * PIV_PIN_SIZE)
        return SW_WRONG_LENGTH;
    uint16_t sw = check_and_replace(card, cmd->data, nv->puk, &nv->puk_tries, nv->puk_max, nv->pin,
                                    &nv->pin_tries, nv->pin_max);
    if (sw == SW_OK)
        pc->pin_verified = 0;
    return sw;
}

/* YubiKey FA: new maxima for PIN (P1) and PUK (P2); both values go back to
 * their defaults and both counters to the new maxima. */
uint16_t piv_set_pin_retries(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    struct piv_nv *nv = &pc->nv;
    if (cmd->nc != 0)
        return SW_WRONG_LENGTH;
    if (!pc->admin || !pc->pin_verified)
        return SW_SECURITY_STATUS;
    if (cmd->p1 == 0 || cmd->p2 == 0)
        return SW_INCORRECT_P1P2;
    struct piv_nv fresh;
    piv_nv_factory(&fresh);
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    memcpy(nv->pin, fresh.pin, PIV_PIN_SIZE);
    memcpy(nv->puk, fresh.puk, PIV_PIN_SIZE);
    nv->pin_max = nv->pin_tries = cmd->p1;
    nv->puk_max = nv->puk_tries = cmd->p2;
    OPENSSL_cleanse(&fresh, sizeof(fresh));
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    pc->pin_verified = 0;
    return SW_OK;
}

/* YubiKey FB: back to factory state, allowed only once PIN and PUK are
 * both blocked. Deletes every slot key; keeps the attestation key (F9) and
 * certificate, as a YubiKey does. */
uint16_t piv_factory_reset(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct piv_card *pc = piv_of(card);
    struct piv_nv *nv = &pc->nv;
    if (cmd->nc != 0)
        return SW_WRONG_LENGTH;
    if (cmd->p1 != 0x00 || cmd->p2 != 0x00)
        return SW_INCORRECT_P1P2;
    if (nv->pin_tries != 0 || nv->puk_tries != 0)
        return SW_CONDITIONS;
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    piv_nv_factory(nv);
    int keep = piv_obj_index(PIV_OBJ_ATTESTATION);
    for (int i = 0; i < (int)PIV_NOBJ; i++) {
        if (i == keep)
            continue;
        /* not freed here: commit frees what the saved copy alone holds */
        nv->obj[i].data = NULL;
        nv->obj[i].len = 0;
    }
    int keep_key = piv_slot_index(PIV_SLOT_ATTEST);
    for (int i = 0; i < PIV_NSLOTS; i++)
        if (i != keep_key)
            memset(&nv->key[i], 0, sizeof(nv->key[i])); /* freed by commit, as above */
    if (piv_nv_commit(card, &saved) < 0)
        return SW_MEMORY_FAILURE;
    pc->pin_verified = 0;
    pc->admin = 0;
    return SW_OK;
}
