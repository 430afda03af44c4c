/*
 * desk_card.c - open the one card a desk command works on (desk_card.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/diag.h>

#include "commands.h"
#include "desk_card.h"
#include "out.h"

static int load_profiles(const char *cmd, const struct desk_opts *o, struct desk_card *dc)
{
    const char *dir = o->profiles_dir ? o->profiles_dir : cf_profiles_default_dir();
    cf_diag_list_t *diags = cf_diag_list_new();
    if (diags == NULL)
        return CF_EXIT_FAIL;
    cf_err_t e = cf_profiles_load(dir, diags, &dc->profiles);
    if (e != CF_OK) {
        fprintf(stderr, "%s: the card profiles in %s are not usable:\n", cmd, dir);
        cf_diag_print(diags, stderr);
    }
    cf_diag_list_free(diags);
    if (e != CF_OK)
        return o->profiles_dir ? CF_EXIT_USAGE : CF_EXIT_FAIL;
    if (o->profile != NULL && cf_profiles_find(dc->profiles, o->profile) == NULL) {
        fprintf(stderr, "%s: no card profile named '%s' in %s\n", cmd, o->profile, dir);
        return CF_EXIT_USAGE;
    }
    return CF_EXIT_OK;
}

/* Connect to reader name and identify its card; quiet (for the serial scan)
 * or with messages. */
static cf_err_t try_reader(const char *cmd, const struct desk_opts *o, struct desk_card *dc,
                           const char *name, int quiet)
{
    char err[256] = "";
    cf_err_t e = cf_transport_open_pcsc(name, &dc->t, err, sizeof(err));
    if (e != CF_OK) {
        if (!quiet)
            fprintf(stderr, "%s: %s\n", cmd, err[0] ? err : cf_strerror(e));
        return e;
    }
    if (dc->trace != NULL)
        cf_transport_set_trace(dc->t, dc->trace);
    /* cf_card_open waits out a reader still settling after an insertion. */
    e = cf_card_open(dc->t, dc->profiles, o->profile, &dc->card, err, sizeof(err));
    if (e != CF_OK) {
        if (!quiet)
            fprintf(stderr, "%s: reader '%s': %s\n", cmd, name, err[0] ? err : cf_strerror(e));
        cf_transport_close(dc->t, CF_DISPOSE_LEAVE);
        dc->t = NULL;
    }
    return e;
}

int desk_option(int c, const char *arg, struct desk_opts *o)
{
    switch (c) {
    case 'r':
        o->reader = arg;
        return 1;
    case 'c':
        o->serial = arg;
        return 1;
    case 'p':
        o->profile = arg;
        return 1;
    case 'P':
        o->profiles_dir = arg;
        return 1;
    case 't':
        o->trace_path = arg;
        return 1;
    case 'L':
        o->allow_last_try = 1;
        return 1;
    default:
        return 0;
    }
}

