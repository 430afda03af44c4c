/*
 * cert_view.c - the fields `cardforge cert list` and `show` print, taken
 * from OpenSSL's parse of the certificate: names in RFC 2253 order as
 * OpenSSL prints them (the same text `openssl x509 -nameopt RFC2253`
 * gives), times in UTC ISO 8601, fingerprints over the DER as openssl
 * x509 -fingerprint computes them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert_view.h"
#include "out.h"

static void name_text(const X509_NAME *n, char *out, size_t cap)
{
    out[0] = 0;
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return;
    if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        int k = BIO_read(b, out, (int)cap - 1);
        out[k > 0 ? k : 0] = 0;
    }
    BIO_free(b);
}

static void time_text(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, cap, "?");
        return;
    }
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fingerprint(const uint8_t *der, size_t len, const EVP_MD *md, char *out, size_t cap)
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    out[0] = 0;
    if (EVP_Digest(der, len, h, &hl, md, NULL) != 1)
        return;
    size_t k = 0;
    for (unsigned i = 0; i < hl && k + 4 <= cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%02X", i ? ":" : "", h[i]);
}

static void key_text(X509 *x, struct cert_info *ci)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    ci->key_bits = pk ? EVP_PKEY_get_bits(pk) : 0;
    if (pk == NULL) {
        snprintf(ci->key_alg, sizeof(ci->key_alg), "unknown");
    } else if (EVP_PKEY_is_a(pk, "RSA")) {
        snprintf(ci->key_alg, sizeof(ci->key_alg), "RSA-%d", ci->key_bits);
    } else if (EVP_PKEY_is_a(pk, "EC")) {
        char g[40] = "";
        size_t gl = 0;
        EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), &gl);
        if (strcmp(g, "prime256v1") == 0)
            snprintf(ci->key_alg, sizeof(ci->key_alg), "ECC P-256");
        else if (strcmp(g, "secp384r1") == 0)
            snprintf(ci->key_alg, sizeof(ci->key_alg), "ECC P-384");
        else
            snprintf(ci->key_alg, sizeof(ci->key_alg), "EC %s", g);
    } else {
        snprintf(ci->key_alg, sizeof(ci->key_alg), "%s", EVP_PKEY_get0_type_name(pk));
    }
}

static void append(char *out, size_t cap, const char *s)
{
    size_t k = strlen(out);
    snprintf(out + k, cap - k, "%s%s", k ? ", " : "", s);
}

static void usage_text(X509 *x, struct cert_info *ci)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } ku[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
              {KU_NON_REPUDIATION, "nonRepudiation"},
              {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
              {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
              {KU_KEY_AGREEMENT, "keyAgreement"},
              {KU_KEY_CERT_SIGN, "keyCertSign"},
              {KU_CRL_SIGN, "cRLSign"}};
    uint32_t k = X509_get_key_usage(x);
    if (k != UINT32_MAX)
        for (size_t i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
            if (k & ku[i].bit)
                append(ci->key_usage, sizeof(ci->key_usage), ku[i].name);
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
        char t[128];
        ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
        int nid = OBJ_obj2nid(o);
        if (nid != NID_undef)
            snprintf(t, sizeof(t), "%s", OBJ_nid2ln(nid));
        else
            OBJ_obj2txt(t, sizeof(t), o, 1);
        append(ci->ext_key_usage, sizeof(ci->ext_key_usage), t);
    }
    EXTENDED_KEY_USAGE_free(eku);
}

static void san_text(X509 *x, struct cert_info *ci)
{
    GENERAL_NAMES *gs = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gs != NULL && i < sk_GENERAL_NAME_num(gs); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gs, i);
        char t[300] = "";
        if (g->type == GEN_EMAIL || g->type == GEN_DNS || g->type == GEN_URI) {
            const char *tag = g->type == GEN_EMAIL ? "email" : g->type == GEN_DNS ? "DNS" : "URI";
            const ASN1_IA5STRING *s = g->d.ia5;
            snprintf(t, sizeof(t), "%s:%.*s", tag, ASN1_STRING_length(s),
                     (const char *)ASN1_STRING_get0_data(s));
        } else if (g->type == GEN_OTHERNAME && OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
                   g->d.otherName->value->type == V_ASN1_UTF8STRING) {
            const ASN1_UTF8STRING *s = g->d.otherName->value->value.utf8string;
            snprintf(t, sizeof(t), "UPN:%.*s", ASN1_STRING_length(s),
                     (const char *)ASN1_STRING_get0_data(s));
        } else {
            snprintf(t, sizeof(t), "other(type %d)", g->type);
        }
        /* a name with control bytes would upset a terminal */
        for (char *p = t; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7F)
                *p = '?';
        append(ci->san, sizeof(ci->san), t);
    }
    GENERAL_NAMES_free(gs);
}

