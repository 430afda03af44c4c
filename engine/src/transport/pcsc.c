/*
 * pcsc.c - a PC/SC context for listing readers and watching them change.
 *
 * The batch runner blocks in cf_pcsc_wait_change until a reader comes or
 * goes or a card is inserted or removed, then reads a snapshot of every
 * reader (name, card present, ATR). The snapshot is the SCARD_READERSTATE
 * array itself, plus the special "\\?PnP?\Notification" entry that wakes
 * the wait when the reader list changes.
 *
 * The wait is cut into slices of at most a second, for two reasons:
 *   - SCardCancel only interrupts a call already waiting; a cancel that
 *     lands just before the call would be lost. The sticky flag, checked
 *     between slices, bounds that case to one slice.
 *   - pcsc-lite 1.9.9 counts the readers at the start of each call to see
 *     reader changes, so a reader added between our listing and the next
 *     call goes unseen. When a slice times out the reader list is compared
 *     once: one cheap request per idle second, not a busy poll.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#include "transport/pcsc_err.h"
#include "transport/transport_int.h"

#define SLICE_MS 1000
#define PNP_NAME "\\\\?PnP?\\Notification"

struct cf_pcsc {
    SCARDCONTEXT hctx; /* set once at creation: cf_pcsc_cancel reads it from any thread */
    atomic_int cancelled;
    char errmsg[CF_ERRMSG_MAX];
    /* The watch: rs[0..n) are the readers, rs[n] the PnP entry. */
    SCARD_READERSTATE *rs;
    char **names; /* owned; rs[i].szReader points at names[i] */
    int *changed;
    size_t n;
    int pnp; /* rs[n] is watched (there is room for it, see watched()) */
    int primed;
};

/* How many entries go to SCardGetStatusChange. pcsc-lite takes at most
 * PCSCLITE_MAX_READERS_CONTEXTS entries, which is also its reader limit:
 * with that many readers no reader can appear, so the PnP entry is left
 * out; a reader going away still shows in its own entry. */
static DWORD watched(const cf_pcsc_t *ctx)
{
    return (DWORD)(ctx->n + (size_t)ctx->pnp);
}

static cf_err_t ctx_fail(cf_pcsc_t *ctx, LONG rv, const char *what)
{
    char desc[160];
    cf_pcsc_describe((long)rv, desc, sizeof(desc));
    cf_err_t err = cf_pcsc_map((long)rv);
    if (err == CF_OK)
        err = CF_ERR_INTERNAL;
    snprintf(ctx->errmsg, sizeof(ctx->errmsg), "PC/SC: %s: %s%s", what, desc,
             err == CF_ERR_NO_SERVICE ? "; start pcscd" : "");
    return err;
}

cf_err_t cf_pcsc_new(cf_pcsc_t **out, char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = 0;
    if (out == NULL)
        return CF_ERR_ARG;
    *out = NULL;
    cf_pcsc_t *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return CF_ERR_NOMEM;
    atomic_init(&ctx->cancelled, 0);
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx->hctx);
    if (rv != SCARD_S_SUCCESS) {
        cf_err_t err = ctx_fail(ctx, rv, "cannot connect");
        if (errbuf != NULL && errlen > 0)
            snprintf(errbuf, errlen, "%s", ctx->errmsg);
        free(ctx);
        return err;
    }
    *out = ctx;
    return CF_OK;
}

static void drop_watch(cf_pcsc_t *ctx)
{
    cf_pcsc_free_names(ctx->names);
    free(ctx->rs);
    free(ctx->changed);
    ctx->names = NULL;
    ctx->rs = NULL;
    ctx->changed = NULL;
    ctx->n = 0;
}

void cf_pcsc_free(cf_pcsc_t *ctx)
{
    if (ctx == NULL)
        return;
    drop_watch(ctx);
    SCardReleaseContext(ctx->hctx);
    free(ctx);
}

const char *cf_pcsc_errmsg(const cf_pcsc_t *ctx)
{
    return ctx->errmsg;
}

void cf_pcsc_cancel(cf_pcsc_t *ctx)
{
    if (ctx == NULL)
        return;
    atomic_store(&ctx->cancelled, 1);
    SCardCancel(ctx->hctx);
}

void cf_pcsc_free_names(char **names)
{
    if (names == NULL)
        return;
    for (char **p = names; *p != NULL; p++)
        free(*p);
    free(names);
}

/* Split a PC/SC multi-string ("a\0b\0\0") of len bytes into a
 * NULL-terminated array. The bytes come from the service: never read past
 * len, whatever the terminators say. */
