/*
 * test_transport_pcsc.c - PC/SC: the return-code table, and the real
 * pcsc-lite client against a real pcscd.
 *
 * The table test always runs. The rest needs a pcscd this test owns: as
 * root, the program moves itself into private mount and network namespaces
 * (unshare), puts a tmpfs on /run/pcscd so no host pcscd is visible or
 * touched, and starts its own pcscd there: first none (the service is not
 * running), then one with no readers, then one with a vpcd reader entry
 * and a small vpcd card on a thread of this process. Without root the
 * client is pointed at a socket that does not exist (PCSCLITE_CSOCK_NAME),
 * which still tests the "not running" case; the rest is skipped.
 *
 * The vpcd card here is a test double, not cardforge-vcard: it forwards
 * APDUs to a cf_simcard_t, except INS CA, which it answers with 300 bytes
 * in two pieces (61xx then GET RESPONSE) to exercise response chaining
 * through pcscd.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <winscard.h>

#include <cardforge/simcard.h>
#include <cardforge/transport.h>

#include "transport/pcsc_err.h"

#define PCSCD "/usr/sbin/pcscd"
#define VPCD_DRIVER "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
#define SOCKET_PATH "/run/pcscd/pcscd.comm"
#define VPCD_PORT 35963
#define READER_CARD "CF Test 00 00"
#define READER_EMPTY "CF Test 00 01"

static int in_namespace;
static char tmpdir[64];
static pid_t pcscd_pid = -1;

/* ---- the table ---- */

struct expect {
    long code;
    const char *name;
    cf_err_t err;
};

#define X(code, err)                                                                               \
    {                                                                                              \
        (long)(code), #code, err                                                                   \
    }

