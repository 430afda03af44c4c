/*
 * verify.c - checking an audit log: chain, sequence and signatures.
 *
 * The log is read once, line by line through a fixed buffer (a line longer
 * than CF_AUDIT_MAX_LINE is malformed, never buffered further), keeping per
 * line only its seq, its hash and its "prev" (72 bytes). Then the first
 * break is found and explained with what is around it:
 *   - lines i..j-1 were inserted when line j links to the line before i;
 *   - lines were deleted when the seq jumps forward and the link breaks;
 *   - otherwise a line was edited: the one before the break when line i
 *     still links to its own successor, else line i itself.
 * Checkpoints are verified where they stand, so an edited checkpoint is
 * reported as such. A log that does not end with a final checkpoint is
 * damaged (its tail may have been cut) unless the caller says it is still
 * being written.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "audit/audit_int.h"
#include "util/hex.h"

typedef struct rec {
    uint64_t seq;
    uint8_t hash[CF_AUDIT_HASH_LEN];
    uint8_t prev[CF_AUDIT_HASH_LEN];
} rec_t;

static void report(cf_audit_report_t *rep, cf_audit_damage_t d, unsigned long line, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void report(cf_audit_report_t *rep, cf_audit_damage_t d, unsigned long line, const char *fmt,
                   ...)
{
    rep->damage = d;
    rep->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
    va_end(ap);
}

const char *cf_audit_damage_name(cf_audit_damage_t d)
{
    switch (d) {
    case CF_AUDIT_INTACT:
        return "intact";
    case CF_AUDIT_MALFORMED:
        return "malformed";
    case CF_AUDIT_EDITED:
        return "edited";
    case CF_AUDIT_INSERTED:
        return "inserted";
    case CF_AUDIT_DELETED:
        return "deleted";
    case CF_AUDIT_BAD_SIGNATURE:
        return "bad-signature";
    case CF_AUDIT_WRONG_KEY:
        return "wrong-key";
    case CF_AUDIT_TORN:
        return "torn";
    case CF_AUDIT_TAIL_UNSEALED:
        return "tail-unsealed";
    case CF_AUDIT_EMPTY:
        return "empty";
    }
    return "unknown";
}

/* Read one line into buf (without its end). 1 a complete line, 0 end of
 * input, -1 a last line without line end (*len its bytes), -2 a line too
 * long (consumed). */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int c, toolong = 0;
    while ((c = getc(f)) != EOF) {
        if (c == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = (char)c;
        else
            toolong = 1;
    }
    *len = n;
    if (c == EOF && n == 0 && !toolong)
        return 0;
    if (toolong)
        return c == EOF ? -1 : -2;
    return c == EOF ? -1 : 1;
}

/* Explain the first break, at index i (0-based) of n records. */
static void explain_break(const rec_t *r, size_t i, size_t n, cf_audit_report_t *rep)
{
    static const uint8_t zero[CF_AUDIT_HASH_LEN] = {0};
    const uint8_t *want_prev = i == 0 ? zero : r[i - 1].hash;
    uint64_t want_seq = i == 0 ? 1 : r[i - 1].seq + 1;
    int link_ok = memcmp(r[i].prev, want_prev, CF_AUDIT_HASH_LEN) == 0;
    for (size_t j = i + 1; !link_ok && j < n; j++) {
        if (r[j].seq == want_seq && memcmp(r[j].prev, want_prev, CF_AUDIT_HASH_LEN) == 0) {
            report(rep, CF_AUDIT_INSERTED, i + 1,
                   "line %zu was inserted (%zu line%s, %zu-%zu, not in the chain: line %zu "
                   "continues from line %zu)",
                   i + 1, j - i, j - i == 1 ? "" : "s", i + 1, j, j + 1, i);
            return;
        }
    }
    /* Lines made to fit the chain before them: the first genuine line
     * after them links to a line further back. */
    for (size_t k = i >= 2 ? i - 2 : 0; !link_ok && i >= 2 && i - k < 4096; k--) {
        if (memcmp(r[i].prev, r[k].hash, CF_AUDIT_HASH_LEN) == 0) {
            report(rep, CF_AUDIT_INSERTED, k + 2,
                   "line %zu was inserted (%zu line%s, %zu-%zu, not in the chain: line %zu "
                   "continues from line %zu)",
                   k + 2, i - 1 - k, i - 1 - k == 1 ? "" : "s", k + 2, i, i + 1, k + 1);
            return;
        }
        if (k == 0)
            break;
    }
    if (!link_ok && r[i].seq > want_seq) {
        report(rep, CF_AUDIT_DELETED, i + 1,
               "%llu line%s deleted before line %zu (seq %llu to %llu are missing)",
               (unsigned long long)(r[i].seq - want_seq), r[i].seq - want_seq == 1 ? "" : "s",
               i + 1, (unsigned long long)want_seq, (unsigned long long)(r[i].seq - 1));
        return;
    }
    size_t bad = i + 1; /* 1-based: line i+1 itself */
    if (!link_ok && r[i].seq == want_seq && i > 0 &&
        (i + 1 >= n || memcmp(r[i + 1].prev, r[i].hash, CF_AUDIT_HASH_LEN) == 0))
        bad = i; /* line i+1 is as written; the one before it changed */
    report(rep, CF_AUDIT_EDITED, bad,
           "line %zu was changed (the hash chain breaks between lines %zu and %zu)", bad, i, i + 1);
}

