#!/usr/bin/env bash
# `cardforge helpdesk operator add|disable|enable|list`: passwords asked
# twice without echo on a terminal (pty_drive.py) or read with
# --password-stdin, stored as scrypt hashes in a 0600 file that holds no
# password; the file's ownership and mode checks; names and passwords
# refused; disable/enable; list shows no hash.
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
DRIVE="$src/tests/integration/lib/pty_drive.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ops="$tmp/operators"
PW1='correct horse battery'
PW2='tr0ub4dor & 3 more'

# run EXPECTED_STATUS ARGS... ; output in $tmp/out, $tmp/err
run() {
  local want=$1; shift
  local rc=0
  "$cf" helpdesk operator "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  cat "$tmp/out" "$tmp/err" >>"$tmp/all"
  [ "$rc" -eq "$want" ] || fail "operator $*: exit $rc, expected $want: $(cat "$tmp/out" "$tmp/err")"
}
feed() { local input=$1; shift; run "$@" <<<"$input"; }
expect_err() { grep -q -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"; }

# --- add with --password-stdin creates the file 0600 ------------------------
feed "$PW1" 0 add alice --operators "$ops" --password-stdin
[ "$(stat -c %a "$ops")" = 600 ] || fail "operators file mode $(stat -c %a "$ops"), expected 600"
head -n 1 "$ops" | grep -x >/dev/null '# cardforge helpdesk operators 1' || fail "no header: $(cat "$ops")"
grep -Eq '^alice active scrypt 15 8 1 [0-9A-F]{32} [0-9A-F]{64}$' "$ops" || fail "entry: $(cat "$ops")"

# --- add on a terminal: asked twice, not echoed ----------------------------
cat >"$tmp/script" <<EOS
expect new password \(not shown\):
send $PW2
expect the same again:
send $PW2
eof
EOS
python3 "$DRIVE" "$tmp/script" -- "$cf" helpdesk operator add bob --operators "$ops" \
  >"$tmp/tty" || fail "add on a terminal: $(cat "$tmp/tty")"
grep -q 'operator bob added' "$tmp/tty" || fail "no confirmation: $(cat "$tmp/tty")"
! grep -q "$PW2" "$tmp/tty" || fail "the password was echoed: $(cat "$tmp/tty")"

# two different passwords: nothing changes
cp "$ops" "$tmp/before"
cat >"$tmp/script" <<EOS
expect new password
send $PW2
expect the same again:
send ${PW2}x
eof
EOS
rc=0; python3 "$DRIVE" "$tmp/script" -- "$cf" helpdesk operator add carol --operators "$ops" \
  >"$tmp/tty" || rc=$?
[ "$rc" -eq 2 ] || fail "differing passwords: exit $rc: $(cat "$tmp/tty")"
grep -q 'the two passwords differ' "$tmp/tty" || fail "no reason: $(cat "$tmp/tty")"
cmp -s "$ops" "$tmp/before" || fail "the file changed after a refused add"

# --- list: names and states, never a hash ---------------------------------
run 0 list --operators "$ops"
grep -Eq '^alice +active$' "$tmp/out" && grep -Eq '^bob +active$' "$tmp/out" ||
  fail "list: $(cat "$tmp/out")"
! grep -Eq '[0-9A-F]{32}' "$tmp/out" || fail "list shows a hash"

# --- refusals ---------------------------------------------------------------
feed "$PW1" 2 add alice --operators "$ops" --password-stdin
expect_err "operator 'alice' exists already"
feed "$PW1" 2 add Alice --operators "$ops" --password-stdin
expect_err "NAME must be"
feed "short" 2 add dave --operators "$ops" --password-stdin
expect_err "the password must have 10 to 128 characters"
run 2 add erin --operators "$ops" </dev/null
expect_err "not a terminal; use --password-stdin"
run 2 disable nobody --operators "$ops"
expect_err "no operator 'nobody'"
run 2 list --operators "$tmp/missing"
run 2 frobnicate x --operators "$ops"

# the file's mode and ownership are checked like a key file's
chmod 644 "$ops"
run 2 list --operators "$ops"
expect_err "mode 0644 lets others in"
chmod 600 "$ops"
chown 65534 "$ops"
run 2 list --operators "$ops"
expect_err "owned by uid 65534"
chown 0 "$ops"
ln -s "$ops" "$tmp/link"
run 2 list --operators "$tmp/link"
expect_err "a symbolic link"
# a tampered entry (cost raised beyond the bound) is refused with its line
cp "$ops" "$tmp/bad"; chmod 600 "$tmp/bad"
sed -i 's/^alice active scrypt 15/alice active scrypt 30/' "$tmp/bad"
run 2 list --operators "$tmp/bad"
expect_err ":line 2: not an operator entry"

# --- disable and enable ---------------------------------------------------
run 0 disable alice --operators "$ops"
run 0 list --operators "$ops"
grep -Eq '^alice +disabled$' "$tmp/out" || fail "not disabled: $(cat "$tmp/out")"
run 0 enable alice --operators "$ops"
run 0 list --operators "$ops"
grep -Eq '^alice +active$' "$tmp/out" || fail "not enabled: $(cat "$tmp/out")"
[ "$(stat -c %a "$ops")" = 600 ] || fail "rewritten file mode $(stat -c %a "$ops")"

# --- no password anywhere ---------------------------------------------------
! grep -qF "$PW1" "$ops" "$tmp/all" || fail "a password was written"
! grep -qF "$PW2" "$ops" "$tmp/all" || fail "a password was written"
echo "PASS"