int cert_info_get(const uint8_t *der, size_t len, struct cert_info *ci)
{
    memset(ci, 0, sizeof(*ci));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        return -1;
    }
    name_text(X509_get_subject_name(x), ci->subject, sizeof(ci->subject));
    name_text(X509_get_issuer_name(x), ci->issuer, sizeof(ci->issuer));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(ci->serial, sizeof(ci->serial), "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    time_text(X509_get0_notBefore(x), ci->not_before, sizeof(ci->not_before));
    time_text(X509_get0_notAfter(x), ci->not_after, sizeof(ci->not_after));
    ci->validity = X509_cmp_current_time(X509_get0_notBefore(x)) > 0  ? -1
                   : X509_cmp_current_time(X509_get0_notAfter(x)) < 0 ? 1
                                                                      : 0;
    key_text(x, ci);
    usage_text(x, ci);
    san_text(x, ci);
    fingerprint(der, len, EVP_sha1(), ci->sha1, sizeof(ci->sha1));
    fingerprint(der, len, EVP_sha256(), ci->sha256, sizeof(ci->sha256));
    X509_free(x);
    return 0;
}

const char *cert_validity_word(int validity)
{
    return validity < 0 ? "not yet valid" : validity > 0 ? "expired" : "valid";
}

void cert_info_print(FILE *f, const struct cert_info *ci)
{
    fprintf(f, "subject:            %s\n", ci->subject);
    fprintf(f, "issuer:             %s\n", ci->issuer);
    fprintf(f, "serial:             %s\n", ci->serial);
    fprintf(f, "valid from:         %s\n", ci->not_before);
    fprintf(f, "valid to:           %s (%s)\n", ci->not_after, cert_validity_word(ci->validity));
    fprintf(f, "key:                %s (%d bits)\n", ci->key_alg, ci->key_bits);
    fprintf(f, "key usage:          %s\n", ci->key_usage[0] ? ci->key_usage : "-");
    fprintf(f, "extended key usage: %s\n", ci->ext_key_usage[0] ? ci->ext_key_usage : "-");
    fprintf(f, "subject alt names:  %s\n", ci->san[0] ? ci->san : "-");
    fprintf(f, "SHA-1:              %s\n", ci->sha1);
    fprintf(f, "SHA-256:            %s\n", ci->sha256);
}

void cert_info_json(FILE *f, const struct cert_info *ci)
{
    out_json_member(f, "subject", ci->subject);
    out_json_member(f, "issuer", ci->issuer);
    out_json_member(f, "serial", ci->serial);
    out_json_member(f, "not_before", ci->not_before);
    out_json_member(f, "not_after", ci->not_after);
    out_json_member(f, "validity", cert_validity_word(ci->validity));
    out_json_member(f, "key_algorithm", ci->key_alg);
    fprintf(f, ",\"key_bits\":%d", ci->key_bits);
    out_json_member(f, "key_usage", ci->key_usage);
    out_json_member(f, "extended_key_usage", ci->ext_key_usage);
    out_json_member(f, "subject_alt_names", ci->san);
    out_json_member(f, "sha1", ci->sha1);
    out_json_member(f, "sha256", ci->sha256);
}
