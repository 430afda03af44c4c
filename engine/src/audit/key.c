/*
 * key.c - the audit key: Ed25519 through OpenSSL's EVP interface.
 *
 * The private key signs checkpoints and is guarded like a master-key file:
 * a regular file (no link followed), owned by the user running cardforge,
 * mode 0600 or 0400. The public key verifies; anyone may hold it. A key is
 * named in checkpoints by the first 8 bytes of the SHA-256 of its raw
 * public key, so a log checked with the wrong public key says so instead
 * of reporting every checkpoint as forged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "audit/audit_int.h"

#define KEY_FILE_MAX 16384

void cf_audit_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The file at path, read whole into buf (NUL-terminated); *len its length.
 * private: the ownership and mode checks of a key file apply. */
static int read_key_file(const char *path, int private, char *buf, size_t cap, size_t *len,
                         char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cf_audit_set_err(err, errlen, "%s: %s", path,
                         errno == ELOOP ? "refused: a symbolic link; name the key file itself"
                                        : strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "refused: not a regular file";
    else if (st.st_size >= (off_t)cap)
        why = "too large for a key file";
    if (why == NULL && private && st.st_uid != geteuid()) {
        cf_audit_set_err(err, errlen,
                         "%s: refused: owned by uid %lu, not by the user running cardforge", path,
                         (unsigned long)st.st_uid);
        close(fd);
        return -1;
    }
    if (why == NULL && private && (st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400) {
        cf_audit_set_err(err, errlen,
                         "%s: refused: mode %04o lets others in; an audit key must be 0600 or 0400",
                         path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (why == NULL && got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            why = strerror(errno);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (why != NULL) {
        cf_audit_set_err(err, errlen, "%s: %s", path, why);
        return -1;
    }
    buf[got] = 0;
    *len = got;
    return 0;
}

static EVP_PKEY *load(const char *path, int private, char *err, size_t errlen)
{
    char buf[KEY_FILE_MAX];
    size_t len = 0;
    if (read_key_file(path, private, buf, sizeof(buf), &len, err, errlen) != 0)
        return NULL;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *k = NULL;
    if (bio != NULL)
        k = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                    : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (k != NULL && EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        cf_audit_set_err(err, errlen, "%s: not an Ed25519 key", path);
        return NULL;
    }
    if (k == NULL)
        cf_audit_set_err(err, errlen, "%s: not a PEM Ed25519 %s key", path,
                         private ? "private" : "public");
    return k;
}

EVP_PKEY *cf_audit_load_private(const char *path, char *err, size_t errlen)
{
    return load(path, 1, err, errlen);
}

EVP_PKEY *cf_audit_load_public(const char *path, char *err, size_t errlen)
{
    return load(path, 0, err, errlen);
}

int cf_audit_key_id(EVP_PKEY *key, uint8_t id[CF_AUDIT_KEYID_LEN])
{
    uint8_t raw[32], md[SHA256_DIGEST_LENGTH];
    size_t len = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof(raw))
        return -1;
    SHA256(raw, len, md);
    memcpy(id, md, CF_AUDIT_KEYID_LEN);
    return 0;
}

int cf_audit_sign(EVP_PKEY *key, const void *msg, size_t n, uint8_t sig[CF_AUDIT_SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = CF_AUDIT_SIG_LEN;
    int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &len, msg, n) == 1 && len == CF_AUDIT_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

int cf_audit_sig_ok(EVP_PKEY *key, const void *msg, size_t n, const uint8_t sig[CF_AUDIT_SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, CF_AUDIT_SIG_LEN, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Write the PEM of key (private or public) to a new file, never over one
 * that is there. */
static int write_pem(const char *path, EVP_PKEY *key, int private, char *err, size_t errlen)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, private ? 0600 : 0644);
    if (fd < 0) {
        cf_audit_set_err(err, errlen, "%s: %s%s", path, strerror(errno),
                         errno == EEXIST ? " (a key is never overwritten: move it away first)"
                                         : "");
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(path);
        cf_audit_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int ok = private ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_PUBKEY(f, key);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        cf_audit_set_err(err, errlen, "%s: cannot write the key", path);
        return -1;
    }
    return 0;
}

cf_err_t cf_audit_keygen(const char *priv_path, const char *pub_path, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (key == NULL) {
        cf_audit_set_err(err, errlen, "generating an Ed25519 key failed");
        return CF_ERR_CRYPTO;
    }
    cf_err_t e = CF_OK;
    if (write_pem(priv_path, key, 1, err, errlen) != 0) {
        e = CF_ERR_IO;
    } else if (write_pem(pub_path, key, 0, err, errlen) != 0) {
        unlink(priv_path); /* a private key without its public half helps nobody */
        e = CF_ERR_IO;
    }
    EVP_PKEY_free(key);
    return e;
}
