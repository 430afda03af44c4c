/*
 * card_cert.c - the certificate operations of cert.h: slot names, the
 * rules every change obeys (PIN and admin key in the session, nothing sent
 * otherwise), the command sender with its status-word meanings, and the
 * dispatch to the profile's `keys:` scheme (card_cert_piv.c,
 * card_cert_gids.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "card/card_cert_int.h"

const char *cf_key_alg_name(cf_key_alg_t alg)
{
    switch (alg) {
    case CF_KEYALG_RSA2048:
        return "RSA-2048";
    case CF_KEYALG_ECCP256:
        return "ECC P-256";
    case CF_KEYALG_ECCP384:
        return "ECC P-384";
    default:
        return "unknown";
    }
}

cf_err_t cf_key_alg_parse(const char *text, cf_key_alg_t *out)
{
    static const struct {
        const char *name;
        cf_key_alg_t alg;
    } names[] = {{"rsa2048", CF_KEYALG_RSA2048},
                 {"eccp256", CF_KEYALG_ECCP256},
                 {"eccp384", CF_KEYALG_ECCP384}};
    for (size_t i = 0; text != NULL && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(text, names[i].name) == 0) {
            *out = names[i].alg;
            return CF_OK;
        }
    return CF_ERR_PARSE;
}

cf_err_t cf_cert_apdu(cf_card_t *card, const char *what, uint8_t ins, uint8_t p1, uint8_t p2,
                      const uint8_t *data, size_t len, size_t le, unsigned flags, cf_rapdu_t *resp)
{
    cf_capdu_t c = {
        .cla = 0x00,
        .ins = ins,
        .p1 = p1,
        .p2 = p2,
        .data = len ? data : NULL,
        .len = len,
        .le = le,
        .secret_off = 0,
        .secret_len = (flags & CF_CERT_SECRET_DATA) ? len : 0,
    };
    if (flags & CF_CMD_WRITE)
        card->last_write = CF_WRITE_UNKNOWN;
    card->last_read_len = 0;
    cf_err_t err = cf_transport_transmit(card->t, &c, resp);
    if (err != CF_OK) {
        if (err == CF_ERR_CARD_RESET || err == CF_ERR_CARD_REMOVED) {
            cf_card_session_ended(card);
            card->pin_ok = 0;
        }
        return cf_card_fail(card, err, "%s: %s", what, cf_transport_errmsg(card->t));
    }
    if (flags & CF_CMD_WRITE)
        card->last_write = CF_WRITE_DONE;
    card->last_sw = resp->sw;
    uint16_t sw = resp->sw;
    if (sw == 0x9000)
        return CF_OK;
    if (sw == 0x6982)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: the card refused: %04X %s (the PIN or the admin key is needed)",
                            what, sw, cf_sw_meaning(sw));
    if (sw == 0x6A84)
        return cf_card_fail(card, CF_ERR_CARD_STATUS,
                            "%s: the card is full (%04X %s): delete a certificate or a key first",
                            what, sw, cf_sw_meaning(sw));
    if (sw == 0x6A82 || sw == 0x6A88)
        return cf_card_fail(card, CF_ERR_NOT_FOUND, "%s: %04X %s", what, sw, cf_sw_meaning(sw));
    return cf_card_fail(card, CF_ERR_CARD_STATUS, "%s: the card answered %04X (%s)", what, sw,
                        cf_sw_meaning(sw));
}

cf_err_t cf_cert_need_auth(cf_card_t *card, const char *what, int need_admin)
{
    if (!card->pin_ok)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: the PIN must be verified first (nothing sent)", what);
    if (need_admin && !card->admin_auth)
        return cf_card_fail(card, CF_ERR_REFUSED,
                            "%s: the %s card needs its management key (admin key) "
                            "authenticated first (nothing sent)",
                            what, card->p->name);
    return CF_OK;
}

int cf_cert_supported(const cf_card_t *card)
{
    return card != NULL && card->p->keys != CF_KEYS_NONE;
}

int cf_cert_has_default(const cf_card_t *card)
{
    return card != NULL && card->p->keys == CF_KEYS_GIDS;
}

static int is_piv(const cf_card_t *card)
{
    return card->p->keys == CF_KEYS_PIV || card->p->keys == CF_KEYS_PIV_YUBIKEY;
}

int cf_cert_needs_admin(const cf_card_t *card)
{
    return card != NULL && is_piv(card);
}

int cf_cert_deletes_keys(const cf_card_t *card)
{
    return card != NULL && card->p->keys == CF_KEYS_GIDS;
}

/* Start of every operation: the card type has keys, the message and the
 * write record are reset. */
static cf_err_t begin(cf_card_t *card, const char *what)
{
    card->last_write = CF_WRITE_NONE;
    cf_card_ok(card);
    if (card->p->keys == CF_KEYS_NONE)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: card type %s has no key operations (no `keys:` in its profile)",
                            what, card->p->name);
    return CF_OK;
}

