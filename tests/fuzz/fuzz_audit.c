/*
 * fuzz_audit.c - libFuzzer target for the audit log's line parser and
 * verifier.
 *
 * Each input is parsed as one line (cf_audit_parse_line) and then verified
 * as a whole log against a fixed key. A line that parses as a checkpoint
 * must say its signature covers a prefix of the line ending just before
 * `,"sig":`; the verifier must name a line inside the log (or 0) and never
 * call a log intact whose checkpoints it did not check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit/audit_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *fixed_key(void)
{
    static EVP_PKEY *key;
    static const uint8_t seed[32] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (key == NULL)
        key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_audit_line_t line;
    if (cf_audit_parse_line((const char *)data, size, &line) == 0 && line.checkpoint) {
        if (line.signed_len + CF_AUDIT_SIG_TAIL_LEN != size ||
            memcmp(data + line.signed_len, ",\"sig\":\"", 8) != 0)
            abort();
    }
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (f == NULL)
        return 0;
    cf_audit_report_t rep;
    cf_audit_verify_stream(f, fixed_key(), 0, &rep);
    fclose(f);
    if (rep.line > rep.lines + 1)
        abort();
    if (rep.damage == CF_AUDIT_INTACT && rep.checkpoints == 0)
        abort(); /* an intact, closed log ends with a signed checkpoint */
    return 0;
}
