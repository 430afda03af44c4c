/*
 * piv.c - the piv virtual card (being written: answers every command with
 * 6D00 until the card type lands).
 */
#include <string.h>

#include "simcard/simcard_int.h"

static cf_err_t piv_create(cf_simcard_t *card, const char *factory)
{
    if (factory != NULL && strcmp(factory, "default") != 0)
        return CF_ERR_NOT_FOUND;
    card->impl = NULL;
    return CF_OK;
}

static void piv_destroy(cf_simcard_t *card)
{
    (void)card;
}

static size_t piv_atr(const cf_simcard_t *card, uint8_t *atr, size_t cap)
{
    static const uint8_t a[] = {0x3b, 0x80, 0x80, 0x01, 0x01};
    (void)card;
    if (cap < sizeof(a))
        return 0;
    memcpy(atr, a, sizeof(a));
    return sizeof(a);
}

static void piv_reset(cf_simcard_t *card)
{
    (void)card;
}

static uint16_t piv_process(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    (void)card;
    (void)cmd;
    (void)resp;
    return SW_INS_NOT_SUPPORTED;
}

static int piv_save(const cf_simcard_t *card, FILE *f)
{
    (void)card;
    (void)f;
    return 0;
}

static int piv_load(cf_simcard_t *card, const char *key, const char *value, char *err,
                    size_t errlen)
{
    (void)card;
    (void)key;
    (void)value;
    (void)err;
    (void)errlen;
    return -1;
}

const struct cf_simcard_ops cf_simcard_piv_ops = {
    .type = "piv",
    .create = piv_create,
    .destroy = piv_destroy,
    .atr = piv_atr,
    .reset = piv_reset,
    .process = piv_process,
    .save = piv_save,
    .load = piv_load,
};
