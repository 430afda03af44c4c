# test_gids_keys_pcsc.sh - container keys and certificates on a `gids` card,
# written and used by OpenSC 0.23 (Debian 12) through the real pcscd + vpcd.
# The card starts `blank` and gids-tool -X initialises it, as in
# test_interop_gids.sh. Then pkcs11-tool generates an RSA 2048 key pair on
# the card, openssl makes a certificate for the public key pkcs11-tool reads
# back, pkcs11-tool writes it, and pkcs15-tool lists it and reads it back
# byte for byte; pkcs11-tool signs (SHA256-RSA-PKCS, verified by openssl
# dgst -verify with the public key and with the certificate), decrypts what
# openssl encrypted, and imports a key openssl made, which then signs too.
# A wrong PIN is refused and no private-key operation reaches the card
# (pcscd's APDU log). The card's state file judges as well: the key it
# holds is the one the clients saw, the certificate DO is the minidriver's
# 01 00 <length> <zlib> form of the DER (docs/cards/gids.md), and the card
# restarted from it still has the certificate and signs with the same key.
# Deleting the imported key removes its key file (DELETE FILE), and the next
# key generated takes its container.
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -f "$MODULE" ] || cf_fail "$MODULE missing: install opensc-pkcs11 (scripts/setup.sh)"
for tool in gids-tool pkcs11-tool pkcs15-tool openssl python3; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done

cf_harness_start 1 gids blank
cf_opensc_conf 'app default { }'
N0=$(cf_opensc_reader 0) || exit 1
STATE=$(cf_state_file 0)
PIN=123456
p11() { pkcs11-tool --module "$MODULE" --slot-index 0 "$@"; }
p15() { pkcs15-tool --reader "$N0" "$@"; }
# PSO and MSE-for-a-key APDUs pcscd has seen so far (its log has every APDU).
key_apdus() { grep -cE 'APDU: (00|10) (2A|22 41) ' "$CF_TMP/pcscd.log"; }
# The public key (PEM) of the key=FID line of the state file.
state_pub() {
    local der
    der=$(sed -n "s/^key=$1://p" "$STATE")
    [ -n "$der" ] || cf_fail "state file: no key=$1 line"
    cf_unhex "$der" | openssl rsa -inform DER -pubout 2>/dev/null
}
W=$CF_TMP/work
mkdir -p "$W"

cf_expect_run "gids-tool -X" 0 gids-tool -r "$N0" -X --pin "$PIN" \
    --admin-key 0102030405060708111213141516171821222324252627FF \
    --serial-number 00112233445566778899AABBCCDDEEFF
cf_expect_no_out "gids-tool -X" "failed"
cf_expect_state 0 initialized 1

# ---- on-card generation ------------------------------------------------------
cf_expect_run "keypairgen rsa:2048" 0 p11 --login --pin "$PIN" --keypairgen \
    --key-type rsa:2048 --label k1 --id 01
cf_expect_out "keypairgen" "Public Key Object; RSA 2048 bits"
grep -q '^ef=B081:1:6247820118' "$STATE" || cf_fail "state file: no activated key file B081"
grep -q '^key=B081:' "$STATE" || cf_fail "state file: no key for B081"
# The container map names it: one 86-byte record, valid (flags 03: valid + default).
cmap=$(sed -n 's/^do=A010:DF23://p' "$STATE")
cf_expect_eq "cmapfile length (hex digits)" 172 "${#cmap}"
cf_expect_eq "cmapfile record flags" 03 "${cmap:160:2}"

# The emulator numbers keys by container: ID 00 from now on.
cf_expect_run "read the public key" 0 p11 --read-object --type pubkey --id 00 -o "$W/pub.der"
openssl pkey -pubin -inform DER -in "$W/pub.der" -out "$W/pub.pem" ||
    cf_fail "pkcs11-tool's public key is not a DER public key"
cf_run openssl pkey -pubin -in "$W/pub.pem" -text -noout
cf_expect_out "public key size" "Public-Key: (2048 bit)"
cf_expect_eq "public key = the state file's key" "$(cat "$W/pub.pem")" "$(state_pub B081)"

# ---- a certificate for it ---------------------------------------------------
openssl req -new -x509 -newkey rsa:2048 -nodes -keyout "$W/ca.key" -subj /CN=cardforge-test-ca \
    -days 2 -out "$W/ca.pem" 2>/dev/null || cf_fail "openssl: no CA"
