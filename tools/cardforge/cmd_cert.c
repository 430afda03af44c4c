/*
 * cmd_cert.c - `cardforge cert`: the certificate tab for one card at the
 * desk: list the key slots (PIV) or containers (GIDS) with their
 * certificates, show one in detail, export it, import a certificate or a
 * PKCS#12 bundle, delete one, set the default container.
 *
 * Card knowledge is the engine's (cert.h): this file asks people for what
 * a change needs (the PIN, the management key where the card wants it;
 * from the terminal without echo, or the key from a key file), checks what
 * it can before the card is touched (the file, its password, the validity
 * dates), and says what the card did. Every refusal leaves the card as it
 * was and says so. With --audit, each change writes one event
 * (desk_audit.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cardforge/card.h>
#include <cardforge/cert.h>
#include <cardforge/keys.h>

#include "cert_file.h"
#include "cert_view.h"
#include "commands.h"
#include "desk_audit.h"
#include "desk_card.h"
#include "out.h"
#include "tty_secret.h"

#define CMD "cardforge cert"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge cert SUBCOMMAND (--reader NAME | --card SERIAL) [--slot SLOT]\n"
                 "                      [--json] [--out FILE] [OPTIONS] [FILE]\n\n"
                 "subcommands:\n"
                 "  list                the key slots (PIV) or containers (GIDS) that hold a key\n"
                 "                      or a certificate: subject, issuer, validity, key\n"
                 "                      algorithm, whether the private key is on the card, which\n"
                 "                      container is the default; reads only\n"
                 "  show                one certificate in detail: subject, issuer, serial,\n"
                 "                      validity, key algorithm and size, key usage, extended key\n"
                 "                      usage, subject alternative names, SHA-1 and SHA-256\n"
                 "                      fingerprints; reads only\n"
                 "  export              one certificate as PEM (stdout or --out) or DER (--out)\n"
                 "  import FILE         write a certificate (.cer/.der, or PEM) into --slot, or a\n"
                 "                      .pfx/.p12 bundle's key and certificate (its password is\n"
                 "                      asked without echo; PIV: into --slot, YubiKey only;\n"
                 "                      GIDS: into the first free container, no --slot);\n"
                 "                      refused when the certificate is expired or not yet valid\n"
                 "                      (unless --force) or is not the key's in the slot\n"
                 "  delete              delete the certificate of --slot (GIDS with --with-key:\n"
                 "                      the container's key too)\n"
                 "  default             make --slot the default container (GIDS); a PIV card has\n"
                 "                      none and says so\n\n"
                 "options:\n"
                 "  --reader NAME       the PC/SC reader (full name or a part naming one reader)\n"
                 "  --card SERIAL       the card with this serial, in whichever reader it is\n"
                 "  --slot SLOT         a PIV slot (9a, 9c, 9d, 9e; 82-95 on a YubiKey) or a GIDS\n"
                 "                      container number (0, 1, ...)\n"
                 "  --json              list and show: one JSON object on stdout\n"
                 "  --out FILE          export: write here (mode 0600) instead of stdout\n"
                 "  --format der|pem    export: the encoding (default pem; der needs --out)\n"
                 "  --force             import a certificate outside its validity dates anyway\n"
                 "  --with-key          delete: the key as well (cards that can delete keys)\n"
                 "  --pin-policy P      import of a .p12 on a YubiKey: never, once or always\n"
                 "  --touch-policy T    import of a .p12 on a YubiKey: never, always or cached\n"
                 "  --keyfile FILE      take the management (admin) key from this master-key\n"
                 "                      file instead of a prompt: the key --key names, derived\n"
                 "                      for the card's serial (docs/key-derivation.md)\n"
                 "  --key NAME[:VER]    with --keyfile: the master key's name and version\n"
                 "                      (default: its highest version)\n"
                 "  --key-type TYPE     with --keyfile: 3des (default), aes128, aes192, aes256\n"
                 "  --profile NAME      use this card profile instead of recognising the card\n"
                 "  --profiles DIR      card profiles directory (default: the installed ones)\n"
                 "  --trace FILE        write an APDU trace, every secret byte shown as **\n"
                 "  --allow-last-try    allow a PIN or admin-key attempt that could spend the\n"
                 "                      last try (refused by default)\n" DESK_WAIT_HELP
                 "  --audit FILE        import, delete, default: write what was done to this\n"
                 "                      audit log, one event, never the PIN, key or password\n"
                 "                      (created 0600, or continued; the operator is the OS\n"
                 "                      user)\n"
                 "  --audit-key FILE    the Ed25519 key signing the log (`cardforge audit\n"
                 "                      keygen`; owned by you, mode 0600 or 0400); both or\n"
                 "                      neither\n"
                 "  -h, --help          this help\n\n"
                 "Every change (import, delete, default) asks for the card's PIN, and on a PIV\n"
                 "card for the management key (hex), at the terminal without echo; there is\n"
                 "no option to give them on the command line. A wrong PIN is reported with the\n"
                 "tries the card says are left. See docs/operator-guide.md, \"Certificates\".\n"
                 "Exit status: 0 done; 1 the card refused or failed, the file's password was\n"
                 "wrong, the certificate does not fit (dates, key), or no card; 2 usage error\n"
                 "or an unreadable or malformed file.\n");
}

/* What a change came to, for the audit event: the master key the
 * management key was derived from (a copy: the key file is freed). */
