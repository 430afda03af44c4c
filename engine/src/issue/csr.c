/*
 * csr.c - a PKCS#10 certificate request whose signature the card makes.
 *
 * OpenSSL assembles the request around the public key the card generated;
 * the DER of the request info (what PKCS#10 signs) is hashed here and the
 * digest signed in the slot with cf_cert_sign, so the private key never
 * leaves the card. The signature is then checked with OpenSSL against the
 * card's public key before the request goes anywhere: a card that signs
 * with another key, or signs badly, is caught here and not by the CA.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "issue/issue_int.h"

/* Longest attribute value accepted (X.520 upper bounds are 64..256; the
 * CAs we feed take more, the cards' slots do not). */
#define MAX_DN_VALUE 256

static cf_err_t build_subject(X509_NAME *name, const cf_issue_names_t *names, char *errbuf,
                              size_t errlen)
{
    if (names->subject == NULL || names->n_subject == 0) {
        cf_keys_errf(errbuf, errlen, "request: the subject is empty");
        return CF_ERR_ARG;
    }
    for (size_t i = 0; i < names->n_subject; i++) {
        const cf_dn_entry_t *e = &names->subject[i];
        if (e->attr == NULL || OBJ_txt2nid(e->attr) == NID_undef) {
            cf_keys_errf(errbuf, errlen, "request: unknown subject attribute '%.32s'",
                         e->attr ? e->attr : "");
            return CF_ERR_ARG;
        }
        size_t vl = e->value ? strlen(e->value) : 0;
        if (vl == 0 || vl > MAX_DN_VALUE) {
            cf_keys_errf(errbuf, errlen, "request: subject attribute %s is %s", e->attr,
                         vl == 0 ? "empty" : "longer than 256 bytes");
            return CF_ERR_ARG;
        }
        if (X509_NAME_add_entry_by_txt(name, e->attr, MBSTRING_UTF8,
                                       (const unsigned char *)e->value, (int)vl, -1, 0) != 1) {
            cf_keys_errf(errbuf, errlen,
                         "request: subject attribute %s: value refused "
                         "(not UTF-8, or too long for the attribute)",
                         e->attr);
            return CF_ERR_ARG;
        }
    }
    return CF_OK;
}

static int given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

GENERAL_NAMES *cf_issue_san(const cf_issue_names_t *names, int *none)
{
    *none = !given(names->upn) && !given(names->email);
    if (*none)
        return NULL;
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    if (gens == NULL)
        return NULL;
    if (given(names->upn)) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_TYPE *v = ASN1_TYPE_new();
        ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
        ASN1_OBJECT *oid = OBJ_nid2obj(NID_ms_upn);
        int ok = g && v && s && oid && ASN1_STRING_set(s, names->upn, -1) == 1;
        if (ok) {
            ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
            s = NULL;
            ok = GENERAL_NAME_set0_othername(g, oid, v) == 1;
            if (ok)
                v = NULL;
        }
        if (ok && sk_GENERAL_NAME_push(gens, g) > 0)
            g = NULL;
        else
            ok = 0;
        ASN1_UTF8STRING_free(s);
        ASN1_TYPE_free(v);
        GENERAL_NAME_free(g);
        if (!ok) {
            GENERAL_NAMES_free(gens);
            return NULL;
        }
    }
    if (given(names->email)) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        int ok = g && s && ASN1_STRING_set(s, names->email, -1) == 1;
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_EMAIL, s);
            s = NULL;
            ok = sk_GENERAL_NAME_push(gens, g) > 0;
            if (ok)
                g = NULL;
        }
        ASN1_IA5STRING_free(s);
        GENERAL_NAME_free(g);
        if (!ok) {
            GENERAL_NAMES_free(gens);
            return NULL;
        }
    }
    return gens;
}

/* The SAN asked for in an extensionRequest attribute. */
static cf_err_t add_san_request(X509_REQ *req, const cf_issue_names_t *names)
{
    int none = 0;
    GENERAL_NAMES *gens = cf_issue_san(names, &none);
    if (none)
        return CF_OK;
    if (gens == NULL)
        return CF_ERR_NOMEM;
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
    int ok = exts != NULL && ext != NULL && sk_X509_EXTENSION_push(exts, ext) > 0;
    if (ok)
        ext = NULL;
    ok = ok && X509_REQ_add_extensions(req, exts) == 1;
    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(gens);
    return ok ? CF_OK : CF_ERR_CRYPTO;
}

static int sig_nid(cf_key_alg_t alg)
{
    switch (alg) {
    case CF_KEYALG_RSA2048:
        return NID_sha256WithRSAEncryption;
    case CF_KEYALG_ECCP256:
        return NID_ecdsa_with_SHA256;
    case CF_KEYALG_ECCP384:
        return NID_ecdsa_with_SHA384;
    default:
        return NID_undef;
    }
}

