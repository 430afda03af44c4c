#!/usr/bin/env bash
# Master keys in a PKCS#11 token (SoftHSM2, made here in a temporary
# directory): every KDF vector of docs/key-derivation.md reproduced through
# the token (C_Sign with CKM_AES_CMAC), and the same value from the key in
# the file and from an independent `openssl kdf ... KBKDF`; then each token
# error as its named error (cf_errname and the cause), with no PIN and no
# key in any output; through a shim module (lib/p11_shim.c) what SoftHSM2
# cannot show: a wrong PIN tried exactly once, no try at all at the token's
# last try or when it is locked, CMAC listed but refused.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
: >"$tmp/all"
. "$src/tests/integration/lib/softhsm.sh"
derive="$build/tests/keys_derive"

# run EXPECTED_STATUS KEYFILE NAME VERSION PURPOSE SERIAL FORM; output in $tmp/out
run() {
  local want=$1; shift
  local rc=0
  "$derive" "$@" >"$tmp/out" 2>&1 || rc=$?
  cat "$tmp/out" >>"$tmp/all"
  [ "$rc" -eq "$want" ] || fail "keys_derive $*: exit $rc, expected $want: $(cat "$tmp/out")"
}
expect() { grep -q -- "$1" "$tmp/out" || fail "output lacks '$1': $(cat "$tmp/out")"; }
lacks() { ! grep -q -- "$1" "$tmp/out" || fail "output has '$1': $(cat "$tmp/out")"; }

M1=000102030405060708090A0B0C0D0E0F
M2=000102030405060708090A0B0C0D0E0F1011121314151617
M3=000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F

softhsm_setup
softhsm_key m1 aes $M1
softhsm_key m2 aes $M2
softhsm_key m3 aes $M3
softhsm_key readable aes-readable $M1
softhsm_key nosign aes-nosign $M1
softhsm_key generic generic $M1

head="module $P11_MODULE"
pinl="pin-file $tmp/token.pin"
keyfile token.keys "$head" "$pinl" \
  "m 1 aes128 pkcs11:token=cf-test;object=m1" \
  "m 2 aes192 pkcs11:token=cf-test;object=m2" \
  "m 3 aes256 pkcs11:token=cf-test;object=m3;type=secret-key"
keyfile file.keys "m 1 aes128 $M1" "m 2 aes192 $M2" "m 3 aes256 $M3"

# --- every published vector, through the token and through the file ------
version_of() { case $1 in "$M1") echo 1 ;; "$M2") echo 2 ;; "$M3") echo 3 ;; esac; }
n=0
while IFS='|' read -r _ num key serial purpose form want _; do
  key=$(tr -d ' `' <<<"$key") serial=$(tr -d ' `' <<<"$serial") want=$(tr -d ' `' <<<"$want")
  purpose=$(tr -d ' ' <<<"$purpose") form=$(tr -d ' ' <<<"$form")
  v=$(version_of "$key")
  [ -n "$v" ] || fail "vector $num: unknown master key"
  run 0 "$tmp/token.keys" m "$v" "$purpose" "$serial" "$form"
  [ "$(head -1 "$tmp/out")" = "$want" ] || fail "vector $num via token: $(head -1 "$tmp/out"), want $want"
  expect "^via token$"
  run 0 "$tmp/file.keys" m "$v" "$purpose" "$serial" "$form"
  [ "$(head -1 "$tmp/out")" = "$want" ] || fail "vector $num via file: $(head -1 "$tmp/out")"
  expect "^via file$"
  n=$((n + 1))
done < <(sed -n '/<!-- vectors:kdf -->/,/<!-- \/vectors -->/p' "$src/docs/key-derivation.md" |
         grep -E '^\| [0-9]+ \|')
[ "$n" -ge 10 ] || fail "only $n KDF vectors read from docs/key-derivation.md"

# --- an independent computation: OpenSSL's KBKDF, vector 5 (aes256) ------
# (the raw KDF output: aes256 has no parity bits to set)
want=$(openssl kdf -keylen 32 -kdfopt mode:counter -kdfopt mac:CMAC -kdfopt cipher:AES-256-CBC \
  -kdfopt hexkey:$M3 -kdfopt "salt:cardforge admin key" -kdfopt info:0123456789ABCDEF KBKDF |
  tr -d ':\n')
run 0 "$tmp/token.keys" m 3 admin 0123456789ABCDEF aes256
[ "$(head -1 "$tmp/out")" = "$want" ] || fail "token $(head -1 "$tmp/out") != openssl kdf $want"

# --- two loads of the token in one process (one C_Initialize, counted):
# freeing the first leaves the module working for the second
run 0 "$tmp/token.keys" m 1 admin 12345678 3des --twice
expect "^6D5BE6ADCB291C852394D3A8CB75E508F8A78C0179DF627F$"

