/*
 * cmd_export.c - `cardforge export JOURNAL`: one row per card attempt of a
 * batch journal, for a card management system to import: the batch ID and
 * record, the card's serial and profile, the outcome, and what identifies
 * the admin key the card now holds without revealing it (its check value,
 * and for a derived key the master key's name and version).
 *
 * Streamed: the journal is read line by line and each card record written
 * at once, so memory does not grow with the journal. Rows are in journal
 * order; a card attempted twice has two rows, the later one is its state.
 * Nothing secret is in a journal, so nothing secret can be exported.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cardforge/diag.h>
#include <cardforge/journal.h>

#include "commands.h"
#include "out.h"

#define CMD "cardforge export"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge export JOURNAL [--format csv|json] [--out FILE]\n\n"
                 "One row per card attempt of the journal: attempt, record, batch line and\n"
                 "ID, serial, reader, profile, status, error, end time, and the admin key\n"
                 "the card holds now as its check value (KCV) with, for a derived key, the\n"
                 "master key's name and version; the CHUID's GUID the card was given; and\n"
                 "the certificates issued to it (slots, serials, SHA-256, not-after; each a\n"
                 "';'-separated list). Rows are in journal order; the last row of a serial\n"
                 "is that card's state. Nothing secret is in a journal.\n\n"
                 "  --format csv|json   RFC 4180 CSV with a header line (default), or a JSON\n"
                 "                      array of objects\n"
                 "  --out FILE          write there (created 0600) instead of standard output\n"
                 "  -h, --help          this help\n\n"
                 "Exit status: 0 written; 1 the journal is damaged (the line is named);\n"
                 "2 usage error or unreadable file.\n");
}

struct ctx {
    FILE *out;
    int json;
    unsigned long rows;
};

static void csv_field(FILE *f, const char *s, int last)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
    fputc(last ? '\n' : ',', f);
}

static void json_field(FILE *f, const char *key, const char *s, int first)
{
    fprintf(f, "%s\"%s\":", first ? "" : ",", key);
    out_json_string(f, s);
}

static void iso_time(int64_t ms, char out[64])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || gmtime_r(&s, &tm) == NULL) {
        out[0] = 0;
        return;
    }
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static const char *const columns[] = {"attempt",        "record",
                                      "line",           "id",
                                      "serial",         "reader",
                                      "profile",        "status",
                                      "error",          "end",
                                      "admin_kcv",      "admin_key_source",
                                      "master_key",     "master_key_version",
                                      "chuid_guid",     "cert_slots",
                                      "cert_serials",   "cert_sha256",
                                      "cert_not_after", NULL};

/* The certificates this attempt issued and proved (state "done"), each
 * fact as a ';'-separated list in the journal's order, so a row stays one
 * row however many certificates the card got. */
struct cert_cols {
    char slots[CF_JOURNAL_MAX_STEPS * 8];
    char serials[CF_JOURNAL_MAX_STEPS * 48];
    char sha256[CF_JOURNAL_MAX_STEPS * 72];
    char not_after[CF_JOURNAL_MAX_STEPS * 32];
};

static void join(char *buf, size_t cap, const char *v)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? ";" : "", v ? v : "");
}

static void cert_columns(const cf_journal_card_t *c, struct cert_cols *cc)
{
    memset(cc, 0, sizeof(*cc));
    for (size_t i = 0; i < c->n_certs; i++) {
        const cf_journal_cert_t *k = &c->certs[i];
        if (k->state == NULL || strcmp(k->state, "done") != 0)
            continue;
        join(cc->slots, sizeof(cc->slots), k->slot);
        join(cc->serials, sizeof(cc->serials), k->serial);
        join(cc->sha256, sizeof(cc->sha256), k->sha256);
        join(cc->not_after, sizeof(cc->not_after), k->not_after);
    }
}