/* Hash the request info, have the card sign it, put the signature in. */
static cf_err_t card_sign(cf_card_t *card, const char *slot, cf_key_alg_t alg, X509_REQ *req,
                          char *errbuf, size_t errlen)
{
    X509_ALGOR *algo = X509_ALGOR_new();
    if (algo == NULL)
        return CF_ERR_NOMEM;
    /* RSA's AlgorithmIdentifier carries an explicit NULL; ECDSA's none
     * (RFC 5754). */
    int ptype = alg == CF_KEYALG_RSA2048 ? V_ASN1_NULL : V_ASN1_UNDEF;
    X509_ALGOR_set0(algo, OBJ_nid2obj(sig_nid(alg)), ptype, NULL);
    int ok = X509_REQ_set1_signature_algo(req, algo) == 1;
    X509_ALGOR_free(algo);
    unsigned char *tbs = NULL;
    int tl = ok ? i2d_re_X509_REQ_tbs(req, &tbs) : -1;
    if (tl <= 0) {
        cf_keys_errf(errbuf, errlen, "request: cannot encode the request info");
        return CF_ERR_CRYPTO;
    }
    const char *md = cf_issue_md_name(alg);
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    ok = EVP_Digest(tbs, (size_t)tl, digest, &dl, EVP_get_digestbyname(md), NULL) == 1;
    OPENSSL_free(tbs);
    if (!ok)
        return CF_ERR_CRYPTO;
    uint8_t *sig = NULL;
    size_t sl = 0;
    cf_err_t err = cf_cert_sign_as(card, slot, alg, md, digest, dl, &sig, &sl);
    if (err != CF_OK) {
        cf_keys_errf(errbuf, errlen, "request: the card did not sign it: %s", cf_card_errmsg(card));
        return err;
    }
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    ok = bs != NULL && ASN1_BIT_STRING_set(bs, sig, (int)sl) == 1;
    free(sig);
    if (!ok) {
        ASN1_BIT_STRING_free(bs);
        return CF_ERR_NOMEM;
    }
    /* Without "bits left" set, DER encoding counts the last byte's
     * trailing zero bits as unused: every signature whose last byte is
     * even (half of them) would come out of i2d as a bit string that
     * verifiers refuse. The re-parse check below caught it. */
    bs->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    X509_REQ_set0_signature(req, bs);
    return CF_OK;
}

cf_err_t cf_issue_csr(cf_card_t *card, const char *slot, cf_key_alg_t alg, const uint8_t *spki,
                      size_t spki_len, const cf_issue_names_t *names, uint8_t **csr,
                      size_t *csr_len, char *errbuf, size_t errlen)
{
    *csr = NULL;
    *csr_len = 0;
    if (card == NULL || slot == NULL || spki == NULL || names == NULL ||
        sig_nid(alg) == NID_undef) {
        cf_keys_errf(errbuf, errlen,
                     "request: no card, slot, key or names, or an unknown "
                     "key algorithm");
        return CF_ERR_ARG;
    }
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
    X509_REQ *req = X509_REQ_new();
    cf_err_t err = CF_OK;
    if (pub == NULL || (size_t)(p - spki) != spki_len) {
        cf_keys_errf(errbuf, errlen, "request: the card's public key does not parse");
        err = CF_ERR_ARG;
    } else if (req == NULL || X509_REQ_set_version(req, 0) != 1 ||
               X509_REQ_set_pubkey(req, pub) != 1) {
        err = CF_ERR_NOMEM;
    }
    if (err == CF_OK)
        err = build_subject(X509_REQ_get_subject_name(req), names, errbuf, errlen);
    if (err == CF_OK && (err = add_san_request(req, names)) != CF_OK)
        cf_keys_errf(errbuf, errlen, "request: cannot encode the subject alternative name");
    if (err == CF_OK)
        err = card_sign(card, slot, alg, req, errbuf, errlen);
    unsigned char *der = NULL;
    int dl = err == CF_OK ? i2d_X509_REQ(req, &der) : -1;
    if (err == CF_OK && dl <= 0)
        err = CF_ERR_CRYPTO;
    if (err == CF_OK) {
        /* Checked from the bytes that will be sent, parsed afresh. */
        const unsigned char *r = der;
        X509_REQ *again = d2i_X509_REQ(NULL, &r, dl);

        if (again == NULL || X509_REQ_verify(again, pub) != 1) {
            cf_keys_errf(errbuf, errlen,
                         "request: the card's signature does not verify with "
                         "the public key it generated");
            err = CF_ERR_CRYPTO;
        }
        X509_REQ_free(again);
    }
    if (err == CF_OK)
        err = cf_issue_copy(der, (size_t)dl, csr, csr_len);
    OPENSSL_free(der);
    X509_REQ_free(req);
    EVP_PKEY_free(pub);
    return err;
}
