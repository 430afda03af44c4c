# test_personalize_pulled_pcsc.sh - a card pulled in the middle of
# `cardforge personalize` through the real pcscd (cardforge-vcard
# --fault-drop-after K): the command fails with status 1 and prints the
# card's state; put back, the same command finishes the card, whose state
# file then holds exactly the description's values. K is spread over the
# whole GIDS job of 21 APDUs (identification, PIN, rotation and its
# challenge-response proof, block). The
# in-process test (test_personalize) pulls at every single APDU. The cards
# show their admin counter (gids+admin-counter): finishing an interrupted
# rotation tries a second admin key, which the engine does only on a card
# that shows how many tries are left.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
NEW_KEY=00112233445566778899AABBCCDDEEFF0011223344556677
cat >"$CF_TMP/job.ini" <<EOF
[Description]
SetPIN=true
PIN=#24680
CardManagerKey=#000000000000000000000000000000000000000000000000
NewCardManagerKey=#$NEW_KEY
InitCRKey=true
UseCardManagerKey=true
[Application_B]
BlockCard=true
EOF

# One reader per pull: a card daemon is never restarted on a reader that
# just lost one (a fresh vpcd connection's first exchange can come back empty).
cf_harness_readers 8
interrupted=0
r=0
for k in 2 4 6 9 11 13 16 19; do
    st="$CF_TMP/card-$k.state"
    cf_card_start $r --type gids+admin-counter --factory gemalto --serial $((100 + k)) --state "$st" \
        --fault-drop-after "$k"
    cf_wait_card $r
    out=$("$CLI" personalize "$CF_TMP/job.ini" --reader "$(cf_reader_name $r)" 2>&1 </dev/null)
    rc=$?
    if [ $rc -ne 0 ]; then
        [ $rc -eq 1 ] || cf_fail "pull at $k: exit $rc, expected 1: $out"
        if grep -q "card state:" <<<"$out"; then
            interrupted=$((interrupted + 1))
        else
            # pulled during identification: nothing was done to the card
            grep -q "reader '$(cf_reader_name $r)'" <<<"$out" || cf_fail "pull at $k: $out"
            interrupted=$((interrupted + 1))
        fi
        cf_note "pull at $k: $(tail -3 <<<"$out" | tr "\n" " ")"
        cf_wait_no_card $r
        cf_card_insert $r
        out=$("$CLI" personalize "$CF_TMP/job.ini" --reader "$(cf_reader_name $r)" 2>&1 </dev/null) ||
            cf_fail "re-run after the pull at APDU $k did not finish the card: $out"
    fi
    grep -q "personalized: every step done and proven" <<<"$out" || cf_fail "pull at $k: $out"
    cf_expect_eq "PIN after pull at $k" "$(printf 24680 | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
        "$(sed -n 's/^pin=//p' "$st")"
    cf_expect_eq "admin key after pull at $k" "$NEW_KEY" "$(sed -n 's/^admin_key=//p' "$st")"
    cf_expect_eq "PIN tries after pull at $k" 0 "$(sed -n 's/^pin_tries=//p' "$st")"
    left=$(sed -n 's/^admin_tries=//p' "$st")
    max=$(sed -n 's/^admin_max=//p' "$st")
    [ "$left" -ge $((max - 1)) ] || cf_fail "pull at $k: finishing the card cost $((max - left)) admin tries"
    r=$((r + 1))
done
[ "$interrupted" -ge 6 ] || cf_fail "only $interrupted of 8 pulls interrupted the job"
cf_note "ok: $interrupted pulls through pcscd, each card finished by a re-run"
