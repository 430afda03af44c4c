/*
 * gids_fs.c - the GIDS file system of the gids virtual card.
 *
 * GIDS has no transparent files: each minidriver "file" is a BER-TLV data
 * object (DO) held in a BER-TLV EF (descriptor 39), read with GET DATA and
 * written with PUT DATA addressed as P1P2 = EF, data = 5C <DO tag> or the
 * DO's TLV. The admin key lives in a key file (descriptor 18, B080). EFs
 * are made with CREATE FILE + ACTIVATE; a new EF accepts only ACTIVATE.
 *
 * Access conditions come from each FCP's compact security attributes (8C:
 * access-mode byte, then one condition byte per operation bit set, from
 * bit 7 down). An operation without a condition byte is unrestricted, as on
 * the reference GIDS applet. Condition bytes: 00 always, FF never, 1x PIN,
 * 2x admin, 3x PIN or admin, 90 / A0 PIN / admin mandatory; low nibble 2 =
 * contactless only (never true here). In initialization mode (a blank card)
 * every condition but FF is met: that is how gids-tool -X writes the
 * protected objects before any credential exists.
 *
 * Every change is saved before the card answers 9000; when the save fails
 * the change is undone and the card answers 6581.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "simcard/gids_int.h"

const uint8_t cf_gids_app_fcp[] = {0x62, 0x08, 0x82, 0x01, 0x38, 0x8c, 0x03, 0x03, 0x30, 0x30};
const size_t cf_gids_app_fcp_len = sizeof(cf_gids_app_fcp);

/* ---- FCP checks ---- */

static int popcount7(uint8_t am)
{
    int n = 0;
    for (uint8_t bit = 0x40; bit != 0; bit >>= 1)
        n += (am & bit) != 0;
    return n;
}

/* The key file's template: one CRT A4 for the 3DES admin key 80. */
static uint16_t check_key_template(const uint8_t *a5, size_t len)
{
    cf_rcursor c = cf_rcursor_init(a5, len);
    unsigned t;
    const uint8_t *v;
    size_t vl;
    if (cf_rc_tlv(&c, &t, &v, &vl) < 0 || c.left != 0)
        return SW_WRONG_DATA;
    if (t != 0xa4)
        return SW_FUNC_NOT_SUPPORTED; /* signature / decipher keys: no RSA here */
    const uint8_t *alg, *ref;
    size_t alen, rlen;
    if (cf_tlv_find(v, vl, 0x80, &alg, &alen) < 0 || cf_tlv_find(v, vl, 0x83, &ref, &rlen) < 0 ||
        alen != 1 || rlen != 1)
        return SW_WRONG_DATA;
    if (alg[0] != 0x02 || ref[0] != GIDS_ADMIN_KEY_REF)
        return SW_FUNC_NOT_SUPPORTED; /* only the 3-key 3DES admin key */
    return 0;
}

