/*
 * p11_shim.c - a PKCS#11 module in front of another one, for the token
 * tests: it forwards every call to the module named by $P11_SHIM_TARGET and
 * changes only what a test needs to see or to fake, which SoftHSM2 alone
 * cannot show:
 *   - every C_Login is counted: one line "login" appended to the file
 *     $P11_SHIM_LOG (to prove a wrong PIN is never tried twice);
 *   - $P11_SHIM_TOKEN_FLAGS (a number) is ORed into the token flags of
 *     C_GetTokenInfo (a PIN at its last try, or locked: SoftHSM2 never
 *     locks);
 *   - with $P11_SHIM_SIGN_FAIL set, C_SignInit answers CKR_MECHANISM_INVALID
 *     while the mechanism is still listed (a remoting layer that drops it).
 * Built by the test that uses it (cc -shared -fPIC), never linked into
 * cardforge.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST_PTR target;

static CK_RV shim_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    const char *log = getenv("P11_SHIM_LOG");
    FILE *f = log ? fopen(log, "a") : NULL;
    if (f != NULL) {
        fputs("login\n", f);
        fclose(f);
    }
    return target->C_Login(s, u, pin, len);
}

static CK_RV shim_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    CK_RV rv = target->C_GetTokenInfo(slot, info);
    const char *flags = getenv("P11_SHIM_TOKEN_FLAGS");
    if (rv == CKR_OK && flags != NULL)
        info->flags |= strtoul(flags, NULL, 0);
    return rv;
}

static CK_RV shim_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
    if (getenv("P11_SHIM_SIGN_FAIL") != NULL)
        return CKR_MECHANISM_INVALID;
    return target->C_SignInit(s, m, k);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    if (target == NULL) {
        const char *path = getenv("P11_SHIM_TARGET");
        void *dl = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
        CK_C_GetFunctionList get = NULL;
        if (dl != NULL)
            *(void **)&get = dlsym(dl, "C_GetFunctionList");
        if (get == NULL || get(&target) != CKR_OK)
            return CKR_GENERAL_ERROR;
        shim = *target;
        shim.C_Login = shim_login;
        shim.C_GetTokenInfo = shim_token_info;
        shim.C_SignInit = shim_sign_init;
    }
    *out = &shim;
    return CKR_OK;
}
