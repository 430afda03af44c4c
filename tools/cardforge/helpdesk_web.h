/*
 * helpdesk_web.h - the helpdesk web page served by `cardforge helpdesk
 * serve`: shared state of the request handler, the sessions and the pages.
 *
 * The server is split by job: helpdesk_web.c routes requests (libmicrohttpd
 * over GnuTLS) and sets the headers every answer carries;
 * helpdesk_web_session.c keeps logins, CSRF tokens and lockouts;
 * helpdesk_web_form.c decodes form bodies; helpdesk_web_pages.c renders the
 * HTML; helpdesk_web_unblock.c turns a typed challenge into a response with
 * the engine's keys API, the same code `helpdesk response` runs.
 */
#ifndef CF_TOOLS_HELPDESK_WEB_H
#define CF_TOOLS_HELPDESK_WEB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cardforge/audit.h>
#include <cardforge/keys.h>

#include "helpdesk_operators.h"

#define WEB_TOKEN_HEX 64u       /* session ids and CSRF tokens: 32 random bytes, hex */
#define WEB_MAX_SESSIONS 64u    /* logged-in sessions at once */
#define WEB_MAX_BODY 4096u      /* longest request body accepted */
#define WEB_MAX_FIELDS 16u      /* form fields in one body */
#define WEB_LOCKOUT_FAILURES 5u /* failed logins in a row that lock a name */

typedef struct web_session {
    int used;
    char id[WEB_TOKEN_HEX + 1];
    char csrf[WEB_TOKEN_HEX + 1];
    char operator_name[OPS_NAME_MAX + 1];
    time_t created, seen;
} web_session_t;

typedef struct web_lock {
    char name[OPS_NAME_MAX + 1];
    unsigned failures;
    time_t locked_until;
} web_lock_t;

typedef struct web_ctx {
    const ops_t *ops;
    const cf_keyfile_t *keys;
    /* The runs' journals (--journal): where the card's record names the
     * master-key version of its admin key. n_journals 0: none. */
    const char *const *journals;
    size_t n_journals;
    cf_audit_t *audit;
    unsigned idle_seconds;    /* a session unused this long ends */
    unsigned max_seconds;     /* and every session ends this long after login */
    unsigned lockout_seconds; /* how long a name stays locked */
    pthread_mutex_t mu;       /* guards sessions and locks */
    web_session_t sessions[WEB_MAX_SESSIONS];
    web_lock_t locks[OPS_MAX];
    size_t nlocks;
} web_ctx_t;

/* ---- sessions (helpdesk_web_session.c) ----------------------------------- */

/* 32 random bytes as hex into out (WEB_TOKEN_HEX + 1 bytes). 0 or -1. */
int web_token(char *out);
/* 1 when a and b are the same token (constant time; NULL never matches). */
int web_token_eq(const char *a, const char *b);

/* Start a session for name; copies its id and CSRF token out. 0, or -1
 * when the table is full (the oldest expired ones are reused first). */
int web_session_start(web_ctx_t *w, const char *name, char *id, char *csrf);
/* Look up the session with this cookie value, refreshing its use time;
 * copies operator and csrf out. 1 found, 0 none or expired (then ended). */
int web_session_get(web_ctx_t *w, const char *id, char *operator_name, char *csrf);
void web_session_end(web_ctx_t *w, const char *id);

/* Lockout of operator names: 1 when name is locked now. */
int web_lock_check(web_ctx_t *w, const char *name);
/* Count a failure; 1 when this one locked the name. */
int web_lock_fail(web_ctx_t *w, const char *name);
void web_lock_clear(web_ctx_t *w, const char *name);

/* ---- forms (helpdesk_web_form.c) ----------------------------------------- */

typedef struct web_form {
    size_t n;
    char *key[WEB_MAX_FIELDS];
    char *val[WEB_MAX_FIELDS];
    char buf[WEB_MAX_BODY + WEB_MAX_FIELDS];
} web_form_t;

/* Decode an application/x-www-form-urlencoded body. 0, or -1 when it is
 * malformed (bad %-escape, NUL, too many fields, a key repeated). */
int web_form_parse(web_form_t *f, const char *body, size_t len);
/* The value of key, or NULL. */
const char *web_form_get(const web_form_t *f, const char *key);
/* Wipe the decoded copy (it may hold a password). */
void web_form_wipe(web_form_t *f);
/* The form's master-key choice: "NAME/VERSION" (VERSION 1 to 999999) or
 * "NAME" alone (*version 0: the card's version, or the newest) into name
 * (CF_KEYS_NAME_MAX + 1 bytes). 0, or -1 when malformed. */
int web_key_choice(const char *sel, char *name, unsigned *version);

/* ---- pages (helpdesk_web_pages.c) ---------------------------------------- */

typedef struct web_page {
    char *p;
    size_t len, cap;
    int overflow;
} web_page_t;

void web_page_init(web_page_t *pg, char *buf, size_t cap);
void web_put(web_page_t *pg, const char *s);
/* s with & < > " ' escaped. */
void web_put_esc(web_page_t *pg, const char *s);

/* The login page; message (NULL for none) is shown above the form. */
void web_render_login(web_page_t *pg, const char *csrf, const char *message);
/* The unblock form for the operator; message as above. */
void web_render_unblock(web_page_t *pg, const web_ctx_t *w, const char *operator_name,
                        const char *csrf, const char *message);

/* What a response page shows; all of it public but the response. */
typedef struct web_answer {
    char serial_g[CF_KEYS_SERIAL_MAX + CF_KEYS_SERIAL_MAX / 4 + 1], serial_cv[CF_KEYS_CHECK_SIZE];
    char challenge_g[CF_KEYS_GROUPED_SIZE(16)], challenge_cv[CF_KEYS_CHECK_SIZE];
    char response_g[CF_KEYS_GROUPED_SIZE(16)], response_cv[CF_KEYS_CHECK_SIZE];
    char key_name[CF_KEYS_NAME_MAX + 1];
    unsigned key_version;
    /* where the version came from, for the page: "from the journal record
     * of <time>", "version unknown: the newest is used" or "as chosen" */
    char key_source[96];
    char serial[CF_KEYS_SERIAL_MAX + 1];
} web_answer_t;

void web_render_answer(web_page_t *pg, const char *operator_name, const char *csrf,
                       const web_answer_t *a);

extern const char web_app_js[];
extern const char web_app_css[];

/* ---- the unblock computation (helpdesk_web_unblock.c) -------------------- */

/* From the form: serial, serial_check, challenge, challenge_check, key
 * ("NAME/VERSION" of a key in w->keys, or "NAME": the version the card's
 * journal record names, else the newest). A journal record naming another
 * key or version than the one chosen, or a key change it cannot vouch
 * for, refuses. 0 with *a filled, or -1 with why (a fixed sentence, never
 * an echo of the input) and *http the status. */
int web_unblock(const web_ctx_t *w, const web_form_t *f, web_answer_t *a, const char **why,
                unsigned *http);

/* ---- the server (helpdesk_web.c) ----------------------------------------- */

struct MHD_Daemon;
/* Start serving HTTPS on addr (sockaddr of addrlen bytes) with the PEM
 * certificate chain and key in memory. NULL with a message on stderr. */
struct MHD_Daemon *web_start(web_ctx_t *w, const void *addr, size_t addrlen, const char *cert_pem,
                             const char *key_pem);

#endif