uint16_t cf_gids_check_fcp(const uint8_t *fcp, size_t len, uint16_t *fid, uint8_t *type)
{
    cf_rcursor c = cf_rcursor_init(fcp, len);
    unsigned t;
    const uint8_t *inner, *v, *a5 = NULL;
    size_t ilen, vl, a5len = 0;
    if (len > GIDS_FCP_MAX || cf_rc_tlv(&c, &t, &inner, &ilen) < 0 || t != 0x62 || c.left != 0)
        return SW_WRONG_DATA;
    int seen82 = 0, seen83 = 0, seen8c = 0;
    cf_rcursor in = cf_rcursor_init(inner, ilen);
    while (in.left > 0) {
        if (cf_rc_tlv(&in, &t, &v, &vl) < 0)
            return SW_WRONG_DATA;
        switch (t) {
        case 0x82:
            if (seen82++ || vl < 1 || vl > 6)
                return SW_WRONG_DATA;
            *type = v[0];
            break;
        case 0x83:
            if (seen83++ || vl != 2)
                return SW_WRONG_DATA;
            *fid = (uint16_t)((v[0] << 8) | v[1]);
            break;
        case 0x8c:
            if (seen8c++ || vl < 1 || vl != 1 + (size_t)popcount7(v[0]))
                return SW_WRONG_DATA;
            break;
        case 0xa5:
            if (a5 != NULL)
                return SW_WRONG_DATA;
            a5 = v;
            a5len = vl;
            break;
        default: /* other FCP tags are kept and ignored */
            break;
        }
    }
    if (!seen82 || !seen83)
        return SW_WRONG_DATA;
    if (*fid == 0x0000 || *fid == 0x3f00 || *fid == GIDS_FID_APP || *fid == 0xffff)
        return SW_WRONG_DATA;
    if (*type == GIDS_EF_DO)
        return 0;
    if (*type != GIDS_EF_KEY || a5 == NULL)
        return SW_WRONG_DATA;
    /* Container key files B081..B0FF hold RSA keys (OpenSC's keyexchange
     * and signature FCPs); B080 only the admin key. */
    if ((*fid & 0xff00) == GIDS_FID_KEY_BASE && (*fid & 0xff) >= GIDS_KEY_REF_FIRST) {
        unsigned bits = 0;
        return cf_gids_check_container_template(a5, a5len, &bits);
    }
    uint16_t sw = check_key_template(a5, a5len);
    if (sw == 0 && *fid != GIDS_FID_ADMIN_KEY)
        sw = SW_FUNC_NOT_SUPPORTED;
    return sw;
}

/* ---- access conditions ---- */

/* The condition byte for op in the FCP's 8C, or -1 when op has none. */
static int acl_condition(const uint8_t *fcp, size_t len, uint8_t op)
{
    const uint8_t *inner, *v;
    size_t ilen, vl;
    unsigned t;
    cf_rcursor c = cf_rcursor_init(fcp, len);
    if (cf_rc_tlv(&c, &t, &inner, &ilen) < 0 || cf_tlv_find(inner, ilen, 0x8c, &v, &vl) < 0 ||
        vl < 1)
        return -1;
    size_t idx = 1;
    for (uint8_t bit = 0x40; bit != 0; bit >>= 1) {
        if (!(v[0] & bit))
            continue;
        if (idx >= vl)
            return 0xff; /* cannot happen for a checked FCP; fail closed */
        if (bit == op)
            return v[idx];
        idx++;
    }
    return -1;
}

static int condition_met(const struct gids_card *g, uint8_t sc)
{
    if (sc == 0x00)
        return 1;
    if (sc == 0xff || (sc & 0x0f) == 0x02)
        return 0;
    int user = !g->operational || g->pin_verified;
    int admin = !g->operational || g->admin_auth;
    uint8_t auth = sc & 0xf0;
    if (auth == 0x90)
        return user;
    if ((auth & 0x90) == 0x10 && user)
        return 1;
    if (auth == 0xa0)
        return admin;
    if ((auth & 0xa0) == 0x20 && admin)
        return 1;
    return 0;
}

uint16_t cf_gids_check_access(const struct gids_card *g, const struct gids_ef *ef, uint8_t op)
{
    if (ef != NULL && !ef->active && op != GIDS_OP_EF_ACTIVATE)
        return SW_CONDITIONS;
    const uint8_t *fcp = ef ? ef->fcp : cf_gids_app_fcp;
    size_t len = ef ? ef->fcp_len : cf_gids_app_fcp_len;
    int sc = acl_condition(fcp, len, op);
    if (sc < 0 || condition_met(g, (uint8_t)sc))
        return 0;
    return SW_SECURITY_STATUS;
}

/* ---- EFs and DOs ---- */

struct gids_ef *cf_gids_find_ef(struct gids_card *g, uint16_t fid)
{
    for (size_t i = 0; i < g->n_efs; i++)
        if (g->efs[i].fid == fid)
            return &g->efs[i];
    return NULL;
}

