/*
 * cert_view.h - what `cardforge cert` shows of a certificate: the fields
 * of the list and of the detail view (the seed's View screen), as text
 * and as JSON, all from OpenSSL's parse of the DER.
 */
#ifndef CF_TOOLS_CERT_VIEW_H
#define CF_TOOLS_CERT_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cert_info {
    char subject[512];
    char issuer[512];
    char serial[128];    /* hex, upper case */
    char not_before[32]; /* 2026-01-31T12:00:00Z */
    char not_after[32];
    char key_alg[48]; /* "RSA-2048", "ECC P-256", "EC secp521r1", ... */
    int key_bits;
    char key_usage[256]; /* "digitalSignature, keyEncipherment" or "" */
    char ext_key_usage[512];
    char san[1024]; /* "email:a@b, UPN:x@y, DNS:..." or "" */
    char sha1[60];  /* AA:BB:... */
    char sha256[100];
    int validity; /* 0 valid now, -1 not yet valid, 1 expired */
};

/* Fill *ci from der; 0, or -1 when der is not one certificate. */
int cert_info_get(const uint8_t *der, size_t len, struct cert_info *ci);

/* The detail view as "name: value" lines. */
void cert_info_print(FILE *f, const struct cert_info *ci);

/* The detail view as JSON members (no braces), each after a comma. */
void cert_info_json(FILE *f, const struct cert_info *ci);

/* "valid", "expired", "not yet valid". */
const char *cert_validity_word(int validity);

#endif