/* What every code must map to, restated independently of the table. */
static const struct expect expected[] = {
    X(SCARD_S_SUCCESS, CF_OK),
    X(SCARD_E_NO_SERVICE, CF_ERR_NO_SERVICE),
    X(SCARD_E_SERVICE_STOPPED, CF_ERR_NO_SERVICE),
    X(SCARD_P_SHUTDOWN, CF_ERR_NO_SERVICE),
    X(SCARD_F_COMM_ERROR, CF_ERR_NO_SERVICE),
    X(SCARD_E_NO_READERS_AVAILABLE, CF_ERR_NO_READER),
    X(SCARD_E_UNKNOWN_READER, CF_ERR_NO_READER),
    X(SCARD_E_READER_UNAVAILABLE, CF_ERR_READER_GONE),
    X(SCARD_E_READER_UNSUPPORTED, CF_ERR_TRANSPORT),
    X(SCARD_E_DUPLICATE_READER, CF_ERR_TRANSPORT),
    X(SCARD_E_NO_SMARTCARD, CF_ERR_NO_CARD),
    X(SCARD_W_REMOVED_CARD, CF_ERR_CARD_REMOVED),
    X(SCARD_W_RESET_CARD, CF_ERR_CARD_RESET),
    X(SCARD_W_UNPOWERED_CARD, CF_ERR_CARD_RESET),
    X(SCARD_W_UNRESPONSIVE_CARD, CF_ERR_TRANSPORT),
    X(SCARD_W_UNSUPPORTED_CARD, CF_ERR_TRANSPORT),
    X(SCARD_E_CARD_UNSUPPORTED, CF_ERR_TRANSPORT),
    X(SCARD_E_UNKNOWN_CARD, CF_ERR_TRANSPORT),
    X(SCARD_E_INVALID_ATR, CF_ERR_TRANSPORT),
    X(SCARD_E_SHARING_VIOLATION, CF_ERR_SHARING),
    X(SCARD_E_TIMEOUT, CF_ERR_TIMEOUT),
    X(SCARD_F_WAITED_TOO_LONG, CF_ERR_TIMEOUT),
    X(SCARD_E_CANCELLED, CF_ERR_INTERRUPTED),
    X(SCARD_E_SYSTEM_CANCELLED, CF_ERR_INTERRUPTED),
    X(SCARD_E_SERVER_TOO_BUSY, CF_ERR_TRANSPORT),
    X(SCARD_E_PROTO_MISMATCH, CF_ERR_TRANSPORT),
    X(SCARD_E_NOT_TRANSACTED, CF_ERR_TRANSPORT),
    X(SCARD_E_COMM_DATA_LOST, CF_ERR_TRANSPORT),
    X(SCARD_E_NOT_READY, CF_ERR_TRANSPORT),
    X(SCARD_E_CANT_DISPOSE, CF_ERR_TRANSPORT),
    X(SCARD_E_INSUFFICIENT_BUFFER, CF_ERR_BUFFER),
    X(SCARD_E_PCI_TOO_SMALL, CF_ERR_BUFFER),
    X(SCARD_E_INVALID_HANDLE, CF_ERR_TRANSPORT),
    X(SCARD_E_INVALID_PARAMETER, CF_ERR_ARG),
    X(SCARD_E_INVALID_VALUE, CF_ERR_ARG),
    X(SCARD_E_INVALID_TARGET, CF_ERR_TRANSPORT),
    X(SCARD_E_NO_MEMORY, CF_ERR_NOMEM),
    X(SCARD_E_UNSUPPORTED_FEATURE, CF_ERR_UNSUPPORTED),
    X(SCARD_W_SECURITY_VIOLATION, CF_ERR_PERMISSION),
    X(SCARD_E_NO_ACCESS, CF_ERR_PERMISSION),
    X(SCARD_F_INTERNAL_ERROR, CF_ERR_TRANSPORT),
    X(SCARD_F_UNKNOWN_ERROR, CF_ERR_TRANSPORT),
    X(SCARD_E_UNKNOWN_RES_MNG, CF_ERR_TRANSPORT),
    X(SCARD_E_ICC_INSTALLATION, CF_ERR_TRANSPORT),
    X(SCARD_E_ICC_CREATEORDER, CF_ERR_TRANSPORT),
    X(SCARD_E_DIR_NOT_FOUND, CF_ERR_TRANSPORT),
    X(SCARD_E_FILE_NOT_FOUND, CF_ERR_TRANSPORT),
    X(SCARD_E_NO_DIR, CF_ERR_TRANSPORT),
    X(SCARD_E_NO_FILE, CF_ERR_TRANSPORT),
    X(SCARD_E_WRITE_TOO_MANY, CF_ERR_TRANSPORT),
    X(SCARD_E_BAD_SEEK, CF_ERR_TRANSPORT),
    X(SCARD_E_INVALID_CHV, CF_ERR_TRANSPORT),
    X(SCARD_E_NO_SUCH_CERTIFICATE, CF_ERR_TRANSPORT),
    X(SCARD_E_CERTIFICATE_UNAVAILABLE, CF_ERR_TRANSPORT),
    X(SCARD_E_NO_KEY_CONTAINER, CF_ERR_TRANSPORT),
    X(SCARD_W_WRONG_CHV, CF_ERR_TRANSPORT),
    X(SCARD_W_CHV_BLOCKED, CF_ERR_TRANSPORT),
    X(SCARD_W_EOF, CF_ERR_TRANSPORT),
    X(SCARD_W_CANCELLED_BY_USER, CF_ERR_INTERRUPTED),
    X(SCARD_W_CARD_NOT_AUTHENTICATED, CF_ERR_TRANSPORT),
};

static void test_every_scard_code_maps_as_documented(void **state)
{
    (void)state;
    size_t n;
    const struct cf_pcsc_code *table = cf_pcsc_codes(&n);
    assert_int_equal(n, sizeof(expected) / sizeof(expected[0]));
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const struct expect *e = &expected[i];
        const struct cf_pcsc_code *c = cf_pcsc_lookup(e->code);
        if (c == NULL)
            fail_msg("%s is not in the table", e->name);
        assert_string_equal(c->name, e->name);
        if (cf_pcsc_map(e->code) != e->err)
            fail_msg("%s maps to %s, expected %s", e->name, cf_errname(cf_pcsc_map(e->code)),
                     cf_errname(e->err));
        char desc[200];
        cf_pcsc_describe(e->code, desc, sizeof(desc));
        assert_non_null(strstr(desc, e->name));
        assert_non_null(strstr(desc, c->text));
    }
    /* No code twice, every entry with a name and a sentence. */
    for (size_t i = 0; i < n; i++) {
        assert_true(strncmp(table[i].name, "SCARD_", 6) == 0);
        assert_true(strlen(table[i].text) > 3);
        for (size_t j = i + 1; j < n; j++)
            assert_true(table[i].code != table[j].code);
    }
}

