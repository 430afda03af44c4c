# test_piv_keys_pcsc.sh - keys and certificates on the PIV virtual cards,
# judged through the real pcscd + vpcd by clients nobody here wrote:
# yubico-piv-tool 2.2.0 generates (P-256, RSA-2048), imports a certificate
# a test CA made with openssl and reads it back byte for byte, checks a
# card signature against it (test-signature), imports a PKCS#12 key and
# certificate and deletes the certificate; ykman makes the CSR and the
# self-signed certificate with the card's key (Debian's yubico-piv-tool
# 2.2.0 cannot: with OpenSSL 3 its request-certificate and
# selfsign-certificate fail before sending any APDU, "Failed signing
# request."), generates, imports a P-384 key into a retired slot, exports
# public keys (from GET METADATA when the slot has no certificate) and
# attests, and openssl verifies the attestation
# chain up to the card's test attestation CA (`cardforge-vcard
# --attestation-ca`); pkcs11-tool (OpenSC) signs with the card and openssl
# verifies the signature against the certificate; a wrong PIN is refused
# without the key being used.
# Card 0 is a `yubikey`, card 1 the standard `piv` card. Every step checks
# the exit status, the output where there is one, and the card's state file
# (docs/cards/piv.md, "State file keys").
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -f "$MODULE" ] || cf_fail "$MODULE missing: install opensc-pkcs11 (scripts/setup.sh)"
for tool in yubico-piv-tool ykman pkcs11-tool openssl; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done

cf_harness_start 2 yubikey,piv
R0=$(cf_reader_name 0)
R1=$(cf_reader_name 1)
N0=$(cf_opensc_reader 0) || exit 1
N1=$(cf_opensc_reader 1) || exit 1
cf_opensc_conf 'app default { }'
W=$CF_TMP
ypt0() { yubico-piv-tool -r "$R0" "$@"; }
ypt1() { yubico-piv-tool -r "$R1" "$@"; }
p11() { pkcs11-tool --module "$MODULE" --slot-index "$1" "${@:2}"; }

# DER of a PEM certificate, as upper-case hex
cert_hex() { openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }

# The test CA that signs the cards' CSRs.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
    -out "$W/ca.pem" -subj "/CN=cardforge test issuing CA" -days 30 2>/dev/null ||
    cf_fail "openssl could not make the test CA"
printf 'a message the card signs\n' >"$W/msg"

# ---- yubikey: P-256 in 9a, CSR, certificate from the test CA ----------------
cf_expect_run "generate 9a without the management key" 1 ypt0 --key=0102030405060708010203040506070801020304050607FF -a generate -s 9a -A ECCP256
cf_expect_no_state 0 key_9A
cf_expect_run "generate 9a ECCP256" 0 ypt0 -a generate -s 9a -A ECCP256 -o "$W/9a.pub"
[[ $(cf_state 0 key_9A) == "eccp256 once never generated "* ]] ||
    cf_fail "key_9A line: $(cf_state 0 key_9A | cut -c1-40)"
cf_expect_run "the public key is a P-256 key" 0 openssl pkey -pubin -in "$W/9a.pub" -noout -text
cf_expect_out "P-256 public key" "NIST CURVE: P-256"
[ "$(stat -c %a "$(cf_state_file 0)")" = 600 ] || cf_fail "state file is not mode 0600"

DEF_KEY=010203040506070801020304050607080102030405060708
yk() { ykman --reader "$R0" "$@"; }
cf_expect_run "ykman makes a CSR with the card's 9a key" 0 yk piv certificates request \
    -P 123456 -s 'CN=cardforge 9a' 9a "$W/9a.pub" "$W/9a.csr"
cf_expect_run "the CSR's signature (made by the card) verifies" 0 openssl req -in "$W/9a.csr" -verify -noout
cf_expect_out "CSR verify" "verify OK"
cf_expect_run "the test CA signs the CSR" 0 openssl x509 -req -in "$W/9a.csr" -CA "$W/ca.pem" \
    -CAkey "$W/ca.key" -CAcreateserial -out "$W/9a.pem" -days 5
