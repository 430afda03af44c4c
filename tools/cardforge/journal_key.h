/*
 * journal_key.h - which master key (name and version) a card's admin key
 * was derived from, read from the runs' journals: what the helpdesk needs
 * to answer the card's unblock challenge without guessing, and so without
 * spending one of the card's tries on a wrong version. Used by `helpdesk
 * response --journal` and by the helpdesk page (`helpdesk serve
 * --journal`).
 */
#ifndef CF_TOOLS_JOURNAL_KEY_H
#define CF_TOOLS_JOURNAL_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>
#include <cardforge/keys.h>

typedef struct journal_key {
    char key[CF_KEYS_NAME_MAX + 1]; /* the master key's name */
    unsigned version;
    const char *path;   /* the journal the record is in (borrowed), NULL: none found */
    unsigned long line; /* its line there, 0 when none was found */
    int64_t time;       /* when the card's attempt ended, ms since the epoch (UTC) */
    int unknown;        /* the key change may or may not have reached the card */
} journal_key_t;

/* Look the card with serial (normalized, cf_keys_serial_normalize) up in
 * the n journals: its last record, by time, whose rotate-admin-key step
 * installed a key derived from a master key. CF_OK with k->line 0 when
 * there is none; otherwise an error of cf_journal_scan with err naming
 * the journal and the cause. */
cf_err_t journal_key_find(const char *const *paths, size_t n, const char *serial, journal_key_t *k,
                          char *err, size_t errlen);

/* "2026-12-05 13:45:20 UTC" for a journal time. */
void journal_key_time(int64_t ms, char *out, size_t cap);

#endif
