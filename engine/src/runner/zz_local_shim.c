/* LOCAL DEVELOPMENT SHIM - NEVER COMMIT. cf_card_last_write is declared by
 * the steps branch's card.h but not yet implemented on the card branch. */
#include <cardforge/card.h>
cf_card_write_t cf_card_last_write(const cf_card_t *card)
{
    (void)card;
    return CF_WRITE_UNKNOWN;
}