struct cert_audit {
    struct desk_audit_what what;
    char key_name_buf[80];
};

struct cert_opts {
    const char *slot;
    const char *out;
    const char *file;
    const char *keyfile;
    const char *key_name;
    const char *key_type;
    int json, der, force, with_key;
    cf_keygen_t policy;
    struct cert_audit *audit; /* filled as the change goes */
};

/* Why the card (or a guard before it) last said no, for the audit event. */
static cf_err_t card_refusal;

static int card_failed(struct desk_card *dc, const char *what, cf_err_t e)
{
    card_refusal = e;
    const char *m = cf_card_errmsg(dc->card);
    fprintf(stderr, CMD ": %s: %s\n", what, m && m[0] ? m : cf_strerror(e));
    return CF_EXIT_FAIL;
}

/* ---- secrets ------------------------------------------------------------- */

static int ask_failed(cf_err_t e, const char *what)
{
    if (e == CF_ERR_UNSUPPORTED)
        fprintf(stderr,
                CMD ": standard input is not a terminal; the %s is only read from a "
                    "terminal\n",
                what);
    else if (e == CF_ERR_ARG)
        fprintf(stderr, CMD ": the %s is empty or too long; nothing was sent to the card\n", what);
    else
        fprintf(stderr, CMD ": no %s read (%s); nothing was sent to the card\n", what,
                cf_strerror(e));
    return CF_EXIT_USAGE;
}

