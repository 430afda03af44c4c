/*
 * helpdesk_web.c - the HTTPS server of the helpdesk page (libmicrohttpd
 * with GnuTLS): routing, limits, security headers, login and audit.
 *
 * Shaped for a page that hands out unblock responses:
 *   - HTTPS only, TLS 1.2 and 1.3 (GnuTLS priorities); HSTS.
 *   - Every answer carries Cache-Control: no-store and a CSP allowing only
 *     this origin (no inline script), frame-ancestors 'none', nosniff.
 *   - Bounded: bodies of at most WEB_MAX_BODY bytes (413 past it), request
 *     headers within MHD's per-connection memory limit, a connection limit
 *     in total and per address, a timeout for slow clients.
 *   - Secrets travel only in POST bodies, never in a URL; the server's own
 *     log line per request names the route and the status, never a query,
 *     an unknown path or a form value.
 *   - Login: a pre-session CSRF cookie for the login form, then a session
 *     cookie (__Host-, Secure, HttpOnly, SameSite=Strict) and a per-session
 *     CSRF token in every form; lockout per name after repeated failures.
 *   - Audit: login, failed login, lockout, logout, response given or
 *     refused, each written and synced before the answer is sent. When the
 *     audit log cannot be written, no response is given.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "helpdesk_web.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

#define COOKIE_SESSION "__Host-cf_session"
#define COOKIE_PRE "__Host-cf_login"
#define PAGE_MAX 16384u
#define CLIENT_MAX 64u

/* Per request: the body as it arrives. */
struct req {
    char body[WEB_MAX_BODY];
    size_t len;
    int too_big;
};

static const char *const security_headers[][2] = {
    {"Cache-Control", "no-store"},
    {"Pragma", "no-cache"},
    {"Strict-Transport-Security", "max-age=31536000"},
    {"Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'; object-src 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
};

static void client_addr(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "unknown");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

/* One line per request on stderr: route and status, nothing typed. */
static void log_request(const char *method, const char *route, unsigned status, const char *client)
{
    fprintf(stderr, "helpdesk: %s %s %u %s\n", method, route, status, client);
}

/* Queue an answer with the security headers; extra is one more header (a
 * cookie, a Location) or NULL. */
static MHD_Result_t answer(struct MHD_Connection *c, unsigned status, const char *type,
                           const char *body, size_t len, const char *const *extra, size_t nextra)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
        MHD_add_response_header(r, security_headers[i][0], security_headers[i][1]);
    if (type != NULL)
        MHD_add_response_header(r, "Content-Type", type);
    for (size_t i = 0; i + 1 < 2 * nextra; i += 2)
        MHD_add_response_header(r, extra[i], extra[i + 1]);
    MHD_Result_t rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static MHD_Result_t answer_page(struct MHD_Connection *c, unsigned status, web_page_t *pg,
                                const char *const *extra, size_t nextra)
{
    if (pg->overflow) {
        static const char oops[] = "internal error: page too large\n";
        return answer(c, 500, "text/plain; charset=utf-8", oops, sizeof(oops) - 1, NULL, 0);
    }
    return answer(c, status, "text/html; charset=utf-8", pg->p, pg->len, extra, nextra);
}

static MHD_Result_t answer_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return answer(c, status, "text/plain; charset=utf-8", text, strlen(text), NULL, 0);
}

static MHD_Result_t redirect(struct MHD_Connection *c, const char *to, const char *cookie)
{
    const char *h[4] = {"Location", to, "Set-Cookie", cookie};
    return answer(c, 303, "text/plain; charset=utf-8", "", 0, h, cookie ? 2 : 1);
}

static void audit(web_ctx_t *w, const char *event, const char *op, const char *client,
                  const char *outcome, const char *detail, int *ok)
{
    cf_audit_event_t ev = {.event = event,
                           .operator_name = op,
                           .client = client,
                           .outcome = outcome,
                           .detail = detail};
    cf_err_t e = cf_audit_write(w->audit, &ev);
    if (ok != NULL)
        *ok = e == CF_OK;
    if (e != CF_OK)
        fprintf(stderr, "helpdesk: cannot write the audit log (%s): refusing responses\n",
                cf_strerror(e));
}

/* ---- routes ---------------------------------------------------------------- */

static MHD_Result_t login_page(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char token[WEB_TOKEN_HEX + 1], cookie[WEB_TOKEN_HEX + 96], buf[PAGE_MAX];
    if (web_token(token) != 0)
        return answer_text(c, 500, "internal error\n");
    snprintf(cookie, sizeof(cookie), COOKIE_PRE "=%s; Path=/; Secure; HttpOnly; SameSite=Strict",
             token);
    web_page_t pg;
    web_page_init(&pg, buf, sizeof(buf));
    web_render_login(&pg, token, msg);
    const char *h[2] = {"Set-Cookie", cookie};
    return answer_page(c, status, &pg, h, 1);
}