uint16_t cf_gids_add_ef(struct gids_card *g, const uint8_t *fcp, size_t len, int active)
{
    uint16_t fid = 0;
    uint8_t type = 0;
    uint16_t sw = cf_gids_check_fcp(fcp, len, &fid, &type);
    if (sw != 0)
        return sw;
    if (cf_gids_find_ef(g, fid) != NULL)
        return SW_GIDS_FILE_EXISTS;
    if (g->n_efs >= GIDS_MAX_EFS)
        return SW_NOT_ENOUGH_MEMORY;
    struct gids_ef *ef = &g->efs[g->n_efs++];
    memset(ef, 0, sizeof(*ef));
    ef->fid = fid;
    ef->type = type;
    ef->active = active != 0;
    memcpy(ef->fcp, fcp, len);
    ef->fcp_len = len;
    return 0;
}

struct gids_do *cf_gids_find_do(struct gids_card *g, uint16_t fid, unsigned tag)
{
    for (size_t i = 0; i < g->n_dos; i++)
        if (g->dos[i].fid == fid && g->dos[i].tag == tag)
            return &g->dos[i];
    return NULL;
}

static void remove_do(struct gids_card *g, struct gids_do *d)
{
    OPENSSL_cleanse(d->val, d->len);
    free(d->val);
    g->do_bytes -= d->len;
    *d = g->dos[--g->n_dos];
    memset(&g->dos[g->n_dos], 0, sizeof(g->dos[0]));
}

/* A heap copy of a DO value (NULL for an empty one); -1 when out of memory. */
static int copy_value(const uint8_t *val, size_t len, uint8_t **out)
{
    *out = NULL;
    if (len == 0)
        return 0;
    *out = malloc(len);
    if (*out == NULL)
        return -1;
    memcpy(*out, val, len);
    return 0;
}

uint16_t cf_gids_store_do(struct gids_card *g, uint16_t fid, unsigned tag, const uint8_t *val,
                          size_t len)
{
    struct gids_do *d = cf_gids_find_do(g, fid, tag);
    size_t old = d ? d->len : 0;
    if (g->do_bytes - old + len > GIDS_STORAGE_MAX || (d == NULL && g->n_dos >= GIDS_MAX_DOS))
        return SW_NOT_ENOUGH_MEMORY;
    uint8_t *copy = NULL;
    if (copy_value(val, len, &copy) < 0)
        return SW_NOT_ENOUGH_MEMORY;
    if (d != NULL) {
        OPENSSL_cleanse(d->val, d->len);
        free(d->val);
    } else {
        d = &g->dos[g->n_dos++];
        d->fid = fid;
        d->tag = tag;
    }
    d->val = copy;
    d->len = len;
    g->do_bytes = g->do_bytes - old + len;
    return 0;
}

void cf_gids_free_fs(struct gids_card *g)
{
    while (g->n_dos > 0)
        remove_do(g, &g->dos[g->n_dos - 1]);
    for (size_t i = 0; i < g->n_efs; i++) {
        EVP_PKEY_free(g->efs[i].pkey); /* OpenSSL wipes the private parts */
        g->efs[i].pkey = NULL;
    }
    OPENSSL_cleanse(g->efs, sizeof(g->efs));
    g->n_efs = 0;
    g->do_bytes = 0;
    g->cur_ef = -1;
}

/* Write one DO durably: replace, create, or (an empty DO written over an
 * empty DO, as the reference applet does) delete; undo if the save fails. */
