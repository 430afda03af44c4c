/*
 * keyfile.c - the master-key file: reading it safely and parsing it.
 *
 * The format is deliberately the simplest text a person can audit with
 * `cat`: one key per line, `name version algorithm hexkey`, '#' comments
 * (docs/key-derivation.md). No INI sections, no quoting, nothing a parser
 * could get subtly wrong. Messages name the file and line and say what is
 * wrong with a field without ever quoting a field: a line typed in the wrong
 * order would otherwise put a key into a terminal or a log.
 *
 * The permission checks are made with fstat on the descriptor that is then
 * read (no window between check and use) and the open refuses a symbolic
 * link as the last path component, so a link planted in a shared directory
 * cannot redirect us to another file. A PIN file passes the same checks.
 *
 * A key's hex may instead be a pkcs11: URI: the key stays in a token and
 * the file names the module (`module PATH`) and the PIN's file
 * (`pin-file PATH`). Parsing never touches a token (the fuzzer runs it);
 * cf_keyfile_load then opens the token once, logs in and finds every key,
 * so every error of the token shows before any card is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cardforge/keys.h>

#include "keys/keys_int.h"
#include "keys/p11.h"

#define KEYFILE_MAX_BYTES (64 * 1024)
#define KEYFILE_MAX_KEYS 1024
#define MAX_FIELDS 4
#define PIN_FILE_MAX_BYTES 256
#define WARNINGS_MAX 8
#define PATH_FIELD_MAX 4095

struct cf_keyfile {
    struct cf_master_key *keys;
    size_t n;
    size_t cap;
    char *module;   /* the `module` line's path, or NULL */
    char *pin_file; /* the `pin-file` line's path, or NULL */
    unsigned long module_line, pin_file_line;
    cf_p11_token_t *token; /* open after cf_keyfile_load when a key is in it */
    char warnings[WARNINGS_MAX][CF_KEYS_ERRLEN];
    size_t nwarnings;
};

struct field {
    const char *p;
    size_t len;
};

void cf_keys_errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

int cf_keys_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > CF_KEYS_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* 1..CF_KEYS_VERSION_MAX in plain decimal, no sign, no leading zero. */
static int parse_version(const struct field *f, unsigned *out)
{
    if (f->len == 0 || f->len > 6 || f->p[0] == '0')
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (f->p[i] < '0' || f->p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(f->p[i] - '0');
    }
    *out = v;
    return 0;
}

static size_t algorithm_len(const struct field *f)
{
    static const struct {
        const char *name;
        size_t len;
    } algs[] = {{"aes128", 16}, {"aes192", 24}, {"aes256", 32}};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (f->len == strlen(algs[i].name) && memcmp(f->p, algs[i].name, f->len) == 0)
            return algs[i].len;
    return 0;
}

