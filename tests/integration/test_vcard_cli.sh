# test_vcard_cli.sh - cardforge-vcard's command line: bad usage exits 2
# with a message naming the option and touches nothing; runtime failures
# exit 1; the state file is created at start and reloaded on restart; the
# control socket refuses a second daemon and unknown commands. No pcscd:
# the harness only provides the private namespace and the temp directory.
source "$2/tests/integration/lib/harness.sh" "$@"

st="$CF_TMP/cli.state"
usage_error() { # EXPECTED-MESSAGE-PART ARGS...
    local want=$1 out rc
    shift
    out=$("$CF_VCARD" "$@" 2>&1)
    rc=$?
    [ "$rc" -eq 2 ] || cf_fail "'$*': exit $rc, expected 2 (usage):"$'\n'"$out"
    grep -qF -- "$want" <<<"$out" || cf_fail "'$*': message lacks '$want':"$'\n'"$out"
    [ ! -e "$st" ] || cf_fail "'$*': a usage error created $st"
}

out=$("$CF_VCARD" --help) || cf_fail "--help exit status"
grep -q 'unshare -n' <<<"$out" || cf_fail "--help lacks the vpcd exposure warning"
grep -q -- '--list-types' <<<"$out" || cf_fail "--help does not name --list-types"

# --list-types: every base and every quirk, one line each with what it does.
out=$("$CF_VCARD" --list-types) || cf_fail "--list-types exit status"
for name in piv yubikey gids admin-counter aid-full atr-other atr-yubikey wrong-6a80 \
    wrong-63cx wrong-6982 absent-6a82 absent-6984 no-verify-status; do
    grep -qE "^  $name +\[[a-z, ]+\] [A-Za-z]" <<<"$out" ||
        cf_fail "--list-types lacks a described line for $name:"$'\n'"$out"
done

usage_error "--port P is required" --type yubikey --state "$st"
usage_error "--port: expected 1-65535, got '0'" --port 0 --type yubikey
usage_error "--port: expected 1-65535, got '70000'" --port 70000 --type yubikey
usage_error "--port: expected 1-65535, got '12ab'" --port 12ab --type yubikey
usage_error "--type: unknown card type 'foo'" --port 1 --type foo --state "$st"
usage_error "--type: unknown quirk 'nosuch'" --port 1 --type gids+nosuch --state "$st"
usage_error "--type: quirk 'admin-counter' does not apply to piv cards" --port 1 \
    --type piv+admin-counter --state "$st"
usage_error "--type: quirks 'atr-yubikey' and 'atr-other' contradict each other" --port 1 \
    --type gids+atr-yubikey+atr-other --state "$st"
usage_error "SW1 must be 61..6F or 90..9F" --port 1 --type yubikey --fault-sw 24:1234
usage_error "expected INS:SW in hex" --port 1 --type yubikey --fault-sw 2:6581
usage_error "expected INS:SW in hex" --port 1 --type yubikey --fault-sw 24:65811
usage_error "this INS already has a fault" --port 1 --type yubikey --fault-sw 24:6581 --fault-sw 24:6A80
usage_error "expected a number of APDUs" --port 1 --type yubikey --fault-drop-after 0
usage_error "expected a number of APDUs" --port 1 --type yubikey --fault-drop-after -3
usage_error "expected an INS in hex" --port 1 --type yubikey --fault-drop-on 2G
usage_error "unknown profile" --port 1 --type yubikey --latency-profile nope
usage_error "--baud: expected 1200-10000000" --port 1 --type yubikey --baud 10
usage_error "--ifs: expected 1-254" --port 1 --type yubikey --ifs 255
usage_error "--nv-write-ms: expected milliseconds" --port 1 --type yubikey --nv-write-ms 1.2345
usage_error "--crypto-ms: expected milliseconds" --port 1 --type yubikey --crypto-ms 60001
usage_error "--state and --feed exclude each other" --port 1 --type yubikey --state "$st" --feed "$CF_TMP/f"
usage_error "--send needs --control" --send status
usage_error "unknown option '--bogus'" --port 1 --type yubikey --bogus
usage_error "option needs a value: '--port'" --type yubikey --port
usage_error "unexpected argument 'extra'" --port 1 --type yubikey extra
usage_error "--type is needed" --port 1 --state "$st"
usage_error "unknown factory state 'nope' for a yubikey card" --port 1 --type yubikey --factory nope --state "$st"
[ ! -e "$CF_TMP/f" ] || cf_fail "a usage error created the feeder directory"

