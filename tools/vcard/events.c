/*
 * events.c - cardforge-vcard's event loop.
 *
 * One poll() over: a signalfd (SIGTERM/SIGINT/SIGHUP stop, SIGUSR1
 * removes the card, SIGUSR2 inserts it), the control socket and its
 * clients, and the connection to the vpcd driver. Signals arrive as file
 * events rather than handlers, so a removal requested by signal is done
 * between two messages, never in the middle of answering one.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vcard.h"

struct timespec vcard_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

int64_t vcard_ms_until(struct timespec t)
{
    struct timespec now = vcard_now();
    int64_t ns = (int64_t)(t.tv_sec - now.tv_sec) * 1000000000 + (t.tv_nsec - now.tv_nsec);
    /* Round up, so a wait never ends a little before its deadline. */
    return ns <= 0 ? ns / 1000000 : (ns + 999999) / 1000000;
}

int64_t vcard_us_until(struct timespec t)
{
    struct timespec now = vcard_now();
    return ((int64_t)(t.tv_sec - now.tv_sec) * 1000000000 + (t.tv_nsec - now.tv_nsec)) / 1000;
}

struct timespec vcard_after_us(struct timespec t, uint64_t us)
{
    t.tv_sec += (time_t)(us / 1000000);
    t.tv_nsec += (long)(us % 1000000) * 1000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

static uint32_t current_serial(const struct vcard *v)
{
    return v->sup.card != NULL ? cf_simcard_serial(v->sup.card) : 0;
}

void vcard_remove(struct vcard *v, const char *reason)
{
    if (!v->present)
        return;
    link_drop(v, reason);
    v->present = 0;
    vcard_log(1, "card serial %lu removed (%s)", (unsigned long)current_serial(v), reason);
    supply_remove(&v->sup, reason);
}

void vcard_insert(struct vcard *v)
{
    if (v->present)
        return;
    if (supply_insert(&v->sup) < 0)
        return;
    v->present = 1;
    v->backoff_ms = 50;
    v->next_try = vcard_now();
    vcard_log(1, "card serial %lu inserted", (unsigned long)current_serial(v));
    link_try_connect(v);
}

void vcard_command(struct vcard *v, const char *line, char *reply, size_t cap)
{
    if (strcmp(line, "remove") == 0) {
        int was = v->present;
        uint32_t serial = current_serial(v);
        vcard_remove(v, "command");
        snprintf(reply, cap, "ok %s serial=%lu", was ? "removed" : "already-removed",
                 (unsigned long)serial);
    } else if (strcmp(line, "insert") == 0) {
        int was = v->present;
        vcard_insert(v);
        if (!v->present)
            snprintf(reply, cap, "error cannot insert a card (see the daemon's log)");
        else
            snprintf(reply, cap, "ok %s serial=%lu connected=%s",
                     was ? "already-inserted" : "inserted", (unsigned long)current_serial(v),
                     v->sock >= 0 ? "yes" : "no");
    } else if (strcmp(line, "status") == 0) {
        snprintf(reply, cap, "ok %s serial=%lu connected=%s apdus=%llu",
                 v->present ? "present" : "removed", (unsigned long)current_serial(v),
                 v->sock >= 0 ? "yes" : "no", (unsigned long long)v->apdus);
    } else {
        snprintf(reply, cap, "error unknown command (expected remove, insert or status)");
    }
}

static void handle_signals(struct vcard *v)
{
    struct signalfd_siginfo si;
    while (read(v->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGUSR1:
            vcard_remove(v, "signal");
            break;
        case SIGUSR2:
            vcard_insert(v);
            break;
        default:
            vcard_log(1, "signal %u: stopping", si.ssi_signo);
            v->stop = 1;
            break;
        }
    }
}

void vcard_poll_once(struct vcard *v, int timeout_ms, int with_card)
{
    struct pollfd pfd[2 + 1 + CONTROL_MAX_CLIENTS];
    size_t n = 0;
    pfd[n++] = (struct pollfd){.fd = v->sigfd, .events = POLLIN};
    size_t card_at = n;
    pfd[n++] = (struct pollfd){.fd = with_card ? v->sock : -1, .events = POLLIN};
    size_t ctl_at = n;
    size_t nctl = control_pollfds(&v->ctl, pfd + n, sizeof(pfd) / sizeof(pfd[0]) - n);
    n += nctl;
    int r = poll(pfd, n, timeout_ms);
    if (r < 0) {
        if (errno != EINTR)
            vcard_err("poll: %s", strerror(errno));
        return;
    }
    if (pfd[0].revents & POLLIN)
        handle_signals(v);
    if (v->stop)
        return;
    control_serve(&v->ctl, pfd + ctl_at, nctl, v);
    if (with_card && v->sock >= 0 && pfd[card_at].fd == v->sock &&
        (pfd[card_at].revents & (POLLIN | POLLHUP | POLLERR)))
        link_readable(v);
}

int vcard_run(struct vcard *v)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        vcard_err("sigprocmask: %s", strerror(errno));
        return VCARD_EXIT_FAIL;
    }
    v->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (v->sigfd < 0) {
        vcard_err("signalfd: %s", strerror(errno));
        return VCARD_EXIT_FAIL;
    }
    signal(SIGPIPE, SIG_IGN);

    link_init(v);
    v->present = 1;
    link_try_connect(v);
    while (!v->stop) {
        vcard_poll_once(v, link_timeout_ms(v), 1);
        if (!v->stop)
            link_try_connect(v);
    }
    link_drop(v, "stopping");
    close(v->sigfd);
    return VCARD_EXIT_OK;
}
