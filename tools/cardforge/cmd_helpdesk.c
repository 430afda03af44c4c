/*
 * cmd_helpdesk.c - `cardforge helpdesk ...`: what the helpdesk runs while a
 * card holder is on the phone.
 *
 * `helpdesk response` turns a card's unblock challenge into the response,
 * with the card's admin key derived from a master key (or typed in). It is
 * shaped around the phone call: everything is printed in groups of four
 * with a check value so both sides can confirm what they heard, a challenge
 * whose check value does not match is refused before any key is touched,
 * and the key itself is never printed and cannot be given on the command
 * line (it would land in `ps` and the shell history).
 *
 * Which master key version a card was made with is read from the run's
 * journal (--journal): the card's record names the master key and version
 * of its admin key, so the helpdesk never guesses and never spends one of
 * the card's tries on a wrong version. --key-version stays for a desk
 * without the journal. With --audit, who answered which card with which
 * key version is logged (desk_audit.h) before the response is shown.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cardforge/keys.h>

#include "commands.h"
#include "desk_audit.h"
#include "journal_key.h"
#include "tty_secret.h"

#define KEY_LINE_MAX 256

static void helpdesk_usage(FILE *out)
{
    fprintf(out, "usage: cardforge helpdesk SUBCOMMAND [ARGS]\n\n"
                 "Tools for the helpdesk that unblocks cards over the phone.\n\n"
                 "subcommands:\n"
                 "  response   compute the response to a card's offline unblock challenge\n"
                 "  operator   add, disable, enable and list the web page's operators\n"
                 "  serve      the unblock page over HTTPS, with login and an audit log\n\n"
                 "`cardforge helpdesk SUBCOMMAND --help` describes each.\n"
                 "See docs/helpdesk-guide.md for the procedure.\n");
}

static void response_usage(FILE *out)
{
    fprintf(out, "usage: cardforge helpdesk response --serial CSN --challenge HEX [--check CV]\n"
                 "         (--keyfile FILE (--journal JOURNAL | --key NAME [--key-version N])\n"
                 "          | --admin-key-stdin)\n"
                 "         [--admin-key-type TYPE] [--audit FILE --audit-key FILE]\n\n"
                 "Compute the response to a card's offline unblock challenge: the challenge\n"
                 "encrypted under the card's admin key (8-byte challenge: 3DES, 16-byte: AES).\n"
                 "Serial, challenge and response are printed in groups of four with a check\n"
                 "value each: read the challenge and its check value back to the caller\n"
                 "before giving the response.\n\n"
                 "  --serial CSN           the card serial as the card shows it (hex or decimal;\n"
                 "                         spaces and dashes allowed)\n"
                 "  --challenge HEX        the challenge: 16 or 32 hex digits, spaces and dashes\n"
                 "                         allowed, either case\n"
                 "  --check CV             the two-digit check value shown beside the challenge;\n"
                 "                         the challenge is refused when it does not match\n"
                 "  --keyfile FILE         master-key file (mode 0600 or 0400, owned by you)\n"
                 "  --key NAME             master key the card's admin key is derived from\n"
                 "  --key-version N        version of that key (default: the newest)\n"
                 "  --journal JOURNAL      the run's journal: the card's record names the\n"
                 "                         master key and version its admin key came from\n"
                 "  --admin-key-stdin      read the card's admin key (hex) from standard input\n"
                 "                         instead; not echoed when typed at a terminal\n"
                 "  --admin-key-type TYPE  3des (default for 8-byte challenges), 3des2,\n"
                 "                         aes128 (default for 16-byte), aes192, aes256\n"
                 "  --audit FILE           write who answered which card, with which master\n"
                 "                         key and version, to this audit log (created 0600,\n"
                 "                         or continued; the operator is the OS user), before\n"
                 "                         the response is shown; a refusal is logged too\n"
                 "  --audit-key FILE       the Ed25519 key signing the log (`cardforge audit\n"
                 "                         keygen`; owned by you, mode 0600 or 0400); both\n"
                 "                         or neither\n"
                 "  -h, --help             this help\n\n"
                 "The admin key is never printed, and there is deliberately no option to give\n"
                 "it on the command line; the audit log never holds the challenge, the\n"
                 "response or a key.\n"
                 "Exit status: 0 response printed; 2 invalid input (bad hex, wrong length,\n"
                 "check value mismatch, unknown key, key file refused) or usage error;\n"
                 "1 internal failure.\n");
}

/* The admin key from standard input as hex (separators allowed). Messages
 * go to stderr and never contain what was typed. CF_EXIT_* status. */
