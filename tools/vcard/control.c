/*
 * control.c - the control socket: take the card out and put it back.
 *
 * A unix stream socket (--control PATH, mode 0600) taking one command per
 * line: "remove", "insert", "status". Each line gets one reply line,
 * "ok ..." or "error ...", sent after the action is done, so a script that
 * has read the reply knows the card is out (its connection closed) or in
 * (connected, when the reader was there). The same binary is the client
 * (--control PATH --send CMD), so the harness needs no socat or python.
 *
 * At most CONTROL_MAX_CLIENTS connections at once, lines of at most
 * CONTROL_LINE_MAX bytes; a client that breaks either rule is told so and
 * disconnected. Requests are never echoed back or logged verbatim.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vcard.h"

static int make_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -1;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

int control_open(struct control *c, const char *path)
{
    c->lfd = -1;
    c->path = NULL;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        c->c[i].fd = -1;
    if (path == NULL)
        return 0;
    struct sockaddr_un sa;
    if (make_addr(path, &sa) < 0) {
        vcard_err("--control %s: path too long for a unix socket", path);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            vcard_err("--control %s: exists and is not a socket", path);
            return -1;
        }
        /* A socket file: refuse if a daemon answers on it, else it is stale. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            vcard_err("--control %s: another cardforge-vcard is using it", path);
            return -1;
        }
        if (probe >= 0)
            close(probe);
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        vcard_err("control socket: %s", strerror(errno));
        return -1;
    }
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || listen(fd, 4) != 0) {
        vcard_err("--control %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    c->lfd = fd;
    c->path = path;
    return 0;
}

static void drop_client(struct control_client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
    cl->len = 0;
}

void control_close(struct control *c)
{
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        drop_client(&c->c[i]);
    if (c->lfd >= 0) {
        close(c->lfd);
        unlink(c->path);
    }
    c->lfd = -1;
}

size_t control_pollfds(const struct control *c, struct pollfd *pfd, size_t room)
{
    size_t n = 0;
    if (c->lfd < 0 || room < 1 + CONTROL_MAX_CLIENTS)
        return 0;
    pfd[n++] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        pfd[n++] = (struct pollfd){.fd = c->c[i].fd, .events = POLLIN};
    return n;
}

static void reply(struct control_client *cl, const char *text)
{
    char line[CONTROL_LINE_MAX + 64];
    int n = snprintf(line, sizeof(line), "%s\n", text);
    if (n > 0 && send(cl->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        drop_client(cl);
}

static void serve_client(struct control_client *cl, struct vcard *v)
{
    ssize_t r = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        drop_client(cl);
        return;
    }
    cl->len += (size_t)r;
    for (;;) {
        char *nl = memchr(cl->buf, '\n', cl->len);
        if (nl == NULL)
            break;
        *nl = 0;
        if (nl > cl->buf && nl[-1] == '\r')
            nl[-1] = 0;
        char out[CONTROL_LINE_MAX + 32];
        vcard_command(v, cl->buf, out, sizeof(out));
        size_t used = (size_t)(nl - cl->buf) + 1;
        memmove(cl->buf, nl + 1, cl->len - used);
        cl->len -= used;
        reply(cl, out);
        if (cl->fd < 0)
            return;
    }
    if (cl->len == sizeof(cl->buf)) {
        reply(cl, "error line too long");
        drop_client(cl);
    }
}

void control_serve(struct control *c, const struct pollfd *pfd, size_t n, struct vcard *v)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS && i + 1 < n; i++)
        if (c->c[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
            serve_client(&c->c[i], v);
    if (pfd[0].revents & POLLIN) {
        int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
            if (c->c[i].fd < 0) {
                c->c[i].fd = fd;
                c->c[i].len = 0;
                return;
            }
        }
        static const char busy[] = "error too many control connections\n";
        (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
    }
}

int control_send(const char *path, const char *cmd)
{
    struct sockaddr_un sa;
    if (make_addr(path, &sa) < 0) {
        fprintf(stderr, "cardforge-vcard: --control %s: path too long\n", path);
        return VCARD_EXIT_USAGE;
    }
    if (strlen(cmd) >= CONTROL_LINE_MAX - 1 || strchr(cmd, '\n') != NULL) {
        fprintf(stderr, "cardforge-vcard: --send: one short command line expected\n");
        return VCARD_EXIT_USAGE;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "cardforge-vcard: %s: cannot connect: %s (is the card daemon running?)\n",
                path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return VCARD_EXIT_FAIL;
    }
    /* A reply never takes long: every action is local. Do not hang a
     * script on a stuck daemon. */
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char line[CONTROL_LINE_MAX + 1];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    if (n < 0 || send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        fprintf(stderr, "cardforge-vcard: %s: send failed\n", path);
        close(fd);
        return VCARD_EXIT_FAIL;
    }
    char buf[CONTROL_LINE_MAX + 64];
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (memchr(buf, '\n', len) != NULL)
            break;
    }
    close(fd);
    buf[len] = 0;
    char *nl = strchr(buf, '\n');
    if (nl == NULL) {
        fprintf(stderr, "cardforge-vcard: %s: no reply\n", path);
        return VCARD_EXIT_FAIL;
    }
    *nl = 0;
    printf("%s\n", buf);
    return strncmp(buf, "ok", 2) == 0 ? VCARD_EXIT_OK : VCARD_EXIT_FAIL;
}
