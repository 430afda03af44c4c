/*
 * error.h - the one error type of libcardforge.
 *
 * Every public function that can fail returns a cf_err_t. The numbers are
 * stable: they appear in journals and exit reports, so a value is never
 * renumbered or reused; new codes are appended. Detail (file, line, status
 * word, reader) travels separately, in a cf_diag_list_t or an out-parameter.
 */
#ifndef CARDFORGE_ERROR_H
#define CARDFORGE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cf_err {
    CF_OK = 0,
    /* generic */
    CF_ERR_NOMEM = 1,          /* out of memory */
    CF_ERR_ARG = 2,            /* invalid argument from the caller */
    CF_ERR_IO = 3,             /* reading or writing a file failed */
    CF_ERR_PARSE = 4,          /* input is malformed */
    CF_ERR_INVALID = 5,        /* input parsed but failed validation */
    CF_ERR_NOT_FOUND = 6,      /* named thing does not exist */
    CF_ERR_UNSUPPORTED = 7,    /* operation not supported */
    CF_ERR_BUFFER = 8,         /* output buffer too small */
    CF_ERR_CRYPTO = 9,         /* a cryptographic primitive failed */
    CF_ERR_PERMISSION = 10,    /* file permissions or ownership refused */
    CF_ERR_INTERNAL = 11,      /* a bug: an invariant did not hold */
    /* PC/SC and transport */
    CF_ERR_NO_SERVICE = 20,    /* the PC/SC service is not running */
    CF_ERR_NO_READER = 21,     /* no such reader */
    CF_ERR_READER_GONE = 22,   /* the reader was unplugged */
    CF_ERR_NO_CARD = 23,       /* no card in the reader */
    CF_ERR_CARD_REMOVED = 24,  /* card removed during the operation */
    CF_ERR_CARD_RESET = 25,    /* card was reset by another client */
    CF_ERR_SHARING = 26,       /* card in use by another application */
    CF_ERR_TIMEOUT = 27,       /* the operation timed out */
    CF_ERR_TRANSPORT = 28,     /* other transport failure */
    /* card behaviour */
    CF_ERR_CARD_STATUS = 40,   /* card answered an unexpected status word */
    CF_ERR_BAD_RESPONSE = 41,  /* card response malformed */
    CF_ERR_WRONG_SECRET = 42,  /* PIN, PUK or key rejected by the card */
    CF_ERR_BLOCKED = 43,       /* credential is blocked */
    CF_ERR_LAST_TRY = 44,      /* refused: the attempt could spend the last try */
    CF_ERR_REFUSED = 45,       /* plan step impossible on this card type */
    CF_ERR_UNKNOWN_CARD = 46,  /* no profile recognises the card */
    CF_ERR_PROOF_FAILED = 47,  /* a state change could not be proven */
    CF_ERR_ALREADY_DONE = 48,  /* card or record already personalized */
    CF_ERR_INTERRUPTED = 49,   /* stopped by the operator or a signal */
    CF_ERR_POLICY = 50,        /* value violates a PIN/PUK/key policy */
    /* order database (order.h) */
    CF_ERR_DATABASE = 60, /* the order database cannot be reached or failed */
} cf_err_t;

/* A static, human-readable string for err; never NULL, never to be freed. */
const char *cf_strerror(cf_err_t err);

/* The symbolic name of err ("CF_ERR_NOMEM"), for journals; never NULL. */
const char *cf_errname(cf_err_t err);

#ifdef __cplusplus
}
#endif
#endif