static int all_hex(const struct field *f)
{
    for (size_t i = 0; i < f->len; i++) {
        char c = f->p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Split a line into blank-separated fields, stopping at a field that starts
 * with '#'. Returns the number of fields, or MAX_FIELDS + 1 when there are
 * more than MAX_FIELDS. */
static size_t split_fields(const char *line, size_t len, struct field *f)
{
    size_t n = 0, i = 0;
    for (;;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i >= len || line[i] == '#')
            return n;
        if (n == MAX_FIELDS)
            return MAX_FIELDS + 1;
        size_t start = i;
        while (i < len && !is_blank(line[i]))
            i++;
        f[n].p = line + start;
        f[n].len = i - start;
        n++;
    }
}

static void keyfile_clear(struct cf_keyfile *kf)
{
    for (size_t i = 0; i < kf->n; i++) {
        cf_secret_free(kf->keys[i].key);
        free(kf->keys[i].uri);
    }
    cf_p11_close(kf->token);
    kf->token = NULL;
    free(kf->module);
    free(kf->pin_file);
    kf->module = kf->pin_file = NULL;
    if (kf->keys != NULL)
        OPENSSL_cleanse(kf->keys, kf->cap * sizeof(*kf->keys));
    free(kf->keys);
    kf->keys = NULL;
    kf->n = kf->cap = 0;
}

void cf_keyfile_free(cf_keyfile_t *kf)
{
    if (kf == NULL)
        return;
    keyfile_clear(kf);
    free(kf);
}

static cf_err_t add_key(struct cf_keyfile *kf, const struct field *name, unsigned version,
                        size_t keylen, const struct field *hex, struct cf_p11_uri *uri,
                        unsigned long lineno)
{
    if (kf->n == kf->cap) {
        size_t cap = kf->cap ? kf->cap * 2 : 8;
        struct cf_master_key *k = calloc(cap, sizeof(*k));
        if (k == NULL)
            return CF_ERR_NOMEM;
        if (kf->n > 0) {
            memcpy(k, kf->keys, kf->n * sizeof(*k));
            OPENSSL_cleanse(kf->keys, kf->cap * sizeof(*k));
        }
        free(kf->keys);
        kf->keys = k;
        kf->cap = cap;
    }
    struct cf_master_key *mk = &kf->keys[kf->n];
    if (uri != NULL) {
        mk->uri = malloc(sizeof(*uri));
        if (mk->uri == NULL)
            return CF_ERR_NOMEM;
        *mk->uri = *uri;
    } else {
        cf_err_t err = cf_secret_from_hex(hex->p, hex->len, &mk->key);
        if (err != CF_OK)
            return err;
    }
    mk->len = keylen;
    memcpy(mk->name, name->p, name->len);
    mk->name[name->len] = 0;
    mk->version = version;
    mk->line = lineno;
    kf->n++;
    return CF_OK;
}

static int field_is(const struct field *f, const char *word)
{
    return f->len == strlen(word) && memcmp(f->p, word, f->len) == 0;
}

/* `module PATH` or `pin-file PATH`: each at most once, an absolute path (a
 * relative one would depend on where cardforge happens to be started). */
static cf_err_t parse_path_line(struct cf_keyfile *kf, const struct field *f, const char *name,
                                unsigned long lineno, char *errbuf, size_t errlen)
{
    int is_module = field_is(&f[0], "module");
    char **slot = is_module ? &kf->module : &kf->pin_file;
    unsigned long *where = is_module ? &kf->module_line : &kf->pin_file_line;
    const char *what = is_module ? "module" : "pin-file";
    if (*slot != NULL) {
        cf_keys_errf(errbuf, errlen, "%s:%lu: a second '%s' line (the first is line %lu)", name,
                     lineno, what, *where);
        return CF_ERR_INVALID;
    }
    if (f[1].p[0] != '/' || f[1].len > PATH_FIELD_MAX) {
        cf_keys_errf(errbuf, errlen, "%s:%lu: '%s' needs an absolute path", name, lineno, what);
        return CF_ERR_PARSE;
    }
    *slot = malloc(f[1].len + 1);
    if (*slot == NULL)
        return CF_ERR_NOMEM;
    memcpy(*slot, f[1].p, f[1].len);
    (*slot)[f[1].len] = 0;
    *where = lineno;
    return CF_OK;
}

/* The line of the key with this name and version, 0 when there is none. */
static unsigned long first_line_of(const struct cf_keyfile *kf, const struct field *name,
                                   unsigned version)
{
    for (size_t i = 0; i < kf->n; i++)
        if (kf->keys[i].version == version && strlen(kf->keys[i].name) == name->len &&
            memcmp(kf->keys[i].name, name->p, name->len) == 0)
            return kf->keys[i].line;
    return 0;
}

static cf_err_t parse_line(struct cf_keyfile *kf, const char *line, size_t len, const char *name,
                           unsigned long lineno, char *errbuf, size_t errlen)
{
    struct field f[MAX_FIELDS];
    size_t nf = split_fields(line, len, f);
    if (nf == 0)
        return CF_OK;
    if (nf == 2 && (field_is(&f[0], "module") || field_is(&f[0], "pin-file")))
        return parse_path_line(kf, f, name, lineno, errbuf, errlen);
    if (nf != MAX_FIELDS) {
        if (nf > MAX_FIELDS)
            cf_keys_errf(errbuf, errlen,
                         "%s:%lu: expected 4 fields (name version algorithm hexkey), found more",
                         name, lineno);
        else
            cf_keys_errf(errbuf, errlen,
                         "%s:%lu: expected 4 fields (name version algorithm hexkey), found %zu",
                         name, lineno, nf);
        return CF_ERR_PARSE;
    }
    if (!cf_keys_name_valid(f[0].p, f[0].len)) {
        cf_keys_errf(errbuf, errlen,
                     "%s:%lu: the name must be 1 to %d characters of A-Z a-z 0-9 _ . -", name,
                     lineno, CF_KEYS_NAME_MAX);
        return CF_ERR_PARSE;
    }
    unsigned version;
    if (parse_version(&f[1], &version) != 0) {
        cf_keys_errf(errbuf, errlen, "%s:%lu: the version must be a whole number from 1 to %u",
                     name, lineno, CF_KEYS_VERSION_MAX);
        return CF_ERR_PARSE;
    }
    size_t keylen = algorithm_len(&f[2]);
    if (keylen == 0) {
        cf_keys_errf(errbuf, errlen, "%s:%lu: unknown algorithm; use aes128, aes192 or aes256",
                     name, lineno);
        return CF_ERR_PARSE;
    }
    struct cf_p11_uri uri;
    int in_token = f[3].len >= 7 && memcmp(f[3].p, "pkcs11:", 7) == 0;
    if (in_token) {
        const char *why;
        if (cf_p11_uri_parse(f[3].p, f[3].len, &uri, &why) != CF_OK) {
            cf_keys_errf(errbuf, errlen, "%s:%lu: %s", name, lineno, why);
            return CF_ERR_PARSE;
        }
        for (size_t i = 0; i < kf->n; i++)
            if (kf->keys[i].uri != NULL && !cf_p11_uri_same_token(kf->keys[i].uri, &uri)) {
                cf_keys_errf(errbuf, errlen,
                             "%s:%lu: names another token than line %lu; the keys of one key file "
                             "live in one token",
                             name, lineno, kf->keys[i].line);
                return CF_ERR_INVALID;
            }
    } else if (!all_hex(&f[3])) {
        cf_keys_errf(errbuf, errlen,
                     "%s:%lu: the key is not hex (0-9 A-F, no separators) nor a pkcs11: URI", name,
                     lineno);
        return CF_ERR_PARSE;
    } else if (f[3].len != 2 * keylen) {
        cf_keys_errf(errbuf, errlen, "%s:%lu: the key has %zu hex digits, the algorithm needs %zu",
                     name, lineno, f[3].len, 2 * keylen);
        return CF_ERR_INVALID;
    }
    unsigned long first = first_line_of(kf, &f[0], version);
    if (first != 0) {
        cf_keys_errf(errbuf, errlen, "%s:%lu: the same name and version as line %lu", name, lineno,
                     first);
        return CF_ERR_INVALID;
    }
    if (kf->n >= KEYFILE_MAX_KEYS) {
        cf_keys_errf(errbuf, errlen, "%s:%lu: more than %d keys", name, lineno, KEYFILE_MAX_KEYS);
        return CF_ERR_INVALID;
    }
    cf_err_t err = add_key(kf, &f[0], version, keylen, &f[3], in_token ? &uri : NULL, lineno);
    if (err != CF_OK)
        cf_keys_errf(errbuf, errlen, "%s:%lu: %s", name, lineno, cf_strerror(err));
    return err;
}

cf_err_t cf_keyfile_parse(const char *name, const char *text, size_t len, cf_keyfile_t **out,
                          char *errbuf, size_t errlen)
{
    *out = NULL;
    cf_keys_errf(errbuf, errlen, "%s", "");
    if (name == NULL)
        name = "(key file)";
    if (text == NULL && len > 0)
        return CF_ERR_ARG;
    struct cf_keyfile *kf = calloc(1, sizeof(*kf));
    if (kf == NULL)
        return CF_ERR_NOMEM;
    cf_err_t err = CF_OK;
    unsigned long lineno = 0;
    size_t pos = 0;
    while (pos < len && err == CF_OK) {
        lineno++;
        size_t start = pos;
        while (pos < len && text[pos] != '\n')
            pos++;
        size_t end = pos;
        if (pos < len)
            pos++; /* the '\n' */
        if (end > start && text[end - 1] == '\r')
            end--;
        if (memchr(text + start, 0, end - start) != NULL) {
            cf_keys_errf(errbuf, errlen, "%s:%lu: the line contains a NUL byte", name, lineno);
            err = CF_ERR_PARSE;
            break;
        }
        err = parse_line(kf, text + start, end - start, name, lineno, errbuf, errlen);
    }
    if (err == CF_OK && kf->n == 0) {
        cf_keys_errf(errbuf, errlen, "%s: no keys in the file", name);
        err = CF_ERR_INVALID;
    }
    if (err == CF_OK && kf->module == NULL) {
        for (size_t i = 0; i < kf->n; i++)
            if (kf->keys[i].uri != NULL) {
                cf_keys_errf(errbuf, errlen,
                             "%s:%lu: the key is in a token: name its PKCS#11 module with a "
                             "'module PATH' line",
                             name, kf->keys[i].line);
                err = CF_ERR_INVALID;
                break;
            }
        if (err == CF_OK && kf->pin_file != NULL) {
            cf_keys_errf(errbuf, errlen, "%s:%lu: a 'pin-file' line without a 'module' line", name,
                         kf->pin_file_line);
            err = CF_ERR_INVALID;
        }
    }
    if (err != CF_OK) {
        cf_keyfile_free(kf);
        return err;
    }
    *out = kf;
    return CF_OK;
}

/* Open path for reading and check it is a file of secrets we may trust
 * (what: "key file", "PIN file"; max: its size limit). */
static cf_err_t open_checked(const char *path, const char *what, long max, int *fdout, char *errbuf,
                             size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP) {
            cf_keys_errf(errbuf, errlen, "%s: refused: a symbolic link; name the %s itself", path,
                         what);
            return CF_ERR_PERMISSION;
        }
        cf_keys_errf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return CF_ERR_IO;
    }
    struct stat st;
    cf_err_t err = CF_OK;
    if (fstat(fd, &st) != 0) {
        cf_keys_errf(errbuf, errlen, "%s: %s", path, strerror(errno));
        err = CF_ERR_IO;
    } else if (!S_ISREG(st.st_mode)) {
        cf_keys_errf(errbuf, errlen, "%s: refused: not a regular file", path);
        err = CF_ERR_PERMISSION;
    } else if (st.st_uid != geteuid()) {
        cf_keys_errf(errbuf, errlen,
                     "%s: refused: owned by uid %lu, not by the user running cardforge (uid %lu)",
                     path, (unsigned long)st.st_uid, (unsigned long)geteuid());
        err = CF_ERR_PERMISSION;
    } else if ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400) {
        cf_keys_errf(errbuf, errlen,
                     "%s: refused: mode %04o lets others in; a %s must be 0600 or 0400 "
                     "(chmod 600 %s)",
                     path, (unsigned)(st.st_mode & 07777), what, path);
        err = CF_ERR_PERMISSION;
    } else if (st.st_size > max) {
        cf_keys_errf(errbuf, errlen, "%s: larger than %ld bytes; not a %s", path, max, what);
        err = CF_ERR_INVALID;
    }
    if (err != CF_OK) {
        close(fd);
        return err;
    }
    *fdout = fd;
    return CF_OK;
}

