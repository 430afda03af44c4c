/*
 * desc_gen.h - the "@derive" and "@random" value forms (internal).
 *
 * A description may say that a parameter is derived per card from a named
 * master key, or generated at random per card. These values do not exist
 * when the description is compiled; the compiler records how to make them
 * (plan_param.master, version, key_type, digits) and the rules below say
 * which parameters may take which form and warn about values that nobody
 * will ever know. plan_card.c makes the values once a card is open.
 */
#ifndef CF_DESC_GEN_H
#define CF_DESC_GEN_H

#include <stddef.h>

#include <cardforge/diag.h>

#include "desc/desc_int.h"

/* Fewest and most digits of a derived or random PIN/PUK. Fewer than 4
 * digits is no secret; more than CF_PIN_MAX_ANY fits no card type. */
#define CF_GEN_DIGITS_MIN 4
#define CF_GEN_DIGITS_MAX CF_PIN_MAX_ANY
#define CF_GEN_PIN_DIGITS 6
#define CF_GEN_PUK_DIGITS 8

/* Parse value v (which starts with '@') for parameter p into pp (src,
 * master, version, key_type, digits). 0 on success; -1 with a message for
 * a person in msg (naming p, never quoting more of v than a validated
 * master key name), pp->src then stays CF_SOURCE_NONE. -2 when out of
 * memory. */
int cf_desc_parse_generated(cf_param_t p, const char *v, struct plan_param *pp, char *msg,
                            size_t msglen);

/* 1 when text (len bytes) is spelled like a generated form ("@derive",
 * "@random", alone or followed by ':', any case): such a text in a batch
 * cell or a field default is a mistake, not a PIN. */
int cf_desc_looks_generated(const char *text, size_t len);

/* The rules about derived and random values that involve several settings:
 * random values nobody will know (a PIN with no unblock path or without
 * BlockCard, a PUK with no admin key, a random new admin key) and
 * derivations that make a change a no-op. initcr: InitCRKey=true;
 * block_line: the first BlockCard=true (0 when none). Warnings go to diags
 * at file:line. */
void cf_desc_generated_rules(const cf_plan_t *plan, int initcr, unsigned long block_line,
                             const char *file, cf_diag_list_t *diags);

#endif
