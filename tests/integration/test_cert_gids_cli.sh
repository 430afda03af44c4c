# test_cert_gids_cli.sh - `cardforge cert` on a GIDS card through the real
# pcscd + vpcd. gids-tool -X initialises the card and pkcs11-tool (OpenSC
# 0.23) makes two RSA-2048 containers, as a card issued by OpenSC holds
# them; then the certificate tab, judged by pkcs15-tool / pkcs11-tool,
# openssl and the card's own state file:
#   - import of a certificate into container 1 (PIN typed at a pseudo-
#     terminal; a GIDS card wants no management key), read back by
#     pkcs15-tool byte for byte;
#   - list (text and JSON: the default container, the labels), show
#     (fingerprints as openssl's), export DER;
#   - default: the cmapfile's default flag moves to container 1, and the
#     cardcf counts the change as OpenSC does (the minidriver's cache hint);
#   - delete of the certificate (OpenSC no longer lists it, the key stays)
#     and of a container with its key (the key file is gone);
#   - refusals that leave the state file as it was: a certificate for
#     another container's key, a certificate for an empty container, a
#     wrong PIN (tries left said), a .p12 given a --slot (a new GIDS key
#     takes the first free container);
#   - a .p12 imported into the container the delete freed: pkcs15-tool
#     reads its certificate, pkcs11-tool signs with its key, openssl
#     verifies the signature with the bundle's certificate.
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
for tool in gids-tool pkcs11-tool pkcs15-tool openssl python3; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done
CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
W=$CF_TMP
PIN=123456

cf_harness_start 1 gids blank
cf_opensc_conf 'app default { }'
N0=$(cf_opensc_reader 0) || exit 1
R0=$(cf_reader_name 0)
STATE=$(cf_state_file 0)
p11() { pkcs11-tool --module "$MODULE" --slot-index 0 "$@"; }
p15() { pkcs15-tool --reader "$N0" "$@"; }
at_tty() { # NAME CMD ARGS...: the script is $W/NAME.script
    local name=$1
    shift
    cf_run python3 "$DRIVE" "$W/$name.script" -- "$@"
}
printf 'expect PIN \\(not shown\\):\nsend %s\neof\n' "$PIN" >"$W/pin.script"
printf 'expect PIN \\(not shown\\):\nsend 999999\neof\n' >"$W/wrongpin.script"
printf 'eof\n' >"$W/none.script"
cmap_flags() { # INDEX: the flags byte of the container's cmapfile record
    local c
    c=$(sed -n 's/^do=A010:DF23://p' "$STATE")
    echo "${c:$(($1 * 172 + 160)):2}"
}

cf_expect_run "gids-tool -X" 0 gids-tool -r "$N0" -X --pin "$PIN" \
    --admin-key 0102030405060708111213141516171821222324252627FF \
    --serial-number 00112233445566778899AABBCCDDEEFF
for k in 1 2; do
    cf_expect_run "keypairgen k$k" 0 p11 --login --pin "$PIN" --keypairgen --key-type rsa:2048 \
        --label "k$k" --id "0$k"
done
for id in 00 01; do
    cf_expect_run "public key $id" 0 p11 --read-object --type pubkey --id "$id" -o "$W/pub$id.der"
    openssl pkey -pubin -inform DER -in "$W/pub$id.der" -out "$W/pub$id.pem" || cf_fail "pub $id"
done
openssl req -new -x509 -newkey rsa:2048 -nodes -keyout "$W/ca.key" -subj "/CN=gids test CA" \
    -days 5 -out "$W/ca.pem" 2>/dev/null || cf_fail "CA"
openssl req -new -key "$W/ca.key" -subj /CN=placeholder -out "$W/req.csr" 2>/dev/null
for id in 00 01; do
    openssl x509 -req -in "$W/req.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" \
        -force_pubkey "$W/pub$id.pem" -subj "/CN=GIDS Holder $id" -set_serial "$((0x$id + 500))" \
        -days 5 -out "$W/cert$id.pem" 2>/dev/null || cf_fail "certificate $id"
done
cf_expect_eq "container 0 is the default after OpenSC" 03 "$(cmap_flags 0)"
cf_expect_eq "container 1 is valid" 01 "$(cmap_flags 1)"