openssl req -new -key "$W/ca.key" -subj /CN=gids-user -out "$W/user.csr" 2>/dev/null ||
    cf_fail "openssl: no request"
openssl x509 -req -in "$W/user.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -force_pubkey "$W/pub.pem" \
    -days 2 -outform DER -out "$W/cert.der" 2>/dev/null || cf_fail "openssl: no certificate"
cf_expect_run "write the certificate" 0 p11 --login --pin "$PIN" --write-object "$W/cert.der" \
    --type cert --id 00 --label k1
cf_expect_run "pkcs15-tool --list-certificates" 0 p15 --list-certificates
cf_expect_out "list-certificates" "X.509 Certificate [k1]"
cf_expect_out "list-certificates ID" "ID             : 00"
cf_expect_run "pkcs15-tool --read-certificate" 0 p15 --read-certificate 00
printf '%s\n' "$CF_OUT" | openssl x509 -outform DER -out "$W/back.der" ||
    cf_fail "read-certificate gave no certificate"
cmp -s "$W/cert.der" "$W/back.der" || cf_fail "certificate read back differs from the one written"
cf_expect_eq "read-certificate PEM" "$(openssl x509 -inform DER -in "$W/cert.der")" "$CF_OUT"
# On the card: the masterfile names mscp/kxc00 (a key-exchange container's
# certificate) in EF A010, DO DF24; the DO holds 01 00 <length LE> <zlib>.
mf=$(sed -n 's/^do=A000:DF1F://p' "$STATE")
[[ $mf == *"$(cf_hex mscp)0000000000$(cf_hex kxc00)00000000000024DF000010A00000"* ]] ||
    cf_fail "masterfile has no mscp/kxc00 record for DO DF24 in A010"
certdo=$(sed -n 's/^do=A010:DF24://p' "$STATE")
len=$(stat -c %s "$W/cert.der")
cf_expect_eq "certificate DO header" "0100$(printf '%02X%02X' $((len & 255)) $((len >> 8)))" \
    "${certdo:0:8}"
cf_unhex "${certdo:8}" | python3 -c 'import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))' \
    >"$W/state-cert.der" || cf_fail "certificate DO is not zlib data"
cmp -s "$W/cert.der" "$W/state-cert.der" || cf_fail "certificate DO does not inflate to the DER"

cf_expect_run "pkcs15-tool --list-keys" 0 p15 --list-keys
cf_expect_out "list-keys" "Private RSA Key [k1]"
cf_expect_out "list-keys size" "ModLength      : 2048"
cf_expect_out "list-keys ref" "Key ref        : 129 (0x81)"
cf_expect_out "list-keys usage" "decrypt, sign"

# ---- signing and decryption -------------------------------------------------
printf 'signed on a virtual GIDS card\n' >"$W/data.txt"
cf_expect_run "sign SHA256-RSA-PKCS" 0 p11 --login --pin "$PIN" --sign --mechanism SHA256-RSA-PKCS \
    --id 00 -i "$W/data.txt" -o "$W/sig.bin"
cf_expect_run "openssl verifies with the public key" 0 openssl dgst -sha256 -verify "$W/pub.pem" \
    -signature "$W/sig.bin" "$W/data.txt"
cf_expect_out "verify" "Verified OK"
openssl x509 -inform DER -in "$W/cert.der" -pubkey -noout >"$W/certpub.pem"
cf_expect_run "openssl verifies with the certificate's key" 0 openssl dgst -sha256 \
    -verify "$W/certpub.pem" -signature "$W/sig.bin" "$W/data.txt"
printf 'tampered\n' >"$W/other.txt"
cf_expect_run "a signature of other data" 1 openssl dgst -sha256 -verify "$W/pub.pem" \
    -signature "$W/sig.bin" "$W/other.txt"

openssl pkeyutl -encrypt -pubin -inkey "$W/pub.pem" -in "$W/data.txt" -out "$W/enc.bin" ||
    cf_fail "openssl pkeyutl -encrypt failed"
cf_expect_run "decrypt RSA-PKCS" 0 p11 --login --pin "$PIN" --decrypt --mechanism RSA-PKCS \
    --id 00 -i "$W/enc.bin" -o "$W/dec.txt"
