#!/usr/bin/env bash
# `cardforge report JOURNAL [--json]` over hand-written journals: counts,
# failures by reason, per-reader throughput, open intents, a torn last line
# reported but left in place, a damaged journal refused (exit 1), a missing
# one a usage error (exit 2), and the wrong values cards refused, per serial.
set -euo pipefail
build=$1
cf="$build/tools/cardforge"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

step() { # NAME OUTCOME REACHED ERROR
  printf '{"step":"%s","outcome":"%s","reached":"%s","sw":"9000","ms":10.0,"apdus":3,"kcv":"","error":"%s","message":""}' "$@"
}
card() { # ATTEMPT RECORD SERIAL READER STATUS ERROR START_S END_S STEPS
  printf '{"type":"card","attempt":%s,"record":%s,"line":%s,"id":"","reader":"%s","serial":"%s","atr":"3B","profile":"piv-yubikey","version":"","status":"%s","error":"%s","message":"","start":"2025-01-31T10:00:%02d.000Z","end":"2025-01-31T10:00:%02d.000Z","ms":0,"apdus":20,"recovers":null,"tries":{"PIN":null,"PUK":null,"admin":null},"steps":[%s]}\n' \
    "$1" "$2" "$(( $2 + 1 ))" "$4" "$3" "$5" "$6" "$7" "$8" "$9"
}
ok=$(step set-pin-by-puk done yes CF_OK)
lost="$(step set-pin-by-puk done yes CF_OK),$(step change-puk failed unknown CF_ERR_CARD_REMOVED)"
j="$tmp/j.jsonl"
{
  printf '{"type":"run","v":1,"time":"2025-01-31T10:00:00.000Z","cardforge":"0.1.0","pid":1,"description":"d.ini","description_sha256":"aa","batch":"b.csv","batch_sha256":"bb","records":5,"readers":"sim:2","max_attempts":3}\n'
  card 1 1 101 "sim 1" personalized CF_OK 0 6 "$ok"
  card 2 2 102 "sim 2" personalized CF_OK 0 6 "$ok"
  card 3 3 103 "sim 1" failed CF_ERR_CARD_REMOVED 6 12 "$lost"
  card 4 3 104 "sim 2" personalized CF_OK 6 12 "$ok"
  printf '{"type":"card","attempt":5,"record":null,"line":null,"id":"","reader":"sim 1","serial":"101","atr":"3B","profile":"piv-yubikey","version":"","status":"rejected","error":"CF_ERR_ALREADY_DONE","message":"already personalized","start":"2025-01-31T10:00:12.000Z","end":"2025-01-31T10:00:12.000Z","ms":0,"apdus":2,"recovers":null,"tries":{"PIN":null,"PUK":null,"admin":null},"steps":[]}\n'
  printf '{"type":"intent","time":"2025-01-31T10:00:13.000Z","attempt":6,"record":4,"line":5,"reader":"sim 2","serial":"105","profile":"piv-yubikey","step":"set-pin-by-puk","step_index":1}\n'
} >"$j"

"$cf" report "$j" >"$tmp/out" 2>&1 || fail "report exit $?: $(cat "$tmp/out")"
grep -q '^records   3 personalized, 2 remaining$' "$tmp/out" || fail "records line: $(cat "$tmp/out")"
grep -q '5 attempts: 3 personalized, 1 failed, 1 rejected' "$tmp/out" || fail "cards line: $(cat "$tmp/out")"
grep -Eq '^ +1  failed +CF_ERR_CARD_REMOVED +change-puk$' "$tmp/out" || fail "failure reason: $(cat "$tmp/out")"
grep -Eq '^ +1  rejected +CF_ERR_ALREADY_DONE +-$' "$tmp/out" || fail "rejection reason: $(cat "$tmp/out")"
# sim 1: one personalized card over 12 s of activity = 5 cards/min.
grep -Eq '^  sim 1 +3 +1 +1 +1 +12.0 +5.0$' "$tmp/out" || fail "sim 1 row: $(cat "$tmp/out")"
grep -Eq 'serial 105 +record 4 .* cut off at set-pin-by-puk' "$tmp/out" || fail "open intent 105: $(cat "$tmp/out")"
grep -Eq 'serial 103 +record 3 .* failed at change-puk' "$tmp/out" || fail "open intent 103: $(cat "$tmp/out")"

"$cf" report "$j" --json >"$tmp/json" || fail "report --json exit $?"
python3 - "$tmp/json" <<'PY' || fail "JSON summary: $(cat "$tmp/json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["records"] == {"personalized": 3, "remaining": 2, "duplicates": 0}, r["records"]
assert r["cards"]["attempts"] == 5 and r["cards"]["failed"] == 1 and r["cards"]["rejected"] == 1
assert {(f["error"], f["step"], f["count"]) for f in r["failures"]} == {
    ("CF_ERR_CARD_REMOVED", "change-puk", 1), ("CF_ERR_ALREADY_DONE", "", 1)}