/* The management key derived from the key file for the card's serial. */
static int admin_from_keyfile(struct desk_card *dc, const struct cert_opts *o, cf_secret_t **out)
{
    char err[256], name[80];
    unsigned version = 0;
    if (o->key_name == NULL) {
        fprintf(stderr, CMD ": --keyfile needs --key NAME[:VERSION]\n");
        return CF_EXIT_USAGE;
    }
    snprintf(name, sizeof(name), "%s", o->key_name);
    char *colon = strchr(name, ':');
    if (colon != NULL) {
        char *end = NULL;
        unsigned long v = strtoul(colon + 1, &end, 10);
        if (colon[1] == 0 || *end != 0 || v == 0 || v > CF_KEYS_VERSION_MAX) {
            fprintf(stderr, CMD ": --key %s: the version is not a number 1-%u\n", o->key_name,
                    CF_KEYS_VERSION_MAX);
            return CF_EXIT_USAGE;
        }
        *colon = 0;
        version = (unsigned)v;
    }
    cf_card_key_type_t type = CF_CARD_KEY_3DES;
    if (o->key_type != NULL && cf_card_key_type_parse(o->key_type, &type) != CF_OK) {
        fprintf(stderr, CMD ": --key-type %s: not one of 3des, aes128, aes192, aes256\n",
                o->key_type);
        return CF_EXIT_USAGE;
    }
    cf_keyfile_t *kf = NULL;
    if (cf_keyfile_load(o->keyfile, &kf, err, sizeof(err)) != CF_OK) {
        fprintf(stderr, CMD ": %s\n", err);
        return CF_EXIT_USAGE;
    }
    const cf_master_key_t *mk = cf_keyfile_find(kf, name, version);
    if (mk != NULL && o->audit != NULL) {
        snprintf(o->audit->key_name_buf, sizeof(o->audit->key_name_buf), "%s", name);
        o->audit->what.key_name = o->audit->key_name_buf;
        o->audit->what.key_version = cf_master_key_version(mk);
    }
    cf_err_t e = mk ? cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, cf_card_serial(dc->card), type, out)
                    : CF_ERR_NOT_FOUND;
    cf_keyfile_free(kf);
    if (e == CF_ERR_NOT_FOUND) {
        fprintf(stderr, CMD ": %s: no master key named %s%s\n", o->keyfile, o->key_name,
                version ? "" : " (any version)");
        return CF_EXIT_USAGE;
    }
    if (e != CF_OK) {
        fprintf(stderr, CMD ": the management key cannot be derived: %s\n", cf_strerror(e));
        return CF_EXIT_FAIL;
    }
    return CF_EXIT_OK;
}

static int ask_admin(cf_secret_t **out)
{
    cf_secret_t *typed = NULL;
    cf_err_t e = tty_ask_secret("Management key, hex (not shown): ", 128, &typed);
    if (e != CF_OK)
        return ask_failed(e, "management key");
    uint8_t key[64];
    size_t kl = 0;
    e = cf_keys_parse_hex(cf_secret_str(typed), key, sizeof(key), &kl);
    cf_secret_free(typed);
    if (e != CF_OK) {
        cf_wipe(key, sizeof(key));
        fprintf(stderr, CMD ": the management key is not hex; nothing was sent to the card\n");
        return CF_EXIT_USAGE;
    }
    *out = cf_secret_new(key, kl);
    cf_wipe(key, sizeof(key));
    return *out ? CF_EXIT_OK : CF_EXIT_FAIL;
}

/* Ask for the PIN (and the management key where the card needs it), then
 * present them: the card session is then allowed to change. */
static int authorize(struct desk_card *dc, const struct cert_opts *o, unsigned flags)
{
    cf_secret_t *pin = NULL, *admin = NULL;
    int need_admin = cf_cert_needs_admin(dc->card);
    int st = CF_EXIT_OK;
    /* The card-safety rule: a PIN attempt that could block the card is
     * not made unless the officer allows it (read without spending). */
    cf_tries_t t;
    if (cf_card_tries(dc->card, CF_CRED_PIN, &t) == CF_OK && t.kind == CF_TRIES_KNOWN &&
        t.left <= 1) {
        if (t.left == 0) {
            card_refusal = CF_ERR_BLOCKED;
            fprintf(stderr, CMD ": the PIN is blocked; unblock it first (cardforge pin unblock); "
                                "nothing was sent\n");
            return CF_EXIT_FAIL;
        }
        if (!(flags & CF_OP_ALLOW_LAST_TRY)) {
            card_refusal = CF_ERR_LAST_TRY;
            fprintf(stderr, CMD ": the PIN has 1 try left: a mistyped PIN would block the card. "
                                "Check the PIN with the holder, then use --allow-last-try; nothing "
                                "was sent\n");
            return CF_EXIT_FAIL;
        }
    }
    if (need_admin && o->keyfile != NULL)
        st = admin_from_keyfile(dc, o, &admin);
    if (st == CF_EXIT_OK) {
        cf_err_t e = tty_ask_secret("PIN (not shown): ", 64, &pin);
        if (e != CF_OK)
            st = ask_failed(e, "PIN");
    }
    char why[200];
    if (st == CF_EXIT_OK && cf_profile_check_policy(cf_card_profile(dc->card), CF_CRED_PIN, pin,
                                                    why, sizeof(why)) != CF_OK) {
        fprintf(stderr, CMD ": %s; nothing was sent to the card\n", why);
        st = CF_EXIT_USAGE;
    }
    if (st == CF_EXIT_OK && need_admin && admin == NULL)
        st = ask_admin(&admin);
    if (st == CF_EXIT_OK) {
        cf_err_t e = cf_card_verify_pin(dc->card, pin);
        if (e != CF_OK)
            st = card_failed(dc, "PIN", e);
    }
    if (st == CF_EXIT_OK && need_admin) {
        cf_err_t e = cf_card_admin_auth(dc->card, admin, flags);
        if (e != CF_OK)
            st = card_failed(dc, "management key", e);
    }
    cf_secret_free(pin);
    cf_secret_free(admin);
    return st;
}