cf_err_t cf_keys_read_checked(const char *path, const char *what, size_t max, char **buf,
                              size_t *len, char *errbuf, size_t errlen)
{
    int fd;
    *buf = NULL;
    *len = 0;
    cf_err_t err = open_checked(path, what, (long)max, &fd, errbuf, errlen);
    if (err != CF_OK)
        return err;
    /* One byte more than allowed, to notice a file that grew since fstat. */
    size_t cap = max + 1;
    *buf = malloc(cap);
    if (*buf == NULL) {
        close(fd);
        return CF_ERR_NOMEM;
    }
    while (*len < cap) {
        ssize_t r = read(fd, *buf + *len, cap - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cf_keys_errf(errbuf, errlen, "%s: %s", path, strerror(errno));
            err = CF_ERR_IO;
            break;
        }
        if (r == 0)
            break;
        *len += (size_t)r;
    }
    close(fd);
    if (err == CF_OK && *len > max) {
        cf_keys_errf(errbuf, errlen, "%s: larger than %zu bytes; not a %s", path, max, what);
        err = CF_ERR_INVALID;
    }
    return err;
}

/* The token PIN from the pin-file: its content up to one final newline. */
static cf_err_t read_pin_file(const char *path, cf_secret_t **pin, char *errbuf, size_t errlen)
{
    char *buf;
    size_t len;
    *pin = NULL;
    cf_err_t err =
        cf_keys_read_checked(path, "PIN file", PIN_FILE_MAX_BYTES, &buf, &len, errbuf, errlen);
    if (err == CF_OK) {
        if (len > 0 && buf[len - 1] == '\n')
            len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
        if (len == 0 || memchr(buf, 0, len) != NULL || memchr(buf, '\n', len) != NULL) {
            cf_keys_errf(errbuf, errlen, "%s: a PIN file holds one line: the PIN", path);
            err = CF_ERR_INVALID;
        } else {
            *pin = cf_secret_new(buf, len);
            if (*pin == NULL)
                err = CF_ERR_NOMEM;
        }
    }
    if (buf != NULL)
        OPENSSL_cleanse(buf, PIN_FILE_MAX_BYTES + 1);
    free(buf);
    return err;
}

