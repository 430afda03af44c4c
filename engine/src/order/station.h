/*
 * station.h - one station's part in an order (internal: the runner's).
 *
 * The rules the calls keep (docs/stations.md):
 *   - a station joins under its name: one process per name at a time (a
 *     session advisory lock, gone with the process), a new fencing token per
 *     join, and a lease on the database clock that heartbeats extend;
 *   - a claim is one short statement (FOR UPDATE SKIP LOCKED): the lowest
 *     records that are pending, or claimed by a station whose lease ran out
 *     without an intent in the database (such a claim provably touched no
 *     card); no row lock is held while a card is worked;
 *   - before a card is touched, its attempt's intent must be in the
 *     database, on a record this station still holds under its token: a
 *     claim with an intent stays with its station until that station
 *     finishes it (or an operator voids it), whatever its lease;
 *   - results are idempotent (one row per station and attempt number), and
 *     a result is taken only from the station holding the record, so a
 *     station that lost its claim never writes over another's.
 * Every call is safe from several threads: the claims, heartbeats and
 * replays share the control connection (which holds the name's lock), the
 * intents and results take one of a few card connections each
 * (station_conn.h), so a card never waits behind a claim.
 */
#ifndef CF_ORDER_STATION_H
#define CF_ORDER_STATION_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/diag.h>
#include <cardforge/error.h>
#include <cardforge/journal.h>

typedef struct cf_station cf_station_t;

typedef struct cf_station_opts {
    const char *conninfo;           /* libpq; no password (order.h) */
    const char *order;              /* the order's name */
    const char *name;               /* the station's name, 1..64 bytes */
    const char *batch_sha256;       /* the station's batch copy: must be the order's */
    const char *description_sha256; /* likewise */
    unsigned lease_s;               /* 0 = 30 */
    unsigned card_connections;      /* opened at the join for intents and results
                                       (one per reader that works at once; more are
                                       opened while all are busy), 1..4; 0 = 4 */
} cf_station_opts_t;

/* Connect, check the order and the fingerprints, take the station's name
 * (refused while another process holds it), get a fencing token and a lease,
 * move this station's earlier claims to the new token, and release those of
 * them that no intent in the database binds to a card. */
cf_err_t cf_station_join(const cf_station_opts_t *o, cf_diag_list_t *diags, cf_station_t **out);

/* Release the claims no intent binds, end the lease, disconnect. NULL ok. */
void cf_station_leave(cf_station_t *st);

/* 1..255: the station's number in the order (stable across joins). */
unsigned cf_station_number(const cf_station_t *st);

/* One claim statement for up to want records (at most
 * CF_STATION_CLAIM_MAX): 1 with *n records in records, 0 when nothing is
 * claimable now, -1 when the database failed or the lease is lost (why
 * says which). */
#define CF_STATION_CLAIM_MAX 16
int cf_station_claim(cf_station_t *st, unsigned want, uint64_t *records, unsigned *n, char *why,
                     size_t cap);

/* The records this station holds with an intent in the database (claims
 * from before a restart whose cards may come back); up to cap into
 * records, the count returned (-1 on a database failure). */
long cf_station_held(cf_station_t *st, uint64_t *records, size_t cap);

/* The intent of an attempt on a record: CF_OK when it is in the database
 * (also when it was already); CF_ERR_REFUSED when the record is no longer
 * this station's; CF_ERR_DATABASE when the database cannot say. In both
 * error cases the card must not be touched. */
cf_err_t cf_station_intent(cf_station_t *st, uint64_t attempt, uint64_t record, const char *serial,
                           const char *reader, char *why, size_t cap);

/* A card's result (its journal card line). given_up: the record has used
 * its attempts (it becomes failed). CF_OK, CF_ERR_DATABASE (upload later
 * with cf_station_replay), CF_ERR_REFUSED (the database refused it: a serial
 * personalized twice in the order, or a record not this station's). */
cf_err_t cf_station_result(cf_station_t *st, const cf_journal_card_t *c, int given_up, char *why,
                           size_t cap);

/* Extend the lease: CF_OK, CF_ERR_REFUSED (the lease was lost: another
 * process joined under this name), CF_ERR_DATABASE. */
cf_err_t cf_station_heartbeat(cf_station_t *st, char *why, size_t cap);

/* Send the journal's intents and results the database does not have (it
 * says first which of the station's attempts it holds, and which of them
 * are final; a re-sent line is idempotent all the same). CF_OK or
 * CF_ERR_DATABASE; *sent counts the rows sent. */
cf_err_t cf_station_replay(cf_station_t *st, const char *journal, unsigned long *sent,
                           cf_diag_list_t *diags);

/* The order's records: total, done, claimed, failed. CF_OK or
 * CF_ERR_DATABASE. */
cf_err_t cf_station_counts(cf_station_t *st, uint64_t counts[4]);

/* What a station would find in its order, read without joining it. */
typedef struct cf_station_preview {
    uint64_t records, pending, claimed, done, failed; /* the order's records by state */
    unsigned number;      /* the station's number in the order; 0: it never joined */
    unsigned next_number; /* the number a first join would get now */
    int running;          /* 1: a process runs as this station now */
    uint64_t held;        /* its claims an open intent binds: taken up again */
    uint64_t held_first[8];
    size_t n_held_first;
    uint64_t claimable; /* records it could claim now */
    uint64_t next[8];   /* the first of them, in the order it would claim them */
    size_t n_next;
} cf_station_preview_t;

/* Check the order and the fingerprints as cf_station_join does (the same
 * errors), then read the preview, on a session the server holds read-only:
 * nothing is claimed, registered or written. o->lease_s is not used. */
cf_err_t cf_station_preview(const cf_station_opts_t *o, cf_station_preview_t *out,
                            cf_diag_list_t *diags);

/* Reconnect after a failure (the same token while the lease lasts). */
cf_err_t cf_station_reconnect(cf_station_t *st, char *why, size_t cap);

#endif