static int read_admin_key(cf_secret_t **out)
{
    *out = NULL;
    int tty = isatty(STDIN_FILENO);
    if (tty) {
        tty_echo_off();
        fprintf(stderr, "admin key (hex, not shown): ");
        fflush(stderr);
    }
    char line[KEY_LINE_MAX];
    uint8_t key[32];
    size_t keylen = 0;
    long n = tty_read_line(line, sizeof(line));
    tty_restore();
    int status = CF_EXIT_USAGE;
    if (n < 0) {
        fprintf(stderr, "cardforge: the admin key line is too long\n");
    } else {
        /* Tolerate the line ending and blanks around the key. */
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = 0;
        size_t start = strspn(line, " \t");
        cf_err_t err = cf_keys_parse_hex(line + start, key, sizeof(key), &keylen);
        if (start == (size_t)n)
            fprintf(stderr, "cardforge: no admin key on standard input\n");
        else if (err == CF_ERR_BUFFER)
            fprintf(stderr, "cardforge: the admin key is longer than 32 bytes\n");
        else if (err != CF_OK)
            fprintf(stderr, "cardforge: the admin key is not hex (an even number of digits "
                            "0-9 A-F; spaces and dashes allowed)\n");
        else if (keylen != 16 && keylen != 24 && keylen != 32)
            fprintf(stderr,
                    "cardforge: the admin key has %zu bytes; it must have 16, 24 or 32 "
                    "(32, 48 or 64 hex digits)\n",
                    keylen);
        else if ((*out = cf_secret_new(key, keylen)) == NULL)
            status = CF_EXIT_FAIL;
        else
            status = CF_EXIT_OK;
    }
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(key, sizeof(key));
    return status;
}

/* ---- helpdesk response ----------------------------------------------------- */

struct response_args {
    const char *serial, *challenge, *check, *keyfile, *key, *key_type, *journal;
    unsigned key_version;
    int key_stdin;
    struct desk_audit_opts audit;
};

/* What an answer came to, for the audit event (copies: the key file and
 * the journal are gone by the time it is written). */
struct response_audit {
    struct desk_audit_what what;
    char serial[CF_KEYS_SERIAL_MAX + 1];
    char key[CF_KEYS_NAME_MAX + 1];
};

static int parse_version(const char *s, unsigned *out)
{
    if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 6)
        return -1;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != 0 || v > CF_KEYS_VERSION_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Parse the command line; CF_EXIT_OK to go on, -1 after --help. */
