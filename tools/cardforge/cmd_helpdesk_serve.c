/*
 * cmd_helpdesk_serve.c - `cardforge helpdesk serve`: the helpdesk as a web
 * page over HTTPS (helpdesk_web*.c), with operator login and an audit log.
 *
 * Startup refuses anything doubtful before a port is opened: the
 * operators file, the master-key file, the TLS key and the audit key are
 * checked like key files (owned by the user, mode 0600 or 0400); the audit
 * log is opened and locked (one server per log). The server then runs
 * until SIGTERM or SIGINT; meanwhile it seals the audit log with a signed
 * checkpoint every minute when something was logged, and at exit with the
 * final one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "commands.h"
#include "helpdesk_web.h"
#include "journal_key.h"

#define PEM_MAX 65536
#define MAX_JOURNALS 16

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: cardforge helpdesk serve --listen ADDR:PORT --tls-cert FILE --tls-key FILE\n"
            "         --operators FILE --audit FILE --audit-key FILE --keyfile FILE\n"
            "         [--journal FILE ...] [--session-idle SECONDS] [--lockout SECONDS]\n\n"
            "Serve the helpdesk's unblock page over HTTPS (TLS 1.2 or 1.3 only) to the\n"
            "operators of the operators file; every login, failed login, lockout and\n"
            "response is written to the audit log, sealed by signed checkpoints.\n\n"
            "  --listen ADDR:PORT   address to listen on: 127.0.0.1:8443, [::1]:8443,\n"
            "                       0.0.0.0:443\n"
            "  --tls-cert FILE      the server's certificate chain (PEM)\n"
            "  --tls-key FILE       its private key (PEM; owned by you, mode 0600 or 0400)\n"
            "  --operators FILE     operators (`cardforge helpdesk operator add`)\n"
            "  --audit FILE         the audit log (created 0600, or continued)\n"
            "  --audit-key FILE     the Ed25519 key signing it (`cardforge audit keygen`)\n"
            "  --keyfile FILE       the master-key file the responses are derived from\n"
            "  --journal FILE       a run's journal (repeatable, up to %u): the card's\n"
            "                       record names the master-key version of its admin key,\n"
            "                       which the page then uses and names; a card without a\n"
            "                       record gets the newest version, and the page says so\n"
            "  --session-idle S     a session unused for S seconds ends (default 900)\n"
            "  --lockout S          a name locked after %u failed logins stays locked S\n"
            "                       seconds (default 900)\n"
            "  -h, --help           this help\n\n"
            "Runs until SIGTERM or SIGINT, then closes the audit log with a final signed\n"
            "checkpoint. Exit status: 0 stopped by a signal; 1 the server failed; 2 usage\n"
            "error or a file refused. See docs/helpdesk-guide.md.\n",
            MAX_JOURNALS, WEB_LOCKOUT_FAILURES);
}

/* A PEM file read whole; private: checked like a key file. NULL after a
 * message on stderr. */
static char *read_pem(const char *path, int private)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    const char *why = NULL;
    if (fd < 0)
        why = errno == ELOOP ? "refused: a symbolic link" : strerror(errno);
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        why = "refused: not a regular file";
    else if (st.st_size <= 0 || st.st_size >= PEM_MAX)
        why = "empty or too large for a PEM file";
    else if (private && st.st_uid != geteuid())
        why = "refused: not owned by the user running cardforge";
    else if (private && (st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400)
        why = "refused: its mode lets others in; a private key must be 0600 or 0400";
    char *buf = why == NULL ? calloc(1, (size_t)st.st_size + 1) : NULL;
    size_t got = 0;
    while (buf != NULL && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            why = "cannot read it";
            break;
        }
        got += (size_t)n;
    }
    if (fd >= 0)
        close(fd);
    if (why != NULL) {
        if (buf != NULL) {
            OPENSSL_cleanse(buf, (size_t)st.st_size);
            free(buf);
        }
        fprintf(stderr, "cardforge: %s: %s\n", path, why);
        return NULL;
    }
    return buf;
}

static void free_pem(char *p)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

/* "A.B.C.D:PORT" or "[V6]:PORT" into ss. */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon[1] == 0 || strlen(colon + 1) > 5)
        return -1;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != 0 || port == 0 || port > 65535)
        return -1;
    char host[64];
    size_t hl = (size_t)(colon - s);
    if (hl == 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, s, hl);
    host[hl] = 0;
    if (host[0] == '[') {
        if (hl < 3 || host[hl - 1] != ']')
            return -1;
        host[hl - 1] = 0;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
}

static int parse_seconds(const char *s, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != 0 || v == 0 || v > 86400)
        return -1;
    *out = (unsigned)v;
    return 0;
}

struct serve_args {
    const char *listen, *cert, *key, *operators, *audit, *audit_key, *keyfile;
    const char *journals[MAX_JOURNALS];
    size_t n_journals;
    unsigned idle, lockout;
};