# ---- refusals ----------------------------------------------------------------------
cf_state_snapshot 0 before
at_tty pin "$CLI" cert import --reader "$R0" --slot 1 "$W/cert00.pem"
cf_expect_eq "another container's certificate: exit status" 1 "$CF_RC"
cf_expect_out "mismatch said" "does not match the key in slot 1"
cf_expect_state_is 0 before
at_tty pin "$CLI" cert import --reader "$R0" --slot 5 "$W/cert01.pem"
cf_expect_eq "empty container: exit status" 1 "$CF_RC"
cf_expect_out "empty container said" "slot 5 holds no key"
cf_expect_state_is 0 before
openssl pkcs12 -export -inkey "$W/ca.key" -in "$W/ca.pem" -passout pass:pw-4711 -out "$W/ca.p12"
printf 'expect Password of .*ca.p12 \\(not shown\\):\nsend pw-4711\nexpect PIN \\(not shown\\):\nsend %s\neof\n' \
    "$PIN" >"$W/p12.script"
printf 'expect Password of .*ca.p12 \\(not shown\\):\nsend pw-4711\neof\n' >"$W/p12slot.script"
at_tty p12slot "$CLI" cert import --reader "$R0" --slot 1 "$W/ca.p12"
cf_expect_eq ".p12 with --slot on GIDS: exit status" 2 "$CF_RC"
cf_expect_out ".p12 with --slot on GIDS said" "puts a new key into its first free container: give no --slot"
cf_expect_state_is 0 before
at_tty wrongpin "$CLI" cert import --reader "$R0" --slot 1 "$W/cert01.pem"
cf_expect_eq "wrong PIN: exit status" 1 "$CF_RC"
cf_expect_out "wrong PIN with tries" "wrong PIN, 4 tries left"
cf_expect_run "the PIN again (counter back)" 0 p11 --login --pin "$PIN" --list-objects

# ---- import, list, show, export --------------------------------------------------
at_tty pin "$CLI" cert import --reader "$R0" --slot 1 "$W/cert01.pem"
[ "$CF_RC" = 0 ] || cf_fail "import into container 1: $CF_OUT"
cf_expect_no_out "no management key asked on GIDS" "Management key"
cf_expect_run "pkcs15-tool lists it" 0 p15 --list-certificates
cf_expect_out "pkcs15-tool: ID 01" "ID             : 01"
cf_expect_run "pkcs15-tool reads it" 0 p15 --read-certificate 01
cf_expect_eq "container 1 byte for byte" "$(openssl x509 -in "$W/cert01.pem")" "$CF_OUT"
cf_expect_run "list" 0 "$CLI" cert list --reader "$R0"
cf_expect_out "list: container 0 is the default" "container 0 \"k1\": RSA-2048, private key on card: yes, DEFAULT"
cf_expect_out "list: container 1" "container 1 \"k2\": RSA-2048, private key on card: yes"
cf_expect_out "list: subject" "subject: CN=GIDS Holder 01"
cf_expect_run "show" 0 "$CLI" cert show --reader "$R0" --slot 1
cf_expect_out "show: SHA-256 as openssl" \
    "SHA-256:            $(openssl x509 -in "$W/cert01.pem" -noout -fingerprint -sha256 | sed 's/.*=//')"
cf_expect_run "export der" 0 "$CLI" cert export --reader "$R0" --slot 1 --format der --out "$W/1.der"
openssl x509 -in "$W/cert01.pem" -outform DER -out "$W/1.ref.der"
cmp -s "$W/1.der" "$W/1.ref.der" || cf_fail "exported DER differs"

