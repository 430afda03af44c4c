# SoftHSM2 tokens made by a test, in its own temporary directory.
#
# Source after setting $tmp and $build. softhsm_setup makes a SoftHSM2
# configuration whose token directory is under $tmp (SOFTHSM2_CONF is
# exported, so nothing of the machine's own tokens is seen or touched),
# initialises token "cf-test" with user PIN $P11_PIN, and writes that PIN to
# $tmp/token.pin (mode 0600) for the key files' pin-file lines. Master keys
# go in with softhsm_key OBJECT KIND HEX (tests/tools/p11_keytool.c: made
# with C_CreateObject, sensitive and not extractable for KIND aes).
P11_MODULE=${P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
P11_PIN=7391-token-pin-2604
P11_SO_PIN=5502-so-pin-8817

softhsm_setup() {
  [ -r "$P11_MODULE" ] || { echo "FAIL: no SoftHSM2 module at $P11_MODULE (scripts/setup.sh)"; exit 1; }
  mkdir -p "$tmp/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n%s\n' \
    "$tmp" "${1:-}" >"$tmp/softhsm2.conf"
  export SOFTHSM2_CONF="$tmp/softhsm2.conf"
  printf '%s\n%s\n' "$P11_SO_PIN" "$P11_PIN" |
    "$build/tests/p11_keytool" "$P11_MODULE" init-token cf-test
  printf '%s\n' "$P11_PIN" >"$tmp/token.pin"
  chmod 600 "$tmp/token.pin"
}

softhsm_key() {
  printf '%s\n%s\n' "$P11_PIN" "$3" | "$build/tests/p11_keytool" "$P11_MODULE" add-key cf-test "$1" "$2"
}

# keyfile NAME LINES...: the key file $tmp/NAME (mode 0600) of the lines given
keyfile() {
  local f="$tmp/$1"; shift
  printf '%s\n' "$@" >"$f"
  chmod 600 "$f"
}
