/*
 * schema.c - the order database's schema, as numbered migrations.
 *
 * Migration N takes a database from version N-1 to N; init applies the
 * missing ones in one transaction under an advisory lock, so two stations
 * (or an operator and a station) starting together cannot half-apply one.
 * A database newer than this build is never written to: an older cardforge
 * does not know what the newer columns promise.
 *
 * What the tables hold (docs/stations.md): orders with the fingerprints of
 * their description and batch; one row per record with its batch line, its
 * ID, its state and its claim (station, lease on the database clock,
 * fencing token); one row per attempt a station made, keyed by station and
 * the station's attempt number, carrying the card's serial and result,
 * never a value. A serial personalized once per order is enforced by a
 * unique index, across every station.
 */
#include <stdio.h>
#include <stdlib.h>

#include "order/order_int.h"

static const char *const migrations[] = {
    /* 1: orders, records, stations, attempts */
    "CREATE TABLE cf_schema ("
    "  one boolean PRIMARY KEY DEFAULT true CHECK (one),"
    "  version integer NOT NULL);"
    "INSERT INTO cf_schema (version) VALUES (0);"
    "CREATE TABLE cf_order ("
    "  id bigserial PRIMARY KEY,"
    "  name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),"
    "  created timestamptz NOT NULL DEFAULT now(),"
    "  description_name text NOT NULL,"
    "  description_sha256 text NOT NULL CHECK (description_sha256 ~ '^[0-9a-f]{64}$'),"
    "  batch_name text NOT NULL,"
    "  batch_sha256 text NOT NULL CHECK (batch_sha256 ~ '^[0-9a-f]{64}$'),"
    "  records integer NOT NULL CHECK (records >= 0));"
    "CREATE SEQUENCE cf_fence;"
    "CREATE TABLE cf_station ("
    "  order_id bigint NOT NULL REFERENCES cf_order ON DELETE CASCADE,"
    "  station text NOT NULL CHECK (length(station) BETWEEN 1 AND 64),"
    "  number integer NOT NULL CHECK (number BETWEEN 1 AND 255),"
    "  fence bigint NOT NULL,"
    "  lease_until timestamptz NOT NULL,"
    "  started timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (order_id, station),"
    "  UNIQUE (order_id, number));"
    "CREATE TABLE cf_record ("
    "  order_id bigint NOT NULL REFERENCES cf_order ON DELETE CASCADE,"
    "  record integer NOT NULL CHECK (record >= 1),"
    "  line bigint NOT NULL,"
    "  card_id text NOT NULL,"
    "  state text NOT NULL DEFAULT 'pending'"
    "    CHECK (state IN ('pending', 'claimed', 'done', 'failed')),"
    "  station text,"
    "  fence bigint,"
    "  claimed timestamptz,"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  serial text,"
    "  PRIMARY KEY (order_id, record),"
    "  CHECK (state <> 'claimed' OR (station IS NOT NULL AND fence IS NOT NULL)));"
    "CREATE INDEX cf_record_pending ON cf_record (order_id, record) WHERE state = 'pending';"
    "CREATE INDEX cf_record_claimed ON cf_record (order_id, station) WHERE state = 'claimed';"
    "CREATE TABLE cf_attempt ("
    "  order_id bigint NOT NULL REFERENCES cf_order ON DELETE CASCADE,"
    "  station text NOT NULL,"
    "  attempt bigint NOT NULL,"
    "  record integer,"
    "  reader text NOT NULL DEFAULT '',"
    "  serial text NOT NULL DEFAULT '',"
    "  status text NOT NULL CHECK (status IN ('open', 'personalized', 'failed', 'rejected', "
    "'interrupted')),"
    "  error text NOT NULL DEFAULT '',"
    "  changed boolean NOT NULL DEFAULT false,"
    "  voided timestamptz,"
    "  started timestamptz,"
    "  ended timestamptz,"
    "  uploaded timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (order_id, station, attempt));"
    "CREATE INDEX cf_attempt_open ON cf_attempt (order_id, record) WHERE status = 'open';"
    "CREATE UNIQUE INDEX cf_attempt_one_card_per_serial ON cf_attempt (order_id, serial)"
    "  WHERE status = 'personalized' AND voided IS NULL;",
};
#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == CF_ORDER_SCHEMA_VERSION, "one migration per schema version");