# ---- default ---------------------------------------------------------------------------
# cardcf's containers freshness (bytes 2-3, LE): the minidriver's cache hint
fresh() { local c; c=$(sed -n 's/^do=A010:DF22://p' "$STATE"); echo $((0x${c:6:2}${c:4:2})); }
before_fresh=$(fresh)
at_tty pin "$CLI" cert default --reader "$R0" --slot 1
[ "$CF_RC" = 0 ] || cf_fail "default 1: $CF_OUT"
cf_expect_eq "cardcf containers freshness counted the change" $((before_fresh + 1)) "$(fresh)"
cf_expect_eq "container 0 no longer default" 01 "$(cmap_flags 0)"
cf_expect_eq "container 1 default" 03 "$(cmap_flags 1)"
cf_expect_run "list --json" 0 "$CLI" cert list --reader "$R0" --json
python3 - "$CF_OUT" <<'EOF' || cf_fail "list --json: $CF_OUT"
import json, sys
d = json.loads(sys.argv[1])
assert d["has_default"] is True, d
by = {s["slot"]: s for s in d["slots"]}
assert by["1"]["default"] is True and by["0"]["default"] is False, by
assert by["1"]["label"] == "k2" and by["1"]["certificate"]["subject"] == "CN=GIDS Holder 01", by
assert by["0"]["certificate"] is None, by
EOF
cf_expect_run "OpenSC still binds and lists both keys" 0 p15 --list-keys
cf_expect_out "OpenSC: key k2" "k2"

# ---- delete -----------------------------------------------------------------------------
at_tty pin "$CLI" cert delete --reader "$R0" --slot 1
[ "$CF_RC" = 0 ] || cf_fail "delete 1: $CF_OUT"
cf_expect_run "pkcs15-tool after the delete" 0 p15 --list-certificates
cf_expect_no_out "no certificate 01 any more" "ID             : 01"
grep -q '^key=B082:' "$STATE" || cf_fail "the key of container 1 went with its certificate"
at_tty pin "$CLI" cert delete --reader "$R0" --slot 0 --with-key
[ "$CF_RC" = 0 ] || cf_fail "delete 0 --with-key: $CF_OUT"
! grep -q '^key=B081:' "$STATE" || cf_fail "the key of container 0 is still there"
cf_expect_eq "container 0's record zeroed" 00 "$(cmap_flags 0)"
cf_expect_run "list after the deletes" 0 "$CLI" cert list --reader "$R0"
cf_expect_no_out "container 0 gone" "container 0"
cf_expect_out "container 1 stays" "container 1 \"k2\": RSA-2048, private key on card: yes, DEFAULT"
cf_expect_run "pkcs11-tool still signs with container 1" 0 p11 --login --pin "$PIN" --sign \
    --id 01 -m SHA256-RSA-PKCS -i "$W/1.der" -o "$W/sig"

# ---- a .p12 into the freed container: key and certificate, as OpenSC sees them ----
at_tty p12 "$CLI" cert import --reader "$R0" "$W/ca.p12" --trace "$W/p12.trace"
[ "$CF_RC" = 0 ] || cf_fail "import ca.p12: $CF_OUT"
# The key went out in a chained PUT DATA: the trace shows ** where it was,
# and none of its private numbers (the first prime, as hex).
grep -q '\*\*' "$W/p12.trace" || cf_fail "the import trace redacts nothing"
prime=$(openssl rsa -in "$W/ca.key" -text -noout 2>/dev/null | sed -n '/^prime1:/,/^prime2:/p' |
    sed '1d;$d' | tr -d ' :\n' | sed 's/^00//' | tr a-f A-F)
[ ${#prime} -ge 250 ] || cf_fail "no prime from openssl"
flat=$(tr -d ' :\r\n' <"$W/p12.trace" | tr a-f A-F)
[[ $flat != *"${prime:0:32}"* ]] || cf_fail "the private key's prime is in the trace"
cf_expect_out ".p12 key into container 0" "slot 0: private key imported and proven"
cf_expect_no_out "the .p12 password is not echoed" "pw-4711"
cf_expect_run "pkcs15-tool reads the imported certificate" 0 p15 --read-certificate 00
cf_expect_eq "container 0 certificate" "$(openssl x509 -in "$W/ca.pem")" "$CF_OUT"
cf_expect_run "pkcs11-tool signs with the imported key" 0 p11 --login --pin "$PIN" --sign \
    --id 00 -m SHA256-RSA-PKCS -i "$W/1.der" -o "$W/sig0"
cf_expect_run "openssl verifies it with the .p12's certificate" 0 openssl dgst -sha256 \
    -verify <(openssl x509 -in "$W/ca.pem" -pubkey -noout) -signature "$W/sig0" "$W/1.der"
cf_note "ok: the GIDS certificate tab judged by OpenSC, openssl and the state file"
