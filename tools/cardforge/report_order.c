/*
 * report_order.c - `cardforge report --db CONNINFO --order ORDER [--json]`:
 * the whole order across its stations, from the order database.
 */
#include <stdio.h>
#include <string.h>

#include <cardforge/diag.h>
#include <cardforge/order.h>

#include "commands.h"
#include "order_connect.h"
#include "out.h"
#include "report_order.h"

struct rctx {
    int json, n;
    unsigned long in_doubt, open;
};

static void sep(struct rctx *c, const char *open_list)
{
    if (c->json)
        printf("%s", c->n++ ? "," : open_list);
}

static void on_station(void *ctx, const cf_order_station_row_t *s)
{
    struct rctx *c = ctx;
    if (!c->json) {
        printf("  %-20s %6llu personalized %4llu failed %4llu rejected %4llu claims %3llu open  "
               "%7.1f cards/min  lease %s (%s)\n",
               s->station, (unsigned long long)s->personalized, (unsigned long long)s->failed,
               (unsigned long long)s->rejected, (unsigned long long)s->claims,
               (unsigned long long)s->open, s->cards_per_min, s->lease_live ? "live" : "ended",
               s->lease_until);
        return;
    }
    sep(c, "\"stations\":[");
    printf("{\"station\":");
    out_json_string(stdout, s->station);
    printf(",\"personalized\":%llu,\"failed\":%llu,\"rejected\":%llu,\"claims\":%llu,"
           "\"open\":%llu,\"cards_per_min\":%.1f,\"lease_live\":%s,\"lease_until\":\"%s\"}",
           (unsigned long long)s->personalized, (unsigned long long)s->failed,
           (unsigned long long)s->rejected, (unsigned long long)s->claims,
           (unsigned long long)s->open, s->cards_per_min, s->lease_live ? "true" : "false",
           s->lease_until);
}

static void on_reader(void *ctx, const cf_order_reader_row_t *r)
{
    struct rctx *c = ctx;
    if (!c->json) {
        printf("  %-20s %-28s %6llu personalized %4llu failed %4llu rejected  %7.1f cards/min\n",
               r->station, r->reader, (unsigned long long)r->personalized,
               (unsigned long long)r->failed, (unsigned long long)r->rejected, r->cards_per_min);
        return;
    }
    sep(c, "\"readers\":[");
    printf("{\"station\":");
    out_json_string(stdout, r->station);
    printf(",\"reader\":");
    out_json_string(stdout, r->reader);
    printf(",\"personalized\":%llu,\"failed\":%llu,\"rejected\":%llu,\"cards_per_min\":%.1f}",
           (unsigned long long)r->personalized, (unsigned long long)r->failed,
           (unsigned long long)r->rejected, r->cards_per_min);
}

static void on_open(void *ctx, const cf_order_open_row_t *o)
{
    struct rctx *c = ctx;
    c->open++;
    c->in_doubt += o->in_doubt != 0;
    if (!c->json) {
        printf("  station %s attempt %llu: record %llu, card %s, since %s%s\n", o->station,
               (unsigned long long)o->attempt, (unsigned long long)o->record, o->serial, o->since,
               o->in_doubt ? "  IN DOUBT: its station is not running (start it again with its "
                             "journal, or void the card)"
                           : "");
        return;
    }
    sep(c, "\"open_intents\":[");
    printf("{\"station\":");
    out_json_string(stdout, o->station);
    printf(",\"attempt\":%llu,\"record\":%llu,\"serial\":", (unsigned long long)o->attempt,
           (unsigned long long)o->record);
    out_json_string(stdout, o->serial);
    printf(",\"since\":\"%s\",\"in_doubt\":%s}", o->since, o->in_doubt ? "true" : "false");
}

int report_order(const char *conninfo, const char *name, int json)
{
    cf_diag_list_t *diags = NULL;
    cf_order_db_t *db = NULL;
    int rc = order_connect(conninfo, &diags, &db);
    if (rc != CF_EXIT_OK)
        return rc;
    cf_err_t e = CF_OK;
    /* Read whole before anything is printed: an error leaves no half
     * document. The three lists come one after the other, so each is
     * printed as it is read, after the totals were checked. */
    cf_order_info_t info;
    if ((e = cf_order_status(db, name, &info, diags)) != CF_OK) {
        cf_diag_print(diags, stderr);
        rc = CF_EXIT_FAIL;
        goto out;
    }
    struct rctx c = {json, 0, 0, 0};
    if (json) {
        printf("{\"order\":");
        out_json_string(stdout, info.name);
        printf(",\"records\":{\"total\":%llu,\"done\":%llu,\"claimed\":%llu,\"pending\":%llu,"
               "\"failed\":%llu},\"batch_sha256\":\"%s\"",
               (unsigned long long)info.records, (unsigned long long)info.done,
               (unsigned long long)info.claimed, (unsigned long long)info.pending,
               (unsigned long long)info.failed, info.batch_sha256);
    } else {
        printf("order %s: %llu records: %llu done, %llu claimed, %llu pending, %llu failed\n",
               info.name, (unsigned long long)info.records, (unsigned long long)info.done,
               (unsigned long long)info.claimed, (unsigned long long)info.pending,
               (unsigned long long)info.failed);
    }
    cf_order_report_fns_t fns = {&c, on_station, NULL, NULL};
    const char *heads[3] = {"stations:", "readers:", "open intents (cards that may be changed):"};
    for (int part = 0; part < 3 && e == CF_OK; part++) {
        fns.station = part == 0 ? on_station : NULL;
        fns.reader = part == 1 ? on_reader : NULL;
        fns.open = part == 2 ? on_open : NULL;
        if (!json)
            printf("%s\n", heads[part]);
        c.n = 0;
        if (json)
            printf(",");
        e = cf_order_report(db, name, &info, &fns, diags);
        static const char *const empty[3] = {"\"stations\":[]", "\"readers\":[]",
                                             "\"open_intents\":[]"};
        if (json)
            printf("%s", c.n ? "]" : empty[part]);
        else if (c.n == 0 && part == 2 && c.open == 0)
            printf("  none\n");
    }
    if (json && e == CF_OK)
        printf(",\"in_doubt\":%lu}\n", c.in_doubt);
    else if (!json && c.in_doubt)
        printf("%lu open intent%s IN DOUBT\n", c.in_doubt, c.in_doubt == 1 ? "" : "s");
    if (e != CF_OK) {
        cf_diag_print(diags, stderr);
        rc = CF_EXIT_FAIL;
    }
out:
    cf_order_db_close(db);
    cf_diag_list_free(diags);
    return rc;
}
