# test_cert_cli.sh - `cardforge cert` (the certificate tab) on the PIV
# virtual cards through the real pcscd + vpcd, every result judged by
# clients nobody here wrote: yubico-piv-tool read-certificate, ykman piv
# info, pkcs15-tool / pkcs11-tool (OpenSC) and openssl.
#   - import of a CA-issued .pem into 9a (PIN and management key typed at a
#     pseudo-terminal), read back byte for byte by yubico-piv-tool;
#   - list (text and JSON) and show: subject, issuer, dates, key algorithm,
#     the key on the card, fingerprints equal to openssl's;
#   - export DER (mode 0600) and PEM byte for byte equal to openssl's;
#   - import of an openssl .p12 (password typed without echo) into 9c with
#     PIN policy always: ykman sees the key and the certificate; a legacy
#     (RC2-40) .pfx and a .cer into 9d;
#   - refusals that leave the card's state file exactly as it was: damaged
#     DER, a wrong .p12 password, a .p12 without a key, an expired
#     certificate (accepted with --force), a certificate for another key,
#     a wrong PIN (with the tries the card said are left), a PIN with one
#     try left (not even asked);
#   - delete (the key stays), default (PIV has none: refused, said);
#   - the standard `piv` card: a certificate for a key only a signature can
#     prove, seen by pkcs15-tool and pkcs11-tool.
# Card 0 is a `yubikey`, card 1 a standard `piv`.
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
for tool in yubico-piv-tool ykman pkcs11-tool pkcs15-tool openssl python3; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done
CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
DEF_KEY=010203040506070801020304050607080102030405060708
W=$CF_TMP

cf_harness_start 2 yubikey,piv
R0=$(cf_reader_name 0)
R1=$(cf_reader_name 1)
N1=$(cf_opensc_reader 1) || exit 1
cf_opensc_conf 'app default { }'
ypt0() { yubico-piv-tool -r "$R0" "$@"; }
ypt1() { yubico-piv-tool -r "$R1" "$@"; }

# A terminal session: SCRIPT lines (expect/send) then the command.
at_tty() { # NAME CMD ARGS...: the script is $W/NAME.script
    local name=$1
    shift
    cf_run python3 "$DRIVE" "$W/$name.script" -- "$@"
}
pin_and_key() { # NAME [PIN]: a script typing the PIN and the management key
    printf 'expect PIN \\(not shown\\):\nsend %s\nexpect Management key, hex \\(not shown\\):\nsend %s\neof\n' \
        "${2:-123456}" "$DEF_KEY" >"$W/$1.script"
}
# The state file without the PIN counter (a wrong PIN spends a try: that is
# the card saying so, not a change the command made).
state_core() { grep -v '^pin_tries=' "$(cf_state_file "$1")"; }

# ---- the test CA and the keys ---------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
    -out "$W/ca.pem" -subj "/CN=cardforge cert CA" -days 30 2>/dev/null || cf_fail "CA"
cat >"$W/ca.cnf" <<EOF
[ca]
default_ca = test
[test]
database = $W/index.txt
new_certs_dir = $W
serial = $W/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
: >"$W/index.txt"
echo 1000 >"$W/serial"
# issue CSR OUT START END: the test CA signs with these dates
issue() {
    openssl ca -batch -config "$W/ca.cnf" -cert "$W/ca.pem" -keyfile "$W/ca.key" -in "$1" \
        -out "$2" -startdate "$3" -enddate "$4" -notext >/dev/null 2>&1 || cf_fail "openssl ca: $2"
}

cf_expect_run "generate 9a" 0 ypt0 -a generate -s 9a -A ECCP256 -o "$W/9a.pub"
cf_expect_run "ykman makes a CSR with 9a" 0 ykman --reader "$R0" piv certificates request \
    -P 123456 -s 'CN=Card Holder 9a' 9a "$W/9a.pub" "$W/9a.csr"
issue "$W/9a.csr" "$W/9a.pem" 20240101000000Z 20991231000000Z
issue "$W/9a.csr" "$W/9a-old.pem" 20200101000000Z 20210101000000Z
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/other.key" \
    -subj "/CN=Somebody Else" -out "$W/other.csr" 2>/dev/null || cf_fail "other CSR"
issue "$W/other.csr" "$W/other.pem" 20240101000000Z 20991231000000Z

