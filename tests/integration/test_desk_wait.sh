# test_desk_wait.sh - the desk commands' --wait and `pin status --json`,
# through pcscd + vpcd, with readers that get their cards only later:
#   - `probe --reader R --wait` started before R has a card says once on
#     stderr what it waits for, and finishes on the card put in afterwards;
#   - `pin status --json --card SERIAL --wait` finds that card when it
#     appears in another reader, and its JSON says the counters the card
#     told and null with a note for those it did not (a GIDS card: no PUK,
#     no admin-key counter);
#   - SIGINT during a wait (by reader, with --json, and by serial) ends it
#     with status 1, "interrupted while waiting" and nothing on stdout, and
#     no card's state file changes;
#   - --wait=SECONDS gives up with status 1 after about that long;
#   - without --wait an empty reader fails at once (status 1); a malformed
#     --wait value or a sim: reader is a usage error (2), never waited on.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
cf_harness_readers 4

start_card() { # I TYPE [FACTORY]: a card put in reader I now, serial BASE+I
    cf_card_start "$1" --type "$2" ${3:+--factory "$3"} --state "$(cf_state_file "$1")" \
        --serial $((CF_SERIAL_BASE + $1))
    cf_wait_card "$1"
}
wait_text() { # FILE REGEX SECONDS: until FILE holds REGEX
    local end=$((SECONDS + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.05
    done
}
still_running() { kill -0 "$1" 2>/dev/null; }

start_card 2 gids gemalto

# ---- by reader: the card comes after the command started ----
"$CLI" probe --reader "$(cf_reader_name 0)" --wait=60 >"$CF_TMP/a.out" 2>"$CF_TMP/a.err" &
pid=$!
wait_text "$CF_TMP/a.err" "waiting for a card in reader '$(cf_reader_name 0)' (up to 60 s; Ctrl-C stops)" 15 ||
    cf_fail "probe --wait said nothing: $(cat "$CF_TMP/a.err")"
still_running "$pid" || cf_fail "probe --wait ended without a card: $(cat "$CF_TMP/a.err")"
start_card 0 yubikey
wait "$pid"
cf_expect_eq "probe --wait status once the card is in" 0 $?
grep -q "^serial  *$CF_SERIAL_BASE\$" "$CF_TMP/a.out" || cf_fail "probe --wait: $(cat "$CF_TMP/a.out")"
[ "$(grep -c waiting "$CF_TMP/a.err")" -eq 1 ] || cf_fail "waiting said more than once: $(cat "$CF_TMP/a.err")"

# ---- by reader: another application holds the card; waited for, not refused ----
mkfifo "$CF_TMP/hold.in"
python3 "$CF_SOURCE/tests/integration/lib/hold_card.py" "$(cf_reader_name 2)" \
    <"$CF_TMP/hold.in" >"$CF_TMP/hold.out" 2>&1 &
hold=$!
exec 8>"$CF_TMP/hold.in"
wait_text "$CF_TMP/hold.out" "^held" 15 || cf_fail "could not hold the card: $(cat "$CF_TMP/hold.out")"
"$CLI" probe --reader "$(cf_reader_name 2)" --wait=60 >"$CF_TMP/h.out" 2>"$CF_TMP/h.err" 8>&- &
pid=$!
wait_text "$CF_TMP/h.err" "is in use by another application; waiting until it is free" 15 ||
    cf_fail "probe --wait on a held card: $(cat "$CF_TMP/h.err")"
still_running "$pid" || cf_fail "probe --wait gave up on a held card: $(cat "$CF_TMP/h.err")"
exec 8>&- # the other application lets go
wait "$hold" || cf_fail "hold_card: $(cat "$CF_TMP/hold.out")"
wait "$pid"
cf_expect_eq "probe --wait status once the card is free" 0 $?
grep -q "^profile  *gids " "$CF_TMP/h.out" || cf_fail "probe after the hold: $(cat "$CF_TMP/h.out")"

# ---- by serial: the card appears in another reader ----
serial=$((CF_SERIAL_BASE + 1))
"$CLI" pin status --json --card "$serial" --wait >"$CF_TMP/b.json" 2>"$CF_TMP/b.err" &
pid=$!
wait_text "$CF_TMP/b.err" "waiting for the card with serial $serial in any reader (Ctrl-C stops)" 15 ||
    cf_fail "pin status --wait said nothing: $(cat "$CF_TMP/b.err")"
still_running "$pid" || cf_fail "pin status --wait ended early: $(cat "$CF_TMP/b.err")"
[ -s "$CF_TMP/b.json" ] && cf_fail "output before the card came: $(cat "$CF_TMP/b.json")"
start_card 1 yubikey
wait "$pid"
cf_expect_eq "pin status --wait --card status" 0 $?
python3 - "$CF_TMP/b.json" "$serial" "$(cf_reader_name 1)" <<'PY' || cf_fail "pin status --json: $(cat "$CF_TMP/b.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["serial"] == sys.argv[2] and d["reader"] == sys.argv[3], d
assert d["card_type"] == "piv-yubikey" and d["version"] == "5.4.3", d
assert d["tries"]["pin"] == {"state": "known", "left": 3, "max": 3, "note": None}, d["tries"]
assert d["tries"]["admin_key"] == {"state": "unlimited", "left": None, "max": None,
                                   "note": "no retry counter"}, d["tries"]
for c in d["tries"].values():  # a number, or null with the reason
    assert (c["left"] is not None) or c["note"], c
assert d["pin_policy"] == "6-8 characters, printable ASCII" and d["offline_unblock"] == "puk", d
PY

# ---- a GIDS card: what it cannot tell is null, with why ----
"$CLI" pin status --json --reader "$(cf_reader_name 2)" >"$CF_TMP/c.json" 2>"$CF_TMP/c.err" ||
    cf_fail "pin status --json on GIDS: $(cat "$CF_TMP/c.err")"
python3 - "$CF_TMP/c.json" <<'PY' || cf_fail "GIDS pin status --json: $(cat "$CF_TMP/c.json")"
import json, sys
d = json.load(open(sys.argv[1]))
t = d["tries"]
assert d["card_type"] == "gids" and d["offline_unblock"] == "challenge-response", d
assert t["puk"] == {"state": "absent", "left": None, "max": None,
                    "note": "the card type has no PUK"}, t
assert t["admin_key"]["left"] is None and t["admin_key"]["max"] is None, t
assert t["admin_key"]["state"] == "unknown" and "cannot be read" in t["admin_key"]["note"], t
assert isinstance(t["pin"]["left"], int), t
PY
"$CLI" pin change --json --reader "$(cf_reader_name 2)" </dev/null >"$CF_TMP/c.json" 2>&1
cf_expect_eq "--json with change" 2 $?

# ---- SIGINT while waiting: status 1, nothing touched ----
for i in 0 1 2; do cp "$(cf_state_file $i)" "$CF_TMP/before-$i.state"; done
printf '[Description]\nSetPIN=true\nPIN=#246810\nInitialPUK=#12345678\n' >"$CF_TMP/pin.ini"
"$CLI" personalize "$CF_TMP/pin.ini" --card 99999 --wait </dev/null >"$CF_TMP/d.out" 2>"$CF_TMP/d.err" &
pid=$!
wait_text "$CF_TMP/d.err" "waiting for the card with serial 99999 in any reader" 15 ||
    cf_fail "personalize --wait said nothing: $(cat "$CF_TMP/d.err")"
kill -INT "$pid"
wait "$pid"
cf_expect_eq "personalize --wait status after SIGINT" 1 $?
grep -q "interrupted while waiting for the card; no card was touched" "$CF_TMP/d.err" ||
    cf_fail "no interruption message: $(cat "$CF_TMP/d.err")"
"$CLI" pin status --json --reader "$(cf_reader_name 3)" --wait >"$CF_TMP/e.out" 2>"$CF_TMP/e.err" &
pid=$!
wait_text "$CF_TMP/e.err" "waiting for a card in reader" 15 || cf_fail "no wait: $(cat "$CF_TMP/e.err")"
kill -INT "$pid"
wait "$pid"
cf_expect_eq "pin status --wait status after SIGINT" 1 $?
grep -q "interrupted while waiting" "$CF_TMP/e.err" || cf_fail "no message: $(cat "$CF_TMP/e.err")"
[ -s "$CF_TMP/d.out" ] || [ -s "$CF_TMP/e.out" ] && cf_fail "output after SIGINT"
for i in 0 1 2; do
    cmp -s "$CF_TMP/before-$i.state" "$(cf_state_file $i)" ||
        cf_fail "card $i changed during an interrupted wait"
done

# ---- a time limit; no wait without --wait; bad values ----
t0=$SECONDS
out=$("$CLI" probe --reader "$(cf_reader_name 3)" --wait=1 2>&1)
cf_expect_eq "probe --wait=1 status on an empty reader" 1 $?
grep -q "no card in reader '$(cf_reader_name 3)' after 1 s" <<<"$out" || cf_fail "timeout: $out"
[ $((SECONDS - t0)) -le 10 ] || cf_fail "--wait=1 took $((SECONDS - t0)) s"
out=$("$CLI" probe --reader "$(cf_reader_name 3)" 2>&1)
cf_expect_eq "probe without --wait on an empty reader" 1 $?
grep -q waiting <<<"$out" && cf_fail "waited without --wait: $out"
for bad in 0 -1 x 86401 5s; do
    out=$("$CLI" probe --reader "$(cf_reader_name 0)" --wait="$bad" 2>&1)
    cf_expect_eq "--wait=$bad" 2 $?
    grep -q "wants a whole number of seconds from 1 to 86400" <<<"$out" || cf_fail "--wait=$bad: $out"
done
out=$(timeout 10 "$CLI" probe --reader sim:1 --wait 2>&1)
cf_expect_eq "a sim: reader with --wait" 2 $?
grep -q "in-process card of \`cardforge run\`" <<<"$out" || cf_fail "sim: $out"
for c in "probe" "pin status" "personalize x.ini"; do
    "$CLI" $c --help | grep >/dev/null -- "--wait\[=SECONDS\]" || cf_fail "$c --help lacks --wait"
done
cf_note "ok: wait by reader and serial, SIGINT, time limit, pin status --json"
