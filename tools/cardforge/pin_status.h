/*
 * pin_status.h - `cardforge pin status` on an open card (pin_status.c).
 */
#ifndef CF_TOOLS_PIN_STATUS_H
#define CF_TOOLS_PIN_STATUS_H

#include "desk_card.h"

/* Print the card's type, serial, version, reader, tries left (PIN, PUK,
 * admin key), PIN policy and unblock method: aligned lines, or with json
 * one JSON document (the shape in docs/operator-guide.md). A counter the
 * card did not tell is null there, with a note saying why. CF_EXIT_*. */
int pin_status(struct desk_card *dc, int json);

#endif
