# bench_rtt.sh - APDU round trip through pcscd + vpcd + cardforge-vcard, with
# and without the card socket tuning (TCP_NODELAY + TCP_QUICKACK), and with
# the "contact" latency model. A measurement, not a test: it prints figures
# and asserts nothing. Figures are in docs/cards/vcard.md.
# Usage: bash bench_rtt.sh BUILD_DIR SOURCE_DIR [N]
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh" "$@"
n=${3:-2000}

cf_harness_readers 1
apdus() { # COUNT: a script of COUNT identical 5-byte APDUs for scriptor
    local i
    for ((i = 0; i < $1; i++)); do echo 00C0000000; done
}
per_apdu_us() { # COUNT: mean microseconds per APDU, scriptor start-up removed
    local count=$1 t0 t1 t2
    apdus 1 >"$CF_TMP/one"
    apdus "$count" >"$CF_TMP/many"
    t0=$(cf__now_us)
    scriptor -r "$(cf_reader_name 0)" "$CF_TMP/one" >/dev/null 2>&1
    t1=$(cf__now_us)
    scriptor -r "$(cf_reader_name 0)" "$CF_TMP/many" >/dev/null 2>&1
    t2=$(cf__now_us)
    echo $((((t2 - t1) - (t1 - t0)) / (count - 1)))
}
run() { # LABEL COUNT ARGS...
    local label=$1 count=$2
    shift 2
    cf_card_start 0 --type yubikey "$@"
    cf_wait_card 0
    per_apdu_us 20 >/dev/null # warm up
    printf '%-28s %6d APDUs  %8d us per APDU\n' "$label" "$count" "$(per_apdu_us "$count")"
    cf_card_stop 0
    cf_wait_no_card 0
}
run "tuned socket" "$n"
run "plain socket (no tuning)" 100 --no-socket-tuning
run "tuned + latency contact" 200 --latency
