/*
 * utf8.h - strict UTF-8 validation of batch fields and descriptions (internal).
 *
 * Batch values end up on cards and in journals; a byte that is not text
 * would be written as-is and surface later as an unreadable name or a PIN
 * nobody can type. The check is strict (RFC 3629): overlong forms,
 * surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated
 * sequences are refused, and NUL is reported on its own because C strings
 * cannot carry it.
 */
#ifndef CF_UTIL_UTF8_H
#define CF_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef enum cf_utf8_result {
    CF_UTF8_OK = 0,
    CF_UTF8_NUL = 1,     /* a 0x00 byte */
    CF_UTF8_INVALID = 2, /* not a well-formed UTF-8 sequence */
} cf_utf8_result_t;

/* Check s[0..len). On failure *bad_off (if not NULL) is the offset of the
 * first byte of the offending sequence. */
cf_utf8_result_t cf_utf8_check(const uint8_t *s, size_t len, size_t *bad_off);

#endif