static int response_options(int argc, char **argv, struct response_args *a)
{
    enum {
        O_SERIAL = 256,
        O_CHALLENGE,
        O_CHECK,
        O_KEYFILE,
        O_KEY,
        O_KEY_VERSION,
        O_STDIN,
        O_TYPE,
        O_JOURNAL
    };
    static const struct option opts[] = {
        {"serial", required_argument, NULL, O_SERIAL},
        {"challenge", required_argument, NULL, O_CHALLENGE},
        {"check", required_argument, NULL, O_CHECK},
        {"keyfile", required_argument, NULL, O_KEYFILE},
        {"key", required_argument, NULL, O_KEY},
        {"key-version", required_argument, NULL, O_KEY_VERSION},
        {"admin-key-stdin", no_argument, NULL, O_STDIN},
        {"admin-key-type", required_argument, NULL, O_TYPE},
        {"journal", required_argument, NULL, O_JOURNAL},
        DESK_AUDIT_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    const char *version = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            response_usage(stdout);
            return -1;
        case O_SERIAL:
            a->serial = optarg;
            break;
        case O_CHALLENGE:
            a->challenge = optarg;
            break;
        case O_CHECK:
            a->check = optarg;
            break;
        case O_KEYFILE:
            a->keyfile = optarg;
            break;
        case O_KEY:
            a->key = optarg;
            break;
        case O_KEY_VERSION:
            version = optarg;
            break;
        case O_STDIN:
            a->key_stdin = 1;
            break;
        case O_TYPE:
            a->key_type = optarg;
            break;
        case O_JOURNAL:
            a->journal = optarg;
            break;
        default:
            if (desk_audit_option(c, optarg, &a->audit))
                break;
            response_usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    const char *problem = NULL;
    if (optind != argc)
        problem = "unexpected argument";
    else if (a->serial == NULL || a->challenge == NULL)
        problem = "--serial and --challenge are required";
    else if ((a->keyfile != NULL) == (a->key_stdin != 0))
        problem = "give either --keyfile with --key, or --admin-key-stdin";
    else if (a->keyfile != NULL && a->key == NULL && a->journal == NULL)
        problem = "--keyfile needs --key NAME or --journal JOURNAL";
    else if (a->journal != NULL && a->keyfile == NULL)
        problem = "--journal goes with --keyfile";
    else if (a->keyfile == NULL && (a->key != NULL || version != NULL))
        problem = "--key and --key-version go with --keyfile";
    else if (version != NULL && parse_version(version, &a->key_version) != 0)
        problem = "--key-version must be a whole number from 1 to 999999";
    if (problem != NULL) {
        fprintf(stderr, "cardforge helpdesk response: %s\n", problem);
        response_usage(stderr);
        return CF_EXIT_USAGE;
    }
    return CF_EXIT_OK;
}

/* The master key name and version of serial's admin key from the journal.
 * CF_EXIT_* status; messages on stderr. */
static int key_from_journal(const struct response_args *a, const char *serial, journal_key_t *f)
{
    char err[512];
    cf_err_t e = journal_key_find(&a->journal, 1, serial, f, err, sizeof(err));
    if (e != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err[0] ? err : cf_strerror(e));
        return e == CF_ERR_NOMEM ? CF_EXIT_FAIL : CF_EXIT_USAGE;
    }
    if (f->line == 0) {
        fprintf(stderr,
                "cardforge: %s has no card %s whose admin key was derived from a master key;\n"
                "  check the serial, or give --key NAME --key-version N from the card's "
                "order\n",
                a->journal, serial);
        return CF_EXIT_USAGE;
    }
    if (f->unknown) {
        fprintf(stderr,
                "cardforge: %s:%lu: the card's admin key change may not have finished, so the\n"
                "  card may still have its previous key; run the batch again to settle it "
                "before answering\n",
                a->journal, f->line);
        return CF_EXIT_USAGE;
    }
    if ((a->key != NULL && strcmp(a->key, f->key) != 0) ||
        (a->key_version != 0 && a->key_version != f->version)) {
        fprintf(stderr,
                "cardforge: %s:%lu: the card's admin key comes from master key '%s' version %u, "
                "not the one given\n",
                a->journal, f->line, f->key, f->version);
        return CF_EXIT_USAGE;
    }
    return CF_EXIT_OK;
}

/* The card's admin key from the master key named in the arguments. */
static int derive_admin_key(const struct response_args *a, const char *serial,
                            cf_card_key_type_t type, cf_secret_t **out, char *source, size_t srclen,
                            struct response_audit *ra)
{
    const char *name = a->key;
    unsigned version = a->key_version;
    journal_key_t jf;
    if (a->journal != NULL) {
        int status = key_from_journal(a, serial, &jf);
        if (status != CF_EXIT_OK)
            return status;
        name = jf.key;
        version = jf.version;
    }
    char err[CF_KEYS_ERRLEN];
    cf_keyfile_t *kf = NULL;
    cf_err_t e = cf_keyfile_load(a->keyfile, &kf, err, sizeof(err));
    for (size_t i = 0; i < cf_keyfile_warning_count(kf); i++)
        fprintf(stderr, "cardforge: warning: %s\n", cf_keyfile_warning(kf, i));
    if (e != CF_OK) {
        fprintf(stderr, "cardforge: %s\n", err[0] ? err : cf_strerror(e));
        return e == CF_ERR_NOMEM ? CF_EXIT_FAIL : CF_EXIT_USAGE;
    }
    const cf_master_key_t *mk = cf_keyfile_find(kf, name, version);
    if (mk == NULL) {
        if (version != 0)
            fprintf(stderr, "cardforge: %s has no master key '%s' version %u\n", a->keyfile, name,
                    version);
        else
            fprintf(stderr, "cardforge: %s has no master key named '%s'\n", a->keyfile, name);
        fprintf(stderr, "  keys in the file:");
        for (size_t i = 0; i < cf_keyfile_count(kf); i++)
            fprintf(stderr, " %s/%u", cf_master_key_name(cf_keyfile_key(kf, i)),
                    cf_master_key_version(cf_keyfile_key(kf, i)));
        fprintf(stderr, "\n");
        cf_keyfile_free(kf);
        return CF_EXIT_USAGE;
    }
    snprintf(ra->key, sizeof(ra->key), "%s", cf_master_key_name(mk));
    ra->what.key_name = ra->key;
    ra->what.key_version = cf_master_key_version(mk);
    snprintf(source, srclen, "derived from master key '%s' version %u (%s%s%s)",
             cf_master_key_name(mk), cf_master_key_version(mk), cf_card_key_type_name(type),
             cf_master_key_in_token(mk) ? ", in the token" : "",
             a->journal != NULL ? ", version from the journal" : "");
    e = cf_keys_derive(mk, CF_KEY_PURPOSE_ADMIN, serial, type, out);
    cf_keyfile_free(kf);
    if (e != CF_OK) {
        fprintf(stderr, "cardforge: deriving the admin key failed: %s\n", cf_strerror(e));
        return CF_EXIT_FAIL;
    }
    return CF_EXIT_OK;
}

