/*
 * helpdesk_operators.h - the helpdesk's operators: who may log in to the
 * web page, with a memory-hard hash of their password.
 *
 * The operators file is text, one operator a line after a header:
 *
 *   # cardforge helpdesk operators 1
 *   alice active scrypt 15 8 1 <salt, 32 hex> <hash, 64 hex>
 *
 * (name, active|disabled, the KDF with log2 N, r and p, salt, hash). It
 * holds no password, but its hashes can be attacked offline, so it is
 * guarded like a key file: a regular file owned by the user running
 * cardforge, mode 0600 or 0400, and rewritten whole (a new file, synced,
 * renamed over the old one).
 */
#ifndef CF_TOOLS_HELPDESK_OPERATORS_H
#define CF_TOOLS_HELPDESK_OPERATORS_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>

#define OPS_NAME_MAX 32u     /* longest operator name */
#define OPS_MAX 1000u        /* operators in one file */
#define OPS_PASSWORD_MIN 10u /* shortest password accepted */
#define OPS_PASSWORD_MAX 128u
#define OPS_SALT_LEN 16u
#define OPS_HASH_LEN 32u
#define OPS_ERRLEN 512u

typedef struct ops_entry {
    char name[OPS_NAME_MAX + 1];
    int active;
    unsigned log2n, r, p;
    uint8_t salt[OPS_SALT_LEN];
    uint8_t hash[OPS_HASH_LEN];
} ops_entry_t;

typedef struct ops {
    ops_entry_t *e;
    size_t n;
} ops_t;

/* 1 when name is a valid operator name: 1-32 of a-z 0-9 . _ - starting
 * with a letter. */
int ops_name_ok(const char *name);

/* Parse the text of an operators file (untrusted: every field checked).
 * 0, or -1 with err naming the line. The caller frees *out with ops_free. */
int ops_parse(const char *text, size_t len, ops_t *out, char *err, size_t errlen);

/* Load path, checked as above. missing_ok: a file that does not exist is
 * an empty list. CF_ERR_* with err set. */
cf_err_t ops_load(const char *path, int missing_ok, ops_t *out, char *err, size_t errlen);

/* Write ops to path whole (0600, never through a link). */
cf_err_t ops_save(const char *path, const ops_t *ops, char *err, size_t errlen);

void ops_free(ops_t *ops);

ops_entry_t *ops_find(const ops_t *ops, const char *name);

/* Set e's salt and hash from the password (a fresh random salt). */
cf_err_t ops_set_password(ops_entry_t *e, const void *pw, size_t len);

/* 1 when pw is e's password (compared with CRYPTO_memcmp). With e NULL the
 * same work is done against a dummy entry and 0 returned, so an unknown
 * name takes as long as a wrong password. */
int ops_check_password(const ops_entry_t *e, const void *pw, size_t len);

#endif