static MHD_Result_t do_login(web_ctx_t *w, struct MHD_Connection *c, const web_form_t *f,
                             const char *client, unsigned *status)
{
    const char *pre = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_PRE);
    if (!web_token_eq(pre, web_form_get(f, "csrf"))) {
        *status = 403;
        return login_page(c, 403, "The form had expired; log in again.");
    }
    const char *name = web_form_get(f, "operator"), *pw = web_form_get(f, "password");
    if (name == NULL || pw == NULL || strlen(pw) > OPS_PASSWORD_MAX) {
        *status = 400;
        return login_page(c, 400, "Give your operator name and password.");
    }
    int valid_name = ops_name_ok(name);
    const ops_entry_t *op = valid_name ? ops_find(w->ops, name) : NULL;
    /* Only a known operator's name is logged: what was typed as a name may
     * be a password typed into the wrong field. */
    const char *who = op != NULL ? name : "(unknown operator)";
    if (valid_name && web_lock_check(w, name)) {
        /* Locked: the password is not even tried. */
        audit(w, "login_failed", who, client, "refused", "locked out", NULL);
        *status = 429;
        return login_page(c, 429, "Too many failed logins: this name is locked for a while.");
    }
    int good = ops_check_password(op, pw, strlen(pw)) && op->active;
    if (!good) {
        audit(w, "login_failed", who, client, "refused",
              op != NULL && !op->active ? "operator disabled" : "wrong name or password", NULL);
        if (valid_name && web_lock_fail(w, name))
            audit(w, "lockout", who, client, "locked", "too many failed logins", NULL);
        *status = 401;
        return login_page(c, 401, "Wrong operator name or password.");
    }
    web_lock_clear(w, name);
    int ok = 0;
    audit(w, "login", name, client, "ok", NULL, &ok);
    char id[WEB_TOKEN_HEX + 1], csrf[WEB_TOKEN_HEX + 1];
    if (!ok || web_session_start(w, name, id, csrf) != 0) {
        *status = 503;
        return answer_text(c, 503, "cannot start a session now\n");
    }
    char cookie[WEB_TOKEN_HEX + 128];
    snprintf(cookie, sizeof(cookie),
             COOKIE_SESSION "=%s; Path=/; Max-Age=%u; Secure; HttpOnly; SameSite=Strict", id,
             w->max_seconds);
    OPENSSL_cleanse(id, sizeof(id));
    *status = 303;
    return redirect(c, "/unblock", cookie);
}

static MHD_Result_t unblock_page(web_ctx_t *w, struct MHD_Connection *c, unsigned status,
                                 const char *op, const char *csrf, const char *msg)
{
    char buf[PAGE_MAX];
    web_page_t pg;
    web_page_init(&pg, buf, sizeof(buf));
    web_render_unblock(&pg, w, op, csrf, msg);
    return answer_page(c, status, &pg, NULL, 0);
}

static MHD_Result_t do_unblock(web_ctx_t *w, struct MHD_Connection *c, const web_form_t *f,
                               const char *op, const char *csrf, const char *client,
                               unsigned *status)
{
    web_answer_t a;
    const char *why = NULL;
    int rc = web_unblock(w, f, &a, &why, status);
    cf_audit_event_t ev = {.event = "response",
                           .operator_name = op,
                           .client = client,
                           .serial = a.serial[0] ? a.serial : NULL,
                           .key_name = a.key_name[0] ? a.key_name : NULL,
                           .key_version = a.key_version};
    if (rc != 0) {
        ev.outcome = "refused";
        ev.detail = why;
        cf_audit_write(w->audit, &ev);
        return unblock_page(w, c, *status, op, csrf, why);
    }
    ev.outcome = "given";
    ev.detail = a.key_source; /* the version: from the journal, the newest, or as chosen */
    if (cf_audit_write(w->audit, &ev) != CF_OK) {
        OPENSSL_cleanse(&a, sizeof(a));
        fprintf(stderr, "helpdesk: cannot write the audit log: no response given\n");
        *status = 503;
        return answer_text(c, 503, "the audit log cannot be written: no response given\n");
    }
    char buf[PAGE_MAX];
    web_page_t pg;
    web_page_init(&pg, buf, sizeof(buf));
    web_render_answer(&pg, op, csrf, &a);
    OPENSSL_cleanse(&a, sizeof(a));
    MHD_Result_t r = answer_page(c, 200, &pg, NULL, 0);
    OPENSSL_cleanse(buf, sizeof(buf));
    return r;
}

/* The route of a path we serve, for the log; "(other)" for the rest. */
static const char *route_of(const char *url)
{
    static const char *const routes[] = {"/",        "/login",  "/logout",
                                         "/unblock", "/app.js", "/app.css"};
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(url, routes[i]) == 0)
            return routes[i];
    return "(other)";
}

