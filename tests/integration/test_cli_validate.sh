#!/usr/bin/env bash
# `cardforge validate` and `cardforge plan` as a person runs them: exit
# statuses 0/1/2, file:line messages, and no literal secret in any output.
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for d in "$src"/samples/*/; do
  "$cf" validate "$d/description.ini" --batch "$d/batch.csv" >"$tmp/out" 2>&1 ||
    fail "sample $d invalid: $(cat "$tmp/out")"
  grep -q 'valid, [0-9]* records\?' "$tmp/out" || fail "no record count for $d"
done

# a batch missing a needed column and a record with a bad key: exit 1, file:line
desc="$src/samples/pin-by-admin-key-rotate/description.ini"
printf 'ID,NAME,PIN\n1,A,1234\n' >"$tmp/nocol.csv"
rc=0; "$cf" validate "$desc" --batch "$tmp/nocol.csv" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "missing column: exit $rc, expected 1"
grep -q 'nocol.csv:1: error: column NEW_ADMIN_KEY is missing' "$tmp/out" || fail "missing column message: $(cat "$tmp/out")"
printf 'ID,NAME,PIN,NEW_ADMIN_KEY\n1,A,1234,C0FFEE\n' >"$tmp/badkey.csv"
rc=0; "$cf" validate "$desc" --batch "$tmp/badkey.csv" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "bad key: exit $rc, expected 1"
grep -q 'badkey.csv:2: error: column NEW_ADMIN_KEY' "$tmp/out" || fail "bad key message: $(cat "$tmp/out")"
if grep -q C0FFEE "$tmp/out"; then fail "a key value reached the output"; fi
rc=0; "$cf" validate "$desc" --batch "$tmp/none.csv" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "missing batch file: exit $rc, expected 2"

printf '[Description]\nSetPIN=true\nPIN=#918273\nInitialPUK=#55443322\nBogus=1\n' >"$tmp/bad.ini"
rc=0; "$cf" validate "$tmp/bad.ini" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "invalid description: exit $rc, expected 1"
grep -q "bad.ini:5: error: unknown key 'Bogus'" "$tmp/out" || fail "no file:line message: $(cat "$tmp/out")"

rc=0; "$cf" validate "$tmp/missing.ini" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "missing file: exit $rc, expected 2"
rc=0; "$cf" validate >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "no argument: exit $rc, expected 2"
rc=0; "$cf" validate --nope x.ini >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "bad flag: exit $rc, expected 2"
rc=0; "$cf" frobnicate >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "unknown command: exit $rc, expected 2"

# plan shows *** for literals, and never the literal values
printf '[Description]\nSetPIN=true\nPIN=#918273\nInitialPUK=#55443322\nPUK=#66778899\n' >"$tmp/ok.ini"
"$cf" plan "$tmp/ok.ini" >"$tmp/plan" 2>&1 || fail "plan failed: $(cat "$tmp/plan")"
grep -q '\*\*\*' "$tmp/plan" || fail "plan does not mask literals"
grep -q 'set-pin-by-puk' "$tmp/plan" || fail "plan lacks the step"
if grep -E -q '918273|55443322|66778899' "$tmp/plan" "$tmp/out"; then fail "a secret reached the output"; fi

for c in "" validate plan; do
  "$cf" $c --help >"$tmp/help" 2>&1 || fail "--help for '$c' exits non-zero"
  grep -q usage "$tmp/help" || fail "--help for '$c' prints no usage"
done
"$cf" --version | grep -E -q '^cardforge [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
echo "cli validate/plan: ok"