static cf_err_t split_multistring(const char *buf, size_t len, char ***names, size_t *count)
{
    size_t n = 0, off = 0;
    while (off < len) {
        size_t l = strnlen(buf + off, len - off);
        if (l == 0)
            break;
        n++;
        off += l + 1;
    }
    char **v = calloc(n + 1, sizeof(*v));
    if (v == NULL)
        return CF_ERR_NOMEM;
    off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strnlen(buf + off, len - off);
        v[i] = strndup(buf + off, l);
        if (v[i] == NULL) {
            cf_pcsc_free_names(v);
            return CF_ERR_NOMEM;
        }
        off += l + 1;
    }
    *names = v;
    *count = n;
    return CF_OK;
}

cf_err_t cf_pcsc_list_readers(cf_pcsc_t *ctx, char ***names, size_t *count)
{
    if (ctx == NULL || names == NULL || count == NULL)
        return CF_ERR_ARG;
    *names = NULL;
    *count = 0;
    ctx->errmsg[0] = 0;
    /* The list may grow between asking its size and reading it: retry. */
    for (int attempt = 0; attempt < 5; attempt++) {
        DWORD len = 0;
        LONG rv = SCardListReaders(ctx->hctx, NULL, NULL, &len);
        if (rv == SCARD_E_NO_READERS_AVAILABLE || (rv == SCARD_S_SUCCESS && len == 0))
            return split_multistring("", 0, names, count);
        if (rv != SCARD_S_SUCCESS)
            return ctx_fail(ctx, rv, "listing readers");
        char *buf = malloc((size_t)len + 1);
        if (buf == NULL)
            return CF_ERR_NOMEM;
        rv = SCardListReaders(ctx->hctx, NULL, buf, &len);
        if (rv == SCARD_E_INSUFFICIENT_BUFFER) {
            free(buf);
            continue;
        }
        if (rv == SCARD_E_NO_READERS_AVAILABLE) {
            free(buf);
            return split_multistring("", 0, names, count);
        }
        if (rv != SCARD_S_SUCCESS) {
            free(buf);
            return ctx_fail(ctx, rv, "listing readers");
        }
        cf_err_t err = split_multistring(buf, len, names, count);
        free(buf);
        return err;
    }
    return ctx_fail(ctx, SCARD_E_INSUFFICIENT_BUFFER, "listing readers (list kept changing)");
}

/* ---- watching ---- */

static int same_names(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

/* Fold the event states pcsc-lite just reported into the current states;
 * mark changed entries. Returns 1 when a reader changed, 2 when the PnP
 * entry did (the list must be read again), 0 otherwise. */
static int absorb(cf_pcsc_t *ctx)
{
    int any = 0;
    for (size_t i = 0; i < watched(ctx); i++) {
        SCARD_READERSTATE *r = &ctx->rs[i];
        if (r->dwEventState & SCARD_STATE_CHANGED) {
            if (i == ctx->n) {
                any |= 2;
            } else {
                ctx->changed[i] = 1;
                any |= 1;
                if (r->dwEventState & SCARD_STATE_UNKNOWN) /* the reader is gone */
                    any |= 2;
            }
        }
        r->dwCurrentState = r->dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    }
    return any;
}

/* Read the reader list and rebuild the watch, keeping the known state of
 * readers still there; new readers are marked changed (all of them when
 * all_changed), and their state is read at once so the snapshot is whole. */
static cf_err_t rebuild(cf_pcsc_t *ctx, int all_changed)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char **names;
        size_t n;
        cf_err_t err = cf_pcsc_list_readers(ctx, &names, &n);
        if (err != CF_OK)
            return err;
        SCARD_READERSTATE *rs = calloc(n + 1, sizeof(*rs));
        int *changed = calloc(n + 1, sizeof(*changed));
        if (rs == NULL || changed == NULL) {
            free(rs);
            free(changed);
            cf_pcsc_free_names(names);
            return CF_ERR_NOMEM;
        }
        int unaware = 0;
        for (size_t i = 0; i < n; i++) {
            rs[i].szReader = names[i];
            rs[i].dwCurrentState = SCARD_STATE_UNAWARE;
            for (size_t j = 0; j < ctx->n; j++) {
                if (strcmp(ctx->names[j], names[i]) == 0) {
                    rs[i] = ctx->rs[j];
                    rs[i].szReader = names[i];
                    changed[i] = ctx->changed[j];
                    break;
                }
            }
            if (rs[i].dwCurrentState == SCARD_STATE_UNAWARE) {
                unaware = 1;
                changed[i] = 1;
            }
            if (all_changed)
                changed[i] = 1;
        }
        rs[n].szReader = PNP_NAME;
        rs[n].dwCurrentState = ctx->rs != NULL ? ctx->rs[ctx->n].dwCurrentState : 0;

        LONG rv = SCARD_S_SUCCESS;
        if (unaware && n > 0)
            rv = SCardGetStatusChange(ctx->hctx, 0, rs, (DWORD)n);
        if (rv == SCARD_E_UNKNOWN_READER) { /* one went away meanwhile */
            free(rs);
            free(changed);
            cf_pcsc_free_names(names);
            continue;
        }
        if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
            free(rs);
            free(changed);
            cf_pcsc_free_names(names);
            return ctx_fail(ctx, rv, "reading reader states");
        }
        if (unaware && n > 0)
            for (size_t i = 0; i < n; i++)
                rs[i].dwCurrentState = rs[i].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
        drop_watch(ctx);
        ctx->rs = rs;
        ctx->names = names;
        ctx->changed = changed;
        ctx->n = n;
        ctx->pnp = n < PCSCLITE_MAX_READERS_CONTEXTS;
        return CF_OK;
    }
    snprintf(ctx->errmsg, sizeof(ctx->errmsg), "PC/SC: the reader list kept changing");
    return CF_ERR_TRANSPORT;
}

