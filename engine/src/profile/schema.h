/*
 * schema.h - typed reading of YAML nodes with "file:line: key: message"
 * diagnostics (internal to the profile loader).
 *
 * Each reader checks one node against what the schema wants there (a
 * mapping with known keys, a number in a range, hex bytes, a status word
 * list, an APDU command) and, when it is wrong, adds one diagnostic at the
 * node's own file and line, naming the key path ("admin_key.auth.answer")
 * so the person editing the file finds it. Readers never stop the
 * validation: the caller carries on, so one run lists every problem.
 */
#ifndef CF_PROFILE_SCHEMA_H
#define CF_PROFILE_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/diag.h>

#include "profile/profile_int.h"
#include "profile/ytree.h"

typedef struct cf_sctx {
    cf_diag_list_t *diags;
    size_t errors;
} cf_sctx_t;

void cf_s_err(cf_sctx_t *s, const cf_ynode_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cf_s_err_line(cf_sctx_t *s, const char *file, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* n is of kind k (what names it in the message). 0 yes, -1 no (reported). */
int cf_s_kind(cf_sctx_t *s, const cf_ynode_t *n, cf_ykind_t k, const char *what);

/* Every key of map is in allowed (NULL-terminated); each unknown key is
 * reported at its line. */
void cf_s_keys(cf_sctx_t *s, const cf_ynode_t *map, const char *what, const char *const *allowed);

/* The value of key in map, NULL when absent or null. */
const cf_ynode_t *cf_s_get(const cf_ynode_t *map, const char *key);

/* The value of key, reporting "what: missing key 'key'" at map's line when
 * it is absent. */
const cf_ynode_t *cf_s_need(cf_sctx_t *s, const cf_ynode_t *map, const char *key,
                            const char *what);

/* A scalar of text; *out borrowed from the node. */
int cf_s_text(cf_sctx_t *s, const cf_ynode_t *n, const char *what, size_t maxlen,
              const char **out);

/* A decimal integer min..max. */
int cf_s_uint(cf_sctx_t *s, const cf_ynode_t *n, const char *what, unsigned long min,
              unsigned long max, unsigned long *out);

/* Hex bytes, spaces allowed between bytes: 1..cap bytes. */
int cf_s_hex(cf_sctx_t *s, const cf_ynode_t *n, const char *what, uint8_t *out, size_t cap,
             size_t *len);

/* One hex byte ("9B"). */
int cf_s_byte(cf_sctx_t *s, const cf_ynode_t *n, const char *what, uint8_t *out);

/* One of names (NULL-terminated); *out its index. */
int cf_s_enum(cf_sctx_t *s, const cf_ynode_t *n, const char *what, const char *const *names,
              int *out);

/* A status word ("6A88") or a sequence of them. */
int cf_s_sw_list(cf_sctx_t *s, const cf_ynode_t *n, const char *what, uint16_t *out, size_t cap,
                 size_t *count);

/* A TLV path ("7C/82"). */
int cf_s_path(cf_sctx_t *s, const cf_ynode_t *n, const char *what, cf_tlv_path_t *out);

/* A field: {path, offset, length}. fixed_len > 0 forces length (a
 * counter byte): a `length:` key is then an error. */
int cf_s_field(cf_sctx_t *s, const cf_ynode_t *n, const char *what, size_t fixed_len,
               cf_field_t *out);

/* Keys a command mapping may have beyond apdu/le/sw. */
#define CF_S_CMD_WRONG 0x1u    /* wrong_sw */
#define CF_S_CMD_RESPONSE 0x2u /* response: a TLV path */
#define CF_S_CMD_UNKNOWN 0x4u  /* unknown_sw */
#define CF_S_CMD_READS 0x8u    /* the command reads data: Le defaults to 256 */

/* A command: either a scalar (the APDU template) or a mapping {apdu, le,
 * sw, ...}. extra_keys are further keys the caller reads itself from the
 * same mapping. Placeholders outside allowed are errors. */
int cf_s_cmd(cf_sctx_t *s, const cf_ynode_t *n, const char *what, unsigned allowed,
             unsigned features, const char *const *extra_keys, cf_prof_cmd_t *out);

/* Free what cf_s_cmd allocated. */
void cf_prof_cmd_clear(cf_prof_cmd_t *c);

#endif