static uint16_t put_do(cf_simcard_t *card, uint16_t fid, unsigned tag, const uint8_t *val,
                       size_t len)
{
    struct gids_card *g = gids_of(card);
    struct gids_do *d = cf_gids_find_do(g, fid, tag);
    if (d != NULL && d->len == 0 && len == 0) {
        remove_do(g, d);
        if (cf_simcard_persist(card) < 0) {
            (void)cf_gids_store_do(g, fid, tag, NULL, 0);
            return SW_MEMORY_FAILURE;
        }
        return SW_OK;
    }
    if (d == NULL) {
        uint16_t sw = cf_gids_store_do(g, fid, tag, val, len);
        if (sw != 0)
            return sw;
        if (cf_simcard_persist(card) < 0) {
            remove_do(g, cf_gids_find_do(g, fid, tag));
            return SW_MEMORY_FAILURE;
        }
        return SW_OK;
    }
    if (g->do_bytes - d->len + len > GIDS_STORAGE_MAX)
        return SW_NOT_ENOUGH_MEMORY;
    uint8_t *copy = NULL;
    if (copy_value(val, len, &copy) < 0)
        return SW_NOT_ENOUGH_MEMORY;
    uint8_t *old = d->val;
    size_t oldlen = d->len;
    d->val = copy;
    d->len = len;
    g->do_bytes = g->do_bytes - oldlen + len;
    if (cf_simcard_persist(card) < 0) {
        OPENSSL_cleanse(copy, len);
        free(copy);
        d->val = old;
        d->len = oldlen;
        g->do_bytes = g->do_bytes - len + oldlen;
        return SW_MEMORY_FAILURE;
    }
    OPENSSL_cleanse(old, oldlen);
    free(old);
    return SW_OK;
}

/* ---- commands ---- */

uint16_t cf_gids_create_file(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    if (cmd->p1 != 0 || cmd->p2 != 0)
        return SW_INCORRECT_P1P2;
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;
    uint16_t sw = cf_gids_check_access(g, NULL, GIDS_OP_DF_CREATE_EF);
    if (sw == 0)
        sw = cf_gids_add_ef(g, cmd->data, cmd->nc, 0);
    if (sw != 0)
        return sw;
    if (cf_simcard_persist(card) < 0) {
        g->n_efs--;
        OPENSSL_cleanse(&g->efs[g->n_efs], sizeof(g->efs[0]));
        return SW_MEMORY_FAILURE;
    }
    g->cur_ef = (int)g->n_efs - 1; /* a new file is the current file */
    return SW_OK;
}

uint16_t cf_gids_activate(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    if (cmd->p1 != 0 || cmd->p2 != 0)
        return SW_INCORRECT_P1P2;
    if (cmd->nc != 0)
        return SW_WRONG_LENGTH;
    if (g->cur_ef >= 0) {
        struct gids_ef *ef = &g->efs[g->cur_ef];
        uint16_t sw = cf_gids_check_access(g, ef, GIDS_OP_EF_ACTIVATE);
        if (sw != 0)
            return sw;
        if (ef->active)
            return SW_OK;
        ef->active = 1;
        if (cf_simcard_persist(card) < 0) {
            ef->active = 0;
            return SW_MEMORY_FAILURE;
        }
        return SW_OK;
    }
    /* The application: the end of initialization mode. */
    uint16_t sw = cf_gids_check_access(g, NULL, GIDS_OP_EF_ACTIVATE);
    if (sw != 0)
        return sw;
    if (g->operational)
        return SW_OK;
    if (g->pin_len == 0)
        return SW_CONDITIONS; /* an operational card without a PIN is a brick */
    g->operational = 1;
    cf_gids_logout(g);
    if (cf_simcard_persist(card) < 0) {
        g->operational = 0;
        return SW_MEMORY_FAILURE;
    }
    return SW_OK;
}

