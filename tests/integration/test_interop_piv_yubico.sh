# test_interop_piv_yubico.sh - yubico-piv-tool 2.2.0 (Debian 12) operates a
# `piv` card through the real pcscd: status, PIN / PUK / unblock, the
# management key (3DES; 2.2.0 has no AES, see test_interop_piv_ykman.sh),
# PIN retries, CHUID, a certificate in and out, and RESET of a card whose
# PIN and PUK are blocked. Every step checks the tool's exit status, its
# output and the card's state file (keys: docs/cards/piv.md), and the
# refusals (wrong PIN, wrong PUK, wrong management key, RESET too early)
# must leave the state file as the card's rules say.
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

command -v yubico-piv-tool >/dev/null || cf_fail "yubico-piv-tool not installed: run scripts/setup.sh"
command -v openssl >/dev/null || cf_fail "openssl not installed"

cf_harness_start 1 yubikey
READER=$(cf_reader_name 0)
DEF_KEY=010203040506070801020304050607080102030405060708
KEY1=1A2B3C4D5E6F70811A2B3C4D5E6F70811A2B3C4D5E6F7081
KEY2=F1E2D3C4B5A69788F1E2D3C4B5A69788F1E2D3C4B5A69788
ypt() { yubico-piv-tool -r "$READER" "$@"; }
cf_state_snapshot 0 factory.state

# ---- status and VERIFY ----------------------------------------------------
cf_expect_run "status" 0 ypt -a status
cf_expect_out "status" "Version:	5.4.3"
cf_expect_out "status" "Serial Number:	$CF_SERIAL_BASE"
cf_expect_out "status" "CHUID:	No data available"
cf_expect_out "status" "PIN tries left:	3"

cf_expect_run "verify the default PIN" 0 ypt -a verify-pin -P 123456
cf_expect_out "verify-pin" "Successfully verified PIN."
cf_expect_state 0 pin_tries 3

cf_expect_run "wrong PIN" 1 ypt -a verify-pin -P 654321
cf_expect_out "wrong PIN" "Pin verification failed, 2 tries left before pin is blocked."
cf_expect_state 0 pin_tries 2
cf_expect_run "status after a wrong PIN" 0 ypt -a status
cf_expect_out "status after a wrong PIN" "PIN tries left:	2"
cf_expect_run "right PIN refills the counter" 0 ypt -a verify-pin -P 123456
cf_expect_state 0 pin_tries 3

# ---- CHANGE REFERENCE DATA (PIN, PUK), RESET RETRY COUNTER ---------------
cf_expect_run "change-pin with a wrong old PIN" 1 ypt -a change-pin -P 111111 -N 87654321
cf_expect_state 0 pin "$(cf_hex 123456)"
cf_expect_state 0 pin_tries 2
cf_expect_run "change-pin" 0 ypt -a change-pin -P 123456 -N 87654321
cf_expect_out "change-pin" "Successfully changed the pin code."
cf_expect_state 0 pin "$(cf_hex 87654321)"
cf_expect_state 0 pin_tries 3
cf_expect_run "old PIN after change-pin" 1 ypt -a verify-pin -P 123456
cf_expect_state 0 pin_tries 2
cf_expect_run "new PIN after change-pin" 0 ypt -a verify-pin -P 87654321
cf_expect_state 0 pin_tries 3

cf_expect_run "change-puk with a wrong old PUK" 1 ypt -a change-puk -P 00000000 -N 11223344
cf_expect_out "wrong PUK" "now 2 tries left"
cf_expect_state 0 puk_tries 2
cf_expect_run "change-puk" 0 ypt -a change-puk -P 12345678 -N 11223344
cf_expect_out "change-puk" "Successfully changed the puk code."
cf_expect_state 0 puk "$(cf_hex 11223344)"
cf_expect_state 0 puk_tries 3

for left in 2 1; do
    cf_expect_run "block the PIN ($left left)" 1 ypt -a verify-pin -P 000000
    cf_expect_out "block the PIN" "$left tries left before pin is blocked"
