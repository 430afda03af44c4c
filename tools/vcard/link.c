/*
 * link.c - the card's TCP connection to the vpcd reader driver.
 *
 * The driver listens; the card connects to 127.0.0.1:PORT, and being
 * connected is being inserted. The driver closing the connection (pcscd
 * stopping or restarting) is the card leaving the reader, so the link
 * reconnects, with a backoff from 50 ms doubling to 1 s, for as long as the
 * card is meant to be in. A framing error is treated the same way: the
 * stream cannot be resynchronised, so the card is re-inserted.
 *
 * Socket tuning is not optional (test-harness.md, pitfall 1): TCP_NODELAY
 * once per connection and TCP_QUICKACK re-armed before every read (Linux
 * clears it again on its own), or Nagle and delayed ACKs cost ~40 ms per
 * APDU. --no-socket-tuning exists only to measure that.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cursor.h"
#include "vcard.h"

#define BACKOFF_MIN_MS 50u
#define BACKOFF_MAX_MS 1000u

void link_init(struct vcard *v)
{
    v->sock = -1;
    v->backoff_ms = BACKOFF_MIN_MS;
    v->next_try = vcard_now();
}

static void schedule_retry(struct vcard *v)
{
    v->next_try = vcard_after_us(vcard_now(), (uint64_t)v->backoff_ms * 1000);
    v->backoff_ms = v->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : v->backoff_ms * 2;
}

void link_drop(struct vcard *v, const char *why)
{
    if (v->sock >= 0) {
        close(v->sock);
        v->sock = -1;
        vcard_log(1, "disconnected (%s)", why);
    }
    if (v->sup.card != NULL)
        cf_simcard_power_off(v->sup.card);
}

int link_timeout_ms(const struct vcard *v)
{
    if (!v->present || v->sock >= 0 || v->stop)
        return -1;
    int64_t ms = vcard_ms_until(v->next_try);
    return ms < 0 ? 0 : (int)ms;
}

void link_try_connect(struct vcard *v)
{
    if (!v->present || v->sock >= 0 || v->sup.card == NULL || vcard_ms_until(v->next_try) > 0)
        return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        vcard_err("socket: %s", strerror(errno));
        schedule_retry(v);
        return;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(v->o->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        vcard_log(2, "connect 127.0.0.1:%u: %s; retry in %u ms", (unsigned)v->o->port,
                  strerror(errno), v->backoff_ms);
        close(fd);
        schedule_retry(v);
        return;
    }
    int one = 1;
    if (!v->o->no_tuning && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        vcard_err("TCP_NODELAY: %s", strerror(errno));
    /* A driver that stops reading must not wedge the card forever. */
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    v->sock = fd;
    v->conn_gen++;
    v->got_message = 0;
    cf_vcard_rx_reset(v->rx);
    cf_simcard_power_off(v->sup.card); /* a card arrives unpowered */
    schedule_retry(v);                 /* in case the driver hangs up at once */
    vcard_log(1, "connected to 127.0.0.1:%u (card serial %lu in)", (unsigned)v->o->port,
              (unsigned long)cf_simcard_serial(v->sup.card));
}

/* Send one framed message. 0, or -1 after dropping the link. */
static int send_msg(struct vcard *v, const uint8_t *p, size_t len)
{
    cf_wcursor w = cf_wcursor_init(v->out, 2 + CF_SIMCARD_MAX_RESPONSE);
    uint8_t hdr[2];
    if (cf_vcard_frame_header(len, hdr) < 0) {
        link_drop(v, "response does not fit a vpcd frame");
        return -1;
    }
    cf_wc_bytes(&w, hdr, 2);
    cf_wc_bytes(&w, p, len);
    if (w.overflow) {
        link_drop(v, "response too long");
        return -1;
    }
    size_t off = 0;
    while (off < w.len) {
        ssize_t r = send(v->sock, v->out + off, w.len - off, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            link_drop(v, "send failed");
            return -1;
        }
        off += (size_t)r;
    }
    return 0;
}

/* Hold the answer back until the modelled card would have sent it. Signals
 * and control requests are served meanwhile: a card pulled or a daemon
 * stopped during the wait leaves the command unanswered, as a real card
 * pulled mid-command does. Returns 0 to answer, -1 not to. */