/* The request data of GET DATA: exactly one tag list 5C with one tag. */
static uint16_t parse_tag_list(const uint8_t *data, size_t len, unsigned *outer, unsigned *want)
{
    cf_rcursor c = cf_rcursor_init(data, len);
    const uint8_t *v;
    size_t vl;
    if (cf_rc_tlv(&c, outer, &v, &vl) < 0 || c.left != 0)
        return SW_WRONG_DATA;
    if (*outer != 0x5c)
        return 0;
    if (vl < 1 || vl > 3)
        return SW_WRONG_DATA;
    *want = 0;
    for (size_t i = 0; i < vl; i++)
        *want = (*want << 8) | v[i];
    return 0;
}

uint16_t cf_gids_get_data(cf_simcard_t *card, const cf_apdu_t *cmd, cf_wcursor *resp)
{
    struct gids_card *g = gids_of(card);
    uint16_t fid = (uint16_t)((cmd->p1 << 8) | cmd->p2);
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;
    unsigned outer = 0, want = 0;
    uint16_t sw = parse_tag_list(cmd->data, cmd->nc, &outer, &want);
    if (sw != 0)
        return sw;
    if (fid == GIDS_FID_APP) {
        if (outer == GIDS_DO_KEY_TEMPLATE)
            return cf_gids_read_public(card, cmd->data, cmd->nc, resp);
        if (outer != 0x5c)
            return SW_WRONG_DATA;
        if (want == GIDS_DO_PIN_STATUS)
            return cf_gids_pin_status(g, want, resp);
        if (want == GIDS_DO_ADMIN_STATUS && cf_simcard_has(card, CF_Q_ADMIN_COUNTER))
            return cf_gids_admin_status(g, want, resp);
        /* 7F73: no PUK on GIDS v2; 7F7A: no admin counter in GIDS */
        return cf_simcard_absent_sw(card, SW_REF_NOT_FOUND);
    }
    if (fid == 0x0000 || fid == 0xffff)
        return SW_INCORRECT_P1P2;
    if (outer != 0x5c)
        return SW_WRONG_DATA;
    struct gids_ef *ef = cf_gids_find_ef(g, fid);
    if (ef == NULL)
        return SW_FILE_NOT_FOUND;
    if (ef->type != GIDS_EF_DO)
        return SW_GIDS_INCOMPATIBLE;
    sw = cf_gids_check_access(g, ef, GIDS_OP_DO_GET);
    if (sw != 0)
        return sw;
    g->cur_ef = (int)(ef - g->efs);
    struct gids_do *d = cf_gids_find_do(g, fid, want);
    if (d == NULL)
        return cf_simcard_absent_sw(card, SW_REF_NOT_FOUND);
    cf_wc_tlv(resp, d->tag, d->val, d->len);
    return SW_OK;
}

uint16_t cf_gids_put_data(cf_simcard_t *card, const cf_apdu_t *cmd)
{
    struct gids_card *g = gids_of(card);
    uint16_t fid = (uint16_t)((cmd->p1 << 8) | cmd->p2);
    if (cmd->nc == 0)
        return SW_WRONG_LENGTH;
    if (fid == GIDS_FID_APP)
        return cf_gids_put_key(card, cmd->data, cmd->nc);
    if (fid == 0x0000 || fid == 0xffff)
        return SW_INCORRECT_P1P2;
    struct gids_ef *ef = cf_gids_find_ef(g, fid);
    if (ef == NULL)
        return SW_FILE_NOT_FOUND;
    if (ef->type != GIDS_EF_DO)
        return SW_GIDS_INCOMPATIBLE;
    uint16_t sw = cf_gids_check_access(g, ef, GIDS_OP_DO_PUT);
    if (sw != 0)
        return sw;
    g->cur_ef = (int)(ef - g->efs);
    cf_rcursor c = cf_rcursor_init(cmd->data, cmd->nc);
    unsigned tag;
    const uint8_t *v;
    size_t vl;
    if (cmd->data[0] == 0x00 || cmd->data[0] == 0xff || cf_rc_tlv(&c, &tag, &v, &vl) < 0 ||
        c.left != 0)
        return SW_WRONG_DATA;
    return put_do(card, fid, tag, v, vl);
}
