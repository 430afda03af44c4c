/*
 * hex.h - hex encoding and decoding (internal).
 */
#ifndef CF_UTIL_HEX_H
#define CF_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>

/* The value of one hex digit (either case), or -1. */
int cf_hex_digit(int c);

/* Decode exactly hexlen characters (even) into out, which holds outlen >=
 * hexlen/2 bytes. CF_ERR_PARSE on an odd length or a non-hex digit. */
cf_err_t cf_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen);

/* 1 when s[0..len) is a non-empty, even-length run of hex digits. */
int cf_hex_valid(const char *s, size_t len);

/* Encode len bytes as upper-case hex into out (2*len+1 bytes, NUL-ended). */
void cf_hex_encode(const uint8_t *in, size_t len, char *out);

#endif
