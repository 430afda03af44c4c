# test_run_pcsc.sh - `cardforge run` on 8 real pcscd + vpcd readers, each fed
# fresh factory cards by a cardforge-vcard feeder (--feed DIR). A hopper
# loop in this script plays the production line: when the journal shows a
# reader's card released, it takes the card out and puts the next one in.
#
#   - reader 5's feeder pulls its card in the middle of the steps (on the
#     first CHANGE REFERENCE DATA it sees, the change-puk step's command:
#     --fault-drop-on 24): that card is journaled as failed with what
#     reached it, and its record goes to another card;
#   - pcscd is restarted while the batch runs: every reader vanishes and
#     comes back; the runner drops them and takes them up again, and the
#     cards cut off by it are journaled and their records redone.
# At the end every record is checked against the card that holds it (its
# feeder state file: PIN, PUK, management key, PIN blocked), no record or
# serial is personalized twice, and every card that was changed is in the
# journal.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
CHECK="$CF_SOURCE/tests/integration/lib/check_batch.py"
DESC="$CF_SOURCE/tests/data/run/piv-job.ini"
N=8
RECORDS=40
export CF_PCSCD_LOG="" # pcscd's APDU log would hold the PINs; not needed here

python3 - "$CF_TMP/batch.csv" "$RECORDS" <<'PY'
import random, sys
random.seed(8)
with open(sys.argv[1], "w") as f:
    f.write("ID,NAME,PIN,NEW_PUK,NEW_KEY\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("%d,Holder %d,%06d,%08d,%048X\n" % (3000 + i, i, random.randrange(10**6),
                random.randrange(10**8), random.getrandbits(192)))
PY

cf_harness_readers "$N"
feeds=()
for ((i = 0; i < N; i++)); do
    feeds+=("$CF_TMP/feed-$i")
    extra=()
    [ "$i" -eq 5 ] && extra=(--fault-drop-on 24)
    cf_card_start "$i" --type yubikey --feed "$CF_TMP/feed-$i" --serial $((100000 * (i + 1))) \
        "${extra[@]}"
done
cf_wait_cards "$N"

J="$CF_TMP/journal.jsonl"
# The hopper: one line of the journal per released card; swap that reader's
# card. Reader "CardForge E 00 0S" is reader 2E+S.
hopper() {
    local seen=0 total line reader e s i
    while :; do
        total=$(grep -c '"type":"card"' "$J" 2>/dev/null || true)
        total=${total:-0}
        if [ "$total" -gt "$seen" ]; then
            grep '"type":"card"' "$J" | tail -n +"$((seen + 1))" | head -n "$((total - seen))" |
                while IFS= read -r line; do
                    reader=$(sed -n 's/.*"reader":"CardForge \([0-9]*\) 00 0\([0-9]\)".*/\1 \2/p' <<<"$line")
                    read -r e s <<<"$reader"
                    i=$((2 * e + s))
                    # Out, and in half a second after pcscd has seen the reader
                    # empty, as a mechanical hopper does (vpcd misses a card
                    # pushed in right after a pull); every reader's swap at once.
                    (
                        "$CF_VCARD" --control "$(cf_card_ctl_path "$i")" --send remove >/dev/null 2>&1
                        cf_wait_no_card "$i" 5 2>/dev/null
                        sleep 0.5
                        "$CF_VCARD" --control "$(cf_card_ctl_path "$i")" --send insert >/dev/null 2>&1
                    ) &
                done
            seen=$total
        fi
        sleep 0.05
    done
}
hopper &
HOPPER=$!
# Stop the hopper on the way out, keeping the test's status for the harness.
trap 'rc_=$?; kill "$HOPPER" 2>/dev/null; (exit $rc_); cf__on_exit' EXIT

"$CLI" run "$DESC" --batch "$CF_TMP/batch.csv" --journal "$J" --readers "CardForge" \
    >"$CF_TMP/run.out" 2>&1 &
RUN=$!

# pcscd goes away when about a third of the batch is done.
deadline=$(($(cf__now_us) + 60000000))
done_now() { grep -c '"status":"personalized"' "$J" 2>/dev/null || true; }
until [ "$(done_now)" -ge $((RECORDS / 3)) ]; do
    [ "$(cf__now_us)" -lt "$deadline" ] || { cat "$CF_TMP/run.out"; cf_fail "the batch does not progress"; }
    kill -0 "$RUN" 2>/dev/null || { cat "$CF_TMP/run.out"; cf_fail "the run ended early"; }
    sleep 0.1
done
cf_note "restarting pcscd with $(grep -c '"status":"personalized"' "$J") records done"
cf_pcscd_restart

rc=0
timeout 120 tail --pid="$RUN" -f /dev/null || cf_fail "the run did not finish in 120 s"
wait "$RUN" || rc=$?
kill "$HOPPER" 2>/dev/null
wait "$HOPPER" 2>/dev/null
[ "$rc" -eq 0 ] || { cat "$CF_TMP/run.out"; cf_fail "cardforge run exited $rc"; }

grep -q "reader 'CardForge 0 00 00' is gone" "$CF_TMP/run.out" ||
    { cat "$CF_TMP/run.out"; cf_fail "the runner did not see the readers vanish"; }
grep -q "reader 'CardForge 0 00 00' is back" "$CF_TMP/run.out" ||
    { cat "$CF_TMP/run.out"; cf_fail "the runner did not take the readers up again"; }
python3 "$CHECK" "$J" "$CF_TMP/batch.csv" --cards "${feeds[@]}" --puk NEW_PUK --key NEW_KEY \
    --blocked || { cat "$CF_TMP/run.out"; cf_fail "the cards do not match the journal"; }

# The card pulled by reader 5's feeder: failed, with what reached it.
pulled=$(sed -n 's/.* remove serial=\([0-9]*\) .*reason=fault$/\1/p' "$CF_TMP/feed-5/events.log")
[ -n "$pulled" ] || cf_fail "reader 5's feeder did not pull a card"
grep "\"serial\":\"$pulled\"" "$J" | grep >/dev/null '"status":"failed"' ||
    cf_fail "the pulled card $pulled has no failed record"
# Pulled as the command arrived, before the card answered: the step's end
# is unknown to the engine, and its record says so.
grep "\"serial\":\"$pulled\"" "$J" | grep '"status":"failed"' |
    grep >/dev/null '"step":"change-puk","outcome":"failed","reached":"unknown"' ||
    cf_fail "the pulled card's record does not say what reached it"
"$CLI" report "$J" >"$CF_TMP/report.out" || cf_fail "report failed"
grep -q "^records   $RECORDS personalized, 0 remaining" "$CF_TMP/report.out" ||
    cf_fail "report: $(cat "$CF_TMP/report.out")"
cf_note "ok: $RECORDS records over $N readers, a card pulled mid-step, pcscd restarted mid-batch"
