/*
 * simcard.c - the part of a virtual card every card type shares.
 *
 * Power, ISO chaining in both directions, the state file and the cost
 * counters live here so that the PIV and GIDS cards contain only what makes
 * them PIV or GIDS. Chaining is handled before a card type sees a command:
 * a chained command reaches it once, whole; a long response leaves in
 * 256-byte pieces announced with 61xx and fetched with GET RESPONSE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cardforge/secret.h>

#include "simcard/simcard_int.h"
#include "util/hex.h"

#define CHAIN_MAX 16384
#define RESP_CAP 65536
#define CHUNK 256

static void clear_volatile(cf_simcard_t *card)
{
    card->chaining = 0;
    cf_wipe(card->chain, card->chain_len);
    card->chain_len = 0;
    cf_wipe(card->pending, card->pending_len);
    card->pending_len = card->pending_off = 0;
    card->ops->reset(card);
}

/* A card of a parsed variant; cf_simcard_new and the loader share it. */
static cf_err_t new_variant(const struct cf_simcard_variant *v, const char *factory,
                            uint32_t serial, int from_file, cf_simcard_t **out)
{
    *out = NULL;
    const struct cf_simcard_ops *ops = cf_simcard_base_ops(v->base);
    cf_simcard_t *card = calloc(1, sizeof(*card));
    if (card == NULL)
        return CF_ERR_NOMEM;
    card->ops = ops;
    card->base = v->base;
    card->quirks = v->quirks;
    card->from_file = from_file;
    cf_simcard_variant_name(v, 0, card->type, sizeof(card->type));
    card->serial = serial;
    card->chain = malloc(CHAIN_MAX);
    card->pending = malloc(RESP_CAP);
    if (card->chain == NULL || card->pending == NULL) {
        free(card->chain);
        free(card->pending);
        free(card);
        return CF_ERR_NOMEM;
    }
    cf_err_t err = ops->create(card, factory);
    if (err != CF_OK) {
        free(card->chain);
        free(card->pending);
        free(card);
        return err;
    }
    snprintf(card->factory, sizeof(card->factory), "%s", factory ? factory : ops->default_factory);
    *out = card;
    return CF_OK;
}

cf_err_t cf_simcard_new(const char *type, const char *factory, uint32_t serial, cf_simcard_t **out)
{
    struct cf_simcard_variant v;
    *out = NULL;
    if (cf_simcard_variant_parse(type, &v, NULL, 0) < 0)
        return CF_ERR_NOT_FOUND;
    return new_variant(&v, factory, serial, 0, out);
}

void cf_simcard_free(cf_simcard_t *card)
{
    if (card == NULL)
        return;
    card->ops->destroy(card);
    OPENSSL_cleanse(card->chain, CHAIN_MAX);
    OPENSSL_cleanse(card->pending, RESP_CAP);
    free(card->chain);
    free(card->pending);
    free(card->state_path);
    free(card);
}

const char *cf_simcard_type(const cf_simcard_t *card)
{
    return card->type;
}

const char *cf_simcard_factory(const cf_simcard_t *card)
{
    return card->factory;
}

uint32_t cf_simcard_serial(const cf_simcard_t *card)
{
    return card->serial;
}

size_t cf_simcard_atr(const cf_simcard_t *card, uint8_t *atr, size_t cap)
{
    size_t n = cf_simcard_quirk_atr(card, atr, cap);
    return n > 0 ? n : card->ops->atr(card, atr, cap);
}

void cf_simcard_power_on(cf_simcard_t *card)
{
    clear_volatile(card);
    card->powered = 1;
}

void cf_simcard_reset(cf_simcard_t *card)
{
    clear_volatile(card);
    card->powered = 1;
}

void cf_simcard_power_off(cf_simcard_t *card)
{
    clear_volatile(card);
    card->powered = 0;
}

cf_simcard_cost_t cf_simcard_last_cost(const cf_simcard_t *card)
{
    return card->cost;
}

void cf_simcard_count_crypto(cf_simcard_t *card)
{
    card->cost.crypto_ops++;
}

void cf_simcard_count(cf_simcard_t *card, enum cf_sim_cost_kind kind)
{
    switch (kind) {
    case CF_SIM_COST_KEYGEN_RSA:
        card->cost.keygen_rsa++;
        break;
    case CF_SIM_COST_KEYGEN_EC:
        card->cost.keygen_ec++;
        break;
    case CF_SIM_COST_PRIVATE_RSA:
        card->cost.private_rsa++;
        break;
    case CF_SIM_COST_PRIVATE_EC:
        card->cost.private_ec++;
        break;
    }
}