# --- a key that could be read out: warned about, still derives -----------
keyfile readable.keys "$head" "$pinl" "r 1 aes128 pkcs11:token=cf-test;object=readable"
run 0 "$tmp/readable.keys" r 1 admin 12345678 3des
expect "^warning: .*key 'readable' is not sensitive (CKA_SENSITIVE false)"
expect "^warning: .*key 'readable' is extractable (CKA_EXTRACTABLE true)"
expect "^6D5BE6ADCB291C852394D3A8CB75E508F8A78C0179DF627F$"

# --- each error, named ---------------------------------------------------
# refused NAME EXPECTED LINES...: a key file NAME of LINES fails to load
# with EXPECTED in the output
refused() {
  local name=$1 want=$2; shift 2
  keyfile "$name" "$@"
  run 1 "$tmp/$name" m 1 admin 12345678 3des
  expect "$want"
}
# wrong token PIN: refused, said once, never retried, the PIN never shown
printf 'not-the-pin-4711\n' >"$tmp/wrong.pin"
chmod 600 "$tmp/wrong.pin"
refused wrongpin.keys "^error CF_ERR_WRONG_SECRET: .*token 'cf-test': the token refused the PIN (CKR_PIN_INCORRECT); not retried" \
  "$head" "pin-file $tmp/wrong.pin" "m 1 aes128 pkcs11:token=cf-test;object=m1"
lacks "not-the-pin-4711"
# the token now counts a wrong PIN: the next load warns, the one after not
run 0 "$tmp/token.keys" m 1 admin 12345678 3des
expect "^warning: token 'cf-test': a wrong PIN was given recently and few tries are left (CKF_USER_PIN_COUNT_LOW)"
expect "^6D5BE6ADCB291C852394D3A8CB75E508F8A78C0179DF627F$"
run 0 "$tmp/token.keys" m 1 admin 12345678 3des
lacks "warning"

refused notoken.keys "^error CF_ERR_NOT_FOUND: no token labelled 'elsewhere' in the PKCS#11 module" \
  "$head" "$pinl" "m 1 aes128 pkcs11:token=elsewhere;object=m1"

refused noobject.keys "^error CF_ERR_NOT_FOUND: .*noobject.keys:3: m version 1: token 'cf-test' has no key 'm9'" \
  "$head" "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=m9"

refused generic.keys "^error CF_ERR_INVALID: .*key 'generic' is not an AES key (CKK_AES)" \
  "$head" "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=generic"

refused nosign.keys "^error CF_ERR_INVALID: .*key 'nosign' may not sign (CKA_SIGN is false)" \
  "$head" "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=nosign"

refused length.keys "^error CF_ERR_INVALID: .*key 'm1' is 16 bytes long (CKA_VALUE_LEN), the key file's algorithm says 32" \
  "$head" "$pinl" "m 1 aes256 pkcs11:token=cf-test;object=m1"

refused nomodule.keys "^error CF_ERR_IO: cannot load the PKCS#11 module: .*no-such-module.so" \
  "module $tmp/no-such-module.so" "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=m1"
printf 'not a library\n' >"$tmp/text.so"
refused textmodule.keys "^error CF_ERR_IO: cannot load the PKCS#11 module: .*text.so" \
  "module $tmp/text.so" "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=m1"
libc=$(ldconfig -p | awk '/libc.so.6 .*x86-64/ {print $NF; exit}')
refused libc.keys "^error CF_ERR_IO: .*not a PKCS#11 module (no C_GetFunctionList)" \
  "module $libc" "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=m1"

# the PIN file passes the key file's checks
cp "$tmp/token.pin" "$tmp/open.pin"
chmod 644 "$tmp/open.pin"
refused openpin.keys "^error CF_ERR_PERMISSION: .*open.pin: refused: mode 0644 lets others in; a PIN file must be 0600 or 0400" \
  "$head" "pin-file $tmp/open.pin" "m 1 aes128 pkcs11:token=cf-test;object=m1"
cp "$tmp/token.pin" "$tmp/owned.pin"
chmod 600 "$tmp/owned.pin"
chown 65534 "$tmp/owned.pin"
refused ownedpin.keys "^error CF_ERR_PERMISSION: .*owned.pin: refused: owned by uid 65534" \
  "$head" "pin-file $tmp/owned.pin" "m 1 aes128 pkcs11:token=cf-test;object=m1"
ln -s "$tmp/token.pin" "$tmp/link.pin"
refused linkpin.keys "^error CF_ERR_PERMISSION: .*link.pin: refused: a symbolic link" \
  "$head" "pin-file $tmp/link.pin" "m 1 aes128 pkcs11:token=cf-test;object=m1"

