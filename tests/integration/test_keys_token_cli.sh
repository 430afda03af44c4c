#!/usr/bin/env bash
# The cardforge commands that take --keyfile, unchanged, with the master
# keys in a PKCS#11 token (SoftHSM2 made here): a batch on 2 and on 16
# simulated GIDS readers derives the same admin keys as with the key file
# (each card's key check value in the journal); `helpdesk response`
# gives the same answers from the token as from the file; key versions side
# by side, one in the file and one in the token: new cards get the version
# the description names or the newest (each card judged by its key check
# value against the key file's key, computed by openssl), and the helpdesk
# finds each card's
# version in the journal (--journal) without a try spent on the card.
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
: >"$tmp/all"
. "$src/tests/integration/lib/softhsm.sh"

# run EXPECTED_STATUS ARGS... ; output in $tmp/out
run() {
  local want=$1; shift
  local rc=0
  "$cf" "$@" >"$tmp/out" 2>&1 || rc=$?
  cat "$tmp/out" >>"$tmp/all"
  [ "$rc" -eq "$want" ] || fail "cardforge $*: exit $rc, expected $want: $(cat "$tmp/out")"
}
expect() { grep -q -- "$1" "$tmp/out" || fail "output lacks '$1': $(cat "$tmp/out")"; }

M1=000102030405060708090A0B0C0D0E0F
M2=F0E1D2C3B4A5968778695A4B3C2D1E0F000102030405060708090A0B0C0D0E0F
softhsm_setup
softhsm_key admin-v1 aes $M1
softhsm_key admin-v2 aes $M2

keyfile file.keys "bureau-admin 1 aes128 $M1" "bureau-admin 2 aes256 $M2"
keyfile token.keys "module $P11_MODULE" "pin-file $tmp/token.pin" \
  "bureau-admin 1 aes128 pkcs11:token=cf-test;object=admin-v1" \
  "bureau-admin 2 aes256 pkcs11:token=cf-test;object=admin-v2"
# the changeover: version 1 still in the file, version 2 only in the token
keyfile mixed.keys "module $P11_MODULE" "pin-file $tmp/token.pin" \
  "bureau-admin 1 aes128 $M1" \
  "bureau-admin 2 aes256 pkcs11:token=cf-test;object=admin-v2"

sample="$src/samples/gids-derived-keys"
sed 's/^NewCardManagerKey=@derive:bureau-admin$/NewCardManagerKey=@derive:bureau-admin:1/' \
  "$sample/description.ini" >"$tmp/v1.ini"
grep -q '^NewCardManagerKey=@derive:bureau-admin:1$' "$tmp/v1.ini" || fail "cannot pin version 1"
{ echo "ID,NAME"; for i in $(seq 1 48); do echo "$((7000 + i)),Card $i"; done; } >"$tmp/batch.csv"

# batch NAME DESC KEYFILE READERS: a run on fresh simulated cards
batch() {
  run 0 run "$2" --batch "$tmp/batch.csv" --journal "$tmp/$1.jsonl" \
    --readers "sim:$4:gids:gemalto" --profile gids-gemalto --keyfile "$3"
  expect "48 of 48 records personalized"
}
# kcvs NAME: "serial master version kcv" of each card's admin key, sorted
kcvs() {
  python3 - "$tmp/$1.jsonl" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") != "card" or r.get("status") != "personalized":
        continue
    for s in r["steps"]:
        if s["step"] == "rotate-admin-key":
            rows.append("%s %s %s %s" % (r["serial"], s["master_key"], s["master_key_version"], s["kcv"]))
for row in sorted(rows):
    print(row)
PY
}