static void collect_warning(void *ctx, const char *text)
{
    struct cf_keyfile *kf = ctx;
    if (kf->nwarnings < WARNINGS_MAX)
        snprintf(kf->warnings[kf->nwarnings++], CF_KEYS_ERRLEN, "%s", text);
}

/* Open the token of the file's token keys and find each key in it. */
static cf_err_t open_token(struct cf_keyfile *kf, const char *path, char *errbuf, size_t errlen)
{
    const struct cf_p11_uri *uri = NULL;
    for (size_t i = 0; i < kf->n && uri == NULL; i++)
        uri = kf->keys[i].uri;
    if (uri == NULL)
        return CF_OK;
    cf_secret_t *pin = NULL;
    cf_err_t err = CF_OK;
    if (kf->pin_file != NULL)
        err = read_pin_file(kf->pin_file, &pin, errbuf, errlen);
    if (err != CF_OK)
        return err;
    struct cf_p11_open_args a = {.module = kf->module, .uri = uri, .pin = pin, .keyfile = path};
    err = cf_p11_open(&a, &kf->token, collect_warning, kf, errbuf, errlen);
    cf_secret_free(pin);
    for (size_t i = 0; i < kf->n && err == CF_OK; i++) {
        struct cf_master_key *mk = &kf->keys[i];
        if (mk->uri == NULL)
            continue;
        char what[CF_KEYS_NAME_MAX + 64];
        snprintf(what, sizeof(what), "%s:%lu: %s version %u", path, mk->line, mk->name,
                 mk->version);
        err = cf_p11_find_key(kf->token, mk->uri, mk->len, what, &mk->handle, collect_warning, kf,
                              errbuf, errlen);
        if (err == CF_OK)
            mk->token = kf->token;
    }
    return err;
}

