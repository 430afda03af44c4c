# test_personalize_cli.sh - the officer's desk as a person meets it:
#   - a card chosen by serial, whichever reader it sits in;
#   - a reader substring that names two readers is refused (status 2);
#   - prompts without a terminal are refused (status 2) unless --field gives
#     them; nothing reaches the card then;
#   - through a terminal: the card is identified first, the prompts are not
#     echoed, a new PIN is asked twice; two different entries ask again, and
#     three such tries stop everything before the card is touched; a PIN the
#     card type refuses (too short) is refused as soon as it is typed, with
#     the rule, and asked again at once; the good one that follows is the
#     card's PIN (state file and yubico-piv-tool verify-pin); `pin change`
#     does the same for a too-short new PIN; a typed key that is short or
#     not hex is refused the same way; three refused tries end personalize
#     and `pin change` with status 2 and the card's state file unchanged;
#   - a step the card type cannot do is refused naming step and card type,
#     and the card's state file is unchanged.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
cf_harness_start 2 yubikey,yubikey

cat >"$CF_TMP/prompt.ini" <<'EOF'
[Description]
SetPIN=true
PIN=!FROM_USER_DIALOG_2_FIELD
InitialPUK=#12345678
EOF
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }
pin_of() { sed -n 's/^pin=//p' "$(cf_state_file "$1")"; }
factory_pin=$(hexof 123456)
at_terminal() { # SCRIPT: personalize prompt.ini on card 0, driven by $CF_TMP/SCRIPT.script
    python3 "$DRIVE" "$CF_TMP/$1.script" -- "$CLI" personalize "$CF_TMP/prompt.ini" \
        --reader "$(cf_reader_name 0)"
}

# No terminal, no --field: refused before any card is touched.
out=$("$CLI" personalize "$CF_TMP/prompt.ini" --reader "$(cf_reader_name 0)" 2>&1 </dev/null)
cf_expect_eq "exit status without a terminal" 2 $?
grep -q "standard input is not a terminal; give it with --field FROM_USER_DIALOG_2_FIELD" <<<"$out" ||
    cf_fail "no explanation: $out"
cf_expect_eq "PIN after the refusal" "$factory_pin" "$(pin_of 0)"

# Ambiguous reader substring.
out=$("$CLI" personalize "$CF_TMP/prompt.ini" --reader "CardForge" \
    --field FROM_USER_DIALOG_2_FIELD=246810 2>&1 </dev/null)
cf_expect_eq "exit status for an ambiguous reader" 2 $?
grep -q "matches 2 readers" <<<"$out" || cf_fail "ambiguous reader: $out"

# By serial: card 1 (serial CF_SERIAL_BASE+1), the prompt given by --field.
out=$("$CLI" personalize "$CF_TMP/prompt.ini" --card $((CF_SERIAL_BASE + 1)) \
    --field FROM_USER_DIALOG_2_FIELD=246810 2>&1 </dev/null) || cf_fail "by serial: $out"
grep -q "reader $(cf_reader_name 1)" <<<"$out" || cf_fail "wrong card chosen: $out"
cf_expect_eq "PIN of the card chosen by serial" "$(hexof 246810)" "$(pin_of 1)"
cf_expect_eq "PIN of the other card" "$factory_pin" "$(pin_of 0)"
out=$("$CLI" personalize "$CF_TMP/prompt.ini" --card 99999 \
    --field FROM_USER_DIALOG_2_FIELD=246810 2>&1 </dev/null)
cf_expect_eq "exit status for an absent serial" 1 $?
grep -q "no card with serial 99999 in any reader (2 cards looked at)" <<<"$out" || cf_fail "$out"

# Through a terminal: two different entries ask for the value again; three
# such tries stop everything before the card is touched.
cat >"$CF_TMP/mismatch.script" <<'EOF'
expect PIN \(dialog 2, not shown\):
send 135790
expect PIN again:
send 135791
expect PIN: the two entries differ; type it again\s+PIN \(dialog 2, not shown\):
send 135790
expect PIN again:
send 135792
expect PIN: the two entries differ; type it again\s+PIN \(dialog 2, not shown\):
send 135790
expect PIN again:
send 135793
eof
EOF
out=$(at_terminal mismatch)
cf_expect_eq "exit status after three pairs of different PINs" 2 $?
grep -q "PIN: no acceptable value in 3 tries; nothing was done" <<<"$out" || cf_fail "$out"
grep -q 13579 <<<"$out" && cf_fail "a typed PIN was echoed: $out"
grep -q "PIN: PIN:" <<<"$out" && cf_fail "doubled prefix: $out"
cf_expect_eq "PIN after the mismatches" "$factory_pin" "$(pin_of 0)"