/* ---- reading -------------------------------------------------------------- */

static const char *presence_word(cf_key_presence_t k)
{
    return k == CF_KEY_PRESENT ? "yes" : k == CF_KEY_ABSENT ? "no" : "unknown";
}

static int cert_list(struct desk_card *dc, const struct cert_opts *o)
{
    cf_key_slot_t slots[CF_CERT_MAX_SLOTS];
    size_t n = 0;
    cf_err_t e = cf_cert_slots(dc->card, 0, slots, CF_CERT_MAX_SLOTS, &n);
    if (e != CF_OK)
        return card_failed(dc, "list", e);
    struct cert_info *info = calloc(n ? n : 1, sizeof(*info));
    int *have = calloc(n ? n : 1, sizeof(int));
    if (info == NULL || have == NULL) {
        free(info);
        free(have);
        return CF_EXIT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *der = NULL;
        size_t dl = 0;
        if (slots[i].has_cert && cf_cert_read(dc->card, slots[i].name, &der, &dl) == CF_OK)
            have[i] = cert_info_get(der, dl, &info[i]) == 0;
        free(der);
    }
    int has_default = cf_cert_has_default(dc->card);
    int st = CF_EXIT_OK;
    if (o->json) {
        struct out_doc d;
        if (out_doc_open(&d) != 0) {
            st = CF_EXIT_FAIL;
        } else {
            fputc('{', d.f);
            out_json_key(d.f, "card_type");
            out_json_string(d.f, cf_profile_name(cf_card_profile(dc->card)));
            out_json_member(d.f, "serial", cf_card_serial(dc->card));
            fprintf(d.f, ",\"has_default\":%s,\"slots\":[", has_default ? "true" : "false");
            for (size_t i = 0; i < n; i++) {
                fprintf(d.f, "%s{", i ? "," : "");
                out_json_key(d.f, "slot");
                out_json_string(d.f, slots[i].name);
                out_json_member(d.f, "label", slots[i].label);
                fprintf(d.f, ",\"private_key_on_card\":%s",
                        slots[i].key == CF_KEY_UNKNOWN   ? "null"
                        : slots[i].key == CF_KEY_PRESENT ? "true"
                                                         : "false");
                fprintf(d.f, ",\"default\":%s",
                        !has_default          ? "null"
                        : slots[i].is_default ? "true"
                                              : "false");
                out_json_member(d.f, "key_algorithm",
                                have[i] ? info[i].key_alg : cf_key_alg_name(slots[i].alg));
                fputs(",\"certificate\":", d.f);
                if (have[i]) {
                    fputs("{\"present\":true", d.f);
                    cert_info_json(d.f, &info[i]);
                    fputc('}', d.f);
                } else {
                    fputs("null", d.f);
                }
                fputc('}', d.f);
            }
            fputs("]}", d.f);
            if (out_doc_emit(&d) != 0)
                st = CF_EXIT_FAIL;
        }
    } else {
        printf("card %s, serial %s: %zu %s with a key or a certificate\n",
               cf_profile_name(cf_card_profile(dc->card)), cf_card_serial(dc->card), n,
               has_default ? "container(s)" : "slot(s)");
        for (size_t i = 0; i < n; i++) {
            printf("%s %s%s%s%s: %s, private key on card: %s%s\n",
                   has_default ? "container" : "slot", slots[i].name,
                   slots[i].label[0] ? " \"" : "", slots[i].label, slots[i].label[0] ? "\"" : "",
                   have[i] ? info[i].key_alg : cf_key_alg_name(slots[i].alg),
                   presence_word(slots[i].key), slots[i].is_default ? ", DEFAULT" : "");
            if (!have[i]) {
                printf("  no certificate\n");
                continue;
            }
            printf("  subject: %s\n  issuer:  %s\n  valid:   %s to %s (%s)\n", info[i].subject,
                   info[i].issuer, info[i].not_before, info[i].not_after,
                   cert_validity_word(info[i].validity));
        }
    }
    free(info);
    free(have);
    return st;
}

