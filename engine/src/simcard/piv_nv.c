/*
 * piv_nv.c - the piv card's non-volatile state: factory values, the change
 * protocol, and the state file keys (documented in docs/cards/piv.md).
 *
 * A change is made directly on the live state between piv_nv_begin and
 * piv_nv_commit. Commit saves the state file; if that fails the old state
 * is put back whole, so the card never acts on a change (a spent try, a new
 * PIN) that would not survive the process being killed. Objects are owned
 * pointers: the copy taken at begin is shallow, and commit frees whichever
 * side's buffers (objects and keys) are no longer referenced.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "simcard/piv_int.h"
#include "util/hex.h"

#define STD_COUNT (PIV_OBJ_STD_LAST - PIV_OBJ_STD_FIRST + 1)

int piv_obj_index(uint32_t id)
{
    if (id >= PIV_OBJ_STD_FIRST && id <= PIV_OBJ_STD_LAST)
        return (int)(id - PIV_OBJ_STD_FIRST);
    if (id >= PIV_OBJ_YK_FIRST && id <= PIV_OBJ_YK_LAST)
        return (int)(STD_COUNT + id - PIV_OBJ_YK_FIRST);
    return -1;
}

int piv_card_obj_index(const cf_simcard_t *card, uint32_t id)
{
    if (id >= PIV_OBJ_YK_FIRST && id <= PIV_OBJ_YK_LAST && !piv_is_yubikey(card))
        return -1;
    return piv_obj_index(id);
}

uint32_t piv_obj_id(int index)
{
    if ((unsigned)index < STD_COUNT)
        return PIV_OBJ_STD_FIRST + (uint32_t)index;
    return PIV_OBJ_YK_FIRST + (uint32_t)index - STD_COUNT;
}

size_t piv_pin_len(const uint8_t pin[PIV_PIN_SIZE])
{
    size_t n = PIV_PIN_SIZE;
    while (n > 0 && pin[n - 1] == 0xFF)
        n--;
    return n;
}

void piv_nv_factory(struct piv_nv *nv)
{
    static const uint8_t pin[PIV_PIN_SIZE] = {'1', '2', '3', '4', '5', '6', 0xFF, 0xFF};
    static const uint8_t puk[PIV_PIN_SIZE] = {'1', '2', '3', '4', '5', '6', '7', '8'};
    static const uint8_t key[24] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(nv->pin, pin, sizeof(pin));
    memcpy(nv->puk, puk, sizeof(puk));
    nv->pin_max = nv->pin_tries = PIV_DEFAULT_TRIES;
    nv->puk_max = nv->puk_tries = PIV_DEFAULT_TRIES;
    nv->mgm_alg = PIV_ALG_3DES;
    nv->mgm_touch = 0;
    memset(nv->mgm_key, 0, sizeof(nv->mgm_key));
    memcpy(nv->mgm_key, key, sizeof(key));
    nv->mgm_len = sizeof(key);
}

static void free_object(struct piv_object *o)
{
    if (o->data != NULL) {
        OPENSSL_cleanse(o->data, o->len);
        free(o->data);
    }
    o->data = NULL;
    o->len = 0;
}

void piv_nv_clear(struct piv_nv *nv)
{
    for (size_t i = 0; i < PIV_NOBJ; i++)
        free_object(&nv->obj[i]);
    for (size_t i = 0; i < PIV_NSLOTS; i++)
        piv_key_clear(&nv->key[i]);
    OPENSSL_cleanse(nv, sizeof(*nv));
}

void piv_nv_begin(const cf_simcard_t *card, struct piv_nv *saved)
{
    const struct piv_card *pc = card->impl;
    *saved = pc->nv;
}

int piv_nv_commit(cf_simcard_t *card, struct piv_nv *saved)
{
    struct piv_card *pc = piv_of(card);
    int rc = cf_simcard_persist(card);
    struct piv_nv *drop = rc == 0 ? saved : &pc->nv;
    struct piv_nv *keep = rc == 0 ? &pc->nv : saved;
    for (size_t i = 0; i < PIV_NOBJ; i++)
        if (drop->obj[i].data != keep->obj[i].data)
            free_object(&drop->obj[i]);
    for (size_t i = 0; i < PIV_NSLOTS; i++)
        if (drop->key[i].pkey != keep->key[i].pkey)
            EVP_PKEY_free(drop->key[i].pkey);
    if (rc != 0)
        pc->nv = *saved;
    OPENSSL_cleanse(saved, sizeof(*saved));
    return rc;
}

/* ---- state file ---- */

