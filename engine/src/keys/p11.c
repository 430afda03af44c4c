/*
 * p11.c - a PKCS#11 token that holds master keys and computes AES-CMAC.
 *
 * Why shaped so:
 *  - The module is loaded with dlopen, never linked: the bureau names its
 *    HSM's module in the key file, and a machine without any token still
 *    runs cardforge with a plain key file.
 *  - A module is initialised once per process (C_Initialize may be called
 *    only once), so loaded modules are shared, counted, and finalised when
 *    the last user closes. CKF_OS_LOCKING_OK lets the module use its own
 *    locks: the runner calls in from several reader threads.
 *  - Login state belongs to the application, not to a session, and ends
 *    when the last session closes (so close never calls C_Logout: another
 *    key file of the process may share the login). One session is opened for the login and
 *    kept until close; signing uses a pool of further sessions, opened on
 *    demand, so that 16 reader threads sign side by side instead of waiting
 *    for one session (a session runs one operation at a time).
 *  - A wrong PIN is never tried again: a token locks after a few. The PIN
 *    counters in the token's flags are read before logging in: a locked PIN
 *    or a final try is refused without trying, a low count is warned about.
 *  - Only attributes that describe the key are read (type, length, usage,
 *    sensitive, extractable), never CKA_VALUE.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* The header only, from libp11-kit-dev: p11-kit itself is not linked. */
#include <p11-kit-1/p11-kit/pkcs11.h>

#include "keys/keys_int.h"
#include "keys/p11.h"

#define MODULES_MAX 8
#define POOL_MAX 64
#define PIN_MAX 256