/* The admin key type: as asked, or the usual one for the challenge length;
 * refused when that cipher cannot answer such a challenge. */
static int choose_key_type(const char *name, size_t chlen, cf_card_key_type_t *type)
{
    if (name == NULL) {
        *type = chlen == 8 ? CF_CARD_KEY_3DES : CF_CARD_KEY_AES128;
        return CF_EXIT_OK;
    }
    if (cf_card_key_type_parse(name, type) != CF_OK) {
        fprintf(stderr,
                "cardforge: unknown admin key type '%s'; use 3des, 3des2, aes128, aes192 "
                "or aes256\n",
                name);
        return CF_EXIT_USAGE;
    }
    int is_des = *type == CF_CARD_KEY_3DES || *type == CF_CARD_KEY_3DES2;
    if (is_des != (chlen == 8)) {
        fprintf(stderr, "cardforge: %s challenge is answered with %s, not with a %s key\n",
                chlen == 8 ? "an 8-byte" : "a 16-byte",
                chlen == 8 ? "3DES (3des or 3des2)" : "AES (aes128, aes192 or aes256)", name);
        return CF_EXIT_USAGE;
    }
    return CF_EXIT_OK;
}

/* Compute and print the response; the audit event is written (into da,
 * when asked for) before anything of the response is shown. */
static int response_answer(const struct response_args *ap, struct desk_audit *da,
                           struct response_audit *ra)
{
    const struct response_args a = *ap;
    int status;
    char *serial = ra->serial;
    if (cf_keys_serial_normalize(a.serial, serial, sizeof(ra->serial)) != CF_OK) {
        fprintf(stderr,
                "cardforge: the serial must be 1 to %d hex or decimal digits "
                "(spaces and dashes allowed)\n",
                CF_KEYS_SERIAL_MAX);
        return CF_EXIT_USAGE;
    }
    uint8_t challenge[16];
    size_t chlen = 0;
    cf_err_t e = cf_keys_parse_hex(a.challenge, challenge, sizeof(challenge), &chlen);
    if (e == CF_ERR_PARSE) {
        fprintf(stderr, "cardforge: the challenge is not hex (an even number of digits "
                        "0-9 A-F; spaces and dashes allowed)\n");
        return CF_EXIT_USAGE;
    }
    if (e == CF_ERR_BUFFER || (chlen != 8 && chlen != 16)) {
        fprintf(stderr,
                "cardforge: the challenge must be 8 or 16 bytes (16 or 32 hex digits), "
                "not %s\n",
                e == CF_ERR_BUFFER ? "more than 16"
                : chlen < 8        ? "fewer"
                                   : "in between");
        return CF_EXIT_USAGE;
    }
    ra->what.serial = serial;
    char ch_check[CF_KEYS_CHECK_SIZE];
    cf_keys_check_value_bytes(challenge, chlen, ch_check);
    if (a.check != NULL) {
        e = cf_keys_check_matches(a.challenge, a.check);
        if (e == CF_ERR_PARSE) {
            fprintf(stderr, "cardforge: --check takes the two-digit check value (00 to 96) "
                            "shown beside the challenge\n");
            return CF_EXIT_USAGE;
        }
        if (e != CF_OK) {
            ra->what.err = CF_ERR_INVALID;
            ra->what.note = "challenge check value mismatch; no response given";
            fprintf(stderr,
                    "cardforge: check value mismatch: the challenge as typed has check value "
                    "%s, not %s.\n"
                    "  A digit was misheard or mistyped: read the challenge back to the "
                    "caller and type it again.\n",
                    ch_check, a.check);
            return CF_EXIT_USAGE;
        }
    }
    cf_card_key_type_t type;
    status = choose_key_type(a.key_type, chlen, &type);
    if (status != CF_EXIT_OK)
        return status;

