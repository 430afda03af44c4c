/*
 * test_keys_file.c - the master-key file: syntax, lookups, refusals, and the
 * rule that no message ever quotes a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cardforge/keys.h>

#include "keys/p11.h"

static const char good[] =
    "# cardforge master keys\n"
    "\n"
    "issuing 1 aes128 000102030405060708090A0B0C0D0E0F\r\n"
    "  issuing\t3  aes256  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
    "# newest\n"
    "issuing 2 aes192 000102030405060708090A0B0C0D0E0F1011121314151617\n"
    "   # indented comment\n"
    "temp-badges.v2_x 7 aes128 FFEEDDCCBBAA99887766554433221100";

static cf_keyfile_t *parse_ok(const char *text)
{
    cf_keyfile_t *kf = NULL;
    char err[CF_KEYS_ERRLEN];
    cf_err_t e = cf_keyfile_parse("keys.txt", text, strlen(text), &kf, err, sizeof(err));
    if (e != CF_OK)
        fail_msg("parse failed: %s", err);
    return kf;
}

static void test_keyfile_parses_keys_comments_and_crlf(void **state)
{
    (void)state;
    cf_keyfile_t *kf = parse_ok(good);
    assert_int_equal(cf_keyfile_count(kf), 4);
    const cf_master_key_t *k = cf_keyfile_key(kf, 1);
    assert_string_equal(cf_master_key_name(k), "issuing");
    assert_int_equal(cf_master_key_version(k), 3);
    assert_int_equal(cf_master_key_len(k), 32);
    k = cf_keyfile_key(kf, 3);
    assert_string_equal(cf_master_key_name(k), "temp-badges.v2_x");
    assert_int_equal(cf_master_key_len(k), 16);
    assert_null(cf_keyfile_key(kf, 4));
    cf_keyfile_free(kf);
}

static void test_keyfile_find_newest_or_exact_version(void **state)
{
    (void)state;
    cf_keyfile_t *kf = parse_ok(good);
    const cf_master_key_t *k = cf_keyfile_find(kf, "issuing", 0);
    assert_non_null(k);
    assert_int_equal(cf_master_key_version(k), 3);
    k = cf_keyfile_find(kf, "issuing", 2);
    assert_non_null(k);
    assert_int_equal(cf_master_key_len(k), 24);
    assert_null(cf_keyfile_find(kf, "issuing", 4));
    assert_null(cf_keyfile_find(kf, "Issuing", 0));
    assert_null(cf_keyfile_find(kf, "nobody", 0));
    assert_null(cf_keyfile_find(kf, NULL, 0));
    assert_null(cf_keyfile_find(NULL, "issuing", 0));
    cf_keyfile_free(kf);
    cf_keyfile_free(NULL);
}

static void test_keyfile_keys_derive_like_stand_alone_keys(void **state)
{
    (void)state;
    cf_keyfile_t *kf = parse_ok(good);
    cf_secret_t *raw = NULL, *a = NULL, *b = NULL;
    assert_int_equal(cf_secret_from_hex("000102030405060708090A0B0C0D0E0F", 32, &raw), CF_OK);
    cf_master_key_t *mk = NULL;
    assert_int_equal(cf_master_key_new("x", 1, raw, &mk), CF_OK);
    assert_int_equal(cf_keys_derive(cf_keyfile_find(kf, "issuing", 1), CF_KEY_PURPOSE_ADMIN, "1234",
                                    CF_CARD_KEY_3DES, &a),
                     CF_OK);
    assert_int_equal(cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, "1234", CF_CARD_KEY_3DES, &b), CF_OK);
    assert_true(cf_secret_equal(a, b));
    cf_secret_free(raw);
    cf_secret_free(a);
    cf_secret_free(b);
    cf_master_key_free(mk);
    cf_keyfile_free(kf);
}

static const struct {
    const char *text;
    cf_err_t err;
    const char *message; /* expected in the error text, after "keys.txt:" */
} bad[] = {
    {"a 1 aes128\n", CF_ERR_PARSE, "2: expected 4 fields"},
    {"a 1 aes128 00112233445566778899AABBCCDDEEFF extra\n", CF_ERR_PARSE, "found more"},
    {"00112233445566778899AABBCCDDEEFF 1 aes128\n", CF_ERR_PARSE, "found 3"},
    {"a/b 1 aes128 00112233445566778899AABBCCDDEEFF\n", CF_ERR_PARSE, "2: the name"},
    {"a 0 aes128 00112233445566778899AABBCCDDEEFF\n", CF_ERR_PARSE, "2: the version"},
    {"a 01 aes128 00112233445566778899AABBCCDDEEFF\n", CF_ERR_PARSE, "the version"},
    {"a 1000000 aes128 00112233445566778899AABBCCDDEEFF\n", CF_ERR_PARSE, "the version"},
    {"a -1 aes128 00112233445566778899AABBCCDDEEFF\n", CF_ERR_PARSE, "the version"},
    {"a 1 AES128 00112233445566778899AABBCCDDEEFF\n", CF_ERR_PARSE, "unknown algorithm"},
    {"a 1 00112233445566778899AABBCCDDEEFF aes128\n", CF_ERR_PARSE, "unknown algorithm"},
    {"a 1 3des 00112233445566778899AABBCCDDEEFF0011223344556677\n", CF_ERR_PARSE,
     "unknown algorithm"},
    {"a 1 aes128 00112233445566778899AABBCCDDEEFG\n", CF_ERR_PARSE, "not hex"},
    {"a 1 aes128 00112233445566778899AABBCCDDEEF\n", CF_ERR_INVALID,
     "has 31 hex digits, the algorithm needs 32"},
    {"a 1 aes256 00112233445566778899AABBCCDDEEFF\n", CF_ERR_INVALID,
     "has 32 hex digits, the algorithm needs 64"},
    {"a 1 aes128 00112233445566778899AABBCCDDEEFF\na 1 aes192 "
     "00112233445566778899AABBCCDDEEFF0011223344556677\n",
     CF_ERR_INVALID, "3: the same name and version as line 2"},
};

