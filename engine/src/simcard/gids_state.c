/*
 * gids_state.c - the state file of the gids virtual card.
 *
 * Every non-volatile item is one "key=value" line (the core writes type,
 * factory and serial first); the keys are documented in docs/cards/gids.md.
 * Secrets and file contents are hex. Loading starts from the factory state
 * named in the file and applies the lines in order; the first "ef" line
 * replaces the factory file system, so a saved file system comes back
 * exactly. Every value is checked as strictly as the card checks the
 * command that would have set it; a bad value fails the load with a message
 * that names the key, never the value.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "simcard/gids_int.h"
#include "util/hex.h"

static void put_hex_bytes(FILE *f, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%02X", p[i]);
}

static size_t tag_bytes(unsigned tag, uint8_t out[3])
{
    size_t n = tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
    return n;
}

int cf_gids_save(const cf_simcard_t *card, FILE *f)
{
    const struct gids_card *g = gids_of(card);
    fprintf(f, "initialized=%d\n", g->operational ? 1 : 0);
    cf_simcard_put_hex(f, "pin", g->pin, g->pin_len);
    fprintf(f, "pin_max=%u\npin_tries=%u\n", g->pin_max, g->pin_tries);
    cf_simcard_put_hex(f, "admin_key", g->admin_key, g->has_admin_key ? GIDS_ADMIN_KEY_LEN : 0);
    if (g->counts_admin)
        fprintf(f, "admin_max=%u\nadmin_tries=%u\n", g->admin_max, g->admin_tries);
    for (size_t i = 0; i < g->n_efs; i++) {
        const struct gids_ef *ef = &g->efs[i];
        fprintf(f, "ef=%04X:%d:", ef->fid, ef->active ? 1 : 0);
        put_hex_bytes(f, ef->fcp, ef->fcp_len);
        fputc('\n', f);
    }
    for (size_t i = 0; i < g->n_dos; i++) {
        const struct gids_do *d = &g->dos[i];
        uint8_t tb[3];
        size_t tn = tag_bytes(d->tag, tb);
        fprintf(f, "do=%04X:", d->fid);
        put_hex_bytes(f, tb, tn);
        fputc(':', f);
        put_hex_bytes(f, d->val, d->len);
        fputc('\n', f);
    }
    if (cf_gids_save_keys(g, f) < 0)
        return -1;
    return ferror(f) ? -1 : 0;
}

/* ---- loading ---- */

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int get_fid(const char *s, size_t len, uint16_t *fid)
{
    uint8_t b[2];
    if (len != 4 || cf_hex_decode(s, 4, b, sizeof(b)) != CF_OK)
        return -1;
    *fid = (uint16_t)((b[0] << 8) | b[1]);
    return 0;
}

/* A counter "max": 1..15; clamps the current tries to it. */
static int load_max(const char *value, unsigned *max, unsigned *tries, char *err, size_t errlen)
{
    unsigned long v;
    if (cf_simcard_get_uint(value, GIDS_TRIES_LIMIT, &v) < 0 || v == 0)
        return fail(err, errlen, "must be a number from 1 to 15");
    *max = (unsigned)v;
    if (*tries > *max)
        *tries = *max;
    return 0;
}

static int load_tries(const char *value, unsigned max, unsigned *tries, char *err, size_t errlen)
{
    unsigned long v;
    if (cf_simcard_get_uint(value, max, &v) < 0) {
        snprintf(err, errlen, "must be a number from 0 to the limit (%u)", max);
        return -1;
    }
    *tries = (unsigned)v;
    return 0;
}