static int read_slot(struct desk_card *dc, const struct cert_opts *o, uint8_t **der, size_t *len)
{
    cf_err_t e = cf_cert_read(dc->card, o->slot, der, len);
    if (e != CF_OK)
        return card_failed(dc, "read", e);
    return CF_EXIT_OK;
}

static int cert_show(struct desk_card *dc, const struct cert_opts *o)
{
    uint8_t *der = NULL;
    size_t dl = 0;
    int st = read_slot(dc, o, &der, &dl);
    struct cert_info ci;
    if (st == CF_EXIT_OK && cert_info_get(der, dl, &ci) != 0) {
        fprintf(stderr, CMD ": slot %s: the certificate cannot be parsed\n", o->slot);
        st = CF_EXIT_FAIL;
    }
    if (st == CF_EXIT_OK && o->json) {
        struct out_doc d;
        if (out_doc_open(&d) != 0)
            st = CF_EXIT_FAIL;
        else {
            fputc('{', d.f);
            out_json_key(d.f, "slot");
            out_json_string(d.f, o->slot);
            cert_info_json(d.f, &ci);
            fputc('}', d.f);
            st = out_doc_emit(&d) == 0 ? CF_EXIT_OK : CF_EXIT_FAIL;
        }
    } else if (st == CF_EXIT_OK) {
        printf("slot:               %s\n", o->slot);
        cert_info_print(stdout, &ci);
    }
    free(der);
    return st;
}

static int cert_export(struct desk_card *dc, const struct cert_opts *o)
{
    uint8_t *der = NULL;
    size_t dl = 0;
    int st = read_slot(dc, o, &der, &dl);
    if (st != CF_EXIT_OK)
        return st;
    FILE *f = o->out ? out_open_private(o->out) : stdout;
    if (f == NULL) {
        fprintf(stderr, CMD ": %s: cannot be written\n", o->out);
        free(der);
        return CF_EXIT_USAGE;
    }
    int ok;
    if (o->der) {
        ok = fwrite(der, 1, dl, f) == dl;
    } else {
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)dl);
        ok = x != NULL && PEM_write_X509(f, x) == 1;
        X509_free(x);
    }
    if (o->out)
        ok = (fclose(f) == 0) && ok;
    else
        ok = (fflush(f) == 0) && ok;
    free(der);
    if (!ok) {
        fprintf(stderr, CMD ": the certificate could not be written\n");
        return CF_EXIT_FAIL;
    }
    if (o->out)
        fprintf(stderr, "slot %s: certificate written to %s (%s, %zu bytes of DER)\n", o->slot,
                o->out, o->der ? "DER" : "PEM", dl);
    return CF_EXIT_OK;
}

/* ---- changing --------------------------------------------------------------- */