cf_err_t cf_keyfile_load(const char *path, cf_keyfile_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    cf_keys_errf(errbuf, errlen, "%s", "");
    if (path == NULL)
        return CF_ERR_ARG;
    char *buf;
    size_t len;
    cf_err_t err =
        cf_keys_read_checked(path, "key file", KEYFILE_MAX_BYTES, &buf, &len, errbuf, errlen);
    if (err == CF_OK)
        err = cf_keyfile_parse(path, buf, len, out, errbuf, errlen);
    if (buf != NULL)
        OPENSSL_cleanse(buf, KEYFILE_MAX_BYTES + 1);
    free(buf);
    if (err == CF_OK) {
        err = open_token(*out, path, errbuf, errlen);
        if (err != CF_OK) {
            cf_keyfile_free(*out);
            *out = NULL;
        }
    }
    return err;
}

size_t cf_keyfile_warning_count(const cf_keyfile_t *kf)
{
    return kf ? kf->nwarnings : 0;
}

const char *cf_keyfile_warning(const cf_keyfile_t *kf, size_t i)
{
    return kf != NULL && i < kf->nwarnings ? kf->warnings[i] : NULL;
}

int cf_master_key_in_token(const cf_master_key_t *mk)
{
    return mk != NULL && mk->uri != NULL;
}

