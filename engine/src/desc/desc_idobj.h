/*
 * desc_idobj.h - the [Application_PIV] keys that write identity objects
 * (CHUID=generate, CHUIDExpiry, CCC=generate): their value forms, shared by
 * the compiler (desc_compile.c) and the plan's questions (desc_idobj.c).
 */
#ifndef CF_DESC_IDOBJ_H
#define CF_DESC_IDOBJ_H

#include <stddef.h>

/* Years a CHUID is valid when the description names no CHUIDExpiry. */
#define CF_CHUID_DEFAULT_YEARS 5u
/* Most years CHUIDExpiry may count (a card outlives no such span). */
#define CF_CHUID_MAX_YEARS 20u

/* CHUIDExpiry's value: a date YYYYMMDD that exists (years 2000-2099) into
 * date, or a whole number of years 1..CF_CHUID_MAX_YEARS into *years (date
 * then ""). 0, or -1 with a message (the value is not secret) in msg. */
int cf_desc_parse_expiry(const char *v, char date[9], unsigned *years, char *msg, size_t msglen);

/* The date years after the UTC day of now, as YYYYMMDD (29 February goes to
 * the 28th in a year without it). 0, or -1. */
int cf_desc_date_after(long now, unsigned years, char out[9]);

#endif