static void test_unknown_scard_code_is_a_transport_error_with_its_number(void **state)
{
    (void)state;
    assert_null(cf_pcsc_lookup(0x80100099L));
    assert_int_equal(cf_pcsc_map(0x80100099L), CF_ERR_TRANSPORT);
    char desc[80];
    cf_pcsc_describe(0x80100099L, desc, sizeof(desc));
    assert_string_equal(desc, "unknown PC/SC error (0x80100099)");
}

/* ---- no service ---- */

static void test_no_service_when_pcscd_is_not_running(void **state)
{
    (void)state;
    char msg[256];
    cf_pcsc_t *ctx = (cf_pcsc_t *)1;
    assert_int_equal(cf_pcsc_new(&ctx, msg, sizeof(msg)), CF_ERR_NO_SERVICE);
    assert_null(ctx);
    assert_non_null(strstr(msg, "SCARD_E_NO_SERVICE"));
    assert_non_null(strstr(msg, "start pcscd"));

    cf_transport_t *t = (cf_transport_t *)1;
    assert_int_equal(cf_transport_open_pcsc("Some Reader 00 00", &t, msg, sizeof(msg)),
                     CF_ERR_NO_SERVICE);
    assert_null(t);
    assert_non_null(strstr(msg, "reader 'Some Reader 00 00'"));
    assert_non_null(strstr(msg, "SCARD_E_NO_SERVICE"));
    /* No errbuf is fine too. */
    assert_int_equal(cf_transport_open_pcsc("Some Reader 00 00", &t, NULL, 0), CF_ERR_NO_SERVICE);
}

/* ---- a private pcscd ---- */

static int bring_up_loopback(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc;
}

/* Private mount + network namespaces with an empty /run/pcscd. Must run
 * before any thread or PC/SC call. */
static int enter_namespace(void)
{
    if (geteuid() != 0 || access(PCSCD, X_OK) != 0)
        return -1;
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0)
        return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    mkdir("/run/pcscd", 0755);
    if (mount("tmpfs", "/run/pcscd", "tmpfs", 0, "mode=0755") != 0)
        return -1;
    return bring_up_loopback();
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Start pcscd in the foreground reading reader entries from confdir; wait
 * (bounded) until its socket exists. */
static int start_pcscd(const char *confdir)
{
    char log[128];
    snprintf(log, sizeof(log), "%s/pcscd.log", tmpdir);
    unlink(SOCKET_PATH);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(PCSCD, "pcscd", "-f", "-c", confdir, (char *)NULL);
        _exit(127);
    }
    pcscd_pid = pid;
    struct stat st;
    for (long t0 = now_ms(); now_ms() - t0 < 5000;) {
        if (stat(SOCKET_PATH, &st) == 0)
            return 0;
        usleep(20000);
    }
    print_error("pcscd did not create %s within 5 s (log: %s)\n", SOCKET_PATH, log);
    return -1;
}

static void stop_pcscd(void)
{
    if (pcscd_pid > 0) {
        kill(pcscd_pid, SIGTERM);
        waitpid(pcscd_pid, NULL, 0);
        pcscd_pid = -1;
    }
}

static int setup_empty_pcscd(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/empty.d", tmpdir);
    mkdir(dir, 0700);
    return start_pcscd(dir);
}

static int teardown_pcscd(void **state)
{
    (void)state;
    stop_pcscd();
    return 0;
}

static void test_no_readers_is_an_empty_list(void **state)
{
    (void)state;
    cf_pcsc_t *ctx = NULL;
    char msg[256];
    assert_int_equal(cf_pcsc_new(&ctx, msg, sizeof(msg)), CF_OK);
    char **names = NULL;
    size_t n = 99;
    assert_int_equal(cf_pcsc_list_readers(ctx, &names, &n), CF_OK);
    assert_int_equal(n, 0);
    assert_non_null(names);
    assert_null(names[0]);
    cf_pcsc_free_names(names);
    cf_pcsc_free(ctx);
}