/* How many data bytes one answer to cmd may carry. A short Le below 256 is
 * honoured as a YubiKey does (OpenSC reads an object's first 8 bytes with
 * Le=08 and expects 8 bytes + 61xx); a short command without Le gets up to
 * 256 (ykpiv never sends Le but wants data back); an extended Le gets what
 * it asks for. */
static size_t answer_limit(const cf_apdu_t *cmd)
{
    return cmd->has_le ? cmd->ne : CHUNK;
}

/* Hand out the next piece (at most limit bytes) of a pending response. */
static void serve_pending(cf_simcard_t *card, size_t limit, uint8_t *resp, size_t *resp_len)
{
    size_t left = card->pending_len - card->pending_off;
    size_t n = left > limit ? limit : left;
    memcpy(resp, card->pending + card->pending_off, n);
    card->pending_off += n;
    left -= n;
    if (left == 0) {
        cf_wipe(card->pending, card->pending_len);
        card->pending_len = card->pending_off = 0;
        resp[n] = 0x90;
        resp[n + 1] = 0x00;
    } else {
        resp[n] = 0x61;
        resp[n + 1] = (uint8_t)(left > 255 ? 0 : left);
    }
    *resp_len = n + 2;
}

static void set_sw(uint8_t *resp, size_t off, uint16_t sw, size_t *resp_len)
{
    resp[off] = (uint8_t)(sw >> 8);
    resp[off + 1] = (uint8_t)sw;
    *resp_len = off + 2;
}

cf_err_t cf_simcard_transmit(cf_simcard_t *card, const uint8_t *apdu, size_t len, uint8_t *resp,
                             size_t *resp_len)
{
    if (!card->powered)
        return CF_ERR_NO_CARD;
    memset(&card->cost, 0, sizeof(card->cost));
    card->cost.bytes_in = len;

    cf_apdu_t cmd;
    if (cf_apdu_parse(apdu, len, &cmd) < 0) {
        set_sw(resp, 0, SW_WRONG_LENGTH, resp_len);
        goto done;
    }
    if (cmd.cla == 0xff || (cmd.cla & 0x80)) {
        set_sw(resp, 0, SW_CLA_NOT_SUPPORTED, resp_len);
        goto done;
    }

    /* GET RESPONSE continues a pending response; any other command drops it. */
    if (cmd.ins == 0xC0 && card->pending_len > 0) {
        serve_pending(card, answer_limit(&cmd), resp, resp_len);
        goto done;
    }
    if (card->pending_len > 0) {
        cf_wipe(card->pending, card->pending_len);
        card->pending_len = card->pending_off = 0;
    }

    if (cmd.cla & 0x10) { /* a link of a chain: collect, answer 9000 */
        if (card->chaining &&
            (cmd.ins != card->chain_ins || cmd.p1 != card->chain_p1 || cmd.p2 != card->chain_p2)) {
            cf_wipe(card->chain, card->chain_len);
            card->chain_len = 0;
            card->chaining = 0;
            set_sw(resp, 0, SW_CONDITIONS, resp_len);
            goto done;
        }
        if (card->chain_len + cmd.nc > CHAIN_MAX) {
            cf_wipe(card->chain, card->chain_len);
            card->chain_len = 0;
            card->chaining = 0;
            set_sw(resp, 0, SW_WRONG_LENGTH, resp_len);
            goto done;
        }
        if (cmd.nc > 0)
            memcpy(card->chain + card->chain_len, cmd.data, cmd.nc);
        card->chain_len += cmd.nc;
        card->chaining = 1;
        card->chain_ins = cmd.ins;
        card->chain_p1 = cmd.p1;
        card->chain_p2 = cmd.p2;
        set_sw(resp, 0, SW_OK, resp_len);
        goto done;
    }
    if (card->chaining) { /* the last link */
        int same =
            cmd.ins == card->chain_ins && cmd.p1 == card->chain_p1 && cmd.p2 == card->chain_p2;
        if (!same || card->chain_len + cmd.nc > CHAIN_MAX) {
            cf_wipe(card->chain, card->chain_len);
            card->chain_len = 0;
            card->chaining = 0;
            set_sw(resp, 0, same ? SW_WRONG_LENGTH : SW_CONDITIONS, resp_len);
            goto done;
        }
        if (cmd.nc > 0)
            memcpy(card->chain + card->chain_len, cmd.data, cmd.nc);
        card->chain_len += cmd.nc;
        cmd.data = card->chain;
        cmd.nc = card->chain_len;
        card->chaining = 0;
    }

    cf_wcursor w = cf_wcursor_init(card->pending, RESP_CAP);
    uint16_t sw = card->ops->process(card, &cmd, &w);
    if (card->chain_len > 0) {
        cf_wipe(card->chain, card->chain_len);
        card->chain_len = 0;
    }
    if (w.overflow) {
        cf_wipe(card->pending, w.len);
        set_sw(resp, 0, SW_UNKNOWN, resp_len);
        goto done;
    }
    if (w.len > answer_limit(&cmd) && sw == SW_OK) {
        /* Long answer: the host fetches the rest with GET RESPONSE. */
        card->pending_len = w.len;
        card->pending_off = 0;
        serve_pending(card, answer_limit(&cmd), resp, resp_len);
        goto done;
    }
    memcpy(resp, card->pending, w.len);
    cf_wipe(card->pending, w.len);
    set_sw(resp, w.len, sw, resp_len);
done:
    card->cost.bytes_out = *resp_len;
    return CF_OK;
}

