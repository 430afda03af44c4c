/*
 * piv_attest.c - YubiKey attestation: the test attestation CA, the card's
 * attestation key (slot F9) and its certificate (object 5FFF01), and ATTEST
 * (F9), which certifies that a slot's key was generated on the card.
 *
 * A real YubiKey leaves the factory with an F9 key and a certificate from
 * Yubico's attestation CA. The virtual card's "factory" is this file:
 *   - the CA is the test attestation CA, one P-256 key derived from a fixed
 *     label (so every build and every card share it, and nothing secret is
 *     stored anywhere: it is a test CA, public by construction) with a
 *     self-signed certificate of fixed name, validity and serial;
 *     cf_simcard_attestation_ca_pem gives it to a verifier
 *     (`cardforge-vcard --attestation-ca`);
 *   - a card makes its F9 key (P-256) and the certificate the CA signs for
 *     it the first time anything needs them (ATTEST, GET METADATA of F9,
 *     GET DATA of 5FFF01), and keeps both in its state file; RESET keeps
 *     them, as on a YubiKey. Making them lazily keeps card creation cheap
 *     and lets state files written before attestation load unchanged.
 * The slot certificate follows the YubiKey layout (docs/cards/piv.md,
 * "Attestation"): subject "YubiKey PIV Attestation <slot>", issuer the F9
 * certificate's subject, the slot's public key, and the Yubico extensions
 * 1.3.6.1.4.1.41482.3.3 (firmware 05 04 03), .3.7 (serial, DER INTEGER),
 * .3.8 (PIN and touch policy), .3.9 (form factor), signed by the F9 key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "simcard/piv_int.h"

static const char ca_label[] = "cardforge test PIV attestation CA, key 1";
static const char ca_name[] = "cardforge test PIV attestation CA";
static const char not_before[] = "20240101000000Z";
static const char not_after[] = "20991231235959Z";

#define FORM_FACTOR_USB_A_KEYCHAIN 0x01

/* The CA key: the P-256 scalar SHA-256(label) (below the group order,
 * which the key constructor checks). */
static EVP_PKEY *ca_key(void)
{
    uint8_t d[32];
    unsigned dl = 0;
    EVP_PKEY *pk = NULL;
    if (EVP_Digest(ca_label, sizeof(ca_label) - 1, d, &dl, EVP_sha256(), NULL) == 1)
        pk = piv_ec_from_scalar(PIV_ALG_ECCP256, d, dl);
    OPENSSL_cleanse(d, sizeof(d));
    return pk;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* An extension whose value is the given raw bytes (Yubico's layout). */
static int add_raw_ext(X509 *x, const char *oid, const uint8_t *val, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    int ok = obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, val, (int)len) == 1 &&
             (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) != NULL &&
             X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok;
}

static int set_random_serial(X509 *x)
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return 0;
    r[0] &= 0x7F; /* positive */
    r[0] |= 0x40; /* and no leading zero byte */
    BIGNUM *bn = BN_bin2bn(r, sizeof(r), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int set_cn(X509_NAME *n, const char *cn)
{
    return X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                      0) == 1;
}

/* A certificate shell: v3, the subject CN, the issuer's subject (or its
 * own for a self-signed one), the given validity, the subject's key. */
static X509 *cert_shell(const char *cn, X509 *issuer, EVP_PKEY *subject_key, const ASN1_TIME *nb,
                        const ASN1_TIME *na)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    int ok = x != NULL && name != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
             set_cn(name, cn) && X509_set_subject_name(x, name) == 1 &&
             X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) == 1 &&
             X509_set1_notBefore(x, nb) == 1 && X509_set1_notAfter(x, na) == 1 &&
             X509_set_pubkey(x, subject_key) == 1;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Fixed validity, used by the CA and the F9 certificate. */
static int fixed_validity(ASN1_TIME **nb, ASN1_TIME **na)
{
    *nb = ASN1_TIME_new();
    *na = ASN1_TIME_new();
    return *nb != NULL && *na != NULL && ASN1_TIME_set_string_X509(*nb, not_before) == 1 &&
           ASN1_TIME_set_string_X509(*na, not_after) == 1;
}

