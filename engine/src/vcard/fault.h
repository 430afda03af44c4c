/*
 * fault.h - the faults cardforge-vcard injects on request (internal).
 *
 * Three kinds, for testing how the engine copes with a misbehaving card:
 *   drop after K  the card is pulled once the K-th APDU has arrived, before
 *                 it is answered (a card yanked mid-command);
 *   drop on INS   likewise on the first command with instruction byte INS:
 *                 a pull inside a given step, whatever came before it (a
 *                 count of APDUs shifts with every retry and reconnect);
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
    int drop_on;         /* 1: pull on the first command with drop_ins */
    uint8_t drop_ins;
    size_t nsw;
    struct {
        uint8_t ins;
        uint16_t sw;
    } sw[CF_VCARD_FAULT_MAX_SW];
} cf_vcard_faults_t;

/* Parse K (decimal, 1..CF_VCARD_FAULT_MAX_DROP) into f->drop_after. On
 * error a message naming the problem goes to err (may be NULL). */
cf_err_t cf_vcard_fault_set_drop(cf_vcard_faults_t *f, const char *spec, char *err, size_t errlen);

/* Parse INS (exactly 2 hex digits) into f->drop_ins and set f->drop_on. */
cf_err_t cf_vcard_fault_set_drop_ins(cf_vcard_faults_t *f, const char *spec, char *err,
                                     size_t errlen);

/* 1 when the command apdu[0..len) arriving as the n-th APDU must pull the
 * card (either drop fault), else 0. Each drop fires once: the caller
 * remembers that one did. */
int cf_vcard_fault_drop(const cf_vcard_faults_t *f, uint64_t n, const uint8_t *apdu, size_t len);

/* Parse "INS:SW" (2 and 4 hex digits, e.g. "24:6581") and add it. SW1 must
 * be a real status byte (61..6F or 90..9F); an INS may be given once; at
 * most CF_VCARD_FAULT_MAX_SW entries. f is unchanged on error. */
cf_err_t cf_vcard_fault_add_sw(cf_vcard_faults_t *f, const char *spec, char *err, size_t errlen);

/* 1 and *sw when the command apdu[0..len) must be answered with an injected
 * status word, else 0 (also for a command too short to have an INS). */
int cf_vcard_fault_sw(const cf_vcard_faults_t *f, const uint8_t *apdu, size_t len, uint16_t *sw);

#endif
