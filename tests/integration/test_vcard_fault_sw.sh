# test_vcard_fault_sw.sh - --fault-sw INS:SW: a PC/SC client gets the
# injected status word for that instruction and the card's own answer for
# others; the daemon's -vv log names INS and SW but never APDU data.
source "$2/tests/integration/lib/harness.sh" "$@"

cf_harness_readers 1
cf_card_start 0 --type yubikey --state "$(cf_state_file 0)" -v --fault-sw 24:6581 --fault-sw 20:63C2
cf_wait_card 0
r=$(cf_opensc_reader 0) || exit 1

# CHANGE REFERENCE DATA and VERIFY with recognisable "PIN" bytes.
out=$(opensc-tool -r "$r" -s 002400801031323334353637FF3837363534333231 2>&1)
grep -q 'Received (SW1=0x65, SW2=0x81)' <<<"$out" || cf_fail "INS 24 not answered 6581: $out"
out=$(opensc-tool -r "$r" -s 00200080083132333435363738 2>&1)
grep -q 'Received (SW1=0x63, SW2=0xC2)' <<<"$out" || cf_fail "INS 20 not answered 63C2: $out"
# Another instruction reaches the card and gets its own answer.
out=$(opensc-tool -r "$r" -s 00CB3FFF055C035FC102 2>&1)
grep -q 'Received (SW1=' <<<"$out" || cf_fail "INS CB got no answer: $out"
grep -q 'Received (SW1=0x65, SW2=0x81)\|Received (SW1=0x63, SW2=0xC2)' <<<"$out" &&
    cf_fail "INS CB got an injected status word: $out"

log=$(cf_card_log 0)
grep -q 'apdu INS 24 -> SW 6581 (injected)' "$log" || cf_fail "log lacks INS 24 -> 6581"
grep -q 'apdu INS 20 -> SW 63C2 (injected)' "$log" || cf_fail "log lacks INS 20 -> 63C2"
grep -qi '31323334\|31 32 33 34\|5FC102' "$log" && cf_fail "APDU data bytes in the card log"
cf_note "ok: injected status words seen by opensc-tool, no APDU data logged"