int desk_open(const char *cmd, const struct desk_opts *o, struct desk_card *dc)
{
    memset(dc, 0, sizeof(*dc));
    if ((o->reader == NULL) == (o->serial == NULL)) {
        fprintf(stderr, "%s: name the card with exactly one of --reader or --card\n", cmd);
        return CF_EXIT_USAGE;
    }
    int st = load_profiles(cmd, o, dc);
    if (st != CF_EXIT_OK) {
        desk_close(dc);
        return st;
    }
    if (o->trace_path != NULL) {
        /* 0600 like the journal: a trace names cards, readers and steps. */
        dc->trace_file = out_open_private(o->trace_path);
        if (dc->trace_file == NULL) {
            fprintf(stderr, "%s: cannot write the trace %s: %s\n", cmd, o->trace_path,
                    strerror(errno));
            desk_close(dc);
            return CF_EXIT_USAGE;
        }
        if (cf_trace_new(dc->trace_file, &dc->trace) != CF_OK) {
            desk_close(dc);
            return CF_EXIT_FAIL;
        }
    }

    char err[256] = "";
    cf_pcsc_t *ctx = NULL;
    cf_err_t e = cf_pcsc_new(&ctx, err, sizeof(err));
    if (e != CF_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err[0] ? err : cf_strerror(e));
        desk_close(dc);
        return CF_EXIT_FAIL;
    }
    char **names = NULL;
    size_t count = 0;
    e = cf_pcsc_list_readers(ctx, &names, &count);
    if (e != CF_OK) {
        fprintf(stderr, "%s: %s\n", cmd, cf_pcsc_errmsg(ctx));
        cf_pcsc_free(ctx);
        desk_close(dc);
        return CF_EXIT_FAIL;
    }

    st = CF_EXIT_FAIL;
    if (o->reader != NULL) {
        /* An exact name wins; otherwise the substring must pick one reader. */
        const char *pick = NULL;
        size_t matches = 0;
        for (size_t i = 0; i < count; i++) {
            if (strcmp(names[i], o->reader) == 0) {
                pick = names[i];
                matches = 1;
                break;
            }
            if (strstr(names[i], o->reader) != NULL) {
                pick = names[i];
                matches++;
            }
        }
        if (matches == 0) {
            fprintf(stderr, "%s: no reader matches '%s'; readers:", cmd, o->reader);
            for (size_t i = 0; i < count; i++)
                fprintf(stderr, "\n  %s", names[i]);
            fprintf(stderr, count ? "\n" : " none\n");
            st = CF_EXIT_USAGE;
        } else if (matches > 1) {
            fprintf(stderr, "%s: '%s' matches %zu readers; give more of the name:", cmd, o->reader,
                    matches);
            for (size_t i = 0; i < count; i++)
                if (strstr(names[i], o->reader) != NULL)
                    fprintf(stderr, "\n  %s", names[i]);
            fprintf(stderr, "\n");
            st = CF_EXIT_USAGE;
        } else if (try_reader(cmd, o, dc, pick, 0) == CF_OK) {
            st = CF_EXIT_OK;
        }
    } else {
        size_t seen = 0;
        for (size_t i = 0; i < count && st != CF_EXIT_OK; i++) {
            if (try_reader(cmd, o, dc, names[i], 1) != CF_OK)
                continue;
            seen++;
            if (strcmp(cf_card_serial(dc->card), o->serial) == 0) {
                st = CF_EXIT_OK;
                break;
            }
            cf_card_free(dc->card);
            dc->card = NULL;
            cf_transport_close(dc->t, CF_DISPOSE_LEAVE);
            dc->t = NULL;
        }
        if (st != CF_EXIT_OK)
            fprintf(stderr, "%s: no card with serial %s in any reader (%zu card%s looked at)\n",
                    cmd, o->serial, seen, seen == 1 ? "" : "s");
    }
    cf_pcsc_free_names(names);
    cf_pcsc_free(ctx);
    if (st != CF_EXIT_OK)
        desk_close(dc);
    return st;
}

void desk_close(struct desk_card *dc)
{
    cf_card_free(dc->card);
    dc->card = NULL;
    cf_transport_close(dc->t, CF_DISPOSE_LEAVE);
    dc->t = NULL;
    cf_trace_free(dc->trace);
    dc->trace = NULL;
    if (dc->trace_file != NULL)
        fclose(dc->trace_file);
    dc->trace_file = NULL;
    cf_profiles_free(dc->profiles);
    dc->profiles = NULL;
}

void desk_tries_text(const cf_tries_t *t, char *out, size_t cap)
{
    if (t->kind == CF_TRIES_UNLIMITED)
        snprintf(out, cap, "no retry counter");
    else if (t->kind == CF_TRIES_UNKNOWN && t->sw == 0x9000)
        snprintf(out, cap, "not told (verified in this session)");
    else if (t->kind == CF_TRIES_UNKNOWN && t->sw != 0)
        snprintf(out, cap, "cannot be read (the card answered %04X)", t->sw);
    else if (t->kind == CF_TRIES_UNKNOWN)
        snprintf(out, cap, "cannot be read (this card type has no way to report it)");
    else if (t->left == 0 && t->max != 0)
        snprintf(out, cap, "BLOCKED (0 of %u)", t->max);
    else if (t->left == 0)
        snprintf(out, cap, "BLOCKED");
    else if (t->max != 0)
        snprintf(out, cap, "%u of %u", t->left, t->max);
    else
        snprintf(out, cap, "%u left", t->left);
}
