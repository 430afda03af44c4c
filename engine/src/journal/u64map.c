/*
 * u64map.c - open addressing with linear probing and backward-shift delete.
 *
 * Keys are stored mixed (splitmix64's finaliser, a bijection), so small
 * sequential keys such as record numbers spread over the table and distinct
 * keys stay distinct. A mixed value of 0 marks an empty slot; the single key
 * whose mix is 0 is kept beside the table. The home slot of a mixed key k
 * is (k * cap) >> 64 (Lemire's range reduction), which works for any
 * table size.
 */
#include <stdlib.h>

#include "journal/u64map.h"

#define MIN_CAP 64u

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static size_t home(uint64_t mk, size_t cap)
{
    return (size_t)(((unsigned __int128)mk * cap) >> 64);
}

void cf_u64map_init(cf_u64map *m)
{
    m->keys = NULL;
    m->vals = NULL;
    m->is_set = 0;
    m->cap = 0;
    m->used = 0;
    m->zero_used = 0;
    m->zero_val = 0;
}

void cf_u64map_init_set(cf_u64map *m)
{
    cf_u64map_init(m);
    m->is_set = 1;
}

void cf_u64map_free(cf_u64map *m)
{
    int is_set = m->is_set;
    free(m->keys);
    free(m->vals);
    cf_u64map_init(m);
    m->is_set = is_set;
}

size_t cf_u64map_count(const cf_u64map *m)
{
    return m->used + (m->zero_used ? 1u : 0u);
}

size_t cf_u64map_bytes(const cf_u64map *m)
{
    return m->cap * (m->is_set ? 1 : 2) * sizeof(uint64_t);
}

/* Slot holding mk, or the empty slot where it would go. cap > 0 and the
 * table is never full. */
static size_t find_slot(const cf_u64map *m, uint64_t mk)
{
    size_t i = home(mk, m->cap);
    while (m->keys[i] != 0 && m->keys[i] != mk)
        i = (i + 1 == m->cap) ? 0 : i + 1;
    return i;
}

static int resize(cf_u64map *m, size_t ncap)
{
    if (ncap > SIZE_MAX / sizeof(uint64_t))
        return -1;
    uint64_t *nk = calloc(ncap, sizeof(uint64_t));
    uint64_t *nv = m->is_set ? NULL : malloc(ncap * sizeof(uint64_t));
    if (nk == NULL || (!m->is_set && nv == NULL)) {
        free(nk);
        free(nv);
        return -1;
    }
    cf_u64map old = *m;
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i] == 0)
            continue;
        size_t j = find_slot(m, old.keys[i]);
        m->keys[j] = old.keys[i];
        if (!m->is_set)
            m->vals[j] = old.vals[i];
    }
    free(old.keys);
    free(old.vals);
    return 0;
}

/* Slots needed to hold n entries at most 4/5 full. */
static size_t cap_for(size_t n)
{
    size_t c = n / 4 * 5 + 5;
    return c < MIN_CAP ? MIN_CAP : c;
}

int cf_u64map_reserve(cf_u64map *m, size_t n)
{
    size_t want = cap_for(n);
    if (want <= m->cap)
        return 0;
    return resize(m, want);
}

int cf_u64map_put(cf_u64map *m, uint64_t key, uint64_t val)
{
    uint64_t mk = mix(key);
    if (mk == 0) {
        m->zero_used = 1;
        m->zero_val = val;
        return 0;
    }
    if (m->cap > 0) {
        size_t i = find_slot(m, mk);
        if (m->keys[i] == mk) {
            if (!m->is_set)
                m->vals[i] = val;
            return 0;
        }
    }
    if ((m->used + 1) * 5 > m->cap * 4) {
        /* Grow by half: big journals pay at most 1.5x the need. */
        size_t ncap = m->cap ? m->cap + m->cap / 2 : MIN_CAP;
        if (ncap < cap_for(m->used + 1))
            ncap = cap_for(m->used + 1);
        if (resize(m, ncap) != 0)
            return -1;
    }
    size_t i = find_slot(m, mk);
    m->keys[i] = mk;
    if (!m->is_set)
        m->vals[i] = val;
    m->used++;
    return 0;
}

int cf_u64map_get(const cf_u64map *m, uint64_t key, uint64_t *val)
{
    uint64_t mk = mix(key);
    if (mk == 0) {
        if (m->zero_used && val != NULL && !m->is_set)
            *val = m->zero_val;
        return m->zero_used;
    }
    if (m->cap == 0)
        return 0;
    size_t i = find_slot(m, mk);
    if (m->keys[i] != mk)
        return 0;
    if (val != NULL && !m->is_set)
        *val = m->vals[i];
    return 1;
}

/* Cyclic distance from a to b going forward. */
static size_t dist(size_t a, size_t b, size_t cap)
{
    return b >= a ? b - a : b + cap - a;
}

int cf_u64map_del(cf_u64map *m, uint64_t key)
{
    uint64_t mk = mix(key);
    if (mk == 0) {
        int was = m->zero_used;
        m->zero_used = 0;
        return was;
    }
    if (m->cap == 0)
        return 0;
    size_t hole = find_slot(m, mk);
    if (m->keys[hole] != mk)
        return 0;
    /* Backward shift: an entry further along the probe run moves into the
     * hole when the hole lies between its home and it. */
    size_t j = hole;
    for (;;) {
        j = (j + 1 == m->cap) ? 0 : j + 1;
        if (m->keys[j] == 0)
            break;
        size_t h = home(m->keys[j], m->cap);
        if (dist(h, j, m->cap) >= dist(hole, j, m->cap)) {
            m->keys[hole] = m->keys[j];
            if (!m->is_set)
                m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->used--;
    return 1;
}

uint64_t cf_u64map_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return mix(h);
}
