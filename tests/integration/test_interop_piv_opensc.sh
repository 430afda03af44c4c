# test_interop_piv_opensc.sh - OpenSC 0.23 (Debian 12) operates a `piv`
# card through the real pcscd: opensc-tool names it, pkcs11-tool (the
# opensc-pkcs11 module) lists the token, logs in, changes the PIN, blocks
# it and unlocks it with the PUK (RESET RETRY COUNTER, which needs
# user_pin_unblock_style = set_pin_in_unlogged_session; the default
# configuration sends CHANGE REFERENCE DATA instead, which a blocked PIN
# refuses), piv-tool writes a certificate that pkcs11-tool reads back, and
# C_GenerateRandom works. Every step checks the client's exit status, its
# output and the card's state file (keys: docs/cards/piv.md).
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -f "$MODULE" ] || cf_fail "$MODULE missing: install opensc-pkcs11 (scripts/setup.sh)"
for tool in pkcs11-tool piv-tool openssl; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done

cf_harness_start 1 yubikey
N=$(cf_opensc_reader 0) || exit 1
p11() { pkcs11-tool --module "$MODULE" --slot-index "$N" "$@"; }
# OpenSC's own configuration, explicitly: a host's /etc/opensc.conf must
# not change what this test sees.
cf_opensc_conf 'app default { }'

cf_expect_run "opensc-tool -n" 0 opensc-tool -r "$N" -n
cf_expect_eq "card name" "Personal Identity Verification Card" "$CF_OUT"

cf_expect_run "pkcs11-tool -L" 0 pkcs11-tool --module "$MODULE" -L
cf_expect_out "-L" "Slot 0 (0x0): $(cf_reader_name 0)"
cf_expect_out "-L" "token label        : PIV_II"
cf_expect_out "-L" "pin min/max        : 4/8"
cf_expect_out "-L" "token flags        : login required, rng, token initialized, PIN initialized"
cf_expect_no_out "-L" "user PIN locked"

# ---- C_Login ---------------------------------------------------------------
cf_expect_run "list objects without login" 0 p11 -O
cf_expect_no_out "objects without login" "Cardholder Fingerprints"
cf_expect_run "login" 0 p11 --login --pin 123456 -O
# PIN-protected objects are listed only to a logged-in session.
cf_expect_out "objects after login" "Cardholder Fingerprints"
cf_expect_state 0 pin_tries 3
cf_expect_run "login with a wrong PIN" 1 p11 --login --pin 123450 -O
cf_expect_out "wrong PIN" "CKR_PIN_INCORRECT"
cf_expect_state 0 pin_tries 2
cf_expect_run "login refills the counter" 0 p11 --login --pin 123456 -O
cf_expect_state 0 pin_tries 3

# ---- C_SetPIN in a user session (CHANGE REFERENCE DATA) --------------------
cf_expect_run "change-pin with a wrong old PIN" 1 p11 --change-pin --pin 111111 --new-pin 24681357
cf_expect_out "change-pin wrong old" "CKR_PIN_INCORRECT"
cf_expect_state 0 pin "$(cf_hex 123456)"
cf_expect_state 0 pin_tries 2
cf_expect_run "change-pin" 0 p11 --change-pin --pin 123456 --new-pin 24681357
cf_expect_out "change-pin" "PIN successfully changed"
cf_expect_state 0 pin "$(cf_hex 24681357)"
cf_expect_state 0 pin_tries 3
cf_expect_run "login with the old PIN" 1 p11 --login --pin 123456 -O
cf_expect_run "login with the new PIN" 0 p11 --login --pin 24681357 -O
cf_expect_state 0 pin_tries 3

# ---- block the PIN ---------------------------------------------------------
for left in 2 1 0; do
    cf_expect_run "wrong PIN ($left left)" 1 p11 --login --pin 000000 -O
    cf_expect_out "wrong PIN ($left left)" "CKR_PIN_INCORRECT"
    cf_expect_state 0 pin_tries "$left"
done
cf_expect_run "right PIN, blocked" 1 p11 --login --pin 24681357 -O
cf_expect_out "blocked PIN" "CKR_PIN_LOCKED"
cf_expect_state 0 pin_tries 0
cf_expect_run "-L with a blocked PIN" 0 pkcs11-tool --module "$MODULE" -L
cf_expect_out "-L blocked" "user PIN locked"

# ---- unlock with the PUK ---------------------------------------------------
# Default configuration: OpenSC sends CHANGE REFERENCE DATA with the PUK as
# the old PIN; the blocked PIN refuses it and no PUK try is spent.
cf_expect_run "unlock-pin, default configuration" 1 p11 --unlock-pin --puk 12345678 --new-pin 112233
cf_expect_out "unlock-pin default" "CKR_PIN_LOCKED"
cf_expect_state 0 puk_tries 3
cf_expect_state 0 pin "$(cf_hex 24681357)"
cf_expect_state 0 pin_tries 0