static int wait_latency(struct vcard *v, uint64_t us, uint64_t gen)
{
    struct timespec deadline = vcard_after_us(vcard_now(), us);
    for (;;) {
        if (v->stop || !v->present || v->sock < 0 || v->conn_gen != gen)
            return -1;
        /* poll() counts whole milliseconds: wait the whole ones there and
         * sleep the remainder, so the delay is the model's to a few us. */
        int64_t left_us = vcard_us_until(deadline);
        if (left_us < 1000)
            break;
        vcard_poll_once(v, (int)(left_us / 1000), 0);
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    return v->stop || !v->present || v->sock < 0 || v->conn_gen != gen ? -1 : 0;
}

static void answer_sw(uint8_t *resp, size_t *len, uint16_t sw)
{
    resp[0] = (uint8_t)(sw >> 8);
    resp[1] = (uint8_t)sw;
    *len = 2;
}

/* One command APDU. Returns -1 when the link went away. */
static int handle_apdu(struct vcard *v, const uint8_t *apdu, size_t len)
{
    const struct vcard_opts *o = v->o;
    cf_simcard_t *card = v->sup.card;
    uint64_t gen = v->conn_gen;
    uint8_t ins = len >= 2 ? apdu[1] : 0;
    v->apdus++;
    if (!v->drop_fired && cf_vcard_fault_drop(&o->faults, v->apdus, apdu, len)) {
        v->drop_fired = 1;
        vcard_log(1, "fault: card pulled on APDU %lu (INS %02X) before answering",
                  (unsigned long)v->apdus, ins);
        vcard_remove(v, "fault");
        return -1;
    }
    size_t rlen;
    cf_simcard_cost_t cost;
    uint16_t fsw;
    if (cf_vcard_fault_sw(&o->faults, apdu, len, &fsw)) {
        answer_sw(v->resp, &rlen, fsw);
        cost = (cf_simcard_cost_t){.bytes_in = len, .bytes_out = rlen};
        vcard_log(2, "apdu INS %02X -> SW %04X (injected)", ins, fsw);
    } else {
        cf_err_t err = cf_simcard_transmit(card, apdu, len, v->resp, &rlen);
        if (err == CF_ERR_NO_CARD) {
            /* A real card without power cannot answer; the driver would time
             * out. vpcd has no "no answer", so re-insert the card. */
            link_drop(v, "APDU to an unpowered card");
            return -1;
        }
        if (err != CF_OK || rlen < 2) {
            answer_sw(v->resp, &rlen, 0x6F00);
        }
        cost = cf_simcard_last_cost(card);
        vcard_log(2, "apdu INS %02X -> SW %02X%02X", ins, v->resp[rlen - 2], v->resp[rlen - 1]);
    }
    if (o->latency_on) {
        uint64_t us = cf_vcard_latency_us(&o->latency, &cost);
        if (wait_latency(v, us, gen) < 0)
            return -1;
    }
    return send_msg(v, v->resp, rlen);
}

/* One message from the driver. Returns -1 when the link went away. */
static int handle_msg(struct vcard *v, const uint8_t *msg, size_t len)
{
    cf_simcard_t *card = v->sup.card;
    if (len == 1) {
        switch (msg[0]) {
        case CF_VPCD_POWER_OFF:
            vcard_log(2, "power off");
            cf_simcard_power_off(card);
            return 0;
        case CF_VPCD_POWER_ON:
            vcard_log(2, "power on");
            cf_simcard_power_on(card);
            return 0;
        case CF_VPCD_RESET:
            vcard_log(2, "reset");
            cf_simcard_reset(card);
            return 0;
        case CF_VPCD_GET_ATR: {
            uint8_t atr[33];
            size_t n = cf_simcard_atr(card, atr, sizeof(atr));
            if (n == 0) {
                link_drop(v, "card has no ATR");
                return -1;
            }
            return send_msg(v, atr, n);
        }
        default:
            break; /* a 1-byte "APDU": the card answers 6700 */
        }
    }
    return handle_apdu(v, msg, len);
}

void link_readable(struct vcard *v)
{
    if (v->sock < 0)
        return;
    size_t room;
    uint8_t *p = cf_vcard_rx_space(v->rx, &room);
    int one = 1;
    if (!v->o->no_tuning)
        setsockopt(v->sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    ssize_t r = recv(v->sock, p, room, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (r <= 0) {
        if (cf_vcard_rx_partial(v->rx))
            link_drop(v, "reader closed the connection in the middle of a message");
        else
            link_drop(v, r == 0 ? "reader closed the connection" : strerror(errno));
        return;
    }
    cf_vcard_rx_commit(v->rx, (size_t)r);
    uint64_t gen = v->conn_gen;
    for (;;) {
        const uint8_t *msg;
        size_t len;
        int t = cf_vcard_rx_take(v->rx, &msg, &len);
        if (t == 0)
            return;
        if (t < 0) {
            link_drop(v, "framing error: message length 0");
            return;
        }
        if (!v->got_message) {
            v->got_message = 1;
            v->backoff_ms = BACKOFF_MIN_MS; /* a working connection */
        }
        if (handle_msg(v, msg, len) < 0 || v->sock < 0 || v->conn_gen != gen)
            return;
    }
}