# No reader is listening in this namespace: the card still starts, saves its
# state at once, answers its control socket and stops cleanly.
cf_card_start 0 --type gids --state "$st" --serial 77
grep -qx 'serial=77' "$st" || cf_fail "state file not written at start"
[ "$(stat -c %a "$st")" = 600 ] || cf_fail "state file mode $(stat -c %a "$st")"
cf_expect_eq "status without a reader" "ok present serial=77 connected=no apdus=0" \
    "$(cf_card_ctl 0 status)"
out=$(cf_card_ctl 0 dance)
[ $? -eq 1 ] || cf_fail "an unknown control command must exit 1"
cf_expect_eq "unknown command" "error unknown command (expected remove, insert or status)" "$out"
cf_expect_eq "remove" "ok removed serial=77" "$(cf_card_ctl 0 remove)"
cf_expect_eq "remove twice" "ok already-removed serial=77" "$(cf_card_ctl 0 remove)"
cf_expect_eq "insert" "ok inserted serial=77 connected=no" "$(cf_card_ctl 0 insert)"

# A second daemon on the same control socket is refused (exit 1).
out=$("$CF_VCARD" --port 2 --type yubikey --control "$(cf_card_ctl_path 0)" 2>&1)
rc=$?
cf_expect_eq "second daemon on one control socket" 1 "$rc"
grep -q 'another cardforge-vcard is using it' <<<"$out" || cf_fail "message: $out"

cf_card_stop 0
cf_expect_eq "exit status on SIGTERM" 0 "$CF_LAST_RC"
[ ! -e "$(cf_card_ctl_path 0)" ] || cf_fail "control socket left behind"

# Restart: the card comes from the file (its serial, not --serial); a
# --type that contradicts the file is a usage error.
cf_card_start 0 --state "$st" --serial 5
cf_expect_eq "reloaded serial" "ok present serial=77 connected=no apdus=0" "$(cf_card_ctl 0 status)"
cf_card_stop 0
out=$("$CF_VCARD" --port 1 --type yubikey --state "$st" 2>&1)
cf_expect_eq "type mismatch exit" 2 "$?"
grep -q 'holds a gids card, not yubikey' <<<"$out" || cf_fail "type mismatch message: $out"

# Runtime failures exit 1: a corrupt state file, a control path that is not
# a socket, no daemon behind --send.
printf 'type=piv\nfactory=default\nserial=1\nbogus line\n' >"$CF_TMP/bad.state"
out=$("$CF_VCARD" --port 1 --state "$CF_TMP/bad.state" 2>&1)
cf_expect_eq "corrupt state exit" 1 "$?"
grep -q "bad.state:4" <<<"$out" || cf_fail "corrupt state message lacks file:line: $out"
: >"$CF_TMP/plain"
out=$("$CF_VCARD" --port 1 --type yubikey --control "$CF_TMP/plain" 2>&1)
cf_expect_eq "control path not a socket" 1 "$?"
out=$("$CF_VCARD" --control "$CF_TMP/nobody.ctl" --send status 2>&1)
cf_expect_eq "--send without a daemon" 1 "$?"
grep -q 'is the card daemon running' <<<"$out" || cf_fail "--send message: $out"

# --print-atr never writes a state file.
"$CF_VCARD" --type yubikey --print-atr --state "$CF_TMP/none.state" >/dev/null ||
    cf_fail "--print-atr"
[ ! -e "$CF_TMP/none.state" ] || cf_fail "--print-atr created a state file"
cf_note "ok: usage errors, runtime errors, state file and control socket"