static void test_keyfile_errors_name_the_line_and_never_the_key(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256], err[CF_KEYS_ERRLEN];
        snprintf(text, sizeof(text), "# header\n%s", bad[i].text);
        cf_keyfile_t *kf = NULL;
        cf_err_t e = cf_keyfile_parse("keys.txt", text, strlen(text), &kf, err, sizeof(err));
        if (e != bad[i].err || strstr(err, bad[i].message) == NULL)
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, e, err, bad[i].err, bad[i].message);
        assert_null(kf);
        assert_true(strncmp(err, "keys.txt:", 9) == 0);
        /* No run of 8 hex digits from the file reaches the message. */
        assert_null(strstr(err, "00112233"));
        assert_null(strstr(err, "AABBCCDD"));
    }
}

static void test_keyfile_refuses_empty_comment_only_and_nul(void **state)
{
    (void)state;
    cf_keyfile_t *kf = NULL;
    char err[CF_KEYS_ERRLEN];
    assert_int_equal(cf_keyfile_parse("k", "", 0, &kf, err, sizeof(err)), CF_ERR_INVALID);
    assert_non_null(strstr(err, "no keys"));
    assert_int_equal(cf_keyfile_parse("k", "# only\n\n", 8, &kf, err, sizeof(err)), CF_ERR_INVALID);
    static const char nul[] = "a 1 aes128 00112233445566778899AABBCCDDEEFF\nb\0 1\n";
    assert_int_equal(cf_keyfile_parse("k", nul, sizeof(nul) - 1, &kf, err, sizeof(err)),
                     CF_ERR_PARSE);
    assert_non_null(strstr(err, "k:2: the line contains a NUL byte"));
    assert_null(kf);
    /* A NULL errbuf is allowed. */
    assert_int_equal(cf_keyfile_parse(NULL, "x", 1, &kf, NULL, 0), CF_ERR_PARSE);
    assert_int_equal(cf_keyfile_parse("k", NULL, 3, &kf, err, sizeof(err)), CF_ERR_ARG);
}

