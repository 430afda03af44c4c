# test_keys_token_unblock.sh - the offline unblock end to end through the
# real pcscd with the master key in a PKCS#11 token (SoftHSM2 made here):
#   1. a batch personalizes a gemalto-factory GIDS card with its admin key
#      derived in the token (cardforge run through pcscd, --keyfile naming
#      the token);
#   2. a second card personalized by `cardforge personalize` with the same
#      token key file: its admin key (the card's state) is the one the key
#      in a plain key file derives for its serial; with a key the token
#      lacks, personalize is refused naming it and the card is unchanged;
#   3. `cardforge pin unblock --challenge` is driven through a
#      pseudo-terminal; the helpdesk answers with the token key file and the
#      run's journal (--journal: the card's master key version from its
#      record), and the new PIN is proven with pkcs11-tool (OpenSC).
# No card try is spent: the one response given is the right one.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
P11=$(dpkg -L opensc-pkcs11 | grep '/opensc-pkcs11\.so$' | head -1)
[ -n "$P11" ] || cf_fail "opensc-pkcs11.so not found"

tmp="$CF_TMP/p11" build="$CF_BUILD"
mkdir -p "$tmp"
source "$CF_SOURCE/tests/integration/lib/softhsm.sh"
softhsm_setup >/dev/null
# version 1 in the token; a version 2 beside it, so that "the newest" would
# be the wrong answer for this card
softhsm_key bureau-v1 aes 2B7E151628AED2A6ABF7158809CF4F3C
softhsm_key bureau-v2 aes 603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4
keyfile bureau.keys "module $P11_MODULE" "pin-file $tmp/token.pin" \
    "bureau-admin 1 aes128 pkcs11:token=cf-test;object=bureau-v1" \
    "bureau-admin 2 aes256 pkcs11:token=cf-test;object=bureau-v2"
KF="$tmp/bureau.keys"

cf_harness_start 2 gids,gids gemalto,gemalto

cat >"$CF_TMP/desc.ini" <<'EOF'
[Fields]
PIN=
[Description]
SetPIN=true
PIN=PIN
CardManagerKey=#000000000000000000000000000000000000000000000000
NewCardManagerKey=@derive:bureau-admin:1
InitCRKey=true
UseCardManagerKey=true
[Application_B]
BlockCard=true
EOF
printf 'ID,PIN\nalice,11223344\n' >"$CF_TMP/batch.csv"

out=$("$CLI" run "$CF_TMP/desc.ini" --batch "$CF_TMP/batch.csv" --journal "$CF_TMP/journal.jsonl" \
    --readers "$(cf_reader_name 0)" --keyfile "$KF" 2>&1 </dev/null) ||
    cf_fail "cardforge run failed: $out"
st=$(cf_state_file 0)
grep -qx "pin_tries=0" "$st" || cf_fail "PIN not blocked after the batch"
grep -qx "admin_key=000000000000000000000000000000000000000000000000" "$st" &&
    cf_fail "the card still has the factory admin key"
grep -q '"master_key":"bureau-admin","master_key_version":1' "$CF_TMP/journal.jsonl" ||
    cf_fail "the journal does not name master key version 1"
before=$(sed -n 's/^admin_tries=//p' "$st")

# personalize, one card, the same token key file
out=$("$CLI" personalize "$CF_TMP/desc.ini" --reader "$(cf_reader_name 1)" --keyfile "$KF" \
    --field PIN=55667788 2>&1 </dev/null) || cf_fail "cardforge personalize failed: $out"
serial=$("$CLI" pin status --reader "$(cf_reader_name 1)" | sed -n 's/^serial *//p')
[ -n "$serial" ] || cf_fail "no serial from pin status"
keyfile plain.keys "bureau-admin 1 aes128 2B7E151628AED2A6ABF7158809CF4F3C"
want=$("$CF_BUILD/tests/keys_derive" "$tmp/plain.keys" bureau-admin 1 admin "$serial" 3des | head -1)
cf_expect_eq "admin key of the personalized card" "admin_key=$want" \
    "$(grep '^admin_key=' "$(cf_state_file 1)")"
# a key the token does not have: refused before the card is changed
keyfile missing.keys "module $P11_MODULE" "pin-file $tmp/token.pin" \
    "bureau-admin 1 aes128 pkcs11:token=cf-test;object=bureau-v9"
cp "$(cf_state_file 1)" "$CF_TMP/card1.before"
out=$("$CLI" personalize "$CF_TMP/desc.ini" --reader "$(cf_reader_name 1)" \
    --keyfile "$tmp/missing.keys" --field PIN=55667788 2>&1 </dev/null) &&
    cf_fail "personalize with a missing token key succeeded: $out"
echo "$out" | grep >/dev/null "token 'cf-test' has no key 'bureau-v9'" || cf_fail "not named: $out"
cmp -s "$CF_TMP/card1.before" "$(cf_state_file 1)" || cf_fail "the card was changed"

# The helpdesk: token key file and the journal, prints the response (r) or
# its check value (c).
cat >"$CF_TMP/helpdesk.sh" <<EOF
out=\$("$CLI" helpdesk response --serial "\$CAP_SERIAL" --challenge "\$CAP_CH" \\
    --check "\$CAP_CHK" --keyfile "$KF" --journal "$CF_TMP/journal.jsonl") || exit 1
echo "\$out" | grep >/dev/null "version 1 (3des, in the token, version from the journal)" || exit 1
resp=\$(echo "\$out" | sed -n 's/^response *\([0-9A-F ]*[0-9A-F]\) *check.*/\1/p' | tr -d ' ')
if [ "\$1" = r ]; then echo "\$resp"; else printf '%02d\n' \$(python3 -c "print(int('1' + '\$resp', 16) % 97)"); fi
EOF
cat >"$CF_TMP/unblock.script" <<EOF
expect new PIN \(not shown\):
send 20406080
expect new PIN again:
send 20406080
capture SERIAL serial +([0-9A-Fa-f][0-9A-Fa-f ]*[0-9A-Fa-f]) +check
capture CH challenge +([0-9A-F][0-9A-F ]*[0-9A-F]) +check
capture CHK challenge +[0-9A-F ]+ +check (\d\d)
expect response from the helpdesk
sendcmd bash "$CF_TMP/helpdesk.sh" r
expect its check value
sendcmd bash "$CF_TMP/helpdesk.sh" c
eof
EOF
out=$(python3 "$DRIVE" "$CF_TMP/unblock.script" -- "$CLI" pin unblock --challenge \
    --reader "$(cf_reader_name 0)") || cf_fail "pin unblock --challenge failed: $out"
echo "$out" | grep >/dev/null "PIN unblocked and set; the new PIN verifies" || cf_fail "no success: $out"
grep -qx "pin_tries=$(sed -n 's/^pin_max=//p' "$st")" "$st" || cf_fail "PIN counter not reset"
cf_expect_eq "admin tries after the unblock" "$before" "$(sed -n 's/^admin_tries=//p' "$st")"
slot=$(pkcs11-tool --module "$P11" -L 2>/dev/null | awk -v r="$(cf_reader_name 0)" '
    /^Slot [0-9]+/ { s = $2 } index($0, r) { print s; exit }')
out=$(pkcs11-tool --module "$P11" --slot-index "$slot" --login --pin 20406080 --list-objects 2>&1) ||
    cf_fail "pkcs11-tool cannot log in with the new PIN: $out"

cf_note "ok: token-derived admin key through pcscd, offline unblock answered from the token with the journal's version, proven by pkcs11-tool"
