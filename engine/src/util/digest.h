/*
 * digest.h - SHA-256 fingerprints as lower-case hex (internal).
 *
 * The journal, the order database and the plan name descriptions and
 * batches by the SHA-256 of their bytes, written as `sha256sum` writes it,
 * so an operator can compare them with the files by hand.
 */
#ifndef CF_UTIL_DIGEST_H
#define CF_UTIL_DIGEST_H

#include <stddef.h>

#include <openssl/evp.h>

#include <cardforge/error.h>

/* The SHA-256 of data[0..len) as 64 lower-case hex digits and a NUL. */
cf_err_t cf_sha256_hex(const void *data, size_t len, char out[65]);

/* Finish ctx (a SHA-256 digest fed by the caller) into out, as above. */
cf_err_t cf_sha256_final_hex(EVP_MD_CTX *ctx, char out[65]);

#endif