static cf_err_t visit(void *user, const cf_journal_entry_t *e)
{
    struct ctx *x = user;
    if (e->kind != CF_JOURNAL_CARD)
        return CF_OK;
    const cf_journal_card_t *c = &e->card;
    /* The admin key the card holds now: the last step that installed one
     * and reached the card (rotation, or the C/R proof of the same key). */
    const char *kcv = "", *source = "", *master = "";
    unsigned version = 0;
    const char *guid = "";
    for (size_t i = 0; i < c->n_steps; i++) {
        const cf_journal_step_t *s = &c->steps[i];
        /* The GUID the card holds: written and read back the same. */
        if (strcmp(s->step, "write-chuid") == 0 && strcmp(s->outcome, "done") == 0 && s->guid)
            guid = s->guid;
        if (s->kcv == NULL || s->kcv[0] == 0)
            continue;
        if (strcmp(s->outcome, "done") != 0 && strcmp(s->outcome, "already") != 0)
            continue;
        kcv = s->kcv;
        if (strcmp(s->step, "rotate-admin-key") == 0) {
            source = s->source ? s->source : "";
            master = s->master_key ? s->master_key : "";
            version = s->master_version;
        }
    }
    char num[4][24], end[64];
    snprintf(num[0], sizeof(num[0]), "%" PRIu64, c->attempt);
    snprintf(num[1], sizeof(num[1]), "%" PRIu64, c->record);
    snprintf(num[2], sizeof(num[2]), "%lu", c->line);
    if (version)
        snprintf(num[3], sizeof(num[3]), "%u", version);
    else
        num[3][0] = 0;
    iso_time(c->end, end);
    struct cert_cols cc;
    cert_columns(c, &cc);
    const char *v[] = {num[0],
                       num[1],
                       num[2],
                       c->id ? c->id : "",
                       c->serial ? c->serial : "",
                       c->reader ? c->reader : "",
                       c->profile ? c->profile : "",
                       cf_card_status_name(c->status),
                       cf_errname(c->err),
                       end,
                       kcv,
                       source,
                       master,
                       num[3],
                       guid,
                       cc.slots,
                       cc.serials,
                       cc.sha256,
                       cc.not_after};
    _Static_assert(sizeof(v) / sizeof(v[0]) == sizeof(columns) / sizeof(columns[0]) - 1,
                   "one value per column");
    if (x->json) {
        fprintf(x->out, "%s\n{", x->rows ? "," : "");
        for (size_t i = 0; columns[i]; i++)
            json_field(x->out, columns[i], v[i], i == 0);
        fputc('}', x->out);
    } else {
        for (size_t i = 0; columns[i]; i++)
            csv_field(x->out, v[i], columns[i + 1] == NULL);
    }
    x->rows++;
    return ferror(x->out) ? CF_ERR_IO : CF_OK;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "csv", *out_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return CF_EXIT_OK;
        default:
            usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)) {
        if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
            fprintf(stderr, CMD ": --format is csv or json, not '%s'\n", format);
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    const char *journal = argv[optind];
    struct ctx x = {stdout, strcmp(format, "json") == 0, 0};
    if (out_path != NULL) {
        /* created 0600 like the journal it comes from */
        FILE *f = out_open_private(out_path);
        if (f == NULL) {
            fprintf(stderr, CMD ": %s: %s\n", out_path, strerror(errno));
            return CF_EXIT_USAGE;
        }
        x.out = f;
    }
    if (x.json)
        fputc('[', x.out);
    else
        for (size_t i = 0; columns[i]; i++)
            fprintf(x.out, "%s%c", columns[i], columns[i + 1] ? ',' : '\n');
    cf_diag_list_t *diags = cf_diag_list_new();
    cf_journal_info_t info;
    cf_err_t e = diags ? cf_journal_scan(journal, visit, &x, NULL, &info, diags) : CF_ERR_NOMEM;
    if (x.json)
        fputs(x.rows ? "\n]\n" : "]\n", x.out);
    if (diags != NULL)
        cf_diag_print(diags, stderr);
    cf_diag_list_free(diags);
    int rc = CF_EXIT_OK;
    if (e == CF_ERR_NOT_FOUND || e == CF_ERR_IO) {
        fprintf(stderr, CMD ": %s: cannot read it\n", journal);
        rc = CF_EXIT_USAGE;
    } else if (e != CF_OK) {
        fprintf(stderr, CMD ": %s: %s; the export is incomplete\n", journal, cf_strerror(e));
        rc = CF_EXIT_FAIL;
    }
    if (x.out != stdout && fclose(x.out) != 0 && rc == CF_EXIT_OK) {
        fprintf(stderr, CMD ": %s: %s\n", out_path, strerror(errno));
        rc = CF_EXIT_FAIL;
    }
    return rc;
}