/* Any 64-bit constant: the advisory lock key of schema changes. */
#define SCHEMA_LOCK "7306711231882633473"

cf_err_t order_schema_version(struct cf_order_db *db, unsigned *version, cf_diag_list_t *diags)
{
    *version = 0;
    PGresult *r = pq_exec(db, "looking for the cardforge schema",
                          "SELECT to_regclass('cf_schema') IS NOT NULL", diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    int exists = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!exists)
        return CF_OK;
    r = pq_exec(db, "reading the schema version", "SELECT version FROM cf_schema", diags);
    if (r == NULL)
        return CF_ERR_DATABASE;
    if (PQntuples(r) == 1)
        *version = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return CF_OK;
}

cf_err_t order_schema_check(struct cf_order_db *db, cf_diag_list_t *diags)
{
    unsigned v;
    cf_err_t e = order_schema_version(db, &v, diags);
    if (e != CF_OK)
        return e;
    if (v == CF_ORDER_SCHEMA_VERSION)
        return CF_OK;
    if (v == 0)
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "this database has no cardforge schema: run `cardforge order init --db ...` "
                    "first");
    else if (v < CF_ORDER_SCHEMA_VERSION)
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "the database's schema is version %u, this cardforge needs %u: run "
                    "`cardforge order init --db ...` to upgrade it",
                    v, CF_ORDER_SCHEMA_VERSION);
    else
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "the database's schema is version %u, newer than this cardforge knows (%u): "
                    "use the cardforge that upgraded it",
                    v, CF_ORDER_SCHEMA_VERSION);
    return v > CF_ORDER_SCHEMA_VERSION ? CF_ERR_UNSUPPORTED : CF_ERR_INVALID;
}

struct init_tx {
    unsigned *from;
    cf_diag_list_t *diags;
};

/* Two inits at once wait for each other on the advisory lock, which the
 * transaction's end releases. */
static cf_err_t init_tx(struct cf_order_db *db, void *user)
{
    struct init_tx *t = user;
    cf_diag_list_t *diags = t->diags;
    if (pq_run(db, "starting the schema change", "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")",
               diags) != CF_OK)
        return CF_ERR_DATABASE;
    unsigned v = 0;
    cf_err_t e = order_schema_version(db, &v, diags);
    *t->from = v;
    if (e == CF_OK && v > CF_ORDER_SCHEMA_VERSION) {
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0,
                    "the database's schema is version %u, newer than this cardforge knows (%u): "
                    "left as it is",
                    v, CF_ORDER_SCHEMA_VERSION);
        e = CF_ERR_UNSUPPORTED;
    }
    for (unsigned m = v; e == CF_OK && m < CF_ORDER_SCHEMA_VERSION; m++) {
        char what[64], bump[80];
        snprintf(what, sizeof(what), "applying schema migration %u", m + 1);
        snprintf(bump, sizeof(bump), "UPDATE cf_schema SET version = %u", m + 1);
        if (pq_run(db, what, migrations[m], diags) != CF_OK ||
            pq_run(db, what, bump, diags) != CF_OK)
            e = CF_ERR_DATABASE;
    }
    return e;
}

cf_err_t cf_order_db_init(cf_order_db_t *db, unsigned *from, unsigned *to, cf_diag_list_t *diags)
{
    *from = *to = 0;
    struct init_tx t = {.from = from, .diags = diags};
    char why[512] = "";
    cf_err_t e = pq_transaction(db, "changing the schema", init_tx, &t, why, sizeof(why));
    if (why[0])
        cf_diag_add(diags, CF_SEV_ERROR, db->where, 0, "%s", why);
    *to = e == CF_OK ? CF_ORDER_SCHEMA_VERSION : *from;
    return e;
}
