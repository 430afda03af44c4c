/*
 * run_command.c - run a CA's command with a deadline and bounded output.
 *
 * The command is somebody else's program: it may hang, loop writing, leave
 * children behind or die. So it runs as `/bin/sh -c command` in a process
 * group of its own (posix_spawn, safe in the runner's threads), its input
 * goes through a socket (send with MSG_NOSIGNAL: a command that exits
 * without reading cannot kill us with SIGPIPE), and one poll loop with a
 * monotonic deadline moves the bytes. At the deadline, or when the output
 * outgrows its bound, the whole group is killed. When the command exits,
 * whatever it left in its group is killed too, before the zombie is reaped
 * so its process id cannot have been reused. The command inherits no
 * descriptor of ours beyond its three.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "issue/issue_int.h"

extern char **environ;

/* How often the exit is checked for when no pidfd can signal it. */
#define REAP_TICK_MS 20

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* 1 when the child has exited (not reaped: WNOWAIT keeps its pid ours). */
static int has_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == ECHILD;
    return si.si_pid == pid;
}

static void keep_err_text(struct cmd_result *r, size_t *used, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && *used + 1 < sizeof(r->err); i++) {
        uint8_t c = p[i];
        r->err[(*used)++] = (char)((c >= 0x20 && c < 0x7f) ? c : (c == '\n' ? ' ' : '?'));
    }
    r->err[*used] = '\0';
}

/* Read what standard output holds now (non-blocking); CF_ERR_BUFFER past
 * max_out. Closes the pipe at its end. */
static cf_err_t pump_out(struct cmd_result *r, int *fd, size_t max_out)
{
    while (*fd >= 0) {
        ssize_t got = read(*fd, r->out + r->out_len, max_out + 1 - r->out_len);
        if (got > 0) {
            r->out_len += (size_t)got;
            if (r->out_len > max_out)
                return CF_ERR_BUFFER;
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            close_fd(fd);
        } else if (errno == EAGAIN) {
            break;
        }
    }
    return CF_OK;
}

/* The same for standard error, of which only the start is kept. */
static void pump_err(struct cmd_result *r, int *fd, size_t *used)
{
    uint8_t buf[512];
    while (*fd >= 0) {
        ssize_t got = read(*fd, buf, sizeof(buf));
        if (got > 0)
            keep_err_text(r, used, buf, (size_t)got);
        else if (got == 0 || (errno != EAGAIN && errno != EINTR))
            close_fd(fd);
        else if (errno == EAGAIN)
            break;
    }
}

static cf_err_t spawn(const char *command, int in_fd, int out_fd, int err_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return CF_ERR_NOMEM;
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return CF_ERR_NOMEM;
    }
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    int rc = posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    /* Nothing else of ours reaches the command: not the journal, not a
     * reader's connection, whatever a caller opened without O_CLOEXEC. */
    rc = rc ? rc : posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    rc = rc ? rc
            : posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
    rc = rc ? rc : posix_spawnattr_setpgroup(&at, 0);
    rc = rc ? rc : posix_spawnattr_setsigmask(&at, &none);
    rc = rc ? rc : posix_spawnattr_setsigdefault(&at, &dflt);
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)command, NULL};
    rc = rc ? rc : posix_spawn(pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc == 0 ? CF_OK : CF_ERR_IO;
}

cf_err_t cf_issue_run_command(const char *command, unsigned timeout_ms, const uint8_t *in,
                              size_t in_len, size_t max_out, struct cmd_result *r, char *errbuf,
                              size_t errlen)
{
    memset(r, 0, sizeof(*r));
    int sin[2] = {-1, -1}, sout[2] = {-1, -1}, serr[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sin) != 0 ||
        pipe2(sout, O_CLOEXEC) != 0 || pipe2(serr, O_CLOEXEC) != 0) {
        cf_keys_errf(errbuf, errlen, "CA command: cannot make its pipes: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            close_fd(&sin[i]);
            close_fd(&sout[i]);
            close_fd(&serr[i]);
        }
        return CF_ERR_IO;
    }
    r->out = malloc(max_out + 1);
    pid_t pid = -1;
    cf_err_t err = r->out == NULL ? CF_ERR_NOMEM : spawn(command, sin[1], sout[1], serr[1], &pid);
    close_fd(&sin[1]);
    close_fd(&sout[1]);
    close_fd(&serr[1]);
    if (err != CF_OK) {
        if (err == CF_ERR_IO)
            cf_keys_errf(errbuf, errlen, "CA command: cannot start /bin/sh");
        close_fd(&sin[0]);
        close_fd(&sout[0]);
        close_fd(&serr[0]);
        free(r->out);
        r->out = NULL;
        return err;
    }
    fcntl(sin[0], F_SETFL, O_NONBLOCK);
    fcntl(sout[0], F_SETFL, O_NONBLOCK);
    fcntl(serr[0], F_SETFL, O_NONBLOCK);
    /* The exit is seen through a pidfd in the same poll; without one (an
     * old kernel) the loop checks for it every tick. */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    size_t sent = 0, err_used = 0;
    if (in_len == 0)
        close_fd(&sin[0]);
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (has_exited(pid)) {
            /* What it wrote before exiting is in the pipes: take it, but
             * do not wait for a child it left holding them. */
            err = pump_out(r, sout, max_out);
            pump_err(r, serr, &err_used);
            break;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            err = CF_ERR_TIMEOUT;
            break;
        }
        long long cap = pidfd >= 0 ? 60000 : REAP_TICK_MS;
        struct pollfd pf[4] = {
            {sin[0], POLLOUT, 0}, {sout[0], POLLIN, 0}, {serr[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
        int n = poll(pf, 4, (int)(left < cap ? left : cap));
        if (n < 0 && errno != EINTR) {
            err = CF_ERR_IO;
            break;
        }
        if (n <= 0)
            continue;
        if (sin[0] >= 0 && pf[0].revents) {
            ssize_t w = send(sin[0], in + sent, in_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            /* EPIPE: the command does not read its input; its answer says
             * the rest. */
            if (sent == in_len || (w < 0 && errno != EAGAIN && errno != EINTR))
                close_fd(&sin[0]);
        }
        if (pf[1].revents && (err = pump_out(r, sout, max_out)) != CF_OK)
            break;
        if (pf[2].revents)
            pump_err(r, serr, &err_used);
    }
    if (pidfd >= 0)
        close(pidfd);
    /* Whatever happened, nothing of the command's group outlives the call. */
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close_fd(&sin[0]);
    close_fd(&sout[0]);
    close_fd(&serr[0]);
    if (err == CF_OK) {
        r->exited = WIFEXITED(status);
        r->status = r->exited ? WEXITSTATUS(status) : 0;
        r->sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        return CF_OK;
    }
    free(r->out);
    r->out = NULL;
    r->out_len = 0;
    if (err == CF_ERR_TIMEOUT)
        cf_keys_errf(errbuf, errlen,
                     "CA command did not finish within %u ms: stopped (its process group was "
                     "killed)%s%s",
                     timeout_ms, r->err[0] ? "; it said: " : "", r->err);
    else if (err == CF_ERR_BUFFER)
        cf_keys_errf(errbuf, errlen, "CA command wrote more than %zu bytes: stopped", max_out);
    else
        cf_keys_errf(errbuf, errlen, "CA command: waiting for it failed: %s", strerror(errno));
    return err;
}
