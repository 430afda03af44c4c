/*
 * keys_derive.c - one derivation through the engine, for the tests: the
 * key file is loaded as cardforge loads it (keys in the file or in a
 * token), and the derived value is printed so that a test can compare it
 * with a published vector. Test vectors only: cardforge itself never prints
 * a derived value.
 *
 *   keys_derive KEYFILE NAME VERSION PURPOSE SERIAL FORM [--twice]
 *
 * --twice loads the key file a second time while the first is loaded, frees
 * the first and derives from the second: one process with two loads of the
 * same token (the module is initialised once and shared; freeing the first
 * must not finalise it under the second).
 * PURPOSE: admin, puk or pin. FORM: a card key type (3des, 3des2, aes128,
 * aes192, aes256) or digits:N. VERSION 0 means the newest. Prints the key
 * in upper-case hex or the digits, then "via token" or "via file" on a
 * second line. On failure prints "error CF_ERR_...: message" on stderr and
 * exits 1; the key file's warnings go to stderr as "warning: ...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/keys.h>

int main(int argc, char **argv)
{
    int twice = argc == 8 && strcmp(argv[7], "--twice") == 0;
    if (argc != 7 && !twice) {
        fprintf(stderr, "usage: keys_derive KEYFILE NAME VERSION PURPOSE SERIAL FORM [--twice]\n");
        return 2;
    }
    char err[CF_KEYS_ERRLEN];
    cf_keyfile_t *kf = NULL;
    cf_err_t e = cf_keyfile_load(argv[1], &kf, err, sizeof(err));
    for (size_t i = 0; i < cf_keyfile_warning_count(kf); i++)
        fprintf(stderr, "warning: %s\n", cf_keyfile_warning(kf, i));
    if (e != CF_OK) {
        fprintf(stderr, "error %s: %s\n", cf_errname(e), err);
        return 1;
    }
    if (twice) {
        cf_keyfile_t *second = NULL;
        e = cf_keyfile_load(argv[1], &second, err, sizeof(err));
        cf_keyfile_free(kf);
        kf = second;
        if (e != CF_OK) {
            fprintf(stderr, "error %s: second load: %s\n", cf_errname(e), err);
            return 1;
        }
    }
    const cf_master_key_t *mk = cf_keyfile_find(kf, argv[2], (unsigned)atoi(argv[3]));
    if (mk == NULL) {
        fprintf(stderr, "error CF_ERR_NOT_FOUND: no key %s\n", argv[2]);
        cf_keyfile_free(kf);
        return 1;
    }
    cf_key_purpose_t purpose = strcmp(argv[4], "puk") == 0   ? CF_KEY_PURPOSE_PUK
                               : strcmp(argv[4], "pin") == 0 ? CF_KEY_PURPOSE_PIN
                                                             : CF_KEY_PURPOSE_ADMIN;
    cf_secret_t *out = NULL;
    int digits = strncmp(argv[6], "digits:", 7) == 0;
    if (digits) {
        e = cf_keys_derive_digits(mk, purpose, argv[5], (size_t)atoi(argv[6] + 7), &out);
    } else {
        cf_card_key_type_t type;
        e = cf_card_key_type_parse(argv[6], &type);
        if (e == CF_OK)
            e = cf_keys_derive(mk, purpose, argv[5], type, &out);
    }
    if (e != CF_OK) {
        fprintf(stderr, "error %s: derivation failed\n", cf_errname(e));
        cf_keyfile_free(kf);
        return 1;
    }
    if (digits) {
        fwrite(cf_secret_data(out), 1, cf_secret_len(out), stdout);
    } else {
        for (size_t i = 0; i < cf_secret_len(out); i++)
            printf("%02X", cf_secret_data(out)[i]);
    }
    printf("\nvia %s\n", cf_master_key_in_token(mk) ? "token" : "file");
    cf_secret_free(out);
    cf_keyfile_free(kf);
    return 0;
}
