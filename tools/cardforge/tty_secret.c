/*
 * tty_secret.c - secrets typed at the terminal (see tty_secret.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tty_secret.h"

static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

void tty_restore(void)
{
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        termios_saved = 0;
    }
}

/* A signal while echo is off must not leave the terminal silent. */
static void on_signal(int sig)
{
    if (termios_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    signal(sig, SIG_DFL);
    raise(sig);
}

void tty_echo_off(void)
{
    if (tcgetattr(STDIN_FILENO, &saved_termios) != 0)
        return;
    struct termios quiet = saved_termios;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGQUIT, on_signal);
    termios_saved = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
        termios_saved = 0;
}

/* One line from standard input, read byte by byte with read(2) so that no
 * stdio buffer keeps a copy of the key. Returns the length, or -1 when the
 * line is longer than cap - 1 (the rest of the line is consumed and
 * dropped). */
long tty_read_line(char *buf, size_t cap)
{
    size_t n = 0;
    int too_long = 0;
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = c;
        else
            too_long = 1;
        c = 0;
    }
    buf[n] = 0;
    return too_long ? -1 : (long)n;
}

cf_err_t tty_ask_secret(const char *prompt, size_t maxlen, cf_secret_t **out)
{
    *out = NULL;
    if (!isatty(STDIN_FILENO))
        return CF_ERR_UNSUPPORTED;
    char line[256];
    if (maxlen >= sizeof(line))
        maxlen = sizeof(line) - 1;
    /* Echo off before the prompt appears: whoever types as soon as they
     * see it must not have the first characters echoed. */
    tty_echo_off();
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    long n = tty_read_line(line, sizeof(line));
    tty_restore();
    cf_err_t e = CF_OK;
    if (n < 0 || (size_t)n > maxlen)
        e = CF_ERR_ARG;
    else if (n == 0)
        e = CF_ERR_ARG;
    else if ((*out = cf_secret_new(line, (size_t)n)) == NULL)
        e = CF_ERR_NOMEM;
    OPENSSL_cleanse(line, sizeof(line));
    return e;
}
