# test_vcard_feeder.sh - the feeder (--feed DIR) puts a fresh factory card
# with the next serial in after every removal, by control socket and by
# signal; every card's final state stays in DIR; events.log records each
# insertion and removal; a restarted feeder continues after its last card.
source "$2/tests/integration/lib/harness.sh" "$@"

feed="$CF_TMP/feed"
cf_harness_readers 1
cf_card_start 0 --type yubikey --feed "$feed" --serial 100
cf_wait_card 0

card_file() { echo "$feed/card-$1.state"; }
expect_card_file() { # SERIAL
    [ -f "$(card_file "$1")" ] || cf_fail "no $(card_file "$1")"
    grep -qx "serial=$1" "$(card_file "$1")" || cf_fail "$(card_file "$1"): wrong serial"
    grep -qx "type=yubikey" "$(card_file "$1")" || cf_fail "$(card_file "$1"): wrong type"
}
expect_event() { # LINE-REGEX
    grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z $1\$" "$feed/events.log" ||
        cf_fail "events.log lacks '$1':$(printf '\n%s' "$(cat "$feed/events.log")")"
}

expect_card_file 100
expect_event "insert serial=100 file=card-100.state"
reply=$(cf_card_ctl 0 status)
case "$reply" in "ok present serial=100 "*) ;; *) cf_fail "status: $reply" ;; esac

# Control socket: remove, then insert = the next fresh card.
cf_card_pull 0
expect_event "remove serial=100 file=card-100.state reason=command"
cf_card_insert 0
expect_card_file 100
expect_card_file 101
expect_event "insert serial=101 file=card-101.state"
r=$(cf_opensc_reader 0) || exit 1
opensc-tool -r "$r" -a >/dev/null 2>&1 || cf_fail "the fresh card 101 does not answer"

# Signals: SIGUSR1 removes, SIGUSR2 inserts the next.
kill -USR1 "$(cf_card_pid 0)"
cf_wait_no_card 0
expect_event "remove serial=101 file=card-101.state reason=signal"
kill -USR2 "$(cf_card_pid 0)"
cf_wait_card 0
expect_card_file 102
expect_event "insert serial=102 file=card-102.state"

# A second remove or insert is harmless and says so.
cf_expect_eq "insert while in" "ok already-inserted serial=102 connected=yes" \
    "$(cf_card_ctl 0 insert)"

# Stopping logs the card in the reader as removed; a restart with the same
# first serial resumes after the last card and never rewrites a card file.
sum_before=$(sha256sum "$feed"/card-10[0-2].state)
cf_card_stop 0
cf_expect_eq "feeder exit status on SIGTERM" 0 "$CF_LAST_RC"
expect_event "remove serial=102 file=card-102.state reason=shutdown"
cf_wait_no_card 0
cf_card_start 0 --type yubikey --feed "$feed" --serial 100
cf_wait_card 0
expect_card_file 103
cf_expect_eq "earlier cards untouched" "$sum_before" "$(sha256sum "$feed"/card-10[0-2].state)"
cf_expect_eq "events" "7" "$(wc -l <"$feed/events.log")"
cf_note "ok: feeder serials 100-103, events logged, resume after restart"