static void test_open_unknown_reader_names_it(void **state)
{
    (void)state;
    char msg[256];
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_pcsc("Nowhere 00 00", &t, msg, sizeof(msg)),
                     CF_ERR_NO_READER);
    assert_null(t);
    assert_non_null(strstr(msg, "reader 'Nowhere 00 00'"));
    assert_non_null(strstr(msg, "SCARD_E_UNKNOWN_READER"));
}

static void test_wait_change_first_returns_then_times_out(void **state)
{
    (void)state;
    cf_pcsc_t *ctx = NULL;
    assert_int_equal(cf_pcsc_new(&ctx, NULL, 0), CF_OK);
    assert_int_equal(cf_pcsc_wait_change(ctx, 5000), CF_OK); /* the first snapshot */
    assert_int_equal(cf_pcsc_reader_count(ctx), 0);
    cf_reader_info_t info;
    assert_int_equal(cf_pcsc_reader_info(ctx, 0, &info), CF_ERR_ARG);
    long t0 = now_ms();
    assert_int_equal(cf_pcsc_wait_change(ctx, 300), CF_ERR_TIMEOUT);
    long took = now_ms() - t0;
    assert_true(took >= 250 && took < 2000);
    assert_non_null(strstr(cf_pcsc_errmsg(ctx), "300 ms"));
    assert_int_equal(cf_pcsc_wait_change(ctx, 0), CF_ERR_TIMEOUT);
    cf_pcsc_free(ctx);
}

struct canceller {
    cf_pcsc_t *ctx;
    int delay_ms;
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    usleep((useconds_t)c->delay_ms * 1000);
    cf_pcsc_cancel(c->ctx);
    return NULL;
}

static void test_cancel_from_another_thread_interrupts_the_wait(void **state)
{
    (void)state;
    cf_pcsc_t *ctx = NULL;
    assert_int_equal(cf_pcsc_new(&ctx, NULL, 0), CF_OK);
    assert_int_equal(cf_pcsc_wait_change(ctx, 5000), CF_OK);
    struct canceller c = {ctx, 200};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
    long t0 = now_ms();
    assert_int_equal(cf_pcsc_wait_change(ctx, -1), CF_ERR_INTERRUPTED);
    long took = now_ms() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 150 && took < 2500);
    /* Sticky: the next wait does not block. */
    t0 = now_ms();
    assert_int_equal(cf_pcsc_wait_change(ctx, -1), CF_ERR_INTERRUPTED);
    assert_true(now_ms() - t0 < 100);
    cf_pcsc_free(ctx);
}

static void test_cancel_before_the_wait_is_not_lost(void **state)
{
    (void)state;
    cf_pcsc_t *ctx = NULL;
    assert_int_equal(cf_pcsc_new(&ctx, NULL, 0), CF_OK);
    cf_pcsc_cancel(ctx);
    assert_int_equal(cf_pcsc_wait_change(ctx, -1), CF_ERR_INTERRUPTED);
    cf_pcsc_free(ctx);
    cf_pcsc_cancel(NULL);
}

static void test_service_stopping_under_a_context_is_no_service(void **state)
{
    (void)state;
    cf_pcsc_t *ctx = NULL;
    assert_int_equal(cf_pcsc_new(&ctx, NULL, 0), CF_OK);
    assert_int_equal(cf_pcsc_wait_change(ctx, 1000), CF_OK);
    stop_pcscd();
    assert_int_equal(cf_pcsc_wait_change(ctx, 3000), CF_ERR_NO_SERVICE);
    assert_non_null(strstr(cf_pcsc_errmsg(ctx), "start pcscd"));
    char **names;
    size_t n;
    assert_int_equal(cf_pcsc_list_readers(ctx, &names, &n), CF_ERR_NO_SERVICE);
    cf_pcsc_free(ctx);
}

/* ---- a vpcd reader with a card ---- */

struct vcard {
    pthread_t thread;
    cf_simcard_t *card;
    int fd;
    int stop; /* ask the thread to pull the card (close its socket) */
    int ca_round;
};

static struct vcard vcard;

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_msg(int fd, const uint8_t *p, size_t n)
{
    uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    if (write(fd, hdr, 2) != 2 || write(fd, p, n) != (ssize_t)n)
        return -1;
    return 0;
}