rd = {x["reader"]: x for x in r["readers"]}
assert rd["sim 2"]["personalized"] == 2 and rd["sim 2"]["cards_per_min"] == 10.0, rd
assert sorted(o["serial"] for o in r["open_intents"]) == ["103", "105"]
assert r["torn_last_line"] is False
assert r["wrong_values"] == [] and r["wrong_values_unlisted"] == 0, r["wrong_values"]
PY
grep -q 'wrong values presented' "$tmp/out" && fail "wrong values listed for a journal without any"

# Wrong values the cards refused: summed per serial over its attempts, with
# the parameters' names; a line written before the fields existed counts 0.
spent() { # SPENT_JSON REFUSED_JSON: insert the two fields into a card line
  sed "s/\"steps\":/\"spent\":$1,\"refused\":$2,\"steps\":/"
}
refused=$(step set-pin-by-puk failed no CF_ERR_WRONG_SECRET)
j2="$tmp/j2.jsonl"
{
  card 1 1 201 "sim 1" failed CF_ERR_WRONG_SECRET 0 1 "$refused" | spent '{"PUK":1,"admin":0}' '["InitialPUK"]'
  card 2 1 201 "sim 1" rejected CF_ERR_WRONG_SECRET 1 2 "" | spent '{"PUK":0,"admin":1}' '["CardManagerKey"]'
  card 3 1 202 "sim 2" personalized CF_OK 2 3 "$ok" | spent '{"PUK":0,"admin":0}' '[]'
  card 4 2 203 "sim 2" failed CF_ERR_WRONG_SECRET 3 4 "$refused"
  card 5 2 204 "sim 2" personalized CF_OK 4 5 "$ok" | spent '{"PUK":0,"admin":1}' '["CardManagerKey"]'
} >"$j2"
"$cf" report "$j2" >"$tmp/out" 2>&1 || fail "report (wrong values) exit $?: $(cat "$tmp/out")"
grep -q '^wrong values presented' "$tmp/out" || fail "no wrong values section: $(cat "$tmp/out")"
grep -q '^  serial 201: PUK 1, admin 1; refused InitialPUK, CardManagerKey$' "$tmp/out" ||
  fail "wrong values of 201: $(cat "$tmp/out")"
grep -q '^  serial 204: PUK 0, admin 1; refused CardManagerKey$' "$tmp/out" ||
  fail "wrong values of 204: $(cat "$tmp/out")"
grep -Eq '^  serial 20[23]:' "$tmp/out" && fail "a card without wrong values listed: $(cat "$tmp/out")"
"$cf" report "$j2" --json >"$tmp/json" || fail "report --json (wrong values) exit $?"
python3 - "$tmp/json" <<'PY' || fail "JSON wrong values: $(cat "$tmp/json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["wrong_values"] == [
    {"serial": "201", "spent": {"PUK": 1, "admin": 1}, "refused": ["InitialPUK", "CardManagerKey"]},
    {"serial": "204", "spent": {"PUK": 0, "admin": 1}, "refused": ["CardManagerKey"]},
], r["wrong_values"]
PY
# A name that is not a parameter is damage at its line.
sed -i '2s/"CardManagerKey"/"CardManagerKeys"/' "$j2"
rc=0; "$cf" report "$j2" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "unknown refused name: exit $rc, expected 1"
grep -q 'j2.jsonl:2: error: not a journal record (refused: not a parameter name)' "$tmp/out" ||
  fail "unknown refused name message: $(cat "$tmp/out")"

# A torn last line: reported, not applied, the file untouched.
printf '{"type":"card","attempt":7,"rec' >>"$j"
size=$(stat -c %s "$j")
"$cf" report "$j" >"$tmp/out" 2>&1 || fail "torn: exit $?"
grep -q 'j.jsonl:8: warning: torn last line' "$tmp/out" || fail "torn warning: $(cat "$tmp/out")"
grep -q 'note: torn last line 8' "$tmp/out" || fail "torn note: $(cat "$tmp/out")"
[ "$(stat -c %s "$j")" = "$size" ] || fail "report changed the journal"

# Damage in the middle: exit 1 with the line.
sed -i '3s/"status":"personalized"/"status":"splendid"/' "$j"
rc=0; "$cf" report "$j" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "damaged journal: exit $rc, expected 1"
grep -q 'j.jsonl:3: error: not a journal record (status)' "$tmp/out" || fail "damage message: $(cat "$tmp/out")"

# A file that is not a journal at all (a batch) says so: a usage error.
printf 'ID,PIN\n1,123456\n' >"$tmp/batch.csv"
rc=0; "$cf" report "$tmp/batch.csv" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "not a journal: exit $rc, expected 2"
grep -q 'batch.csv is not a cardforge journal' "$tmp/out" || fail "not a journal: $(cat "$tmp/out")"
grep -q '123456' "$tmp/out" && fail "report echoed the file's content"

rc=0; "$cf" report "$tmp/none.jsonl" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "missing journal: exit $rc, expected 2"
rc=0; "$cf" report >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "no argument: exit $rc, expected 2"
echo "ok: report text and JSON, wrong values, torn line, damage, usage"
