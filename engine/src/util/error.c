/*
 * error.c - messages and names for cf_err_t.
 *
 * One table keeps the symbolic name and the message of every code together,
 * so adding a code is one line and a missing entry is caught by the unit test
 * that walks every value.
 */
#include <stddef.h>

#include <cardforge/error.h>

struct err_entry {
    cf_err_t code;
    const char *name;
    const char *msg;
};

static const struct err_entry errors[] = {
    {CF_OK, "CF_OK", "success"},
    {CF_ERR_NOMEM, "CF_ERR_NOMEM", "out of memory"},
    {CF_ERR_ARG, "CF_ERR_ARG", "invalid argument"},
    {CF_ERR_IO, "CF_ERR_IO", "input/output error"},
    {CF_ERR_PARSE, "CF_ERR_PARSE", "malformed input"},
    {CF_ERR_INVALID, "CF_ERR_INVALID", "input failed validation"},
    {CF_ERR_NOT_FOUND, "CF_ERR_NOT_FOUND", "not found"},
    {CF_ERR_UNSUPPORTED, "CF_ERR_UNSUPPORTED", "operation not supported"},
    {CF_ERR_BUFFER, "CF_ERR_BUFFER", "buffer too small"},
    {CF_ERR_CRYPTO, "CF_ERR_CRYPTO", "cryptographic operation failed"},
    {CF_ERR_PERMISSION, "CF_ERR_PERMISSION", "permission denied"},
    {CF_ERR_INTERNAL, "CF_ERR_INTERNAL", "internal error"},
    {CF_ERR_NO_SERVICE, "CF_ERR_NO_SERVICE", "the PC/SC service (pcscd) is not running"},
    {CF_ERR_NO_READER, "CF_ERR_NO_READER", "no such smart-card reader"},
    {CF_ERR_READER_GONE, "CF_ERR_READER_GONE", "the reader was removed"},
    {CF_ERR_NO_CARD, "CF_ERR_NO_CARD", "no card in the reader"},
    {CF_ERR_CARD_REMOVED, "CF_ERR_CARD_REMOVED", "the card was removed during the operation"},
    {CF_ERR_CARD_RESET, "CF_ERR_CARD_RESET", "the card was reset by another application"},
    {CF_ERR_SHARING, "CF_ERR_SHARING", "the card is in use by another application"},
    {CF_ERR_TIMEOUT, "CF_ERR_TIMEOUT", "the operation timed out"},
    {CF_ERR_TRANSPORT, "CF_ERR_TRANSPORT", "communication with the reader failed"},
    {CF_ERR_CARD_STATUS, "CF_ERR_CARD_STATUS", "the card answered an unexpected status word"},
    {CF_ERR_BAD_RESPONSE, "CF_ERR_BAD_RESPONSE", "the card's response is malformed"},
    {CF_ERR_WRONG_SECRET, "CF_ERR_WRONG_SECRET", "the card rejected the PIN, PUK or key"},
    {CF_ERR_BLOCKED, "CF_ERR_BLOCKED", "the credential is blocked"},
    {CF_ERR_LAST_TRY, "CF_ERR_LAST_TRY", "refused: the attempt could use the last remaining try"},
    {CF_ERR_REFUSED, "CF_ERR_REFUSED", "this card type cannot perform the step"},
    {CF_ERR_UNKNOWN_CARD, "CF_ERR_UNKNOWN_CARD", "no card profile recognises the card"},
    {CF_ERR_PROOF_FAILED, "CF_ERR_PROOF_FAILED", "the change could not be proven on the card"},
    {CF_ERR_ALREADY_DONE, "CF_ERR_ALREADY_DONE", "already personalized"},
    {CF_ERR_INTERRUPTED, "CF_ERR_INTERRUPTED", "interrupted"},
    {CF_ERR_POLICY, "CF_ERR_POLICY", "value violates the card's policy"},
    {CF_ERR_DATABASE, "CF_ERR_DATABASE", "the order database cannot be reached or failed"},
};

static const struct err_entry *find(cf_err_t err)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == err)
            return &errors[i];
    return NULL;
}

const char *cf_strerror(cf_err_t err)
{
    const struct err_entry *e = find(err);
    return e ? e->msg : "unknown error";
}

const char *cf_errname(cf_err_t err)
{
    const struct err_entry *e = find(err);
    return e ? e->name : "CF_ERR_UNKNOWN";
}
