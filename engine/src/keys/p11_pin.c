/*
 * p11_pin.c - asking for a token PIN at the terminal, without echo.
 *
 * The PIN is read from /dev/tty, never from standard input: a batch run
 * may have its standard input redirected, and a PIN typed there would be
 * read by whatever else reads it. Without a controlling terminal nothing is
 * asked and the caller says to use a PIN file. Echo is switched off for the
 * read and restored whatever happens: the signals a terminal sends (Ctrl-C,
 * Ctrl-\, Ctrl-Z, a hang-up) are held back while echo is off and arrive once
 * it is on again, so no signal can leave the terminal silent. A library
 * installs no handlers of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "keys/p11.h"

#define PIN_MAX 256

static void write_all(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        len -= (size_t)w;
    }
}

cf_err_t cf_p11_prompt_pin(const char *prompt, cf_secret_t **out)
{
    *out = NULL;
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return CF_ERR_PERMISSION;
    sigset_t hold, prev;
    sigemptyset(&hold);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGQUIT);
    sigaddset(&hold, SIGTSTP);
    sigaddset(&hold, SIGHUP);
    sigaddset(&hold, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &hold, &prev);
    struct termios old, quiet;
    int restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHOE | ECHOK | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    write_all(fd, prompt);
    char buf[PIN_MAX + 1];
    size_t n = 0;
    cf_err_t err = CF_OK;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (n < PIN_MAX)
            buf[n++] = c;
        else
            err = CF_ERR_INVALID;
    }
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    write_all(fd, "\n");
    close(fd);
    pthread_sigmask(SIG_SETMASK, &prev, NULL); /* a held signal arrives now */
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (err == CF_OK && n == 0)
        err = CF_ERR_INVALID;
    if (err == CF_OK) {
        *out = cf_secret_new(buf, n);
        if (*out == NULL)
            err = CF_ERR_NOMEM;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return err;
}
