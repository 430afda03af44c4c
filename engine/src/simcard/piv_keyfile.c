/*
 * piv_keyfile.c - the key lines of the PIV cards' state file:
 *
 *   key_XX=ALG PIN TOUCH ORIGIN HEX
 *
 * XX the slot, ALG rsa2048|eccp256|eccp384, PIN never|once|always, TOUCH
 * never|always|cached, ORIGIN generated|imported, HEX the private key as
 * PKCS#8 DER (docs/cards/piv.md, "State file keys"). A line is untrusted
 * input: every field is checked, the key must be of the named algorithm,
 * and no message repeats the key. DER buffers are wiped after use.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "simcard/piv_int.h"

#define DER_MAX 4096

static const char *const alg_words[] = {"rsa2048", "eccp256", "eccp384"};
static const uint8_t alg_codes[] = {PIV_ALG_RSA2048, PIV_ALG_ECCP256, PIV_ALG_ECCP384};
static const char *const pin_words[] = {NULL, "never", "once", "always"};
static const char *const touch_words[] = {NULL, "never", "always", "cached"};
static const char *const origin_words[] = {NULL, "generated", "imported"};

static const char *alg_word(uint8_t alg)
{
    for (size_t i = 0; i < sizeof(alg_codes); i++)
        if (alg_codes[i] == alg)
            return alg_words[i];
    return "?";
}

int piv_keys_save(const struct piv_nv *nv, FILE *f)
{
    for (int i = 0; i < PIV_NSLOTS; i++) {
        const struct piv_key *k = &nv->key[i];
        if (k->pkey == NULL)
            continue;
        PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k->pkey);
        uint8_t *der = NULL;
        int n = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
        PKCS8_PRIV_KEY_INFO_free(p8);
        if (n <= 0)
            return -1;
        fprintf(f, "key_%02X=%s %s %s %s ", piv_slot_ref(i), alg_word(k->alg),
                pin_words[k->pin_policy], touch_words[k->touch_policy], origin_words[k->origin]);
        for (int j = 0; j < n; j++)
            fprintf(f, "%02X", der[j]);
        fputc('\n', f);
        OPENSSL_clear_free(der, (size_t)n);
    }
    return ferror(f) ? -1 : 0;
}

/* Index of word in words[0..n) (NULL entries never match), or -1. */
static int word_index(const char *const *words, size_t n, const char *word, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (words[i] != NULL && strlen(words[i]) == len && strncmp(words[i], word, len) == 0)
            return (int)i;
    return -1;
}

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

int piv_keys_load(cf_simcard_t *card, const char *slot_hex, const char *value, char *err,
                  size_t errlen)
{
    static const char format[] =
        "expected ALG PIN TOUCH ORIGIN KEY (rsa2048|eccp256|eccp384, never|once|always, "
        "never|always|cached, generated|imported, PKCS#8 DER in hex)";
    struct piv_nv *nv = &piv_of(card)->nv;
    uint8_t ref = 0;
    int idx = -1;
    if (strlen(slot_hex) == 2 && cf_simcard_get_hex(slot_hex, &ref, 1) == 1)
        idx = piv_slot_index(ref);
    if (idx < 0 ||
        !(piv_usable_slot(card, ref) || (ref == PIV_SLOT_ATTEST && piv_is_yubikey(card)))) {
        snprintf(err, errlen, "no such key slot on this card");
        return -1;
    }
    /* four words, then the hex */
    int w[4];
    const char *p = value;
    const char *const *lists[4] = {alg_words, pin_words, touch_words, origin_words};
    size_t counts[4] = {NWORDS(alg_words), NWORDS(pin_words), NWORDS(touch_words),
                        NWORDS(origin_words)};
    for (int i = 0; i < 4; i++) {
        const char *sp = strchr(p, ' ');
        w[i] = sp != NULL ? word_index(lists[i], counts[i], p, (size_t)(sp - p)) : -1;
        if (w[i] < 0) {
            snprintf(err, errlen, "%s", format);
            return -1;
        }
        p = sp + 1;
    }
    size_t hexlen = strlen(p);
    if (hexlen == 0 || hexlen % 2 != 0 || hexlen / 2 > DER_MAX) {
        snprintf(err, errlen, "%s", format);
        return -1;
    }
    uint8_t *der = malloc(hexlen / 2);
    if (der == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    EVP_PKEY *pk = NULL;
    uint8_t alg = alg_codes[w[0]];
    if (cf_simcard_get_hex(p, der, hexlen / 2) == (long)(hexlen / 2)) {
        const uint8_t *q = der;
        PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)(hexlen / 2));
        if (p8 != NULL && q == der + hexlen / 2)
            pk = EVP_PKCS82PKEY(p8);
        PKCS8_PRIV_KEY_INFO_free(p8);
    }
    OPENSSL_clear_free(der, hexlen / 2);
    if (pk == NULL || !piv_key_fits(pk, alg)) {
        EVP_PKEY_free(pk);
        snprintf(err, errlen, "the key is not a %s private key in PKCS#8 DER", alg_word(alg));
        return -1;
    }
    struct piv_key *k = &nv->key[idx];
    piv_key_clear(k);
    k->pkey = pk;
    k->alg = alg;
    k->pin_policy = (uint8_t)w[1];
    k->touch_policy = (uint8_t)w[2];
    k->origin = (uint8_t)w[3];
    return 0;
}
