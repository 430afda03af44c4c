/*
 * tty_secret.h - reading secrets (PINs, keys, responses) from the person at
 * the terminal: no echo, no stdio buffer holding a copy, and the terminal
 * restored even when a signal interrupts the prompt.
 */
#ifndef CF_TOOLS_TTY_SECRET_H
#define CF_TOOLS_TTY_SECRET_H

#include <stddef.h>

#include <cardforge/error.h>
#include <cardforge/secret.h>

/* Turn echo off on standard input (a terminal) until tty_restore; SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT restore it before the process ends. */
void tty_echo_off(void);
void tty_restore(void);

/* One line from standard input, read byte by byte with read(2). Returns its
 * length without the newline, or -1 when it is longer than cap - 1 (the rest
 * of the line is consumed and dropped); buf is NUL-terminated. */
long tty_read_line(char *buf, size_t cap);

/* Print prompt on stderr and read one line without echo into *out (the
 * caller owns it). CF_ERR_UNSUPPORTED when standard input is not a terminal
 * (secrets are not read from pipes unless a command says so), CF_ERR_IO on
 * end of input, CF_ERR_ARG when the line is empty or longer than maxlen. The
 * typed text never appears in a message. */
cf_err_t tty_ask_secret(const char *prompt, size_t maxlen, cf_secret_t **out);

#endif