done
cf_expect_run "block the PIN (last try)" 1 ypt -a verify-pin -P 000000
cf_expect_state 0 pin_tries 0
cf_expect_run "right PIN on a blocked PIN" 1 ypt -a verify-pin -P 87654321
cf_expect_out "blocked PIN" "Pin code blocked"
cf_expect_state 0 pin_tries 0
cf_expect_run "unblock-pin with a wrong PUK" 1 ypt -a unblock-pin -P 12345678 -N 555555
cf_expect_state 0 puk_tries 2
cf_expect_state 0 pin "$(cf_hex 87654321)"
cf_expect_state 0 pin_tries 0
cf_expect_run "unblock-pin" 0 ypt -a unblock-pin -P 11223344 -N 555555
cf_expect_out "unblock-pin" "Successfully unblocked the pin code."
cf_expect_state 0 pin "$(cf_hex 555555)"
cf_expect_state 0 pin_tries 3
cf_expect_state 0 puk_tries 3
cf_expect_run "PIN set by unblock-pin" 0 ypt -a verify-pin -P 555555

# ---- management key (9B) --------------------------------------------------
cf_state_snapshot 0 before-mgm.state
cf_expect_run "set-mgm-key with a wrong key" 1 ypt --key="$KEY2" -a set-mgm-key -n "$KEY1"
cf_expect_out "wrong management key" "Failed authentication with the application."
cf_expect_state_is 0 before-mgm.state
cf_expect_run "set-mgm-key (3DES)" 0 ypt -a set-mgm-key -n "$KEY1"
cf_expect_out "set-mgm-key" "Successfully set new management key."
cf_expect_state 0 mgm_alg 3des
cf_expect_state 0 mgm_key "$KEY1"
cf_expect_state 0 mgm_touch never
cf_state_snapshot 0 key1.state
cf_expect_run "set-chuid with the old default key" 1 ypt -a set-chuid
cf_expect_out "old management key" "Failed authentication with the application."
cf_expect_state_is 0 key1.state
cf_expect_run "set-chuid with the new key" 0 ypt --key="$KEY1" -a set-chuid
cf_expect_out "set-chuid" "Successfully set new CHUID."
chuid=$(cf_state 0 obj_5FC102) || exit 1
# FASC-N of the tool's template, GUID (random), expiry "20300101", signature.
[[ $chuid =~ ^3019D4E739DA739CED39CE739D836858210842108421C84210C3EB3410[0-9A-F]{32}350832303330303130313E00FE00$ ]] ||
    cf_fail "CHUID in the state file is not the tool's template: $chuid"
cf_expect_run "status shows the CHUID" 0 ypt -a status
cf_expect_out "status CHUID" "CHUID:	${chuid,,}"

cf_expect_run "set-mgm-key with touch" 0 ypt --key="$KEY1" -a set-mgm-key -n "$KEY2" --touch-policy=always
cf_expect_state 0 mgm_key "$KEY2"
cf_expect_state 0 mgm_touch always
cf_expect_run "set-mgm-key back" 0 ypt --key="$KEY2" -a set-mgm-key -n "$KEY1"
cf_expect_state 0 mgm_key "$KEY1"
cf_expect_state 0 mgm_touch never

# ---- certificate: import (chained PUT DATA), read, delete ------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CF_TMP/cert.key" -out "$CF_TMP/cert.pem" \
    -subj "/CN=cardforge interop" -days 30 >/dev/null 2>&1 || cf_fail "openssl req -x509"
openssl x509 -in "$CF_TMP/cert.pem" -outform DER -out "$CF_TMP/cert.der" || cf_fail "openssl x509"
der_hex=$(cf_hex_file "$CF_TMP/cert.der")
der_len=$(stat -c %s "$CF_TMP/cert.der")
# Over 255 bytes: PUT DATA is chained, GET DATA answers in 61xx pieces.
((der_len > 255 && der_len <= 3054)) || cf_fail "certificate of $der_len bytes"
# The object is 70 {DER} 71 01 00 (not compressed) FE 00 (no EDC).
len_hex=$(printf "82%04X" "$der_len")
obj_want="70${len_hex}${der_hex}710100FE00"