cf_expect_run "import-certificate 9a" 0 ypt0 -a import-certificate -s 9a -i "$W/9a.pem"
[[ $(cf_state 0 obj_5FC105) == *"$(cert_hex "$W/9a.pem")"* ]] ||
    cf_fail "obj_5FC105 does not hold the certificate's DER"
cf_expect_run "read-certificate 9a" 0 ypt0 -a read-certificate -s 9a -o "$W/9a.read.pem"
cf_expect_eq "certificate read back byte for byte" "$(cert_hex "$W/9a.pem")" "$(cert_hex "$W/9a.read.pem")"
cf_expect_run "test-signature 9a" 0 ypt0 -a verify-pin -P 123456 -a test-signature -s 9a -A ECCP256 -i "$W/9a.pem"

# ---- a signature through OpenSC, verified by openssl ------------------------
cf_expect_run "pkcs11-tool signs with 9a" 0 p11 "$N0" --login --pin 123456 --sign \
    --id 01 -m ECDSA-SHA256 --signature-format openssl -i "$W/msg" -o "$W/msg.sig"
openssl x509 -in "$W/9a.pem" -pubkey -noout >"$W/9a.cert.pub"
cf_expect_run "openssl verifies the card's ECDSA signature" 0 openssl dgst -sha256 \
    -verify "$W/9a.cert.pub" -signature "$W/msg.sig" "$W/msg"
cf_expect_out "ECDSA verify" "Verified OK"

# ---- a wrong PIN is refused without using the key ---------------------------
cf_card_pull 0 && cf_card_insert 0 # a fresh session: OpenSC left the PIN verified
cf_state_snapshot 0 before-wrong-pin.state
rm -f "$W/bad.sig"
cf_expect_run "pkcs11-tool with a wrong PIN" nonzero p11 "$N0" --login --pin 999999 --sign \
    --id 01 -m ECDSA-SHA256 -i "$W/msg" -o "$W/bad.sig"
[ ! -s "$W/bad.sig" ] || cf_fail "a signature came out with a wrong PIN"
cf_expect_state 0 pin_tries 2
d=$(diff <(grep -v '^pin_tries=' "$W/before-wrong-pin.state") \
    <(grep -v '^pin_tries=' "$(cf_state_file 0)")) ||
    cf_fail "a wrong PIN changed more than the PIN counter:"$'\n'"$d"
cf_expect_run "the right PIN refills the counter" 0 ypt0 -a verify-pin -P 123456
cf_expect_state 0 pin_tries 3

# ---- RSA-2048 in 9c, self-signed --------------------------------------------
cf_expect_run "generate 9c RSA2048" 0 ypt0 -a generate -s 9c -A RSA2048 -o "$W/9c.pub"
[[ $(cf_state 0 key_9C) == "rsa2048 always never generated "* ]] || cf_fail "key_9C line"
cf_expect_run "ykman self-signs a certificate with 9c" 0 yk piv certificates generate \
    -m "$DEF_KEY" -P 123456 -s 'CN=cardforge 9c' 9c "$W/9c.pub"
[[ $(cf_state 0 obj_5FC10A) == 70* ]] || cf_fail "obj_5FC10A holds no certificate"
cf_expect_run "read-certificate 9c" 0 ypt0 -a read-certificate -s 9c -o "$W/9c.pem"
cf_expect_run "the self-signed certificate (RSA signature by the card) verifies" 0 \
    openssl verify -CAfile "$W/9c.pem" "$W/9c.pem"
cf_expect_run "the certificate holds the generated key" 0 openssl x509 -in "$W/9c.pem" -noout -pubkey
cf_expect_eq "9c certificate key = generated key" "$(openssl pkey -pubin -in "$W/9c.pub")" "$CF_OUT"
cf_expect_run "9c without a PIN just before: refused" 1 ypt0 -a test-signature -s 9c -i "$W/9c.pem"
cf_expect_run "test-signature 9c after verify-pin" 0 ypt0 -a verify-pin -P 123456 \
    -a test-signature -s 9c -i "$W/9c.pem"