static const struct {
    const char *name;
    uint8_t alg;
} alg_names[] = {
    {"3des", PIV_ALG_3DES},
    {"aes128", PIV_ALG_AES128},
    {"aes192", PIV_ALG_AES192},
    {"aes256", PIV_ALG_AES256},
};

static const char *alg_name(uint8_t alg)
{
    for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
        if (alg_names[i].alg == alg)
            return alg_names[i].name;
    return "?";
}

int piv_nv_save(const cf_simcard_t *card, FILE *f)
{
    const struct piv_nv *nv = &((const struct piv_card *)card->impl)->nv;
    cf_simcard_put_hex(f, "pin", nv->pin, piv_pin_len(nv->pin));
    cf_simcard_put_hex(f, "puk", nv->puk, piv_pin_len(nv->puk));
    fprintf(f, "pin_max=%u\npin_tries=%u\npuk_max=%u\npuk_tries=%u\n", nv->pin_max, nv->pin_tries,
            nv->puk_max, nv->puk_tries);
    fprintf(f, "mgm_alg=%s\n", alg_name(nv->mgm_alg));
    cf_simcard_put_hex(f, "mgm_key", nv->mgm_key, nv->mgm_len);
    fprintf(f, "mgm_touch=%s\n", nv->mgm_touch ? "always" : "never");
    for (int i = 0; i < (int)PIV_NOBJ; i++) {
        if (nv->obj[i].data == NULL)
            continue;
        char key[16];
        snprintf(key, sizeof(key), "obj_%06X", (unsigned)piv_obj_id(i));
        cf_simcard_put_hex(f, key, nv->obj[i].data, nv->obj[i].len);
    }
    if (piv_keys_save(nv, f) < 0)
        return -1;
    return ferror(f) ? -1 : 0;
}

static int load_pin(uint8_t out[PIV_PIN_SIZE], const char *value, char *err, size_t errlen)
{
    uint8_t b[PIV_PIN_SIZE];
    memset(b, 0xFF, sizeof(b));
    long n = cf_simcard_get_hex(value, b, sizeof(b));
    /* A value ending in FF would not survive the padding: refuse it. */
    int ok = n >= PIV_PIN_MIN && n <= PIV_PIN_SIZE && b[n - 1] != 0xFF;
    if (ok)
        memcpy(out, b, sizeof(b));
    else
        snprintf(err, errlen, "expected 6 to 8 bytes in hex, not ending in FF");
    OPENSSL_cleanse(b, sizeof(b));
    return ok ? 0 : -1;
}

static int load_count(uint8_t *out, const char *value, unsigned long min, char *err, size_t errlen)
{
    unsigned long v;
    if (cf_simcard_get_uint(value, 255, &v) < 0 || v < min) {
        snprintf(err, errlen, "expected a number from %lu to 255", min);
        return -1;
    }
    *out = (uint8_t)v;
    return 0;
}

static int load_object(cf_simcard_t *card, const char *id_hex, const char *value, char *err,
                       size_t errlen)
{
    struct piv_nv *nv = &piv_of(card)->nv;
    uint8_t idb[3];
    int idx = -1;
    if (strlen(id_hex) == 6 && cf_hex_decode(id_hex, 6, idb, sizeof(idb)) == CF_OK)
        idx = piv_card_obj_index(card, ((uint32_t)idb[0] << 16) | ((uint32_t)idb[1] << 8) | idb[2]);
    if (idx < 0) {
        snprintf(err, errlen, "no such data object (5FC101-5FC123%s)",
                 piv_is_yubikey(card) ? ", 5FFF00-5FFF15" : "");
        return -1;
    }
    size_t hexlen = strlen(value);
    if (hexlen == 0 || hexlen % 2 != 0 || hexlen / 2 > PIV_OBJ_MAX) {
        snprintf(err, errlen, "expected 1 to %d bytes in hex", PIV_OBJ_MAX);
        return -1;
    }
    uint8_t *data = malloc(hexlen / 2);
    if (data == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cf_simcard_get_hex(value, data, hexlen / 2) != (long)(hexlen / 2)) {
        OPENSSL_cleanse(data, hexlen / 2);
        free(data);
        snprintf(err, errlen, "expected 1 to %d bytes in hex", PIV_OBJ_MAX);
        return -1;
    }
    free_object(&nv->obj[idx]);
    nv->obj[idx].data = data;
    nv->obj[idx].len = hexlen / 2;
    return 0;
}

