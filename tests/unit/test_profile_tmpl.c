/*
 * test_profile_tmpl.c - APDU templates (compile, expand: header
 * placeholders, computed TLV lengths, the secret range), TLV paths,
 * fields and ATR masks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "profile/match.h"
#include "profile/tmpl.h"

#define ALL ((1u << CF_PH_COUNT) - 1)

static cf_tmpl_t *compile(const char *text)
{
    cf_tmpl_t *t = NULL;
    char why[200] = "";
    cf_err_t err = cf_tmpl_compile(text, ALL, &t, why, sizeof(why));
    if (err != CF_OK)
        fprintf(stderr, "%s: %s\n", text, why);
    assert_int_equal(err, CF_OK);
    return t;
}

static void set(cf_tmpl_vals_t *v, cf_ph_t ph, const void *p, size_t n)
{
    v->p[ph] = p;
    v->len[ph] = n;
}

static void test_literal_bytes_and_header(void **state)
{
    (void)state;
    cf_tmpl_t *t = compile("00A40400 A0 00 00 03 08");
    cf_tmpl_vals_t v = {0};
    uint8_t hdr[4], data[64];
    size_t len, off, sl;
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl), CF_OK);
    static const uint8_t want_hdr[4] = {0x00, 0xA4, 0x04, 0x00};
    static const uint8_t want[5] = {0xA0, 0x00, 0x00, 0x03, 0x08};
    assert_memory_equal(hdr, want_hdr, 4);
    assert_int_equal(len, 5);
    assert_memory_equal(data, want, 5);
    assert_int_equal(sl, 0);
    assert_int_equal(cf_tmpl_uses(t), 0);
    cf_tmpl_free(t);
}

static void test_header_placeholders_and_padded_secret_range(void **state)
{
    (void)state;
    cf_tmpl_t *t = compile("00 2C 00 {pin_ref} {puk}{new_pin}");
    assert_int_equal(cf_tmpl_uses(t),
                     CF_PH_BIT(CF_PH_PIN_REF) | CF_PH_BIT(CF_PH_PUK) | CF_PH_BIT(CF_PH_NEW_PIN));
    cf_tmpl_vals_t v = {0};
    uint8_t ref = 0x80;
    set(&v, CF_PH_PIN_REF, &ref, 1);
    set(&v, CF_PH_PUK, "12345678", 8);
    set(&v, CF_PH_NEW_PIN, "654321\xff\xff", 8);
    uint8_t hdr[4], data[64];
    size_t len, off, sl;
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl), CF_OK);
    assert_int_equal(hdr[3], 0x80);
    assert_int_equal(len, 16);
    assert_memory_equal(data, "12345678654321\xff\xff", 16);
    assert_int_equal(off, 0);
    assert_int_equal(sl, 16);
    /* a header placeholder of the wrong size is a bug in the caller */
    set(&v, CF_PH_PIN_REF, "ab", 2);
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl),
                     CF_ERR_INTERNAL);
    /* a placeholder without a value too */
    set(&v, CF_PH_PIN_REF, &ref, 1);
    v.p[CF_PH_PUK] = NULL;
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl),
                     CF_ERR_INTERNAL);
    cf_tmpl_free(t);
}

