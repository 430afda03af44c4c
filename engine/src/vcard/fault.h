/*
 * fault.h - the faults cardforge-vcard injects on request (internal).
 *
 * Two kinds, both for testing how the engine copes with a misbehaving card:
 *   drop after K  the card is pulled once the K-th APDU has arrived, before
 *                 it is answered (a card yanked mid-command);
 *   INS:SW        every command with instruction byte INS is answered with
 *                 status word SW without reaching the card (a card that
 *                 refuses, or a memory failure such as 6581).
 * The specs come from the command line, so they are parsed strictly and
 * the table is bounded.
 */
#ifndef CF_VCARD_FAULT_H
#define CF_VCARD_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/error.h>

#define CF_VCARD_FAULT_MAX_SW 16
/* The largest K accepted by --fault-drop-after. */
#define CF_VCARD_FAULT_MAX_DROP 1000000000u

typedef struct cf_vcard_faults {
    uint32_t drop_after; /* 0: never */
    size_t nsw;
    struct {
        uint8_t ins;
        uint16_t sw;
    } sw[CF_VCARD_FAULT_MAX_SW];
} cf_vcard_faults_t;

/* Parse K (decimal, 1..CF_VCARD_FAULT_MAX_DROP) into f->drop_after. On
 * error a message naming the problem goes to err (may be NULL). */
cf_err_t cf_vcard_fault_set_drop(cf_vcard_faults_t *f, const char *spec, char *err,
                                 size_t errlen);

/* Parse "INS:SW" (2 and 4 hex digits, e.g. "24:6581") and add it. SW1 must
 * be a real status byte (61..6F or 90..9F); an INS may be given once; at
 * most CF_VCARD_FAULT_MAX_SW entries. f is unchanged on error. */
cf_err_t cf_vcard_fault_add_sw(cf_vcard_faults_t *f, const char *spec, char *err,
                               size_t errlen);

/* 1 and *sw when the command apdu[0..len) must be answered with an injected
 * status word, else 0 (also for a command too short to have an INS). */
int cf_vcard_fault_sw(const cf_vcard_faults_t *f, const uint8_t *apdu, size_t len,
                      uint16_t *sw);

#endif