static int cert_import(struct desk_card *dc, const struct cert_opts *o,
                       const struct cert_import *ci, unsigned flags)
{
    /* A card that picks the container for a new key (GIDS) is named no
     * slot for a bundle; every other import names one. */
    int picks = ci->key != NULL && !cf_cert_needs_admin(dc->card);
    if (picks && o->slot != NULL) {
        fprintf(stderr,
                CMD ": import: a %s card puts a new key into its first free container: "
                    "give no --slot; nothing was sent\n",
                cf_profile_name(cf_card_profile(dc->card)));
        return CF_EXIT_USAGE;
    }
    if (!picks && o->slot == NULL) {
        fprintf(stderr, CMD ": import: --slot is needed on a %s card; nothing was sent\n",
                cf_profile_name(cf_card_profile(dc->card)));
        return CF_EXIT_USAGE;
    }
    int st = authorize(dc, o, flags);
    if (st != CF_EXIT_OK)
        return st;
    char slot[CF_CERT_SLOT_NAME];
    snprintf(slot, sizeof(slot), "%s", o->slot ? o->slot : "");
    cf_err_t e;
    if (ci->key != NULL) {
        e = cf_cert_import_key(dc->card, o->slot, ci->key, &o->policy, slot);
        if (e != CF_OK)
            return card_failed(dc, "import", e);
        printf("slot %s: private key imported and proven (the card holds its public key)\n", slot);
    } else {
        e = cf_cert_check_pair(dc->card, slot, ci->der, ci->der_len);
        if (e != CF_OK)
            return card_failed(dc, "import", e);
    }
    e = cf_cert_write(dc->card, slot, ci->der, ci->der_len);
    if (e != CF_OK) {
        card_failed(dc, "import", e);
        if (ci->key != NULL)
            fprintf(stderr,
                    CMD ": the key WAS imported into slot %s; its certificate was not "
                        "written\n",
                    slot);
        return CF_EXIT_FAIL;
    }
    struct cert_info info;
    cert_info_get(ci->der, ci->der_len, &info);
    printf("slot %s: certificate written and read back (SHA-256 %s)\n", slot, info.sha256);
    return CF_EXIT_OK;
}

static int cert_delete(struct desk_card *dc, const struct cert_opts *o, unsigned flags)
{
    if (o->with_key && !cf_cert_deletes_keys(dc->card)) {
        fprintf(stderr,
                CMD ": delete --with-key: a %s card has no command that deletes a key "
                    "(a new key or an import replaces it); nothing was sent\n",
                cf_profile_name(cf_card_profile(dc->card)));
        return CF_EXIT_FAIL;
    }
    int st = authorize(dc, o, flags);
    if (st != CF_EXIT_OK)
        return st;
    cf_err_t e = cf_cert_delete(dc->card, o->slot, o->with_key);
    if (e != CF_OK)
        return card_failed(dc, "delete", e);
    printf("slot %s: %s deleted (read back: gone)\n", o->slot,
           o->with_key ? "key and certificate" : "certificate");
    return CF_EXIT_OK;
}

static int cert_default(struct desk_card *dc, const struct cert_opts *o, unsigned flags)
{
    if (!cf_cert_has_default(dc->card)) {
        cf_err_t e = cf_cert_set_default(dc->card, o->slot); /* refuses, sends nothing */
        return card_failed(dc, "default", e);
    }
    int st = authorize(dc, o, flags);
    if (st != CF_EXIT_OK)
        return st;
    cf_err_t e = cf_cert_set_default(dc->card, o->slot);
    if (e != CF_OK)
        return card_failed(dc, "default", e);
    printf("container %s is now the default (read back)\n", o->slot);
    return CF_EXIT_OK;
}

/* ---- options ----------------------------------------------------------------- */

static int parse_policy(const char *opt, const char *arg, const char *const names[3], uint8_t *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(arg, names[i]) == 0) {
            *out = (uint8_t)(i + 1);
            return 0;
        }
    fprintf(stderr, CMD ": %s %s: one of %s, %s, %s\n", opt, arg, names[0], names[1], names[2]);
    return -1;
}

enum { SUB_LIST, SUB_SHOW, SUB_EXPORT, SUB_IMPORT, SUB_DELETE, SUB_DEFAULT };

