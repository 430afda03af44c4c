#!/usr/bin/env bash
# `cardforge validate` and `cardforge plan` as a person runs them: exit
# statuses 0/1/2, file:line messages, and no literal secret in any output.
# With --json: one document python's json module parses, with the verdict,
# counts, problems (file, line), steps and where each value comes from
# (literal, field, prompt, @derive:NAME, @random) and never a value; a usage
# error leaves stdout empty.
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

# ---- --json ----
jcheck() { # FILE PYTHON: run PYTHON with d = the parsed document
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1" ||
    fail "json check failed on $(cat "$1"): $2"
}
d="$src/samples/pin-by-admin-key-rotate"
"$cf" validate "$d/description.ini" --batch "$d/batch.csv" --json >"$tmp/v.json" 2>"$tmp/err" ||
  fail "validate --json: $(cat "$tmp/err")"
records=$(($(wc -l <"$d/batch.csv") - 1))
jcheck "$tmp/v.json" "assert d['valid'] is True and d['errors'] == 0 and d['steps'] >= 2, d
assert d['batch']['file'].endswith('batch.csv') and d['batch']['records'] == $records, d
assert d['description'].endswith('description.ini') and d['master_keys'] == [], d"
rc=0; "$cf" validate "$tmp/bad.ini" --json >"$tmp/v.json" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "invalid description --json: exit $rc, expected 1"
jcheck "$tmp/v.json" "assert d['valid'] is False and d['steps'] is None and d['errors'] >= 1, d
assert any(x['severity'] == 'error' and x['line'] == 5 and x['file'].endswith('bad.ini')
           and \"unknown key 'Bogus'\" in x['message'] for x in d['diagnostics']), d"
grep -q "bad.ini:5: error: unknown key 'Bogus'" "$tmp/err" || fail "--json: no stderr message"
rc=0; "$cf" validate "$desc" --batch "$tmp/badkey.csv" --json >"$tmp/v.json" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "bad key --json: exit $rc, expected 1"
jcheck "$tmp/v.json" "assert d['valid'] is False and d['batch']['records'] is None, d
assert any(x['line'] == 2 and 'NEW_ADMIN_KEY' in x['message'] for x in d['diagnostics']), d"
if grep -q C0FFEE "$tmp/v.json" "$tmp/err"; then fail "a key value reached the --json output"; fi
for args in "$tmp/missing.ini" "$desc --batch $tmp/none.csv" "--nope $desc"; do
  rc=0; "$cf" validate $args --json >"$tmp/v.json" 2>/dev/null || rc=$?
  [ $rc -eq 2 ] || fail "validate $args --json: exit $rc, expected 2"
  [ ! -s "$tmp/v.json" ] || fail "validate $args --json left output: $(cat "$tmp/v.json")"
done
# A derived key: its master key is named, no version known without a key file.
dk="$src/samples/gids-derived-keys/description.ini"
"$cf" validate "$dk" --json >"$tmp/v.json" 2>"$tmp/err" || fail "derived --json: $(cat "$tmp/err")"
jcheck "$tmp/v.json" "assert d['master_keys'] == [{'parameter': 'NewCardManagerKey',
  'name': 'bureau-admin', 'version_wanted': None, 'in_keyfile': None, 'version': None}], d"

# plan --json: every value by where it comes from, never what it is.
"$cf" plan "$tmp/ok.ini" --json >"$tmp/p.json" 2>"$tmp/err" || fail "plan --json: $(cat "$tmp/err")"
jcheck "$tmp/p.json" "s = [x for x in d['steps'] if x['kind'] == 'set-pin-by-puk'][0]
assert s['credential'] == {'parameter': 'InitialPUK', 'source': 'literal', 'line': 4}, s
assert s['new_value'] == {'parameter': 'PIN', 'source': 'literal', 'line': 3}, s
assert d['asks_at_desk'] is False and d['fields'] == [], d
assert 'master_keys' not in json.dumps(d), d"
"$cf" plan "$dk" --json >"$tmp/p2.json" 2>"$tmp/err" || fail "plan --json derived: $(cat "$tmp/err")"
jcheck "$tmp/p2.json" "v = {s['new_value']['parameter']: s['new_value'] for s in d['steps'] if s['new_value']}
assert v['PIN']['source'] == 'random' and v['PIN']['form'] == '6 digits', v
n = v['NewCardManagerKey']
assert n['source'] == 'derive' and n['master_key'] == 'bureau-admin' and n['master_version'] is None, n
assert n['form'] == '3des key', n"
printf '[Description]\nSetPIN=true\nPIN=!FROM_USER_DIALOG_2_FIELD\nInitialPUK=HOLDER_PUK\n[Fields]\nHOLDER_PUK=#10293847\n' >"$tmp/mixed.ini"
"$cf" plan "$tmp/mixed.ini" --json >"$tmp/p3.json" 2>"$tmp/err" || fail "plan --json mixed: $(cat "$tmp/err")"
jcheck "$tmp/p3.json" "s = d['steps'][0]
assert s['new_value'] == {'parameter': 'PIN', 'source': 'prompt', 'line': 3, 'dialog': 2}, s
assert s['credential'] == {'parameter': 'InitialPUK', 'source': 'field', 'line': 4, 'field': 'HOLDER_PUK'}, s
assert d['asks_at_desk'] is True and d['fields'] == [{'name': 'HOLDER_PUK', 'has_default': True}], d"
if grep -E -q '918273|55443322|66778899|10293847|000000000000' "$tmp/p.json" "$tmp/p2.json" "$tmp/p3.json"; then
  fail "a secret reached the plan --json output"
fi
rc=0; "$cf" plan "$tmp/bad.ini" --json >"$tmp/p.json" 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "plan --json invalid: exit $rc, expected 1"
[ ! -s "$tmp/p.json" ] || fail "plan --json invalid left output: $(cat "$tmp/p.json")"

for c in "" validate plan; do
  "$cf" $c --help >"$tmp/help" 2>&1 || fail "--help for '$c' exits non-zero"
  grep -q usage "$tmp/help" || fail "--help for '$c' prints no usage"
done
"$cf" --version | grep -E -q '^cardforge [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
echo "cli validate/plan: ok"