void cf_audit_verify_stream(FILE *f, EVP_PKEY *pub, unsigned flags, cf_audit_report_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    uint8_t keyid[CF_AUDIT_KEYID_LEN];
    if (cf_audit_key_id(pub, keyid) != 0) {
        report(rep, CF_AUDIT_WRONG_KEY, 0, "the public key is not an Ed25519 key");
        return;
    }
    char *buf = malloc(CF_AUDIT_MAX_LINE + 1);
    rec_t *r = NULL;
    size_t n = 0, cap = 0;
    int last_final = 0, found = 0;
    if (buf == NULL) {
        report(rep, CF_AUDIT_MALFORMED, 0, "out of memory");
        return;
    }
    for (;;) {
        size_t len;
        int got = read_line(f, buf, CF_AUDIT_MAX_LINE, &len);
        if (got == 0)
            break;
        if (got == -1) {
            report(rep, CF_AUDIT_TORN, n + 1,
                   "line %zu is cut short (%zu bytes without a line end): the log was cut "
                   "there",
                   n + 1, len);
            found = 1;
            break;
        }
        cf_audit_line_t line;
        if (got == -2 || cf_audit_parse_line(buf, len, &line) != 0) {
            report(rep, CF_AUDIT_MALFORMED, n + 1, "line %zu is not an audit line (changed)",
                   n + 1);
            found = 1;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            rec_t *nr = realloc(r, ncap * sizeof(*r));
            if (nr == NULL) {
                report(rep, CF_AUDIT_MALFORMED, n + 1, "out of memory at line %zu", n + 1);
                found = 1;
                break;
            }
            r = nr;
            cap = ncap;
        }
        buf[len] = '\n';
        r[n].seq = line.seq;
        memcpy(r[n].prev, line.prev, CF_AUDIT_HASH_LEN);
        SHA256((const uint8_t *)buf, len + 1, r[n].hash);
        n++;
        if (!line.checkpoint)
            continue;
        if (memcmp(line.keyid, keyid, sizeof(keyid)) != 0) {
            char a[2 * CF_AUDIT_KEYID_LEN + 1], b[2 * CF_AUDIT_KEYID_LEN + 1];
            cf_hex_encode(line.keyid, sizeof(line.keyid), a);
            cf_hex_encode(keyid, sizeof(keyid), b);
            report(rep, CF_AUDIT_WRONG_KEY, n,
                   "line %zu: checkpoint signed with key %s; the public key given is %s", n, a, b);
            found = 1;
            break;
        }
        if (!cf_audit_sig_ok(pub, buf, line.signed_len, line.sig)) {
            report(rep, CF_AUDIT_BAD_SIGNATURE, n,
                   "line %zu was changed: its checkpoint signature does not verify", n);
            found = 1;
            break;
        }
        rep->checkpoints++;
        last_final = line.final;
        /* Everything up to a valid checkpoint is sealed once the chain up
         * to it holds; checked below, in order. */
        rep->sealed = n;
    }
    rep->lines = n;
    /* The chain, from the first line: a break before the damage found while
     * reading is the first damage. */
    static const uint8_t zero[CF_AUDIT_HASH_LEN] = {0};
    for (size_t i = 0; i < n; i++) {
        const uint8_t *want_prev = i == 0 ? zero : r[i - 1].hash;
        uint64_t want_seq = i == 0 ? 1 : r[i - 1].seq + 1;
        if (r[i].seq != want_seq || memcmp(r[i].prev, want_prev, CF_AUDIT_HASH_LEN) != 0) {
            explain_break(r, i, n, rep);
            found = 1;
            break;
        }
    }
    free(r);
    free(buf);
    if (found)
        return;
    if (n == 0) {
        report(rep, CF_AUDIT_EMPTY, 0, "the log has no lines");
    } else if (rep->sealed != n || !last_final) {
        unsigned long from = rep->sealed + 1;
        if (flags & CF_AUDIT_VERIFY_OPEN)
            snprintf(rep->message, sizeof(rep->message),
                     "intact; lines %lu-%zu follow the last checkpoint (chained, not yet "
                     "signed)",
                     from, n);
        else if (rep->sealed == n)
            report(rep, CF_AUDIT_TAIL_UNSEALED, n,
                   "the log ends at a periodic checkpoint (line %zu), not a final one: lines "
                   "after it were cut off, or it is still being written",
                   n);
        else
            report(rep, CF_AUDIT_TAIL_UNSEALED, from,
                   "lines %lu-%zu follow the last checkpoint and the log does not end with a "
                   "final one: its tail was cut off, or it is still being written",
                   from, n);
    } else {
        snprintf(rep->message, sizeof(rep->message), "intact: %zu lines, %lu checkpoints", n,
                 rep->checkpoints);
    }
}

cf_err_t cf_audit_verify(const char *path, const char *pubkey_path, unsigned flags,
                         cf_audit_report_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    EVP_PKEY *pub = cf_audit_load_public(pubkey_path, rep->message, sizeof(rep->message));
    if (pub == NULL)
        return CF_ERR_INVALID;
    FILE *f = fopen(path, "rbe");
    if (f == NULL) {
        snprintf(rep->message, sizeof(rep->message), "%s: cannot open the audit log: %s", path,
                 strerror(errno));
        EVP_PKEY_free(pub);
        return CF_ERR_IO;
    }
    cf_audit_verify_stream(f, pub, flags, rep);
    int rerr = ferror(f);
    fclose(f);
    EVP_PKEY_free(pub);
    if (rerr) {
        snprintf(rep->message, sizeof(rep->message), "%s: cannot read the audit log", path);
        return CF_ERR_IO;
    }
    return CF_OK;
}