# ---- import a .pem into 9a ----------------------------------------------------
pin_and_key imp9a
at_tty imp9a "$CLI" cert import --reader "$R0" --slot 9a "$W/9a.pem"
[ "$CF_RC" = 0 ] || cf_fail "import 9a.pem exited $CF_RC: $CF_OUT"
cf_expect_out "import said so" "slot 9a: certificate written and read back"
cf_expect_run "yubico-piv-tool reads 9a" 0 ypt0 -a read-certificate -s 9a -o "$W/9a.read.pem"
cf_expect_eq "9a byte for byte" "$(openssl x509 -in "$W/9a.pem" -outform DER | od -An -tx1)" \
    "$(openssl x509 -in "$W/9a.read.pem" -outform DER | od -An -tx1)"

# ---- list, show, export --------------------------------------------------------
cf_expect_run "list" 0 "$CLI" cert list --reader "$R0"
cf_expect_out "list: slot line" "slot 9a: ECC P-256, private key on card: yes"
cf_expect_out "list: subject" "subject: CN=Card Holder 9a"
cf_expect_out "list: issuer" "issuer:  CN=cardforge cert CA"
cf_expect_out "list: validity" "valid:   2024-01-01T00:00:00Z to 2099-12-31T00:00:00Z (valid)"
cf_expect_run "list --json" 0 "$CLI" cert list --reader "$R0" --json
python3 - "$CF_OUT" <<'EOF' || cf_fail "list --json: $CF_OUT"
import json, sys
d = json.loads(sys.argv[1])
assert d["card_type"] == "piv-yubikey" and d["has_default"] is False, d
s = [x for x in d["slots"] if x["slot"] == "9a"][0]
assert s["private_key_on_card"] is True and s["default"] is None, s
assert s["key_algorithm"] == "ECC P-256", s
c = s["certificate"]
assert c["subject"] == "CN=Card Holder 9a" and c["issuer"] == "CN=cardforge cert CA", c
assert c["not_after"] == "2099-12-31T00:00:00Z" and c["validity"] == "valid", c
EOF
cf_expect_run "show" 0 "$CLI" cert show --reader "$R0" --slot 9a
sha256=$(openssl x509 -in "$W/9a.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
sha1=$(openssl x509 -in "$W/9a.pem" -noout -fingerprint -sha1 | sed 's/.*=//')
serial=$(openssl x509 -in "$W/9a.pem" -noout -serial | sed 's/.*=//')
cf_expect_out "show: SHA-256 as openssl" "SHA-256:            $sha256"
cf_expect_out "show: SHA-1 as openssl" "SHA-1:              $sha1"
cf_expect_out "show: serial as openssl" "serial:             $serial"
cf_expect_out "show: key" "key:                ECC P-256 (256 bits)"
cf_expect_run "show --json" 0 "$CLI" cert show --reader "$R0" --slot 9a --json
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["sha256"]==sys.argv[2], d' \
    "$CF_OUT" "$sha256" || cf_fail "show --json: $CF_OUT"

cf_expect_run "export der" 0 "$CLI" cert export --reader "$R0" --slot 9a --format der --out "$W/9a.der"
[ "$(stat -c %a "$W/9a.der")" = 600 ] || cf_fail "export is not mode 0600"
openssl x509 -in "$W/9a.pem" -outform DER -out "$W/9a.ref.der"
cmp -s "$W/9a.der" "$W/9a.ref.der" || cf_fail "exported DER differs from openssl's"
cf_expect_run "export pem to stdout" 0 "$CLI" cert export --reader "$R0" --slot 9a
cf_expect_eq "exported PEM" "$(openssl x509 -in "$W/9a.pem")" "$CF_OUT"
cf_expect_run "export der to a terminal is refused" 2 "$CLI" cert export --reader "$R0" --slot 9a --format der
cf_expect_run "show of an empty slot" 1 "$CLI" cert show --reader "$R0" --slot 9e
cf_expect_out "empty slot said" "slot 9e has no certificate"

# ---- refusals that change nothing ----------------------------------------------
printf 'eof\n' >"$W/none.script" # refused before any prompt
cf_state_snapshot 0 before-bad
head -c 200 "$W/9a.ref.der" >"$W/damaged.der"
at_tty none "$CLI" cert import --reader "$R0" --slot 9a "$W/damaged.der"
cf_expect_eq "damaged DER: exit status" 2 "$CF_RC"
cf_expect_out "damaged DER said" "not a certificate (DER or PEM), or damaged"
cf_expect_state_is 0 before-bad

at_tty none "$CLI" cert import --reader "$R0" --slot 9a "$W/9a-old.pem"
cf_expect_eq "expired: exit status" 1 "$CF_RC"
cf_expect_out "expired said" "the certificate is expired (valid 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z)"
cf_expect_out "expired: how to force" "use --force"
cf_expect_state_is 0 before-bad

at_tty imp9a "$CLI" cert import --reader "$R0" --slot 9a "$W/other.pem"
cf_expect_eq "another key's certificate: exit status" 1 "$CF_RC"
cf_expect_out "mismatch said" "does not match the key in slot 9a"
cf_expect_state_is 0 before-bad

pin_and_key wrongpin 654321
at_tty wrongpin "$CLI" cert import --reader "$R0" --slot 9a "$W/9a.pem"
cf_expect_eq "wrong PIN: exit status" 1 "$CF_RC"
cf_expect_out "wrong PIN with tries" "wrong PIN, 2 tries left"
cf_expect_eq "wrong PIN: nothing but the counter changed" "$(grep -v '^pin_tries=' "$W/before-bad")" "$(state_core 0)"
cf_expect_state 0 pin_tries 2
# One try left: no PIN attempt is made (the card-safety rule), none asked.
cf_expect_run "another wrong PIN (yubico-piv-tool)" nonzero ypt0 -a verify-pin -P 111111
cf_expect_state 0 pin_tries 1
at_tty none "$CLI" cert import --reader "$R0" --slot 9a "$W/9a.pem"
cf_expect_eq "last PIN try: exit status" 1 "$CF_RC"
cf_expect_out "last PIN try said" "the PIN has 1 try left"
cf_expect_no_out "no PIN asked with one try left" "PIN (not shown)"
cf_expect_state 0 pin_tries 1
cf_expect_run "the PIN again (counter back)" 0 ypt0 -a verify-pin -P 123456
cf_state_snapshot 0 before-bad

# expired with --force: imported, warned
at_tty imp9a "$CLI" cert import --reader "$R0" --slot 9a --force "$W/9a-old.pem"
[ "$CF_RC" = 0 ] || cf_fail "import --force exited $CF_RC: $CF_OUT"
cf_expect_out "forced import warns" "warning: the certificate is expired"
cf_expect_run "yubico-piv-tool reads the forced one" 0 ypt0 -a read-certificate -s 9a -o "$W/9a.forced.pem"
cf_expect_eq "forced certificate" "$(openssl x509 -in "$W/9a-old.pem" -outform DER | od -An -tx1)" \
    "$(openssl x509 -in "$W/9a.forced.pem" -outform DER | od -An -tx1)"
at_tty imp9a "$CLI" cert import --reader "$R0" --slot 9a "$W/9a.pem"
[ "$CF_RC" = 0 ] || cf_fail "re-import 9a: $CF_OUT"

# ---- PKCS#12 into 9c ---------------------------------------------------------------
P12PASS='pfx-Secret-81'
openssl req -new -newkey rsa:2048 -nodes -keyout "$W/p12.key" -subj "/CN=Holder Signature" \
    -out "$W/p12.csr" 2>/dev/null || cf_fail "p12 CSR"
issue "$W/p12.csr" "$W/p12.pem" 20240101000000Z 20991231000000Z
openssl pkcs12 -export -inkey "$W/p12.key" -in "$W/p12.pem" -passout "pass:$P12PASS" \
    -out "$W/holder.p12" || cf_fail "openssl pkcs12"
openssl pkcs12 -export -nokeys -in "$W/p12.pem" -passout "pass:$P12PASS" -out "$W/nokey.p12" ||
    cf_fail "openssl pkcs12 -nokeys"
cf_state_snapshot 0 before-p12
printf 'expect Password of .*holder.p12 \\(not shown\\):\nsend wrong-password\neof\n' >"$W/p12bad.script"
at_tty p12bad "$CLI" cert import --reader "$R0" --slot 9c "$W/holder.p12"
cf_expect_eq "wrong .p12 password: exit status" 1 "$CF_RC"
cf_expect_out "wrong password said" "wrong password (or a damaged file); nothing was sent"
cf_expect_no_out "the typed password is not echoed" "wrong-password"
cf_expect_state_is 0 before-p12
printf 'expect Password of .*nokey.p12 \\(not shown\\):\nsend %s\neof\n' "$P12PASS" >"$W/p12nokey.script"
at_tty p12nokey "$CLI" cert import --reader "$R0" --slot 9c "$W/nokey.p12"
cf_expect_eq ".p12 without a key: exit status" 1 "$CF_RC"
cf_expect_out "no key said" "holds no private key"
cf_expect_state_is 0 before-p12

printf 'expect Password of .*holder.p12 \\(not shown\\):\nsend %s\nexpect PIN \\(not shown\\):\nsend 123456\nexpect Management key, hex \\(not shown\\):\nsend %s\neof\n' \
    "$P12PASS" "$DEF_KEY" >"$W/p12.script"
at_tty p12 "$CLI" cert import --reader "$R0" --slot 9c --pin-policy always "$W/holder.p12"
[ "$CF_RC" = 0 ] || cf_fail "import holder.p12 exited $CF_RC: $CF_OUT"
cf_expect_no_out "the .p12 password is not echoed" "$P12PASS"
cf_expect_out "key imported" "slot 9c: private key imported and proven"
[[ $(cf_state 0 key_9C) == "rsa2048 always "*" imported "* ]] ||
    cf_fail "key_9C line: $(cf_state 0 key_9C | cut -c1-40)"
cf_expect_run "ykman piv info" 0 ykman --reader "$R0" piv info
cf_expect_out "ykman sees 9c's certificate" "CN=Holder Signature"
cf_expect_out "ykman sees 9a's certificate" "CN=Card Holder 9a"
cf_expect_run "yubico-piv-tool reads 9c" 0 ypt0 -a read-certificate -s 9c -o "$W/9c.read.pem"
cf_expect_eq "9c byte for byte" "$(openssl x509 -in "$W/p12.pem" -outform DER | od -An -tx1)" \
    "$(openssl x509 -in "$W/9c.read.pem" -outform DER | od -An -tx1)"
cf_expect_run "the imported key signs (test-signature)" 0 ypt0 -a verify-pin -P 123456 \
    -a test-signature -s 9c -A RSA2048 -i "$W/p12.pem"

# A bundle as older Windows exports them (RC2-40, `openssl pkcs12 -legacy`),
# and a .cer (DER) next to it: into 9d.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$W/leg.key" \
    -subj "/CN=Legacy Export" -out "$W/leg.csr" 2>/dev/null || cf_fail "legacy CSR"
issue "$W/leg.csr" "$W/leg.pem" 20240101000000Z 20991231000000Z
openssl pkcs12 -export -legacy -inkey "$W/leg.key" -in "$W/leg.pem" -passout "pass:$P12PASS" \
    -out "$W/legacy.pfx" 2>/dev/null || cf_fail "openssl pkcs12 -legacy"
sed "s/holder.p12/legacy.pfx/" "$W/p12.script" >"$W/leg.script"
at_tty leg "$CLI" cert import --reader "$R0" --slot 9d "$W/legacy.pfx"
[ "$CF_RC" = 0 ] || cf_fail "import legacy.pfx exited $CF_RC: $CF_OUT"
[[ $(cf_state 0 key_9D) == "eccp384 "*" imported "* ]] ||
    cf_fail "key_9D line: $(cf_state 0 key_9D | cut -c1-40)"
openssl x509 -in "$W/leg.pem" -outform DER -out "$W/leg.cer"
at_tty imp9a "$CLI" cert import --reader "$R0" --slot 9d "$W/leg.cer"
[ "$CF_RC" = 0 ] || cf_fail "import leg.cer exited $CF_RC: $CF_OUT"
cf_expect_run "yubico-piv-tool reads 9d" 0 ypt0 -a read-certificate -s 9d -o "$W/9d.read.pem"
cf_expect_eq "9d byte for byte" "$(od -An -tx1 "$W/leg.cer")" \
    "$(openssl x509 -in "$W/9d.read.pem" -outform DER | od -An -tx1)"

# ---- delete and default -------------------------------------------------------------
pin_and_key del
at_tty del "$CLI" cert delete --reader "$R0" --slot 9c
[ "$CF_RC" = 0 ] || cf_fail "delete 9c: $CF_OUT"
cf_expect_run "yubico-piv-tool finds no 9c certificate" nonzero ypt0 -a read-certificate -s 9c
[[ $(cf_state 0 key_9C) == "rsa2048 "* ]] || cf_fail "the 9c key went with the certificate"
# A certificate written compressed (CertInfo 01, gzip, as a YubiKey tool
# with --compress stores it; Debian's ykman has no such option, so
# yubico-piv-tool writes the object) is read inflated.
openssl x509 -in "$W/p12.pem" -outform DER | python3 -c '
import gzip, sys
z = gzip.compress(sys.stdin.buffer.read())
L = lambda n: bytes([n]) if n < 128 else (bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255]))
sys.stdout.buffer.write(b"\x70" + L(len(z)) + z + b"\x71\x01\x01\xfe\x00")' >"$W/9e.obj"
cf_expect_run "yubico-piv-tool writes a compressed certificate object for 9e" 0 ypt0 \
    --key="$DEF_KEY" -a write-object --id $((0x5FC101)) -f binary -i "$W/9e.obj"
