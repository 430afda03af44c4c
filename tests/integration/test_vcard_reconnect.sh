# test_vcard_reconnect.sh - pcscd restarting closes every card connection;
# the card daemons reconnect by themselves (bounded backoff) and keep their
# cards and state, and pcscd sees the cards again.
source "$2/tests/integration/lib/harness.sh" "$@"

cf_harness_start 2 yubikey
sum_before=$(sha256sum "$(cf_state_file 0)" "$(cf_state_file 1)")
pids_before="$(cf_card_pid 0) $(cf_card_pid 1)"

for _ in 1 2; do
    cf_pcscd_restart
    cf_wait_cards 2
    grep -q 'disconnected (reader closed the connection)' "$(cf_card_log 0)" ||
        cf_fail "card 0 log does not show the reader closing"
done
cf_expect_eq "same card daemons" "$pids_before" "$(cf_card_pid 0) $(cf_card_pid 1)"
kill -0 "$(cf_card_pid 0)" "$(cf_card_pid 1)" || cf_fail "a card daemon died"
cf_expect_eq "state files" "$sum_before" "$(sha256sum "$(cf_state_file 0)" "$(cf_state_file 1)")"
out=$(cf_scriptor 1 00C0000000)
grep -qE '^< ([0-9A-F]{2} )*[0-9A-F]{2} [0-9A-F]{2} :' <<<"$out" ||
    cf_fail "card 1 does not answer after the restarts:"$'\n'"$out"
for i in 0 1; do
    cf_card_stop "$i"
    cf_expect_eq "card $i exit status on SIGTERM" 0 "$CF_LAST_RC"
done
cf_note "ok: cards reconnected after two pcscd restarts"
