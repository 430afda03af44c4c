/*
 * cert_file.h - reading what `cardforge cert import` is given: a
 * certificate file (.cer/.der or PEM) or a PKCS#12 file (.pfx/.p12, chosen
 * by its name) whose password is asked at the terminal without echo.
 */
#ifndef CF_TOOLS_CERT_FILE_H
#define CF_TOOLS_CERT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/secret.h>

struct cert_import {
    uint8_t *der; /* the certificate, DER */
    size_t der_len;
    cf_secret_t *key; /* PKCS#8 DER of the private key (PKCS#12 only), or NULL */
};

/* Load path into *ci. A CF_EXIT_* status; every problem is said on stderr
 * prefixed with cmd (a wrong password, a bundle without a key, a
 * certificate that is not the key's, damaged bytes), never a secret. */
int cert_file_load(const char *cmd, const char *path, struct cert_import *ci);

/* Wipe and free; fine on a zeroed one. */
void cert_import_free(struct cert_import *ci);

#endif