size_t cf_keyfile_count(const cf_keyfile_t *kf)
{
    return kf ? kf->n : 0;
}

const cf_master_key_t *cf_keyfile_key(const cf_keyfile_t *kf, size_t i)
{
    return kf != NULL && i < kf->n ? &kf->keys[i] : NULL;
}

const cf_master_key_t *cf_keyfile_find(const cf_keyfile_t *kf, const char *name, unsigned version)
{
    if (kf == NULL || name == NULL)
        return NULL;
    const struct cf_master_key *best = NULL;
    for (size_t i = 0; i < kf->n; i++) {
        const struct cf_master_key *k = &kf->keys[i];
        if (strcmp(k->name, name) != 0)
            continue;
        if (version != 0 && k->version == version)
            return k;
        if (version == 0 && (best == NULL || k->version > best->version))
            best = k;
    }
    return best;
}

cf_err_t cf_master_key_new(const char *name, unsigned version, const cf_secret_t *key,
                           cf_master_key_t **out)
{
    *out = NULL;
    if (name == NULL || !cf_keys_name_valid(name, strlen(name)) || version == 0 ||
        version > CF_KEYS_VERSION_MAX || key == NULL)
        return CF_ERR_ARG;
    size_t len = cf_secret_len(key);
    if (len != 16 && len != 24 && len != 32)
        return CF_ERR_ARG;
    struct cf_master_key *mk = calloc(1, sizeof(*mk));
    if (mk == NULL)
        return CF_ERR_NOMEM;
    mk->key = cf_secret_dup(key);
    if (mk->key == NULL) {
        free(mk);
        return CF_ERR_NOMEM;
    }
    memcpy(mk->name, name, strlen(name) + 1);
    mk->version = version;
    mk->len = len;
    *out = mk;
    return CF_OK;
}

void cf_master_key_free(cf_master_key_t *mk)
{
    if (mk == NULL)
        return;
    cf_secret_free(mk->key);
    OPENSSL_cleanse(mk, sizeof(*mk));
    free(mk);
}

const char *cf_master_key_name(const cf_master_key_t *mk)
{
    return mk ? mk->name : NULL;
}

unsigned cf_master_key_version(const cf_master_key_t *mk)
{
    return mk ? mk->version : 0;
}

size_t cf_master_key_len(const cf_master_key_t *mk)
{
    return mk ? mk->len : 0;
}