# ---- attestation (ykman), chain verified by openssl -------------------------
cf_expect_run "ykman generates 9e" 0 yk piv keys generate -m "$DEF_KEY" -a ECCP384 9e "$W/9e.pub"
[[ $(cf_state 0 key_9E) == "eccp384 never never generated "* ]] || cf_fail "key_9E line"
cf_expect_run "ykman attests 9e" 0 yk piv keys attest 9e "$W/9e.att.pem"
cf_expect_run "attestation subject" 0 openssl x509 -in "$W/9e.att.pem" -noout -subject
cf_expect_out "attestation subject" "YubiKey PIV Attestation 9e"
cf_expect_run "the attestation certifies the generated key" 0 openssl x509 -in "$W/9e.att.pem" -noout -pubkey
cf_expect_eq "attested key = generated key" "$(openssl pkey -pubin -in "$W/9e.pub")" "$CF_OUT"
cf_expect_run "read the F9 certificate" 0 ypt0 -a read-certificate -s f9 -o "$W/f9.pem"
"$CF_VCARD" --attestation-ca >"$W/att-ca.pem" || cf_fail "cardforge-vcard --attestation-ca failed"
cf_expect_run "openssl verifies the attestation chain" 0 openssl verify -CAfile "$W/att-ca.pem" \
    -untrusted "$W/f9.pem" "$W/9e.att.pem"
cf_expect_out "attestation chain" "OK"
cf_expect_run "yubico-piv-tool attests 9a" 0 ypt0 -a attest -s 9a -A ECCP256 -o "$W/9a.att.pem"
cf_expect_run "openssl verifies the second attestation" 0 openssl verify -CAfile "$W/att-ca.pem" \
    -untrusted "$W/f9.pem" "$W/9a.att.pem"

# ---- ykman: import into a retired slot, metadata, export --------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$W/r82.key" 2>/dev/null ||
    cf_fail "openssl genpkey P-384"
openssl pkey -in "$W/r82.key" -pubout -out "$W/r82.pub"
cf_expect_run "ykman imports a P-384 key into 82" 0 yk piv keys import -m "$DEF_KEY" \
    --pin-policy NEVER --touch-policy CACHED 82 "$W/r82.key"
[[ $(cf_state 0 key_82) == "eccp384 never cached imported "* ]] || cf_fail "key_82 line"
# without a certificate ykman takes the public key from GET METADATA
cf_expect_run "ykman exports 82's public key" 0 yk piv keys export 82 "$W/r82.export.pub"
cf_expect_eq "exported = imported public key" "$(cat "$W/r82.pub")" "$(cat "$W/r82.export.pub")"
cf_expect_run "ykman exports 9a's public key, checking it with a signature" 0 yk piv keys \
    export --verify -P 123456 9a "$W/9a.export.pub"
cf_expect_run "ykman self-signs with the imported key" 0 yk piv certificates generate \
    -m "$DEF_KEY" -P 123456 -s 'CN=cardforge 82' 82 "$W/r82.pub"
cf_expect_run "read-certificate 82" 0 ypt0 -a read-certificate -s 82 -o "$W/r82.pem"
cf_expect_run "openssl verifies the P-384 signature" 0 openssl verify -CAfile "$W/r82.pem" "$W/r82.pem"
cf_expect_run "an imported key cannot be attested (ykman)" 1 yk piv keys attest 82 "$W/r82.att.pem"

# ---- PKCS#12: import key and certificate, sign, delete ----------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/p12.key" -out "$W/p12.pem" \
    -subj "/CN=cardforge p12" -days 5 2>/dev/null || cf_fail "openssl req for the p12"
openssl pkcs12 -export -inkey "$W/p12.key" -in "$W/p12.pem" -out "$W/k.p12" \
    -passout pass:p12pass || cf_fail "openssl pkcs12 -export"
cf_expect_run "import-key + import-certificate from PKCS#12" 0 ypt0 -a import-key \
    -a import-certificate -s 9d -K PKCS12 -i "$W/k.p12" -p p12pass
