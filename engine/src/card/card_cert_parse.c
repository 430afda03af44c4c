/*
 * card_cert_parse.c - the parsers of what a card holds about its keys and
 * certificates: PIV certificate objects and public key templates, the GIDS
 * masterfile, cmapfile and compressed certificates, and the certificate
 * DER itself. All of it is untrusted (a card, or a file named by a person);
 * every read goes through the bounds-checked cursor, and
 * tests/fuzz/fuzz_cert_parse.c runs each parser on arbitrary bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "card/card_cert_int.h"
#include "util/cursor.h"

int cf_cert_piv_object(const uint8_t *buf, size_t len, const uint8_t **der, size_t *dlen,
                       int *compressed)
{
    *der = NULL;
    *dlen = 0;
    *compressed = 0;
    if (len == 0)
        return 1;
    cf_rcursor c = cf_rcursor_init(buf, len);
    int seen = 0;
    while (c.left > 0) {
        unsigned tag;
        const uint8_t *v;
        size_t vl;
        if (cf_rc_tlv(&c, &tag, &v, &vl) < 0)
            return -1;
        if (tag == 0x70) {
            if (seen)
                return -1;
            seen = 1;
            *der = v;
            *dlen = vl;
        } else if (tag == 0x71) {
            if (vl != 1)
                return -1;
            *compressed = v[0] & 0x01;
        }
        /* FE (error detection code) and unknown tags are skipped. */
    }
    if (!seen || *dlen == 0)
        return seen && *dlen == 0 ? 1 : -1;
    return 0;
}

static int make_pkey_spki(EVP_PKEY *pk, uint8_t **spki, size_t *slen)
{
    int n = pk ? i2d_PUBKEY(pk, NULL) : -1;
    if (n <= 0)
        return -1;
    uint8_t *out = malloc((size_t)n), *p = out;
    if (out == NULL || i2d_PUBKEY(pk, &p) != n) {
        free(out);
        return -1;
    }
    *spki = out;
    *slen = (size_t)n;
    return 0;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *b)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pk = NULL;
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pk;
}

int cf_cert_piv_spki(const uint8_t *buf, size_t len, cf_key_alg_t alg, uint8_t **spki, size_t *slen)
{
    *spki = NULL;
    *slen = 0;
    const uint8_t *n = NULL, *e = NULL, *pt = NULL;
    size_t nl = 0, el = 0, ptl = 0;
    cf_rcursor c = cf_rcursor_init(buf, len);
    while (c.left > 0) {
        unsigned tag;
        const uint8_t *v;
        size_t vl;
        if (cf_rc_tlv(&c, &tag, &v, &vl) < 0)
            return -1;
        if (tag == 0x81) {
            n = v;
            nl = vl;
        } else if (tag == 0x82) {
            e = v;
            el = vl;
        } else if (tag == 0x86) {
            pt = v;
            ptl = vl;
        }
    }
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    if (b == NULL)
        return -1;
    EVP_PKEY *pk = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    if (alg == CF_KEYALG_RSA2048) {
        if (n != NULL && e != NULL && nl == 256 && n[0] >= 0x80 && el >= 1 && el <= 8) {
            bn = BN_bin2bn(n, (int)nl, NULL);
            be = BN_bin2bn(e, (int)el, NULL);
            if (bn && be && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
                OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) == 1)
                pk = from_params("RSA", b);
        }
    } else if (alg == CF_KEYALG_ECCP256 || alg == CF_KEYALG_ECCP384) {
        size_t field = alg == CF_KEYALG_ECCP256 ? 32 : 48;
        const char *group = alg == CF_KEYALG_ECCP256 ? "P-256" : "P-384";
        if (pt != NULL && ptl == 1 + 2 * field && pt[0] == 0x04 &&
            OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, ptl) == 1)
            pk = from_params("EC", b);
    }
    int r = make_pkey_spki(pk, spki, slen);
    EVP_PKEY_free(pk);
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(b);
    return r;
}

static void fixed_text(char *out, const uint8_t *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && p[i] != 0; i++)
        out[k++] = (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '?';
    out[k] = 0;
}

int cf_gids_masterfile_parse(const uint8_t *buf, size_t len, struct cf_gids_entry *out, size_t cap,
                             size_t *n)
{
    *n = 0;
    cf_rcursor c = cf_rcursor_init(buf, len);
    uint8_t version;
    if (cf_rc_u8(&c, &version) < 0 || version != 0x01 || c.left % 28 != 0)
        return -1;
    while (c.left > 0) {
        const uint8_t *r;
        if (*n >= cap || cf_rc_bytes(&c, 28, &r) < 0)
            return -1;
        struct cf_gids_entry *e = &out[(*n)++];
        fixed_text(e->dir, r, 9);
        fixed_text(e->name, r + 9, 9);
        /* DO and EF as 32-bit little-endian; only 16 bits are meaningful */
        e->tag = (uint16_t)(r[20] | (r[21] << 8));
        e->ef = (uint16_t)(r[24] | (r[25] << 8));
    }
    return 0;
}