/* The PIV slot reference or GIDS container index of slot. */
static cf_err_t slot_of(cf_card_t *card, const char *what, const char *slot, unsigned *out)
{
    if (is_piv(card)) {
        int ref = cf_piv_slot_ref(card, slot);
        if (ref < 0)
            return cf_card_fail(card, CF_ERR_ARG,
                                "%s: '%s' is not a key slot of a %s card (9a, 9c, 9d, 9e%s)", what,
                                slot ? slot : "", card->p->name,
                                card->p->keys == CF_KEYS_PIV_YUBIKEY ? ", 82-95" : "");
        *out = (unsigned)ref;
        return CF_OK;
    }
    char *end = NULL;
    unsigned long v = slot ? strtoul(slot, &end, 10) : 0;
    if (slot == NULL || *slot < '0' || *slot > '9' || *end != 0 || v >= CF_GIDS_MAX_CONTAINERS)
        return cf_card_fail(card, CF_ERR_ARG,
                            "%s: '%s' is not a container number of a GIDS card (0-%d)", what,
                            slot ? slot : "", CF_GIDS_MAX_CONTAINERS - 1);
    *out = (unsigned)v;
    return CF_OK;
}

/* begin, then the slot. */
static cf_err_t start(cf_card_t *card, const char *what, const char *slot, unsigned *s)
{
    cf_err_t err = begin(card, what);
    return err == CF_OK ? slot_of(card, what, slot, s) : err;
}

cf_err_t cf_cert_slots(cf_card_t *card, int all, cf_key_slot_t *out, size_t cap, size_t *n)
{
    if (card == NULL || out == NULL || n == NULL)
        return CF_ERR_ARG;
    *n = 0;
    cf_err_t err = begin(card, "list keys");
    if (err != CF_OK)
        return err;
    return is_piv(card) ? cf_piv_slots(card, all, out, cap, n) : cf_gids_slots(card, out, cap, n);
}

cf_err_t cf_cert_read(cf_card_t *card, const char *slot, uint8_t **der, size_t *len)
{
    if (card == NULL || der == NULL || len == NULL)
        return CF_ERR_ARG;
    *der = NULL;
    *len = 0;
    unsigned s = 0;
    cf_err_t err = start(card, "read certificate", slot, &s);
    if (err != CF_OK)
        return err;
    return is_piv(card) ? cf_piv_cert_read(card, (uint8_t)s, der, len)
                        : cf_gids_cert_read(card, s, der, len);
}

cf_err_t cf_cert_write(cf_card_t *card, const char *slot, const uint8_t *der, size_t len)
{
    const char *what = "write certificate";
    if (card == NULL || der == NULL)
        return CF_ERR_ARG;
    unsigned s = 0;
    cf_err_t err = start(card, what, slot, &s);
    if (err != CF_OK)
        return err;
    if (cf_cert_der_check(der, len) != 0)
        return cf_card_fail(card, CF_ERR_PARSE,
                            "%s: not one DER certificate of at most %d bytes (nothing sent)", what,
                            CF_CERT_MAX_DER);
    err = cf_cert_need_auth(card, what, is_piv(card));
    if (err != CF_OK)
        return err;
    return is_piv(card) ? cf_piv_cert_put(card, (uint8_t)s, der, len)
                        : cf_gids_cert_write(card, s, der, len);
}

cf_err_t cf_cert_delete(cf_card_t *card, const char *slot, int with_key)
{
    const char *what = "delete certificate";
    if (card == NULL)
        return CF_ERR_ARG;
    unsigned s = 0;
    cf_err_t err = start(card, what, slot, &s);
    if (err != CF_OK)
        return err;
    if (is_piv(card) && with_key)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: a PIV card has no command that deletes a key (a new key or an "
                            "import replaces it); nothing sent",
                            what);
    err = cf_cert_need_auth(card, what, is_piv(card));
    if (err != CF_OK)
        return err;
    return is_piv(card) ? cf_piv_cert_put(card, (uint8_t)s, NULL, 0)
                        : cf_gids_delete(card, s, with_key);
}

cf_err_t cf_cert_public_key(cf_card_t *card, const char *slot, uint8_t **spki, size_t *len)
{
    if (card == NULL || spki == NULL || len == NULL)
        return CF_ERR_ARG;
    *spki = NULL;
    *len = 0;
    unsigned s = 0;
    cf_err_t err = start(card, "read public key", slot, &s);
    if (err != CF_OK)
        return err;
    cf_key_alg_t alg;
    return is_piv(card) ? cf_piv_public_key(card, (uint8_t)s, spki, len, &alg)
                        : cf_gids_public_key(card, s, spki, len);
}

