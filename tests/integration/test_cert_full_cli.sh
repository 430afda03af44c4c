# test_cert_full_cli.sh - `cardforge cert import` on a card that is full,
# with the management key taken from a key file:
#   - the YubiKey's management key is set (yubico-piv-tool set-mgm-key) to
#     the key derived from a master key for the card's serial, computed
#     independently with openssl kdf as docs/key-derivation.md publishes it;
#     `cardforge cert import --keyfile F --key NAME` authenticates with it
#     (no management-key prompt), so the derivation is the published one;
#   - the card answers PUT DATA with 6A84 (cardforge-vcard --fault-sw):
#     the import says the card is full, exits 1, and the card holds no
#     certificate (yubico-piv-tool finds none, the state file is as before).
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

for tool in yubico-piv-tool ykman openssl python3; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done
CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
W=$CF_TMP
MASTER=2B7E151628AED2A6ABF7158809CF4F3C

cf_harness_readers 1
cf_card_start 0 --type yubikey --serial 4242 --state "$(cf_state_file 0)" --fault-sw DB:6A84
cf_wait_card 0
R0=$(cf_reader_name 0)
ypt0() { yubico-piv-tool -r "$R0" "$@"; }

# The derived management key (3DES, odd parity), computed outside cardforge.
raw=$(openssl kdf -keylen 24 -kdfopt mac:CMAC -kdfopt cipher:AES-128-CBC \
    -kdfopt hexkey:$MASTER -kdfopt "salt:cardforge admin key" -kdfopt "info:4242" KBKDF |
    tr -d ':\n') || cf_fail "openssl kdf"
DERIVED=$(python3 -c '
import sys
b = bytes.fromhex(sys.argv[1])
print("".join("%02X" % ((x & 0xFE) | (bin(x >> 1).count("1") % 2 == 0)) for x in b))' "$raw")
cf_expect_run "set the derived management key" 0 ypt0 -a set-mgm-key -n "$DERIVED"
printf 'desk-master 1 aes128 %s\n' "$MASTER" >"$W/keys"
chmod 600 "$W/keys"

cf_expect_run "generate 9a" 0 ypt0 --key="$DERIVED" -a generate -s 9a -A ECCP256 -o "$W/9a.pub"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
    -out "$W/ca.pem" -subj "/CN=full test CA" -days 5 2>/dev/null || cf_fail "CA"
openssl req -new -key "$W/ca.key" -subj /CN=x -out "$W/x.csr" 2>/dev/null
openssl x509 -req -in "$W/x.csr" -force_pubkey "$W/9a.pub" -CA "$W/ca.pem" -CAkey "$W/ca.key" \
    -set_serial 9 -subj "/CN=Full Card" -days 5 -out "$W/9a.pem" 2>/dev/null || cf_fail "cert"

cf_state_snapshot 0 before
printf 'expect PIN \\(not shown\\):\nsend 123456\neof\n' >"$W/pin.script"
cf_run python3 "$DRIVE" "$W/pin.script" -- "$CLI" cert import --reader "$R0" --slot 9a \
    --keyfile "$W/keys" --key desk-master:1 "$W/9a.pem"
cf_expect_eq "full card: exit status" 1 "$CF_RC"
cf_expect_no_out "no management-key prompt with --keyfile" "Management key"
cf_expect_out "full card said" "the card is full (6A84 not enough memory): delete a certificate or a key first"
cf_expect_run "no certificate in 9a" nonzero ypt0 -a read-certificate -s 9a
cf_expect_state_is 0 before

# A wrong master key: the derived key is refused by the card (not the PIN).
printf 'desk-master 1 aes128 %s\n' 000102030405060708090A0B0C0D0E0F >"$W/wrong"
chmod 600 "$W/wrong"
cf_run python3 "$DRIVE" "$W/pin.script" -- "$CLI" cert import --reader "$R0" --slot 9a \
    --keyfile "$W/wrong" --key desk-master "$W/9a.pem"
cf_expect_eq "wrong master key: exit status" 1 "$CF_RC"
cf_expect_out "wrong management key said" "management key: admin key authentication: wrong admin key"
cf_expect_state_is 0 before
cf_note "ok: full card and derived management key"
