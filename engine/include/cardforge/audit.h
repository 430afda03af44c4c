/*
 * audit.h - the tamper-evident audit log: who did what to which card.
 *
 * One JSON object per line (docs/helpdesk-guide.md, "The audit log"):
 *
 *   {"seq":1,"time":"2026-12-05T11:15:17.000Z","event":"login",
 *    "operator":"alice","client":"127.0.0.1","prev":"00..00"}
 *
 * Every line carries in "prev" the SHA-256 (hex) of the whole line before
 * it, line end included (64 zeros on the first line), and a "seq" counting
 * lines from 1. Every so many lines, when asked and at close, a checkpoint
 * line closes what came before:
 *
 *   {"seq":9,"time":"...","event":"checkpoint","final":true,"key":"KEYID",
 *    "prev":"...","sig":"<Ed25519 signature, hex>"}
 *
 * Its signature covers the line's bytes up to (not including) `,"sig":`,
 * and so, through "prev", every line before it. Changing, inserting or
 * deleting a line breaks the chain at that line; a line appended after the
 * last checkpoint is only chained, not signed, which verification reports
 * (a log that does not end with a final checkpoint was cut or is in use).
 *
 * The lines are built from the fields of cf_audit_event_t only, which has
 * no place for a PIN, key, password or response: nothing secret is
 * written. Written like the journal: O_APPEND, flock(LOCK_EX) (one writer
 * per log), one write(2) per line, fdatasync before cf_audit_write returns.
 * A cf_audit_t may be used by several threads at once.
 */
#ifndef CARDFORGE_AUDIT_H
#define CARDFORGE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CF_AUDIT_MAX_LINE 4096u       /* longest line written or accepted, line end included */
#define CF_AUDIT_MAX_FIELD 256u       /* longest string field, in bytes */
#define CF_AUDIT_CHECKPOINT_EVERY 64u /* default lines between checkpoints */
#define CF_AUDIT_ERRLEN 512u

typedef struct cf_audit cf_audit_t;

/* One event. NULL or empty strings are left out of the line; key_version 0
 * is left out. None of these may hold a secret: they are written as is. */
typedef struct cf_audit_event {
    const char *event;         /* required: "login", "login_failed", "lockout", "response", ... */
    const char *operator_name; /* who: an operator, or the OS user */
    const char *client;        /* where from: a client address, or "cli" */
    const char *serial;        /* card serial */
    const char *key_name;      /* master key the response was computed with */
    unsigned key_version;
    const char *outcome; /* "ok", "refused", ... */
    const char *detail;  /* a short reason, never a value typed by someone */
} cf_audit_event_t;

/* Open (or create, mode 0600) the log at path and load the Ed25519 private
 * key (PEM, PKCS#8) at key_path, which must be a regular file owned by the
 * caller with mode 0600 or 0400. An existing log is continued: its last
 * line is found and hashed; a torn last line (no line end, left by a
 * crash) is removed and noted in a "reopen" event. every: lines between
 * automatic checkpoints (0: CF_AUDIT_CHECKPOINT_EVERY). On failure err
 * holds a message naming the file and the cause. The caller frees *out
 * with cf_audit_close. */
cf_err_t cf_audit_open(const char *path, const char *key_path, unsigned every, cf_audit_t **out,
                       char *err, size_t errlen);

/* Append one event (and a checkpoint when one is due), both synced to disk
 * before this returns. CF_ERR_ARG when ev->event is missing or a field is
 * longer than CF_AUDIT_MAX_FIELD; CF_ERR_IO when the log cannot be written
 * (the log then refuses every later event). */
cf_err_t cf_audit_write(cf_audit_t *a, const cf_audit_event_t *ev);

/* Write a checkpoint now when lines were written since the last one. */
cf_err_t cf_audit_checkpoint(cf_audit_t *a);

/* Write the final checkpoint, sync, release the lock and free a. NULL is
 * fine. */
cf_err_t cf_audit_close(cf_audit_t *a);

/* ---- verification ---------------------------------------------------------- */

typedef enum cf_audit_damage {
    CF_AUDIT_INTACT = 0,
    CF_AUDIT_MALFORMED,     /* a line is not an audit line (edited) */
    CF_AUDIT_EDITED,        /* a line's content was changed */
    CF_AUDIT_INSERTED,      /* lines were inserted */
    CF_AUDIT_DELETED,       /* lines were deleted */
    CF_AUDIT_BAD_SIGNATURE, /* a checkpoint's signature does not verify */
    CF_AUDIT_WRONG_KEY,     /* checkpoints signed with another key than the one given */
    CF_AUDIT_TORN,          /* the last line is cut short */
    CF_AUDIT_TAIL_UNSEALED, /* the log does not end with a final checkpoint */
    CF_AUDIT_EMPTY,         /* no line at all */
} cf_audit_damage_t;

typedef struct cf_audit_report {
    cf_audit_damage_t damage; /* the first damage found */
    unsigned long line;       /* the line it concerns (1-based), 0 when none */
    unsigned long lines;      /* complete lines read */
    unsigned long checkpoints;
    unsigned long sealed; /* lines covered by the last valid checkpoint */
    char message[CF_AUDIT_ERRLEN];
} cf_audit_report_t;

/* Flags of cf_audit_verify. */
#define CF_AUDIT_VERIFY_OPEN 1u /* the log is in use: an unsealed tail is reported, not damage */

/* Verify the log at path against the Ed25519 public key (PEM) at
 * pubkey_path. CF_OK when the file could be read (rep says whether it is
 * intact); CF_ERR_IO or CF_ERR_INVALID (unreadable key) otherwise, with
 * rep->message saying why. */
cf_err_t cf_audit_verify(const char *path, const char *pubkey_path, unsigned flags,
                         cf_audit_report_t *rep);

/* The name of a damage kind ("edited", "inserted", ...). */
const char *cf_audit_damage_name(cf_audit_damage_t d);

/* Make a new Ed25519 audit key: the private key (PEM, PKCS#8) at priv_path,
 * created with mode 0600 and never over an existing file, and the public
 * key (PEM) at pub_path. */
cf_err_t cf_audit_keygen(const char *priv_path, const char *pub_path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