# A value the card type refuses is refused as soon as it is typed, with the
# rule it breaks (never the value), and asked again at once, before any
# confirmation; the good one that follows is used.
cat >"$CF_TMP/short.script" <<'EOF'
expect card: piv-yubikey, serial
expect PIN \(dialog 2, not shown\):
send 2468
expect PIN: must be 6 to 8 characters, got 4 characters \(card type piv-yubikey\); type it again\s+PIN \(dialog 2, not shown\):
send 864213
expect PIN again:
send 864213
eof
EOF
out=$(at_terminal short) || cf_fail "a short PIN, then a good one: $out"
grep -q "again:" <<<"${out%%must be 6*}" && cf_fail "the short PIN was confirmed first: $out"
grep -q -e 2468 -e 864213 <<<"$out" && cf_fail "a typed PIN was echoed: $out"
grep -q "PIN: PIN:" <<<"$out" && cf_fail "doubled prefix: $out"
grep -q "^personalized: every step done and proven" <<<"$out" || cf_fail "no success: $out"
cf_expect_eq "PIN after a refused short one and a good one" "$(hexof 864213)" "$(pin_of 0)"
yubico-piv-tool -r "$(cf_reader_name 0)" -a verify-pin -P 864213 >/dev/null 2>&1 ||
    cf_fail "yubico-piv-tool does not verify the PIN typed second"

# The PIN tool the same way: a too-short new PIN is refused at once and
# asked again; the card's PIN is the good one.
cat >"$CF_TMP/change.script" <<'EOF'
expect current PIN \(not shown\):
send 864213
expect new PIN \(not shown\):
send 97531
expect PIN: must be 6 to 8 characters, got 5 characters \(card type piv-yubikey\); type it again\s+new PIN \(not shown\):
send 97531135
expect new PIN again:
send 97531135
eof
EOF
out=$(python3 "$DRIVE" "$CF_TMP/change.script" -- "$CLI" pin change \
    --reader "$(cf_reader_name 0)") || cf_fail "pin change after a short PIN: $out"
grep -q "^PIN changed" <<<"$out" || cf_fail "pin change: $out"
grep -q -e 97531 -e 864213 <<<"$out" && cf_fail "a typed PIN was echoed: $out"
cf_expect_eq "PIN after pin change" "$(hexof 97531135)" "$(pin_of 0)"
yubico-piv-tool -r "$(cf_reader_name 0)" -a verify-pin -P 97531135 >/dev/null 2>&1 ||
    cf_fail "yubico-piv-tool does not verify the changed PIN"

# Keys are checked as they are typed too (hex, 16/24/32 bytes), and three
# refused tries end the run before the card is touched (status 2).
cat >"$CF_TMP/key.ini" <<'EOF'
[Description]
CardManagerKey=#010203040506070801020304050607080102030405060708
NewCardManagerKey=!FROM_USER_DIALOG_3_FIELD
EOF
cat >"$CF_TMP/badkeys.script" <<'EOF'
expect NewCardManagerKey \(dialog 3, not shown\):
send 00112233
expect NewCardManagerKey: a key must be 16, 24 or 32 bytes \(32, 48 or 64 hex digits\), not 8 digits; type it again\s+NewCardManagerKey \(dialog 3, not shown\):
send 0011223344556677889900112233445566778899zz
expect NewCardManagerKey: a key must be hex digits
send 00112233445566778899001122334455667788990011
eof
EOF
before=$(cat "$(cf_state_file 1)")
out=$(python3 "$DRIVE" "$CF_TMP/badkeys.script" -- "$CLI" personalize "$CF_TMP/key.ini" \
    --reader "$(cf_reader_name 1)")
cf_expect_eq "exit status after three refused keys" 2 $?
grep -q "NewCardManagerKey: no acceptable value in 3 tries; nothing was done" <<<"$out" || cf_fail "$out"
grep -q "00112233" <<<"$out" && cf_fail "a typed key was echoed: $out"
cf_expect_eq "state file after three refused keys" "$before" "$(cat "$(cf_state_file 1)")"

