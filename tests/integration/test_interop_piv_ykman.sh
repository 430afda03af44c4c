# test_interop_piv_ykman.sh - ykman (yubikey-manager 4.0.9, Debian 12), a
# third client nobody here wrote, operates a `piv` card through the real
# pcscd. ykman only lists readers whose name contains "Yubico YubiKey";
# `--reader NAME` picks any PC/SC reader by name, which is how it reaches
# "CardForge 0 00 00" without faking a YubiKey's other applications (its
# device probe finds only PIV and carries on; docs/cards/piv.md "ykman").
# ykman is the client that exercises what yubico-piv-tool 2.2.0 cannot:
# AES management keys (-a AES128/AES192/AES256 with -m/-n), GET METADATA,
# extended-length APDUs, the PIN-protected management key (objects 5FC109
# and 5FFF00) and its own way of blocking PIN and PUK before RESET. OpenSC's
# piv-tool and yubico-piv-tool judge the AES key a second time. Every step
# checks the exit status, the output and the card's state file (keys:
# docs/cards/piv.md).
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

for tool in ykman piv-tool yubico-piv-tool openssl; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done

cf_harness_start 1 yubikey
READER=$(cf_reader_name 0)
N=$(cf_opensc_reader 0) || exit 1
cf_opensc_conf 'app default { }'
yk() { ykman --reader "$READER" "$@"; }
DEF_KEY=010203040506070801020304050607080102030405060708
AES192=00112233445566778899AABBCCDDEEFF0011223344556677
AES256=F0E1D2C3B4A5968778695A4B3C2D1E0FF0E1D2C3B4A5968778695A4B3C2D1E0F
AES128=0F1E2D3C4B5A69788796A5B4C3D2E1F0
TDES2=8192A3B4C5D6E7F88192A3B4C5D6E7F88192A3B4C5D6E7F8
cf_state_snapshot 0 factory.state

# ---- finding the card --------------------------------------------------------
cf_expect_run "ykman list" 0 ykman list
cf_expect_eq "ykman list (no reader named like a YubiKey)" "" "$CF_OUT"
cf_expect_run "ykman --reader with no such reader" 1 ykman --reader "NoSuchReader" piv info
cf_expect_out "no such reader" "No YubiKey found on external reader."

cf_expect_run "piv info" 0 yk piv info
cf_expect_out "piv info" "PIV version: 5.4.3"
cf_expect_out "piv info" "PIN tries remaining: 3/3"
cf_expect_out "piv info" "WARNING: Using default Management key!"
cf_expect_out "piv info" "Management key algorithm: TDES"

# ---- AES management keys -------------------------------------------------------
cf_expect_run "change-management-key, wrong current key" 1 yk piv access change-management-key \
    -a AES192 -m "${DEF_KEY:0:46}FF" -n "$AES192" -f
cf_expect_out "wrong management key" "Authentication with management key failed."
cf_expect_state_is 0 factory.state
cf_expect_run "change-management-key to AES-192" 0 yk piv access change-management-key \
    -a AES192 -m "$DEF_KEY" -n "$AES192" -f
cf_expect_state 0 mgm_alg aes192
cf_expect_state 0 mgm_key "$AES192"
cf_expect_run "piv info, AES-192" 0 yk piv info
cf_expect_out "piv info AES-192" "Management key algorithm: AES192"
cf_expect_no_out "piv info AES-192" "Using default Management key"

# Second judge: OpenSC's 9B mutual authentication with AES-192 (P1 0A) works
# with the new key and fails with a wrong one; yubico-piv-tool 2.2.0 (3DES
# only) cannot use the card's old default key any more.
cf_unhex "$AES192" >"$CF_TMP/aes192.bin"
cf_unhex "${AES192:0:46}00" >"$CF_TMP/aes192-wrong.bin"
cf_expect_run "piv-tool -A with the AES-192 key" 0 env PIV_EXT_AUTH_KEY="$CF_TMP/aes192.bin" \
    piv-tool -r "$N" -A M:9B:0A
cf_expect_run "piv-tool -A with a wrong AES-192 key" nonzero env PIV_EXT_AUTH_KEY="$CF_TMP/aes192-wrong.bin" \
    piv-tool -r "$N" -A M:9B:0A
cf_expect_out "piv-tool wrong AES key" "admin_mode failed"
cf_expect_run "yubico-piv-tool with the old default key" 1 yubico-piv-tool -r "$READER" -a set-chuid
cf_expect_out "old default key" "Failed authentication with the application."
cf_expect_no_state 0 obj_5FC102

cf_expect_run "change-management-key AES-192 -> AES-256" 0 yk piv access change-management-key \
    -a AES256 -m "$AES192" -n "$AES256" -f
cf_expect_state 0 mgm_alg aes256
cf_expect_state 0 mgm_key "$AES256"
cf_expect_run "old AES-192 key refused" 1 yk piv access change-management-key \
    -a AES128 -m "$AES192" -n "$AES128" -f
cf_expect_state 0 mgm_key "$AES256"
cf_expect_run "change-management-key AES-256 -> AES-128" 0 yk piv access change-management-key \
    -a AES128 -m "$AES256" -n "$AES128" -f
cf_expect_state 0 mgm_alg aes128
cf_expect_state 0 mgm_key "$AES128"
cf_expect_run "change-management-key AES-128 -> 3DES" 0 yk piv access change-management-key \
    -a TDES -m "$AES128" -n "$TDES2" -f
