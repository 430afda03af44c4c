/*
 * helpdesk_operators.c - the operators file: parsing, saving, and passwords
 * hashed with scrypt (OpenSSL 3's EVP_KDF, no further dependency).
 *
 * scrypt with N = 2^15, r = 8, p = 1 costs 32 MiB and about a tenth of a
 * second per guess; the parameters are stored per operator, so raising them
 * later leaves existing entries valid. They are bounded when read, so a
 * tampered file cannot make a login allocate gigabytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "helpdesk_operators.h"
#include "util/hex.h"
#include "util/syncdir.h"

#define OPS_HEADER "# cardforge helpdesk operators 1"
#define OPS_FILE_MAX (OPS_MAX * 200u)
#define DEFAULT_LOG2N 15u

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int ops_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > OPS_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int hash_pw(const void *pw, size_t len, const uint8_t *salt, unsigned log2n, unsigned r,
                   unsigned p, uint8_t out[OPS_HASH_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << log2n;
    uint32_t rr = r, pp = p;
    uint64_t maxmem = 256ull << 20;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, OPS_SALT_LEN),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx != NULL && EVP_KDF_derive(ctx, out, OPS_HASH_LEN, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

cf_err_t ops_set_password(ops_entry_t *e, const void *pw, size_t len)
{
    e->log2n = DEFAULT_LOG2N;
    e->r = 8;
    e->p = 1;
    if (RAND_bytes(e->salt, sizeof(e->salt)) != 1)
        return CF_ERR_CRYPTO;
    return hash_pw(pw, len, e->salt, e->log2n, e->r, e->p, e->hash) == 0 ? CF_OK : CF_ERR_CRYPTO;
}

int ops_check_password(const ops_entry_t *e, const void *pw, size_t len)
{
    static const ops_entry_t dummy = {.log2n = DEFAULT_LOG2N, .r = 8, .p = 1};
    const ops_entry_t *use = e != NULL ? e : &dummy;
    uint8_t h[OPS_HASH_LEN];
    int ok = hash_pw(pw, len, use->salt, use->log2n, use->r, use->p, h) == 0 &&
             CRYPTO_memcmp(h, use->hash, sizeof(h)) == 0;
    OPENSSL_cleanse(h, sizeof(h));
    return e != NULL && ok;
}

/* The next space-separated field of line[0..len) from *pos. */
static int next_field(const char *line, size_t len, size_t *pos, char *out, size_t cap)
{
    while (*pos < len && line[*pos] == ' ')
        (*pos)++;
    size_t start = *pos;
    while (*pos < len && line[*pos] != ' ')
        (*pos)++;
    size_t n = *pos - start;
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, line + start, n);
    out[n] = 0;
    return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    if (strlen(s) > 2 || s[0] < '0' || s[0] > '9')
        return -1;
    unsigned v = (unsigned)strtoul(s, NULL, 10);
    if ((s[1] != 0 && (s[1] < '0' || s[1] > '9')) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_entry(const char *line, size_t len, ops_entry_t *e)
{
    char f[8][72];
    size_t pos = 0;
    for (int i = 0; i < 8; i++)
        if (next_field(line, len, &pos, f[i], sizeof(f[i])) != 0)
            return -1;
    while (pos < len && line[pos] == ' ')
        pos++;
    if (pos != len || !ops_name_ok(f[0]) || strcmp(f[2], "scrypt") != 0)
        return -1;
    memset(e, 0, sizeof(*e));
    memcpy(e->name, f[0], strlen(f[0]) + 1); /* ops_name_ok: at most OPS_NAME_MAX */
    if (strcmp(f[1], "active") == 0)
        e->active = 1;
    else if (strcmp(f[1], "disabled") != 0)
        return -1;
    if (parse_uint(f[3], 10, 20, &e->log2n) != 0 || parse_uint(f[4], 1, 16, &e->r) != 0 ||
        parse_uint(f[5], 1, 4, &e->p) != 0)
        return -1;
    if (strlen(f[6]) != 2 * OPS_SALT_LEN ||
        cf_hex_decode(f[6], strlen(f[6]), e->salt, sizeof(e->salt)) != CF_OK)
        return -1;
    if (strlen(f[7]) != 2 * OPS_HASH_LEN ||
        cf_hex_decode(f[7], strlen(f[7]), e->hash, sizeof(e->hash)) != CF_OK)
        return -1;
    return 0;
}

int ops_parse(const char *text, size_t len, ops_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t pos = 0;
    unsigned long lineno = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t n = end - pos;
        pos = nl ? end + 1 : len;
        lineno++;
        if (lineno == 1) {
            if (n != strlen(OPS_HEADER) || memcmp(line, OPS_HEADER, n) != 0) {
                set_err(err, errlen, "line 1: not an operators file (no '%s' header)", OPS_HEADER);
                goto fail;
            }
            continue;
        }
        if (n == 0 || line[0] == '#')
            continue;
        if (out->n == OPS_MAX) {
            set_err(err, errlen, "line %lu: more than %u operators", lineno, OPS_MAX);
            goto fail;
        }
        ops_entry_t e;
        if (parse_entry(line, n, &e) != 0) {
            set_err(err, errlen,
                    "line %lu: not an operator entry (name active|disabled scrypt LOG2N R P "
                    "SALT HASH)",
                    lineno);
            goto fail;
        }
        if (ops_find(out, e.name) != NULL) {
            set_err(err, errlen, "line %lu: operator '%s' is listed twice", lineno, e.name);
            goto fail;
        }
        ops_entry_t *grown = realloc(out->e, (out->n + 1) * sizeof(*grown));
        if (grown == NULL) {
            set_err(err, errlen, "out of memory");
            goto fail;
        }
        out->e = grown;
        out->e[out->n++] = e;
    }
    if (lineno == 0) {
        set_err(err, errlen, "line 1: empty; not an operators file");
        goto fail;
    }
    return 0;
fail:
    ops_free(out);
    return -1;
}