    cf_secret_t *admin = NULL;
    char source[CF_KEYS_NAME_MAX + 128];
    if (a.key_stdin) {
        status = read_admin_key(&admin);
        if (status == CF_EXIT_OK && a.key_type != NULL &&
            cf_secret_len(admin) != cf_card_key_len(type)) {
            fprintf(stderr, "cardforge: the admin key has %zu bytes; a %s key has %zu\n",
                    cf_secret_len(admin), a.key_type, cf_card_key_len(type));
            status = CF_EXIT_USAGE;
        }
        snprintf(source, sizeof(source), "read from standard input (%zu bytes)",
                 cf_secret_len(admin));
    } else {
        status = derive_admin_key(&a, serial, type, &admin, source, sizeof(source), ra);
    }
    if (status != CF_EXIT_OK) {
        cf_secret_free(admin);
        return status;
    }

    cf_secret_t *resp = NULL;
    e = cf_keys_unblock_response(admin, challenge, chlen, &resp);
    if (e == CF_ERR_INVALID) {
        fprintf(stderr,
                "cardforge: an admin key of %zu bytes cannot answer %s challenge "
                "(8-byte: 3DES key of 16 or 24 bytes; 16-byte: AES key of 16, 24 or 32)\n",
                cf_secret_len(admin), chlen == 8 ? "an 8-byte" : "a 16-byte");
        cf_secret_free(admin);
        return CF_EXIT_USAGE;
    }
    cf_secret_free(admin);
    if (e != CF_OK) {
        fprintf(stderr, "cardforge: computing the response failed: %s\n", cf_strerror(e));
        return CF_EXIT_FAIL;
    }

    char serial_g[CF_KEYS_SERIAL_MAX + CF_KEYS_SERIAL_MAX / 4 + 1], serial_cv[3];
    char ch_g[CF_KEYS_GROUPED_SIZE(16)], resp_g[CF_KEYS_GROUPED_SIZE(16)], resp_cv[3];
    cf_keys_group(serial, serial_g, sizeof(serial_g));
    cf_keys_check_value(serial, serial_cv);
    cf_keys_group_bytes(challenge, chlen, ch_g, sizeof(ch_g));
    cf_keys_group_bytes(cf_secret_data(resp), chlen, resp_g, sizeof(resp_g));
    cf_keys_check_value_bytes(cf_secret_data(resp), chlen, resp_cv);
    cf_secret_free(resp);
    /* Logged before it is shown: a response the log lacks is never given. */
    ra->what.note = a.key_stdin ? "admin key typed, not derived" : NULL;
    if (desk_audit_record(da, CF_EXIT_OK, &ra->what) != CF_EXIT_OK) {
        OPENSSL_cleanse(resp_g, sizeof(resp_g));
        OPENSSL_cleanse(resp_cv, sizeof(resp_cv));
        fprintf(stderr, "cardforge: no response shown\n");
        return CF_EXIT_FAIL;
    }
    int w = (int)strlen(serial_g);
    if ((int)strlen(ch_g) > w)
        w = (int)strlen(ch_g);
    printf("serial     %-*s  check %s\n", w, serial_g, serial_cv);
    printf("challenge  %-*s  check %s\n", w, ch_g, ch_check);
    printf("admin key  %s\n", source);
    printf("response   %-*s  check %s\n", w, resp_g, resp_cv);
    fflush(stdout);
    OPENSSL_cleanse(resp_g, sizeof(resp_g));
    OPENSSL_cleanse(resp_cv, sizeof(resp_cv));
    return ferror(stdout) ? CF_EXIT_FAIL : CF_EXIT_OK;
}

static int helpdesk_response(int argc, char **argv)
{
    struct response_args a;
    int status = response_options(argc, argv, &a);
    if (status != CF_EXIT_OK)
        return status < 0 ? CF_EXIT_OK : status;
    struct desk_audit da;
    status = desk_audit_open("cardforge helpdesk response", "response", &a.audit, &da);
    if (status != CF_EXIT_OK)
        return status;
    da.nothing_done = "no response given";
    struct response_audit ra = {0};
    status = response_answer(&a, &da, &ra);
    /* A refusal or failure is logged as well (a success already is). */
    status = desk_audit_record(&da, status, &ra.what);
    return desk_audit_close(&da, status);
}

int cmd_helpdesk(int argc, char **argv)
{
    if (argc < 2) {
        helpdesk_usage(stderr);
        return CF_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        helpdesk_usage(stdout);
        return CF_EXIT_OK;
    }
    if (strcmp(argv[1], "response") == 0)
        return helpdesk_response(argc - 1, argv + 1);
    if (strcmp(argv[1], "operator") == 0)
        return cmd_helpdesk_operator(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_helpdesk_serve(argc - 1, argv + 1);
    fprintf(stderr,
            "cardforge helpdesk: '%s' is not a subcommand; see "
            "'cardforge helpdesk --help'\n",
            argv[1]);
    return CF_EXIT_USAGE;
}
