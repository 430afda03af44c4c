/*
 * history.h - what the journal remembers about a card, in the executor's
 * terms, and what the executor learned, in the journal's (internal).
 *
 * The journal keeps its own types (journal.h does not know the executor):
 * the open intent's step by name, wrong values as two counts and refused
 * values as parameter bits. The runner converts both ways here, so the
 * journal and the executor can each change without the other.
 */
#ifndef CF_RUNNER_HISTORY_H
#define CF_RUNNER_HISTORY_H

#include <cardforge/journal.h>
#include <cardforge/personalize.h>

/* The cf_card_history_t for serial from the journal state st (the caller
 * holds the runner's lock). open_step is the kind whose name is the open
 * intent's step, -1 when there is none or the name is no step kind. */
void cf_runner_card_history(const cf_journal_state_t *st, const char *serial,
                            cf_card_history_t *out);

/* Copy what the run presented that the card refused (res->spent for the PUK
 * and the admin key, res->refused) into the card record c. Bits of no
 * parameter are dropped: the journal writes names. */
void cf_runner_record_spent(cf_journal_card_t *c, const cf_personalize_result_t *res);

/* The step kind named name ("rotate-admin-key", ...), or -1. */
int cf_runner_step_kind(const char *name);

#endif
