/*
 * issue_run.c - one certificate issuance on one card, start to proof.
 *
 * The order is what makes the card's state reportable at every exit:
 * nothing on the card changes until the key is generated; from then on the
 * only change left is the certificate write, so a CA that refuses, hangs or
 * answers garbage leaves exactly "key generated, no certificate", and a
 * card lost during the write leaves "certificate unknown" (the card layer
 * knows whether the command reached it). The certificate is checked
 * against the generated key before it is written, and proven after: read
 * back byte for byte from a fresh session, and one signature by the card
 * over a random digest verified with the certificate's public key.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "issue/issue_int.h"

const char *cf_issue_state_name(cf_issue_state_t s)
{
    switch (s) {
    case CF_ISSUE_UNTOUCHED:
        return "untouched";
    case CF_ISSUE_KEY_GENERATED:
        return "key-generated";
    case CF_ISSUE_CERT_UNKNOWN:
        return "certificate-unknown";
    case CF_ISSUE_CERT_WRITTEN:
        return "certificate-written";
    case CF_ISSUE_DONE:
        return "done";
    }
    return "unknown";
}

static cf_err_t verify_pin(cf_card_t *card, const cf_secret_t *pin, char *errbuf, size_t errlen)
{
    if (pin == NULL)
        return CF_OK;
    cf_err_t err = cf_card_verify_pin(card, pin);
    if (err != CF_OK)
        cf_keys_errf(errbuf, errlen, "PIN verification before a signature: %s",
                     cf_card_errmsg(card));
    return err;
}

/* One signature by the slot's key over a random digest, verified with the
 * certificate's public key. */
static cf_err_t prove(cf_card_t *card, const char *slot, cf_key_alg_t alg, const uint8_t *der,
                      size_t len, char *errbuf, size_t errlen)
{
    const char *md = cf_issue_md_name(alg);
    const EVP_MD *evp = EVP_get_digestbyname(md);
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t dl = evp != NULL ? (size_t)EVP_MD_get_size(evp) : 0;
    if (dl == 0 || dl > sizeof(digest) || RAND_bytes(digest, (int)dl) != 1)
        return CF_ERR_CRYPTO;
    uint8_t *sig = NULL;
    size_t sl = 0;
    cf_err_t err = cf_cert_sign_as(card, slot, alg, md, digest, dl, &sig, &sl);
    if (err != CF_OK) {
        cf_keys_errf(errbuf, errlen, "proof: the card did not sign: %s", cf_card_errmsg(card));
        return err;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY_CTX *ctx = x ? EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL) : NULL;
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, evp) == 1;
    if (ok && EVP_PKEY_is_a(X509_get0_pubkey(x), "RSA"))
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_PKEY_verify(ctx, sig, sl, digest, dl) == 1;
    EVP_PKEY_CTX_free(ctx);
    X509_free(x);
    free(sig);
    if (!ok) {
        cf_keys_errf(errbuf, errlen,
                     "proof: a signature by slot %s does not verify with the "
                     "certificate's public key",
                     slot);
        return CF_ERR_PROOF_FAILED;
    }
    return CF_OK;
}

/* Write, read back from a fresh session, prove. res->state follows. */
static cf_err_t write_and_prove(cf_card_t *card, const cf_issue_request_t *req,
                                cf_issue_result_t *res, const uint8_t *der, size_t len,
                                char *errbuf, size_t errlen)
{
    cf_err_t err = cf_cert_write(card, res->slot, der, len);
    if (err != CF_OK) {
        cf_card_write_t w = cf_card_last_write(card);
        /* Delivered but not proven, or lost in flight: only a read can tell. */
        res->state = w == CF_WRITE_NONE ? CF_ISSUE_KEY_GENERATED : CF_ISSUE_CERT_UNKNOWN;
        cf_keys_errf(errbuf, errlen, "writing the certificate to slot %s: %s", res->slot,
                     cf_card_errmsg(card));
        return err;
    }
    res->state = CF_ISSUE_CERT_WRITTEN;
    uint8_t *back = NULL;
    size_t bl = 0;
    err = cf_card_reselect(card);
    if (err == CF_OK)
        err = cf_cert_read(card, res->slot, &back, &bl);
    if (err != CF_OK) {
        cf_keys_errf(errbuf, errlen, "reading the certificate back from slot %s: %s", res->slot,
                     cf_card_errmsg(card));
        return err;
    }
    int same = bl == len && CRYPTO_memcmp(back, der, len) == 0;
    free(back);
    if (!same) {
        res->state = CF_ISSUE_CERT_UNKNOWN;
        cf_keys_errf(errbuf, errlen,
                     "slot %s does not hold the certificate written (read back "
                     "%zu bytes, wrote %zu)",
                     res->slot, bl, len);
        return CF_ERR_PROOF_FAILED;
    }
    err = verify_pin(card, req->pin, errbuf, errlen);
    if (err == CF_OK)
        err = prove(card, res->slot, res->alg, der, len, errbuf, errlen);
    if (err == CF_OK)
        res->state = CF_ISSUE_DONE;
    return err;
}

cf_err_t cf_issue_run(cf_card_t *card, const cf_issue_request_t *req, cf_ca_t *ca,
                      cf_issue_result_t *res, char *errbuf, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    if (card == NULL || req == NULL || ca == NULL) {
        cf_keys_errf(errbuf, errlen, "issue: no card, request or CA");
        return CF_ERR_ARG;
    }
    res->alg = req->keygen.alg;
    uint8_t *spki = NULL, *csr = NULL, *der = NULL;
    size_t sl = 0, csr_len = 0, dl = 0;
    cf_err_t err = cf_cert_generate(card, req->slot, &req->keygen, &spki, &sl, res->slot);
    if (err != CF_OK) {
        /* A generate whose answer was lost may have replaced the key. */
        res->state =
            cf_card_last_write(card) == CF_WRITE_NONE ? CF_ISSUE_UNTOUCHED : CF_ISSUE_KEY_GENERATED;
        cf_keys_errf(errbuf, errlen, "generating the key: %s", cf_card_errmsg(card));
        return err;
    }
    res->state = CF_ISSUE_KEY_GENERATED;
    err = verify_pin(card, req->pin, errbuf, errlen);
    if (err == CF_OK)
        err = cf_issue_csr(card, res->slot, res->alg, spki, sl, &req->names, &csr, &csr_len, errbuf,
                           errlen);
    if (err == CF_OK)
        err = cf_ca_issue(ca, csr, csr_len, &req->names, req->validity_days, &der, &dl, errbuf,
                          errlen);
    if (err == CF_OK)
        err = cf_issue_check_cert(der, dl, spki, sl, time(NULL), &res->cert, errbuf, errlen);
    if (err == CF_OK) {
        res->have_cert = 1;
        err = write_and_prove(card, req, res, der, dl, errbuf, errlen);
    }
    free(der);
    free(csr);
    free(spki);
    return err;
}
