/*
 * pcsc_card.c - the PC/SC backend: one exclusive connection to one card.
 *
 * Each connection has its own SCARDCONTEXT: pcsc-lite serialises the calls
 * on one context, and wants one context per thread, so readers worked in
 * parallel must not share one (nor share the context a watcher blocks in
 * SCardGetStatusChange on).
 *
 * SCardTransmit has no timeout in pcsc-lite: a card that never answers
 * keeps the call waiting until the reader driver gives up (its own
 * timeouts, e.g. the CCID driver's, from the card's ATR work waiting
 * times). Nothing here can shorten that; a batch runner that needs a bound
 * watches the call from another thread and gives up on the reader.
 *
 * A reset by someone else (SCARD_W_RESET_CARD, or the card powered down)
 * is acknowledged here with one SCardReconnect, and reported as
 * CF_ERR_CARD_RESET: the APDU was not delivered (pcsc-lite checks before
 * sending) and the card layer must start over from SELECT.
 */
#include <stdlib.h>

#include <winscard.h>

#include "transport/pcsc_err.h"
#include "transport/transport_int.h"

struct conn {
    SCARDCONTEXT hctx;
    SCARDHANDLE hcard;
    DWORD proto;
    int have_ctx, have_card;
};

/* Record the message for a failed PC/SC call and return its cf_err_t. Once
 * connected, "no such reader" can only mean the reader went away. */
static cf_err_t scard_fail(cf_transport_t *t, LONG rv, const char *what)
{
    const struct conn *c = t->impl;
    char desc[160];
    cf_pcsc_describe((long)rv, desc, sizeof(desc));
    cf_err_t err = cf_pcsc_map((long)rv);
    if (c != NULL && c->have_card && err == CF_ERR_NO_READER)
        err = CF_ERR_READER_GONE;
    if (err == CF_OK) /* not a failure; should not be asked */
        err = CF_ERR_INTERNAL;
    if (err == CF_ERR_NO_SERVICE)
        return cf_transport_fail(t, err, "%s: %s; start pcscd", what, desc);
    return cf_transport_fail(t, err, "%s: %s", what, desc);
}

static void set_protocol(cf_transport_t *t, DWORD proto)
{
    struct conn *c = t->impl;
    c->proto = proto;
    t->protocol = proto == SCARD_PROTOCOL_T0 ? 0 : proto == SCARD_PROTOCOL_T1 ? 1 : -1;
}

static cf_err_t refresh_atr(cf_transport_t *t)
{
    struct conn *c = t->impl;
    BYTE atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof(atr), state = 0, proto = 0, name_len = 0;
    LONG rv = SCardStatus(c->hcard, NULL, &name_len, &state, &proto, atr, &atr_len);
    if (rv != SCARD_S_SUCCESS)
        return scard_fail(t, rv, "reading the card status");
    cf_transport_set_atr(t, atr, atr_len);
    return CF_OK;
}

static cf_err_t reconnect(cf_transport_t *t, DWORD init, const char *what)
{
    struct conn *c = t->impl;
    DWORD proto = c->proto;
    LONG rv = SCardReconnect(c->hcard, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                             init, &proto);
    if (rv != SCARD_S_SUCCESS)
        return scard_fail(t, rv, what);
    set_protocol(t, proto);
    return refresh_atr(t);
}

static cf_err_t pcsc_transmit(cf_transport_t *t, const uint8_t *cmd, size_t len, uint8_t *resp,
                              size_t cap, size_t *resp_len)
{
    struct conn *c = t->impl;
    const SCARD_IO_REQUEST *pci = c->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    DWORD rlen = (DWORD)cap;
    LONG rv = SCardTransmit(c->hcard, pci, cmd, (DWORD)len, NULL, resp, &rlen);
    if (rv == SCARD_W_RESET_CARD || rv == SCARD_W_UNPOWERED_CARD) {
        char desc[160];
        cf_pcsc_describe((long)rv, desc, sizeof(desc));
        cf_err_t err = reconnect(t, SCARD_LEAVE_CARD, "reconnecting after a reset");
        if (err != CF_OK)
            return err;
        return cf_transport_fail(t, CF_ERR_CARD_RESET,
                                 "%s; APDU not sent; reconnected, the card's volatile state "
                                 "(verified PIN, selected application) is gone",
                                 desc);
    }
    if (rv != SCARD_S_SUCCESS)
        return scard_fail(t, rv, "transmit");
    *resp_len = rlen;
    return CF_OK;
}

static cf_err_t pcsc_reset(cf_transport_t *t)
{
    return reconnect(t, SCARD_RESET_CARD, "reset");
}

static cf_err_t pcsc_begin(cf_transport_t *t)
{
    struct conn *c = t->impl;
    LONG rv = SCardBeginTransaction(c->hcard);
    return rv == SCARD_S_SUCCESS ? CF_OK : scard_fail(t, rv, "begin transaction");
}

static cf_err_t pcsc_end(cf_transport_t *t)
{
    struct conn *c = t->impl;
    LONG rv = SCardEndTransaction(c->hcard, SCARD_LEAVE_CARD);
    return rv == SCARD_S_SUCCESS ? CF_OK : scard_fail(t, rv, "end transaction");
}

static void pcsc_close(cf_transport_t *t, cf_disposition_t how)
{
    struct conn *c = t->impl;
    if (c == NULL)
        return;
    DWORD disp = how == CF_DISPOSE_RESET     ? SCARD_RESET_CARD
                 : how == CF_DISPOSE_UNPOWER ? SCARD_UNPOWER_CARD
                                             : SCARD_LEAVE_CARD;
    if (c->have_card)
        SCardDisconnect(c->hcard, disp);
    if (c->have_ctx)
        SCardReleaseContext(c->hctx);
    free(c);
    t->impl = NULL;
}

static const struct cf_transport_ops pcsc_ops = {
    .kind = "pcsc",
    .transmit = pcsc_transmit,
    .reset = pcsc_reset,
    .begin = pcsc_begin,
    .end = pcsc_end,
    .close = pcsc_close,
};

cf_err_t cf_transport_open_pcsc(const char *reader_name, cf_transport_t **out, char *errbuf,
                                size_t errlen)
{
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = 0;
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    if (reader_name == NULL)
        return CF_ERR_ARG;
    cf_transport_t *t;
    cf_err_t err = cf_transport_alloc(&pcsc_ops, reader_name, &t);
    if (err != CF_OK)
        return err;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        cf_transport_dealloc(t);
        return CF_ERR_NOMEM;
    }
    t->impl = c;

    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->hctx);
    if (rv != SCARD_S_SUCCESS) {
        err = scard_fail(t, rv, "cannot reach the PC/SC service");
        goto fail;
    }
    c->have_ctx = 1;
    DWORD proto = 0;
    rv = SCardConnect(c->hctx, reader_name, SCARD_SHARE_EXCLUSIVE,
                      SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->hcard, &proto);
    if (rv != SCARD_S_SUCCESS) {
        err = scard_fail(t, rv, "connecting to the card");
        goto fail;
    }
    c->have_card = 1;
    set_protocol(t, proto);
    err = refresh_atr(t);
    if (err != CF_OK)
        goto fail;
    *out = t;
    return CF_OK;

fail:
    cf_transport_copy_errmsg(t, errbuf, errlen);
    pcsc_close(t, CF_DISPOSE_LEAVE);
    cf_transport_dealloc(t);
    return err;
}