[[ $(cf_state 0 key_9D) == "rsa2048 once never imported "* ]] || cf_fail "key_9D line"
openssl x509 -in "$W/p12.pem" -pubkey -noout >"$W/p12.cert.pub"
[[ $(cf_state 0 obj_5FC10B) == *"$(cert_hex "$W/p12.pem")"* ]] || cf_fail "obj_5FC10B"
# OpenSC gives the key management key (9D, id 03) the usages encrypt,
# decrypt, wrap, unwrap only (no signing: docs/cards/piv.md), so OpenSC
# judges the imported key by decrypting what openssl encrypted to the
# certificate, and yubico-piv-tool checks a card signature against the
# certificate and a card decryption of its own encryption.
cf_expect_run "test-signature with the imported key" 0 ypt0 -a verify-pin -P 123456 \
    -a test-signature -s 9d -i "$W/p12.pem"
cf_expect_out "test-signature 9d" "Successful"
cf_expect_run "test-decipher with the imported key" 0 ypt0 -a verify-pin -P 123456 \
    -a test-decipher -s 9d -i "$W/p12.pem"
cf_expect_out "test-decipher 9d" "Successfully"
printf 'a session key' >"$W/secret"
cf_expect_run "openssl encrypts to the imported certificate" 0 openssl pkeyutl -encrypt \
    -pubin -inkey "$W/p12.cert.pub" -in "$W/secret" -out "$W/secret.enc"
cf_expect_run "pkcs11-tool decrypts with the imported key" 0 p11 "$N0" --login --pin 123456 \
    --decrypt --id 03 -m RSA-PKCS -i "$W/secret.enc" -o "$W/secret.dec"
cf_expect_eq "the card's decryption" "$(cf_hex_file "$W/secret")" "$(cf_hex_file "$W/secret.dec")"
cf_expect_run "an imported key cannot be attested" 1 ypt0 -a attest -s 9d
cf_expect_run "delete-certificate 9d" 0 ypt0 -a delete-certificate -s 9d
cf_expect_no_state 0 obj_5FC10B
cf_expect_run "read-certificate 9d after delete" 1 ypt0 -a read-certificate -s 9d
[[ $(cf_state 0 key_9D) == "rsa2048 once never imported "* ]] ||
    cf_fail "deleting the certificate must keep the key"

# ---- the standard piv card --------------------------------------------------
cf_expect_run "piv: generate 9a ECCP256" 0 ypt1 -a generate -s 9a -A ECCP256 -o "$W/p9a.pub"
[[ $(cf_state 1 key_9A) == "eccp256 once never generated "* ]] || cf_fail "piv key_9A line"
cf_expect_run "piv: the test CA certifies the key" 0 openssl x509 -new -subj "/CN=cardforge piv" \
    -force_pubkey "$W/p9a.pub" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 5 \
    -out "$W/p9a.pem"
cf_expect_run "piv: import-certificate 9a" 0 ypt1 -a import-certificate -s 9a -i "$W/p9a.pem"
cf_expect_run "piv: read-certificate 9a" 0 ypt1 -a read-certificate -s 9a -o "$W/p9a.read.pem"
cf_expect_eq "piv: certificate byte for byte" "$(cert_hex "$W/p9a.pem")" "$(cert_hex "$W/p9a.read.pem")"
cf_expect_run "piv: pkcs11-tool signs with 9a" 0 p11 "$N1" --login --pin 123456 --sign \
    --id 01 -m ECDSA-SHA256 --signature-format openssl -i "$W/msg" -o "$W/p9a.sig"
cf_expect_run "piv: openssl verifies the card's signature" 0 openssl dgst -sha256 \
    -verify "$W/p9a.pub" -signature "$W/p9a.sig" "$W/msg"
cf_expect_run "piv: no retired keys on a standard card" 1 ypt1 -a generate -s 82 -A ECCP256
cf_expect_no_state 1 key_82
cf_expect_run "piv: no attestation on a standard card" 1 ypt1 -a attest -s 9a

cf_note "keys: generated, imported, used, attested and deleted as the clients expect"