static void test_tlv_lengths_are_computed(void **state)
{
    (void)state;
    /* PIV 9B answer: 7C 14 80 08 W 81 08 C; only W is secret */
    cf_tmpl_t *t = compile("00 87 {alg} 9B 7C(80({witness}) 81({challenge}))");
    cf_tmpl_vals_t v = {0};
    uint8_t alg = 0x03, w[8], c[8];
    memset(w, 0x11, 8);
    memset(c, 0x22, 8);
    set(&v, CF_PH_ALG, &alg, 1);
    set(&v, CF_PH_WITNESS, w, 8);
    set(&v, CF_PH_CHALLENGE, c, 8);
    uint8_t hdr[4], data[300];
    size_t len, off, sl;
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl), CF_OK);
    assert_int_equal(hdr[2], 0x03);
    assert_int_equal(len, 22);
    static const uint8_t head[] = {0x7C, 0x14, 0x80, 0x08};
    assert_memory_equal(data, head, 4);
    assert_memory_equal(data + 4, w, 8);
    assert_int_equal(data[12], 0x81);
    assert_int_equal(data[13], 0x08);
    assert_memory_equal(data + 14, c, 8);
    assert_int_equal(off, 4);
    assert_int_equal(sl, 8);
    cf_tmpl_free(t);

    /* empty TLV and multi-byte tags */
    t = compile("00 CB 3F FF 5C(7F71) 7C(80())");
    memset(&v, 0, sizeof(v));
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl), CF_OK);
    static const uint8_t want[] = {0x5C, 0x02, 0x7F, 0x71, 0x7C, 0x02, 0x80, 0x00};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(data, want, sizeof(want));
    cf_tmpl_free(t);

    /* long form lengths: 81 xx and 82 xx xx */
    t = compile("00 DB 3F FF 53({response})");
    uint8_t big[300];
    memset(big, 0x5A, sizeof(big));
    memset(&v, 0, sizeof(v));
    set(&v, CF_PH_RESPONSE, big, 200);
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl), CF_OK);
    assert_int_equal(len, 203);
    assert_int_equal(data[1], 0x81);
    assert_int_equal(data[2], 200);
    assert_int_equal(off, 3);
    assert_int_equal(sl, 200);
    set(&v, CF_PH_RESPONSE, big, 290);
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl), CF_OK);
    assert_int_equal(data[1], 0x82);
    assert_int_equal(data[2], 0x01);
    assert_int_equal(data[3], 0x22);
    /* a buffer too small */
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, 100, &len, &off, &sl), CF_ERR_BUFFER);
    cf_tmpl_free(t);
}

static void test_gids_put_key_template(void **state)
{
    (void)state;
    cf_tmpl_t *t = compile("00 DB 3F FF 70(84({admin_ref}) A5(87({new_key}) 88({kcv})))");
    cf_tmpl_vals_t v = {0};
    uint8_t ref = 0x80, key[24], kcv[3] = {0xB0, 0x73, 0xDC};
    memset(key, 0x01, sizeof(key));
    set(&v, CF_PH_ADMIN_REF, &ref, 1);
    set(&v, CF_PH_NEW_KEY, key, 24);
    set(&v, CF_PH_KCV, kcv, 3);
    uint8_t hdr[4], data[128];
    size_t len, off, sl;
    assert_int_equal(cf_tmpl_expand(t, &v, hdr, data, sizeof(data), &len, &off, &sl), CF_OK);
    /* the reference: 70 24 84 01 80 A5 1F 87 18 <K> 88 03 <KCV> */
    static const uint8_t head[] = {0x70, 0x24, 0x84, 0x01, 0x80, 0xA5, 0x1F, 0x87, 0x18};
    assert_int_equal(len, 0x26);
    assert_memory_equal(data, head, sizeof(head));
    assert_memory_equal(data + 9, key, 24);
    assert_int_equal(data[33], 0x88);
    assert_int_equal(data[34], 0x03);
    assert_memory_equal(data + 35, kcv, 3);
    assert_int_equal(off, 9);
    assert_int_equal(sl, 24);
    cf_tmpl_free(t);
}

