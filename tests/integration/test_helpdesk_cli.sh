#!/usr/bin/env bash
# `cardforge helpdesk response` as the helpdesk runs it: known-answer
# responses (docs/gids-reference.md 3.4 and docs/key-derivation.md), a
# response recomputed independently with the openssl command line, key-file
# refusals, check-value refusals, exit statuses, the no-echo prompt on a
# terminal, and no key in any output.
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
: >"$tmp/all"    # every byte cardforge printed, for the final leak check

# run EXPECTED_STATUS ARGS... ; stdin is passed through; output in $tmp/out
run() {
  local want=$1; shift
  local rc=0
  "$cf" helpdesk "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  cat "$tmp/out" "$tmp/err" >>"$tmp/all"
  [ "$rc" -eq "$want" ] ||
    fail "helpdesk $*: exit $rc, expected $want: $(cat "$tmp/out" "$tmp/err")"
}
# feed INPUT EXPECTED_STATUS ARGS... : run with INPUT as standard input. A
# here-string, not a pipe: cardforge may exit before reading it, and a
# writer killed by SIGPIPE would fail the test under pipefail.
feed() { local input=$1; shift; run "$@" <<<"$input"; }
expect_out() { grep -q -- "$1" "$tmp/out" || fail "stdout lacks '$1': $(cat "$tmp/out")"; }
expect_err() { grep -q -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"; }

Z24=000000000000000000000000000000000000000000000000
K24=010203040506070801020304050607080102030405060708
M1=000102030405060708090A0B0C0D0E0F
M2=000102030405060708090A0B0C0D0E0F1011121314151617
M3=000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F
V1=F0E1D2C3B4A5968778695A4B3C2D1E0F   # another version of "issuing"

# --- the reference table, admin key on standard input --------------------
while read -r key ch want; do
  feed "$key" 0 response --serial 12345678 --challenge "$ch" --admin-key-stdin
  expect_out "^response   $want  *check [0-9][0-9]$"
  expect_out "^admin key  read from standard input (24 bytes)$"
done <<EOF
$Z24 0000000000000000 8CA6 4DE9 C1B1 23A7
$Z24 0102030405060708 CEAD 373D B80E ABF8
$K24 0000000000000000 B073 DC3F B209 536D
$K24 0102030405060708 77A7 D6BC F579 62B9
EOF
# the challenge and serial lines carry their check values
feed "$Z24" 0 response --serial 1234-5678 --challenge "0102 0304-0506 0708" \
  --check 12 --admin-key-stdin
expect_out "^serial     1234 5678            *check 08$"
expect_out "^challenge  0102 0304 0506 0708  *check 12$"
# a typed key may be grouped and lower case, with the line's CR
feed $'0102 0304 0506 0708-0102030405060708 0102030405060708\r' 0 response --serial 1 \
  --challenge 0102030405060708 --admin-key-stdin
expect_out "^response   77A7 D6BC F579 62B9"

# --- key file: derived keys (docs/key-derivation.md, response vectors) ----
cat >"$tmp/keys" <<EOF
# test master keys
issuing 1 aes128 $M1
issuing 2 aes128 $V1
badges  1 aes192 $M2
big     1 aes256 $M3
EOF
chmod 600 "$tmp/keys"
run 0 response --serial 12345678 --challenge 0102030405060708 --check 12 \
  --keyfile "$tmp/keys" --key issuing --key-version 1
expect_out "^response   3F3E 19E5 8DB8 6347  *check 69$"
expect_out "^admin key  derived from master key 'issuing' version 1 (3des)$"
run 0 response --serial 12345678 --challenge 1122334455667788 --keyfile "$tmp/keys" \
  --key issuing --key-version 1 --admin-key-type 3des2
expect_out "^response   2E53 E578 D06A AF81  *check 85$"
run 0 response --serial 00112233445566778899aabbccddeeff --challenge a1b2c3d4e5f60718 \
  --keyfile "$tmp/keys" --key badges
expect_out "^response   6037 B8D7 D055 9573  *check 15$"
run 0 response --serial 0123456789ABCDEF --challenge 00112233445566778899AABBCCDDEEFF \
  --check 68 --keyfile "$tmp/keys" --key big
expect_out "^response   F1FB 2A65 20A5 B14B 75F6 139D E66A 6373  *check 13$"
# without --key-version the newest version is used
run 0 response --serial 12345678 --challenge 0102030405060708 --keyfile "$tmp/keys" --key issuing
expect_out "version 2 (3des)"
grep -q "3F3E 19E5" "$tmp/out" && fail "newest version not used"
chmod 400 "$tmp/keys"
run 0 response --serial 12345678 --challenge 0102030405060708 --keyfile "$tmp/keys" --key issuing

# --- an independent recomputation with the openssl command line -----------
if command -v openssl >/dev/null && openssl kdf -help >/dev/null 2>&1; then
  mk=$(openssl rand -hex 32 | tr a-f A-F)
  ch=$(openssl rand -hex 8)
  serial=$(openssl rand -hex 16)
  SERIAL=$(echo "$serial" | tr a-f A-F)
  derived=$(openssl kdf -keylen 24 -kdfopt mode:counter -kdfopt mac:CMAC \
    -kdfopt cipher:AES-256-CBC -kdfopt "hexkey:$mk" -kdfopt "salt:cardforge admin key" \
    -kdfopt "info:$SERIAL" KBKDF | tr -d ':')
  want=$(printf '%s' "$ch" | xxd -r -p | openssl enc -des-ede3 -K "$derived" -nopad | xxd -p |
    tr a-f A-F | sed 's/\(....\)/\1 /g; s/ $//')
  printf 'random 1 aes256 %s\n' "$mk" >"$tmp/rkeys"
  chmod 600 "$tmp/rkeys"
  run 0 response --serial "$serial" --challenge "$ch" --keyfile "$tmp/rkeys" --key random
  expect_out "^response   $want  *check"
  echo "$mk $derived" >>"$tmp/secrets"
else
  echo "note: no openssl command line; independent recomputation skipped"
fi

# --- refused key files: exit 2, the reason, and no response ---------------
for mode in 644 640 604 660 700; do
  chmod "$mode" "$tmp/keys"
  run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keys" --key issuing
  expect_err "mode 0$mode"
  expect_err "chmod 600"
  [ -s "$tmp/out" ] && fail "mode $mode: something printed on stdout"
done
chmod 600 "$tmp/keys"
ln -s "$tmp/keys" "$tmp/keylink"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keylink" --key issuing
expect_err "symbolic link"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/none" --key issuing
expect_err "No such file"
printf 'issuing 1 aes256 %s\n' "$M1" >"$tmp/short"
chmod 600 "$tmp/short"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/short" --key issuing
expect_err "short:1: the key has 32 hex digits, the algorithm needs 64"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keys" --key nobody
expect_err "has no master key named 'nobody'"
expect_err "issuing/1 issuing/2 badges/1 big/1"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keys" --key issuing \
  --key-version 9
expect_err "no master key 'issuing' version 9"

# --- check values and malformed input: exit 2, clear message --------------
feed "$Z24" 2 response --serial 1 --challenge 0102030405060708 --check 21 --admin-key-stdin
expect_err "check value mismatch"
expect_err "has check value 12, not 21"
# a swapped pair of digits is caught by the check value read beside it
feed "$Z24" 2 response --serial 1 --challenge 0102030405060780 --check 12 --admin-key-stdin
expect_err "check value mismatch"
for bad in 7 123 97 ab; do
  feed "$Z24" 2 response --serial 1 --challenge 0102030405060708 --check "$bad" \
    --admin-key-stdin
  expect_err "two-digit check value"
done
feed "$Z24" 2 response --serial 1 --challenge 01020304050607GG --admin-key-stdin
expect_err "challenge is not hex"
feed "$Z24" 2 response --serial 1 --challenge 010203040506 --admin-key-stdin
expect_err "8 or 16 bytes"
feed "$Z24" 2 response --serial 1 --challenge 000102030405060708090A0B0C0D0E0F10 \
  --admin-key-stdin
expect_err "8 or 16 bytes"
feed "$Z24" 2 response --serial 12x4 --challenge 0102030405060708 --admin-key-stdin
expect_err "the serial must be"
feed "$Z24" 2 response --serial 1 --challenge 0102030405060708 --admin-key-stdin \
  --admin-key-type aes128
expect_err "an 8-byte challenge is answered with 3DES"
feed "$Z24" 2 response --serial 1 --challenge 0102030405060708 --admin-key-stdin \
  --admin-key-type 3des2
expect_err "a 3des2 key has 16"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keys" --key issuing \
  --admin-key-type des
expect_err "unknown admin key type"

# admin key on standard input: malformed keys are refused without quoting them
feed "$M3" 2 response --serial 1 --challenge 0102030405060708 --admin-key-stdin
expect_err "an admin key of 32 bytes cannot answer an 8-byte challenge"
feed "$M3" 0 response --serial 1 --challenge 00112233445566778899AABBCCDDEEFF \
  --admin-key-stdin
feed "0102030405060708090A0B0C0D0E0F101112131415" 2 response --serial 1 \
  --challenge 0102030405060708 --admin-key-stdin
expect_err "the admin key has 21 bytes"
feed "0102030405060708090A0B0C0D0E0F1G" 2 response --serial 1 \
  --challenge 0102030405060708 --admin-key-stdin
expect_err "the admin key is not hex"
run 2 response --serial 1 --challenge 0102030405060708 --admin-key-stdin </dev/null
expect_err "no admin key on standard input"
feed "$(head -c 400 /dev/zero | tr '\0' 'A')" 2 response --serial 1 \
  --challenge 0102030405060708 --admin-key-stdin
expect_err "line is too long"

# --- usage ----------------------------------------------------------------
run 2 response --challenge 0102030405060708 --admin-key-stdin </dev/null
expect_err "--serial and --challenge are required"
run 2 response --serial 1 --challenge 0102030405060708 </dev/null
expect_err "either --keyfile"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keys" --key issuing \
  --admin-key-stdin </dev/null
expect_err "either --keyfile"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keys"
expect_err "needs --key NAME"
run 2 response --serial 1 --challenge 0102030405060708 --admin-key-stdin --key x </dev/null
expect_err "go with --keyfile"
run 2 response --serial 1 --challenge 0102030405060708 --keyfile "$tmp/keys" --key issuing \
  --key-version 01
expect_err "key-version must be"
run 2 response --serial 1 --challenge 0102030405060708 --admin-key "$Z24"
run 2 response extra --serial 1 --challenge 0102030405060708 --admin-key-stdin </dev/null
run 2
run 2 bogus
expect_err "not a subcommand"
run 0 --help
expect_out "usage: cardforge helpdesk"
expect_out "response"
run 0 response --help
expect_out "usage: cardforge helpdesk response"
expect_out "never printed"
"$cf" --help | grep >/dev/null "helpdesk" || fail "cardforge --help does not list helpdesk"

# --- a terminal: prompt on stderr, nothing echoed --------------------------
if command -v python3 >/dev/null; then
  python3 - "$cf" "$K24" >"$tmp/tty" 2>&1 <<'EOF' || fail "tty run: $(cat "$tmp/tty")"
import os, pty, sys, time
cf, key = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(cf, [cf, "helpdesk", "response", "--serial", "1",
                  "--challenge", "0102030405060708", "--admin-key-stdin"])
out = b""
def read_some():
    global out
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    out += data
    return bool(data)
while b"not shown" not in out and read_some():
    pass
time.sleep(0.2)  # let the program switch echo off before typing
os.write(fd, key.encode() + b"\n")
while read_some():
    pass
_, status = os.waitpid(pid, 0)
text = out.decode(errors="replace")
sys.stdout.write(text)
if os.WEXITSTATUS(status) != 0:
    sys.exit("exit status %d" % os.WEXITSTATUS(status))
if key in text.replace(" ", ""):
    sys.exit("the key was echoed")
if "77A7 D6BC F579 62B9" not in text:
    sys.exit("no response")
EOF
  cat "$tmp/tty" >>"$tmp/all"
fi

# --- no key anywhere in what cardforge printed -----------------------------
flat=$(tr -d ' \t\r\n-' <"$tmp/all" | tr a-f A-F)
for k in $K24 $M1 $M2 $M3 $V1 6D5BE6ADCB291C852394D3A8CB75E508F8A78C0179DF627F \
         29294910D3688F5873BF513D340ECE4C $(cat "$tmp/secrets" 2>/dev/null || true); do
  case "$flat" in *"$(echo "$k" | tr a-f A-F)"*) fail "key $k appears in the output" ;; esac
done
# the all-zero key is 48 zeros: no run that long may appear either
case "$flat" in *"$Z24"*) fail "the zero key appears in the output" ;; esac
echo "cli helpdesk: ok"
