/*
 * u64map.h - an open-addressing hash map from 64-bit keys to 64-bit values
 * (internal).
 *
 * The journal's resume state must stay small when a journal holds a million
 * cards: serials are kept as 64-bit hashes (cf_u64map_hash_str), record
 * attempt counters and open intents as small integers, so an entry is one
 * machine word (a set) or two (a map) and there is no per-entry allocation.
 * Linear probing over a table of any size (keys are spread with a
 * multiply-shift range reduction, so the table need not be a power of two
 * and can grow by half), at most 4/5 full; removal uses backward-shift
 * deletion, so no tombstones accumulate. Any 64-bit key may be used.
 */
#ifndef CF_JOURNAL_U64MAP_H
#define CF_JOURNAL_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cf_u64map {
    uint64_t *keys; /* mixed keys; 0 marks an empty slot */
    uint64_t *vals; /* NULL for a set */
    int is_set;
    size_t cap;    /* slots, or 0 before the first insert */
    size_t used;   /* occupied slots */
    int zero_used; /* the one key whose mix is 0 lives here, off-table */
    uint64_t zero_val;
} cf_u64map;

/* An empty map (no allocation until the first put). */
void cf_u64map_init(cf_u64map *m);
/* An empty set: values are not stored (get returns 1 for present keys and
 * leaves *val alone). */
void cf_u64map_init_set(cf_u64map *m);
/* Make room for n entries in all (a hint: -1 only when out of memory). */
int cf_u64map_reserve(cf_u64map *m, size_t n);
void cf_u64map_free(cf_u64map *m);

/* Insert or replace. -1 when out of memory (the map is unchanged). */
int cf_u64map_put(cf_u64map *m, uint64_t key, uint64_t val);
/* 1 and *val (may be NULL) when key is present, else 0. */
int cf_u64map_get(const cf_u64map *m, uint64_t key, uint64_t *val);
/* 1 when key was present and is now removed, else 0. */
int cf_u64map_del(cf_u64map *m, uint64_t key);

/* Entries in the map. */
size_t cf_u64map_count(const cf_u64map *m);

/* Bytes the map's tables take (for the memory figures). */
size_t cf_u64map_bytes(const cf_u64map *m);

/* A 64-bit hash of a string (FNV-1a, then a final avalanche): serials are
 * short, printable and not adversarial; a collision between two serials of
 * one journal has a probability of about n^2 / 2^65. */
uint64_t cf_u64map_hash_str(const char *s);

#endif