struct module {
    char path[4096];
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    int initialized_here; /* 0 when someone else in the process had already */
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module modules[MODULES_MAX];

struct cf_p11_token {
    struct module *m;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE login; /* open until cf_p11_close: keeps the login */
    int have_login;
    char label[CF_P11_TOKEN_LABEL_MAX + 1];
    pthread_mutex_t lock; /* guards idle[] and nidle */
    CK_SESSION_HANDLE idle[POOL_MAX];
    size_t nidle;
};

static void warnf(cf_p11_warn_fn warn, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warnf(cf_p11_warn_fn warn, void *ctx, const char *fmt, ...)
{
    if (warn == NULL)
        return;
    char text[CF_KEYS_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    warn(ctx, text);
}

/* The name of a return value, for messages; buf is used for the others. */
static const char *ckr_name(CK_RV rv, char *buf, size_t len)
{
    static const struct {
        CK_RV rv;
        const char *name;
    } names[] = {
        {CKR_OK, "CKR_OK"},
        {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
        {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
        {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
        {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
        {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
        {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
        {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
        {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
        {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
        {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
        {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
        {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
        {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
        {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
        {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
        {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
        {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
        {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
        {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
        {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
        {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
        {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
        {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
        {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
        {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
        {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
        {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
        {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
        {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
        {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].rv == rv)
            return names[i].name;
    snprintf(buf, len, "CKR 0x%08lx", (unsigned long)rv);
    return buf;
}

#define CKR(rv) ckr_name((rv), ckrbuf, sizeof(ckrbuf))

/* ---- modules --------------------------------------------------------- */

static struct module *module_get(const char *path, char *errbuf, size_t errlen, cf_err_t *err)
{
    char ckrbuf[32];
    pthread_mutex_lock(&modules_lock);
    struct module *m = NULL, *free_slot = NULL;
    for (size_t i = 0; i < MODULES_MAX; i++) {
        if (modules[i].refs > 0 && strcmp(modules[i].path, path) == 0)
            m = &modules[i];
        else if (modules[i].refs == 0 && free_slot == NULL)
            free_slot = &modules[i];
    }
    if (m != NULL) {
        m->refs++;
        pthread_mutex_unlock(&modules_lock);
        return m;
    }
    *err = CF_ERR_IO;
    if (free_slot == NULL || strlen(path) >= sizeof(free_slot->path)) {
        cf_keys_errf(errbuf, errlen, "%s: too many PKCS#11 modules or too long a path", path);
        pthread_mutex_unlock(&modules_lock);
        return NULL;
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        cf_keys_errf(errbuf, errlen, "cannot load the PKCS#11 module: %s", why ? why : path);
        pthread_mutex_unlock(&modules_lock);
        return NULL;
    }
    CK_C_GetFunctionList get = NULL;
    *(void **)&get = dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR f = NULL;
    if (get == NULL || get(&f) != CKR_OK || f == NULL) {
        cf_keys_errf(errbuf, errlen, "%s: not a PKCS#11 module (no C_GetFunctionList)", path);
        dlclose(dl);
        pthread_mutex_unlock(&modules_lock);
        return NULL;
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        cf_keys_errf(errbuf, errlen, "%s: C_Initialize failed: %s", path, CKR(rv));
        *err = CF_ERR_CRYPTO;
        dlclose(dl);
        pthread_mutex_unlock(&modules_lock);
        return NULL;
    }
    m = free_slot;
    memcpy(m->path, path, strlen(path) + 1);
    m->dl = dl;
    m->f = f;
    m->refs = 1;
    m->initialized_here = rv == CKR_OK;
    pthread_mutex_unlock(&modules_lock);
    return m;
}

static void module_put(struct module *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&modules_lock);
    if (--m->refs == 0) {
        if (m->initialized_here)
            m->f->C_Finalize(NULL);
        dlclose(m->dl);
        memset(m, 0, sizeof(*m));
    }
    pthread_mutex_unlock(&modules_lock);
}

/* ---- finding the token and logging in -------------------------------- */

/* A blank-padded CK_UTF8CHAR field as a string without the padding. */
static void unpad(const CK_UTF8CHAR *field, size_t n, char *out)
{
    while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == 0))
        n--;
    memcpy(out, field, n);
    out[n] = 0;
}

static int token_matches(const CK_TOKEN_INFO *ti, const struct cf_p11_uri *u)
{
    char label[CF_P11_TOKEN_LABEL_MAX + 1], serial[CF_P11_SERIAL_MAX + 1];
    unpad(ti->label, sizeof(ti->label), label);
    unpad(ti->serialNumber, sizeof(ti->serialNumber), serial);
    return (!u->has_token || strcmp(label, u->token) == 0) &&
           (!u->has_serial || strcmp(serial, u->serial) == 0);
}

static cf_err_t find_slot(cf_p11_token_t *t, const struct cf_p11_uri *u, CK_TOKEN_INFO *ti,
                          char *errbuf, size_t errlen)
{
    char ckrbuf[32];
    CK_ULONG n = 0;
    CK_SLOT_ID *slots = NULL;
    CK_RV rv = t->f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv == CKR_OK && n > 0) {
        slots = calloc(n, sizeof(*slots));
        rv = slots == NULL ? CKR_HOST_MEMORY : t->f->C_GetSlotList(CK_TRUE, slots, &n);
    }
    if (rv != CKR_OK) {
        cf_keys_errf(errbuf, errlen, "%s: C_GetSlotList failed: %s", t->m->path, CKR(rv));
        free(slots);
        return CF_ERR_CRYPTO;
    }
    size_t found = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (t->f->C_GetTokenInfo(slots[i], &info) != CKR_OK || !token_matches(&info, u))
            continue;
        /* A module shows an uninitialised token too; it holds no keys. */
        if (!(info.flags & CKF_TOKEN_INITIALIZED))
            continue;
        if (found++ == 0) {
            t->slot = slots[i];
            *ti = info;
        }
    }
    free(slots);
    if (found == 0) {
        cf_keys_errf(
            errbuf, errlen,
            "no token%s%s%s%s%s in the PKCS#11 module %s (is it plugged in and initialised?)",
            u->has_token ? " labelled '" : "", u->has_token ? u->token : "",
            u->has_token ? "'" : "", u->has_serial ? " with serial " : "",
            u->has_serial ? u->serial : "", t->m->path);
        return CF_ERR_NOT_FOUND;
    }
    if (found > 1) {
        cf_keys_errf(errbuf, errlen,
                     "%zu tokens in %s match the URI; name one with token= and serial=", found,
                     t->m->path);
        return CF_ERR_NOT_FOUND;
    }
    unpad(ti->label, sizeof(ti->label), t->label);
    return CF_OK;
}

static cf_err_t login(cf_p11_token_t *t, const struct cf_p11_open_args *a, const CK_TOKEN_INFO *ti,
                      cf_p11_warn_fn warn, void *wctx, char *errbuf, size_t errlen)
{
    char ckrbuf[32];
    if (!(ti->flags & CKF_LOGIN_REQUIRED))
        return CF_OK;
    if (ti->flags & CKF_USER_PIN_LOCKED) {
        cf_keys_errf(
            errbuf, errlen,
            "token '%s': the user PIN is locked (CKF_USER_PIN_LOCKED); the token's security "
            "officer must reset it",
            t->label);
        return CF_ERR_BLOCKED;
    }
    if (ti->flags & CKF_USER_PIN_FINAL_TRY) {
        cf_keys_errf(errbuf, errlen,
                     "token '%s': one wrong PIN more locks the token (CKF_USER_PIN_FINAL_TRY); not "
                     "tried. Check the PIN, then log in once with the token's own tool",
                     t->label);
        return CF_ERR_LAST_TRY;
    }
    if (ti->flags & CKF_USER_PIN_COUNT_LOW)
        warnf(warn, wctx,
              "token '%s': a wrong PIN was given recently and few tries are left "
              "(CKF_USER_PIN_COUNT_LOW)",
              t->label);
    cf_secret_t *asked = NULL;
    const uint8_t *pin = NULL;
    size_t pinlen = 0;
    if (!(ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
        if (a->pin == NULL) {
            char prompt[96];
            snprintf(prompt, sizeof(prompt), "PIN of token '%s': ", t->label);
            cf_err_t err = cf_p11_prompt_pin(prompt, &asked);
            if (err != CF_OK) {
                cf_keys_errf(errbuf, errlen,
                             "%s: token '%s' needs its PIN and there is no terminal to ask it at; "
                             "name a PIN file with a 'pin-file PATH' line",
                             a->keyfile ? a->keyfile : "key file", t->label);
                return err;
            }
        }
        const cf_secret_t *s = a->pin ? a->pin : asked;
        pin = cf_secret_data(s);
        pinlen = cf_secret_len(s);
    }
    CK_RV rv = t->f->C_Login(t->login, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pinlen);
    cf_secret_free(asked);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return CF_OK;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
        CK_TOKEN_INFO now;
        const char *left = "";
        if (t->f->C_GetTokenInfo(t->slot, &now) == CKR_OK) {
            if (now.flags & CKF_USER_PIN_LOCKED)
                left = "; the token has now locked the PIN";
            else if (now.flags & CKF_USER_PIN_FINAL_TRY)
                left = "; one try is left before the token locks";
            else if (now.flags & CKF_USER_PIN_COUNT_LOW)
                left = "; few tries are left";
        }
        cf_keys_errf(errbuf, errlen, "token '%s': the token refused the PIN (%s); not retried%s",
                     t->label, CKR(rv), left);
        return CF_ERR_WRONG_SECRET;
    }
    if (rv == CKR_PIN_LOCKED) {
        cf_keys_errf(errbuf, errlen, "token '%s': the user PIN is locked (CKR_PIN_LOCKED)",
                     t->label);
        return CF_ERR_BLOCKED;
    }
    cf_keys_errf(errbuf, errlen, "token '%s': C_Login failed: %s", t->label, CKR(rv));
    return CF_ERR_CRYPTO;
}

cf_err_t cf_p11_open(const struct cf_p11_open_args *a, cf_p11_token_t **out, cf_p11_warn_fn warn,
                     void *wctx, char *errbuf, size_t errlen)
{
    char ckrbuf[32];
    *out = NULL;
    if (a == NULL || a->module == NULL || a->uri == NULL)
        return CF_ERR_ARG;
    cf_p11_token_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return CF_ERR_NOMEM;
    pthread_mutex_init(&t->lock, NULL);
    cf_err_t err = CF_OK;
    t->m = module_get(a->module, errbuf, errlen, &err);
    if (t->m == NULL) {
        cf_p11_close(t);
        return err;
    }
    t->f = t->m->f;
    CK_TOKEN_INFO ti;
    err = find_slot(t, a->uri, &ti, errbuf, errlen);
    if (err == CF_OK) {
        CK_RV rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &t->login);
        if (rv != CKR_OK) {
            cf_keys_errf(errbuf, errlen, "token '%s': C_OpenSession failed: %s", t->label, CKR(rv));
            err = CF_ERR_CRYPTO;
        } else {
            t->have_login = 1;
            err = login(t, a, &ti, warn, wctx, errbuf, errlen);
        }
    }
    if (err != CF_OK) {
        cf_p11_close(t);
        return err;
    }
    *out = t;
    return CF_OK;
}

void cf_p11_close(cf_p11_token_t *t)
{
    if (t == NULL)
        return;
    if (t->m != NULL) {
        for (size_t i = 0; i < t->nidle; i++)
            t->f->C_CloseSession(t->idle[i]);
        /* No C_Logout: the login belongs to the whole process, and another
         * key file of it may be using the token; closing the last session
         * logs out. */
        if (t->have_login)
            t->f->C_CloseSession(t->login);
        module_put(t->m);
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* ---- the key --------------------------------------------------------- */

/* Search for objects matching the URI's label and id, of class cls (or any
 * class when cls is (CK_ULONG)-1). Up to 2 handles; *n gets how many. */
static CK_RV find_objects(cf_p11_token_t *t, const struct cf_p11_uri *u, CK_ULONG cls,
                          CK_OBJECT_HANDLE h[2], CK_ULONG *n)
{
    CK_ATTRIBUTE tmpl[3];
    CK_ULONG nt = 0;
    if (cls != (CK_ULONG)-1)
        tmpl[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
    if (u->has_object)
        tmpl[nt++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)u->object, strlen(u->object)};
    if (u->has_id)
        tmpl[nt++] = (CK_ATTRIBUTE){CKA_ID, (void *)u->id, u->id_len};
    *n = 0;
    CK_RV rv = t->f->C_FindObjectsInit(t->login, tmpl, nt);
    if (rv != CKR_OK)
        return rv;
    rv = t->f->C_FindObjects(t->login, h, 2, n);
    t->f->C_FindObjectsFinal(t->login);
    return rv;
}

/* 1 when the slot's mechanism list has CKM_AES_CMAC. The list, not
 * C_GetMechanismInfo: SoftHSM answers the latter also for a mechanism its
 * configuration switched off. */
static int offers_cmac(cf_p11_token_t *t)
{
    CK_ULONG n = 0;
    if (t->f->C_GetMechanismList(t->slot, NULL, &n) != CKR_OK || n == 0 || n > 4096)
        return 0;
    CK_MECHANISM_TYPE *list = calloc(n, sizeof(*list));
    int found = 0;
    if (list != NULL && t->f->C_GetMechanismList(t->slot, list, &n) == CKR_OK)
        for (CK_ULONG i = 0; i < n && !found; i++)
            found = list[i] == CKM_AES_CMAC;
    free(list);
    return found;
}

cf_err_t cf_p11_find_key(cf_p11_token_t *t, const struct cf_p11_uri *uri, size_t keylen,
                         const char *what, unsigned long *handle, cf_p11_warn_fn warn, void *wctx,
                         char *errbuf, size_t errlen)
{
    char ckrbuf[32];
    const char *obj = uri->has_object ? uri->object : "(by id)";
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    CK_RV rv = find_objects(t, uri, CKO_SECRET_KEY, h, &n);
    if (rv != CKR_OK) {
        cf_keys_errf(errbuf, errlen, "%s: token '%s': C_FindObjects failed: %s", what, t->label,
                     CKR(rv));
        return CF_ERR_CRYPTO;
    }
    if (n == 0) {
        CK_ULONG other = 0;
        if (find_objects(t, uri, (CK_ULONG)-1, h, &other) == CKR_OK && other > 0) {
            cf_keys_errf(errbuf, errlen,
                         "%s: token '%s': object '%s' is not a secret key; a master key must be an "
                         "AES key",
                         what, t->label, obj);
            return CF_ERR_INVALID;
        }
        cf_keys_errf(errbuf, errlen, "%s: token '%s' has no key '%s' (object= and id= of the URI)",
                     what, t->label, obj);
        return CF_ERR_NOT_FOUND;
    }
    if (n > 1) {
        cf_keys_errf(errbuf, errlen,
                     "%s: token '%s': more than one key matches '%s'; add id= to the URI", what,
                     t->label, obj);
        return CF_ERR_INVALID;
    }
    CK_KEY_TYPE type = (CK_KEY_TYPE)-1;
    CK_BBOOL sign = CK_FALSE, sensitive = CK_TRUE, extractable = CK_FALSE;
    CK_ULONG len = 0;
    CK_ATTRIBUTE attrs[] = {
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_SIGN, &sign, sizeof(sign)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
        {CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
    };
    rv = t->f->C_GetAttributeValue(t->login, h[0], attrs, sizeof(attrs) / sizeof(attrs[0]));
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE) {
        cf_keys_errf(errbuf, errlen, "%s: token '%s': C_GetAttributeValue failed: %s", what,
                     t->label, CKR(rv));
        return CF_ERR_CRYPTO;
    }
    if (attrs[0].ulValueLen != sizeof(type) || type != CKK_AES) {
        cf_keys_errf(errbuf, errlen,
                     "%s: token '%s': key '%s' is not an AES key (CKK_AES); AES-CMAC needs one",
                     what, t->label, obj);
        return CF_ERR_INVALID;
    }
    if (attrs[1].ulValueLen != sizeof(sign) || sign != CK_TRUE) {
        cf_keys_errf(errbuf, errlen,
                     "%s: token '%s': key '%s' may not sign (CKA_SIGN is false); CMAC needs it",
                     what, t->label, obj);
        return CF_ERR_INVALID;
    }
    if (attrs[2].ulValueLen != sizeof(len) || len != keylen) {
        cf_keys_errf(errbuf, errlen,
                     "%s: token '%s': key '%s' is %lu bytes long (CKA_VALUE_LEN), the key file's "
                     "algorithm says %zu",
                     what, t->label, obj,
                     attrs[2].ulValueLen == sizeof(len) ? (unsigned long)len : 0UL, keylen);
        return CF_ERR_INVALID;
    }
    if (attrs[3].ulValueLen == sizeof(sensitive) && sensitive != CK_TRUE)
        warnf(warn, wctx,
              "%s: token '%s': key '%s' is not sensitive (CKA_SENSITIVE false): its value "
              "can be read out of the token",
              what, t->label, obj);
    if (attrs[4].ulValueLen == sizeof(extractable) && extractable == CK_TRUE)
        warnf(warn, wctx,
              "%s: token '%s': key '%s' is extractable (CKA_EXTRACTABLE true): it can be "
              "wrapped out of the token",
              what, t->label, obj);
    CK_MECHANISM_INFO mi;
    rv = offers_cmac(t) ? t->f->C_GetMechanismInfo(t->slot, CKM_AES_CMAC, &mi)
                        : CKR_MECHANISM_INVALID;
    if (rv == CKR_MECHANISM_INVALID || (rv == CKR_OK && !(mi.flags & CKF_SIGN))) {
        cf_keys_errf(errbuf, errlen,
                     "%s: token '%s' does not offer CKM_AES_CMAC for signing; the derivation needs "
                     "it",
                     what, t->label);
        return CF_ERR_UNSUPPORTED;
    }
    if (rv != CKR_OK) {
        cf_keys_errf(errbuf, errlen, "%s: token '%s': C_GetMechanismInfo failed: %s", what,
                     t->label, CKR(rv));
        return CF_ERR_CRYPTO;
    }
    /* Key sizes of AES mechanisms are in bytes; some modules give bits. */
    CK_ULONG lo = mi.ulMinKeySize, hi = mi.ulMaxKeySize;
    if (hi > 64) {
        lo /= 8;
        hi /= 8;
    }
    if (hi != 0 && (keylen < lo || keylen > hi)) {
        cf_keys_errf(errbuf, errlen,
                     "%s: token '%s' offers CKM_AES_CMAC for %lu to %lu byte keys, not %zu", what,
                     t->label, (unsigned long)lo, (unsigned long)hi, keylen);
        return CF_ERR_UNSUPPORTED;
    }
    /* One CMAC now, so that a token that lists the mechanism but refuses
     * it (a remoting layer that drops it) fails here, before any card. */
    uint8_t probe[16] = {0}, mac[16];
    CK_SESSION_HANDLE s = t->login;
    CK_MECHANISM mech = {CKM_AES_CMAC, NULL, 0};
    CK_ULONG maclen = sizeof(mac);
    rv = t->f->C_SignInit(s, &mech, h[0]);
    if (rv == CKR_OK)
        rv = t->f->C_Sign(s, probe, sizeof(probe), mac, &maclen);
    OPENSSL_cleanse(mac, sizeof(mac));
    if (rv == CKR_MECHANISM_INVALID) {
        cf_keys_errf(errbuf, errlen, "%s: token '%s' refuses CKM_AES_CMAC (CKR_MECHANISM_INVALID)",
                     what, t->label);
        return CF_ERR_UNSUPPORTED;
    }
    if (rv != CKR_OK) {
        cf_keys_errf(errbuf, errlen, "%s: token '%s': a trial CMAC with key '%s' failed: %s", what,
                     t->label, obj, CKR(rv));
        return CF_ERR_CRYPTO;
    }
    *handle = h[0];
    return CF_OK;
}

/* ---- signing --------------------------------------------------------- */

static CK_RV session_take(cf_p11_token_t *t, CK_SESSION_HANDLE *s)
{
    pthread_mutex_lock(&t->lock);
    if (t->nidle > 0) {
        *s = t->idle[--t->nidle];
        pthread_mutex_unlock(&t->lock);
        return CKR_OK;
    }
    pthread_mutex_unlock(&t->lock);
    return t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, s);
}

static void session_give(cf_p11_token_t *t, CK_SESSION_HANDLE s)
{
    pthread_mutex_lock(&t->lock);
    if (t->nidle < POOL_MAX) {
        t->idle[t->nidle++] = s;
        s = CK_INVALID_HANDLE;
    }
    pthread_mutex_unlock(&t->lock);
    if (s != CK_INVALID_HANDLE)
        t->f->C_CloseSession(s);
}

cf_err_t cf_p11_cmac(cf_p11_token_t *t, unsigned long handle, const uint8_t *msg, size_t len,
                     uint8_t out[16])
{
    if (t == NULL || msg == NULL || out == NULL)
        return CF_ERR_ARG;
    CK_SESSION_HANDLE s;
    if (session_take(t, &s) != CKR_OK)
        return CF_ERR_CRYPTO;
    CK_MECHANISM mech = {CKM_AES_CMAC, NULL, 0};
    CK_ULONG outlen = 16;
    CK_RV rv = t->f->C_SignInit(s, &mech, (CK_OBJECT_HANDLE)handle);
    if (rv == CKR_OK)
        rv = t->f->C_Sign(s, (CK_BYTE_PTR)msg, (CK_ULONG)len, out, &outlen);
    if (rv == CKR_OK && outlen == 16) {
        session_give(t, s);
        return CF_OK;
    }
    /* A failed C_Sign ends the operation; a session in doubt is closed. */
    t->f->C_CloseSession(s);
    OPENSSL_cleanse(out, 16);
    return CF_ERR_CRYPTO;
}