cmp -s "$W/data.txt" "$W/dec.txt" || cf_fail "decrypted text differs"

# ---- a wrong PIN: refused, the key is not used -------------------------------
before=$(key_apdus)
cf_expect_run "sign with a wrong PIN" 1 p11 --login --pin 999999 --sign \
    --mechanism SHA256-RSA-PKCS --id 00 -i "$W/data.txt" -o "$W/sig2.bin"
cf_expect_out "wrong PIN" "CKR_PIN_INCORRECT"
cf_expect_eq "MSE/PSO APDUs after a wrong PIN" "$before" "$(key_apdus)"
cf_expect_state 0 pin_tries 4
cf_expect_run "sign after the wrong PIN" 0 p11 --login --pin "$PIN" --sign \
    --mechanism SHA256-RSA-PKCS --id 00 -i "$W/data.txt" -o "$W/sig3.bin"
cf_expect_state 0 pin_tries 5
# PKCS#1 v1.5 signatures are deterministic: the same key signs the same bytes.
cmp -s "$W/sig.bin" "$W/sig3.bin" || cf_fail "the second signature differs from the first"

# ---- import a key made by openssl ---------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/imp.pem" 2>/dev/null ||
    cf_fail "openssl: no key to import"
openssl rsa -in "$W/imp.pem" -outform DER -out "$W/imp.der" 2>/dev/null
openssl pkey -in "$W/imp.pem" -pubout -out "$W/imp-pub.pem"
cf_expect_run "import a private key" 0 p11 --login --pin "$PIN" --write-object "$W/imp.der" \
    --type privkey --id 02 --label imp
cf_expect_eq "imported key = the state file's B082 key" "$(cat "$W/imp-pub.pem")" \
    "$(state_pub B082)"
cf_expect_run "list after import" 0 p11 --login --pin "$PIN" -O
cf_expect_out "imported key listed" "label:      imp"$'\n'"  ID:         01"
cf_expect_run "sign with the imported key" 0 p11 --login --pin "$PIN" --sign \
    --mechanism SHA256-RSA-PKCS --id 01 -i "$W/data.txt" -o "$W/sig-imp.bin"
cf_expect_run "openssl verifies the imported key's signature" 0 openssl dgst -sha256 \
    -verify "$W/imp-pub.pem" -signature "$W/sig-imp.bin" "$W/data.txt"
cf_expect_eq "state file mode" 600 "$(stat -c %a "$STATE")"

# ---- the card comes back from its state file with its keys and certificate ----
cf_card_stop 0
cf_card_start 0 --state "$STATE"
cf_wait_card 0
cf_expect_run "read-certificate after a restart" 0 p15 --read-certificate 00
cf_expect_eq "certificate after a restart" "$(openssl x509 -inform DER -in "$W/cert.der")" "$CF_OUT"
cf_expect_run "sign after a restart" 0 p11 --login --pin "$PIN" --sign \
    --mechanism SHA256-RSA-PKCS --id 00 -i "$W/data.txt" -o "$W/sig4.bin"
cmp -s "$W/sig.bin" "$W/sig4.bin" || cf_fail "the restarted card signs with another key"

# ---- delete the imported key: SELECT B082 + DELETE FILE, then map updates -----
cf_expect_run "delete the imported key" 0 p11 --login --pin "$PIN" --delete-object \
    --type privkey --id 01
grep -q '^ef=B082:' "$STATE" && cf_fail "state file: key file B082 still there after the delete"
grep -q '^key=B082:' "$STATE" && cf_fail "state file: key B082 still there after the delete"
cf_expect_run "list after the delete" 0 p11 --login --pin "$PIN" -O
cf_expect_no_out "imported key gone" "label:      imp"
cf_expect_out "first key kept" "label:      k1"
# The freed container is used again by the next key.
cf_expect_run "keypairgen into the freed container" 0 p11 --login --pin "$PIN" --keypairgen \
    --key-type rsa:2048 --label k3 --id 03
grep -q '^key=B082:' "$STATE" || cf_fail "state file: the new key is not in container 1 (B082)"
cf_note "ok: gids keypairgen, certificate write/list/read, sign, decrypt, import, delete through OpenSC 0.23"
