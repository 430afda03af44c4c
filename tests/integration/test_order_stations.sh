#!/usr/bin/env bash
# test_order_stations.sh - several stations on one order in a real
# PostgreSQL (lib/pg.sh), each a `cardforge run --db --order --station` with
# simulated readers, its own copy of the batch and its own journal:
#  1. three stations at once: every record personalized exactly once, no
#     serial twice (each station's simulated cards in a range of its own),
#     the database's attempts are the union of the journals; each journal's
#     run line names the order and its station (and `report` shows them);
#  2. one station killed with SIGKILL mid-batch and started again: its card
#     cut off in a reader is finished on the same card, the others go on;
#  3. refusals, nothing claimed: a batch file that is not the order's, an
#     unknown order, a second process under a station name that is running;
#  4. a station whose lease ran out while it was stopped (SIGSTOP): another
#     station takes its claims that no intent binds; woken, it cannot touch
#     a card for a record that is no longer its own;
#  5. the database restarted mid-batch, then the stations' backends
#     terminated: the stations pause new cards, finish and journal the ones
#     in flight, reconnect, send what the database missed, and go on;
#  6. rework: a personalized card voided (its record made again on another
#     card), a release refused for a done record and for a claim an open
#     intent binds to a card, which a void then frees.
# Judged by the journals, the cards' state files (check_batch.py per station)
# and the database (judge_order.py).
# Usage: test_order_stations.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cf="$build/tools/cardforge"
source "$src/tests/integration/lib/pg.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-order-stations.XXXXXX")
keep=0
pids=()
cleanup() {
    # (errexit holds in a trap: a station already gone must not skip the
    # server's stop)
    for p in "${pids[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
        kill -KILL "$p" 2>/dev/null || true
    done
    cf_pg_cleanup
    [ $keep = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; keep=1; echo "evidence kept in $tmp"; exit 1; }

desc="$src/tests/data/run/piv-job.ini"
check="$src/tests/integration/lib/check_batch.py"
judge_py="$src/tests/integration/lib/judge_order.py"
cf_pg_start "$tmp"
"$cf" order init --db "$CF_PG" >/dev/null || fail "init"

new_order() { # NAME RECORDS SEED: an order and the batch it was loaded from
    python3 "$src/tests/integration/lib/piv_batch.py" "$tmp/$1.csv" "$2" "$3" 7000
    "$cf" order load --db "$CF_PG" --name "$1" "$desc" "$tmp/$1.csv" >/dev/null ||
        fail "load $1"
}
station_args() { # ORDER STATION: the command line of one station (into args)
    [ -e "$tmp/$1-$2.csv" ] || cp "$tmp/$1.csv" "$tmp/$1-$2.csv" # the station's own copy
    args=("$cf" run "$desc" --batch "$tmp/$1-$2.csv" --journal "$tmp/$1-$2.jsonl"
          --sim-keep "$tmp/$1-$2.cards" --db "$CF_PG" --order "$1" --station "$2")
}
station() { # ORDER STATION [ARGS...]: run one station in the foreground
    local o=$1 s=$2 args
    shift 2
    station_args "$o" "$s"
    "${args[@]}" "$@" >>"$tmp/$o-$s.out" 2>&1
}
start_station() { # ORDER STATION [ARGS...]: in the background; its PID in bg_pid
    local o=$1 s=$2 args
    shift 2
    station_args "$o" "$s"
    "${args[@]}" "$@" >>"$tmp/$o-$s.out" 2>&1 &
    bg_pid=$!
    pids+=("$bg_pid")
}
judge() { # ORDER RECORDS [--live] STATIONS...
    local o=$1 n=$2 partial=""
    shift 2
    if [ "${1:-}" = --live ]; then partial=--live; shift; fi
    local oid
    oid=$(cf_pg_psql "SELECT id FROM cf_order WHERE name = '$o'")
    cf_pg_psql "SELECT station, attempt, coalesce(record::text, ''), serial, status FROM cf_attempt
                WHERE order_id = $oid" >"$tmp/$o.attempts"
    cf_pg_psql "SELECT record, state, coalesce(serial, '') FROM cf_record WHERE order_id = $oid" \
        >"$tmp/$o.records"
    local s
    local js=()
    for s in "$@"; do js+=("$s=$tmp/$o-$s.jsonl"); done
    python3 "$judge_py" "$tmp/$o.attempts" "$tmp/$o.records" "$n" "${js[@]}" $partial || return 1
    for s in "$@"; do
        [ -e "$tmp/$o-$s.jsonl" ] || continue
        python3 "$check" "$tmp/$o-$s.jsonl" "$tmp/$o.csv" --cards "$tmp/$o-$s.cards/in" \
            "$tmp/$o-$s.cards/out" --puk NEW_PUK --key NEW_KEY --blocked --partial >/dev/null ||
            { echo "check_batch for station $s:"; python3 "$check" "$tmp/$o-$s.jsonl" "$tmp/$o.csv" \
                --cards "$tmp/$o-$s.cards/in" "$tmp/$o-$s.cards/out" --puk NEW_PUK --key NEW_KEY \
                --blocked --partial; return 1; }
    done
}

# ---- 1. three stations at once ----
new_order one 45 21
for s in A B C; do start_station one "$s" --readers sim:2:yubikey --sim-latency contact; done
for p in "${pids[@]}"; do wait "$p" || fail "a station ended with status $?: $(tail -q -n 5 "$tmp"/one-*.out)"; done
pids=()
judge one 45 A B C >"$tmp/judge.out" || fail "three stations: $(cat "$tmp/judge.out")"
cat "$tmp/judge.out"
for s in A B C; do
    grep -q "^summary: order: [0-9]* of 45 records done" "$tmp/one-$s.out" ||
        fail "station $s's summary: $(grep summary "$tmp/one-$s.out")"
    [ "$(grep -c ': personalized (' "$tmp/one-$s.out")" -gt 0 ] || fail "station $s did nothing"
    # every line reached the database during the run: the replays at the
    # join and at the end send none again
    ! grep "journal lines it lacked sent" "$tmp/one-$s.out" ||
        fail "station $s sent journal lines again that the database had"
done
# Each journal's run line names the order and the station, with the
# station's number in the order; `cardforge report JOURNAL` shows them.
oid=$(cf_pg_psql "SELECT id FROM cf_order WHERE name = 'one'")
for s in A B C; do
    n=$(cf_pg_psql "SELECT number FROM cf_station WHERE order_id = $oid AND station = '$s'")
    grep -q "^{\"type\":\"run\",.*,\"order\":\"one\",\"station\":\"$s\",\"station_number\":$n}\$" \
        "$tmp/one-$s.jsonl" || fail "station $s's run line: $(grep '"type":"run"' "$tmp/one-$s.jsonl")"
    "$cf" report "$tmp/one-$s.jsonl" | grep >/dev/null "^order     one, as station $s (number $n)\$" ||
        fail "report of station $s's journal: $("$cf" report "$tmp/one-$s.jsonl" | head -n 5)"
    "$cf" report --json "$tmp/one-$s.jsonl" | python3 -c "import json, sys
o = json.load(sys.stdin)['order']
assert o == {'name': 'one', 'station': '$s', 'station_number': $n}, o" || fail "report --json of station $s"
done
"$cf" order status --db "$CF_PG" --name one | grep >/dev/null "one: 45 records: 45 done, 0 claimed, 0 pending, 0 failed" ||
    fail "order status: $("$cf" order status --db "$CF_PG" --name one)"
# The order across its stations, from the database.
"$cf" report --db "$CF_PG" --order one --json >"$tmp/report.json" || fail "report --order: $(cat "$tmp/report.json")"
python3 - "$tmp/report.json" <<'PY' || fail "report --order: $(cat "$tmp/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["records"] == {"total": 45, "done": 45, "claimed": 0, "pending": 0, "failed": 0}, r["records"]
st = {s["station"]: s for s in r["stations"]}
assert sorted(st) == ["A", "B", "C"], st
assert sum(s["personalized"] for s in st.values()) == 45, st
assert all(s["cards_per_min"] > 0 and s["open"] == 0 and s["claims"] == 0 for s in st.values()), st
assert len(r["readers"]) == 6 and sum(x["personalized"] for x in r["readers"]) == 45, r["readers"]
assert r["open_intents"] == [] and r["in_doubt"] == 0, r
PY
"$cf" report --db "$CF_PG" --order one | grep >/dev/null "^order one: 45 records: 45 done" ||
    fail "report --order (text): $("$cf" report --db "$CF_PG" --order one)"
# Cards of different stations never share a serial.
[ "$(cf_pg_psql "SELECT count(DISTINCT serial) = count(*) FROM cf_attempt WHERE status = 'personalized'")" = t ] ||
    fail "a serial was personalized twice"

# ---- 2. a station killed mid-batch, then started again ----
new_order two 40 22
start_station two B --readers sim:2:yubikey --sim-latency contact
pid_b=$bg_pid
start_station two A --readers sim:2:yubikey --sim-latency contact
pid_a=$bg_pid
# Kill A once it is inside a few cards.
for _ in $(seq 1 600); do
    n=$(grep -c '"type":"card"' "$tmp/two-A.jsonl" 2>/dev/null) || true
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.05
done
sleep 0.1
kill -KILL "$pid_a" 2>/dev/null || true
wait "$pid_a" 2>/dev/null || true
judge two 40 --live A B >"$tmp/judge.out" || fail "after the kill: $(cat "$tmp/judge.out")"
left_in=$(ls "$tmp/two-A.cards/in" 2>/dev/null | wc -l)
station two A --readers sim:2:yubikey --sim-latency contact ||
    fail "station A after the kill: status $?: $(tail -n 5 "$tmp/two-A.out")"
wait "$pid_b" || fail "station B: status $?: $(tail -n 5 "$tmp/two-B.out")"
pids=()
judge two 40 A B >"$tmp/judge.out" || fail "after the restart: $(cat "$tmp/judge.out")"
cat "$tmp/judge.out"
[ -z "$(ls -A "$tmp/two-A.cards/in")" ] || fail "station A left cards in its readers"
echo "killed station: $left_in cards were in its readers; all finished"

# ---- 3. refusals: nothing claimed ----
new_order three 10 23
claimed() { cf_pg_psql "SELECT count(*) FROM cf_record r JOIN cf_order o ON o.id = r.order_id
                        WHERE o.name = 'three' AND r.state <> 'pending'"; }
sed 's/^7001,/7001,x/' "$tmp/three.csv" >"$tmp/three-X.csv"
rc=0; station three X --readers sim:1:yubikey || rc=$?
[ $rc = 1 ] || fail "an edited batch copy: status $rc"
grep -q "this batch file is not order 'three''s" "$tmp/three-X.out" || fail "edited copy: $(cat "$tmp/three-X.out")"
rc=0; "$cf" run "$desc" --batch "$tmp/three.csv" --journal "$tmp/three-U.jsonl" --readers sim:1:yubikey \
    --db "$CF_PG" --order nosuch --station U >"$tmp/three-U.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "unknown order: status $rc"
grep -q "no order named 'nosuch'" "$tmp/three-U.out" || fail "unknown order: $(cat "$tmp/three-U.out")"
[ "$(claimed)" = 0 ] || fail "a refused station claimed records"
# The same name twice at once.
start_station three S --readers sim:1:yubikey --sim-latency contact-9600
pid_s=$bg_pid
for _ in $(seq 1 600); do
    [ -s "$tmp/three-S.jsonl" ] && break
    sleep 0.05
done
rc=0; "$cf" run "$desc" --batch "$tmp/three.csv" --journal "$tmp/three-S2.jsonl" --readers sim:1:yubikey \
    --db "$CF_PG" --order three --station S >"$tmp/three-S2.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "a second process as station S: status $rc"
grep -q "station 'S' is running in another process" "$tmp/three-S2.out" ||
    fail "second process: $(cat "$tmp/three-S2.out")"
wait "$pid_s" || fail "station S: status $?: $(tail -n 5 "$tmp/three-S.out")"
pids=()
judge three 10 S >"$tmp/judge.out" || fail "refusals: $(cat "$tmp/judge.out")"

# ---- 4. a stopped station's lease runs out ----
new_order four 30 24
# Z claims ahead (up to two per reader) and is frozen; its lease is 2 s.
start_station four Z --readers sim:2:yubikey --sim-latency contact-9600 --max-attempts 3 \
    --order-lease 2
pid_z=$bg_pid
for _ in $(seq 1 600); do
    n=$(grep -c '"type":"card"' "$tmp/four-Z.jsonl" 2>/dev/null) || true
    [ "${n:-0}" -ge 1 ] && break
    sleep 0.05
done
kill -STOP "$pid_z"
sleep 3
station four Y --readers sim:2:yubikey || fail "station Y: status $?: $(tail -n 5 "$tmp/four-Y.out")"
kill -CONT "$pid_z"
wait "$pid_z" || true
pids=()
judge four 30 Y Z >"$tmp/judge.out" || fail "lease ran out: $(cat "$tmp/judge.out")"
cat "$tmp/judge.out"
if grep -q "is no longer this station's in the order" "$tmp/four-Z.out"; then
    echo "lease: the woken station was refused a record it no longer held; the card was not touched"
fi
# ---- 5. the database restarted, then a station's backend terminated ----
new_order five 40 25
start_station five P --readers sim:2:yubikey --sim-latency contact
pid_p=$bg_pid
start_station five Q --readers sim:2:yubikey --sim-latency contact
pid_q=$bg_pid
cards_in() { cat "$tmp"/five-*.jsonl 2>/dev/null | grep -c '"type":"card"' || true; }
for _ in $(seq 1 600); do [ "$(cards_in)" -ge 6 ] && break; sleep 0.05; done
cf_pg_restart
for _ in $(seq 1 600); do [ "$(cards_in)" -ge 20 ] && break; sleep 0.05; done
cf_pg_psql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = 'cardforge' AND pid <> pg_backend_pid()" >/dev/null
wait "$pid_p" || fail "station P after the database went away: status $?: $(tail -n 5 "$tmp/five-P.out")"
wait "$pid_q" || fail "station Q after the database went away: status $?: $(tail -n 5 "$tmp/five-Q.out")"
pids=()
judge five 40 P Q >"$tmp/judge.out" || fail "database restarted: $(cat "$tmp/judge.out")"
cat "$tmp/judge.out"
grep -h "order database:" "$tmp"/five-*.out | sed 's/^[^ ]* //' | sort | uniq -c

# ---- 6. an operator's hand: a card voided for rework, claims released ----
new_order six 6 26
station six V --readers sim:1:yubikey || fail "station V: status $?: $(tail -n 5 "$tmp/six-V.out")"
oid=$(cf_pg_psql "SELECT id FROM cf_order WHERE name = 'six'")
old_serial=$(cf_pg_psql "SELECT serial FROM cf_record WHERE order_id = $oid AND record = 3")
rc=0; "$cf" order release --db "$CF_PG" --name six --record 3 >"$tmp/six.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "record 3 is done, not claimed" "$tmp/six.out" || fail "release of a done record: $rc $(cat "$tmp/six.out")"
"$cf" order void --db "$CF_PG" --name six --serial "$old_serial" >"$tmp/six.out" 2>&1 ||
    fail "void: $(cat "$tmp/six.out")"
grep -q "card $old_serial voided for rework; record 3 is pending again" "$tmp/six.out" || fail "void: $(cat "$tmp/six.out")"
station six V --readers sim:1:yubikey || fail "station V after the void: status $?: $(tail -n 5 "$tmp/six-V.out")"
new_serial=$(cf_pg_psql "SELECT serial FROM cf_record WHERE order_id = $oid AND record = 3 AND state = 'done'")
[ -n "$new_serial" ] && [ "$new_serial" != "$old_serial" ] || fail "record 3 not made again on a new card: '$new_serial'"
! grep "journal lines it lacked sent" "$tmp/six-V.out" ||
    fail "station V's second run sent journal lines again that the database had"
[ "$(cf_pg_psql "SELECT count(*) FROM cf_attempt WHERE order_id = $oid AND status = 'personalized' AND voided IS NULL")" = 6 ] ||
    fail "not one live personalized card per record after the rework"
# A claim an open intent binds to a card is not released; voiding the card is the way.
cf_pg_psql "INSERT INTO cf_station (order_id, station, number, fence, lease_until) VALUES ($oid, 'W', 9, 1, now());
            UPDATE cf_record SET state = 'claimed', station = 'W', fence = 1, serial = NULL WHERE order_id = $oid AND record = 5;
            UPDATE cf_attempt SET voided = now() WHERE order_id = $oid AND record = 5;
            INSERT INTO cf_attempt (order_id, station, attempt, record, serial, status) VALUES ($oid, 'W', 1, 5, 'cut-off-card', 'open')"
# The report names it, in doubt: its station's lease has run out.
"$cf" report --db "$CF_PG" --order six >"$tmp/six-report.out" || fail "report: $(cat "$tmp/six-report.out")"
grep -q "station W attempt 1: record 5, card cut-off-card, since .*IN DOUBT" "$tmp/six-report.out" ||
    fail "report does not name the card in doubt: $(cat "$tmp/six-report.out")"
rc=0; "$cf" order release --db "$CF_PG" --name six --record 5 >"$tmp/six.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "record 5 is bound to card cut-off-card at station W by an open intent" "$tmp/six.out" ||
    fail "release of a claim with an open intent: $rc $(cat "$tmp/six.out")"
"$cf" order void --db "$CF_PG" --name six --serial cut-off-card >"$tmp/six.out" 2>&1 || fail "void of a cut-off card: $(cat "$tmp/six.out")"
[ "$(cf_pg_psql "SELECT state FROM cf_record WHERE order_id = $oid AND record = 5")" = pending ] || fail "record 5 not pending after the void"
echo "rework: card $old_serial voided, record 3 made again on card $new_serial; a bound claim refused release, voided"

echo "ok: 3 stations, a killed station restarted, refusals, a lost lease, the database restarted and a backend terminated, rework: every record once"
