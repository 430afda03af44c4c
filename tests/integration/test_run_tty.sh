# test_run_tty.sh - `cardforge run` as an operator meets it: at a terminal
# (a pseudo-terminal), not with its output in a file.
#   - on pcscd + vpcd readers: the run takes the readers up, the live panel
#     is drawn and the summary comes (it used to hang for good after "reader
#     ... taken up": the log hook drew the panel under the runner's lock);
#   - on simulated readers with slow cards: the live panel moves; SIGINT,
#     two SIGINTs, SIGTERM and a closed terminal (SIGHUP) each stop the run
#     with every card in flight finished or stopped at a safe point and
#     journaled (no card cut off), and the run ends;
#   - output into a pipe whose reader goes away (`| head -n 1`) never stops
#     the batch (SIGPIPE).
# A watchdog (tty_run.py) kills and reports any run that does not end.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
TTY="$CF_SOURCE/tests/integration/lib/tty_run.py"
DESC="$CF_SOURCE/tests/data/run/piv-job.ini"
export CF_PCSCD_LOG=""

python3 - "$CF_TMP/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("ID,NAME,PIN,NEW_PUK,NEW_KEY\n")
    for i in range(1, 301):
        f.write("%d,N,%06d,%08d,%048X\n" % (i, 100000 + i, 10000000 + i, i))
PY
head -n 3 "$CF_TMP/big.csv" >"$CF_TMP/two.csv"

# Every attempt that wrote an intent has its card record: nothing cut off.
no_cut_off() { # JOURNAL WHAT
    python3 - "$1" <<'PY' || cf_fail "$2: $(tail -n 5 "$1")"
import json, sys
intents, cards, end = set(), set(), None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "intent":
        intents.add(r["attempt"])
    elif r["type"] == "card":
        cards.add(r["attempt"])
    elif r["type"] == "end":
        end = r["reason"]
cut = sorted(intents - cards)
assert not cut, "attempts cut off: %s" % cut
assert end is not None, "no end record"
print(end)
PY
}

run_tty() { # NAME SCRIPT-TEXT ARGS...: run cardforge on a terminal; status in $rc
    local name=$1 script=$2
    shift 2
    printf '%s\n' "$script" >"$CF_TMP/$name.script"
    rc=0
    python3 "$TTY" "$CF_TMP/$name.out" "$CF_TMP/$name.script" -- "$CLI" run "$@" || rc=$?
    [ $rc -ne 98 ] || cf_fail "$name: the run hung: $(tail -n 20 "$CF_TMP/$name.out")"
    [ $rc -ne 99 ] || cf_fail "$name: $(tail -n 20 "$CF_TMP/$name.out")"
}

# ---- PC/SC readers at a terminal --------------------------------------------
cf_harness_start 2 yubikey,yubikey
run_tty pcsc "expect taken up
expect summary: 2 of 2 records personalized
exit" "$DESC" --batch "$CF_TMP/two.csv" --journal "$CF_TMP/pcsc.jsonl" --readers "CardForge"
cf_expect_eq "exit status at a terminal, PC/SC readers" 0 "$rc"
grep -q 'done [0-9]*/2' "$CF_TMP/pcsc.out" || cf_fail "no live panel: $(cat "$CF_TMP/pcsc.out")"

# ---- simulated readers, slow cards: the panel moves; each way to stop ------
slow=(--batch "$CF_TMP/big.csv" --readers sim:2:yubikey --sim-latency contact-9600)
run_tty sigint "changes done ([0-9]+)/300 3
signal INT
expect interrupt: finishing the cards in flight
expect summary:
exit" "$DESC" "${slow[@]}" --journal "$CF_TMP/sigint.jsonl"
cf_expect_eq "exit status after SIGINT" 1 "$rc"
grep -q 'stopped before the end: run the same command again' "$CF_TMP/sigint.out" ||
    cf_fail "no summary after SIGINT: $(tail -n 5 "$CF_TMP/sigint.out")"
cf_expect_eq "end of the run after SIGINT" interrupted "$(no_cut_off "$CF_TMP/sigint.jsonl" SIGINT)"

run_tty twice "changes done ([0-9]+)/300 2
signal INT
expect interrupt: finishing the cards in flight
signal INT
expect stopping the cards in flight at the next safe point
expect summary:
exit" "$DESC" "${slow[@]}" --journal "$CF_TMP/twice.jsonl"
cf_expect_eq "exit status after two SIGINTs" 1 "$rc"
cf_expect_eq "end of the run after two SIGINTs" interrupted \
    "$(no_cut_off "$CF_TMP/twice.jsonl" "two SIGINTs")"

run_tty sigterm "changes done ([0-9]+)/300 2
signal TERM
expect terminate: finishing the cards in flight
expect summary:
exit" "$DESC" "${slow[@]}" --journal "$CF_TMP/sigterm.jsonl"
cf_expect_eq "exit status after SIGTERM" 1 "$rc"
cf_expect_eq "end of the run after SIGTERM" interrupted \
    "$(no_cut_off "$CF_TMP/sigterm.jsonl" SIGTERM)"

# The terminal goes away (ssh session closed): the cards in flight are
# finished and journaled, the run ends; its output has nowhere to go.
run_tty hangup "changes done ([0-9]+)/300 2
hangup
exit" "$DESC" "${slow[@]}" --journal "$CF_TMP/hangup.jsonl"
cf_expect_eq "end of the run after the terminal closed" interrupted \
    "$(no_cut_off "$CF_TMP/hangup.jsonl" hangup)"
[ "$rc" -le 1 ] || cf_fail "the run died of the hangup (status $rc)"

# ---- a pipe whose reader goes away ----------------------------------------
head -n 41 "$CF_TMP/big.csv" >"$CF_TMP/forty.csv"
timeout 120 "$CLI" run "$DESC" --batch "$CF_TMP/forty.csv" --journal "$CF_TMP/pipe.jsonl" \
    --readers sim:2:yubikey 2>&1 | head -n 1 >/dev/null
st=${PIPESTATUS[0]}
cf_expect_eq "exit status of a run whose output pipe closed" 0 "$st"
cf_expect_eq "end of the run whose output pipe closed" done \
    "$(no_cut_off "$CF_TMP/pipe.jsonl" "closed pipe")"
[ "$(grep -c '"status":"personalized"' "$CF_TMP/pipe.jsonl")" -eq 40 ] ||
    cf_fail "the closed pipe stopped the batch: $(grep -c '"type":"card"' "$CF_TMP/pipe.jsonl") cards"
cf_note "run at a terminal: ok"