static int serve_options(int argc, char **argv, struct serve_args *a)
{
    enum {
        O_LISTEN = 256,
        O_CERT,
        O_KEY,
        O_OPS,
        O_AUDIT,
        O_AUDIT_KEY,
        O_KEYFILE,
        O_IDLE,
        O_LOCK,
        O_JOURNAL
    };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"operators", required_argument, NULL, O_OPS},
        {"audit", required_argument, NULL, O_AUDIT},
        {"audit-key", required_argument, NULL, O_AUDIT_KEY},
        {"keyfile", required_argument, NULL, O_KEYFILE},
        {"session-idle", required_argument, NULL, O_IDLE},
        {"lockout", required_argument, NULL, O_LOCK},
        {"journal", required_argument, NULL, O_JOURNAL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    a->idle = a->lockout = 900;
    const char *problem = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            a->listen = optarg;
            break;
        case O_CERT:
            a->cert = optarg;
            break;
        case O_KEY:
            a->key = optarg;
            break;
        case O_OPS:
            a->operators = optarg;
            break;
        case O_AUDIT:
            a->audit = optarg;
            break;
        case O_AUDIT_KEY:
            a->audit_key = optarg;
            break;
        case O_KEYFILE:
            a->keyfile = optarg;
            break;
        case O_IDLE:
            if (parse_seconds(optarg, &a->idle) != 0)
                problem = "--session-idle takes 1 to 86400 seconds";
            break;
        case O_LOCK:
            if (parse_seconds(optarg, &a->lockout) != 0)
                problem = "--lockout takes 1 to 86400 seconds";
            break;
        case O_JOURNAL:
            if (a->n_journals == MAX_JOURNALS)
                problem = "too many --journal files";
            else
                a->journals[a->n_journals++] = optarg;
            break;
        case 'h':
            serve_usage(stdout);
            return -1;
        default:
            serve_usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if (problem == NULL && optind != argc)
        problem = "unexpected argument";
    else if (problem == NULL &&
             (a->listen == NULL || a->cert == NULL || a->key == NULL || a->operators == NULL ||
              a->audit == NULL || a->audit_key == NULL || a->keyfile == NULL))
        problem = "--listen, --tls-cert, --tls-key, --operators, --audit, --audit-key and "
                  "--keyfile are all required";
    if (problem != NULL) {
        fprintf(stderr, "cardforge helpdesk serve: %s\n", problem);
        serve_usage(stderr);
        return CF_EXIT_USAGE;
    }
    return CF_EXIT_OK;
}

/* Run until SIGTERM or SIGINT, sealing the log every minute. */
static void wait_for_stop(web_ctx_t *w)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        struct timespec minute = {60, 0};
        int sig = sigtimedwait(&set, NULL, &minute);
        if (sig == SIGTERM || sig == SIGINT)
            return;
        if (sig < 0 && errno == EAGAIN && cf_audit_checkpoint(w->audit) != CF_OK)
            fprintf(stderr, "helpdesk: cannot write a checkpoint to the audit log\n");
    }
}

int cmd_helpdesk_serve(int argc, char **argv)
{
    struct serve_args a;
    int st = serve_options(argc, argv, &a);
    if (st != CF_EXIT_OK)
        return st < 0 ? CF_EXIT_OK : st;
    struct sockaddr_storage ss;
    if (parse_listen(a.listen, &ss) != 0) {
        fprintf(stderr, "cardforge: --listen takes ADDR:PORT (127.0.0.1:8443, [::1]:8443)\n");
        return CF_EXIT_USAGE;
    }
    /* Signals are taken by sigtimedwait only: blocked before any thread
     * (MHD's) starts, so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    static web_ctx_t w; /* big (session and lock tables); one per process */
    ops_t ops = {0};
    cf_keyfile_t *kf = NULL;
    char *cert = NULL, *key = NULL;
    char err[CF_AUDIT_ERRLEN > OPS_ERRLEN ? CF_AUDIT_ERRLEN : OPS_ERRLEN];
    st = CF_EXIT_USAGE;
    if (ops_load(a.operators, 0, &ops, err, sizeof(err)) != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err);
        goto out;
    }
    if (ops.n == 0) {
        fprintf(stderr,
                "cardforge: %s: no operators; add one with 'cardforge helpdesk "
                "operator add'\n",
                a.operators);
        goto out;
    }
    if (cf_keyfile_load(a.keyfile, &kf, err, sizeof(err)) != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err);
        goto out;
    }
    /* The journals are read now, whole: one that cannot be read or parsed
     * would refuse every response later. */
    journal_key_t none;
    if (a.n_journals > 0 &&
        journal_key_find(a.journals, a.n_journals, "-", &none, err, sizeof(err)) != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err);
        goto out;
    }
    if ((cert = read_pem(a.cert, 0)) == NULL || (key = read_pem(a.key, 1)) == NULL)
        goto out;
    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    w.ops = &ops;
    w.keys = kf;
    w.journals = a.journals;
    w.n_journals = a.n_journals;
    w.idle_seconds = a.idle;
    w.max_seconds = 8 * 3600;
    w.lockout_seconds = a.lockout;
    if (cf_audit_open(a.audit, a.audit_key, 0, &w.audit, err, sizeof(err)) != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err);
        goto out;
    }
    struct MHD_Daemon *d = web_start(&w, &ss, sizeof(ss), cert, key);
    free_pem(key); /* GnuTLS holds its own copy now */
    key = NULL;
    if (d == NULL) {
        st = CF_EXIT_FAIL;
    } else {
        cf_audit_event_t ev = {.event = "start", .client = a.listen, .outcome = "ok"};
        if (cf_audit_write(w.audit, &ev) != CF_OK) {
            fprintf(stderr, "cardforge: cannot write to the audit log\n");
            st = CF_EXIT_FAIL;
        } else {
            fprintf(stderr, "helpdesk: serving https on %s\n", a.listen);
            wait_for_stop(&w);
            st = CF_EXIT_OK;
        }
        MHD_stop_daemon(d);
        cf_audit_event_t stop = {.event = "stop", .outcome = "ok"};
        cf_audit_write(w.audit, &stop);
    }
    if (cf_audit_close(w.audit) != CF_OK) {
        fprintf(stderr, "cardforge: %s: the final checkpoint could not be written\n", a.audit);
        st = CF_EXIT_FAIL;
    }
    OPENSSL_cleanse(w.sessions, sizeof(w.sessions));
    pthread_mutex_destroy(&w.mu);
out:
    free_pem(cert);
    free_pem(key);
    cf_keyfile_free(kf);
    ops_free(&ops);
    return st;
}
