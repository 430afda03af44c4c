# test_secret_scan.sh - secret hygiene across the commands: run every
# cardforge command that touches secrets with known, distinctive values
# (PINs, PUKs, card keys, a master key, derived keys, unblock responses, a
# .p12 password and the private key it holds, a CA's private key),
# collect everything they leave behind (stdout, stderr, APDU traces, the
# batch journal, reports, the desk commands' audit log, the card daemons'
# logs, a terminal transcript) and
# scan it for each secret as text, as hex (either case, with or without
# separators) and as the derived key's hex.
#
# Not scanned: the cards' state files (they ARE the cards, secrets included,
# mode 0600, docs/cards/) and pcscd's own debug log (pcscd -a logs every APDU
# in clear; never run a production pcscd with -a).
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
OUT="$CF_TMP/out"
mkdir -p "$OUT"

PIV_PIN=73915284
PIV_NEW_PIN=51627384
PIV_PUK=64820573
PIV_KEY=8A1B2C3D4E5F60718A1B2C3D4E5F60718A1B2C3D4E5F6071
GIDS_PIN=918273
MASTER=9F8E7D6C5B4A39281706F5E4D3C2B1A0
FACTORY_MGM=010203040506070801020304050607080102030405060708
GEMALTO=000000000000000000000000000000000000000000000000

cf_harness_start 3 yubikey,gids,yubikey default,gemalto,default

# The desk commands write an audit log; its fields are scanned with the
# rest (below), without the hashes and signatures: hex that any short
# secret could turn up in by chance.
AUDIT_LOG="$CF_TMP/desk-audit.log"
AUD=(--audit "$AUDIT_LOG" --audit-key "$CF_TMP/audit.key")
"$CLI" audit keygen --out "$CF_TMP/audit.key" >/dev/null || cf_fail "audit keygen"

KF="$CF_TMP/keys"
printf 'scan-master 1 aes128 %s\n' "$MASTER" >"$KF"
chmod 600 "$KF"

cat >"$CF_TMP/piv.ini" <<EOF
[Fields]
PIN=
[Description]
SetPIN=true
PIN=PIN
InitialPUK=#12345678
PUK=#$PIV_PUK
CardManagerKey=#$FACTORY_MGM
NewCardManagerKey=#$PIV_KEY
EOF
printf 'PIN\n%s\n' "$PIV_PIN" >"$CF_TMP/piv.csv"
cat >"$CF_TMP/gids.ini" <<EOF
[Description]
SetPIN=true
PIN=#$GIDS_PIN
CardManagerKey=#$GEMALTO
NewCardManagerKey=@derive:scan-master
InitCRKey=true
UseCardManagerKey=true
[Application_B]
BlockCard=true
EOF

run() { # NAME CMD...: run a command, keep its stdout and stderr
    local name=$1
    shift
    "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" </dev/null
}

run validate-piv "$CLI" validate "$CF_TMP/piv.ini" --batch "$CF_TMP/piv.csv" ||
    cf_fail "validate: $(cat "$OUT/validate-piv.stderr")"
run validate-gids "$CLI" validate "$CF_TMP/gids.ini" --keyfile "$KF" || cf_fail "validate gids"
run plan-piv "$CLI" plan "$CF_TMP/piv.ini" || cf_fail "plan"
run plan-gids "$CLI" plan "$CF_TMP/gids.ini" || cf_fail "plan gids"
run personalize-piv "$CLI" personalize "$CF_TMP/piv.ini" --reader "$(cf_reader_name 0)" \
    --field PIN=$PIV_PIN --trace "$OUT/trace-piv.txt" "${AUD[@]}" ||
    cf_fail "personalize piv: $(cat "$OUT/personalize-piv.stderr")"
run personalize-gids "$CLI" personalize "$CF_TMP/gids.ini" --reader "$(cf_reader_name 1)" \
    --keyfile "$KF" --trace "$OUT/trace-gids.txt" "${AUD[@]}" ||
    cf_fail "personalize gids: $(cat "$OUT/personalize-gids.stderr")"
# A failing run prints the card's state: refused because the PIN is too short.
run personalize-refused "$CLI" personalize "$CF_TMP/piv.ini" --reader "$(cf_reader_name 2)" \
    --field PIN=12 --trace "$OUT/trace-refused.txt" "${AUD[@]}" && cf_fail "a 2-digit PIV PIN was accepted"