/* INS CA: 300 pattern bytes, sent as 256 + 61 2C, then 44 + 90 00. */
static size_t answer_ca(struct vcard *v, const uint8_t *apdu, size_t len, uint8_t *resp)
{
    size_t off = 0, n = 0;
    if (apdu[1] == 0xCA) {
        v->ca_round = 1;
        n = 256;
    } else if (apdu[1] == 0xC0 && v->ca_round == 1 && len == 5 && apdu[4] == 0x2C) {
        v->ca_round = 0;
        off = 256;
        n = 44;
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        resp[i] = (uint8_t)(off + i);
    resp[n] = off == 0 ? 0x61 : 0x90;
    resp[n + 1] = off == 0 ? 0x2C : 0x00;
    return n + 2;
}

static void *vcard_main(void *arg)
{
    struct vcard *v = arg;
    static uint8_t msg[65536 + 2], resp[CF_SIMCARD_MAX_RESPONSE];
    while (!__atomic_load_n(&v->stop, __ATOMIC_SEQ_CST)) {
        uint8_t hdr[2];
        if (read_full(v->fd, hdr, 2) < 0)
            break;
        size_t len = (size_t)hdr[0] << 8 | hdr[1];
        if (read_full(v->fd, msg, len) < 0)
            break;
        if (len == 1) {
            if (msg[0] == 0x00)
                cf_simcard_power_off(v->card);
            else if (msg[0] == 0x01)
                cf_simcard_power_on(v->card);
            else if (msg[0] == 0x02)
                cf_simcard_reset(v->card);
            else if (msg[0] == 0x04) {
                uint8_t atr[CF_ATR_MAX];
                size_t n = cf_simcard_atr(v->card, atr, sizeof(atr));
                if (send_msg(v->fd, atr, n) < 0)
                    break;
            }
            continue;
        }
        size_t rlen = answer_ca(v, msg, len, resp);
        if (rlen == 0 && cf_simcard_transmit(v->card, msg, len, resp, &rlen) != CF_OK) {
            resp[0] = 0x6F;
            resp[1] = 0x00;
            rlen = 2;
        }
        if (send_msg(v->fd, resp, rlen) < 0)
            break;
        int one = 1;
        setsockopt(v->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    return NULL;
}

static int vcard_insert(void)
{
    memset(&vcard, 0, sizeof(vcard));
    if (cf_simcard_new("yubikey", NULL, 42, &vcard.card) != CF_OK)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(VPCD_PORT)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (long t0 = now_ms(); now_ms() - t0 < 5000; usleep(50000)) {
        vcard.fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(vcard.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            int one = 1;
            setsockopt(vcard.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            return pthread_create(&vcard.thread, NULL, vcard_main, &vcard);
        }
        close(vcard.fd);
    }
    print_error("the vpcd driver did not listen on port %d within 5 s\n", VPCD_PORT);
    return -1;
}

/* Pull the card: its socket closes, as when a card leaves the reader. */
static void vcard_pull(void)
{
    if (vcard.card == NULL)
        return;
    __atomic_store_n(&vcard.stop, 1, __ATOMIC_SEQ_CST);
    shutdown(vcard.fd, SHUT_RDWR);
    pthread_join(vcard.thread, NULL);
    close(vcard.fd);
    cf_simcard_free(vcard.card);
    vcard.card = NULL;
}

static int setup_vpcd_pcscd(void **state)
{
    (void)state;
    if (access(VPCD_DRIVER, R_OK) != 0)
        return -1;
    char dir[128], conf[160], text[512];
    snprintf(dir, sizeof(dir), "%s/vpcd.d", tmpdir);
    mkdir(dir, 0700);
    snprintf(conf, sizeof(conf), "%s/vpcd", dir);
    snprintf(text, sizeof(text),
             "FRIENDLYNAME \"CF Test\"\nDEVICENAME /dev/null:%d\nLIBPATH %s\nCHANNELID %d\n",
             VPCD_PORT, VPCD_DRIVER, VPCD_PORT);
    write_file(conf, text);
    if (start_pcscd(dir) != 0)
        return -1;
    return vcard_insert();
}

static int teardown_vpcd_pcscd(void **state)
{
    vcard_pull();
    return teardown_pcscd(state);
}

/* Wait (bounded) until reader `name` reports `want` (CF_READER_*). */
static int wait_for_state(cf_pcsc_t *ctx, const char *name, unsigned want, cf_reader_info_t *out)
{
    for (long t0 = now_ms(); now_ms() - t0 < 5000;) {
        cf_err_t err = cf_pcsc_wait_change(ctx, 500);
        if (err != CF_OK && err != CF_ERR_TIMEOUT)
            return -1;
        for (size_t i = 0; i < cf_pcsc_reader_count(ctx); i++) {
            cf_reader_info_t info;
            cf_pcsc_reader_info(ctx, i, &info);
            if (strcmp(info.name, name) == 0 && (info.state & want)) {
                if (out != NULL)
                    *out = info;
                return 0;
            }
        }
    }
    return -1;
}

static void test_vpcd_readers_are_listed_with_card_state_and_atr(void **state)
{
    (void)state;
    cf_pcsc_t *ctx = NULL;
    assert_int_equal(cf_pcsc_new(&ctx, NULL, 0), CF_OK);
    char **names;
    size_t n;
    assert_int_equal(cf_pcsc_list_readers(ctx, &names, &n), CF_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], READER_CARD);
    assert_string_equal(names[1], READER_EMPTY);
    cf_pcsc_free_names(names);

    cf_reader_info_t info;
    assert_int_equal(wait_for_state(ctx, READER_CARD, CF_READER_PRESENT, &info), 0);
    uint8_t atr[CF_ATR_MAX];
    size_t atr_len = cf_simcard_atr(vcard.card, atr, sizeof(atr));
    assert_int_equal(info.atr_len, atr_len);
    assert_memory_equal(info.atr, atr, atr_len);
    assert_int_equal(wait_for_state(ctx, READER_EMPTY, CF_READER_EMPTY, &info), 0);
    assert_int_equal(info.atr_len, 0);
    cf_pcsc_free(ctx);
}

static void test_open_empty_reader_is_no_card(void **state)
{
    (void)state;
    char msg[256];
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_pcsc(READER_EMPTY, &t, msg, sizeof(msg)), CF_ERR_NO_CARD);
    assert_non_null(strstr(msg, "SCARD_E_NO_SMARTCARD"));
}

static void test_pcsc_transport_exchanges_and_chains_through_pcscd(void **state)
{
    (void)state;
    char msg[256];
    cf_transport_t *t = NULL;
    assert_int_equal(cf_transport_open_pcsc(READER_CARD, &t, msg, sizeof(msg)), CF_OK);
    assert_string_equal(cf_transport_kind(t), "pcsc");
    assert_true(cf_transport_protocol(t) == 0 || cf_transport_protocol(t) == 1);
    size_t n;
    const uint8_t *atr = cf_transport_atr(t, &n);
    assert_true(n > 0);
    assert_int_equal(atr[0], 0x3B);

    cf_rapdu_t r;
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08};
    cf_capdu_t select = {.ins = 0xA4, .p1 = 0x04, .data = aid, .len = sizeof(aid), .le = 256};
    assert_int_equal(cf_transport_transmit(t, &select, &r), CF_OK);
    assert_int_equal(r.sw, 0x9000); /* the PIV application is there */
    assert_true(r.len > 0 && r.data[0] == 0x61); /* its property template */

    cf_capdu_t get = {.ins = 0xCA, .le = 256};
    assert_int_equal(cf_transport_transmit(t, &get, &r), CF_OK);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 300);
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(r.data[i], (uint8_t)i);
    assert_int_equal(cf_transport_apdu_count(t), 3);

    assert_int_equal(cf_transport_begin(t), CF_OK);
    assert_int_equal(cf_transport_end(t), CF_OK);
    assert_int_equal(cf_transport_reset(t), CF_OK);
    assert_int_equal(cf_transport_transmit(t, &select, &r), CF_OK);
    cf_transport_close(t, CF_DISPOSE_RESET);
}