# no pin-file and no terminal: refused, nothing read from standard input
keyfile nopin.keys "$head" "m 1 aes128 pkcs11:token=cf-test;object=m1"
rc=0
setsid -w "$derive" "$tmp/nopin.keys" m 1 admin 12345678 3des <"$tmp/token.pin" >"$tmp/out" 2>&1 || rc=$?
cat "$tmp/out" >>"$tmp/all"
[ "$rc" -eq 1 ] || fail "no pin-file, no terminal: exit $rc: $(cat "$tmp/out")"
expect "^error CF_ERR_PERMISSION: .*needs its PIN and there is no terminal to ask it at; name a PIN file"

# the token's PIN never in the key file's URI, and the lines it needs
refused query.keys "^error CF_ERR_PARSE: .*query.keys:3: the URI has a query part" \
  "$head" "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=m1?pin-value=$P11_PIN"
refused nomod.keys "^error CF_ERR_INVALID: .*nomod.keys:2: the key is in a token: name its PKCS#11 module" \
  "$pinl" "m 1 aes128 pkcs11:token=cf-test;object=m1"

# --- what SoftHSM2 cannot show, through a shim module in front of it ----
# (lib/p11_shim.c: counts C_Login, fakes the token's PIN flags, refuses
# CMAC at C_SignInit while still listing it)
shim="$tmp/p11_shim.so"
cc -shared -fPIC -O1 -o "$shim" "$src/tests/integration/lib/p11_shim.c" || fail "cannot build the shim"
export P11_SHIM_TARGET=$P11_MODULE P11_SHIM_LOG="$tmp/logins"
logins() { [ -f "$tmp/logins" ] && wc -l <"$tmp/logins" || echo 0; }
shimkey="m 1 aes128 pkcs11:token=cf-test;object=m1"
# a wrong PIN is tried once, never again
rm -f "$tmp/logins"
refused shimwrong.keys "^error CF_ERR_WRONG_SECRET: .*(CKR_PIN_INCORRECT); not retried" \
  "module $shim" "pin-file $tmp/wrong.pin" "$shimkey"
[ "$(logins)" -eq 1 ] || fail "a wrong PIN was tried $(logins) times"
# the token's last try: not tried at all
rm -f "$tmp/logins"
export P11_SHIM_TOKEN_FLAGS=$((1 << 17)) # CKF_USER_PIN_FINAL_TRY
refused shimfinal.keys "^error CF_ERR_LAST_TRY: token 'cf-test': one wrong PIN more locks the token (CKF_USER_PIN_FINAL_TRY); not tried" \
  "module $shim" "$pinl" "$shimkey"
[ "$(logins)" -eq 0 ] || fail "a PIN was tried at the token's last try"
export P11_SHIM_TOKEN_FLAGS=$((1 << 18)) # CKF_USER_PIN_LOCKED
refused shimlocked.keys "^error CF_ERR_BLOCKED: token 'cf-test': the user PIN is locked (CKF_USER_PIN_LOCKED)" \
  "module $shim" "$pinl" "$shimkey"
[ "$(logins)" -eq 0 ] || fail "a PIN was tried at a locked token"
unset P11_SHIM_TOKEN_FLAGS
# the mechanism listed but refused (as p11-kit 0.24's remoting does): the
# trial CMAC at load catches it
export P11_SHIM_SIGN_FAIL=1
refused shimsign.keys "^error CF_ERR_UNSUPPORTED: .*token 'cf-test' refuses CKM_AES_CMAC (CKR_MECHANISM_INVALID)" \
  "module $shim" "$pinl" "$shimkey"
unset P11_SHIM_SIGN_FAIL
# and through the shim, unchanged, the vector
run 0 "$tmp/shimsign.keys" m 1 admin 12345678 3des
expect "^6D5BE6ADCB291C852394D3A8CB75E508F8A78C0179DF627F$"
unset P11_SHIM_TARGET P11_SHIM_LOG

# the mechanism missing: the same token offering only AES-ECB and AES-CBC
# (SoftHSM 2.6.1 ignores "-CKM_AES_CMAC" there, so the list names the kept)
sed -i 's/^$/slots.mechanisms = CKM_AES_ECB,CKM_AES_CBC/' "$SOFTHSM2_CONF"
grep -q '^slots.mechanisms = CKM_AES_ECB,CKM_AES_CBC$' "$SOFTHSM2_CONF" || fail "cannot switch CMAC off"
run 1 "$tmp/token.keys" m 1 admin 12345678 3des
expect "^error CF_ERR_UNSUPPORTED: .*token 'cf-test' does not offer CKM_AES_CMAC"

# no PIN and no key anywhere in what was printed
if grep -E -q -i "$P11_PIN|$P11_SO_PIN|$M1" "$tmp/all"; then
  fail "a PIN or a master key reached the output"
fi
echo "keys token: ok ($n vectors)"