static int same_key(const uint8_t *spki, size_t sl, const uint8_t *der, size_t len)
{
    const unsigned char *p = der, *q = spki;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *k = d2i_PUBKEY(NULL, &q, (long)sl);
    int same = x != NULL && k != NULL && EVP_PKEY_eq(X509_get0_pubkey(x), k) == 1;
    X509_free(x);
    EVP_PKEY_free(k);
    return same;
}

/* cf_cert_sign; hint is the key's algorithm when the caller knows it from
 * elsewhere (the certificate being checked), used when the card cannot say. */
static cf_err_t sign_hinted(cf_card_t *card, const char *slot, cf_key_alg_t hint, const char *md,
                            const uint8_t *digest, size_t dlen, uint8_t **sig, size_t *siglen);

/* Prove by a signature over a random digest, verified with the
 * certificate's key. */
static cf_err_t prove_by_signature(cf_card_t *card, const char *slot, const uint8_t *der,
                                   size_t len)
{
    uint8_t digest[32];
    if (RAND_bytes(digest, sizeof(digest)) != 1)
        return cf_card_fail(card, CF_ERR_CRYPTO, "check key: no random bytes");
    uint8_t *sig = NULL;
    size_t sl = 0;
    cf_err_t err = sign_hinted(card, slot, cf_cert_der_alg(der, len), "sha256", digest,
                               sizeof(digest), &sig, &sl);
    if (err != CF_OK)
        return err;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY_CTX *ctx = x ? EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL) : NULL;
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1;
    if (ok && EVP_PKEY_is_a(X509_get0_pubkey(x), "RSA"))
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_PKEY_verify(ctx, sig, sl, digest, sizeof(digest)) == 1;
    EVP_PKEY_CTX_free(ctx);
    X509_free(x);
    free(sig);
    if (!ok)
        return cf_card_fail(card, CF_ERR_INVALID,
                            "check key: the certificate's public key does not match the key in "
                            "slot %s (a signature by the slot's key does not verify)",
                            slot);
    return CF_OK;
}

cf_err_t cf_cert_check_pair(cf_card_t *card, const char *slot, const uint8_t *der, size_t len)
{
    if (card == NULL || der == NULL)
        return CF_ERR_ARG;
    if (cf_cert_der_check(der, len) != 0)
        return cf_card_fail(card, CF_ERR_PARSE, "check key: not one DER certificate");
    uint8_t *spki = NULL;
    size_t sl = 0;
    cf_err_t err = cf_cert_public_key(card, slot, &spki, &sl);
    if (err == CF_ERR_UNSUPPORTED)
        return prove_by_signature(card, slot, der, len);
    if (err == CF_ERR_NOT_FOUND)
        return cf_card_fail(card, CF_ERR_INVALID,
                            "check key: slot %s holds no key: generate or import one first", slot);
    if (err != CF_OK)
        return err;
    int same = same_key(spki, sl, der, len);
    free(spki);
    if (!same)
        return cf_card_fail(card, CF_ERR_INVALID,
                            "check key: the certificate's public key does not match the key in "
                            "slot %s",
                            slot);
    cf_card_ok(card);
    return CF_OK;
}

/* GIDS picks the container for a new key: no slot may be named. */
static cf_err_t new_key_slot(cf_card_t *card, const char *what, const char *slot, unsigned *s)
{
    if (is_piv(card))
        return slot_of(card, what, slot, s);
    if (slot != NULL && slot[0] != 0)
        return cf_card_fail(card, CF_ERR_ARG,
                            "%s: a new GIDS key takes the first free container: name none "
                            "(nothing sent)",
                            what);
    *s = 0;
    return CF_OK;
}

cf_err_t cf_cert_generate(cf_card_t *card, const char *slot, const cf_keygen_t *g, uint8_t **spki,
                          size_t *len, char *used)
{
    const char *what = "generate key";
    if (card == NULL || g == NULL)
        return CF_ERR_ARG;
    unsigned s = 0;
    cf_err_t err = begin(card, what);
    if (err == CF_OK)
        err = new_key_slot(card, what, slot, &s);
    if (err != CF_OK)
        return err;
    if ((g->pin_policy || g->touch_policy) && card->p->keys != CF_KEYS_PIV_YUBIKEY)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: a %s card has no PIN or touch policy per key (nothing sent)", what,
                            card->p->name);
    if (g->pin_policy > 3 || g->touch_policy > 3)
        return cf_card_fail(card, CF_ERR_ARG, "%s: policy out of range", what);
    err = cf_cert_need_auth(card, what, is_piv(card));
    if (err != CF_OK)
        return err;
    if (!is_piv(card))
        return cf_gids_key_generate(card, g, spki, len, used);
    err = cf_piv_generate(card, (uint8_t)s, g, spki, len);
    if (err == CF_OK && used != NULL)
        snprintf(used, CF_CERT_SLOT_NAME, "%02x", s);
    return err;
}