int cf_gids_cmap_parse(const uint8_t *buf, size_t len, struct cf_gids_cmap *out, size_t cap,
                       size_t *n)
{
    *n = 0;
    if (len % CF_GIDS_CMAP_RECORD != 0 || len / CF_GIDS_CMAP_RECORD > cap)
        return -1;
    cf_rcursor c = cf_rcursor_init(buf, len);
    while (c.left > 0) {
        const uint8_t *r;
        if (cf_rc_bytes(&c, CF_GIDS_CMAP_RECORD, &r) < 0)
            return -1;
        struct cf_gids_cmap *m = &out[(*n)++];
        size_t k = 0;
        for (size_t i = 0; i < 40; i++) {
            uint16_t ch = (uint16_t)(r[2 * i] | (r[2 * i + 1] << 8));
            if (ch == 0)
                break;
            m->label[k++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
        }
        m->label[k] = 0;
        m->flags = r[80];
        m->sig_bits = (uint16_t)(r[82] | (r[83] << 8));
        m->kx_bits = (uint16_t)(r[84] | (r[85] << 8));
    }
    return 0;
}

int cf_gids_cert_inflate(const uint8_t *buf, size_t len, uint8_t **der, size_t *dlen)
{
    *der = NULL;
    *dlen = 0;
    cf_rcursor c = cf_rcursor_init(buf, len);
    uint8_t a, b, l0, l1;
    if (cf_rc_u8(&c, &a) < 0 || cf_rc_u8(&c, &b) < 0 || cf_rc_u8(&c, &l0) < 0 ||
        cf_rc_u8(&c, &l1) < 0 || a != 0x01 || b != 0x00)
        return -1;
    size_t want = (size_t)l0 | ((size_t)l1 << 8);
    if (want == 0 || want > CF_CERT_MAX_DER || c.left == 0)
        return -1;
    uint8_t *out = malloc(want);
    if (out == NULL)
        return -1;
    uLongf got = (uLongf)want;
    if (uncompress(out, &got, c.p, (uLong)c.left) != Z_OK || got != want) {
        free(out);
        return -1;
    }
    *der = out;
    *dlen = want;
    return 0;
}

int cf_gids_cert_deflate(const uint8_t *der, size_t dlen, uint8_t **out, size_t *olen)
{
    *out = NULL;
    *olen = 0;
    if (dlen == 0 || dlen > CF_CERT_MAX_DER)
        return -1;
    uLongf cap = compressBound((uLong)dlen);
    uint8_t *buf = malloc(4 + cap);
    if (buf == NULL)
        return -1;
    if (compress2(buf + 4, &cap, der, (uLong)dlen, Z_BEST_COMPRESSION) != Z_OK) {
        free(buf);
        return -1;
    }
    buf[0] = 0x01;
    buf[1] = 0x00;
    buf[2] = (uint8_t)(dlen & 0xFF);
    buf[3] = (uint8_t)(dlen >> 8);
    *out = buf;
    *olen = 4 + cap;
    return 0;
}

int cf_cert_gunzip(const uint8_t *buf, size_t len, uint8_t **der, size_t *dlen)
{
    *der = NULL;
    *dlen = 0;
    if (len == 0 || len > UINT32_MAX)
        return -1;
    uint8_t *out = malloc(CF_CERT_MAX_READ);
    if (out == NULL)
        return -1;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)buf;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = CF_CERT_MAX_READ;
    int r = inflate(&z, Z_FINISH);
    size_t got = CF_CERT_MAX_READ - z.avail_out;
    inflateEnd(&z);
    if (r != Z_STREAM_END || got == 0) {
        free(out);
        return -1; /* damaged, or larger than any certificate we read */
    }
    *der = out;
    *dlen = got;
    return 0;
}

int cf_cert_der_check_max(const uint8_t *der, size_t len, size_t max)
{
    if (der == NULL || len == 0 || len > max)
        return -1;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    int ok = x != NULL && p == der + len;
    X509_free(x);
    return ok ? 0 : -1;
}

int cf_cert_der_check(const uint8_t *der, size_t len)
{
    if (der == NULL || len == 0 || len > CF_CERT_MAX_DER)
        return -1;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    int ok = x != NULL && p == der + len;
    X509_free(x);
    return ok ? 0 : -1;
}

cf_key_alg_t cf_cert_der_alg(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    cf_key_alg_t alg = CF_KEYALG_UNKNOWN;
    EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
    if (pk != NULL) {
        if (EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) == 2048) {
            alg = CF_KEYALG_RSA2048;
        } else if (EVP_PKEY_is_a(pk, "EC")) {
            char group[32] = "";
            size_t gl = 0;
            if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                               &gl) == 1) {
                if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
                    alg = CF_KEYALG_ECCP256;
                else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
                    alg = CF_KEYALG_ECCP384;
            }
        }
    }
    X509_free(x);
    return alg;
}