static void test_second_open_of_an_exclusive_card_is_a_sharing_violation(void **state)
{
    (void)state;
    char msg[256];
    cf_transport_t *t = NULL, *t2 = NULL;
    assert_int_equal(cf_transport_open_pcsc(READER_CARD, &t, msg, sizeof(msg)), CF_OK);
    assert_int_equal(cf_transport_open_pcsc(READER_CARD, &t2, msg, sizeof(msg)), CF_ERR_SHARING);
    assert_null(t2);
    assert_non_null(strstr(msg, "SCARD_E_SHARING_VIOLATION"));
    cf_transport_close(t, CF_DISPOSE_LEAVE);
    /* Free again once closed. */
    assert_int_equal(cf_transport_open_pcsc(READER_CARD, &t2, msg, sizeof(msg)), CF_OK);
    cf_transport_close(t2, CF_DISPOSE_LEAVE);
}

static void test_card_pulled_during_a_session_is_card_removed(void **state)
{
    (void)state;
    char msg[256];
    cf_transport_t *t = NULL;
    cf_pcsc_t *ctx = NULL;
    assert_int_equal(cf_pcsc_new(&ctx, NULL, 0), CF_OK);
    assert_int_equal(wait_for_state(ctx, READER_CARD, CF_READER_PRESENT, NULL), 0);
    assert_int_equal(cf_transport_open_pcsc(READER_CARD, &t, msg, sizeof(msg)), CF_OK);
    cf_rapdu_t r;
    cf_capdu_t c = {.ins = 0xA4, .p1 = 0x04, .le = 256};
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_OK);

    vcard_pull();
    assert_int_equal(wait_for_state(ctx, READER_CARD, CF_READER_EMPTY, NULL), 0);
    assert_int_equal(cf_transport_transmit(t, &c, &r), CF_ERR_CARD_REMOVED);
    assert_non_null(strstr(cf_transport_errmsg(t), "reader '" READER_CARD "'"));
    assert_non_null(strstr(cf_transport_errmsg(t), "SCARD_W_REMOVED_CARD"));
    cf_transport_close(t, CF_DISPOSE_LEAVE);

    /* A card coming back wakes the watcher. */
    assert_int_equal(vcard_insert(), 0);
    assert_int_equal(wait_for_state(ctx, READER_CARD, CF_READER_PRESENT, NULL), 0);
    cf_pcsc_free(ctx);
}