static int check_combination(int sub, const struct cert_opts *o, int format_given)
{
    const char *why = NULL;
    if (sub != SUB_LIST && sub != SUB_IMPORT && o->slot == NULL)
        why = "this subcommand needs --slot";
    else if (o->json && sub != SUB_LIST && sub != SUB_SHOW)
        why = "--json goes with list and show";
    else if ((o->out || format_given) && sub != SUB_EXPORT)
        why = "--out and --format go with export";
    else if (o->der && o->out == NULL)
        why = "--format der needs --out FILE (DER is not written to a terminal)";
    else if ((o->file != NULL) != (sub == SUB_IMPORT))
        why = sub == SUB_IMPORT ? "import needs the FILE to import" : "only import takes a FILE";
    else if (o->force && sub != SUB_IMPORT)
        why = "--force goes with import";
    else if (o->with_key && sub != SUB_DELETE)
        why = "--with-key goes with delete";
    else if ((o->key_name || o->key_type) && o->keyfile == NULL)
        why = "--key and --key-type go with --keyfile";
    if (why != NULL) {
        fprintf(stderr, CMD ": %s\n", why);
        return -1;
    }
    return 0;
}

/* The certificate's dates: warn, and refuse unless --force. */
static int check_dates(const struct cert_import *ci, int force)
{
    struct cert_info info;
    if (cert_info_get(ci->der, ci->der_len, &info) != 0)
        return CF_EXIT_USAGE;
    if (info.validity == 0)
        return CF_EXIT_OK;
    fprintf(stderr, CMD ": warning: the certificate is %s (valid %s to %s)\n",
            cert_validity_word(info.validity), info.not_before, info.not_after);
    if (force)
        return CF_EXIT_OK;
    fprintf(stderr, CMD ": refused (use --force to import it anyway); nothing was sent to the "
                        "card\n");
    return CF_EXIT_FAIL;
}