static MHD_Result_t dispatch(web_ctx_t *w, struct MHD_Connection *c, const char *route, int is_post,
                             struct req *rq, const char *client, unsigned *status)
{
    if (strcmp(route, "/app.js") == 0 || strcmp(route, "/app.css") == 0) {
        int js = route[5] == 'j';
        const char *body = js ? web_app_js : web_app_css;
        *status = is_post ? 405 : 200;
        if (is_post)
            return answer_text(c, 405, "method not allowed\n");
        return answer(c, 200, js ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8",
                      body, strlen(body), NULL, 0);
    }
    if (strcmp(route, "(other)") == 0) {
        *status = 404;
        return answer_text(c, 404, "not found\n");
    }
    const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_SESSION);
    char op[OPS_NAME_MAX + 1], csrf[WEB_TOKEN_HEX + 1];
    int logged_in = web_session_get(w, sid, op, csrf);
    if (!is_post) {
        if (strcmp(route, "/login") == 0) {
            *status = 200;
            return login_page(c, 200, NULL);
        }
        if (strcmp(route, "/logout") == 0) {
            *status = 405;
            return answer_text(c, 405, "method not allowed\n");
        }
        *status = logged_in ? 200 : 303;
        if (!logged_in)
            return redirect(c, "/login", NULL);
        if (strcmp(route, "/") == 0) {
            return redirect(c, "/unblock", NULL);
        }
        return unblock_page(w, c, 200, op, csrf, NULL);
    }
    web_form_t *f = malloc(sizeof(*f));
    if (f == NULL) {
        *status = 500;
        return answer_text(c, 500, "internal error\n");
    }
    MHD_Result_t r;
    if (web_form_parse(f, rq->body, rq->len) != 0) {
        *status = 400;
        r = answer_text(c, 400, "malformed form\n");
    } else if (strcmp(route, "/login") == 0) {
        r = do_login(w, c, f, client, status);
    } else if (!logged_in) {
        *status = 401;
        r = answer_text(c, 401, "log in first\n");
    } else if (!web_token_eq(web_form_get(f, "csrf"), csrf)) {
        *status = 403;
        audit(w, "csrf_refused", op, client, "refused", route, NULL);
        r = answer_text(c, 403, "the form's CSRF token is missing or wrong: reload the page\n");
    } else if (strcmp(route, "/logout") == 0) {
        web_session_end(w, sid);
        audit(w, "logout", op, client, "ok", NULL, NULL);
        *status = 303;
        r = redirect(c, "/login",
                     COOKIE_SESSION "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
    } else if (strcmp(route, "/unblock") == 0) {
        r = do_unblock(w, c, f, op, csrf, client, status);
    } else {
        *status = 405;
        r = answer_text(c, 405, "method not allowed\n");
    }
    web_form_wipe(f);
    free(f);
    OPENSSL_cleanse(csrf, sizeof(csrf));
    return r;
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    web_ctx_t *w = cls;
    int is_post = strcmp(method, "POST") == 0;
    char client[CLIENT_MAX];
    if (*con_cls == NULL) {
        struct req *rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            return MHD_NO;
        *con_cls = rq;
        if (is_post) {
            /* Refuse an announced oversized body before reading it. */
            const char *cl =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl != NULL && strtoull(cl, NULL, 10) > WEB_MAX_BODY)
                rq->too_big = 1;
        }
        if (!rq->too_big)
            return MHD_YES;
    }
    struct req *rq = *con_cls;
    if (*upload_size > 0) {
        if (!rq->too_big && rq->len + *upload_size <= WEB_MAX_BODY) {
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
        } else {
            rq->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    client_addr(c, client, sizeof(client));
    const char *route = route_of(url);
    unsigned status;
    MHD_Result_t r;
    if (!is_post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = 405;
        r = answer_text(c, 405, "method not allowed\n");
    } else if (rq->too_big) {
        status = 413;
        r = answer_text(c, 413, "request body too large\n");
    } else {
        r = dispatch(w, c, route, is_post, rq, client, &status);
    }
    log_request(method[0] == 'G' || method[0] == 'P' || method[0] == 'H' ? method : "(method)",
                route, status, client);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct req *rq = *con_cls;
    if (rq != NULL) {
        OPENSSL_cleanse(rq, sizeof(*rq)); /* a login body holds a password */
        free(rq);
    }
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    /* MHD's own messages (TLS handshake failures, limits): kept, they carry
     * no request content. */
    fprintf(stderr, "helpdesk: libmicrohttpd: ");
    vfprintf(stderr, fmt, ap);
}

struct MHD_Daemon *web_start(web_ctx_t *w, const void *addr, size_t addrlen, const char *cert_pem,
                             const char *key_pem)
{
    (void)addrlen;
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
#if MHD_VERSION >= 0x00095300
    flags |= MHD_USE_EPOLL;
#endif
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_HTTPS_MEM_CERT,
        cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
    if (d == NULL)
        fprintf(stderr, "cardforge: cannot start the HTTPS server (address in use, or the "
                        "certificate and key do not load)\n");
    return d;
}
