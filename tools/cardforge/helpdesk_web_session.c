/*
 * helpdesk_web_session.c - logins of the helpdesk page: sessions, their CSRF
 * tokens, and the lockout of names after repeated failed logins.
 *
 * A session is a random 256-bit id (the cookie) with its own random CSRF
 * token (in every form), the operator's name and two times: it ends when
 * unused for idle_seconds or max_seconds after login, whichever comes
 * first. The table is fixed (WEB_MAX_SESSIONS): a flood of logins cannot
 * grow memory; when it is full, a new login is refused. Tokens are compared
 * in constant time. Lockout is per operator name, not per address (an
 * attacker has many addresses, the officer has one name): after
 * WEB_LOCKOUT_FAILURES failures in a row the name is refused, right
 * password or not, for lockout_seconds.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "helpdesk_web.h"
#include "util/hex.h"

int web_token(char *out)
{
    uint8_t raw[WEB_TOKEN_HEX / 2];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    cf_hex_encode(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

int web_token_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL || strlen(a) != WEB_TOKEN_HEX || strlen(b) != WEB_TOKEN_HEX)
        return 0;
    return CRYPTO_memcmp(a, b, WEB_TOKEN_HEX) == 0;
}

/* Called with mu held. */
static int expired(const web_ctx_t *w, const web_session_t *s, time_t now)
{
    return now - s->seen >= (time_t)w->idle_seconds || now - s->created >= (time_t)w->max_seconds;
}

int web_session_start(web_ctx_t *w, const char *name, char *id, char *csrf)
{
    time_t now = time(NULL);
    int rc = -1;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < WEB_MAX_SESSIONS; i++) {
        web_session_t *s = &w->sessions[i];
        if (s->used && !expired(w, s, now))
            continue;
        memset(s, 0, sizeof(*s));
        if (web_token(s->id) != 0 || web_token(s->csrf) != 0)
            break;
        snprintf(s->operator_name, sizeof(s->operator_name), "%s", name);
        s->created = s->seen = now;
        s->used = 1;
        memcpy(id, s->id, WEB_TOKEN_HEX + 1);
        memcpy(csrf, s->csrf, WEB_TOKEN_HEX + 1);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Called with mu held: the live session with this id, or NULL. */
static web_session_t *find(web_ctx_t *w, const char *id)
{
    if (id == NULL || strlen(id) != WEB_TOKEN_HEX)
        return NULL;
    for (size_t i = 0; i < WEB_MAX_SESSIONS; i++)
        if (w->sessions[i].used && web_token_eq(w->sessions[i].id, id))
            return &w->sessions[i];
    return NULL;
}

int web_session_get(web_ctx_t *w, const char *id, char *operator_name, char *csrf)
{
    time_t now = time(NULL);
    int found = 0;
    pthread_mutex_lock(&w->mu);
    web_session_t *s = find(w, id);
    if (s != NULL && expired(w, s, now)) {
        OPENSSL_cleanse(s, sizeof(*s));
    } else if (s != NULL) {
        s->seen = now;
        memcpy(operator_name, s->operator_name, sizeof(s->operator_name));
        memcpy(csrf, s->csrf, WEB_TOKEN_HEX + 1);
        found = 1;
    }
    pthread_mutex_unlock(&w->mu);
    return found;
}

void web_session_end(web_ctx_t *w, const char *id)
{
    pthread_mutex_lock(&w->mu);
    web_session_t *s = find(w, id);
    if (s != NULL)
        OPENSSL_cleanse(s, sizeof(*s));
    pthread_mutex_unlock(&w->mu);
}

/* Called with mu held: the lock entry of name, made when make. */
static web_lock_t *lock_entry(web_ctx_t *w, const char *name, int make)
{
    for (size_t i = 0; i < w->nlocks; i++)
        if (strcmp(w->locks[i].name, name) == 0)
            return &w->locks[i];
    /* Only names of operators are tracked (an unknown name fails anyway),
     * so the table is bounded by the operators file. */
    if (!make || w->nlocks >= OPS_MAX || ops_find(w->ops, name) == NULL)
        return NULL;
    web_lock_t *l = &w->locks[w->nlocks++];
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", name);
    return l;
}

int web_lock_check(web_ctx_t *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    web_lock_t *l = lock_entry(w, name, 0);
    int locked = l != NULL && l->locked_until > time(NULL);
    pthread_mutex_unlock(&w->mu);
    return locked;
}

int web_lock_fail(web_ctx_t *w, const char *name)
{
    int now_locked = 0;
    pthread_mutex_lock(&w->mu);
    web_lock_t *l = lock_entry(w, name, 1);
    if (l != NULL && ++l->failures >= WEB_LOCKOUT_FAILURES) {
        l->failures = 0;
        l->locked_until = time(NULL) + (time_t)w->lockout_seconds;
        now_locked = 1;
    }
    pthread_mutex_unlock(&w->mu);
    return now_locked;
}

void web_lock_clear(web_ctx_t *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    web_lock_t *l = lock_entry(w, name, 0);
    if (l != NULL)
        l->failures = 0;
    pthread_mutex_unlock(&w->mu);
}
