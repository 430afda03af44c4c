/*
 * csv_input.h - the byte window the CSV parser reads from (internal).
 *
 * One interface over two kinds of source: bytes already in memory (the
 * window is the whole buffer, nothing is copied) and a read function (a
 * file descriptor, or a test's chunked source) filling a fixed buffer that
 * is allocated once. The parser looks only at win[pos..len) and asks for
 * more with cf_csv_input_ensure, which keeps the unread tail: the few places
 * that must look one or two bytes ahead (a byte order mark, CR LF) can do
 * so across a refill. The buffer holds raw batch bytes, PINs included, so
 * stale bytes are wiped as soon as a shorter read leaves them behind, and
 * the whole buffer is wiped when the input is finished.
 */
#ifndef CF_BATCH_CSV_INPUT_H
#define CF_BATCH_CSV_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read up to cap bytes into buf: the count, 0 at end of input, or -1 with
 * errno set. Like read(2), a short count is not the end. */
typedef ssize_t (*cf_csv_read_fn)(void *ctx, uint8_t *buf, size_t cap);

/* Size of the buffer of a reading source. */
#define CF_CSV_IOBUF_SIZE 65536u

typedef struct cf_csv_input {
    const uint8_t *win; /* readable bytes are win[pos..len) */
    size_t len;
    size_t pos;
    uint8_t *buf; /* owned; NULL for a memory source */
    size_t cap;
    cf_csv_read_fn read;
    void *ctx; /* borrowed */
    int eof;
} cf_csv_input;

/* A memory source over data[0..len) (borrowed). Cannot fail. */
void cf_csv_input_mem(cf_csv_input *in, const uint8_t *data, size_t len);

/* A reading source with a buffer of cap bytes (at least 4). -1 when out of
 * memory. ctx is borrowed. */
int cf_csv_input_reader(cf_csv_input *in, cf_csv_read_fn fn, void *ctx, size_t cap);

/* Wipe and free the buffer. Safe on a zeroed or already finished input. */
void cf_csv_input_fini(cf_csv_input *in);

/* Make at least want (<= 4) bytes readable, fewer only at end of input.
 * *avail gets the number readable. 0, or -1 with errno when a read failed. */
int cf_csv_input_ensure(cf_csv_input *in, size_t want, size_t *avail);

/* The read function for a file descriptor; ctx points at the int fd. */
ssize_t cf_csv_read_fd(void *ctx, uint8_t *buf, size_t cap);

#endif