/* The CA certificate (self-signed); *key_out gets the CA key. */
static X509 *ca_cert(EVP_PKEY **key_out)
{
    ASN1_TIME *nb = NULL, *na = NULL;
    EVP_PKEY *key = ca_key();
    X509 *x = NULL;
    if (key != NULL && fixed_validity(&nb, &na))
        x = cert_shell(ca_name, NULL, key, nb, na);
    int ok = x != NULL && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
             add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, x, NID_subject_key_identifier, "hash") &&
             X509_sign(x, key, EVP_sha256()) > 0;
    ASN1_TIME_free(nb);
    ASN1_TIME_free(na);
    if (!ok) {
        X509_free(x);
        EVP_PKEY_free(key);
        return NULL;
    }
    *key_out = key;
    return x;
}

cf_err_t cf_simcard_attestation_ca_pem(char **pem)
{
    *pem = NULL;
    EVP_PKEY *key = NULL;
    X509 *x = ca_cert(&key);
    EVP_PKEY_free(key);
    if (x == NULL)
        return CF_ERR_CRYPTO;
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;
    if (b != NULL && PEM_write_bio_X509(b, x) == 1)
        n = BIO_get_mem_data(b, &data);
    if (n > 0 && (*pem = malloc((size_t)n + 1)) != NULL) {
        memcpy(*pem, data, (size_t)n);
        (*pem)[n] = 0;
    }
    BIO_free(b);
    X509_free(x);
    return *pem != NULL ? CF_OK : CF_ERR_CRYPTO;
}

/* The F9 certificate for key, as the 5FFF01 object value (70 cert 71 00
 * FE, the certificate object layout of SP 800-73-4). Returns a malloc'd
 * buffer and its length, or NULL. */
static uint8_t *attestation_object(const cf_simcard_t *card, EVP_PKEY *key, size_t *len)
{
    EVP_PKEY *cakey = NULL;
    X509 *ca = ca_cert(&cakey);
    X509 *x = NULL;
    char cn[64];
    snprintf(cn, sizeof(cn), "cardforge PIV Attestation %lu", (unsigned long)card->serial);
    if (ca != NULL)
        x = cert_shell(cn, ca, key, X509_get0_notBefore(ca), X509_get0_notAfter(ca));
    int ok = x != NULL && set_random_serial(x) &&
             add_ext(x, ca, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, ca, NID_key_usage, "critical,keyCertSign") &&
             add_ext(x, ca, NID_authority_key_identifier, "keyid") &&
             X509_sign(x, cakey, EVP_sha256()) > 0;
    uint8_t *der = NULL, *obj = NULL;
    int n = ok ? i2d_X509(x, &der) : -1;
    if (n > 0 && (obj = malloc((size_t)n + 16)) != NULL) {
        cf_wcursor w = cf_wcursor_init(obj, (size_t)n + 16);
        static const uint8_t tail[] = {0x71, 0x01, 0x00, 0xFE, 0x00};
        cf_wc_tlv(&w, 0x70, der, (size_t)n);
        cf_wc_bytes(&w, tail, sizeof(tail));
        *len = w.len;
    }
    OPENSSL_free(der);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(cakey);
    return obj;
}

int piv_attest_ensure(cf_simcard_t *card)
{
    struct piv_nv *nv = &piv_of(card)->nv;
    struct piv_key *f9 = &nv->key[piv_slot_index(PIV_SLOT_ATTEST)];
    struct piv_object *o = &nv->obj[piv_obj_index(PIV_OBJ_ATTESTATION)];
    if (f9->pkey != NULL && o->data != NULL)
        return 0;
    /* A key without its certificate (a hand-made state file, or 5FFF01
     * deleted) gets a new certificate; no key gets both. */
    EVP_PKEY *key = f9->pkey;
    if (key == NULL) {
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        cf_simcard_count(card, CF_SIM_COST_KEYGEN_EC);
    }
    size_t len = 0;
    uint8_t *obj = key != NULL ? attestation_object(card, key, &len) : NULL;
    if (obj == NULL) {
        if (key != f9->pkey)
            EVP_PKEY_free(key);
        return -1;
    }
    struct piv_nv saved;
    piv_nv_begin(card, &saved);
    /* A Yubico factory imports the F9 key: report it so. */
    if (key != f9->pkey)
        piv_key_set(card, PIV_SLOT_ATTEST, key, PIV_ALG_ECCP256, PIV_PIN_NEVER,
                    PIV_ORIGIN_IMPORTED);
    o->data = obj; /* an older object stays with saved */
    o->len = len;
    return piv_nv_commit(card, &saved);
}

