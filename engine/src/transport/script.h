/*
 * script.h - a scripted card for unit tests and fuzzing (internal).
 *
 * A scripted transport answers each raw APDU with the next answer queued
 * by the test (bytes, or a transport error), records every raw APDU it was
 * sent, and, once the queue is empty, repeats a fixed answer if one is set
 * or fails with CF_ERR_TRANSPORT. It exercises the core (chaining, 61xx,
 * 6Cxx, redaction, counters) exactly as PC/SC or the simulated card would,
 * with answers no real card would dare to give.
 */
#ifndef CF_TRANSPORT_SCRIPT_H
#define CF_TRANSPORT_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include <cardforge/transport.h>

/* A scripted reader; ATR 3B 80 80 01 01. The caller owns *out
 * (cf_transport_close). */
cf_err_t cf_script_open(const char *reader_name, cf_transport_t **out);

/* Queue an answer: raw bytes (data + SW; any length, even < 2, up to
 * CF_SIMCARD_MAX_RESPONSE), or hex text ("6110", "0102 9000"; spaces
 * ignored), or a failure err with message text. CF_ERR_ARG on a
 * non-scripted transport or bad hex. */
cf_err_t cf_script_answer(cf_transport_t *t, const uint8_t *resp, size_t len);
cf_err_t cf_script_answer_hex(cf_transport_t *t, const char *hex);
cf_err_t cf_script_fail(cf_transport_t *t, cf_err_t err);

/* The answer given forever once the queue is empty (len 0 / NULL: none). */
cf_err_t cf_script_repeat(cf_transport_t *t, const uint8_t *resp, size_t len);

/* Raw APDUs received so far, in order; sent() returns a borrowed copy of
 * the i-th (NULL when i is out of range). */
size_t cf_script_sent_count(const cf_transport_t *t);
const uint8_t *cf_script_sent(const cf_transport_t *t, size_t i, size_t *len);

/* Queued answers not yet consumed; resets, begin/end calls seen. */
size_t cf_script_pending(const cf_transport_t *t);
unsigned cf_script_resets(const cf_transport_t *t);
unsigned cf_script_transactions(const cf_transport_t *t);

#endif
