#!/usr/bin/env bash
# test_order_dry_run.sh - `cardforge run --dry-run --db --order --station`
# against a real PostgreSQL (lib/pg.sh), on an order in a known state (two
# records done, one failed, one claimed by a station whose lease ran out
# with no card bound, one bound by an open intent to this station's card):
#  - it prints the order's counts (pending/claimed/done/failed) and what this
#    station would claim: its claim bound to a card first, then the
#    claimable records lowest first (the lapsed station's untouched claim
#    among them), and it still checks the card in each reader;
#  - it claims nothing and writes nothing to the database: a data-only dump
#    (every table and the fencing sequence) is byte-identical before and
#    after; it writes no journal;
#  - a batch copy that is not the order's, an unknown order: refused with
#    the reason, the database again byte-identical;
#  - a station that never joined is told the number it would get.
# Usage: test_order_dry_run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cf="$build/tools/cardforge"
source "$src/tests/integration/lib/pg.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-order-dry.XXXXXX")
keep=0
trap 'cf_pg_cleanup; [ $keep = 1 ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; keep=1; echo "evidence kept in $tmp"; exit 1; }
said() { grep -F -- "$1" "$tmp/out" >/dev/null || fail "$2: '$1' not said: $(tail -n 12 "$tmp/out")"; }
dump() { # FILE: every row of every table, and the sequences
    runuser -u nobody -- "$CF_PG_BIN/pg_dump" --data-only -h "$CF_PG_DIR" -U cf cardforge \
        >"$1.raw" || fail "pg_dump failed"
    # (newer pg_dump frames its output with a random \restrict key per run)
    grep -v '^\\\(un\)\{0,1\}restrict ' "$1.raw" >"$1" || true
}
unchanged() { # WHAT: the database is as it was in $tmp/before.sql
    dump "$tmp/after.sql"
    cmp -s "$tmp/before.sql" "$tmp/after.sql" ||
        fail "$1 changed the database: $(diff "$tmp/before.sql" "$tmp/after.sql" | head -n 20)"
}

desc="$src/tests/data/run/piv-job.ini"
python3 "$src/tests/integration/lib/piv_batch.py" "$tmp/dry.csv" 10 31 7000
cf_pg_start "$tmp"
"$cf" order init --db "$CF_PG" >/dev/null || fail "init"
"$cf" order load --db "$CF_PG" --name dry "$desc" "$tmp/dry.csv" >/dev/null || fail "load"
oid=$(cf_pg_psql "SELECT id FROM cf_order WHERE name = 'dry'")
# Station A (number 1, running lease) holds record 5 bound by an open intent
# to its card 900; station W (number 2) let its lease run out holding record
# 4 untouched; records 1 and 2 are done, 3 failed.
cf_pg_psql "INSERT INTO cf_station (order_id, station, number, fence, lease_until) VALUES
              ($oid, 'A', 1, nextval('cf_fence'), now() + interval '1 hour'),
              ($oid, 'W', 2, nextval('cf_fence'), now() - interval '1 minute');
            UPDATE cf_record SET state = 'done', serial = '80' || record WHERE order_id = $oid AND record IN (1, 2);
            UPDATE cf_record SET state = 'failed' WHERE order_id = $oid AND record = 3;
            UPDATE cf_record SET state = 'claimed', station = 'W', fence = (SELECT fence FROM cf_station WHERE order_id = $oid AND station = 'W'), claimed = now() WHERE order_id = $oid AND record = 4;
            UPDATE cf_record SET state = 'claimed', station = 'A', fence = (SELECT fence FROM cf_station WHERE order_id = $oid AND station = 'A'), claimed = now() WHERE order_id = $oid AND record = 5;
            INSERT INTO cf_attempt (order_id, station, attempt, record, serial, status) VALUES ($oid, 'A', 1, 5, '900', 'open')"
dump "$tmp/before.sql"
grep -q "cf_attempt" "$tmp/before.sql" || fail "the dump holds no table: $(head -n 20 "$tmp/before.sql")"

# ---- the dry run of station A ----
cp "$tmp/dry.csv" "$tmp/dry-A.csv"
rc=0
"$cf" run "$desc" --batch "$tmp/dry-A.csv" --journal "$tmp/dry-A.jsonl" --readers sim:2:yubikey \
    --db "$CF_PG" --order dry --station A --dry-run >"$tmp/out" 2>&1 || rc=$?
[ $rc = 0 ] || fail "dry run: status $rc: $(tail -n 12 "$tmp/out")"
said "dry run: order 'dry': 10 records: 5 pending, 2 claimed, 2 done, 1 failed" "counts"
said "station 'A' (number 1) holds 1 claim bound to a card by an open intent (records 5): it would finish them first" "held claim"
said "would claim from 6 claimable records, lowest first: 4, 6, 7, 8, 9, 10" "claimable"
said "could be personalized" "the cards in the readers checked"
unchanged "the dry run"
[ ! -e "$tmp/dry-A.jsonl" ] || fail "the dry run wrote a journal: $(cat "$tmp/dry-A.jsonl")"

# ---- a station that never joined ----
cp "$tmp/dry.csv" "$tmp/dry-N.csv"
"$cf" run "$desc" --batch "$tmp/dry-N.csv" --journal "$tmp/dry-N.jsonl" --readers sim:1:yubikey \
    --db "$CF_PG" --order dry --station N --dry-run >"$tmp/out" 2>&1 ||
    fail "dry run of a new station: $(tail -n 12 "$tmp/out")"
said "station 'N' (not in the order yet; it would join as number 3) would claim from 6 claimable records, lowest first: 4, 6, 7, 8, 9, 10" "new station"
unchanged "a new station's dry run"
[ ! -e "$tmp/dry-N.jsonl" ] || fail "the dry run of a new station wrote a journal"

# ---- refusals ----
refused() { # WHAT SAID BATCH ORDER STATION: a dry run refused with status 1, nothing changed
    local rc=0
    "$cf" run "$desc" --batch "$3" --journal "$tmp/dry-$5.jsonl" --readers sim:1:yubikey \
        --db "$CF_PG" --order "$4" --station "$5" --dry-run >"$tmp/out" 2>&1 || rc=$?
    [ $rc = 1 ] || fail "$1: status $rc: $(tail -n 12 "$tmp/out")"
    said "$2" "$1"
    unchanged "a refused dry run ($1)"
}
sed 's/^7001,/7001,x/' "$tmp/dry.csv" >"$tmp/dry-X.csv"
refused "an edited batch copy" "this batch file is not order 'dry''s" "$tmp/dry-X.csv" dry X
refused "an unknown order" "no order named 'nosuch'" "$tmp/dry-A.csv" nosuch U
[ ! -e "$tmp/dry-X.jsonl" ] && [ ! -e "$tmp/dry-U.jsonl" ] || fail "a refused dry run wrote a journal"

echo "ok: the dry run showed the order's counts and the station's next claims, and left the database byte-identical"