/* The F9 certificate as the card holds it in 5FFF01, or NULL. */
static X509 *stored_attestation_cert(const cf_simcard_t *card)
{
    const struct piv_object *o =
        &piv_of((cf_simcard_t *)card)->nv.obj[piv_obj_index(PIV_OBJ_ATTESTATION)];
    const uint8_t *v;
    size_t vl;
    if (o->data == NULL || cf_tlv_find(o->data, o->len, 0x70, &v, &vl) != 0)
        return NULL;
    const uint8_t *p = v;
    X509 *x = d2i_X509(NULL, &p, (long)vl);
    if (x != NULL && p != v + vl) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* The slot certificate, DER, into resp. */
static int attest_slot(cf_simcard_t *card, uint8_t ref, const struct piv_key *k, cf_wcursor *resp)
{
    const struct piv_key *f9 = &piv_of(card)->nv.key[piv_slot_index(PIV_SLOT_ATTEST)];
    X509 *issuer = stored_attestation_cert(card);
    X509 *x = NULL;
    char cn[40];
    snprintf(cn, sizeof(cn), "YubiKey PIV Attestation %02x", ref);
    if (issuer != NULL)
        x = cert_shell(cn, issuer, k->pkey, X509_get0_notBefore(issuer),
                       X509_get0_notAfter(issuer));
    static const uint8_t firmware[3] = {5, 4, 3};
    uint8_t serial[8];
    uint8_t *sp = serial;
    ASN1_INTEGER *si = ASN1_INTEGER_new();
    int sl = si != NULL && ASN1_INTEGER_set_uint64(si, card->serial) == 1
                 ? i2d_ASN1_INTEGER(si, NULL)
                 : -1;
    if (sl > 0 && sl <= (int)sizeof(serial))
        i2d_ASN1_INTEGER(si, &sp);
    uint8_t policy[2] = {k->pin_policy, k->touch_policy};
    uint8_t form = FORM_FACTOR_USB_A_KEYCHAIN;
    int ok = x != NULL && sl > 0 && sl <= (int)sizeof(serial) && set_random_serial(x) &&
             add_raw_ext(x, "1.3.6.1.4.1.41482.3.3", firmware, sizeof(firmware)) &&
             add_raw_ext(x, "1.3.6.1.4.1.41482.3.7", serial, (size_t)sl) &&
             add_raw_ext(x, "1.3.6.1.4.1.41482.3.8", policy, sizeof(policy)) &&
             add_raw_ext(x, "1.3.6.1.4.1.41482.3.9", &form, 1) &&
             X509_sign(x, f9->pkey, EVP_sha256()) > 0;
    uint8_t *der = NULL;
    int n = ok ? i2d_X509(x, &der) : -1;
    if (n > 0)
        cf_wc_bytes(resp, der, (size_t)n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(si);
    X509_free(x);
    X509_free(issuer);
    return n > 0 ? 0 : -1;
}

uint16_t piv_attest(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct piv_card *pc = piv_of(card);
    if (cmd->nc != 0)
        return SW_WRONG_LENGTH;
    if (cmd->p2 != 0x00)
        return SW_INCORRECT_P1P2;
    int idx = piv_slot_index(cmd->p1);
    if (idx < 0 || cmd->p1 == PIV_SLOT_ATTEST || pc->nv.key[idx].pkey == NULL)
        return SW_REF_NOT_FOUND;
    /* Only a key born on the card can be vouched for. */
    if (pc->nv.key[idx].origin != PIV_ORIGIN_GENERATED)
        return SW_WRONG_DATA;
    if (piv_attest_ensure(card) < 0)
        return SW_MEMORY_FAILURE;
    piv_count_private(card, PIV_ALG_ECCP256);
    return attest_slot(card, cmd->p1, &pc->nv.key[idx], resp) == 0 ? SW_OK : SW_UNKNOWN;
}