run status-piv "$CLI" pin status --reader "$(cf_reader_name 0)" --trace "$OUT/trace-status.txt" ||
    cf_fail "pin status"
run status-gids "$CLI" pin status --reader "$(cf_reader_name 1)" || cf_fail "pin status gids"

# The PIN change through a terminal: the transcript is what a screen shows.
cat >"$CF_TMP/change.script" <<EOF
expect current PIN
send $PIV_PIN
expect new PIN \(not shown\):
send $PIV_NEW_PIN
expect new PIN again:
send $PIV_NEW_PIN
eof
EOF
python3 "$DRIVE" "$CF_TMP/change.script" -- "$CLI" pin change --reader "$(cf_reader_name 0)" \
    --trace "$OUT/trace-change.txt" "${AUD[@]}" >"$OUT/pin-change.transcript" 2>&1 ||
    cf_fail "pin change: $(cat "$OUT/pin-change.transcript")"
grep -qx "pin=$(printf %s $PIV_NEW_PIN | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
    "$(cf_state_file 0)" || cf_fail "pin change did not reach the card"

# The certificate tab: a .p12 (password and private key are secrets) into
# 9a of card 0 through a terminal, with a trace; then list, show, export.
P12_PASS=P12-Scan-Pass-6655
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CF_TMP/p12.key" \
    -subj /CN=scan-holder -days 5 -out "$CF_TMP/p12.pem" 2>/dev/null || cf_fail "p12 certificate"
openssl pkcs12 -export -inkey "$CF_TMP/p12.key" -in "$CF_TMP/p12.pem" -passout "pass:$P12_PASS" \
    -out "$CF_TMP/holder.p12" || cf_fail "openssl pkcs12"
