# pcsc.sh - the pcscd + vpcd half of the benchmarks (run by run.sh):
#   1. cards/min through pcscd for 1, 2, 4, 8, 16 readers, feeder cards with
#      the latency model on, swapped by a hopper whenever a card is released;
#   2. the same job done the way it is scripted today, a loop of
#      yubico-piv-tool invocations per card (unblock-pin with the PUK,
#      change-puk, set-mgm-key, three wrong verify-pin), against
#      `cardforge run`, on one reader, with the latency model off and on:
#      time per card (card in the reader to job done; the swap is reader
#      time and left out of both) and APDUs per card (counted by the card).
# Usage: bash pcsc.sh BUILD_DIR SOURCE_DIR (root). Uses the integration
# harness (tests/integration/lib/harness.sh) for its private pcscd.
source "$2/tests/integration/lib/harness.sh" "$@"
export CF_PCSCD_LOG="" # no APDU logging: it costs time and would hold PINs
BENCH="$CF_BUILD/bench/cf_bench"
CLI="$CF_BUILD/tools/cardforge"
JOB="$CF_SOURCE/tests/data/run/piv-job.ini"
CARDS=${BENCH_CARDS:-10}

cf_harness_readers 16
start_cards() { # N ARGS...
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do
        cf_card_start "$i" --type yubikey --feed "$CF_TMP/feed-$i" --serial $((1000000 * (i + 1))) "$@"
    done
    cf_wait_cards "$n"
}
stop_cards() {
    local i
    for ((i = 0; i < 16; i++)); do cf_card_stop "$i"; done
}

# ---- 1. throughput through pcscd ----
start_cards 16 --latency
sleep 0.3
"$BENCH" pcsc --ctl "$CF_TMP/card-%d.ctl" --cards "$CARDS" --latency contact --work "$CF_TMP/work"
stop_cards

# ---- 2. yubico-piv-tool loop against cardforge run ----
reader=$(cf_reader_name 0)
status_apdus() { cf_card_ctl 0 status </dev/null | sed -n 's/.* apdus=\([0-9]*\).*/\1/p'; }
status_serial() { cf_card_ctl 0 status </dev/null | sed -n 's/.* serial=\([0-9]*\).*/\1/p'; }
# A swap as a mechanical hopper does it: out, a pause once pcscd has seen
# the reader empty, in, and a pause once pcscd sees the card (vpcd fails the
# very first exchange with a card it has just powered). Reader time: outside
# every per-card figure.
swap() {
    cf_card_ctl 0 remove >/dev/null </dev/null
    cf_wait_no_card 0 </dev/null
    sleep 0.5
    cf_card_ctl 0 insert >/dev/null </dev/null
    cf_wait_card 0 </dev/null
    sleep 0.3
}
python3 - "$CF_TMP/batch.csv" "$CARDS" <<'PY'
import random, sys
random.seed(3)
with open(sys.argv[1], "w") as f:
    f.write("ID,NAME,PIN,NEW_PUK,NEW_KEY\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("%d,N,%06d,%08d,%048X\n" % (i, random.randrange(10**6), random.randrange(10**8),
                                             random.getrandbits(192)))
PY

yubico_loop() { # prints "ms_per_card apdus_per_card"
    local total_us=0 total_apdus=0 pin puk key a0 t0 t1 k feed=$1
    # Every command in the loop reads /dev/null: the loop's stdin is the batch.
    while IFS=, read -r _ _ pin puk key; do
        a0=$(status_apdus)
        t0=$(cf__now_us)
        yubico-piv-tool -r "$reader" -a unblock-pin -P 12345678 -N "$pin" </dev/null >/dev/null 2>&1 ||
            cf_fail "yubico-piv-tool unblock-pin failed"
        yubico-piv-tool -r "$reader" -a change-puk -P 12345678 -N "$puk" </dev/null >/dev/null 2>&1 ||
            cf_fail "yubico-piv-tool change-puk failed"
        yubico-piv-tool -r "$reader" -a set-mgm-key -n "$key" </dev/null >/dev/null 2>&1 ||
            cf_fail "yubico-piv-tool set-mgm-key failed"
        for k in 1 2 3; do
            yubico-piv-tool -r "$reader" -a verify-pin -P 000000 </dev/null >/dev/null 2>&1 || true
        done
        t1=$(cf__now_us)
        total_us=$((total_us + t1 - t0))
        total_apdus=$((total_apdus + $(status_apdus) - a0))
        grep -qx "pin_tries=0" "$feed/card-$(status_serial).state" ||
            cf_fail "the scripted job did not block the PIN"
        swap
    done < <(tail -n +2 "$CF_TMP/batch.csv")
    echo "$((total_us / CARDS / 1000)) $((total_apdus / CARDS))"
}

cardforge_run() { # prints "ms_per_card apdus_per_card"
    local j="$CF_TMP/run-$1.jsonl" seen=0 total pid
    "$CLI" run "$JOB" --batch "$CF_TMP/batch.csv" --journal "$j" --readers "$reader" \
        >"$CF_TMP/run-$1.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        total=$(grep -c '"type":"card"' "$j" 2>/dev/null || true)
        if [ "${total:-0}" -gt "$seen" ]; then
            seen=$total
            swap
        fi
        sleep 0.02
    done
    wait "$pid" || cf_fail "cardforge run failed: $(tail "$CF_TMP/run-$1.out")"
    python3 - "$j" <<'PY'
import json, sys
c = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "card"]
ok = [r for r in c if r["status"] == "personalized"]
print("%d %d" % (sum(r["ms"] for r in ok) / len(ok), sum(r["apdus"] for r in ok) / len(ok)))
PY
}

echo "### The same job scripted with yubico-piv-tool, and with cardforge run (1 reader, $CARDS cards)"
echo
echo "| latency model | yubico-piv-tool loop: ms/card | APDUs/card | cardforge run: ms/card | APDUs/card | time ratio | APDU ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for lat in off on; do
    args=()
    [ "$lat" = on ] && args=(--latency)
    cf_card_start 0 --type yubikey --feed "$CF_TMP/yk-$lat" --serial 5000000 "${args[@]}"
    cf_wait_card 0
    sleep 0.3
    # One untimed exchange first: a card daemon restarted on a vpcd reader
    # can see its first exchange fail (the runner retries that by itself).
    for _ in 1 2 3; do
        yubico-piv-tool -r "$reader" -a version </dev/null >/dev/null 2>&1 && break
        sleep 0.3
    done
    read -r yms yap < <(yubico_loop "$CF_TMP/yk-$lat")
    cf_card_stop 0
    cf_card_start 0 --type yubikey --feed "$CF_TMP/cf-$lat" --serial 6000000 "${args[@]}"
    cf_wait_card 0
    read -r cms cap < <(cardforge_run "$lat")
    cf_card_stop 0
    echo "| $lat | $yms | $yap | $cms | $cap |" \
        "$(python3 -c "print('%.1fx' % (${yms:-0} / max(${cms:-1}, 1)))") |" \
        "$(python3 -c "print('%.1fx' % (${yap:-0} / max(${cap:-1}, 1)))") |"
done
echo
