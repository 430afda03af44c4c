/*
 * transport.h - one connection to one card, over PC/SC or a simulated reader.
 *
 * The transport moves command APDUs to a card and responses back. It knows
 * ISO 7816-4 framing and nothing of card types: the card layer above builds
 * the commands (from YAML profiles) and says which bytes are secret; the
 * transport does command chaining, 61xx/6Cxx response handling, maps every
 * PC/SC return code to one cf_err_t with a readable message, counts APDUs,
 * and writes an optional trace in which secret bytes are printed as "**".
 *
 * Three backends share that logic (docs/transport.md):
 *   - PC/SC (pcsc-lite): cf_transport_open_pcsc, exclusive, T=0 or T=1;
 *   - simulated: cf_transport_open_sim, a cf_simcard_t in this process,
 *     with fault injection (a card pulled at the k-th APDU) and a latency
 *     hook;
 *   - scripted: canned answers for unit tests and fuzzing (internal).
 *
 * Threads: a cf_transport_t is used by one thread at a time. Transports are
 * independent of each other (each PC/SC transport has its own PC/SC context,
 * as pcsc-lite wants one context per thread), so a batch runner can drive
 * one reader per thread. A cf_trace_t may be shared by all of them. A
 * cf_pcsc_t is used by one thread at a time, except cf_pcsc_cancel, which
 * any thread may call.
 *
 * Only short APDUs are sent (Lc <= 255, Le <= 256); longer command data is
 * chained. Extended-length APDUs are not used: not every reader and card
 * supports them, and chaining works everywhere.
 */
#ifndef CARDFORGE_TRANSPORT_H
#define CARDFORGE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cardforge/error.h>
#include <cardforge/simcard.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_transport cf_transport_t;
typedef struct cf_pcsc cf_pcsc_t;
typedef struct cf_trace cf_trace_t;

/* Most command data one cf_transport_transmit accepts (chained in 255-byte
 * links), and most response data it collects over GET RESPONSE rounds. */
#define CF_TRANSPORT_MAX_COMMAND 65535
#define CF_TRANSPORT_MAX_RESPONSE 65536
/* Most GET RESPONSE commands one transmit sends before it gives up on a
 * card that keeps answering 61xx (65536 bytes in 256-byte pieces). */
#define CF_TRANSPORT_MAX_GET_RESPONSE 256
/* Longest ATR (ISO 7816-3). */
#define CF_ATR_MAX 33

/* cf_capdu_t.flags */
#define CF_CAPDU_SECRET_DATA 0x1u     /* all command data is secret */
#define CF_CAPDU_SECRET_RESPONSE 0x2u /* the response data is secret */

/* A command APDU as the card layer means it, before chaining. Nothing here
 * is owned: data is borrowed for the duration of the call. */
typedef struct cf_capdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* may be NULL when len == 0 */
    size_t len;          /* Nc: 0 .. CF_TRANSPORT_MAX_COMMAND */
    size_t le;           /* Ne: 0 = no Le field; 1 .. 256 (256 is sent as 00) */
    /* Secret part of the data, printed "**" in the trace: data[secret_off ..
     * secret_off + secret_len). CF_CAPDU_SECRET_DATA covers all of it. */
    size_t secret_off, secret_len;
    unsigned flags; /* CF_CAPDU_* */
} cf_capdu_t;

/* A response: data and status word apart. data is BORROWED from the
 * transport: it stays valid until the next call on the same transport, and
 * the transport wipes it then (and on cf_transport_wipe_response and close).
 * The card layer copies what it keeps, into a cf_secret_t when secret. */
typedef struct cf_rapdu {
    const uint8_t *data; /* never NULL, even when len == 0 */
    size_t len;
    uint16_t sw; /* SW1 << 8 | SW2 */
} cf_rapdu_t;

/* What happens to the card when a connection closes. */
typedef enum cf_disposition {
    CF_DISPOSE_LEAVE = 0,   /* leave it powered, state as it is */
    CF_DISPOSE_RESET = 1,   /* warm reset: volatile state cleared */
    CF_DISPOSE_UNPOWER = 2, /* power it off */
} cf_disposition_t;

/* ---- traces ---- */

/* A trace sink writing one line per APDU each way to out, which is
 * BORROWED: it must stay open until cf_trace_free. Lines from several
 * transports (threads) are never interleaved within a line. Each line is
 * flushed, so a crash leaves the trace up to the last APDU. The caller owns
 * *tr. CF_ERR_NOMEM or CF_ERR_ARG (out NULL). */
cf_err_t cf_trace_new(FILE *out, cf_trace_t **tr);

/* Free the sink (not the FILE); NULL is fine. No transport may still use it. */
void cf_trace_free(cf_trace_t *tr);