# The PIN tool gives up the same way, having sent the card nothing.
cat >"$CF_TMP/giveup.script" <<'EOF'
expect current PIN \(not shown\):
send 97531135
expect new PIN \(not shown\):
send 1
expect new PIN \(not shown\):
send 12
expect new PIN \(not shown\):
send 123456789
eof
EOF
before=$(cat "$(cf_state_file 0)")
out=$(python3 "$DRIVE" "$CF_TMP/giveup.script" -- "$CLI" pin change --reader "$(cf_reader_name 0)")
cf_expect_eq "pin change status after three refused new PINs" 2 $?
grep -q "PIN: must be 6 to 8 characters, got 9 characters (card type piv-yubikey)$" <<<"${out//$'\r'/}" ||
    cf_fail "no reason for the last try: $out"
grep -q "no acceptable new PIN in 3 tries; nothing was sent to the card" <<<"$out" || cf_fail "$out"
cf_expect_eq "state file after pin change gave up" "$before" "$(cat "$(cf_state_file 0)")"

cat >"$CF_TMP/match.script" <<'EOF'
expect PIN \(dialog 2, not shown\):
send 135790
expect PIN again:
send 135790
eof
EOF
out=$(at_terminal match) || cf_fail "through a terminal: $out"
grep -q 135790 <<<"$out" && cf_fail "a typed PIN was echoed: $out"
grep -q "^  set-pin-by-puk    done" <<<"$out" || cf_fail "no step line: $out"
cf_expect_eq "PIN typed at the terminal" "$(hexof 135790)" "$(pin_of 0)"

# A step this card type cannot do: refused, card unchanged, step and type named.
cat >"$CF_TMP/admin-pin.ini" <<'EOF'
[Description]
SetPIN=true
PIN=#112233
CardManagerKey=#010203040506070801020304050607080102030405060708
EOF
before=$(cat "$(cf_state_file 0)")
out=$("$CLI" personalize "$CF_TMP/admin-pin.ini" --reader "$(cf_reader_name 0)" 2>&1 </dev/null)
cf_expect_eq "exit status for an impossible step" 1 $?
grep -q "step set-pin-by-admin (line 2) refused on card type piv-yubikey" <<<"$out" || cf_fail "$out"
cf_expect_eq "state file after the refusal" "$before" "$(cat "$(cf_state_file 0)")"
"$CLI" personalize --help | grep >/dev/null "usage: cardforge personalize" || cf_fail "--help"
# The card swapped in the reader while the values are typed: the values
# were typed (and checked) for the first card; the second gets none of
# them. Reader 1 becomes a feeder: every removal brings the next card.
cf_card_stop 1
feed="$CF_TMP/feed"
cf_card_start 1 --type yubikey --feed "$feed" --serial 700
cf_wait_card 1
# Take card 700 out, wait until pcscd sees no card, put the next one in,
# wait until it is seen; then type the PIN's confirmation.
cat >"$CF_TMP/swap.sh" <<SWAP
reader_has() { "$CLI" readers --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = [x for x in d["readers"] if x["name"] == sys.argv[1]]
sys.exit(0 if r and sys.argv[2] in (r[0]["state"], r[0]["serial"]) else 1)' "$(cf_reader_name 1)" "\$1"; }
"$CF_VCARD" --control "$(cf_card_ctl_path 1)" --send remove >/dev/null
for _ in \$(seq 1 150); do reader_has empty && break; sleep 0.1; done
"$CF_VCARD" --control "$(cf_card_ctl_path 1)" --send insert >/dev/null
for _ in \$(seq 1 150); do reader_has 701 && break; sleep 0.1; done
echo 135790
SWAP
cat >"$CF_TMP/swap.script" <<SCRIPT
expect serial 700
expect PIN \\(dialog 2, not shown\\):
send 135790
expect PIN again:
sendcmd bash $CF_TMP/swap.sh
eof
SCRIPT
before=$(cat "$feed/card-700.state")
out=$(python3 "$DRIVE" "$CF_TMP/swap.script" -- "$CLI" personalize "$CF_TMP/prompt.ini" \
    --reader "$(cf_reader_name 1)")
cf_expect_eq "exit status when the card was swapped while typing" 1 $?
grep -q "changed while the values were typed (serial 700, now 701); no value was sent to it" \
    <<<"$out" || cf_fail "swap not said: $out"
cf_expect_eq "card 700 after the swap" "$before" "$(cat "$feed/card-700.state")"
cf_expect_eq "PIN of card 701" "$factory_pin" "$(sed -n 's/^pin=//p' "$feed/card-701.state")"
cf_note "ok: serial selection, prompts, terminal, refusals, card swapped while typing"
