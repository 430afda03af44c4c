/*
 * vcard.h - the parts of cardforge-vcard and how they meet (internal).
 *
 * cardforge-vcard puts one virtual card (engine/src/simcard) into one vpcd
 * reader slot. The pieces, one job each:
 *   main.c     options, usage, start-up and exit status;
 *   supply.c   which card is in the slot: one card with an optional state
 *              file, or a feeder that supplies a fresh card per insertion;
 *   link.c     the TCP connection to the vpcd driver: connect, reconnect
 *              with backoff, framing, answering, latency, faults;
 *   events.c   the event loop: signals, the control socket, the link;
 *   control.c  the unix control socket, server and one-shot client;
 *   log.c      -v logging to stderr (never APDU data).
 * Single-threaded: everything happens in one poll() loop, so a card is
 * only ever touched by one piece at a time.
 */
#ifndef CF_TOOLS_VCARD_H
#define CF_TOOLS_VCARD_H

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <time.h>

#include <cardforge/simcard.h>

#include "vcard/fault.h"
#include "vcard/frame.h"
#include "vcard/latency.h"

/* Exit status. */
#define VCARD_EXIT_OK 0
#define VCARD_EXIT_FAIL 1
#define VCARD_EXIT_USAGE 2

struct vcard_opts {
    uint16_t port;
    const char *type;
    const char *factory;
    const char *state;    /* single card: its state file, or NULL */
    const char *feed_dir; /* feeder mode when non-NULL */
    const char *control;  /* unix control socket path, or NULL */
    const char *send;     /* client mode: command for the daemon at control */
    uint32_t serial;
    int print_atr;
    int verbose;
    int latency_on;
    cf_vcard_latency_t latency;
    cf_vcard_faults_t faults;
    int no_tuning; /* benchmark only: plain TCP socket */
};

/* ---- log.c ---- */
void vcard_log_init(int verbose, uint16_t port);
/* Print when level <= -v count. Never pass APDU data bytes. */
void vcard_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Always printed: errors (timestamped like the log with -v, plain without). */
void vcard_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- supply.c ---- */
struct supply {
    const struct vcard_opts *o;
    cf_simcard_t *card; /* the card in the slot, NULL when the feeder's slot is empty */
    uint32_t next_serial;
};

/* Prepare the first card (loaded or created). Returns an exit status:
 * VCARD_EXIT_OK, VCARD_EXIT_USAGE (unknown type/factory, type mismatch) or
 * VCARD_EXIT_FAIL, with the reason printed. */
int supply_open(struct supply *s, const struct vcard_opts *o);
/* Make sure a card is in the slot (the feeder takes the next fresh one).
 * 0, or -1 with the reason printed. */
int supply_insert(struct supply *s);
/* The card leaves the slot: powered off; the feeder keeps its final state
 * file and logs the event. reason is a short word for events.log. */
void supply_remove(struct supply *s, const char *reason);
/* At exit: remove (feeder) or save (single card with a state file), free. */
void supply_close(struct supply *s);

/* ---- control.c ---- */
#define CONTROL_MAX_CLIENTS 4
#define CONTROL_LINE_MAX 128

struct control_client {
    int fd;
    size_t len;
    char buf[CONTROL_LINE_MAX];
};

struct control {
    int lfd;
    const char *path;
    struct control_client c[CONTROL_MAX_CLIENTS];
};

struct vcard;
/* Bind the control socket (mode 0600; a stale socket file is replaced, a
 * live one refused). 0 or -1 with the reason printed. */
int control_open(struct control *c, const char *path);
void control_close(struct control *c);
/* Append this socket's poll entries; returns how many. */
size_t control_pollfds(const struct control *c, struct pollfd *pfd, size_t room);
/* Serve whatever poll reported on the entries control_pollfds appended. */
void control_serve(struct control *c, const struct pollfd *pfd, size_t n, struct vcard *v);
/* Client mode: send one command, print the reply. Returns an exit status. */
int control_send(const char *path, const char *cmd);

/* ---- link.c + events.c: the daemon ---- */
struct vcard {
    const struct vcard_opts *o;
    struct supply sup;
    struct control ctl;
    int sigfd;
    int stop;
    int present;       /* the card is in the reader (the link should be up) */
    int sock;          /* connection to the vpcd driver, -1 when down */
    uint64_t conn_gen; /* bumped per connection: a reply is for one connection */
    int got_message;   /* this connection has delivered a message */
    unsigned backoff_ms;
    struct timespec next_try;
    uint64_t apdus;    /* APDUs received since start (the drop fault counts these) */
    int drop_fired;
    cf_vcard_rx *rx;
    uint8_t *resp;     /* CF_SIMCARD_MAX_RESPONSE */
    uint8_t *out;      /* 2 + CF_SIMCARD_MAX_RESPONSE */
};

/* link.c */
void link_init(struct vcard *v);
/* Try to connect now if the card is present and the backoff has passed. */
void link_try_connect(struct vcard *v);
/* Milliseconds until the next connection attempt is due, -1 for none. */
int link_timeout_ms(const struct vcard *v);
/* Read once from the driver and answer every whole message received. */
void link_readable(struct vcard *v);
/* Close the connection (a card pull for vpcd); the card is powered off. */
void link_drop(struct vcard *v, const char *why);

/* events.c */
/* Run the loop until SIGTERM/SIGINT/SIGHUP. Returns an exit status. */
int vcard_run(struct vcard *v);
/* One round of the loop: wait up to timeout_ms (-1: forever) for signals,
 * control requests and, if with_card, the driver; handle what arrived. */
void vcard_poll_once(struct vcard *v, int timeout_ms, int with_card);
/* Card out / card in, from a signal, the control socket or a fault. */
void vcard_remove(struct vcard *v, const char *reason);
void vcard_insert(struct vcard *v);
/* Answer a control command line into reply. */
void vcard_command(struct vcard *v, const char *line, char *reply, size_t cap);

/* Monotonic time helpers. */
struct timespec vcard_now(void);
int64_t vcard_ms_until(struct timespec t); /* rounded up */
int64_t vcard_us_until(struct timespec t); /* rounded towards zero */
struct timespec vcard_after_us(struct timespec t, uint64_t us);

#endif
