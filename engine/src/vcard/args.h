/*
 * args.h - bounds-checked parsing of cardforge-vcard's option values
 * (internal).
 *
 * Command-line values are untrusted text: every number is parsed whole
 * (no trailing junk, no sign, no overflow) and checked against the range the
 * caller states, so a typo is a usage error instead of a silently wrong
 * port, baud rate or fault trigger. Kept apart from the daemon so the unit
 * tests and the fuzzer can reach it.
 */
#ifndef CF_VCARD_ARGS_H
#define CF_VCARD_ARGS_H

#include <stdint.h>

#include <cardforge/error.h>

/* A decimal integer in [min, max], digits only. CF_ERR_PARSE for anything
 * that is not a plain decimal number, CF_ERR_INVALID when out of range.
 * *out is written only on CF_OK. */
cf_err_t cf_vcard_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* A duration in milliseconds with at most three decimals ("3", "0.25",
 * "1.5"), at most max_ms, converted to whole microseconds. Same errors as
 * cf_vcard_parse_u32, plus CF_ERR_ARG when max_ms microseconds do not fit
 * in 32 bits (max_ms > 4294967). */
cf_err_t cf_vcard_parse_ms(const char *s, uint32_t max_ms, uint32_t *us);

#endif
