/*
 * transport_int.h - what a transport backend implements (internal).
 *
 * The core (transport.c) owns everything the backends share: building
 * short APDUs, chaining, 61xx/6Cxx handling, the response buffer, counters,
 * tracing and the error message. A backend only moves one raw APDU to its
 * card and one raw response back, and knows how to reset, lock and close
 * its connection. That keeps PC/SC, the simulated card and the scripted
 * test card exactly alike above this line.
 */
#ifndef CF_TRANSPORT_INT_H
#define CF_TRANSPORT_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cardforge/transport.h>

/* The longest raw response a backend may hand back: what a simulated card
 * needs (CF_SIMCARD_MAX_RESPONSE) and more than any short APDU gets. */
#define CF_RAW_RESPONSE_CAP CF_SIMCARD_MAX_RESPONSE
/* The longest raw command the core builds: header, Lc, 255 bytes, Le. */
#define CF_RAW_COMMAND_CAP (4 + 1 + 255 + 1)
#define CF_ERRMSG_MAX 256

struct cf_transport_ops {
    const char *kind;
    /* Send cmd[0..len) and receive the raw answer (data + SW1 SW2) into
     * resp[0..cap), setting *resp_len <= cap. On failure return the error
     * after cf_transport_fail (which sets the message). */
    cf_err_t (*transmit)(cf_transport_t *t, const uint8_t *cmd, size_t len, uint8_t *resp,
                         size_t cap, size_t *resp_len);
    /* Warm reset; refresh the ATR with cf_transport_set_atr. */
    cf_err_t (*reset)(cf_transport_t *t);
    cf_err_t (*begin)(cf_transport_t *t);
    cf_err_t (*end)(cf_transport_t *t);
    /* Apply the disposition and free t->impl (not t). */
    void (*close)(cf_transport_t *t, cf_disposition_t how);
};

struct cf_transport {
    const struct cf_transport_ops *ops;
    void *impl;    /* the backend's state, freed by ops->close */
    char *reader;  /* the name as given */
    char *display; /* the name with control characters replaced, for text */
    int protocol;  /* 0 T=0, 1 T=1, -1 n/a */
    uint8_t atr[CF_ATR_MAX];
    size_t atr_len;
    uint64_t apdus;
    cf_trace_t *trace; /* borrowed */
    char errmsg[CF_ERRMSG_MAX];
    uint8_t cmd[CF_RAW_COMMAND_CAP]; /* the raw APDU being sent; wiped after */
    uint8_t *raw;                    /* one raw answer, CF_RAW_RESPONSE_CAP; wiped after */
    uint8_t *resp;                   /* the collected response data, CF_TRANSPORT_MAX_RESPONSE */
    size_t resp_len;
};

/* A new transport with the core's buffers, for a backend's open function.
 * reader is copied. The backend then sets impl, protocol and the ATR. */
cf_err_t cf_transport_alloc(const struct cf_transport_ops *ops, const char *reader,
                            cf_transport_t **out);

/* Wipe and free what cf_transport_alloc made (the backend's impl is the
 * backend's business); for a backend whose open failed after alloc. */
void cf_transport_dealloc(cf_transport_t *t);

/* Set t's message to "reader 'NAME': " + the formatted text, and return
 * err, so a backend writes `return cf_transport_fail(t, err, ...)`. */
cf_err_t cf_transport_fail(cf_transport_t *t, cf_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void cf_transport_set_atr(cf_transport_t *t, const uint8_t *atr, size_t len);

/* Copy t's error message to errbuf (may be NULL) for an open function that
 * is about to free t. */
void cf_transport_copy_errmsg(const cf_transport_t *t, char *errbuf, size_t errlen);

#endif