static int load_pin(struct gids_card *g, const char *value, char *err, size_t errlen)
{
    uint8_t buf[GIDS_PIN_MAX];
    long n = cf_simcard_get_hex(value, buf, sizeof(buf));
    int rc = 0;
    if (n < 0 || (n > 0 && n < GIDS_PIN_MIN)) {
        rc = fail(err, errlen, "must be empty or 4 to 16 bytes in hex");
    } else {
        memset(g->pin, 0, sizeof(g->pin));
        memcpy(g->pin, buf, (size_t)n);
        g->pin_len = (size_t)n;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static int load_admin_key(struct gids_card *g, const char *value, char *err, size_t errlen)
{
    uint8_t buf[GIDS_ADMIN_KEY_LEN];
    long n = cf_simcard_get_hex(value, buf, sizeof(buf));
    int rc = 0;
    if (n != 0 && n != GIDS_ADMIN_KEY_LEN) {
        rc = fail(err, errlen, "must be empty or 24 bytes (48 hex digits)");
    } else {
        memcpy(g->admin_key, buf, sizeof(buf));
        g->has_admin_key = n == GIDS_ADMIN_KEY_LEN;
        if (!g->has_admin_key)
            OPENSSL_cleanse(g->admin_key, sizeof(g->admin_key));
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* ef=FID:ACTIVE:FCP */
static int load_ef(struct gids_card *g, const char *value, char *err, size_t errlen)
{
    const char *c1 = strchr(value, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    uint16_t fid, fcp_fid = 0;
    uint8_t fcp[GIDS_FCP_MAX], type = 0;
    if (c2 == NULL || get_fid(value, (size_t)(c1 - value), &fid) < 0 || c2 - c1 != 2 ||
        (c1[1] != '0' && c1[1] != '1'))
        return fail(err, errlen, "expected FID:0|1:FCP (FID 4 hex digits, 1 = activated)");
    long n = cf_simcard_get_hex(c2 + 1, fcp, sizeof(fcp));
    if (n <= 0 || cf_gids_check_fcp(fcp, (size_t)n, &fcp_fid, &type) != 0 || fcp_fid != fid)
        return fail(err, errlen, "FCP is not a valid GIDS FCP for this FID");
    if (!g->loading_fs) { /* the saved file system replaces the factory one */
        cf_gids_free_fs(g);
        g->loading_fs = 1;
    }
    uint16_t sw = cf_gids_add_ef(g, fcp, (size_t)n, c1[1] == '1');
    if (sw == SW_GIDS_FILE_EXISTS)
        return fail(err, errlen, "duplicate EF");
    if (sw != 0)
        return fail(err, errlen, "too many EFs");
    return 0;
}

/* A tag written as 1 to 3 bytes must be exactly one BER tag. */
static int get_tag(const char *s, size_t len, unsigned *tag)
{
    uint8_t b[5];
    if (len < 2 || len > 6 || len % 2 != 0 || cf_hex_decode(s, len, b, 3) != CF_OK)
        return -1;
    size_t n = len / 2;
    if (b[0] == 0x00 || b[0] == 0xff)
        return -1;
    b[n] = 0x00; /* an empty value after it */
    cf_rcursor c = cf_rcursor_init(b, n + 1);
    const uint8_t *v;
    size_t vl;
    if (cf_rc_tlv(&c, tag, &v, &vl) < 0 || c.left != 0)
        return -1;
    return 0;
}

/* do=FID:TAG:VALUE */
static int load_do(struct gids_card *g, const char *value, char *err, size_t errlen)
{
    const char *c1 = strchr(value, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    uint16_t fid;
    unsigned tag;
    if (c2 == NULL || get_fid(value, (size_t)(c1 - value), &fid) < 0 ||
        get_tag(c1 + 1, (size_t)(c2 - c1 - 1), &tag) < 0)
        return fail(err, errlen, "expected FID:TAG:VALUE (hex)");
    struct gids_ef *ef = g->loading_fs ? cf_gids_find_ef(g, fid) : NULL;
    if (ef == NULL || ef->type != GIDS_EF_DO)
        return fail(err, errlen, "no data-object EF with this FID on an earlier ef line");
    if (cf_gids_find_do(g, fid, tag) != NULL)
        return fail(err, errlen, "duplicate data object");
    size_t cap = strlen(c2 + 1) / 2 + 1;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return fail(err, errlen, "out of memory");
    long n = cf_simcard_get_hex(c2 + 1, buf, cap);
    int rc = 0;
    if (n < 0)
        rc = fail(err, errlen, "value is not hex");
    else if (cf_gids_store_do(g, fid, tag, buf, (size_t)n) != 0)
        rc = fail(err, errlen, "card storage full");
    OPENSSL_cleanse(buf, cap);
    free(buf);
    return rc;
}

int cf_gids_load(cf_simcard_t *card, const char *key, const char *value, char *err, size_t errlen)
{
    struct gids_card *g = gids_of(card);
    if (strcmp(key, "initialized") == 0) {
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
            return fail(err, errlen, "must be 0 or 1");
        g->operational = value[0] == '1';
        return 0;
    }
    if (strcmp(key, "pin") == 0)
        return load_pin(g, value, err, errlen);
    if (strcmp(key, "pin_max") == 0)
        return load_max(value, &g->pin_max, &g->pin_tries, err, errlen);
    if (strcmp(key, "pin_tries") == 0)
        return load_tries(value, g->pin_max, &g->pin_tries, err, errlen);
    if (strcmp(key, "admin_key") == 0)
        return load_admin_key(g, value, err, errlen);
    if ((strcmp(key, "admin_max") == 0 || strcmp(key, "admin_tries") == 0) && !g->counts_admin)
        return fail(err, errlen,
                    "this card counts no admin-key tries (a blank gids card "
                    "without the admin-counter quirk)");
    if (strcmp(key, "admin_max") == 0)
        return load_max(value, &g->admin_max, &g->admin_tries, err, errlen);
    if (strcmp(key, "admin_tries") == 0)
        return load_tries(value, g->admin_max, &g->admin_tries, err, errlen);
    if (strcmp(key, "ef") == 0)
        return load_ef(g, value, err, errlen);
    if (strcmp(key, "do") == 0)
        return load_do(g, value, err, errlen);
    if (strcmp(key, "key") == 0)
        return cf_gids_load_key(g, value, err, errlen);
    return fail(err, errlen, "unknown key");
}
