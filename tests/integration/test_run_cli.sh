#!/usr/bin/env bash
# test_run_cli.sh - `cardforge run` as an operator meets it, on simulated
# readers: every sample runs; running again continues (nothing done twice);
# --dry-run changes nothing; the whole batch is validated before any card
# (bad reader spec, prompts, a journal of another batch, a journal in use);
# a record whose value the card's policy refuses is given up after
# --max-attempts; SIGINT finishes the cards in flight; no secret reaches the
# journal, the output or the trace. Exit statuses 0/1/2 as documented.
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
check="$src/tests/integration/lib/check_batch.py"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-run-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_rc() { # WANT WHAT CMD...
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >"$tmp/out" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want: $(tail -n 20 "$tmp/out")"
}
job="$src/tests/data/run/piv-job.ini"

# ---- every sample, on the card type it is written for ----
for s in offline-unblock:gids:gemalto pin-by-admin-key-rotate:gids:gemalto \
    pin-by-puk-literal:yubikey pin-by-puk-per-card:yubikey block-before-pickup:yubikey; do
    name=${s%%:*}
    d="$src/samples/$name"
    expect_rc 0 "sample $name" "$cf" run "$d/description.ini" --batch "$d/batch.csv" \
        --journal "$tmp/$name.jsonl" --readers "sim:2:${s#*:}"
    grep -q '^summary: \([0-9]*\) of \1 records personalized' "$tmp/out" ||
        fail "sample $name: summary: $(cat "$tmp/out")"
done

# ---- --profile: card stock the card cannot show; a name no profile has ----
d="$src/samples/offline-unblock"
expect_rc 0 "--profile gids-gemalto" "$cf" run "$d/description.ini" --batch "$d/batch.csv" \
    --journal "$tmp/named.jsonl" --readers sim:1:gids:gemalto --profile gids-gemalto
grep -q '"type":"card".*"profile":"gids-gemalto"' "$tmp/named.jsonl" || fail "no card of gids-gemalto"
grep '"type":"card"' "$tmp/named.jsonl" | grep -v '"profile":"gids-gemalto"' &&
    fail "--profile not used for every card"
expect_rc 1 "--profile nosuch" "$cf" run "$d/description.ini" --batch "$d/batch.csv" \
    --journal "$tmp/nosuch.jsonl" --readers sim:1:gids:gemalto --profile nosuch
grep -q "no card profile named 'nosuch'" "$tmp/out" || fail "nosuch: $(cat "$tmp/out")"
[ -e "$tmp/nosuch.jsonl" ] && fail "a run with an unknown profile created its journal"

# ---- a batch with distinctive secrets; resume; no secret anywhere ----
cat >"$tmp/b.csv" <<'EOF'
ID,NAME,PIN,NEW_PUK,NEW_KEY
7001,Ada,739146,58204719,A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718
7002,Alan,582047,61937250,0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A6978
7003,Grace,915372,84026153,13579BDF02468ACE13579BDF02468ACE13579BDF02468ACE
EOF
j="$tmp/j.jsonl"
expect_rc 0 "first run" "$cf" run "$job" --batch "$tmp/b.csv" --journal "$j" --readers sim:2:yubikey \
    --trace "$tmp/trace.txt" --sim-keep "$tmp/cards"
cp "$tmp/out" "$tmp/first.out"
python3 "$check" "$j" "$tmp/b.csv" --cards "$tmp/cards/in" "$tmp/cards/out" --puk NEW_PUK \
    --key NEW_KEY --blocked >"$tmp/judge" || fail "first run: $(cat "$tmp/judge")"
[ "$(grep -c '"type":"intent"' "$j")" -eq 12 ] || fail "expected 4 intents per card"
grep -q '"step":"rotate-admin-key","outcome":"done".*"kcv":"[0-9A-F]\{6\}"' "$j" ||
    fail "no key check value for the rotated key"
for secret in 739146 582047 915372 58204719 61937250 84026153 A1B2C3D4E5F6 0F1E2D3C4B5A \
    13579BDF0246 "$(printf 739146 | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
    "$(printf 58204719 | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"; do
    for f in "$j" "$tmp/first.out" "$tmp/trace.txt"; do
        if grep -qi "$secret" "$f"; then fail "secret $secret appears in $f"; fi
    done
done
grep -q '\*\*' "$tmp/trace.txt" || fail "the trace shows no redacted bytes"
[ "$(stat -c %a "$tmp/trace.txt")" = 600 ] || fail "trace mode $(stat -c %a "$tmp/trace.txt")"