cf_expect_state 0 mgm_alg 3des
cf_expect_state 0 mgm_key "$TDES2"
cf_expect_run "yubico-piv-tool with the 3DES key ykman set" 0 \
    yubico-piv-tool -r "$READER" --key="$TDES2" -a set-chuid
grep -q '^obj_5FC102=3019D4E739DA739CED39CE739D836858210842108421C84210C3EB' "$(cf_state_file 0)" ||
    cf_fail "no CHUID in the state file after set-chuid with ykman's 3DES key"

# ---- data objects and a certificate -----------------------------------------------
cf_expect_run "generate CCC" 0 yk piv objects generate ccc -m "$TDES2"
ccc=$(cf_state 0 obj_5FC107) || exit 1
cf_expect_run "piv info shows the CCC" 0 yk piv info
cf_expect_out "piv info CCC" "CCC: 	${ccc,,}"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CF_TMP/cert.key" -out "$CF_TMP/cert.pem" \
    -subj "/CN=ykman interop" -days 30 >/dev/null 2>&1 || cf_fail "openssl req -x509"
openssl x509 -in "$CF_TMP/cert.pem" -outform DER -out "$CF_TMP/cert.der" || cf_fail "openssl x509"
der_len=$(stat -c %s "$CF_TMP/cert.der")
((der_len > 255 && der_len < 3000)) || cf_fail "certificate of $der_len bytes"
cf_expect_run "certificates import 9c" 0 yk piv certificates import 9c "$CF_TMP/cert.pem" -m "$TDES2"
cf_expect_state 0 obj_5FC10A "$(printf '7082%04X' "$der_len")$(cf_hex_file "$CF_TMP/cert.der")710100FE00"
cf_expect_run "certificates export 9c" 0 yk piv certificates export 9c -F DER "$CF_TMP/read.der"
cmp -s "$CF_TMP/cert.der" "$CF_TMP/read.der" || cf_fail "ykman exported different certificate bytes"
cf_expect_run "certificates delete 9c" 0 yk piv certificates delete 9c -m "$TDES2"
cf_expect_no_state 0 obj_5FC10A
cf_expect_run "export a deleted certificate" 1 yk piv certificates export 9c "$CF_TMP/gone.pem"
cf_expect_out "deleted certificate" "No certificate found."

# ---- PIN, PUK, retries -------------------------------------------------------------
cf_expect_run "change-pin with a wrong PIN" 1 yk piv access change-pin -P 000000 -n 654321
cf_expect_out "wrong PIN" "PIN change failed - 2 tries left."
cf_expect_state 0 pin_tries 2
cf_expect_run "change-pin" 0 yk piv access change-pin -P 123456 -n 654321
cf_expect_state 0 pin "$(cf_hex 654321)"
cf_expect_state 0 pin_tries 3
cf_expect_run "change-puk" 0 yk piv access change-puk -p 12345678 -n 87654321
cf_expect_state 0 puk "$(cf_hex 87654321)"
cf_expect_run "unblock-pin with a wrong PUK" 1 yk piv access unblock-pin -p 00000000 -n 999999
cf_expect_out "wrong PUK" "PIN unblock failed - 2 tries left."
cf_expect_state 0 puk_tries 2
cf_expect_state 0 pin "$(cf_hex 654321)"
cf_expect_run "unblock-pin" 0 yk piv access unblock-pin -p 87654321 -n 999999
cf_expect_state 0 pin "$(cf_hex 999999)"
cf_expect_state 0 puk_tries 3

cf_expect_run "set-retries" 0 yk piv access set-retries 6 5 -m "$TDES2" -P 999999 -f
cf_expect_state 0 pin_max 6
cf_expect_state 0 pin_tries 6
cf_expect_state 0 puk_max 5
cf_expect_state 0 puk_tries 5
cf_expect_state 0 pin "$(cf_hex 123456)"
cf_expect_state 0 puk "$(cf_hex 12345678)"
cf_expect_run "piv info after set-retries" 0 yk piv info
cf_expect_out "piv info retries" "PIN tries remaining: 6/6"

# ---- PIN-protected management key (5FC109 needs the PIN; 5FFF00 flags) ---------
cf_expect_run "protect the management key" 0 yk piv access change-management-key -p -P 123456 \
    -m "$TDES2" -f
stored=$(cf_state 0 mgm_key) || exit 1
[ "$stored" != "$TDES2" ] || cf_fail "--protect kept the old management key"
cf_expect_state 0 mgm_alg 3des
cf_expect_state 0 obj_5FC109 "881A8918$stored"
cf_expect_state 0 obj_5FFF00 8003810102
cf_expect_run "piv info, protected key" 0 yk piv info
cf_expect_out "piv info protected" "Management key is stored on the YubiKey, protected by PIN."
cf_expect_run "generate CHUID with only the PIN" 0 yk piv objects generate chuid -P 123456
cf_expect_run "protected key with a wrong PIN" 1 yk piv objects generate chuid -P 000000
cf_expect_state 0 pin_tries 5

# ---- RESET: ykman blocks PIN and PUK itself -------------------------------------
cf_expect_run "piv reset" 0 yk piv reset -f
cf_expect_out "piv reset" "Success! All PIV data have been cleared"
cf_expect_state_is 0 factory.state
cf_expect_run "piv info after reset" 0 yk piv info
cf_expect_out "piv info after reset" "PIN tries remaining: 3/3"
cf_expect_out "piv info after reset" "WARNING: Using default Management key!"
cf_expect_out "piv info after reset" "CHUID:	No data available."
cf_note "ok: ykman piv info, AES/3DES management keys, objects, certificate, PIN/PUK, protected key, reset"