# judge NAME VERSION: every card of journal NAME has the admin key of
# master key version VERSION as the key file derives it: its kcv is the one
# openssl computes (3DES-ECB of a zero block, first 3 bytes) for that key
judge() {
  kcvs "$1" >"$tmp/$1.kcv"
  [ "$(wc -l <"$tmp/$1.kcv")" -eq 48 ] || fail "$1: 48 admin keys expected in the journal"
  local serial master version kcv key want
  while read -r serial master version kcv; do
    [ "$master $version" = "bureau-admin $2" ] || fail "$1: $serial got $master $version"
    key=$("$build/tests/keys_derive" "$tmp/file.keys" bureau-admin "$2" admin "$serial" 3des | head -1)
    want=$(head -c 8 /dev/zero | openssl enc -des-ede3 -K "$key" -nopad | xxd -p -u | cut -c1-6)
    [ "$kcv" = "$want" ] || fail "$1: card $serial has kcv $kcv, the key file gives $want"
  done <"$tmp/$1.kcv"
}

batch file-v1 "$tmp/v1.ini" "$tmp/file.keys" 2
judge file-v1 1
[ "$(cut -d' ' -f4 "$tmp/file-v1.kcv" | sort -u | wc -l)" -eq 48 ] || fail "admin keys repeat"
batch token-v1 "$tmp/v1.ini" "$tmp/token.keys" 2
judge token-v1 1
batch token16-v1 "$tmp/v1.ini" "$tmp/token.keys" 16
judge token16-v1 1

# new cards get the newest version: 2, from the token in the mixed file
batch mixed-new "$sample/description.ini" "$tmp/mixed.keys" 4
judge mixed-new 2
# ... and the version the description names: 1, from the file in the mixed file
batch mixed-v1 "$tmp/v1.ini" "$tmp/mixed.keys" 4
judge mixed-v1 1

# --- the helpdesk: the same answers from the token as from the file ------
serial=$(head -1 "$tmp/mixed-v1.kcv" | cut -d' ' -f1)
ch=0102030405060708
answer() { grep '^response' "$tmp/out"; }
run 0 helpdesk response --serial "$serial" --challenge $ch --keyfile "$tmp/file.keys" \
  --key bureau-admin --key-version 1
want_v1=$(answer)
run 0 helpdesk response --serial "$serial" --challenge $ch --keyfile "$tmp/token.keys" \
  --key bureau-admin --key-version 1
[ "$(answer)" = "$want_v1" ] || fail "helpdesk: token $(answer) != file $want_v1"
expect "derived from master key 'bureau-admin' version 1 (3des, in the token)"
run 0 helpdesk response --serial "$serial" --challenge $ch --keyfile "$tmp/file.keys" \
  --key bureau-admin --key-version 2
want_v2=$(answer)
[ "$want_v1" != "$want_v2" ] || fail "versions 1 and 2 answer alike"
# the 16-byte (AES) challenge as well
run 0 helpdesk response --serial "$serial" --challenge 00112233445566778899AABBCCDDEEFF \
  --keyfile "$tmp/file.keys" --key bureau-admin --key-version 2
want_aes=$(answer)
run 0 helpdesk response --serial "$serial" --challenge 00112233445566778899AABBCCDDEEFF \
  --keyfile "$tmp/token.keys" --key bureau-admin --key-version 2
[ "$(answer)" = "$want_aes" ] || fail "helpdesk AES: token $(answer) != file $want_aes"

# --journal: the card's version from its record, not the newest
run 0 helpdesk response --serial "$serial" --challenge $ch --keyfile "$tmp/mixed.keys" \
  --journal "$tmp/mixed-v1.jsonl"
[ "$(answer)" = "$want_v1" ] || fail "helpdesk --journal (v1 card): $(answer) != $want_v1"
expect "version 1 (3des, version from the journal)"
new_serial=$(head -1 "$tmp/mixed-new.kcv" | cut -d' ' -f1)
run 0 helpdesk response --serial "$new_serial" --challenge $ch --keyfile "$tmp/file.keys" \
  --key bureau-admin --key-version 2
want_new=$(answer)
run 0 helpdesk response --serial "$new_serial" --challenge $ch --keyfile "$tmp/mixed.keys" \
  --journal "$tmp/mixed-new.jsonl"
