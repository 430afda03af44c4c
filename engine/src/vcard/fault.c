/*
 * fault.c - parsing and lookup of injected faults.
 *
 * Error messages quote the offending spec back: it is a command-line
 * argument the operator typed, never card data.
 */
#include <stdio.h>
#include <string.h>

#include "vcard/args.h"
#include "vcard/fault.h"
#include "util/hex.h"

static void say(char *err, size_t errlen, const char *spec, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "'%s': %s", spec, msg);
}

cf_err_t cf_vcard_fault_set_drop(cf_vcard_faults_t *f, const char *spec, char *err, size_t errlen)
{
    uint32_t k;
    cf_err_t e = cf_vcard_parse_u32(spec, 1, CF_VCARD_FAULT_MAX_DROP, &k);
    if (e != CF_OK) {
        say(err, errlen, spec != NULL ? spec : "",
            "expected a number of APDUs from 1 to 1000000000");
        return e;
    }
    f->drop_after = k;
    return CF_OK;
}

/* Exactly n hex digits at s into *v. */
static int hexn(const char *s, size_t n, unsigned *v)
{
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++) {
        int d = cf_hex_digit(s[i]);
        if (d < 0)
            return -1;
        acc = acc << 4 | (unsigned)d;
    }
    *v = acc;
    return 0;
}

cf_err_t cf_vcard_fault_set_drop_ins(cf_vcard_faults_t *f, const char *spec, char *err,
                                     size_t errlen)
{
    unsigned ins;
    if (spec == NULL || strlen(spec) != 2 || hexn(spec, 2, &ins) < 0) {
        say(err, errlen, spec != NULL ? spec : "", "expected an INS in hex, e.g. 24");
        return CF_ERR_PARSE;
    }
    f->drop_on = 1;
    f->drop_ins = (uint8_t)ins;
    return CF_OK;
}

int cf_vcard_fault_drop(const cf_vcard_faults_t *f, uint64_t n, const uint8_t *apdu, size_t len)
{
    if (f->drop_after != 0 && n == f->drop_after)
        return 1;
    return f->drop_on && len >= 4 && apdu[1] == f->drop_ins;
}

cf_err_t cf_vcard_fault_add_sw(cf_vcard_faults_t *f, const char *spec, char *err, size_t errlen)
{
    if (spec == NULL)
        spec = "";
    unsigned ins, sw;
    if (strlen(spec) != 7 || spec[2] != ':' || hexn(spec, 2, &ins) < 0 ||
        hexn(spec + 3, 4, &sw) < 0) {
        say(err, errlen, spec, "expected INS:SW in hex, e.g. 24:6581");
        return CF_ERR_PARSE;
    }
    unsigned sw1 = sw >> 8;
    if (!((sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F))) {
        say(err, errlen, spec, "SW1 must be 61..6F or 90..9F");
        return CF_ERR_INVALID;
    }
    for (size_t i = 0; i < f->nsw; i++) {
        if (f->sw[i].ins == ins) {
            say(err, errlen, spec, "this INS already has a fault");
            return CF_ERR_INVALID;
        }
    }
    if (f->nsw >= CF_VCARD_FAULT_MAX_SW) {
        say(err, errlen, spec, "too many --fault-sw (at most 16)");
        return CF_ERR_INVALID;
    }
    f->sw[f->nsw].ins = (uint8_t)ins;
    f->sw[f->nsw].sw = (uint16_t)sw;
    f->nsw++;
    return CF_OK;
}

int cf_vcard_fault_sw(const cf_vcard_faults_t *f, const uint8_t *apdu, size_t len, uint16_t *sw)
{
    if (len < 4)
        return 0;
    for (size_t i = 0; i < f->nsw; i++) {
        if (f->sw[i].ins == apdu[1]) {
            *sw = f->sw[i].sw;
            return 1;
        }
    }
    return 0;
}