# ---- export: one row per card, for a card management system --------------
expect_rc 0 "export csv" "$cf" export "$j"
python3 - "$tmp/out" <<'PY' || fail "export csv: $(cat "$tmp/out")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3 and {r["id"] for r in rows} == {"7001", "7002", "7003"}, rows
assert all(r["status"] == "personalized" and len(r["admin_kcv"]) == 6 for r in rows), rows
PY
expect_rc 0 "export json to a file" "$cf" export "$j" --format json --out "$tmp/export.json"
[ "$(stat -c %a "$tmp/export.json")" = 600 ] || fail "export file mode"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r)==3, r' \
    "$tmp/export.json" || fail "export json: $(cat "$tmp/export.json")"
for secret in 739146 58204719 A1B2C3D4E5F6; do
    grep -qi "$secret" "$tmp/export.json" && fail "secret $secret in the export"
done
expect_rc 2 "export --format xml" "$cf" export "$j" --format xml

lines=$(wc -l <"$j")
expect_rc 0 "second run" "$cf" run "$job" --batch "$tmp/b.csv" --journal "$j" --readers sim:2:yubikey \
    --sim-keep "$tmp/cards"
grep -q '^summary: 3 of 3 records personalized (3 before this run)' "$tmp/out" ||
    fail "resume summary: $(cat "$tmp/out")"
grep -q '"type":"card"' <(tail -n +"$((lines + 1))" "$j") && fail "the second run touched a card"

# ---- dry run: identifies and checks, writes nothing ----
expect_rc 0 "dry run" "$cf" run "$job" --batch "$tmp/b.csv" --journal "$tmp/dry.jsonl" \
    --readers sim:1:yubikey --dry-run
[ -e "$tmp/dry.jsonl" ] && fail "the dry run wrote a journal"
grep -q "card [0-9]* (piv-yubikey): could be personalized" "$tmp/out" || fail "dry run: $(cat "$tmp/out")"
grep -q '^dry run: 1 card checked: 1 could be personalized, 0 refused; nothing was changed, no journal was written' "$tmp/out" ||
    fail "dry run summary: $(cat "$tmp/out")"
grep -q 'personalized (' "$tmp/out" && fail "a dry run says personalized: $(cat "$tmp/out")"
# a card the plan cannot run on: refused, status 1, and it ends
expect_rc 1 "dry run, card refused" timeout 60 "$cf" run "$job" --batch "$tmp/b.csv" \
    --journal "$tmp/dry.jsonl" --readers sim:2:piv --dry-run
grep -q '^dry run: 2 cards checked: 0 could be personalized, 2 refused' "$tmp/out" ||
    fail "dry run refusal: $(cat "$tmp/out")"
[ -e "$tmp/dry.jsonl" ] && fail "the dry run wrote a journal"

# ---- validation before any card ----
expect_rc 2 "bad reader spec" "$cf" run "$job" --batch "$tmp/b.csv" --journal "$tmp/x.jsonl" \
    --readers sim:0 --trace "$tmp/refused.trace"
[ -e "$tmp/refused.trace" ] && fail "a refused run left its new trace file"
grep -q 'nothing was done (the problems are listed above)' "$tmp/out" ||
    fail "refusal summary: $(cat "$tmp/out")"
grep -q 'number of readers must be 1 to 1024' "$tmp/out" || fail "spec message: $(cat "$tmp/out")"
expect_rc 2 "no journal option" "$cf" run "$job" --batch "$tmp/b.csv"
expect_rc 2 "bad --max-attempts" "$cf" run "$job" --batch "$tmp/b.csv" --journal "$tmp/x.jsonl" \
    --max-attempts 0
expect_rc 2 "unknown latency profile" "$cf" run "$job" --batch "$tmp/b.csv" \
    --journal "$tmp/x.jsonl" --readers sim:1:yubikey --sim-latency warp
printf '[Description]\nSetPIN=true\nPIN=!FROM_USER_DIALOG_1_FIELD\nInitialPUK=#12345678\n' \
    >"$tmp/prompt.ini"
printf 'ID\n1\n' >"$tmp/one.csv"
expect_rc 1 "description with a prompt" "$cf" run "$tmp/prompt.ini" --batch "$tmp/one.csv" \
    --journal "$tmp/x.jsonl" --readers sim:1:yubikey
grep -q 'prompt.ini:3: error: PIN asks the operator' "$tmp/out" || fail "prompt: $(cat "$tmp/out")"
[ -e "$tmp/x.jsonl" ] && fail "a refused run created its journal"
printf 'ID,NAME,PIN,NEW_PUK,NEW_KEY\n1,A,123456,12345678,00\n' >"$tmp/badkey.csv"
expect_rc 1 "bad record" "$cf" run "$job" --batch "$tmp/badkey.csv" --journal "$tmp/x.jsonl" \
    --readers sim:1:yubikey
