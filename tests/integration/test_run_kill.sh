#!/usr/bin/env bash
# test_run_kill.sh - `cardforge run` killed with SIGKILL at random points and
# resumed, on simulated readers whose cards are kept as state files
# (--sim-keep: a killed run's cards stay "in the readers" and are put back
# by the next run, as an operator would after a power cut).
#
# 24 rounds: each starts the same command (1 to 8 readers, the latency model
# on so kills land inside cards), kills it 50-450 ms after the run's first
# journal record (or its exit), and checks what
# must hold at every instant: no record and no serial personalized twice,
# every personalized card holds its own record's PIN, PUK and key, and every
# card that was changed is named by the journal (its intent is synced before
# the change). Two rounds add a torn last line (a write cut by a power cut),
# one round stops with two SIGINTs (cards stopped at a safe point). A last
# run finishes the batch: every record personalized exactly once, no card
# left cut off, and the journal says it recovered cut-off cards. (A card cut
# off again while being recovered may end at the PUK's last-try guard: the
# executor spends one PUK try per recovery. It is then set aside for rework
# with a failed record, which the checks accept.)
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
check="$src/tests/integration/lib/check_batch.py"
desc="$src/tests/data/run/piv-job.ini"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-run-kill.XXXXXX")
keep_tmp=0
trap '[ $keep_tmp = 1 ] || rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    keep_tmp=1
    echo "evidence kept in $tmp"
    exit 1
}

batch="$tmp/batch.csv"
python3 "$src/tests/integration/lib/piv_batch.py" "$batch" 200 20251 9000
journal="$tmp/journal.jsonl"
cards="$tmp/cards"
judge() { # extra args
    if [ ! -e "$journal" ]; then
        # Killed before it opened its journal (a slow start on a busy
        # machine): then it cannot have touched a card either.
        if [ -n "$(find "$cards" -name 'card-*.state' 2>/dev/null)" ]; then
            echo "cards exist but no journal"
            return 1
        fi
        echo "no journal yet: nothing done"
        return 0
    fi
    python3 "$check" "$journal" "$batch" --cards "$cards/in" "$cards/out" --puk NEW_PUK \
        --key NEW_KEY --blocked "$@"
}
run_args=(run "$desc" --batch "$batch" --journal "$journal" --sim-latency contact
          --sim-keep "$cards")

readers=(4 8 1 2 4 8 3 4 6 8 2 4 8 5 4 1 8 4 2 8 4 6 4 8)
RANDOM=4242
torn=0
for round in $(seq 1 24); do
    n=${readers[round - 1]}
    runs_before=$(grep -c '"type":"run"' "$journal" 2>/dev/null) || true
    "$cf" "${run_args[@]}" --readers "sim:$n:yubikey" >"$tmp/round-$round.out" 2>&1 &
    pid=$!
    # The kill lands 50-450 ms into the run itself, counted from its run
    # record, not from the start of a process that may take seconds to get
    # there on a busy machine (under ASan): otherwise every kill could land
    # before the first card.
    for _ in $(seq 1 600); do
        [ "$(grep -c '"type":"run"' "$journal" 2>/dev/null || true)" -gt "${runs_before:-0}" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    sleep "0.$(printf '%02d' $((5 + RANDOM % 41)))"
    if [ "$round" -eq 12 ]; then
        # Two signals: the second stops the cards in flight at a safe point.
        kill -INT "$pid"
        sleep 0.02
        kill -INT "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" -le 1 ] || fail "round $round: exit $rc after two SIGINTs"
        # (a slow start may still be checking the batch: then nothing was done)
        grep -q "stopping the cards in flight at the next safe point" "$tmp/round-$round.out" ||
            grep >/dev/null "^summary:" "$tmp/round-$round.out" ||
            grep >/dev/null "stopping before the run starts; nothing has been done" \
                "$tmp/round-$round.out" ||
            fail "round $round: no stop message: $(cat "$tmp/round-$round.out")"
    else
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if { [ "$round" -eq 7 ] || [ "$round" -eq 18 ]; } && [ -s "$journal" ]; then
        # A power cut in the middle of a write: the next run removes the tail.
        printf '{"type":"card","attempt":99999,"record":3,"serial":"torn' >>"$journal"
        torn=$((torn + 1))
    fi
    judge --partial >"$tmp/judge.out" || fail "round $round: $(cat "$tmp/judge.out")"
done

# Finish the batch.
"$cf" "${run_args[@]}" --readers sim:4:yubikey >"$tmp/final.out" 2>&1 ||
    fail "final run: exit $? $(tail -n 20 "$tmp/final.out")"
judge >"$tmp/judge.out" || fail "after the final run: $(cat "$tmp/judge.out")"
cat "$tmp/judge.out"
[ -z "$(ls -A "$cards/in")" ] || fail "cards left in readers: $(ls "$cards/in")"
"$cf" report "$journal" --json >"$tmp/report.json" || fail "report exit $?"
python3 - "$tmp/report.json" <<'PY' || fail "report: $(cat "$tmp/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["records"] == {"personalized": 200, "remaining": 0, "duplicates": 0}, r["records"]
assert r["cards"]["serial_repeats"] == 0
# One run record per run that lived long enough to write it (a kill in its
# first milliseconds leaves none), and the final run's.
assert 2 <= r["runs"] <= 25, r["runs"]
# Cards set aside for rework (a change reached them and a later attempt
# failed) are open intents with a failed record, never cut-off ones.
assert all(o["failed"] for o in r["open_intents"]), r["open_intents"]
# Kills landed inside cards: some cut-off cards came back and were finished.
assert r["cards"]["recovered"] >= 1, r["cards"]
PY
grep -q '"attempt":99999' "$journal" && fail "a torn line survived in the journal"
echo "ok: 24 interrupted runs (23 SIGKILL, 1 double SIGINT, $torn torn lines), 200 records once each"