static int remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest table_tests[] = {
        cmocka_unit_test(test_every_scard_code_maps_as_documented),
        cmocka_unit_test(test_unknown_scard_code_is_a_transport_error_with_its_number),
    };
    const struct CMUnitTest no_service_tests[] = {
        cmocka_unit_test(test_no_service_when_pcscd_is_not_running),
    };
    const struct CMUnitTest empty_tests[] = {
        cmocka_unit_test(test_no_readers_is_an_empty_list),
        cmocka_unit_test(test_open_unknown_reader_names_it),
        cmocka_unit_test(test_wait_change_first_returns_then_times_out),
        cmocka_unit_test(test_cancel_from_another_thread_interrupts_the_wait),
        cmocka_unit_test(test_cancel_before_the_wait_is_not_lost),
        cmocka_unit_test(test_service_stopping_under_a_context_is_no_service),
    };
    const struct CMUnitTest vpcd_tests[] = {
        cmocka_unit_test(test_vpcd_readers_are_listed_with_card_state_and_atr),
        cmocka_unit_test(test_open_empty_reader_is_no_card),
        cmocka_unit_test(test_pcsc_transport_exchanges_and_chains_through_pcscd),
        cmocka_unit_test(test_second_open_of_an_exclusive_card_is_a_sharing_violation),
        cmocka_unit_test(test_card_pulled_during_a_session_is_card_removed),
    };

    in_namespace = enter_namespace() == 0;
    if (!in_namespace) /* no pcscd can be reached at this path */
        setenv("PCSCLITE_CSOCK_NAME", "/nonexistent-cardforge-test/pcscd.comm", 1);
    signal(SIGPIPE, SIG_IGN);

    int failed = cmocka_run_group_tests_name("pcsc table", table_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("pcsc not running", no_service_tests, NULL, NULL);
    if (!in_namespace) {
        printf("[  SKIPPED ] real pcscd tests: need root and unshare (mount + net namespaces)\n");
        return failed;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cf-pcsc-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return failed + 1;
    failed += cmocka_run_group_tests_name("pcscd without readers", empty_tests, setup_empty_pcscd,
                                          teardown_pcscd);
    failed += cmocka_run_group_tests_name("pcscd with a vpcd card", vpcd_tests, setup_vpcd_pcscd,
                                          teardown_vpcd_pcscd);
    if (failed == 0)
        remove_tree();
    else
        printf("pcscd log kept in %s\n", tmpdir);
    return failed;
}