[[ $(cf_state 0 obj_5FC101) == *"710101FE00"* ]] || cf_fail "obj_5FC101 is not the compressed object"
cf_expect_run "show of the compressed certificate" 0 "$CLI" cert show --reader "$R0" --slot 9e
cf_expect_out "compressed: SHA-256 of the DER" \
    "SHA-256:            $(openssl x509 -in "$W/p12.pem" -noout -fingerprint -sha256 | sed 's/.*=//')"
cf_expect_run "list" 0 "$CLI" cert list --reader "$R0"
cf_expect_out "list: 9e with no key" "slot 9e: RSA-2048, private key on card: no"
cf_expect_run "delete --with-key on PIV: refused before any prompt" 1 \
    python3 "$DRIVE" /dev/null -- "$CLI" cert delete --reader "$R0" --slot 9a --with-key
cf_expect_out "delete --with-key said" "has no command that deletes a key"
cf_state_snapshot 0 before-default
at_tty none "$CLI" cert default --reader "$R0" --slot 9a
cf_expect_eq "default on PIV: exit status" 1 "$CF_RC"
cf_expect_out "default on PIV said" "a PIV card has no default container"
cf_expect_no_out "no PIN asked for a refusal" "PIN (not shown)"
cf_expect_state_is 0 before-default