[ "$(answer)" = "$want_new" ] || fail "helpdesk --journal (v2 card): $(answer) != $want_new"
expect "version 2 (3des, in the token, version from the journal)"
# a journal that contradicts --key-version, and a serial it does not have
run 2 helpdesk response --serial "$serial" --challenge $ch --keyfile "$tmp/mixed.keys" \
  --journal "$tmp/mixed-v1.jsonl" --key-version 2
expect "the card's admin key comes from master key 'bureau-admin' version 1, not the one given"
# a record whose key change may not have reached the card: no answer
python3 - "$tmp/mixed-v1.jsonl" "$serial" >"$tmp/unsure.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "card" and r.get("serial") == sys.argv[2]:
        for s in r["steps"]:
            if s["step"] == "rotate-admin-key":
                s["reached"], s["outcome"] = "unknown", "failed"
    print(json.dumps(r, separators=(",", ":")))
PY
run 2 helpdesk response --serial "$serial" --challenge $ch --keyfile "$tmp/mixed.keys" \
  --journal "$tmp/unsure.jsonl"
expect "the card's admin key change may not have finished"
run 2 helpdesk response --serial 0A0B0C --challenge $ch --keyfile "$tmp/mixed.keys" \
  --journal "$tmp/mixed-v1.jsonl"
expect "has no card 0A0B0C whose admin key was derived from a master key"
run 2 helpdesk response --serial "$serial" --challenge $ch --journal "$tmp/mixed-v1.jsonl" \
  --admin-key-stdin </dev/null
expect "--journal goes with --keyfile"

# no pin-file: the PIN asked at the terminal, not echoed, and the same answer
keyfile asked.keys "module $P11_MODULE" "bureau-admin 1 aes128 pkcs11:token=cf-test;object=admin-v1"
printf 'expect PIN of token .cf-test.: \nsend %s\neof\n' "$P11_PIN" >"$tmp/pin.script"
python3 "$src/tests/integration/lib/pty_drive.py" "$tmp/pin.script" -- "$cf" helpdesk response \
  --serial "$serial" --challenge $ch --keyfile "$tmp/asked.keys" --key bureau-admin \
  >"$tmp/out" 2>&1 || fail "PIN at the terminal: $(cat "$tmp/out")"
cat "$tmp/out" >>"$tmp/all"
[ "$(tr -d '\r' <"$tmp/out" | grep '^response')" = "$want_v1" ] ||
  fail "helpdesk with the PIN typed: $(cat "$tmp/out")"

# a wrong token PIN: refused before anything, the PIN never shown
printf 'wrong-pin-0000\n' >"$tmp/wrong.pin"
chmod 600 "$tmp/wrong.pin"
sed "s|pin-file .*|pin-file $tmp/wrong.pin|" "$tmp/token.keys" >"$tmp/wrong.keys"
chmod 600 "$tmp/wrong.keys"
run 2 helpdesk response --serial "$serial" --challenge $ch --keyfile "$tmp/wrong.keys" \
  --key bureau-admin
expect "the token refused the PIN (CKR_PIN_INCORRECT); not retried"
run 1 run "$tmp/v1.ini" --batch "$tmp/batch.csv" --journal "$tmp/wrong.jsonl" \
  --readers sim:2:gids:gemalto --profile gids-gemalto --keyfile "$tmp/wrong.keys"
expect "the token refused the PIN (CKR_PIN_INCORRECT); not retried"
grep -q '"type":"card"' "$tmp/wrong.jsonl" 2>/dev/null && fail "a card was touched with a wrong token PIN"
# the token now counts a wrong PIN: the next run says so before it starts
batch warned "$tmp/v1.ini" "$tmp/token.keys" 2
expect "warning: token 'cf-test': a wrong PIN was given recently and few tries are left"

if grep -E -q -i "$P11_PIN|$P11_SO_PIN|wrong-pin-0000|$M1|$M2" "$tmp/all"; then
  fail "a PIN or a master key reached the output"
fi
echo "keys token cli: ok"
