/*
 * csv_input.c - see csv_input.h.
 *
 * A refill moves the unread tail (at most a few bytes: the parser consumes
 * the whole window before it asks again) to the front and reads behind it,
 * so the buffer never grows and one read call serves up to 64 KiB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cardforge/secret.h>

#include "batch/csv_input.h"

/* Stands in for a NULL memory buffer, so no arithmetic is done on NULL. */
static const uint8_t empty_input[1];

void cf_csv_input_mem(cf_csv_input *in, const uint8_t *data, size_t len)
{
    memset(in, 0, sizeof(*in));
    in->win = data != NULL ? data : empty_input;
    in->len = data != NULL ? len : 0;
    in->eof = 1;
}

int cf_csv_input_reader(cf_csv_input *in, cf_csv_read_fn fn, void *ctx, size_t cap)
{
    memset(in, 0, sizeof(*in));
    if (cap < 4)
        cap = 4;
    in->buf = malloc(cap);
    if (in->buf == NULL)
        return -1;
    in->cap = cap;
    in->win = in->buf;
    in->read = fn;
    in->ctx = ctx;
    return 0;
}

void cf_csv_input_fini(cf_csv_input *in)
{
    if (in->buf != NULL) {
        cf_wipe(in->buf, in->cap);
        free(in->buf);
    }
    memset(in, 0, sizeof(*in));
}

int cf_csv_input_ensure(cf_csv_input *in, size_t want, size_t *avail)
{
    while (in->len - in->pos < want && !in->eof) {
        size_t keep = in->len - in->pos, old = in->len;
        if (in->pos > 0) {
            memmove(in->buf, in->buf + in->pos, keep);
            in->pos = 0;
            in->len = keep;
        }
        ssize_t n = in->read(in->ctx, in->buf + keep, in->cap - keep);
        if (n < 0) {
            *avail = in->len - in->pos;
            return -1;
        }
        in->len = keep + (size_t)n;
        if (in->len < old)
            cf_wipe(in->buf + in->len, old - in->len);
        if (n == 0)
            in->eof = 1;
    }
    *avail = in->len - in->pos;
    return 0;
}

ssize_t cf_csv_read_fd(void *ctx, uint8_t *buf, size_t cap)
{
    int fd = *(const int *)ctx;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}