cf_state_snapshot 0 before-cert.state
cf_expect_run "import-certificate with the default key" 1 ypt -a import-certificate -s 9a -i "$CF_TMP/cert.pem"
cf_expect_state_is 0 before-cert.state
cf_expect_run "import-certificate" 0 ypt --key="$KEY1" -a import-certificate -s 9a -i "$CF_TMP/cert.pem"
cf_expect_out "import-certificate" "Successfully imported a new certificate."
cf_expect_state 0 obj_5FC105 "$obj_want"
cf_expect_run "read-certificate" 0 ypt -a read-certificate -s 9a -K DER -o "$CF_TMP/read.der"
cmp -s "$CF_TMP/cert.der" "$CF_TMP/read.der" || cf_fail "read-certificate: bytes differ from the imported certificate"
cf_expect_run "status lists slot 9a" 0 ypt -a status
cf_expect_out "status slot 9a" "Slot 9a:"
cf_expect_out "status slot 9a" "Subject DN:	CN=cardforge interop"
cf_expect_run "delete-certificate" 0 ypt --key="$KEY1" -a delete-certificate -s 9a
cf_expect_no_state 0 obj_5FC105
cf_expect_run "read a deleted certificate" 1 ypt -a read-certificate -s 9a -K DER -o "$CF_TMP/gone.der"
cf_expect_out "read a deleted certificate" "Failed fetching certificate."
# Put it back, for RESET to delete below.
cf_expect_run "import-certificate again" 0 ypt --key="$KEY1" -a import-certificate -s 9a -i "$CF_TMP/cert.pem"

# ---- SET PIN RETRIES (needs 9B and the PIN) --------------------------------
cf_state_snapshot 0 before-retries.state
cf_expect_run "pin-retries without the PIN" 1 ypt --key="$KEY1" -a pin-retries --pin-retries 5 --puk-retries 4
cf_expect_out "pin-retries without the PIN" "Failed changing pin retries."
cf_expect_state_is 0 before-retries.state
cf_expect_run "pin-retries" 0 ypt --key="$KEY1" -a verify-pin -P 555555 -a pin-retries --pin-retries 5 --puk-retries 4
cf_expect_out "pin-retries" "Successfully changed pin retries to 5 and puk retries to 4"
cf_expect_state 0 pin_max 5
cf_expect_state 0 pin_tries 5
cf_expect_state 0 puk_max 4
cf_expect_state 0 puk_tries 4
cf_expect_state 0 pin "$(cf_hex 123456)"
cf_expect_state 0 puk "$(cf_hex 12345678)"
cf_expect_run "wrong PIN after pin-retries" 1 ypt -a verify-pin -P 000000
cf_expect_out "wrong PIN after pin-retries" "4 tries left"

# ---- RESET: refused until PIN and PUK are both blocked ---------------------
cf_state_snapshot 0 before-reset.state
cf_expect_run "reset with live PIN and PUK" 1 ypt -a reset
cf_expect_out "early reset" "Reset failed, are pincodes blocked?"
cf_expect_state_is 0 before-reset.state
for _ in 1 2 3 4; do ypt -a verify-pin -P 000000 >/dev/null 2>&1; done
cf_expect_state 0 pin_tries 0
cf_expect_run "reset with only the PIN blocked" 1 ypt -a reset
cf_expect_out "reset with only the PIN blocked" "Reset failed, are pincodes blocked?"
cf_expect_state 0 mgm_key "$KEY1"
for _ in 1 2 3 4; do ypt -a change-puk -P 00000000 -N 99999999 >/dev/null 2>&1; done
cf_expect_state 0 puk_tries 0
cf_expect_run "change-puk on a blocked PUK" 1 ypt -a change-puk -P 12345678 -N 99999999
cf_expect_out "blocked PUK" "The puk code is blocked"
cf_expect_run "reset" 0 ypt -a reset
cf_expect_out "reset" "Successfully reset the application."
# Factory PIN, PUK, counters and management key; CHUID and certificate gone.
cf_expect_state_is 0 factory.state
cf_expect_run "status after reset" 0 ypt -a status
cf_expect_out "status after reset" "CHUID:	No data available"
cf_expect_no_out "status after reset" "Slot 9a:"
cf_expect_out "status after reset" "PIN tries left:	3"
cf_expect_run "default key after reset" 0 ypt --key="$DEF_KEY" -a set-chuid
cf_note "ok: yubico-piv-tool 2.2.0 status, PIN/PUK, 3DES key, retries, CHUID, certificate, reset"
