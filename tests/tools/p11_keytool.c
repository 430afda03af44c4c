/*
 * p11_keytool.c - makes the PKCS#11 tokens and master keys the tests use.
 *
 *   p11_keytool MODULE init-token LABEL          stdin: SO PIN, user PIN
 *   p11_keytool MODULE add-key LABEL OBJECT KIND stdin: user PIN, key hex
 *   p11_keytool MODULE kcv LABEL OBJECT          stdin: user PIN
 *
 * KIND: aes (sensitive, not extractable, may sign: a proper master key),
 * aes-readable (not sensitive, extractable), aes-nosign (CKA_SIGN false),
 * generic (CKK_GENERIC_SECRET). The key is made with C_CreateObject from
 * its bytes, because `softhsm2-util --import --aes` leaves CKA_VALUE_LEN 0,
 * which CMAC then refuses. kcv prints the key check value of the key
 * ceremony: the first 3 bytes of AES-CMAC(key, 16 zero bytes), computed in
 * the token. PINs and keys come on standard input, never as arguments.
 * Exit 0 on success, 1 with a message on stderr otherwise.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR f;

static void die(const char *what, CK_RV rv)
{
    fprintf(stderr, "p11_keytool: %s failed: 0x%lx\n", what, (unsigned long)rv);
    exit(1);
}

static void line(char *buf, size_t len)
{
    if (fgets(buf, (int)len, stdin) == NULL) {
        fprintf(stderr, "p11_keytool: missing input line\n");
        exit(1);
    }
    buf[strcspn(buf, "\r\n")] = 0;
}

static void padded(CK_UTF8CHAR *out, size_t n, const char *s)
{
    memset(out, ' ', n);
    memcpy(out, s, strlen(s) < n ? strlen(s) : n);
}

static CK_SLOT_ID slot_of(const char *label, int want_uninitialized)
{
    CK_SLOT_ID slots[32];
    CK_ULONG n = 32;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        die("C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        int init = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
        CK_UTF8CHAR want[32];
        padded(want, 32, label);
        if (want_uninitialized ? !init : (init && memcmp(ti.label, want, 32) == 0))
            return slots[i];
    }
    fprintf(stderr, "p11_keytool: no %s token\n", want_uninitialized ? "free" : label);
    exit(1);
}

static CK_SESSION_HANDLE login(CK_SLOT_ID slot)
{
    char pin[256];
    line(pin, sizeof(pin));
    CK_SESSION_HANDLE s;
    CK_RV rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        die("C_OpenSession", rv);
    rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (rv != CKR_OK)
        die("C_Login", rv);
    return s;
}

static int init_token(const char *label)
{
    char so[256], user[256];
    line(so, sizeof(so));
    line(user, sizeof(user));
    CK_SLOT_ID slot = slot_of(label, 1);
    CK_UTF8CHAR lab[32];
    padded(lab, 32, label);
    CK_RV rv = f->C_InitToken(slot, (CK_UTF8CHAR_PTR)so, strlen(so), lab);
    if (rv != CKR_OK)
        die("C_InitToken", rv);
    slot = slot_of(label, 0); /* SoftHSM moves an initialised token to a new slot id */
    CK_SESSION_HANDLE s;
    rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        die("C_OpenSession", rv);
    if ((rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so, strlen(so))) != CKR_OK)
        die("C_Login(SO)", rv);
    if ((rv = f->C_InitPIN(s, (CK_UTF8CHAR_PTR)user, strlen(user))) != CKR_OK)
        die("C_InitPIN", rv);
    f->C_CloseSession(s);
    return 0;
}

static int add_key(const char *label, const char *object, const char *kind)
{
    CK_SESSION_HANDLE s = login(slot_of(label, 0));
    char hex[160];
    line(hex, sizeof(hex));
    unsigned char key[64];
    size_t n = strlen(hex) / 2;
    if (strlen(hex) % 2 != 0 || n == 0 || n > sizeof(key)) {
        fprintf(stderr, "p11_keytool: bad key hex\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            fprintf(stderr, "p11_keytool: bad key hex\n");
            return 1;
        }
        key[i] = (unsigned char)v;
    }
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = strcmp(kind, "generic") == 0 ? CKK_GENERIC_SECRET : CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    int readable = strcmp(kind, "aes-readable") == 0;
    CK_BBOOL sign = strcmp(kind, "aes-nosign") == 0 ? CK_FALSE : CK_TRUE;
    CK_ULONG len = n;
    CK_BYTE id[1] = {(CK_BYTE)strlen(object)};
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, readable ? &no : &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, readable ? &yes : &no, sizeof(yes)},
        {CKA_SIGN, &sign, sizeof(sign)},
        {CKA_VERIFY, &sign, sizeof(sign)},
        {CKA_LABEL, (void *)object, strlen(object)},
        {CKA_ID, id, sizeof(id)},
        {CKA_VALUE, key, n},
    };
    CK_ULONG nt = sizeof(t) / sizeof(t[0]);
    (void)len;
    CK_OBJECT_HANDLE h;
    CK_RV rv = f->C_CreateObject(s, t, nt, &h);
    memset(key, 0, sizeof(key));
    memset(hex, 0, sizeof(hex));
    if (rv != CKR_OK)
        die("C_CreateObject", rv);
    f->C_CloseSession(s);
    return 0;
}

static int kcv(const char *label, const char *object)
{
    CK_SESSION_HANDLE s = login(slot_of(label, 0));
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_LABEL, (void *)object, strlen(object)}};
    CK_OBJECT_HANDLE h;
    CK_ULONG found = 0;
    f->C_FindObjectsInit(s, t, 2);
    f->C_FindObjects(s, &h, 1, &found);
    f->C_FindObjectsFinal(s);
    if (found != 1) {
        fprintf(stderr, "p11_keytool: no key %s\n", object);
        return 1;
    }
    CK_MECHANISM m = {CKM_AES_CMAC, NULL, 0};
    CK_BYTE zero[16] = {0}, mac[16];
    CK_ULONG maclen = sizeof(mac);
    CK_RV rv = f->C_SignInit(s, &m, h);
    if (rv == CKR_OK)
        rv = f->C_Sign(s, zero, sizeof(zero), mac, &maclen);
    if (rv != CKR_OK)
        die("C_Sign", rv);
    printf("%02X%02X%02X\n", mac[0], mac[1], mac[2]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: p11_keytool MODULE init-token|add-key|kcv LABEL [OBJECT KIND]\n");
        return 2;
    }
    void *dl = dlopen(argv[1], RTLD_NOW);
    CK_C_GetFunctionList get = NULL;
    if (dl != NULL)
        *(void **)&get = dlsym(dl, "C_GetFunctionList");
    if (get == NULL || get(&f) != CKR_OK) {
        fprintf(stderr, "p11_keytool: cannot load %s\n", argv[1]);
        return 1;
    }
    CK_RV rv = f->C_Initialize(NULL);
    if (rv != CKR_OK)
        die("C_Initialize", rv);
    int rc = 2;
    if (strcmp(argv[2], "init-token") == 0)
        rc = init_token(argv[3]);
    else if (strcmp(argv[2], "add-key") == 0 && argc == 6)
        rc = add_key(argv[3], argv[4], argv[5]);
    else if (strcmp(argv[2], "kcv") == 0 && argc == 5)
        rc = kcv(argv[3], argv[4]);
    f->C_Finalize(NULL);
    return rc;
}
