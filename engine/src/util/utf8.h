/* utf8.h - UTF-8 validation (internal). */
#ifndef CF_UTIL_UTF8_H
#define CF_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, no
 * code points above U+10FFFF) and holds no NUL byte. */
int cf_utf8_valid(const uint8_t *s, size_t len);

#endif