P12_PRIV=$(openssl pkey -in "$CF_TMP/p12.key" -text -noout |
    sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n' | tr a-f A-F)
[ ${#P12_PRIV} -ge 62 ] || cf_fail "no private scalar from openssl"
cat >"$CF_TMP/cert.script" <<EOF
expect Password of .*holder.p12 \(not shown\):
send $P12_PASS
expect PIN \(not shown\):
send $PIV_NEW_PIN
expect Management key, hex \(not shown\):
send $PIV_KEY
eof
EOF
python3 "$DRIVE" "$CF_TMP/cert.script" -- "$CLI" cert import --reader "$(cf_reader_name 0)" \
    --slot 9a "$CF_TMP/holder.p12" --trace "$OUT/trace-cert.txt" "${AUD[@]}" \
    >"$OUT/cert-import.transcript" 2>&1 ||
    cf_fail "cert import: $(cat "$OUT/cert-import.transcript")"
run cert-list "$CLI" cert list --reader "$(cf_reader_name 0)" --json || cf_fail "cert list"
run cert-show "$CLI" cert show --reader "$(cf_reader_name 0)" --slot 9a || cf_fail "cert show"
run cert-export "$CLI" cert export --reader "$(cf_reader_name 0)" --slot 9a || cf_fail "cert export"
grep -q '\*\*' "$OUT/trace-cert.txt" || cf_fail "the cert import trace redacts nothing"

# The helpdesk: derived key from the key file, and a key typed on stdin.
SERIAL1=$(sed -n 's/^serial *//p' "$OUT/status-gids.stdout")
[ -n "$SERIAL1" ] || cf_fail "no serial in pin status: $(cat "$OUT/status-gids.stdout")"
run helpdesk-derived "$CLI" helpdesk response --serial "$SERIAL1" --challenge 0102030405060708 \
    --keyfile "$KF" --key scan-master "${AUD[@]}" ||
    cf_fail "helpdesk: $(cat "$OUT/helpdesk-derived.stderr")"
echo "$PIV_KEY" | "$CLI" helpdesk response --serial 1 --challenge 0102030405060708 \
    --admin-key-stdin "${AUD[@]}" >"$OUT/helpdesk-stdin.stdout" 2>"$OUT/helpdesk-stdin.stderr" ||
    cf_fail "helpdesk stdin"

# The batch line: journal, trace, progress output and reports (simulated
# readers; the same description with the PIN from the batch).
run run-sim "$CLI" run "$CF_TMP/piv.ini" --batch "$CF_TMP/piv.csv" --journal "$OUT/journal.jsonl" \
    --readers sim:1:yubikey --trace "$OUT/trace-run.txt" || cf_fail "run: $(cat "$OUT/run-sim.stderr")"
grep -q '"status":"personalized"' "$OUT/journal.jsonl" || cf_fail "the run personalized nothing"
run report "$CLI" report "$OUT/journal.jsonl" || cf_fail "report"
run report-json "$CLI" report "$OUT/journal.jsonl" --json || cf_fail "report --json"
run run-gids "$CLI" run "$CF_TMP/gids.ini" --batch "$CF_TMP/piv.csv" --journal "$OUT/journal-gids.jsonl" \
    --readers sim:1:gids:gemalto --keyfile "$KF" --trace "$OUT/trace-run-gids.txt" ||
    cf_fail "run gids: $(cat "$OUT/run-gids.stderr")"
# Certificates issued on the line (a key generated on the card, the local
# CA): the journal's certificate facts, the trace and the report; the CA's
# private key is a secret as well.
(cd "$CF_TMP" && umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout ca.key -out ca.pem -subj /CN=scan-ca -days 5 \
    -addext basicConstraints=critical,CA:TRUE 2>/dev/null) || cf_fail "test CA"
CA_PRIV=$(openssl pkey -in "$CF_TMP/ca.key" -text -noout |
    sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n' | tr a-f A-F)
[ ${#CA_PRIV} -ge 62 ] || cf_fail "no private scalar of the CA"
{
    cat "$CF_TMP/piv.ini"
    printf '[Certificate_Logon]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=scan holder\n'
    printf 'CA=local\nCACert=ca.pem\nCAKey=ca.key\n'
} >"$CF_TMP/piv-cert.ini"
run run-cert "$CLI" run "$CF_TMP/piv-cert.ini" --batch "$CF_TMP/piv.csv" \
    --journal "$OUT/journal-cert.jsonl" --readers sim:1:yubikey --trace "$OUT/trace-run-cert.txt" ||
    cf_fail "run cert: $(cat "$OUT/run-cert.stderr")"
grep -q '"certificate":{"state":"done"' "$OUT/journal-cert.jsonl" ||
    cf_fail "the certificate run issued nothing"
run report-cert "$CLI" report "$OUT/journal-cert.jsonl" || cf_fail "report cert"

# The same master key in a PKCS#11 token (SoftHSM2 made here): a run, the
# helpdesk and a refused token PIN, with the token's PINs scanned for too.
tmp="$CF_TMP/p11" build="$CF_BUILD"
mkdir -p "$tmp"
source "$CF_SOURCE/tests/integration/lib/softhsm.sh"
softhsm_setup >/dev/null
softhsm_key scan-master aes "$MASTER"
keyfile token.keys "module $P11_MODULE" "pin-file $tmp/token.pin" \
    "scan-master 1 aes128 pkcs11:token=cf-test;object=scan-master"
printf 'wrong-%s\n' "$P11_PIN" >"$tmp/wrong.pin"
chmod 600 "$tmp/wrong.pin"
keyfile wrong.keys "module $P11_MODULE" "pin-file $tmp/wrong.pin" \
    "scan-master 1 aes128 pkcs11:token=cf-test;object=scan-master"
run run-token "$CLI" run "$CF_TMP/gids.ini" --batch "$CF_TMP/piv.csv" \
    --journal "$OUT/journal-token.jsonl" --readers sim:1:gids:gemalto --keyfile "$tmp/token.keys" \
    --trace "$OUT/trace-run-token.txt" || cf_fail "run token: $(cat "$OUT/run-token.stderr")"
run helpdesk-token "$CLI" helpdesk response --serial "$SERIAL1" --challenge 0102030405060708 \
    --keyfile "$tmp/token.keys" --key scan-master "${AUD[@]}" ||
    cf_fail "helpdesk token: $(cat "$OUT/helpdesk-token.stderr")"
run helpdesk-token-wrong "$CLI" helpdesk response --serial "$SERIAL1" \
    --challenge 0102030405060708 --keyfile "$tmp/wrong.keys" --key scan-master &&
    cf_fail "a wrong token PIN was accepted"
run validate-token "$CLI" validate "$CF_TMP/gids.ini" --keyfile "$tmp/token.keys" ||
    cf_fail "validate token"

cp "$CF_TMP"/card-*.log "$OUT/" 2>/dev/null
sed 's/"prev":"[0-9A-F]*"//; s/"sig":"[0-9A-F]*"//' "$AUDIT_LOG" >"$OUT/desk-audit.fields"
# CF_SCAN_SELFTEST=1 plants a leak, to show the scan finds one.
if [ "${CF_SCAN_SELFTEST:-0}" = 1 ]; then echo "debug: pin $PIV_PUK" >"$OUT/planted.log"; fi

# ---- the scan ----
RESPONSE=$(sed -n 's/^response *\([0-9A-F ]*[0-9A-F]\) *check.*/\1/p' "$OUT/helpdesk-derived.stdout" | tr -d ' ')
[ ${#RESPONSE} -eq 16 ] || cf_fail "no response from the helpdesk"
# The card's derived admin key, computed independently (OpenSSL's KBKDF
# as docs/key-derivation.md publishes it, then 3DES odd parity), and checked
# by making the helpdesk answer the same challenge with it typed in.
NSERIAL=$(echo "$SERIAL1" | tr -d ' ' | tr a-f A-F)
raw=$(openssl kdf -keylen 24 -kdfopt mac:CMAC -kdfopt cipher:AES-128-CBC \
    -kdfopt hexkey:$MASTER -kdfopt "salt:cardforge admin key" -kdfopt "info:$NSERIAL" KBKDF |
    tr -d ':\n') || cf_fail "openssl kdf"
DERIVED=$(python3 -c '
import sys
b = bytes.fromhex(sys.argv[1])
print("".join("%02X" % ((x & 0xFE) | (bin(x >> 1).count("1") % 2 == 0)) for x in b))' "$raw")
echo "$DERIVED" | "$CLI" helpdesk response --serial 1 --challenge 0102030405060708 \
    --admin-key-stdin 2>/dev/null | grep >/dev/null "^response *$(echo "$RESPONSE" | sed 's/..../& /g; s/ $//')" ||
    cf_fail "the independently derived key does not give the helpdesk's response"
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }
grep -q "^response *$(echo "$RESPONSE" | sed 's/..../& /g; s/ $//')" "$OUT/helpdesk-token.stdout" ||
    cf_fail "the token's helpdesk response differs from the key file's"
secrets=("$PIV_PIN" "$PIV_NEW_PIN" "$PIV_PUK" "$GIDS_PIN" "$PIV_KEY" "$MASTER" "$DERIVED"
    "$P11_PIN" "$P11_SO_PIN" "$(hexof "$P11_PIN")"
    "$(hexof $PIV_PIN)" "$(hexof $PIV_NEW_PIN)" "$(hexof $PIV_PUK)" "$(hexof $GIDS_PIN)"
    "$P12_PASS" "$(hexof $P12_PASS)" "$P12_PRIV" "$CA_PRIV")
found=0
for f in "$OUT"/*; do
    flat=$(tr -d ' :\r\n-' <"$f" | tr a-f A-F)
    for s in "${secrets[@]}"; do
        if grep -qF "$s" <<<"$flat"; then
            cf_note "SECRET LEAK: $(basename "$f") contains a secret value (${#s} characters)"
            found=1
        fi
    done
done
# The derived admin key never appears: the card's trace would show it if the
# PUT DATA were not redacted. Its check value may appear; the key may not.
grep -q '\*\*' "$OUT/trace-gids.txt" || cf_fail "the gids trace redacts nothing"
[ $found -eq 0 ] || cf_fail "secrets found in the outputs (see above)"
# The audit log: every desk command above wrote its event (the refused
# personalize too), the log verifies, and the helpdesk's response (shown on
# its stdout, so not in the list above) is not in it.
cf_expect_eq "events in the desk audit log" 8 "$(grep -vc '"event":"checkpoint"' "$AUDIT_LOG")"
"$CLI" audit verify "$AUDIT_LOG" --pubkey "$CF_TMP/audit.key.pub" >/dev/null ||
    cf_fail "the desk audit log does not verify"
grep -q '"event":"personalize".*"outcome":"refused"' "$AUDIT_LOG" ||
    cf_fail "the refused personalize is not in the audit log: $(cat "$AUDIT_LOG")"
tr -d ' :\r\n-' <"$OUT/desk-audit.fields" | grep -qF "$RESPONSE" &&
    cf_fail "the helpdesk's response is in the audit log"
cf_note "ok: $(ls "$OUT" | wc -l) outputs scanned for ${#secrets[@]} secret forms, none found"