/* ---- state file ---- */

void cf_simcard_put_hex(FILE *f, const char *key, const uint8_t *p, size_t len)
{
    fprintf(f, "%s=", key);
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%02X", p[i]);
    fputc('\n', f);
}

long cf_simcard_get_hex(const char *value, uint8_t *out, size_t cap)
{
    size_t n = strlen(value);
    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    if (n == 0)
        return 0;
    if (cf_hex_decode(value, n, out, cap) != CF_OK)
        return -1;
    return (long)(n / 2);
}

int cf_simcard_get_uint(const char *value, unsigned long max, unsigned long *out)
{
    if (value[0] < '0' || value[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    if (errno != 0 || *end != 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

void cf_simcard_put_bcd(uint32_t v, uint8_t *out, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        uint8_t lo = (uint8_t)(v % 10);
        v /= 10;
        uint8_t hi = (uint8_t)(v % 10);
        v /= 10;
        out[i] = (uint8_t)((hi << 4) | lo);
    }
}

/* The rename is durable only once the directory holding the file is on
 * disk: a card that lost power right after a change must come back with it
 * (the counter rule above depends on it). */
static int sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - path) < sizeof(dir))
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Some file systems (and /proc) cannot sync a directory: that is no
     * failure of the save. */
    int rc = fsync(fd) == 0 || errno == EINVAL || errno == EROFS ? 0 : -1;
    close(fd);
    return rc;
}

cf_err_t cf_simcard_save(const cf_simcard_t *card, const char *path)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (tmp == NULL)
        return CF_ERR_NOMEM;
    snprintf(tmp, plen + 8, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(tmp);
        return CF_ERR_IO;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return CF_ERR_IO;
    }
    char quirks[CF_SIMCARD_TYPE_MAX];
    struct cf_simcard_variant v = {card->base, card->quirks};
    cf_simcard_variant_name(&v, 1, quirks, sizeof(quirks));
    fprintf(f, "type=%s\nquirks=%s\nfactory=%s\nserial=%lu\n", cf_simcard_base_name(card->base),
            quirks, card->factory, (unsigned long)card->serial);
    int bad = card->ops->save(card, f) < 0;
    bad |= fflush(f) != 0;
    bad |= fsync(fd) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        free(tmp);
        return CF_ERR_IO;
    }
    free(tmp);
    return sync_dir_of(path) == 0 ? CF_OK : CF_ERR_IO;
}

int cf_simcard_persist(cf_simcard_t *card)
{
    card->cost.nv_writes++;
    if (card->state_path == NULL)
        return 0;
    return cf_simcard_save(card, card->state_path) == CF_OK ? 0 : -1;
}

cf_err_t cf_simcard_set_state_file(cf_simcard_t *card, const char *path)
{
    free(card->state_path);
    card->state_path = NULL;
    if (path == NULL)
        return CF_OK;
    card->state_path = strdup(path);
    if (card->state_path == NULL)
        return CF_ERR_NOMEM;
    return cf_simcard_save(card, path);
}

/* The variant a state file's header names. A file written before card
 * variants has no quirks line, and its type names the card of that time:
 * "piv" was the YubiKey card and "gids" had the readable admin-key counter
 * (docs/cards/vcard.md, "Variants"). Returns 0, or -1 with a message. */
static int header_variant(const char *type, const char *quirks, struct cf_simcard_variant *v,
                          char *err, size_t errlen)
{
    static const struct {
        const char *type, *variant;
    } legacy[] = {{"piv", "yubikey"}, {"gids", "gids+admin-counter"}};
    char name[2 * CF_SIMCARD_TYPE_MAX + 2];
    if (strchr(type, '+') != NULL) {
        snprintf(err, errlen,
                 "type: expected a base (piv, yubikey or gids), the quirks go on "
                 "the quirks line");
        return -1;
    }
    snprintf(name, sizeof(name), "%s", type);
    if (quirks == NULL) {
        for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
            if (strcmp(type, legacy[i].type) == 0)
                snprintf(name, sizeof(name), "%s", legacy[i].variant);
    } else if (quirks[0] != '\0') {
        snprintf(name, sizeof(name), "%s+%s", type, quirks);
    }
    return cf_simcard_variant_parse(name, v, err, errlen);
}