cf_err_t ops_load(const char *path, int missing_ok, ops_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == ENOENT && missing_ok)
        return CF_OK;
    if (fd < 0) {
        set_err(err, errlen, "%s: %s", path,
                errno == ELOOP ? "refused: a symbolic link; name the operators file itself"
                               : strerror(errno));
        return errno == ENOENT ? CF_ERR_NOT_FOUND : CF_ERR_IO;
    }
    struct stat st;
    cf_err_t e = CF_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: refused: not a regular file", path);
        e = CF_ERR_PERMISSION;
    } else if (st.st_uid != geteuid()) {
        set_err(err, errlen,
                "%s: refused: owned by uid %lu, not by the user running cardforge (uid %lu)", path,
                (unsigned long)st.st_uid, (unsigned long)geteuid());
        e = CF_ERR_PERMISSION;
    } else if ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400) {
        set_err(err, errlen,
                "%s: refused: mode %04o lets others in; an operators file must be 0600 or "
                "0400 (chmod 600 %s)",
                path, (unsigned)(st.st_mode & 07777), path);
        e = CF_ERR_PERMISSION;
    } else if (st.st_size > (off_t)OPS_FILE_MAX) {
        set_err(err, errlen, "%s: larger than %u bytes; not an operators file", path, OPS_FILE_MAX);
        e = CF_ERR_INVALID;
    }
    char *text = e == CF_OK ? malloc((size_t)st.st_size + 1) : NULL;
    size_t got = 0;
    if (e == CF_OK && text == NULL)
        e = CF_ERR_NOMEM;
    while (e == CF_OK && got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (e == CF_OK) {
        char why[OPS_ERRLEN];
        if (ops_parse(text, got, out, why, sizeof(why)) != 0) {
            set_err(err, errlen, "%s:%s", path, why);
            e = CF_ERR_PARSE;
        }
    }
    free(text);
    return e;
}

cf_err_t ops_save(const char *path, const ops_t *ops, char *err, size_t errlen)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
        set_err(err, errlen, "%s: path too long", path);
        return CF_ERR_ARG;
    }
    unlink(tmp); /* a leftover of an interrupted save */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        set_err(err, errlen, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CF_ERR_IO;
    }
    fprintf(f, "%s\n", OPS_HEADER);
    for (size_t i = 0; i < ops->n; i++) {
        const ops_entry_t *e = &ops->e[i];
        char salt[2 * OPS_SALT_LEN + 1], hash[2 * OPS_HASH_LEN + 1];
        cf_hex_encode(e->salt, sizeof(e->salt), salt);
        cf_hex_encode(e->hash, sizeof(e->hash), hash);
        fprintf(f, "%s %s scrypt %u %u %u %s %s\n", e->name, e->active ? "active" : "disabled",
                e->log2n, e->r, e->p, salt, hash);
    }
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        set_err(err, errlen, "%s: cannot write the operators file: %s", path, strerror(errno));
        unlink(tmp);
        return CF_ERR_IO;
    }
    cf_sync_parent_dir(path);
    return CF_OK;
}

void ops_free(ops_t *ops)
{
    if (ops == NULL)
        return;
    free(ops->e);
    ops->e = NULL;
    ops->n = 0;
}

ops_entry_t *ops_find(const ops_t *ops, const char *name)
{
    for (size_t i = 0; i < ops->n; i++)
        if (strcmp(ops->e[i].name, name) == 0)
            return &ops->e[i];
    return NULL;
}
