/*
 * fuzz_keyfile.c - the master-key file parser and the parsers of what the
 * helpdesk types (challenge, check value, serial) on arbitrary bytes.
 *
 * Every input goes through both: as a key file, and as typed text whose
 * first line is a challenge and second line a check value. Beyond not
 * crashing, the invariants checked are the ones callers rely on: a parsed
 * key file has only valid names and key lengths and "newest" lookups return
 * the highest version, a key named by a pkcs11: URI derives nothing until
 * a token is opened; grouped output parses back to the same bytes; a
 * value's own check value always matches it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/keys.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_keyfile(const uint8_t *data, size_t size)
{
    cf_keyfile_t *kf = NULL;
    char err[CF_KEYS_ERRLEN];
    cf_err_t e = cf_keyfile_parse("fuzz", (const char *)data, size, &kf, err, sizeof(err));
    if (e != CF_OK) {
        if (kf != NULL || err[0] == 0)
            abort();
        return;
    }
    size_t n = cf_keyfile_count(kf);
    if (n == 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        const cf_master_key_t *k = cf_keyfile_key(kf, i);
        size_t len = cf_master_key_len(k);
        const char *name = cf_master_key_name(k);
        unsigned v = cf_master_key_version(k);
        if ((len != 16 && len != 24 && len != 32) || name == NULL || name[0] == 0 ||
            strlen(name) > CF_KEYS_NAME_MAX || v == 0 || v > CF_KEYS_VERSION_MAX)
            abort();
        if (cf_keyfile_find(kf, name, v) != k)
            abort();
        const cf_master_key_t *newest = cf_keyfile_find(kf, name, 0);
        if (newest == NULL || cf_master_key_version(newest) < v)
            abort();
    }
    /* Derivation from a parsed key works; a key in a token cannot derive
     * before cf_keyfile_load opened the token (parsing touches no token). */
    cf_secret_t *s = NULL;
    const cf_master_key_t *first = cf_keyfile_key(kf, 0);
    cf_err_t want = cf_master_key_in_token(first) ? CF_ERR_UNSUPPORTED : CF_OK;
    if (cf_keys_derive(first, CF_KEY_PURPOSE_ADMIN, "12345678", CF_CARD_KEY_3DES, &s) != want)
        abort();
    cf_secret_free(s);
    cf_keyfile_free(kf);
}

static void fuzz_typed(const char *text, const char *check)
{
    uint8_t bytes[64], back[64];
    size_t n = 0, m = 0;
    char cv[CF_KEYS_CHECK_SIZE], cv2[CF_KEYS_CHECK_SIZE];
    char grouped[CF_KEYS_GROUPED_SIZE(64)];

    cf_err_t e = cf_keys_parse_hex(text, bytes, sizeof(bytes), &n);
    if (e == CF_OK) {
        if (n == 0 || cf_keys_group_bytes(bytes, n, grouped, sizeof(grouped)) != CF_OK ||
            cf_keys_parse_hex(grouped, back, sizeof(back), &m) != CF_OK || m != n ||
            memcmp(bytes, back, n) != 0)
            abort();
        cf_keys_check_value_bytes(bytes, n, cv);
        if (cf_keys_check_value(text, cv2) != CF_OK || strcmp(cv, cv2) != 0)
            abort();
        if (n == 8 || n == 16) {
            cf_secret_t *key = cf_secret_new("0123456789abcdef", 16), *r = NULL;
            if (key == NULL || cf_keys_unblock_response(key, bytes, n, &r) != CF_OK ||
                cf_secret_len(r) != n)
                abort();
            cf_secret_free(r);
            cf_secret_free(key);
        }
    }
    if (cf_keys_check_value(text, cv) == CF_OK) {
        if (cv[0] < '0' || cv[0] > '9' || cv[1] < '0' || cv[1] > '9' || cv[2] != 0 ||
            cf_keys_check_matches(text, cv) != CF_OK)
            abort();
        char big[512];
        e = cf_keys_group(text, big, sizeof(big));
        if (e != CF_OK && e != CF_ERR_BUFFER)
            abort();
    }
    e = cf_keys_check_matches(text, check);
    if (e != CF_OK && e != CF_ERR_INVALID && e != CF_ERR_PARSE)
        abort();
    char serial[CF_KEYS_SERIAL_MAX + 1];
    if (cf_keys_serial_normalize(text, serial, sizeof(serial)) == CF_OK &&
        (serial[0] == 0 || strlen(serial) > CF_KEYS_SERIAL_MAX))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_keyfile(data, size);

    /* As typed text: NUL-terminated, first line challenge, second check. */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *check = strchr(text, '\n');
    if (check != NULL)
        *check++ = 0;
    else
        check = text + strlen(text);
    char *end = strchr(check, '\n');
    if (end != NULL)
        *end = 0;
    fuzz_typed(text, check);
    free(text);
    return 0;
}
