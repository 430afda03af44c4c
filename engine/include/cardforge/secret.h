/*
 * secret.h - buffers for PINs, PUKs, keys and challenge responses.
 *
 * A cf_secret_t owns its bytes: they are locked in memory where the system
 * allows it, on pages of their own left out of core dumps (MADV_DONTDUMP),
 * wiped with OPENSSL_cleanse when freed, and compared only in
 * constant time. There is deliberately no function that formats a secret as
 * text: code that needs to print one prints "***". Bytes are stored with a
 * trailing NUL (not counted in the length) so textual secrets such as PINs
 * can be passed to APIs that want a C string, without a copy.
 */
#ifndef CARDFORGE_SECRET_H
#define CARDFORGE_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_secret cf_secret_t;

/* New secret holding a copy of len bytes of data (data may be NULL when len
 * is 0). NULL when out of memory. The caller owns the result. */
cf_secret_t *cf_secret_new(const void *data, size_t len);

/* New secret of len bytes from a hex string (upper or lower case, no
 * separators). CF_ERR_PARSE on an odd length or a non-hex character. */
cf_err_t cf_secret_from_hex(const char *hex, size_t hexlen, cf_secret_t **out);

/* A copy of s; NULL when out of memory or s is NULL. */
cf_secret_t *cf_secret_dup(const cf_secret_t *s);

/* Wipe and free; NULL is fine. */
void cf_secret_free(cf_secret_t *s);

/* Borrowed view of the bytes (NUL-terminated, see above). */
const uint8_t *cf_secret_data(const cf_secret_t *s);
const char *cf_secret_str(const cf_secret_t *s);
size_t cf_secret_len(const cf_secret_t *s);

/* 1 when a and b have the same length and bytes, compared in constant time
 * over the bytes (the length itself is not secret). */
int cf_secret_equal(const cf_secret_t *a, const cf_secret_t *b);

/* Wipe any buffer the caller owns (OPENSSL_cleanse). */
void cf_wipe(void *p, size_t len);

/* Keep this process out of core dumps: core size limit 0 (soft and hard,
 * so it cannot be raised again) and not dumpable (PR_SET_DUMPABLE 0, which
 * also stops ptrace and /proc/PID/mem for anyone but root). Call it before
 * the first secret is read; both tools do, first thing in main. CF_OK when
 * both took effect; CF_ERR_PERMISSION when either failed (the other still
 * applies). */
cf_err_t cf_process_protect(void);

/* 1 when cf_process_protect took full effect: not dumpable, core limit 0. */
int cf_process_protected(void);

#ifdef __cplusplus
}
#endif
#endif