grep -q 'badkey.csv:2: error: column NEW_KEY' "$tmp/out" || fail "bad record: $(cat "$tmp/out")"
# A simulated hopper of cards the run cannot take (gids cards for a piv
# profile): the reader is set aside after three, instead of rejecting cards
# as fast as they are fed until somebody stops the run.
expect_rc 1 "hopper of foreign cards" timeout 60 "$cf" run "$job" --batch "$tmp/b.csv" \
    --journal "$tmp/foreign.jsonl" --readers sim:1:gids --profile piv
grep -q "set aside: 3 cards in a row that this run cannot take (last: CF_ERR_UNKNOWN_CARD)" \
    "$tmp/out" || fail "foreign hopper: $(tail -n 5 "$tmp/out")"
[ "$(grep -c 'rejected, CF_ERR_UNKNOWN_CARD' "$tmp/out")" -eq 3 ] \
    || fail "foreign hopper: not exactly 3 cards rejected: $(grep -c rejected "$tmp/out")"
head -n 3 "$tmp/b.csv" >"$tmp/other.csv"
expect_rc 1 "journal of another batch" "$cf" run "$job" --batch "$tmp/other.csv" --journal "$j" \
    --readers sim:1:yubikey
grep -q 'this journal belongs to another batch' "$tmp/out" || fail "other batch: $(cat "$tmp/out")"
# The journal names the description by the SHA-256 of the bytes the run
# compiled; the same text with one comment added is another description.
want=$(sha256sum "$job" | cut -d' ' -f1)
grep -q "\"description_sha256\":\"$want\"" "$j" || fail "journal does not name the description's sha256 $want"
{ cat "$job"; printf '; a comment makes it another file\n'; } >"$tmp/job2.ini"
expect_rc 1 "journal of another description" "$cf" run "$tmp/job2.ini" --batch "$tmp/b.csv" \
    --journal "$j" --readers sim:1:yubikey
grep -q 'this journal was run with another description' "$tmp/out" \
    || fail "other description: $(cat "$tmp/out")"

# ---- a journal in use; SIGINT finishes the cards in flight ----
python3 - "$tmp/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("ID,NAME,PIN,NEW_PUK,NEW_KEY\n")
    for i in range(1, 301):
        f.write("%d,N,%06d,%08d,%048X\n" % (i, 100000 + i, 10000000 + i, i))
PY
"$cf" run "$job" --batch "$tmp/big.csv" --journal "$tmp/big.jsonl" --readers sim:3:yubikey \
    --sim-latency contact >"$tmp/big.out" 2>&1 &
pid=$!
# (60 s at most: a loaded machine under ASan starts slowly)
for _ in $(seq 600); do grep -q '"type":"card"' "$tmp/big.jsonl" 2>/dev/null && break; sleep 0.1; done
grep -q '"type":"card"' "$tmp/big.jsonl" || fail "no card done in 60 s: $(tail -n 5 "$tmp/big.out")"
expect_rc 1 "journal in use" "$cf" run "$job" --batch "$tmp/big.csv" --journal "$tmp/big.jsonl" \
    --readers sim:1:yubikey
grep -q 'in use by another run' "$tmp/out" || fail "journal in use: $(cat "$tmp/out")"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ $rc -eq 1 ] || fail "stopped run: exit $rc, expected 1"
grep -q 'interrupt: finishing the cards in flight' "$tmp/big.out" || fail "no stop message"
grep -q 'stopped before the end: run the same command again' "$tmp/big.out" || fail "no summary"
grep -q '"status":"failed"' "$tmp/big.jsonl" && fail "a card in flight did not finish"
grep -q '"type":"end","time":"[^"]*","reason":"interrupted"' "$tmp/big.jsonl" ||
    fail "no end record"

# ---- a value the card's policy refuses: rejected, then given up ----
printf 'ID,NAME,PIN,NEW_PUK,NEW_KEY\n1,A,12345,12345678,%048d\n2,B,654321,87654321,%048d\n' 1 2 \
    >"$tmp/policy.csv"
expect_rc 1 "policy refusal" "$cf" run "$job" --batch "$tmp/policy.csv" \
    --journal "$tmp/policy.jsonl" --readers sim:1:yubikey --max-attempts 2
grep -q 'given up (every attempt failed): 1 record: 1' "$tmp/out" || fail "give up: $(cat "$tmp/out")"
[ "$(grep -c '"record":1,.*"status":"rejected","error":"CF_ERR_POLICY"' "$tmp/policy.jsonl")" -eq 2 ] ||
    fail "expected two policy rejections of record 1"