static void test_keyfile_long_name_limit(void **state)
{
    (void)state;
    char text[200], err[CF_KEYS_ERRLEN];
    cf_keyfile_t *kf = NULL;
    snprintf(text, sizeof(text), "%.*s 1 aes128 00112233445566778899AABBCCDDEEFF\n",
             CF_KEYS_NAME_MAX,
             "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
    assert_int_equal(cf_keyfile_parse("k", text, strlen(text), &kf, err, sizeof(err)), CF_OK);
    cf_keyfile_free(kf);
    snprintf(text, sizeof(text), "%.*s 1 aes128 00112233445566778899AABBCCDDEEFF\n",
             CF_KEYS_NAME_MAX + 1,
             "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
    assert_int_equal(cf_keyfile_parse("k", text, strlen(text), &kf, err, sizeof(err)),
                     CF_ERR_PARSE);
}

static void test_master_key_new_validates_arguments(void **state)
{
    (void)state;
    cf_secret_t *k16 = NULL, *k20 = NULL;
    assert_int_equal(cf_secret_from_hex("000102030405060708090A0B0C0D0E0F", 32, &k16), CF_OK);
    assert_int_equal(cf_secret_from_hex("000102030405060708090A0B0C0D0E0F10111213", 40, &k20),
                     CF_OK);
    cf_master_key_t *mk = NULL;
    assert_int_equal(cf_master_key_new("ok", 1, k20, &mk), CF_ERR_ARG);
    assert_int_equal(cf_master_key_new("bad name", 1, k16, &mk), CF_ERR_ARG);
    assert_int_equal(cf_master_key_new("ok", 0, k16, &mk), CF_ERR_ARG);
    assert_int_equal(cf_master_key_new("ok", CF_KEYS_VERSION_MAX + 1, k16, &mk), CF_ERR_ARG);
    assert_int_equal(cf_master_key_new("ok", 1, NULL, &mk), CF_ERR_ARG);
    assert_null(mk);
    assert_int_equal(cf_master_key_new("ok", 5, k16, &mk), CF_OK);
    assert_string_equal(cf_master_key_name(mk), "ok");
    assert_int_equal(cf_master_key_version(mk), 5);
    cf_master_key_free(mk);
    cf_master_key_free(NULL);
    cf_secret_free(k16);
    cf_secret_free(k20);
}

/* ---- loading from disk ---------------------------------------------------- */

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cf-keys-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(good, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static cf_err_t load(const char *path, char *err)
{
    cf_keyfile_t *kf = NULL;
    cf_err_t e = cf_keyfile_load(path, &kf, err, CF_KEYS_ERRLEN);
    if (e == CF_OK) {
        assert_int_equal(cf_keyfile_count(kf), 4);
        cf_keyfile_free(kf);
    } else {
        assert_null(kf);
    }
    return e;
}

static void test_keyfile_load_accepts_0600_and_0400(void **state)
{
    (void)state;
    char err[CF_KEYS_ERRLEN];
    assert_int_equal(load(write_file("rw", 0600), err), CF_OK);
    assert_int_equal(load(write_file("ro", 0400), err), CF_OK);
}

static void test_keyfile_load_refuses_any_other_mode(void **state)
{
    (void)state;
    static const mode_t modes[] = {0644, 0640, 0604, 0660, 0700, 0500, 0606, 0200, 02600};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char err[CF_KEYS_ERRLEN], want[16];
        const char *path = write_file("mode", modes[i]);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if ((st.st_mode & 07777) != modes[i])
            continue; /* the file system would not store that mode */
        assert_int_equal(load(path, err), CF_ERR_PERMISSION);
        snprintf(want, sizeof(want), "mode %04o", (unsigned)modes[i]);
        assert_non_null(strstr(err, want));
        assert_non_null(strstr(err, "chmod 600"));
    }
}

static void test_keyfile_load_refuses_a_symbolic_link(void **state)
{
    (void)state;
    char err[CF_KEYS_ERRLEN], link[128];
    const char *target = write_file("target", 0600);
    snprintf(link, sizeof(link), "%s/link", dir);
    unlink(link);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(load(link, err), CF_ERR_PERMISSION);
    assert_non_null(strstr(err, "symbolic link"));
}

static void test_keyfile_load_refuses_directory_and_fifo(void **state)
{
    (void)state;
    char err[CF_KEYS_ERRLEN], path[128];
    assert_int_equal(load(dir, err), CF_ERR_PERMISSION);
    assert_non_null(strstr(err, "not a regular file"));
    snprintf(path, sizeof(path), "%s/fifo", dir);
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* Opened without blocking for a writer, then refused. */
    assert_int_equal(load(path, err), CF_ERR_PERMISSION);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_keyfile_load_refuses_a_file_of_another_user(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can give a file away */
    char err[CF_KEYS_ERRLEN];
    const char *path = write_file("theirs", 0600);
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(load(path, err), CF_ERR_PERMISSION);
    assert_non_null(strstr(err, "owned by uid 65534"));
}

static void test_keyfile_load_missing_or_oversized(void **state)
{
    (void)state;
    char err[CF_KEYS_ERRLEN], path[128];
    snprintf(path, sizeof(path), "%s/none", dir);
    assert_int_equal(load(path, err), CF_ERR_IO);
    assert_non_null(strstr(err, "No such file"));
    snprintf(path, sizeof(path), "%s/big", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 70 * 1024; i++)
        fputc('#', f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(load(path, err), CF_ERR_INVALID);
    assert_non_null(strstr(err, "larger than"));
}

static void test_keyfile_load_reports_content_errors_with_path(void **state)
{
    (void)state;
    char err[CF_KEYS_ERRLEN], path[128];
    snprintf(path, sizeof(path), "%s/broken", dir);
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# keys\nx 1 aes128 0011\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(load(path, err), CF_ERR_INVALID);
    char want[160];
    snprintf(want, sizeof(want), "%s:2: the key has 4 hex digits", path);
    assert_non_null(strstr(err, want));
}

static cf_err_t parse_err(const char *text, char *err)
{
    cf_keyfile_t *kf = NULL;
    cf_err_t e = cf_keyfile_parse("keys.txt", text, strlen(text), &kf, err, CF_KEYS_ERRLEN);
    assert_null(e == CF_OK ? (void *)kf : NULL);
    cf_keyfile_free(kf);
    return e;
}

static void test_keyfile_token_lines_parse_without_touching_a_token(void **state)
{
    (void)state;
    cf_keyfile_t *kf = parse_ok("module /nonexistent/module.so\n"
                                "pin-file /nonexistent/pin\n"
                                "m 1 aes128 000102030405060708090A0B0C0D0E0F\n"
                                "m 2 aes256 pkcs11:token=bureau%20hsm;object=m%3b2;id=%01%02\n"
                                "m 3 aes192 pkcs11:token=bureau%20hsm;object=m3;type=secret-key\n");
    assert_int_equal(cf_keyfile_count(kf), 3);
    const cf_master_key_t *file = cf_keyfile_find(kf, "m", 1);
    const cf_master_key_t *tok = cf_keyfile_find(kf, "m", 0);
    assert_int_equal(cf_master_key_version(tok), 3);
    assert_int_equal(cf_master_key_in_token(file), 0);
    assert_int_equal(cf_master_key_in_token(tok), 1);
    assert_int_equal(cf_master_key_len(tok), 24);
    assert_int_equal(cf_master_key_len(cf_keyfile_find(kf, "m", 2)), 32);
    /* parsing opened nothing: a token key cannot derive, a file key can */
    cf_secret_t *out = NULL;
    assert_int_equal(cf_keys_derive(tok, CF_KEY_PURPOSE_ADMIN, "1", CF_CARD_KEY_AES128, &out),
                     CF_ERR_UNSUPPORTED);
    assert_null(out);
    assert_int_equal(cf_keys_derive(file, CF_KEY_PURPOSE_ADMIN, "1", CF_CARD_KEY_AES128, &out),
                     CF_OK);
    cf_secret_free(out);
    assert_int_equal(cf_keyfile_warning_count(kf), 0);
    assert_null(cf_keyfile_warning(kf, 0));
    cf_keyfile_free(kf);
}

static void test_p11_uri_decodes_what_it_names(void **state)
{
    (void)state;
    static const char uri[] = "pkcs11:token=bureau%20hsm;serial=0A1B;object=m%3b2;id=%01%ff";
    struct cf_p11_uri u;
    const char *why = NULL;
    assert_int_equal(cf_p11_uri_parse(uri, strlen(uri), &u, &why), CF_OK);
    assert_true(u.has_token && u.has_serial && u.has_object && u.has_id);
    assert_string_equal(u.token, "bureau hsm");
    assert_string_equal(u.serial, "0A1B");
    assert_string_equal(u.object, "m;2");
    assert_int_equal(u.id_len, 2);
    assert_int_equal(u.id[0], 0x01);
    assert_int_equal(u.id[1], 0xff);
    /* only the URI's length is read: a longer buffer does not leak in */
    static const char longer[] = "pkcs11:object=abcdef";
    assert_int_equal(cf_p11_uri_parse(longer, strlen(longer) - 3, &u, &why), CF_OK);
    assert_string_equal(u.object, "abc");
    assert_false(u.has_token);
    /* the same token by label and serial, or not */
    struct cf_p11_uri a, b;
    assert_int_equal(cf_p11_uri_parse("pkcs11:token=t;object=x", 23, &a, &why), CF_OK);
    assert_int_equal(cf_p11_uri_parse("pkcs11:token=t;id=%01", 21, &b, &why), CF_OK);
    assert_true(cf_p11_uri_same_token(&a, &b));
    assert_int_equal(cf_p11_uri_parse("pkcs11:token=t;serial=9;id=%01", 30, &b, &why), CF_OK);
    assert_false(cf_p11_uri_same_token(&a, &b));
}

static void test_keyfile_token_line_errors_name_the_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        cf_err_t err;
        const char *msg;
    } cases[] = {
        {"m 1 aes128 pkcs11:token=t;object=o\n", CF_ERR_INVALID,
         "keys.txt:1: the key is in a token: name its PKCS#11 module with a 'module PATH' line"},
        {"module /a.so\nmodule /b.so\nm 1 aes128 pkcs11:object=o\n", CF_ERR_INVALID,
         "keys.txt:2: a second 'module' line (the first is line 1)"},
        {"module lib.so\nm 1 aes128 pkcs11:object=o\n", CF_ERR_PARSE,
         "keys.txt:1: 'module' needs an absolute path"},
        {"pin-file /p\nm 1 aes128 00112233445566778899AABBCCDDEEFF\n", CF_ERR_INVALID,
         "keys.txt:1: a 'pin-file' line without a 'module' line"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o?pin-value=1234\n", CF_ERR_PARSE,
         "keys.txt:2: the URI has a query part"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o;slot-id=1\n", CF_ERR_PARSE,
         "keys.txt:2: the URI has an attribute other than"},
        {"module /a.so\nm 1 aes128 pkcs11:token=t\n", CF_ERR_PARSE,
         "keys.txt:2: the URI names no key"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o;type=private\n", CF_ERR_PARSE,
         "keys.txt:2: the URI's type= must be secret-key"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o%4\n", CF_ERR_PARSE,
         "keys.txt:2: the URI's object= is repeated, empty, badly escaped"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o%00x\n", CF_ERR_PARSE,
         "keys.txt:2: the URI's object= is repeated, empty, badly escaped"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o;object=p\n", CF_ERR_PARSE,
         "keys.txt:2: the URI's object= is repeated"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o;\n", CF_ERR_PARSE,
         "keys.txt:2: the URI ends with ';'"},
        {"module /a.so\nm 1 aes128 pkcs11:object=o;;id=1\n", CF_ERR_PARSE,
         "keys.txt:2: the URI has an empty attribute"},
        {"module /a.so\nm 1 aes128 pkcs11:token=0123456789012345678901234567890123;object=o\n",
         CF_ERR_PARSE,
         "keys.txt:2: the URI's token= is repeated, empty, badly escaped or longer "
         "than 32 bytes"},
        {"module /a.so\nm 1 aes128 pkcs11:token=a;object=o\nm 2 aes128 pkcs11:token=b;object=o\n",
         CF_ERR_INVALID, "keys.txt:3: names another token than line 2"},
        {"module /a.so\nm 1 aes128 pkcs12:object=o\n", CF_ERR_PARSE,
         "keys.txt:2: the key is not hex (0-9 A-F, no separators) nor a pkcs11: URI"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[CF_KEYS_ERRLEN];
        cf_err_t e = parse_err(cases[i].text, err);
        if (e != cases[i].err || strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: %s (%d), want %s", i, err, (int)e, cases[i].msg);
        /* the PIN someone put into a URI is never repeated */
        assert_null(strstr(err, "1234"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyfile_parses_keys_comments_and_crlf),
        cmocka_unit_test(test_keyfile_find_newest_or_exact_version),
        cmocka_unit_test(test_keyfile_keys_derive_like_stand_alone_keys),
        cmocka_unit_test(test_keyfile_errors_name_the_line_and_never_the_key),
        cmocka_unit_test(test_keyfile_refuses_empty_comment_only_and_nul),
        cmocka_unit_test(test_keyfile_long_name_limit),
        cmocka_unit_test(test_master_key_new_validates_arguments),
        cmocka_unit_test(test_keyfile_load_accepts_0600_and_0400),
        cmocka_unit_test(test_keyfile_load_refuses_any_other_mode),
        cmocka_unit_test(test_keyfile_load_refuses_a_symbolic_link),
        cmocka_unit_test(test_keyfile_load_refuses_directory_and_fifo),
        cmocka_unit_test(test_keyfile_load_refuses_a_file_of_another_user),
        cmocka_unit_test(test_keyfile_load_missing_or_oversized),
        cmocka_unit_test(test_keyfile_load_reports_content_errors_with_path),
        cmocka_unit_test(test_keyfile_token_lines_parse_without_touching_a_token),
        cmocka_unit_test(test_keyfile_token_line_errors_name_the_line),
        cmocka_unit_test(test_p11_uri_decodes_what_it_names),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
