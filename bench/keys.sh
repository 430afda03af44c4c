#!/usr/bin/env bash
# Derivations per second with the master key in the key file and in a
# SoftHSM2 token (made here in a temporary directory, as the tests make
# theirs): bench/cf_bench_keys on both, 1 and 16 threads. Figures for
# docs/performance.md ("Master keys in a token").
#   bash bench/keys.sh BUILD_DIR SOURCE_DIR [SECONDS]
set -euo pipefail
build=$1 src=$2 seconds=${3:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/integration/lib/softhsm.sh"
M=000102030405060708090A0B0C0D0E0F
softhsm_setup >/dev/null
softhsm_key bench aes $M
keyfile file.keys "bench 1 aes128 $M"
keyfile token.keys "module $P11_MODULE" "pin-file $tmp/token.pin" \
  "bench 1 aes128 pkcs11:token=cf-test;object=bench"
echo "cores: $(nproc); SoftHSM2 $(dpkg-query -W -f='${Version}' softhsm2 2>/dev/null || echo '?')"
"$build/bench/cf_bench_keys" "$tmp/file.keys" bench "$seconds"
"$build/bench/cf_bench_keys" "$tmp/token.keys" bench "$seconds"
