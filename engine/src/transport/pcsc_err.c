/*
 * pcsc_err.c - the PC/SC return code table.
 *
 * The cf_err_t a code maps to is what the caller must do about it: restart
 * the service (NO_SERVICE), pick another reader (NO_READER, READER_GONE),
 * wait for a card (NO_CARD), redo the card from the start (CARD_REMOVED,
 * CARD_RESET), or give up on this reader (TRANSPORT). Codes that only
 * Windows' file-system card API returns are listed too, so that a name is
 * printed rather than a number if one ever turns up.
 */
#include <stdio.h>

#include <PCSC/winscard.h>

#include "transport/pcsc_err.h"

/* clang-format off */
#define E(code, err, text) {(long)(code), #code, err, text}
/* clang-format on */

static const struct cf_pcsc_code codes[] = {
    E(SCARD_S_SUCCESS, CF_OK, "success"),
    /* the service */
    E(SCARD_E_NO_SERVICE, CF_ERR_NO_SERVICE, "the PC/SC service (pcscd) is not running"),
    E(SCARD_E_SERVICE_STOPPED, CF_ERR_NO_SERVICE, "the PC/SC service (pcscd) stopped"),
    E(SCARD_P_SHUTDOWN, CF_ERR_NO_SERVICE, "the PC/SC service is shutting down"),
    E(SCARD_F_COMM_ERROR, CF_ERR_NO_SERVICE, "lost the connection to the PC/SC service"),
    /* readers */
    E(SCARD_E_NO_READERS_AVAILABLE, CF_ERR_NO_READER, "no smart-card reader is connected"),
    E(SCARD_E_UNKNOWN_READER, CF_ERR_NO_READER, "no reader of that name"),
    E(SCARD_E_READER_UNAVAILABLE, CF_ERR_READER_GONE, "the reader is unavailable (unplugged?)"),
    E(SCARD_E_READER_UNSUPPORTED, CF_ERR_TRANSPORT, "the reader driver is not supported"),
    E(SCARD_E_DUPLICATE_READER, CF_ERR_TRANSPORT, "the reader driver gave a duplicate name"),
    /* cards */
    E(SCARD_E_NO_SMARTCARD, CF_ERR_NO_CARD, "no card in the reader"),
    E(SCARD_W_REMOVED_CARD, CF_ERR_CARD_REMOVED, "card removed"),
    E(SCARD_W_RESET_CARD, CF_ERR_CARD_RESET, "card reset by another application"),
    E(SCARD_W_UNPOWERED_CARD, CF_ERR_CARD_RESET, "card powered off"),
    E(SCARD_W_UNRESPONSIVE_CARD, CF_ERR_TRANSPORT,
      "card does not answer the reset (mute, or inserted the wrong way)"),
    E(SCARD_W_UNSUPPORTED_CARD, CF_ERR_TRANSPORT, "the reader cannot talk to this card (ATR)"),
    E(SCARD_E_CARD_UNSUPPORTED, CF_ERR_TRANSPORT, "card not supported"),
    E(SCARD_E_UNKNOWN_CARD, CF_ERR_TRANSPORT, "unknown card name"),
    E(SCARD_E_INVALID_ATR, CF_ERR_TRANSPORT, "invalid ATR"),
    /* sharing and timing */
    E(SCARD_E_SHARING_VIOLATION, CF_ERR_SHARING, "the card is in use by another application"),
    E(SCARD_E_TIMEOUT, CF_ERR_TIMEOUT, "timed out"),
    E(SCARD_F_WAITED_TOO_LONG, CF_ERR_TIMEOUT, "an internal timer of the service expired"),
    E(SCARD_E_CANCELLED, CF_ERR_INTERRUPTED, "cancelled"),
    E(SCARD_E_SYSTEM_CANCELLED, CF_ERR_INTERRUPTED, "cancelled by the system"),
    E(SCARD_E_SERVER_TOO_BUSY, CF_ERR_TRANSPORT, "the PC/SC service is too busy"),
    /* the exchange */
    E(SCARD_E_PROTO_MISMATCH, CF_ERR_TRANSPORT, "protocol mismatch (neither T=0 nor T=1)"),
    E(SCARD_E_NOT_TRANSACTED, CF_ERR_TRANSPORT, "the APDU could not be exchanged with the card"),
    E(SCARD_E_COMM_DATA_LOST, CF_ERR_TRANSPORT, "communication with the card lost data"),
    E(SCARD_E_NOT_READY, CF_ERR_TRANSPORT, "the reader or card is not ready"),
    E(SCARD_E_CANT_DISPOSE, CF_ERR_TRANSPORT, "the card could not be left as asked"),
    E(SCARD_E_INSUFFICIENT_BUFFER, CF_ERR_BUFFER, "answer longer than the buffer"),
    E(SCARD_E_PCI_TOO_SMALL, CF_ERR_BUFFER, "protocol information buffer too small"),
    /* the caller */
    E(SCARD_E_INVALID_HANDLE, CF_ERR_TRANSPORT,
      "invalid handle (the service restarted or the connection was closed)"),
    E(SCARD_E_INVALID_PARAMETER, CF_ERR_ARG, "invalid parameter"),
    E(SCARD_E_INVALID_VALUE, CF_ERR_ARG, "invalid value"),
    E(SCARD_E_INVALID_TARGET, CF_ERR_TRANSPORT, "invalid service start-up information"),
    E(SCARD_E_NO_MEMORY, CF_ERR_NOMEM, "out of memory"),
    E(SCARD_E_UNSUPPORTED_FEATURE, CF_ERR_UNSUPPORTED, "not supported by the reader or driver"),
    E(SCARD_W_SECURITY_VIOLATION, CF_ERR_PERMISSION, "access denied by the PC/SC service"),
    E(SCARD_E_NO_ACCESS, CF_ERR_PERMISSION, "access denied"),
    E(SCARD_F_INTERNAL_ERROR, CF_ERR_TRANSPORT, "internal error of the PC/SC service"),
    E(SCARD_F_UNKNOWN_ERROR, CF_ERR_TRANSPORT, "unknown error of the PC/SC service"),
    E(SCARD_E_UNKNOWN_RES_MNG, CF_ERR_TRANSPORT, "unknown resource manager error"),
    /* Windows card-file API codes, never returned by pcsc-lite */
    E(SCARD_E_ICC_INSTALLATION, CF_ERR_TRANSPORT, "no primary provider for the card"),
    E(SCARD_E_ICC_CREATEORDER, CF_ERR_TRANSPORT, "object creation order not supported"),
    E(SCARD_E_DIR_NOT_FOUND, CF_ERR_TRANSPORT, "directory not found on the card"),
    E(SCARD_E_FILE_NOT_FOUND, CF_ERR_TRANSPORT, "file not found on the card"),
    E(SCARD_E_NO_DIR, CF_ERR_TRANSPORT, "not a directory"),
    E(SCARD_E_NO_FILE, CF_ERR_TRANSPORT, "not a file"),
    E(SCARD_E_WRITE_TOO_MANY, CF_ERR_TRANSPORT, "card memory full"),
    E(SCARD_E_BAD_SEEK, CF_ERR_TRANSPORT, "bad seek in a card file"),
    E(SCARD_E_INVALID_CHV, CF_ERR_TRANSPORT, "invalid PIN"),
    E(SCARD_E_NO_SUCH_CERTIFICATE, CF_ERR_TRANSPORT, "no such certificate"),
    E(SCARD_E_CERTIFICATE_UNAVAILABLE, CF_ERR_TRANSPORT, "certificate unavailable"),
    E(SCARD_E_NO_KEY_CONTAINER, CF_ERR_TRANSPORT, "no key container"),
    E(SCARD_W_WRONG_CHV, CF_ERR_TRANSPORT, "wrong PIN"),
    E(SCARD_W_CHV_BLOCKED, CF_ERR_TRANSPORT, "PIN blocked"),
    E(SCARD_W_EOF, CF_ERR_TRANSPORT, "end of card file"),
    E(SCARD_W_CANCELLED_BY_USER, CF_ERR_INTERRUPTED, "cancelled by the user"),
    E(SCARD_W_CARD_NOT_AUTHENTICATED, CF_ERR_TRANSPORT, "no PIN presented"),
};

const struct cf_pcsc_code *cf_pcsc_lookup(long code)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == code)
            return &codes[i];
    return NULL;
}

cf_err_t cf_pcsc_map(long code)
{
    const struct cf_pcsc_code *c = cf_pcsc_lookup(code);
    return c ? c->err : CF_ERR_TRANSPORT;
}

void cf_pcsc_describe(long code, char *buf, size_t len)
{
    const struct cf_pcsc_code *c = cf_pcsc_lookup(code);
    if (c != NULL)
        snprintf(buf, len, "%s (%s)", c->text, c->name);
    else
        snprintf(buf, len, "unknown PC/SC error (0x%08lX)", (unsigned long)code & 0xffffffffUL);
}

const struct cf_pcsc_code *cf_pcsc_codes(size_t *count)
{
    *count = sizeof(codes) / sizeof(codes[0]);
    return codes;
}
