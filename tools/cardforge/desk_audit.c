/*
 * desk_audit.c - the desk commands' audit events (desk_audit.h).
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "desk_audit.h"

int desk_audit_option(int c, const char *arg, struct desk_audit_opts *o)
{
    if (c == 'A')
        o->log = arg;
    else if (c == 'Y')
        o->key = arg;
    else
        return 0;
    return 1;
}

/* The user the command runs as, by the password database: $USER or
 * $LOGNAME could say anything. A uid with no entry is named by number. */
static void os_user(char *out, size_t cap)
{
    uid_t uid = geteuid();
    struct passwd *pw = getpwuid(uid);
    if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != 0)
        snprintf(out, cap, "%s", pw->pw_name);
    else
        snprintf(out, cap, "uid %lu", (unsigned long)uid);
}

int desk_audit_open(const char *cmd, const char *event, const struct desk_audit_opts *o,
                    struct desk_audit *da)
{
    memset(da, 0, sizeof(*da));
    da->cmd = cmd;
    da->event = event;
    da->nothing_done = "stopped before the card was changed";
    if (o->log == NULL && o->key == NULL)
        return CF_EXIT_OK;
    if (o->log == NULL || o->key == NULL) {
        fprintf(stderr, "%s: --audit and --audit-key go together: give both or neither\n", cmd);
        return CF_EXIT_USAGE;
    }
    char err[CF_AUDIT_ERRLEN];
    cf_err_t e = cf_audit_open(o->log, o->key, 0, &da->log, err, sizeof(err));
    if (e != CF_OK) {
        fprintf(stderr, "%s: %s; nothing was done\n", cmd, err[0] ? err : cf_strerror(e));
        return e == CF_ERR_NOMEM ? CF_EXIT_FAIL : CF_EXIT_USAGE;
    }
    da->path = o->log;
    os_user(da->user, sizeof(da->user));
    return CF_EXIT_OK;
}

/* The answers that mean someone said no, not that something broke: a
 * wrong or blocked credential, a guard of ours, a value that does not fit. */
static int is_refusal(cf_err_t e)
{
    return e == CF_ERR_WRONG_SECRET || e == CF_ERR_BLOCKED || e == CF_ERR_LAST_TRY ||
           e == CF_ERR_REFUSED || e == CF_ERR_POLICY || e == CF_ERR_INVALID;
}

/* "; tries left: pin 2, admin 4", only the counters the card itself
 * reported in this session, and only where nothing since could have
 * changed them. */
static void append_tries(char *out, size_t cap, const cf_card_t *card)
{
    static const struct {
        cf_cred_t c;
        const char *name;
    } creds[] = {{CF_CRED_PIN, "pin"}, {CF_CRED_PUK, "puk"}, {CF_CRED_ADMIN, "admin"}};
    int first = 1;
    for (size_t i = 0; card != NULL && i < sizeof(creds) / sizeof(creds[0]); i++) {
        cf_tries_t t;
        int exact = 0;
        if (cf_card_tries_said(card, creds[i].c, &t, &exact) != CF_OK || !exact ||
            t.kind != CF_TRIES_KNOWN)
            continue;
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%s %u", first ? "; tries left: " : ", ", creds[i].name,
                 t.left);
        first = 0;
    }
}

int desk_audit_record(struct desk_audit *da, int status, const struct desk_audit_what *w)
{
    if (da->log == NULL || da->written)
        return status;
    da->written = 1;
    const char *outcome = status == CF_EXIT_OK ? "ok" : is_refusal(w->err) ? "refused" : "failed";
    char detail[CF_AUDIT_MAX_FIELD] = "";
    if (w->note != NULL)
        snprintf(detail, sizeof(detail), "%s", w->note);
    if (status != CF_EXIT_OK) {
        size_t used = strlen(detail);
        snprintf(detail + used, sizeof(detail) - used, "%s%s", used ? "; " : "",
                 w->err != CF_OK ? cf_errname(w->err) : da->nothing_done);
        append_tries(detail, sizeof(detail), w->card);
    }
    cf_audit_event_t ev = {
        .event = da->event,
        .operator_name = da->user,
        .client = "cli",
        .serial = w->serial,
        .key_name = w->key_name,
        .key_version = w->key_version,
        .outcome = outcome,
        .detail = detail[0] ? detail : NULL,
    };
    if (cf_audit_write(da->log, &ev) != CF_OK) {
        fprintf(stderr,
                "%s: %s: the audit log could not be written; what was done to the card "
                "above is NOT in the log\n",
                da->cmd, da->path);
        return CF_EXIT_FAIL;
    }
    return status;
}

int desk_audit_close(struct desk_audit *da, int status)
{
    if (da->log == NULL)
        return status;
    if (!da->written) {
        struct desk_audit_what none = {0};
        status = desk_audit_record(da, status, &none);
    }
    if (cf_audit_close(da->log) != CF_OK) {
        fprintf(stderr, "%s: %s: the audit log's final checkpoint could not be written\n", da->cmd,
                da->path);
        status = CF_EXIT_FAIL;
    }
    da->log = NULL;
    return status;
}
