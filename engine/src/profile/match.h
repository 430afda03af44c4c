/*
 * match.h - the generic ways a profile points into card data (internal):
 * ATR patterns with masks, BER-TLV paths into a response, and a field (a
 * path, an offset, a length) that a serial, a version or a retry counter is
 * read from. Card answers are untrusted: every lookup goes through the
 * bounds-checked cursor.
 */
#ifndef CF_PROFILE_MATCH_H
#define CF_PROFILE_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/transport.h>

#define CF_PATH_MAX 4

/* "7C/82": the value of tag 82 inside the value of tag 7C; empty: the whole
 * response. */
typedef struct cf_tlv_path {
    unsigned tags[CF_PATH_MAX];
    size_t n;
} cf_tlv_path_t;

typedef struct cf_field {
    cf_tlv_path_t path;
    size_t offset;
    size_t length; /* 0: to the end of the value */
} cf_field_t;

typedef struct cf_atr_pattern {
    uint8_t value[CF_ATR_MAX];
    uint8_t mask[CF_ATR_MAX];
    size_t len;
} cf_atr_pattern_t;

#define CF_EXPECT_MAX_PREFIX 4
#define CF_EXPECT_PREFIX_LEN 32

/* What an identification answer must hold: at `field`'s path, a value that
 * starts with one of the prefixes (a SELECT answer's 4F may carry the PIX or
 * the whole AID). */
typedef struct cf_expect {
    int present;
    cf_field_t field;
    uint8_t prefix[CF_EXPECT_MAX_PREFIX][CF_EXPECT_PREFIX_LEN];
    size_t prefix_len[CF_EXPECT_MAX_PREFIX];
    size_t n_prefix;
} cf_expect_t;

/* 1 when data[0..len) holds what e expects (always when e expects
 * nothing). */
int cf_expect_met(const cf_expect_t *e, const uint8_t *data, size_t len);

/* Parse a path like "7C/82" (tags in hex, each a well-formed BER tag of 1-3 bytes; ""
 * is the empty path). Returns 0, or -1 with the reason in why. */
int cf_tlv_path_parse(const char *text, cf_tlv_path_t *out, char *why, size_t whylen);

/* Follow path in data[0..len). 0 with *val and *vlen (borrowed from data), -1
 * when a tag is absent or the TLV is malformed. */
int cf_tlv_path_find(const cf_tlv_path_t *path, const uint8_t *data, size_t len,
                     const uint8_t **val, size_t *vlen);

/* The field's bytes in data. 0 found; 1 the path's tag is absent; -1 the
 * value is malformed or shorter than offset + length. */
int cf_field_get(const cf_field_t *f, const uint8_t *data, size_t len, const uint8_t **val,
                 size_t *vlen);

/* 1 when atr matches p: same length and equal under the mask. */
int cf_atr_match(const cf_atr_pattern_t *p, const uint8_t *atr, size_t len);

#endif
