/*
 * cmd_order.c - `cardforge order init|load|list|status|release|void --db CONNINFO ...`:
 * the orders that several stations run together (docs/stations.md).
 *
 * The connection string is libpq's (key=value or URI; PGSERVICE, .pgpass
 * and TLS settings apply); one with a password is refused. Nothing here
 * touches a card; `load` reads the batch to check it and store its record
 * numbers, lines and IDs, never a value.
 * Exit: 0 done, 1 refused or failed (database, invalid batch), 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cardforge/diag.h>
#include <cardforge/order.h>
#include <cardforge/plan.h>

#include "commands.h"
#include "order_connect.h"
#include "out.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cardforge order init --db CONNINFO\n"
                 "       cardforge order load --db CONNINFO --name ORDER DESC BATCH\n"
                 "       cardforge order list --db CONNINFO [--json]\n"
                 "       cardforge order status --db CONNINFO --name ORDER [--json]\n"
                 "       cardforge order release --db CONNINFO --name ORDER --record N\n"
                 "       cardforge order void --db CONNINFO --name ORDER --serial SERIAL\n\n"
                 "Orders shared by several personalization stations, in PostgreSQL. The database\n"
                 "holds record numbers, batch lines, the ID column, states, claims and results,\n"
                 "never a PIN, PUK, key or other batch value: each station reads those from its\n"
                 "own copy of the batch file, whose SHA-256 must be the order's.\n\n"
                 "  init     create the schema, or upgrade it to this version's\n"
                 "  load     check BATCH against the description DESC as `run` would, then store\n"
                 "           it as the new order ORDER (all of it, or nothing)\n"
                 "  list     every order with its counts\n"
                 "  status   one order: records pending, claimed, done, failed\n"
                 "  release  give record N's claim back to the order (refused while an open\n"
                 "           intent binds it to a card: that card may be changed)\n"
                 "  void     set the card SERIAL aside for rework: its record is made again\n"
                 "           on another card, and the serial may be personalized again\n\n"
                 "  --db CONNINFO   libpq connection string or URI, e.g. 'host=db1 dbname=cards\n"
                 "                  sslmode=verify-full' or 'service=cardforge'; a password there\n"
                 "                  is refused: put it in ~/.pgpass\n"
                 "  --name ORDER    the order's name (1 to 200 bytes, no control characters)\n"
                 "  --record N      a record number (release)\n"
                 "  --serial SERIAL a card's serial as the journal has it (void)\n"
                 "  --json          one JSON document on standard output\n"
                 "  -h, --help      this help\n\n"
                 "Exit status: 0 done, 1 refused or failed, 2 usage error.\n");
}

static void print_info_json(const cf_order_info_t *i)
{
    printf("{\"name\":");
    out_json_string(stdout, i->name);
    printf(",\"created\":");
    out_json_string(stdout, i->created);
    printf(",\"description\":");
    out_json_string(stdout, i->description_name);
    printf(",\"description_sha256\":\"%s\",\"batch\":", i->description_sha256);
    out_json_string(stdout, i->batch_name);
    printf(",\"batch_sha256\":\"%s\",\"records\":%llu,\"pending\":%llu,\"claimed\":%llu,"
           "\"done\":%llu,\"failed\":%llu}",
           i->batch_sha256, (unsigned long long)i->records, (unsigned long long)i->pending,
           (unsigned long long)i->claimed, (unsigned long long)i->done,
           (unsigned long long)i->failed);
}

static void print_info_text(const cf_order_info_t *i)
{
    printf("%s: %llu records: %llu done, %llu claimed, %llu pending, %llu failed\n", i->name,
           (unsigned long long)i->records, (unsigned long long)i->done,
           (unsigned long long)i->claimed, (unsigned long long)i->pending,
           (unsigned long long)i->failed);
}

struct list_ctx {
    int json, n;
};

static int list_one(void *ctx, const cf_order_info_t *info)
{
    struct list_ctx *l = ctx;
    if (l->json) {
        printf(l->n ? "," : "{\"orders\":[");
        print_info_json(info);
    } else {
        printf("%-24s %s  %8llu records %8llu done %8llu claimed %8llu pending %6llu failed\n",
               info->name, info->created, (unsigned long long)info->records,
               (unsigned long long)info->done, (unsigned long long)info->claimed,
               (unsigned long long)info->pending, (unsigned long long)info->failed);
    }
    l->n++;
    return 0;
}

static int do_load(cf_order_db_t *db, const char *name, const char *desc, const char *batch,
                   cf_diag_list_t *diags)
{
    cf_plan_t *plan = NULL;
    cf_err_t e = cf_plan_compile(desc, diags, &plan);
    if (e != CF_OK) {
        cf_diag_print(diags, stderr);
        fprintf(stderr, "cardforge order load: %s: %s; nothing loaded\n", desc,
                e == CF_ERR_IO ? "cannot be read" : "invalid");
        return e == CF_ERR_IO ? CF_EXIT_USAGE : CF_EXIT_FAIL;
    }
    size_t records = 0;
    e = cf_order_load(db, name, plan, batch, diags, &records);
    cf_plan_free(plan);
    cf_diag_print(diags, stderr);
    if (e != CF_OK) {
        fprintf(stderr, "cardforge order load: %s; nothing loaded\n",
                e == CF_ERR_INVALID ? "the batch is invalid" : cf_strerror(e));
        return e == CF_ERR_IO ? CF_EXIT_USAGE : CF_EXIT_FAIL;
    }
    printf("order %s: %zu records loaded from %s\n", name, records, batch);
    return CF_EXIT_OK;
}

int cmd_order(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"record", required_argument, NULL, 'r'},
        {"serial", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CF_EXIT_OK;
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    const char *sub = argv[1];
    const char *conninfo = NULL, *name = NULL, *serial = NULL;
    unsigned long long record = 0;
    char *end = NULL;
    int json = 0, c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            conninfo = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'r':
            record = strtoull(optarg, &end, 10);
            if (optarg[0] < '1' || optarg[0] > '9' || *end != '\0') {
                fprintf(stderr, "cardforge order: --record takes a record number, not '%s'\n",
                        optarg);
                return CF_EXIT_USAGE;
            }
            break;
        case 's':
            serial = optarg;
            break;
        case 'h':
            usage(stdout);
            return CF_EXIT_OK;
        default:
            usage(stderr);
            return CF_EXIT_USAGE;
        }
    }
    int is_load = strcmp(sub, "load") == 0, is_status = strcmp(sub, "status") == 0;
    int is_release = strcmp(sub, "release") == 0, is_void = strcmp(sub, "void") == 0;
    int known = is_load || is_status || is_release || is_void || strcmp(sub, "init") == 0 ||
                strcmp(sub, "list") == 0;
    int named = is_load || is_status || is_release || is_void;
    int args = argc - optind;
    if (!known || conninfo == NULL || (named && name == NULL) || args != (is_load ? 2 : 0) ||
        (json && !is_status && strcmp(sub, "list") != 0) || (is_release != (record != 0)) ||
        (is_void != (serial != NULL))) {
        if (!known)
            fprintf(stderr, "cardforge order: unknown subcommand '%s'\n", sub);
        else if (conninfo == NULL)
            fprintf(stderr, "cardforge order %s: --db CONNINFO is required\n", sub);
        usage(stderr);
        return CF_EXIT_USAGE;
    }
    cf_diag_list_t *diags = NULL;
    cf_order_db_t *db = NULL;
    int rc = order_connect(conninfo, &diags, &db);
    if (rc != CF_EXIT_OK)
        return rc;
    cf_err_t e = CF_OK;
    if (strcmp(sub, "init") == 0) {
        unsigned from = 0, to = 0;
        e = cf_order_db_init(db, &from, &to, diags);
        cf_diag_print(diags, stderr);
        if (e != CF_OK)
            rc = CF_EXIT_FAIL;
        else if (from == to)
            printf("order database: schema version %u, up to date\n", to);
        else if (from == 0)
            printf("order database: schema version %u created\n", to);
        else
            printf("order database: schema upgraded from version %u to %u\n", from, to);
    } else if (is_load) {
        rc = do_load(db, name, argv[optind], argv[optind + 1], diags);
    } else if (is_release) {
        e = cf_order_release(db, name, record, diags);
        cf_diag_print(diags, stderr);
        if (e != CF_OK)
            rc = CF_EXIT_FAIL;
        else
            printf("order %s: record %llu released: it is pending again\n", name, record);
    } else if (is_void) {
        uint64_t rec = 0;
        e = cf_order_void(db, name, serial, &rec, diags);
        cf_diag_print(diags, stderr);
        if (e != CF_OK)
            rc = CF_EXIT_FAIL;
        else if (rec != 0)
            printf("order %s: card %s voided for rework; record %llu is pending again\n", name,
                   serial, (unsigned long long)rec);
        else
            printf("order %s: card %s voided for rework; it held no record\n", name, serial);
    } else if (is_status) {
        cf_order_info_t info;
        e = cf_order_status(db, name, &info, diags);
        cf_diag_print(diags, stderr);
        if (e != CF_OK)
            rc = CF_EXIT_FAIL;
        else if (json) {
            print_info_json(&info);
            printf("\n");
        } else {
            print_info_text(&info);
        }
    } else {
        /* The rows are all read before the first is printed: an error
         * leaves no half document on standard output. */
        struct list_ctx l = {json, 0};
        e = cf_order_list(db, list_one, &l, diags);
        if (json && e == CF_OK)
            printf("%s]}\n", l.n ? "" : "{\"orders\":[");
        cf_diag_print(diags, stderr);
        if (e != CF_OK)
            rc = CF_EXIT_FAIL;
        else if (!json && l.n == 0)
            printf("no orders\n");
    }
    cf_order_db_close(db);
    cf_diag_list_free(diags);
    return rc;
}