int piv_nv_load(cf_simcard_t *card, const char *key, const char *value, char *err, size_t errlen)
{
    struct piv_nv *nv = &piv_of(card)->nv;
    if (strcmp(key, "pin") == 0)
        return load_pin(nv->pin, value, err, errlen);
    if (strcmp(key, "puk") == 0)
        return load_pin(nv->puk, value, err, errlen);
    if (strcmp(key, "pin_max") == 0)
        return load_count(&nv->pin_max, value, 1, err, errlen);
    if (strcmp(key, "pin_tries") == 0)
        return load_count(&nv->pin_tries, value, 0, err, errlen);
    if (strcmp(key, "puk_max") == 0)
        return load_count(&nv->puk_max, value, 1, err, errlen);
    if (strcmp(key, "puk_tries") == 0)
        return load_count(&nv->puk_tries, value, 0, err, errlen);
    if (strcmp(key, "mgm_alg") == 0) {
        for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
            if (strcmp(value, alg_names[i].name) == 0) {
                nv->mgm_alg = alg_names[i].alg;
                return 0;
            }
        }
        snprintf(err, errlen, "expected 3des, aes128, aes192 or aes256");
        return -1;
    }
    if (strcmp(key, "mgm_key") == 0) {
        uint8_t k[PIV_MGM_KEY_MAX];
        long n = cf_simcard_get_hex(value, k, sizeof(k));
        int ok = n == 16 || n == 24 || n == 32;
        if (ok) {
            memset(nv->mgm_key, 0, sizeof(nv->mgm_key));
            memcpy(nv->mgm_key, k, (size_t)n);
            nv->mgm_len = (size_t)n;
        } else {
            snprintf(err, errlen, "expected 16, 24 or 32 bytes in hex");
        }
        OPENSSL_cleanse(k, sizeof(k));
        return ok ? 0 : -1;
    }
    if (strcmp(key, "mgm_touch") == 0) {
        if (strcmp(value, "never") == 0 || strcmp(value, "always") == 0) {
            nv->mgm_touch = value[0] == 'a';
            return 0;
        }
        snprintf(err, errlen, "expected never or always");
        return -1;
    }
    if (strncmp(key, "obj_", 4) == 0)
        return load_object(card, key + 4, value, err, errlen);
    if (strncmp(key, "key_", 4) == 0)
        return piv_keys_load(card, key + 4, value, err, errlen);
    snprintf(err, errlen, "unknown key");
    return -1;
}

int piv_nv_loaded(cf_simcard_t *card, char *err, size_t errlen)
{
    const struct piv_nv *nv = &piv_of(card)->nv;
    if (nv->pin_tries > nv->pin_max) {
        snprintf(err, errlen, "pin_tries %u is above pin_max %u", nv->pin_tries, nv->pin_max);
        return -1;
    }
    if (nv->puk_tries > nv->puk_max) {
        snprintf(err, errlen, "puk_tries %u is above puk_max %u", nv->puk_tries, nv->puk_max);
        return -1;
    }
    if (nv->mgm_len != piv_mgm_keylen(nv->mgm_alg)) {
        snprintf(err, errlen, "mgm_key is %zu bytes, mgm_alg %s needs %zu", nv->mgm_len,
                 alg_name(nv->mgm_alg), piv_mgm_keylen(nv->mgm_alg));
        return -1;
    }
    return 0;
}