int cmd_cert(int argc, char **argv)
{
    static const struct option opts[] = {
        DESK_LONG_OPTIONS,
        DESK_AUDIT_LONG_OPTIONS,
        {"slot", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"force", no_argument, NULL, 'F'},
        {"with-key", no_argument, NULL, 'K'},
        {"pin-policy", required_argument, NULL, '1'},
        {"touch-policy", required_argument, NULL, '2'},
        {"keyfile", required_argument, NULL, 'k'},
        {"key", required_argument, NULL, 'n'},
        {"key-type", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const pin_names[3] = {"never", "once", "always"};
    static const char *const touch_names[3] = {"never", "always", "cached"};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CF_EXIT_USAGE : CF_EXIT_OK;
    }
    static const char *const subs[] = {"list", "show", "export", "import", "delete", "default"};
    int sub = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(argv[1], subs[i]) == 0)
            sub = i;
    if (sub < 0) {
        fprintf(stderr,
                CMD ": '%s' is not a subcommand (list, show, export, import, delete, default)\n",
                argv[1]);
        return CF_EXIT_USAGE;
    }
    struct desk_opts dopt = {0};
    struct desk_audit_opts aopt = {0};
    struct cert_audit audit = {0};
    struct cert_opts o = {.audit = &audit};
    int c, format_given = 0;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.slot = optarg;
            break;
        case 'j':
            o.json = 1;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'f':
            format_given = 1;
            if (strcmp(optarg, "der") != 0 && strcmp(optarg, "pem") != 0) {
                fprintf(stderr, CMD ": --format %s: der or pem\n", optarg);
                return CF_EXIT_USAGE;
            }
            o.der = strcmp(optarg, "der") == 0;
            break;
        case 'F':
            o.force = 1;
            break;
        case 'K':
            o.with_key = 1;
            break;
        case '1':
            if (parse_policy("--pin-policy", optarg, pin_names, &o.policy.pin_policy) != 0)
                return CF_EXIT_USAGE;
            break;
        case '2':
            if (parse_policy("--touch-policy", optarg, touch_names, &o.policy.touch_policy) != 0)
                return CF_EXIT_USAGE;
            break;
        case 'k':
            o.keyfile = optarg;
            break;
        case 'n':
            o.key_name = optarg;
            break;
        case 'T':
            o.key_type = optarg;
            break;
        case 'h':
            usage(stdout);
            return CF_EXIT_OK;
        default: {
            if (desk_audit_option(c, optarg, &aopt))
                break;
            int d = desk_option(CMD, c, optarg, &dopt);
            if (d > 0)
                break;
            if (d == 0)
                usage(stderr);
            return CF_EXIT_USAGE;
        }
        }
    }
    /* argv + 1 was parsed: optind counts from there; the subcommand is its
     * argv[0]. */
    if (optind < argc - 1)
        o.file = argv[1 + optind++];
    if (optind != argc - 1) {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    if (check_combination(sub, &o, format_given) != 0)
        return CF_EXIT_USAGE;
    int changes = sub == SUB_IMPORT || sub == SUB_DELETE || sub == SUB_DEFAULT;
    if (!changes && (aopt.log != NULL || aopt.key != NULL)) {
        fprintf(stderr,
                CMD ": --audit goes with import, delete and default (%s changes "
                    "nothing)\n",
                subs[sub]);
        return CF_EXIT_USAGE;
    }
    if (changes && !isatty(STDIN_FILENO)) {
        fprintf(stderr, CMD ": %s asks for the PIN at a terminal, and standard input is not one\n",
                subs[sub]);
        return CF_EXIT_USAGE;
    }
    /* The file (and its password) before the card is touched. */
    struct cert_import ci = {0};
    int st = CF_EXIT_OK;
    if (sub == SUB_IMPORT) {
        st = cert_file_load(CMD, o.file, &ci);
        if (st == CF_EXIT_OK)
            st = check_dates(&ci, o.force);
        if (st != CF_EXIT_OK) {
            cert_import_free(&ci);
            return st;
        }
    }
    unsigned flags = dopt.allow_last_try ? CF_OP_ALLOW_LAST_TRY : 0;
    /* The audit log before the card: one that cannot be written stops us. */
    static const char *const events[] = {NULL,          NULL,          NULL,
                                         "cert_import", "cert_delete", "cert_default"};
    struct desk_audit da;
    st = desk_audit_open(CMD, events[sub], &aopt, &da);
    if (st != CF_EXIT_OK) {
        cert_import_free(&ci);
        return st;
    }
    char note[40];
    snprintf(note, sizeof(note), "slot %s", o.slot ? o.slot : "(first free)");
    audit.what.note = note;
    struct desk_card dc;
    st = desk_open(CMD, &dopt, &dc);
    if (st != CF_EXIT_OK) {
        cert_import_free(&ci);
        desk_audit_record(&da, st, &audit.what);
        return desk_audit_close(&da, st);
    }
    card_refusal = CF_OK;
    if (!cf_cert_supported(dc.card)) {
        fprintf(stderr, CMD ": card type %s has no key slots this tool knows\n",
                cf_profile_name(cf_card_profile(dc.card)));
        st = CF_EXIT_FAIL;
    } else if (sub == SUB_LIST) {
        st = cert_list(&dc, &o);
    } else if (sub == SUB_SHOW) {
        st = cert_show(&dc, &o);
    } else if (sub == SUB_EXPORT) {
        st = cert_export(&dc, &o);
    } else if (sub == SUB_IMPORT) {
        st = cert_import(&dc, &o, &ci, flags);
    } else if (sub == SUB_DELETE) {
        st = cert_delete(&dc, &o, flags);
    } else {
        st = cert_default(&dc, &o, flags);
    }
    audit.what.serial = cf_card_serial(dc.card);
    audit.what.card = dc.card;
    audit.what.err = card_refusal;
    st = desk_audit_record(&da, st, &audit.what);
    desk_close(&dc);
    cert_import_free(&ci);
    return desk_audit_close(&da, st);
}