# ---- the standard piv card: 9c proven by a signature ----------------------------------
cf_expect_run "generate 9c on piv" 0 ypt1 -a generate -s 9c -A ECCP256 -o "$W/p9c.pub"
openssl req -new -key "$W/other.key" -subj "/CN=placeholder" -out "$W/p9c.req" 2>/dev/null
cat >"$W/p9c.ext" <<'EOF'
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = clientAuth, msSmartcardLogin, emailProtection
subjectAltName = email:signer@corp.example, otherName:msUPN;UTF8:signer@corp.example
EOF
# a certificate for the card's key: the CA signs a CSR made with another key,
# with the card's public key forced in
openssl x509 -req -in "$W/p9c.req" -force_pubkey "$W/p9c.pub" -CA "$W/ca.pem" -CAkey "$W/ca.key" \
    -set_serial 77 -subj "/CN=PIV Signer" -days 30 -extfile "$W/p9c.ext" -out "$W/p9c.pem" 2>/dev/null ||
    cf_fail "certificate for the piv card's key"
cf_state_snapshot 1 before-piv
at_tty imp9a "$CLI" cert import --reader "$R1" --slot 9c "$W/other.pem"
cf_expect_eq "piv: another key's certificate: exit status" 1 "$CF_RC"
cf_expect_out "piv: mismatch found by a signature" "a signature by the slot's key does not verify"
cf_expect_state_is 1 before-piv
at_tty imp9a "$CLI" cert import --reader "$R1" --slot 9c "$W/p9c.pem"
[ "$CF_RC" = 0 ] || cf_fail "piv import 9c: $CF_OUT"
cf_expect_run "list on piv" 0 "$CLI" cert list --reader "$R1"
cf_expect_out "piv list: key unknown" "slot 9c: ECC P-256, private key on card: unknown"
cf_expect_run "pkcs15-tool lists the certificate" 0 pkcs15-tool --reader "$N1" --list-certificates
cf_expect_out "pkcs15-tool: our certificate (serial 77)" "Encoded serial : 02 01 4D"
cf_expect_run "pkcs11-tool lists the objects" 0 pkcs11-tool --module "$MODULE" --slot-index "$N1" --list-objects
cf_expect_out "pkcs11-tool: certificate object" "Certificate Object"
cf_expect_run "pkcs15-tool reads it" 0 pkcs15-tool --reader "$N1" --read-certificate 02 -o "$W/p9c.p15.pem"
cf_expect_eq "piv 9c byte for byte" "$(openssl x509 -in "$W/p9c.pem" -outform DER | od -An -tx1)" \
    "$(openssl x509 -in "$W/p9c.p15.pem" -outform DER | od -An -tx1)"
# show names what openssl names: key usage, extended key usage, the UPN
cf_expect_run "show on piv" 0 "$CLI" cert show --reader "$R1" --slot 9c
cf_expect_out "show: key usage" "key usage:          digitalSignature, nonRepudiation"
cf_expect_out "show: extended key usage" \
    "extended key usage: TLS Web Client Authentication, Microsoft Smartcard Login, E-mail Protection"
cf_expect_out "show: SAN with the UPN" \
    "subject alt names:  email:signer@corp.example, UPN:signer@corp.example"
cf_expect_out "show: ECC key" "key:                ECC P-256 (256 bits)"
cf_note "ok: import, list, show, export, delete, default and every refusal judged on yubikey and piv"
