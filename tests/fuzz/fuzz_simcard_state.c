/*
 * fuzz_simcard_state.c - the virtual card's state-file loader against any
 * bytes. The state file is the card, and a test, a demo user or a disk can
 * leave anything in it: loading must fail cleanly with a message or give a
 * card that works (answers a SELECT) and saves again. The seeds include
 * files of every format: with a quirks line (variants) and without (the
 * legacy files, read as the cards of their time).
 *
 * The input is handed over as a memfd (an in-memory file), so nothing is
 * written to disk at this rate. (_GNU_SOURCE for memfd_create comes from
 * the build.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cardforge/simcard.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t resp[CF_SIMCARD_MAX_RESPONSE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("state", 0);
    if (fd < 0)
        return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char err[256];
    cf_simcard_t *card = NULL;
    cf_err_t e = cf_simcard_load(path, err, sizeof(err), &card);
    close(fd);
    if (e != CF_OK) {
        if (card != NULL)
            abort(); /* a failed load hands out nothing */
        return 0;
    }
    /* A loaded card names its variant canonically, as cf_simcard_new would
     * take it back. */
    char canon[CF_SIMCARD_TYPE_MAX];
    if (cf_simcard_type_check(cf_simcard_type(card), canon, sizeof(canon), NULL, 0) != CF_OK ||
        strcmp(canon, cf_simcard_type(card)) != 0)
        abort();
    /* A loaded card works: it powers on and answers a SELECT of either
     * application with a complete response. */
    static const uint8_t sel_piv[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};
    static const uint8_t sel_gids[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                                       0x03, 0x97, 0x42, 0x54, 0x46, 0x59, 0x00};
    cf_simcard_power_on(card);
    size_t rl = 0;
    if (cf_simcard_transmit(card, sel_piv, sizeof(sel_piv), resp, &rl) != CF_OK || rl < 2)
        abort();
    if (cf_simcard_transmit(card, sel_gids, sizeof(sel_gids), resp, &rl) != CF_OK || rl < 2)
        abort();
    cf_simcard_free(card);
    return 0;
}