/* Trace t's APDUs to tr (BORROWED; must outlive t or be unset with NULL). */
void cf_transport_set_trace(cf_transport_t *t, cf_trace_t *tr);

/* ---- opening and closing ---- */

/* Connect to the card in the PC/SC reader named reader_name (exact name, as
 * listed), EXCLUSIVELY, with T=0 or T=1 as the card offers. The transport
 * establishes its own PC/SC context. On failure a message naming the reader
 * and the PC/SC code is written to errbuf (may be NULL). Typical errors:
 * CF_ERR_NO_SERVICE, CF_ERR_NO_READER, CF_ERR_NO_CARD, CF_ERR_SHARING. The
 * caller owns *out and closes it with cf_transport_close. */
cf_err_t cf_transport_open_pcsc(const char *reader_name, cf_transport_t **out, char *errbuf,
                                size_t errlen);

/* A simulated reader named reader_name holding card, which is BORROWED:
 * it must outlive the transport. Opening powers the card on (which clears
 * its volatile state, as inserting a card does). The caller owns *out. */
cf_err_t cf_transport_open_sim(cf_simcard_t *card, const char *reader_name, cf_transport_t **out);

/* Close the connection, leaving, resetting or unpowering the card, and free
 * t (its buffers are wiped). NULL is fine. */
void cf_transport_close(cf_transport_t *t, cf_disposition_t how);

/* ---- talking to the card ---- */

/* Send cmd and collect the whole response into *resp (see cf_rapdu_t for
 * who owns resp->data):
 *   - data longer than 255 bytes is sent as a chain of 255-byte links with
 *     CLA | 0x10 (the last link without); a link answered with anything but
 *     9000 ends the command and its answer is the response;
 *   - 6Cxx: the command is sent once more with Le = xx (not for a chained
 *     command, whose earlier links the card has already consumed);
 *   - 61xx: GET RESPONSE (00 C0 00 00 xx) until the card stops saying 61xx,
 *     at most CF_TRANSPORT_MAX_GET_RESPONSE times and
 *     CF_TRANSPORT_MAX_RESPONSE bytes (CF_ERR_BAD_RESPONSE beyond);
 * CF_OK means the card answered; resp->sw says what it answered. Errors are
 * the transport's (CF_ERR_CARD_REMOVED, CF_ERR_CARD_RESET, ...) with
 * cf_transport_errmsg; CF_ERR_ARG for a malformed cmd (Le > 256, secret
 * range outside the data, CLA with the chaining bit and data > 255).
 * CF_ERR_CARD_RESET from PC/SC means the card was reset by someone else:
 * the APDU was not delivered, the transport has reconnected, and every
 * volatile state (PIN verified, selected application) is gone. */
cf_err_t cf_transport_transmit(cf_transport_t *t, const cf_capdu_t *cmd, cf_rapdu_t *resp);

/* Wipe the response buffer now (the card layer calls this as soon as it has
 * copied a secret out of resp->data). */
void cf_transport_wipe_response(cf_transport_t *t);

/* Warm-reset the card (volatile state cleared) and refresh the ATR. */
cf_err_t cf_transport_reset(cf_transport_t *t);

/* PC/SC transactions (SCardBeginTransaction / SCardEndTransaction, leaving
 * the card); no-ops on simulated readers. The connection is exclusive
 * anyway; a transaction also keeps pcscd from powering the card down
 * between commands. */
cf_err_t cf_transport_begin(cf_transport_t *t);
cf_err_t cf_transport_end(cf_transport_t *t);

/* ---- what the transport knows ---- */

/* The reader name given at open (borrowed, lives as long as t). */
const char *cf_transport_reader(const cf_transport_t *t);

/* "pcsc", "sim" or "script". */
const char *cf_transport_kind(const cf_transport_t *t);

/* The card's ATR, borrowed from t (refreshed on reset/reconnect). */
const uint8_t *cf_transport_atr(const cf_transport_t *t, size_t *len);

/* The active protocol: 0 for T=0, 1 for T=1, -1 when not PC/SC. */
int cf_transport_protocol(const cf_transport_t *t);

/* APDUs handed to the reader since open, GET RESPONSE rounds and chain
 * links included (the journal's "APDU count"). */
uint64_t cf_transport_apdu_count(const cf_transport_t *t);

/* The message of the last failed call on t ("reader 'X': card removed
 * (SCARD_W_REMOVED_CARD)"), "" after a success. Borrowed, valid until the
 * next call on t. Never contains secret bytes. */
const char *cf_transport_errmsg(const cf_transport_t *t);

/* ---- simulated readers: fault injection and latency ---- */