static void test_disallowed_placeholder_is_refused(void **state)
{
    (void)state;
    cf_tmpl_t *t = NULL;
    char why[200];
    assert_int_equal(cf_tmpl_compile("00 20 00 80 {pin}", CF_PH_BIT(CF_PH_NEW_PIN), &t, why,
                                     sizeof(why)),
                     CF_ERR_PARSE);
    assert_null(t);
    assert_non_null(strstr(why, "{pin}"));
    char longtext[600];
    memset(longtext, '0', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = 0;
    assert_int_equal(cf_tmpl_compile(longtext, ALL, &t, why, sizeof(why)), CF_ERR_PARSE);
    assert_non_null(strstr(why, "too long"));
    /* too many items */
    char many[512] = "00 00 00 00";
    for (int i = 0; i < 100; i++)
        strcat(many, " 7C()");
    assert_int_equal(cf_tmpl_compile(many, ALL, &t, why, sizeof(why)), CF_ERR_PARSE);
    assert_non_null(strstr(why, "too many parts"));
    assert_string_equal(cf_ph_name(CF_PH_NEW_PUK), "new_puk");
    assert_true(cf_ph_secret(CF_PH_PIN));
    assert_false(cf_ph_secret(CF_PH_KCV));
    assert_string_equal(cf_ph_name(CF_PH_COUNT), "?");
}

static void test_tlv_paths_and_fields(void **state)
{
    (void)state;
    cf_tlv_path_t p;
    char why[160];
    assert_int_equal(cf_tlv_path_parse("7C/82", &p, why, sizeof(why)), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.tags[0], 0x7C);
    assert_int_equal(p.tags[1], 0x82);
    assert_int_equal(cf_tlv_path_parse("", &p, why, sizeof(why)), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(cf_tlv_path_parse("7F71/97", &p, why, sizeof(why)), 0);
    assert_int_equal(p.tags[0], 0x7F71);
    assert_int_equal(cf_tlv_path_parse("7F", &p, why, sizeof(why)), -1);
    assert_int_equal(cf_tlv_path_parse("7C//82", &p, why, sizeof(why)), -1);
    assert_int_equal(cf_tlv_path_parse("5F8001", &p, why, sizeof(why)), 0);
    assert_int_equal(p.tags[0], 0x5F8001);
    assert_int_equal(cf_tlv_path_parse("5F80", &p, why, sizeof(why)), -1);

    /* 7F 71 06 97 01 03 93 01 05 */
    static const uint8_t r[] = {0x7F, 0x71, 0x06, 0x97, 0x01, 0x03, 0x93, 0x01, 0x05};
    cf_field_t f = {.length = 1};
    assert_int_equal(cf_tlv_path_parse("7F71/97", &f.path, why, sizeof(why)), 0);
    const uint8_t *v;
    size_t vl;
    assert_int_equal(cf_field_get(&f, r, sizeof(r), &v, &vl), 0);
    assert_int_equal(vl, 1);
    assert_int_equal(v[0], 3);
    assert_int_equal(cf_tlv_path_parse("7F71/98", &f.path, why, sizeof(why)), 0);
    assert_int_equal(cf_field_get(&f, r, sizeof(r), &v, &vl), 1); /* absent */
    assert_int_equal(cf_tlv_path_parse("7F71/97", &f.path, why, sizeof(why)), 0);
    f.offset = 1;
    assert_int_equal(cf_field_get(&f, r, sizeof(r), &v, &vl), -1); /* too short */
    f.offset = 0;
    assert_int_equal(cf_field_get(&f, r, 5, &v, &vl), -1); /* truncated TLV */
    /* whole data */
    cf_field_t all = {.length = 0};
    assert_int_equal(cf_field_get(&all, r, sizeof(r), &v, &vl), 0);
    assert_int_equal(vl, sizeof(r));
}

static void test_atr_patterns_with_masks(void **state)
{
    (void)state;
    cf_atr_pattern_t p = {.len = 3};
    memcpy(p.value, "\x3B\x80\x01", 3);
    memcpy(p.mask, "\xFF\xF0\xFF", 3);
    assert_true(cf_atr_match(&p, (const uint8_t *)"\x3B\x8F\x01", 3));
    assert_false(cf_atr_match(&p, (const uint8_t *)"\x3B\x7F\x01", 3));
    assert_false(cf_atr_match(&p, (const uint8_t *)"\x3B\x80\x01\x00", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_bytes_and_header),
        cmocka_unit_test(test_header_placeholders_and_padded_secret_range),
        cmocka_unit_test(test_tlv_lengths_are_computed),
        cmocka_unit_test(test_gids_put_key_template),
        cmocka_unit_test(test_disallowed_placeholder_is_refused),
        cmocka_unit_test(test_tlv_paths_and_fields),
        cmocka_unit_test(test_atr_patterns_with_masks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
