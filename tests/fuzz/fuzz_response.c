/*
 * fuzz_response.c - the transport's response handling against a card whose
 * every answer comes from the fuzzer.
 *
 * Input: 5 bytes of command shape, then the card's answers.
 *   [0] flags: 1 secret data, 2 secret response, 4 repeat the last answer
 *       forever, 8 Le 256
 *   [1] command data length / 4 (0..1020 bytes: up to five chain links)
 *   [2] Le (0 = none, unless flag 8)
 *   [3] secret offset, [4] secret length (clamped into the data)
 *   then answers: a length byte L and L bytes; L = FF: a 2-byte big-endian
 *   length follows (answers longer than any short APDU); L = FE: the
 *   reader fails (card removed).
 *
 * Beyond "no crash, no hang, no out-of-bounds read", the target checks the
 * transport's promises: the response and the APDU count stay within their
 * bounds, every APDU sent is a well-formed short APDU, and the trace shows
 * no secret byte: the command's secret bytes never appear, and with a
 * secret response every response data byte is "**".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/transport.h>

#include "apdu/apdu.h"
#include "transport/script.h"
#include "util/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret_pattern[4] = {0x5E, 0xC2, 0xE7, 0x9A};

/* Queue the answers; returns the last one (borrowed from data) for repeat. */
static void queue_answers(cf_transport_t *t, cf_rcursor *c, const uint8_t **last, size_t *last_len)
{
    uint8_t l;
    while (cf_rc_u8(c, &l) == 0) {
        size_t n = l;
        if (l == 0xFE) {
            cf_script_fail(t, CF_ERR_CARD_REMOVED);
            continue;
        }
        if (l == 0xFF) {
            uint16_t n16;
            if (cf_rc_u16be(c, &n16) != 0)
                return;
            n = n16;
        }
        const uint8_t *p;
        if (cf_rc_bytes(c, n, &p) != 0)
            return;
        cf_script_answer(t, p, n);
        *last = p;
        *last_len = n;
    }
}

/* The 4-byte secret pattern must not be in any command line; with a secret
 * response, every data token of a response line must be "**". */
static void check_trace(char *text, int resp_secret)
{
    static const char pat[] = "5E C2 E7 9A";
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *dir = strstr(line, "' ");
        if (dir == NULL)
            abort();
        dir += 2;
        if (dir[0] == '>' && strstr(dir, pat) != NULL)
            abort();
        if (dir[0] != '<' || !resp_secret || strncmp(dir, "< error", 7) == 0)
            continue;
        char *end = strstr(dir, " (");
        if (end == NULL)
            abort();
        size_t tokens = (size_t)(end - (dir + 1)) / 3;
        /* "< " then tokens "XX" separated by spaces; all but the SW are "**". */
        for (size_t i = 0; i + 2 < tokens; i++)
            if (dir[2 + 3 * i] != '*' || dir[3 + 3 * i] != '*')
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_rcursor c = cf_rcursor_init(data, size);
    const uint8_t *shape;
    if (cf_rc_bytes(&c, 5, &shape) != 0)
        return 0;
    unsigned flags = shape[0];
    size_t len = (size_t)shape[1] * 4;
    size_t le = (flags & 8) ? 256 : shape[2];
    size_t soff = shape[3] < len ? shape[3] : len;
    size_t slen = shape[4] < len - soff ? shape[4] : len - soff;

    static uint8_t cmd[1020];
    memset(cmd, 0x11, sizeof(cmd));
    size_t s_lo = (flags & 1) ? 0 : soff, s_hi = (flags & 1) ? len : soff + slen;
    for (size_t i = s_lo; i < s_hi; i++)
        cmd[i] = secret_pattern[(i - s_lo) % 4];

    cf_transport_t *t = NULL;
    if (cf_script_open("Fuzz", &t) != CF_OK)
        return 0;
    const uint8_t *last = NULL;
    size_t last_len = 0;
    queue_answers(t, &c, &last, &last_len);
    if ((flags & 4) && last != NULL)
        cf_script_repeat(t, last, last_len);

    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    cf_trace_t *tr = NULL;
    if (f == NULL || cf_trace_new(f, &tr) != CF_OK)
        abort();
    cf_transport_set_trace(t, tr);

    cf_capdu_t capdu = {.cla = 0x00,
                        .ins = 0xDB,
                        .p1 = 0x3F,
                        .p2 = 0xFF,
                        .data = len ? cmd : NULL,
                        .len = len,
                        .le = le,
                        .secret_off = soff,
                        .secret_len = slen};
    if (flags & 1)
        capdu.flags |= CF_CAPDU_SECRET_DATA;
    if (flags & 2)
        capdu.flags |= CF_CAPDU_SECRET_RESPONSE;
    cf_rapdu_t r;
    cf_err_t err = cf_transport_transmit(t, &capdu, &r);

    size_t links = len > 255 ? (len + 254) / 255 : 1;
    uint64_t sent = cf_transport_apdu_count(t);
    if (sent != cf_script_sent_count(t))
        abort();
    if (sent > links + 1 + CF_TRANSPORT_MAX_GET_RESPONSE)
        abort();
    if (err == CF_OK && r.len > CF_TRANSPORT_MAX_RESPONSE)
        abort();
    if (err != CF_OK && r.len != 0)
        abort();
    if (r.len > 0) /* the data is readable to its end */
        if (r.data[0] + r.data[r.len - 1] > 510)
            abort();
    for (size_t i = 0; i < cf_script_sent_count(t); i++) {
        size_t n;
        const uint8_t *p = cf_script_sent(t, i, &n);
        cf_apdu_t a;
        if (n < 4 || n > 261 || cf_apdu_parse(p, n, &a) != 0 || a.extended)
            abort();
    }

    cf_transport_close(t, CF_DISPOSE_LEAVE);
    cf_trace_free(tr);
    fclose(f);
    check_trace(text, (flags & 2) != 0);
    free(text);
    return 0;
}