typedef enum cf_sim_pull {
    CF_SIM_PULL_UNDELIVERED = 0, /* the card is pulled before it gets the APDU */
    CF_SIM_PULL_ANSWER_LOST = 1, /* the card processes it, the answer is lost */
} cf_sim_pull_t;

/* Pull the card out at the k-th APDU handed to the reader from now (k >= 1;
 * chain links and GET RESPONSE rounds count, as in cf_transport_apdu_count).
 * APDUs 1 .. k-1 are delivered; the k-th is not delivered, or delivered with
 * its answer lost (mode); the card is then powered off and every later call
 * on t returns CF_ERR_CARD_REMOVED. k == 0 disarms. CF_ERR_UNSUPPORTED on a
 * transport that is not simulated. */
cf_err_t cf_transport_sim_pull_after(cf_transport_t *t, unsigned long k, cf_sim_pull_t mode);

/* Called after every APDU the simulated card processed, with its cost
 * (bytes, crypto operations, non-volatile writes). The latency model lives
 * in the caller: the hook may sleep. */
typedef void (*cf_sim_latency_fn)(void *user, const cf_simcard_cost_t *cost);

/* Set (or with fn NULL, remove) the latency hook; user is passed through.
 * CF_ERR_UNSUPPORTED on a transport that is not simulated. */
cf_err_t cf_transport_sim_set_latency(cf_transport_t *t, cf_sim_latency_fn fn, void *user);

/* ---- PC/SC readers: listing and watching ---- */

/* A PC/SC context for listing and watching readers. On failure a message
 * is written to errbuf (may be NULL): CF_ERR_NO_SERVICE when pcscd is not
 * running. The caller owns *out. */
cf_err_t cf_pcsc_new(cf_pcsc_t **out, char *errbuf, size_t errlen);

/* Release the context; NULL is fine. Not while another thread may call
 * cf_pcsc_cancel on it. */
void cf_pcsc_free(cf_pcsc_t *ctx);

/* The message of the last failed call on ctx, "" after a success. */
const char *cf_pcsc_errmsg(const cf_pcsc_t *ctx);

/* The readers connected now: *names is a NULL-terminated array of *count
 * strings, owned by the caller, freed with cf_pcsc_free_names. No reader
 * at all is CF_OK with an empty array. */
cf_err_t cf_pcsc_list_readers(cf_pcsc_t *ctx, char ***names, size_t *count);
void cf_pcsc_free_names(char **names); /* NULL is fine */

/* cf_reader_info_t.state bits */
#define CF_READER_PRESENT 0x01u     /* a card is in the reader */
#define CF_READER_EMPTY 0x02u       /* no card */
#define CF_READER_MUTE 0x04u        /* a card that does not answer (upside down?) */
#define CF_READER_EXCLUSIVE 0x08u   /* someone has the card exclusively */
#define CF_READER_INUSE 0x10u       /* someone has the card shared */
#define CF_READER_UNAVAILABLE 0x20u /* the reader is gone or not usable */

typedef struct cf_reader_info {
    const char *name; /* borrowed from ctx, valid until the next wait */
    unsigned state;   /* CF_READER_* */
    int changed;      /* the state changed in the last cf_pcsc_wait_change */
    unsigned events;  /* pcsc-lite's card event counter for the reader */
    uint8_t atr[CF_ATR_MAX];
    size_t atr_len; /* 0 without a card */
} cf_reader_info_t;

/* Wait until a reader appears or disappears or a card is inserted or
 * removed (SCardGetStatusChange with \\?PnP?\Notification), for at most
 * timeout_ms (< 0: no limit). The first call returns at once with every
 * reader marked changed. Then read the snapshot with cf_pcsc_reader_count
 * and cf_pcsc_reader_info. CF_OK: something changed; CF_ERR_TIMEOUT;
 * CF_ERR_INTERRUPTED after cf_pcsc_cancel; CF_ERR_NO_SERVICE when pcscd
 * stopped (create a new context when it is back). */
cf_err_t cf_pcsc_wait_change(cf_pcsc_t *ctx, long timeout_ms);

size_t cf_pcsc_reader_count(const cf_pcsc_t *ctx);
/* CF_ERR_ARG when i >= cf_pcsc_reader_count. */
cf_err_t cf_pcsc_reader_info(const cf_pcsc_t *ctx, size_t i, cf_reader_info_t *info);

/* Make the current and every later cf_pcsc_wait_change on ctx return
 * CF_ERR_INTERRUPTED (within about a second). Safe from any thread (not
 * from a signal handler); sticky: make a new context to wait again. */
void cf_pcsc_cancel(cf_pcsc_t *ctx);

#ifdef __cplusplus
}
#endif
#endif
