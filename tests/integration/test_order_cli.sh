#!/usr/bin/env bash
# test_order_cli.sh - `cardforge order init|load|list|status` against a real
# PostgreSQL server of the test's own (lib/pg.sh):
#  - the schema is created, then found up to date; a database without it,
#    or with a newer one, is refused with what to do, and never written;
#  - a batch loads as one order: its records, lines and IDs, the SHA-256 of
#    the file and of the description; no PIN, PUK or key of the batch is
#    anywhere in the database (a full dump is searched for each value);
#  - an invalid batch (two rows with one ID), an order name taken, an
#    unknown order: refused, nothing stored;
#  - a connection string with a password is refused before anything is
#    sent, without showing it; an unreachable server is named.
# Usage: test_order_cli.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cf="$build/tools/cardforge"
source "$src/tests/integration/lib/pg.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-order-cli.XXXXXX")
keep=0
trap 'cf_pg_cleanup; [ $keep = 1 ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; keep=1; echo "evidence kept in $tmp"; exit 1; }
expect_rc() { # WANT WHAT CMD...
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >"$tmp/out" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want: $(tail -n 20 "$tmp/out")"
}
said() { grep -F -- "$1" "$tmp/out" >/dev/null || fail "$2: '$1' not said: $(tail -n 8 "$tmp/out")"; }

desc="$src/tests/data/run/piv-job.ini"
batch="$tmp/batch.csv"
python3 "$src/tests/integration/lib/piv_batch.py" "$batch" 40 16 5000

t0=$(date +%s%N)
cf_pg_start "$tmp"
echo "PostgreSQL up in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# ---- schema ----
expect_rc 1 "list before init" "$cf" order list --db "$CF_PG"
said "has no cardforge schema: run \`cardforge order init" "list before init"
expect_rc 0 "init" "$cf" order init --db "$CF_PG"
said "schema version 1 created" "init"
expect_rc 0 "init again" "$cf" order init --db "$CF_PG"
said "schema version 1, up to date" "init again"
expect_rc 0 "list, empty" "$cf" order list --db "$CF_PG"
said "no orders" "list, empty"

# ---- load ----
expect_rc 0 "load" "$cf" order load --db "$CF_PG" --name first "$desc" "$batch"
said "order first: 40 records loaded from $batch" "load"
[ "$(cf_pg_psql "SELECT count(*) FROM cf_record r JOIN cf_order o ON o.id = r.order_id WHERE o.name = 'first'")" = 40 ] ||
    fail "not 40 records stored"
# Record numbers, lines and IDs as the batch has them (header is line 1).
cf_pg_psql "SELECT record, line, card_id FROM cf_record ORDER BY record" >"$tmp/stored"
python3 - "$batch" "$tmp/stored" <<'PY' || fail "stored records differ from the batch: $(head -n 3 "$tmp/stored")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = ["%d|%d|%s" % (i + 1, i + 2, r["ID"]) for i, r in enumerate(rows)]
got = open(sys.argv[2]).read().split()
sys.exit(0 if got == want else 1)
PY
[ "$(cf_pg_psql "SELECT batch_sha256 FROM cf_order WHERE name = 'first'")" = "$(sha256sum "$batch" | cut -d' ' -f1)" ] ||
    fail "the order's batch SHA-256 is not the file's"
[ "$(cf_pg_psql "SELECT description_sha256 FROM cf_order WHERE name = 'first'")" = "$(sha256sum "$desc" | cut -d' ' -f1)" ] ||
    fail "the order's description SHA-256 is not the file's"
# No value of the batch anywhere in the database.
runuser -u nobody -- "$CF_PG_BIN/pg_dump" -h "$CF_PG_DIR" -U cf cardforge >"$tmp/dump.sql" ||
    fail "pg_dump failed"
python3 - "$batch" "$tmp/dump.sql" <<'PY' || fail "a batch value is in the database"
import csv, sys
dump = open(sys.argv[2]).read()
found = [(r["ID"], col) for r in csv.DictReader(open(sys.argv[1]))
         for col in ("PIN", "NEW_PUK", "NEW_KEY") if r[col] in dump]
if found:
    print("values found in the dump:", found[:5])
sys.exit(1 if found else 0)
PY

expect_rc 0 "status" "$cf" order status --db "$CF_PG" --name first
said "first: 40 records: 0 done, 0 claimed, 40 pending, 0 failed" "status"
expect_rc 0 "status --json" "$cf" order status --db "$CF_PG" --name first --json
python3 - "$tmp/out" "$(sha256sum "$batch" | cut -d' ' -f1)" <<'PY' || fail "status --json: $(cat "$tmp/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == "first" and d["records"] == 40 and d["pending"] == 40, d
assert d["done"] == d["claimed"] == d["failed"] == 0, d
assert d["batch_sha256"] == sys.argv[2], d
PY

