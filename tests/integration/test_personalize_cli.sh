# test_personalize_cli.sh - the officer's desk as a person meets it:
#   - a card chosen by serial, whichever reader it sits in;
#   - a reader substring that names two readers is refused (status 2);
#   - prompts without a terminal are refused (status 2) unless --field gives
#     them; nothing reaches the card then;
#   - through a terminal: the prompts are not echoed, a new PIN is asked
#     twice, and two different entries stop everything before the card is
#     touched;
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

# Through a terminal: two different entries stop everything.
cat >"$CF_TMP/mismatch.script" <<'EOF'
expect PIN \(dialog 2, not shown\):
send 135790
expect PIN again:
send 135791
eof
EOF
out=$(python3 "$DRIVE" "$CF_TMP/mismatch.script" -- "$CLI" personalize "$CF_TMP/prompt.ini" \
    --reader "$(cf_reader_name 0)")
cf_expect_eq "exit status after two different PINs" 2 $?
grep -q "the two PIN entries differ; nothing was done" <<<"$out" || cf_fail "$out"
grep -q 13579 <<<"$out" && cf_fail "a typed PIN was echoed: $out"
cf_expect_eq "PIN after the mismatch" "$factory_pin" "$(pin_of 0)"

cat >"$CF_TMP/match.script" <<'EOF'
expect PIN \(dialog 2, not shown\):
send 135790
expect PIN again:
send 135790
eof
EOF
out=$(python3 "$DRIVE" "$CF_TMP/match.script" -- "$CLI" personalize "$CF_TMP/prompt.ini" \
    --reader "$(cf_reader_name 0)") || cf_fail "through a terminal: $out"
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
"$CLI" personalize --help | grep -q "usage: cardforge personalize" || cf_fail "--help"
cf_note "ok: serial selection, prompts, terminal, refusals"
