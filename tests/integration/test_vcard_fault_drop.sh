# test_vcard_fault_drop.sh - --fault-drop-after K: the card is pulled when
# the K-th APDU arrives, before answering; a PC/SC client sees the card
# gone, the card stays out until inserted, and the fault fires only once.
source "$2/tests/integration/lib/harness.sh" "$@"

cf_harness_readers 1
cf_card_start 0 --type yubikey --state "$(cf_state_file 0)" --fault-drop-after 3
cf_wait_card 0
state_before=$(cat "$(cf_state_file 0)")

# scriptor sends exactly these APDUs (no card detection of its own).
out=$(cf_scriptor 0 00A4040000 00CA000000 00CB3FFF00 00A4040000)
cf_note "client saw:"$'\n'"$out"
[ "$(grep -c '^< [0-9A-F][0-9A-F] [0-9A-F][0-9A-F] :' <<<"$out")" -eq 2 ] ||
    cf_fail "expected exactly the first 2 APDUs answered"
# vpcd reports the pull during the 3rd APDU as an empty response, the next
# transmit fails: the client must not see a status word for APDU 3 or 4.
grep -q '^<  :' <<<"$out" || cf_fail "APDU 3 should come back empty (card pulled)"
grep -q "Can't get info" <<<"$out" || cf_fail "APDU 4 should fail (no card)"

cf_wait_no_card 0
case "$(cf_card_ctl 0 status)" in
"ok removed serial=1 connected=no apdus=3") ;;
*) cf_fail "status after the fault: $(cf_card_ctl 0 status)" ;;
esac
grep -q 'fault: card pulled on APDU 3 (INS CB) before answering' "$(cf_card_log 0)" ||
    cf_fail "the card log does not explain the pull"
# Stays out until told otherwise.
sleep 1
cf__has_no_card 0 || cf_fail "the card came back by itself"

cf_card_insert 0
out=$(cf_scriptor 0 00A4040000 00CA000000 00CB3FFF00 00A4040000)
[ "$(grep -c '^< [0-9A-F][0-9A-F] [0-9A-F][0-9A-F] :' <<<"$out")" -eq 4 ] ||
    cf_fail "after re-insertion all 4 APDUs must be answered (one-shot fault):"$'\n'"$out"
cf_expect_eq "state file after the pull" "$state_before" "$(cat "$(cf_state_file 0)")"
cf_note "ok: card pulled on APDU 3, reinserted, fault not repeated"