/* Lines are at most this long; the largest value is a data object in hex. */
#define LINE_MAX_LEN (2 * 16384 + 64)

cf_err_t cf_simcard_load(const char *path, char *errbuf, size_t errlen, cf_simcard_t **out)
{
    *out = NULL;
    char dummy[1];
    if (errbuf == NULL) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open", path);
        return CF_ERR_IO;
    }
    char *line = malloc(LINE_MAX_LEN + 2);
    if (line == NULL) {
        fclose(f);
        return CF_ERR_NOMEM;
    }
    char type[CF_SIMCARD_TYPE_MAX] = "", quirks[CF_SIMCARD_TYPE_MAX] = "", factory[32] = "";
    unsigned long serial = 0;
    int have_serial = 0, have_quirks = 0;
    cf_simcard_t *card = NULL;
    cf_err_t err = CF_OK;
    unsigned long lineno = 0;
    while (fgets(line, LINE_MAX_LEN + 2, f) != NULL) {
        lineno++;
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        else if (!feof(f)) {
            snprintf(errbuf, errlen, "%s:%lu: line too long", path, lineno);
            err = CF_ERR_PARSE;
            break;
        }
        if (n == 0 || line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            snprintf(errbuf, errlen, "%s:%lu: expected key=value", path, lineno);
            err = CF_ERR_PARSE;
            break;
        }
        *eq = 0;
        const char *key = line, *val = eq + 1;
        if (card == NULL) {
            /* The header keys come first, in the order save writes them;
             * quirks is absent from files written before card variants. */
            if (strcmp(key, "type") == 0 && strlen(val) < sizeof(type)) {
                snprintf(type, sizeof(type), "%s", val);
                continue;
            }
            if (strcmp(key, "quirks") == 0 && strlen(val) < sizeof(quirks)) {
                snprintf(quirks, sizeof(quirks), "%s", val);
                have_quirks = 1;
                continue;
            }
            if (strcmp(key, "factory") == 0 && strlen(val) < sizeof(factory)) {
                snprintf(factory, sizeof(factory), "%s", val);
                continue;
            }
            if (strcmp(key, "serial") == 0 && cf_simcard_get_uint(val, UINT32_MAX, &serial) == 0) {
                have_serial = 1;
            } else {
                snprintf(errbuf, errlen, "%s:%lu: expected type, quirks, factory and serial first",
                         path, lineno);
                err = CF_ERR_PARSE;
                break;
            }
            if (type[0] == 0 || !have_serial) {
                snprintf(errbuf, errlen, "%s:%lu: missing type", path, lineno);
                err = CF_ERR_PARSE;
                break;
            }
            struct cf_simcard_variant v;
            char msg[160] = "";
            if (header_variant(type, have_quirks ? quirks : NULL, &v, msg, sizeof(msg)) < 0) {
                snprintf(errbuf, errlen, "%s: %s", path, msg);
                err = CF_ERR_PARSE;
                break;
            }
            err = new_variant(&v, factory[0] ? factory : NULL, (uint32_t)serial, 1, &card);
            if (err != CF_OK) {
                snprintf(errbuf, errlen, "%s: no factory state '%s' for %s cards", path,
                         factory[0] ? factory : "(default)", type);
                err = CF_ERR_PARSE;
                break;
            }
            continue;
        }
        char msg[128] = "";
        if (card->ops->load(card, key, val, msg, sizeof(msg)) < 0) {
            snprintf(errbuf, errlen, "%s:%lu: %s: %s", path, lineno, key,
                     msg[0] ? msg : "unknown key or bad value");
            err = CF_ERR_PARSE;
            break;
        }
    }
    OPENSSL_cleanse(line, LINE_MAX_LEN + 2);
    free(line);
    fclose(f);
    if (err == CF_OK && card == NULL) {
        snprintf(errbuf, errlen, "%s: no card in state file", path);
        err = CF_ERR_PARSE;
    }
    if (err == CF_OK && card->ops->loaded != NULL) {
        char msg[128] = "";
        if (card->ops->loaded(card, msg, sizeof(msg)) < 0) {
            snprintf(errbuf, errlen, "%s: %s", path, msg[0] ? msg : "inconsistent state");
            err = CF_ERR_PARSE;
        }
    }
    if (err != CF_OK) {
        cf_simcard_free(card);
        return err;
    }
    *out = card;
    return CF_OK;
}
