/*
 * pcsc_err.h - PC/SC return codes to cf_err_t (internal).
 *
 * One table maps every SCARD_* code pcsc-lite defines to one cf_err_t, its
 * symbolic name and a sentence for people. Exposed so the unit test can
 * walk it.
 */
#ifndef CF_TRANSPORT_PCSC_ERR_H
#define CF_TRANSPORT_PCSC_ERR_H

#include <stddef.h>

#include <cardforge/error.h>

struct cf_pcsc_code {
    long code;        /* SCARD_* (a LONG in pcsc-lite) */
    const char *name; /* "SCARD_W_REMOVED_CARD" */
    cf_err_t err;
    const char *text; /* "card removed" */
};

/* The entry for code, or NULL for a code pcsc-lite does not define. */
const struct cf_pcsc_code *cf_pcsc_lookup(long code);

/* The cf_err_t for code: the table's, CF_ERR_TRANSPORT for unknown codes. */
cf_err_t cf_pcsc_map(long code);

/* "card removed (SCARD_W_REMOVED_CARD)" or "unknown PC/SC error
 * (0x80100099)" into buf. */
void cf_pcsc_describe(long code, char *buf, size_t len);

/* The whole table, for tests. */
const struct cf_pcsc_code *cf_pcsc_codes(size_t *count);

#endif
