# test_offline_unblock_e2e.sh - the offline unblock story end to end through
# the real pcscd:
#   1. a batch personalizes two gemalto-factory GIDS cards with admin keys
#      derived from a master key, InitCRKey and BlockCard (cardforge run);
#   2. at card 0, `cardforge pin unblock --challenge` is driven through a
#      pseudo-terminal like a card holder on the phone: the challenge it shows
#      goes to `cardforge helpdesk response` (the helpdesk, with the key file),
#      whose response and check value are typed back; the new PIN is proven
#      with pkcs11-tool;
#   3. at card 1, a wrong response (with a matching check value, as a
#      helpdesk mistake would produce) costs exactly one admin try, is
#      reported as such, and the PIN stays blocked.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
P11=$(dpkg -L opensc-pkcs11 | grep '/opensc-pkcs11\.so$' | head -1)
[ -n "$P11" ] || cf_fail "opensc-pkcs11.so not found"

cf_harness_start 2 gids gemalto

KF="$CF_TMP/bureau.keys"
printf 'bureau-admin 1 aes128 2B7E151628AED2A6ABF7158809CF4F3C\n' >"$KF"
chmod 600 "$KF"

cat >"$CF_TMP/desc.ini" <<'EOF'
[Fields]
PIN=
[Description]
SetPIN=true
PIN=PIN
CardManagerKey=#000000000000000000000000000000000000000000000000
NewCardManagerKey=@derive:bureau-admin
InitCRKey=true
UseCardManagerKey=true
[Application_B]
BlockCard=true
EOF
printf 'ID,PIN\nalice,11223344\nbob,55667788\n' >"$CF_TMP/batch.csv"

out=$("$CLI" run "$CF_TMP/desc.ini" --batch "$CF_TMP/batch.csv" --journal "$CF_TMP/journal.jsonl" \
    --readers CardForge --keyfile "$KF" 2>&1 </dev/null) || cf_fail "cardforge run failed: $out"
for i in 0 1; do
    st=$(cf_state_file "$i")
    grep -qx "pin_tries=0" "$st" || cf_fail "card $i: PIN not blocked after the batch"
    grep -qx "admin_key=000000000000000000000000000000000000000000000000" "$st" &&
        cf_fail "card $i still has the factory admin key"
done
grep -q '"master_key":"bureau-admin","master_key_version":1' "$CF_TMP/journal.jsonl" ||
    cf_fail "the journal does not name the master key the admin keys come from"

# The helpdesk's side, run by pty_drive with what the card showed (CAP_*):
# prints the response (r) or its check value (c). With "wrong", the
# response's first digit is changed and the check value computed for the
# changed response, as a helpdesk that mistyped the challenge would get.
cat >"$CF_TMP/helpdesk.sh" <<EOF
out=\$("$CLI" helpdesk response --serial "\$CAP_SERIAL" --challenge "\$CAP_CH" \\
    --check "\$CAP_CHK" --keyfile "$KF" --key bureau-admin) || exit 1
resp=\$(echo "\$out" | sed -n 's/^response *\([0-9A-F ]*[0-9A-F]\) *check.*/\1/p' | tr -d ' ')
python3 "$CF_TMP/respond.py" "\$resp" "\$1" "\$2"
EOF
cat >"$CF_TMP/respond.py" <<'EOF'
import sys
r, what, wrong = sys.argv[1], sys.argv[2], sys.argv[3] == "wrong"
if wrong:
    r = ("0" if r[0] != "0" else "1") + r[1:]
print(r if what == "r" else "%02d" % (int("1" + r, 16) % 97))
EOF

# ---- card 0: the right response ----
cat >"$CF_TMP/unblock.script" <<EOF
expect new PIN \(not shown\):
send 20406080
expect new PIN again:
send 20406080
capture SERIAL serial +([0-9A-Fa-f][0-9A-Fa-f ]*[0-9A-Fa-f]) +check
capture CH challenge +([0-9A-F][0-9A-F ]*[0-9A-F]) +check
capture CHK challenge +[0-9A-F ]+ +check (\d\d)
expect response from the helpdesk
sendcmd bash "$CF_TMP/helpdesk.sh" r right
expect its check value
sendcmd bash "$CF_TMP/helpdesk.sh" c right
eof
EOF
out=$(python3 "$DRIVE" "$CF_TMP/unblock.script" -- "$CLI" pin unblock --challenge \
    --reader "$(cf_reader_name 0)") || cf_fail "pin unblock --challenge failed: $out"
echo "$out" | grep >/dev/null "PIN unblocked and set; the new PIN verifies" || cf_fail "no success: $out"
echo "$out" | grep >/dev/null 20406080 && cf_fail "the new PIN was echoed"
grep -qx "pin_tries=$(sed -n 's/^pin_max=//p' "$(cf_state_file 0)")" "$(cf_state_file 0)" ||
    cf_fail "card 0: PIN counter not reset"
slot=$(pkcs11-tool --module "$P11" -L 2>/dev/null | awk -v r="$(cf_reader_name 0)" '
    /^Slot [0-9]+/ { s = $2 } index($0, r) { print s; exit }')
out=$(pkcs11-tool --module "$P11" --slot-index "$slot" --login --pin 20406080 --list-objects 2>&1) ||
    cf_fail "pkcs11-tool cannot log in with the new PIN: $out"

# ---- card 1: a wrong response costs one admin try ----
before=$(sed -n 's/^admin_tries=//p' "$(cf_state_file 1)")
cat >"$CF_TMP/wrong.script" <<EOF
expect new PIN \(not shown\):
send 13572468
expect new PIN again:
send 13572468
capture SERIAL serial +([0-9A-Fa-f][0-9A-Fa-f ]*[0-9A-Fa-f]) +check
capture CH challenge +([0-9A-F][0-9A-F ]*[0-9A-F]) +check
capture CHK challenge +[0-9A-F ]+ +check (\d\d)
expect response from the helpdesk
sendcmd bash "$CF_TMP/helpdesk.sh" r wrong
expect its check value
sendcmd bash "$CF_TMP/helpdesk.sh" c wrong
eof
EOF
out=$(python3 "$DRIVE" "$CF_TMP/wrong.script" -- "$CLI" pin unblock --challenge \
    --reader "$(cf_reader_name 1)") && cf_fail "a wrong response was accepted: $out"
echo "$out" | grep >/dev/null "That cost one admin-key try" || cf_fail "wrong response not reported: $out"
after=$(sed -n 's/^admin_tries=//p' "$(cf_state_file 1)")
cf_expect_eq "admin tries after one wrong response" "$((before - 1))" "$after"
grep -qx "pin_tries=0" "$(cf_state_file 1)" || cf_fail "card 1: PIN no longer blocked"

cf_note "ok: batch with derived keys, offline unblock through a pty and the helpdesk, proven by pkcs11-tool"