# ---- refusals: nothing stored ----
expect_rc 1 "name taken" "$cf" order load --db "$CF_PG" --name first "$desc" "$batch"
said "an order named 'first' exists already" "name taken"
{ cat "$batch"; tail -n 1 "$batch" | sed 's/,Holder [0-9]*,/,Holder again,/'; } >"$tmp/dup.csv"
expect_rc 1 "duplicate ID" "$cf" order load --db "$CF_PG" --name dup "$desc" "$tmp/dup.csv"
said "one holder would get two cards" "duplicate ID"
said "nothing loaded" "duplicate ID"
expect_rc 2 "missing batch" "$cf" order load --db "$CF_PG" --name gone "$desc" "$tmp/none.csv"
said "cannot read the batch" "missing batch"
expect_rc 1 "bad name" "$cf" order load --db "$CF_PG" --name "$(printf 'a\tb')" "$desc" "$batch"
said "the order name holds a control character" "bad name"
[ "$(cf_pg_psql "SELECT string_agg(name, ',') FROM cf_order")" = first ] ||
    fail "a refused load stored an order: $(cf_pg_psql "SELECT string_agg(name, ',') FROM cf_order")"
[ "$(cf_pg_psql "SELECT count(*) FROM cf_record")" = 40 ] || fail "a refused load stored records"
expect_rc 1 "unknown order" "$cf" order status --db "$CF_PG" --name nosuch
said "no order named 'nosuch'" "unknown order"

# A description that uses ID as a field (it could carry a PIN): the IDs
# stay out of the database, as they stay out of the journal.
{ printf '[Fields]\nID=\n'; grep -v '^\[Fields\]' "$desc"; } | sed 's/^PIN=PIN$/PIN=ID/' >"$tmp/id-field.ini"
python3 - "$batch" "$tmp/id-batch.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], "w") as f:
    f.write("ID,NAME,PIN,NEW_PUK,NEW_KEY\n")
    for r in rows:
        f.write("%06d,%s,%s,%s,%s\n" % (int(r["ID"]) + 100000, r["NAME"], r["PIN"], r["NEW_PUK"], r["NEW_KEY"]))
PY
expect_rc 0 "ID as a field" "$cf" order load --db "$CF_PG" --name idfield "$tmp/id-field.ini" "$tmp/id-batch.csv"
[ "$(cf_pg_psql "SELECT count(*) FROM cf_record r JOIN cf_order o ON o.id = r.order_id WHERE o.name = 'idfield' AND r.card_id <> ''")" = 0 ] ||
    fail "IDs used as a field were stored"
cf_pg_psql "DELETE FROM cf_order WHERE name = 'idfield'"

expect_rc 0 "second order" "$cf" order load --db "$CF_PG" --name second "$desc" "$batch"
expect_rc 0 "list --json" "$cf" order list --db "$CF_PG" --json
python3 - "$tmp/out" <<'PY' || fail "list --json: $(cat "$tmp/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert [o["name"] for o in d["orders"]] == ["first", "second"], d
assert all(o["records"] == 40 for o in d["orders"]), d
PY

# ---- connection ----
expect_rc 2 "password in --db" "$cf" order list --db "$CF_PG password=hunter2secret"
said "put it in ~/.pgpass" "password in --db"
grep -F hunter2secret "$tmp/out" >/dev/null && fail "the password was shown"
expect_rc 2 "URI with a password" "$cf" order list --db "postgresql://cf:hunter2secret@localhost/cardforge"
grep -F hunter2secret "$tmp/out" >/dev/null && fail "the URI's password was shown"
expect_rc 1 "unreachable server" "$cf" order list --db "host=$tmp/nowhere dbname=cardforge user=cf"
said "cannot connect to the order database" "unreachable server"

# ---- a newer schema is refused and left alone ----
cf_pg_psql "UPDATE cf_schema SET version = 99"
expect_rc 1 "newer schema, status" "$cf" order status --db "$CF_PG" --name first
said "schema is version 99, newer than this cardforge knows (1)" "newer schema"
expect_rc 1 "newer schema, init" "$cf" order init --db "$CF_PG"
said "left as it is" "newer schema, init"
[ "$(cf_pg_psql "SELECT version FROM cf_schema")" = 99 ] || fail "init changed a newer schema"

cf_pg_stop
echo "ok: init, load (40 records, no value in the database), status, list, refusals, connection checks"
