#!/usr/bin/env bash
# Derived (@derive) and random (@random) values on the command line:
# `validate` with and without --keyfile, `plan` showing the sources, and
# `personalize` refusing before any card when the key file is missing or
# lacks a master key. No key from a key file ever reaches the output.
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
: >"$tmp/all"

# run EXPECTED_STATUS ARGS... ; output in $tmp/out
run() {
  local want=$1; shift
  local rc=0
  "$cf" "$@" >"$tmp/out" 2>&1 || rc=$?
  cat "$tmp/out" >>"$tmp/all"
  [ "$rc" -eq "$want" ] || fail "cardforge $*: exit $rc, expected $want: $(cat "$tmp/out")"
}
expect() { grep -q -- "$1" "$tmp/out" || fail "output lacks '$1': $(cat "$tmp/out")"; }

sample="$src/samples/gids-derived-keys"
desc="$sample/description.ini"
# git keeps no file modes: a private copy of the demo key file
keys="$tmp/keys.txt"
cat "$sample/demo-keys.txt" >"$keys"
chmod 600 "$keys"

# without --keyfile: valid, and says which master keys a run needs
run 0 validate "$desc" --batch "$sample/batch.csv"
expect "NewCardManagerKey needs master key bureau-admin (the newest version)"
expect "give --keyfile FILE"

# with the key file: the version the newest resolves to
run 0 validate "$desc" --batch "$sample/batch.csv" --keyfile "$keys"
expect "NewCardManagerKey derives from master key bureau-admin version 1 (the newest)"

# a key file others can read is refused (usage: the file named is unusable)
cat "$sample/demo-keys.txt" >"$tmp/open.txt"
chmod 644 "$tmp/open.txt"
run 2 validate "$desc" --keyfile "$tmp/open.txt"
expect "refused: mode 0644"
run 2 validate "$desc" --keyfile "$tmp/none.txt"

# a key file without the master key, or without the version asked for
printf 'other 1 aes128 00112233445566778899AABBCCDDEEFF\n' >"$tmp/other.txt"
chmod 600 "$tmp/other.txt"
run 1 validate "$desc" --keyfile "$tmp/other.txt"
expect "description.ini:20: error: NewCardManagerKey: master key bureau-admin is not in the key file"
sed 's/@derive:bureau-admin$/@derive:bureau-admin:3/' "$desc" >"$tmp/v3.ini"
run 1 validate "$tmp/v3.ini" --keyfile "$keys"
expect "v3.ini:20: error: NewCardManagerKey: the key file has master key bureau-admin, but not version 3 (newest: 1)"

# malformed forms and forms a parameter cannot take: file:line, exit 1
printf '[Description]\nSetPIN=true\nPIN=@random:3\nCardManagerKey=@random\n' >"$tmp/bad.ini"
run 1 validate "$tmp/bad.ini"
expect "bad.ini:3: error: PIN: the number of digits must be a whole number from 4 to 16"
expect "bad.ini:4: error: CardManagerKey cannot be @random"
printf '[Description]\nCardManagerKey=@derive:a:0\nNewCardManagerKey=@derive:b::des\n' >"$tmp/bad2.ini"
run 1 validate "$tmp/bad2.ini"
expect "bad2.ini:2: error: CardManagerKey: the master key version must be"
expect "bad2.ini:3: error: NewCardManagerKey: the key type must be"

# a random PIN nobody can ever reset: valid, with a warning
printf '[Description]\nSetPIN=true\nPIN=@random\nInitialPUK=#12345678\n' >"$tmp/warn.ini"
run 0 validate "$tmp/warn.ini"
expect "warn.ini:3: warning: PIN=@random without BlockCard=true"

# plan: how the values are made, never what they are
run 0 plan "$desc"
expect "@derive:bureau-admin (newest version), 3des key, per card (line 20)"
expect "@random, 6 digits, per card (line 18)"
expect "master keys (from the key file, --keyfile): bureau-admin for NewCardManagerKey"

run 0 validate --help
expect "--keyfile FILE"

# personalize: refused before any reader is looked at
run 2 personalize "$desc" --reader nowhere
expect "derives values from master keys: bureau-admin (NewCardManagerKey); give the key file"
run 2 personalize "$desc" --reader nowhere --keyfile "$tmp/other.txt"
expect "description.ini:20: error: NewCardManagerKey: master key bureau-admin is not in the key file"
run 2 personalize "$desc" --reader nowhere --keyfile "$tmp/open.txt"
expect "refused: mode 0644"

# no key material in anything cardforge printed
if grep -E -q -i '000102030405060708090A0B0C0D0E0F|00112233445566778899AABBCCDDEEFF' "$tmp/all"; then
  fail "a master key reached the output"
fi
echo "cli derive: ok"
