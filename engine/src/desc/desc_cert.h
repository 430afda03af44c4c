/*
 * desc_cert.h - the [Certificate_<Name>] sections of an encoding
 * description (internal): collected in the compiler's first pass, checked
 * and put into the plan in its second (desc_cert.c).
 */
#ifndef CF_DESC_CERT_H
#define CF_DESC_CERT_H

#include <cardforge/diag.h>

#include "desc/desc_int.h"

enum cert_key {
    CK_SLOT,
    CK_ALGORITHM,
    CK_PINPOLICY,
    CK_TOUCHPOLICY,
    CK_SUBJECT,
    CK_UPN,
    CK_EMAIL,
    CK_VALIDITY,
    CK_CA,
    CK_CAKEY,
    CK_CACERT,
    CK_CACOMMAND,
    CK_CATIMEOUT,
    CK_COUNT
};

struct cert_raw {
    char name[CF_PLAN_CERT_NAME];
    unsigned long line;
    char *value[CK_COUNT];
    unsigned long vline[CK_COUNT];
};

struct desc_certs {
    const char *file;
    cf_diag_list_t *diags;
    struct cert_raw raw[CF_PLAN_MAX_CERTS];
    size_t n;
    int current; /* index into raw of the section being read; -1: none */
};

/* A [Certificate_<name>] header (name: after the underscore). */
void cf_desc_cert_section(struct desc_certs *dc, const char *name, size_t len, unsigned long line);

/* One KEY=VALUE inside the current certificate section. */
void cf_desc_cert_setting(struct desc_certs *dc, const char *key, const char *value,
                          unsigned long line);

/* Pass two: check every section and fill plan->certs (fields referenced by
 * templates are marked used). has_pin: the description sets a PIN the
 * steps can verify; has_cmk: it names CardManagerKey. */
void cf_desc_cert_finish(struct desc_certs *dc, cf_plan_t *plan, int has_pin, int has_cmk);

void cf_desc_cert_raw_free(struct desc_certs *dc);

#endif