grep -q '"record":2,.*"status":"personalized"' "$tmp/policy.jsonl" || fail "record 2 not done"
# ---- two signals: the cards in flight stop at a safe point and say so ----
# A card is held still right after the journal took its intent for
# set-pin-by-puk, its first irreversible step (an LD_PRELOAD shim on the
# journal's write, lib/hold_write.c): three steps remain, so a safe point
# lies ahead of it. Both signals go while it is held, the second once the
# first has been taken (its message is out), so the two are never merged
# into one; then the card goes on. No timing is assumed: on a slow machine
# the cards used to finish their steps before the second signal came.
shim="$tmp/hold_write.so"
cc -shared -fPIC -O1 -o "$shim" "$src/tests/integration/lib/hold_write.c" -ldl ||
    fail "cannot build the hold shim"
CF_HOLD_MATCH=stop.jsonl CF_HOLD_TEXT='"type":"intent"|"step":"set-pin-by-puk"' \
    CF_HOLD_FLAG="$tmp/held" CF_HOLD_RELEASE="$tmp/release" LD_PRELOAD="$shim" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$cf" run "$job" --batch "$tmp/big.csv" --journal "$tmp/stop.jsonl" --readers sim:3:yubikey \
    --sim-latency contact-9600 --sim-keep "$tmp/stopcards" >"$tmp/stop.out" 2>&1 &
pid=$!
for _ in $(seq 1200); do [ -e "$tmp/held" ] && break; sleep 0.05; done
[ -e "$tmp/held" ] || fail "no card began set-pin-by-puk in 60 s: $(tail -n 5 "$tmp/stop.out")"
kill -INT "$pid"
for _ in $(seq 600); do grep -q 'interrupt: finishing the cards in flight' "$tmp/stop.out" && break; sleep 0.05; done
grep -q 'interrupt: finishing the cards in flight' "$tmp/stop.out" || fail "no first stop message in 30 s"
kill -INT "$pid"
for _ in $(seq 600); do grep -q 'stopping the cards in flight at the next safe point' "$tmp/stop.out" && break; sleep 0.05; done
: >"$tmp/release"
rc=0
wait "$pid" || rc=$?
[ $rc -eq 1 ] || fail "run stopped twice: exit $rc, expected 1"
grep -q 'stopping the cards in flight at the next safe point' "$tmp/stop.out" ||
    fail "no second stop message: $(tail "$tmp/stop.out")"
grep -q '"error":"CF_ERR_INTERRUPTED","message":"stopped before step' "$tmp/stop.jsonl" ||
    fail "no card recorded as stopped at a safe point"
[ -n "$(ls -A "$tmp/stopcards/in")" ] || fail "the stopped cards did not stay in their readers"
expect_rc 0 "resume after the stop" "$cf" run "$job" --batch "$tmp/big.csv" \
    --journal "$tmp/stop.jsonl" --readers sim:8:yubikey --sim-keep "$tmp/stopcards"
python3 "$check" "$tmp/stop.jsonl" "$tmp/big.csv" --cards "$tmp/stopcards/in" \
    "$tmp/stopcards/out" --puk NEW_PUK --key NEW_KEY --blocked >"$tmp/judge" ||
    fail "after the stop and resume: $(cat "$tmp/judge")"
grep -q '"recovers":[0-9]' "$tmp/stop.jsonl" || fail "no stopped card was finished by the resume"

# ---- a reader whose cards keep failing is set aside and reported ----
sed 's/^InitialPUK=#12345678/InitialPUK=#87654321/' "$job" >"$tmp/wrongpuk.ini"
expect_rc 1 "failing reader" "$cf" run "$tmp/wrongpuk.ini" --batch "$tmp/b.csv" \
    --journal "$tmp/aside.jsonl" --readers sim:1:yubikey --max-attempts 5
grep -q "reader 'sim 1' set aside: 3 failed cards in a row (last: CF_ERR_WRONG_SECRET)" "$tmp/out" ||
    fail "set aside: $(cat "$tmp/out")"
grep -q 'sim 1 .*SET ASIDE: 3 failed cards in a row' "$tmp/out" || fail "summary: $(cat "$tmp/out")"
[ "$(grep -c '"type":"card"' "$tmp/aside.jsonl")" -eq 3 ] || fail "expected 3 card records"

# ---- a profile directory that cannot be used ----
mkdir -p "$tmp/badprofiles"
printf 'name: broken\nnot: [valid\n' >"$tmp/badprofiles/broken.yaml"
expect_rc 1 "bad profiles" "$cf" run "$job" --batch "$tmp/b.csv" --journal "$tmp/x.jsonl" \
    --readers sim:1:yubikey --profiles "$tmp/badprofiles"
grep -q 'broken.yaml' "$tmp/out" || fail "bad profile not named: $(cat "$tmp/out")"
[ -e "$tmp/x.jsonl" ] && fail "a refused run created its journal"
echo "ok: samples, resume, dry run, validation, journal lock, SIGINT once and twice, policy" \
    "give-up, reader set aside, no secrets"