cf_opensc_conf 'app opensc-pkcs11 { pkcs11 { user_pin_unblock_style = set_pin_in_unlogged_session; } }'
cf_expect_run "unlock-pin with a wrong PUK" 1 p11 --unlock-pin --puk 12345670 --new-pin 112233
cf_expect_out "unlock-pin wrong PUK" "CKR_PIN_INCORRECT"
cf_expect_state 0 puk_tries 2
cf_expect_state 0 pin "$(cf_hex 24681357)"
cf_expect_state 0 pin_tries 0
cf_expect_run "unlock-pin" 0 p11 --unlock-pin --puk 12345678 --new-pin 112233
cf_expect_out "unlock-pin" "PIN successfully changed"
cf_expect_state 0 pin "$(cf_hex 112233)"
cf_expect_state 0 pin_tries 3
cf_expect_state 0 puk_tries 3
cf_expect_state 0 puk "$(cf_hex 12345678)"
cf_expect_run "login after unlock" 0 p11 --login --pin 112233 -O
cf_expect_run "-L after unlock" 0 pkcs11-tool --module "$MODULE" -L
cf_expect_no_out "-L after unlock" "user PIN locked"

# ---- certificate: piv-tool writes (9B mutual auth, chained PUT DATA),
# pkcs11-tool reads -----------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CF_TMP/cert.key" -out "$CF_TMP/cert.pem" \
    -subj "/CN=opensc interop" -days 30 >/dev/null 2>&1 || cf_fail "openssl req -x509"
openssl x509 -in "$CF_TMP/cert.pem" -outform DER -out "$CF_TMP/cert.der" || cf_fail "openssl x509"
der_len=$(stat -c %s "$CF_TMP/cert.der")
((der_len > 255 && der_len < 3000)) || cf_fail "certificate of $der_len bytes"
der_hex=$(cf_hex_file "$CF_TMP/cert.der")
# piv-tool reads the key from PIV_EXT_AUTH_KEY (binary, key-sized).
cf_unhex 010203040506070801020304050607080102030405060708 >"$CF_TMP/mgm.bin"
cf_unhex 0102030405060708010203040506070801020304050607FF >"$CF_TMP/wrong.bin"

cf_expect_run "piv-tool with a wrong key" nonzero env PIV_EXT_AUTH_KEY="$CF_TMP/wrong.bin" \
    piv-tool -r "$N" -A M:9B:03 -C 9A -i "$CF_TMP/cert.pem"
# -1211: SC_ERROR_SECURITY_STATUS_NOT_SATISFIED, the card's 6982.
cf_expect_out "piv-tool wrong key" "admin_mode failed -1211"
cf_expect_no_state 0 obj_5FC105
# piv-tool -C exits with sc_write_binary's byte count (mod 256), not 0 on
# success: the state file and pkcs11-tool are the judges here.
cf_run env PIV_EXT_AUTH_KEY="$CF_TMP/mgm.bin" piv-tool -r "$N" -A M:9B:03 -C 9A -i "$CF_TMP/cert.pem"
cf_expect_no_out "piv-tool -C" "failed"
cf_expect_state 0 obj_5FC105 "$(printf '7082%04X' "$der_len")${der_hex}710100FE00"
cf_expect_run "-L with a certificate" 0 pkcs11-tool --module "$MODULE" -L
cf_expect_out "token label from the certificate" "token label        : opensc interop"
cf_expect_run "read the certificate" 0 p11 --read-object --type cert --id 01 -o "$CF_TMP/read.der"
cmp -s "$CF_TMP/cert.der" "$CF_TMP/read.der" || cf_fail "pkcs11-tool read back different certificate bytes"

# ---- C_GenerateRandom (GENERAL AUTHENTICATE, challenge form) ---------------
cf_expect_run "generate-random" 0 p11 --generate-random 16 -o "$CF_TMP/random.bin"
cf_expect_eq "random bytes" 16 "$(stat -c %s "$CF_TMP/random.bin")"
cf_expect_run "generate-random again" 0 p11 --generate-random 16 -o "$CF_TMP/random2.bin"
! cmp -s "$CF_TMP/random.bin" "$CF_TMP/random2.bin" || cf_fail "two C_GenerateRandom calls gave equal bytes"
cf_note "ok: opensc-tool, pkcs11-tool login/change/unlock, piv-tool certificate, random"