/* 1 when the service's reader list differs from the watched one. */
static int list_differs(cf_pcsc_t *ctx)
{
    char **names;
    size_t n;
    if (cf_pcsc_list_readers(ctx, &names, &n) != CF_OK)
        return 1; /* let rebuild report the error */
    int differs = !same_names(names, n, ctx->names, ctx->n);
    cf_pcsc_free_names(names);
    return differs;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static cf_err_t interrupted(cf_pcsc_t *ctx)
{
    snprintf(ctx->errmsg, sizeof(ctx->errmsg), "PC/SC: waiting for readers was cancelled");
    return CF_ERR_INTERRUPTED;
}

cf_err_t cf_pcsc_wait_change(cf_pcsc_t *ctx, long timeout_ms)
{
    if (ctx == NULL)
        return CF_ERR_ARG;
    ctx->errmsg[0] = 0;
    if (atomic_load(&ctx->cancelled))
        return interrupted(ctx);
    if (!ctx->primed) {
        cf_err_t err = rebuild(ctx, 1);
        if (err == CF_OK)
            ctx->primed = 1;
        return err;
    }
    for (size_t i = 0; i < ctx->n; i++)
        ctx->changed[i] = 0;

    long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        if (atomic_load(&ctx->cancelled))
            return interrupted(ctx);
        long slice = SLICE_MS;
        if (timeout_ms >= 0) {
            long left = deadline - now_ms();
            slice = left < 0 ? 0 : left < SLICE_MS ? left : SLICE_MS;
        }
        LONG rv = SCardGetStatusChange(ctx->hctx, (DWORD)slice, ctx->rs, watched(ctx));
        if (rv == SCARD_E_TIMEOUT) {
            if (list_differs(ctx))
                return rebuild(ctx, 0);
            if (timeout_ms >= 0 && now_ms() >= deadline) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "PC/SC: no reader or card change within %ld ms", timeout_ms);
                return CF_ERR_TIMEOUT;
            }
            continue;
        }
        if (rv == SCARD_E_CANCELLED)
            return interrupted(ctx);
        if (rv == SCARD_E_UNKNOWN_READER) /* a watched reader went away */
            return rebuild(ctx, 0);
        if (rv != SCARD_S_SUCCESS)
            return ctx_fail(ctx, rv, "waiting for reader changes");
        int any = absorb(ctx);
        if (any & 2)
            return rebuild(ctx, 0);
        if (any)
            return CF_OK;
    }
}

size_t cf_pcsc_reader_count(const cf_pcsc_t *ctx)
{
    return ctx != NULL ? ctx->n : 0;
}

cf_err_t cf_pcsc_reader_info(const cf_pcsc_t *ctx, size_t i, cf_reader_info_t *info)
{
    if (ctx == NULL || info == NULL || i >= ctx->n)
        return CF_ERR_ARG;
    const SCARD_READERSTATE *r = &ctx->rs[i];
    DWORD s = r->dwCurrentState;
    memset(info, 0, sizeof(*info));
    info->name = ctx->names[i];
    info->changed = ctx->changed[i];
    info->events = (unsigned)(s >> 16) & 0xffffu;
    if (s & SCARD_STATE_PRESENT)
        info->state |= CF_READER_PRESENT;
    if (s & SCARD_STATE_EMPTY)
        info->state |= CF_READER_EMPTY;
    if (s & SCARD_STATE_MUTE)
        info->state |= CF_READER_MUTE;
    if (s & SCARD_STATE_EXCLUSIVE)
        info->state |= CF_READER_EXCLUSIVE;
    if (s & SCARD_STATE_INUSE)
        info->state |= CF_READER_INUSE;
    if (s & (SCARD_STATE_UNAVAILABLE | SCARD_STATE_UNKNOWN))
        info->state |= CF_READER_UNAVAILABLE;
    if ((s & SCARD_STATE_PRESENT) && r->cbAtr <= CF_ATR_MAX) {
        memcpy(info->atr, r->rgbAtr, r->cbAtr);
        info->atr_len = r->cbAtr;
    }
    return CF_OK;
}