cf_err_t cf_cert_sign(cf_card_t *card, const char *slot, const char *md, const uint8_t *digest,
                      size_t dlen, uint8_t **sig, size_t *siglen)
{
    return sign_hinted(card, slot, CF_KEYALG_UNKNOWN, md, digest, dlen, sig, siglen);
}

cf_err_t cf_cert_sign_as(cf_card_t *card, const char *slot, cf_key_alg_t alg, const char *md,
                         const uint8_t *digest, size_t dlen, uint8_t **sig, size_t *siglen)
{
    return sign_hinted(card, slot, alg, md, digest, dlen, sig, siglen);
}

static cf_err_t sign_hinted(cf_card_t *card, const char *slot, cf_key_alg_t hint, const char *md,
                            const uint8_t *digest, size_t dlen, uint8_t **sig, size_t *siglen)
{
    const char *what = "sign";
    if (card == NULL || md == NULL || digest == NULL || sig == NULL || siglen == NULL)
        return CF_ERR_ARG;
    *sig = NULL;
    *siglen = 0;
    unsigned s = 0;
    cf_err_t err = start(card, what, slot, &s);
    if (err != CF_OK)
        return err;
    const EVP_MD *m = EVP_get_digestbyname(md);
    if (m == NULL || (size_t)EVP_MD_get_size(m) != dlen)
        return cf_card_fail(card, CF_ERR_ARG, "%s: a %s digest of %zu bytes is not one we sign",
                            what, md, dlen);
    if (!is_piv(card))
        return cf_gids_sign(card, s, md, digest, dlen, sig, siglen);
    /* The algorithm: the card says it (GET METADATA), else the slot's
     * certificate does. */
    uint8_t *spki = NULL, *der = NULL;
    size_t sl = 0, cl = 0;
    cf_key_alg_t alg = CF_KEYALG_UNKNOWN;
    err = cf_piv_public_key(card, (uint8_t)s, &spki, &sl, &alg);
    free(spki);
    if (err == CF_ERR_UNSUPPORTED && cf_piv_cert_read(card, (uint8_t)s, &der, &cl) == CF_OK) {
        alg = cf_cert_der_alg(der, cl);
        free(der);
        err = CF_OK;
    }
    if (err == CF_ERR_NOT_FOUND)
        return cf_card_fail(card, CF_ERR_NOT_FOUND, "%s: slot %s holds no key", what, slot);
    if (err != CF_OK && err != CF_ERR_UNSUPPORTED)
        return err;
    if (alg == CF_KEYALG_UNKNOWN)
        alg = hint;
    if (alg == CF_KEYALG_UNKNOWN)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: the card does not say the algorithm of slot %s and the slot has "
                            "no certificate that would",
                            what, slot);
    return cf_piv_sign(card, (uint8_t)s, alg, md, digest, dlen, sig, siglen);
}

cf_err_t cf_cert_import_key(cf_card_t *card, const char *slot, const cf_secret_t *pkcs8,
                            const cf_keygen_t *policy, char *used)
{
    const char *what = "import key";
    if (card == NULL || pkcs8 == NULL)
        return CF_ERR_ARG;
    unsigned s = 0;
    cf_err_t err = begin(card, what);
    if (err == CF_OK)
        err = new_key_slot(card, what, slot, &s);
    if (err != CF_OK)
        return err;
    if (card->p->keys == CF_KEYS_PIV)
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: a %s card has no import command (SP 800-73-4 names none): "
                            "generate the key on the card instead; nothing sent",
                            what, card->p->name);
    err = cf_cert_need_auth(card, what, is_piv(card));
    if (err != CF_OK)
        return err;
    if (!is_piv(card))
        return cf_gids_key_import(card, pkcs8, policy ? policy->label : NULL, used);
    err = cf_piv_import(card, (uint8_t)s, pkcs8, policy);
    if (err == CF_OK && used != NULL)
        snprintf(used, CF_CERT_SLOT_NAME, "%02x", s);
    return err;
}

cf_err_t cf_cert_set_default(cf_card_t *card, const char *slot)
{
    const char *what = "set default container";
    if (card == NULL)
        return CF_ERR_ARG;
    cf_err_t err = begin(card, what);
    if (err != CF_OK)
        return err;
    if (is_piv(card))
        return cf_card_fail(card, CF_ERR_UNSUPPORTED,
                            "%s: a PIV card has no default container (each slot has its own "
                            "purpose: 9a authentication, 9c signature, 9d key management, 9e "
                            "card authentication); nothing sent",
                            what);
    unsigned s = 0;
    err = slot_of(card, what, slot, &s);
    if (err == CF_OK)
        err = cf_cert_need_auth(card, what, 0);
    if (err != CF_OK)
        return err;
    return cf_gids_set_default(card, s);
}
