#!/usr/bin/env bash
# Derivations per second with the master key in the key file and in a
# SoftHSM2 token (made here in a temporary directory, as the tests make
# theirs): bench/cf_bench_keys on both, 1 and 16 threads. Figures for
# docs/performance.md ("Master keys in a token").
# and the runner on 16 simulated readers with each (cards/min).
#   bash bench/keys.sh BUILD_DIR SOURCE_DIR [SECONDS]
set -eu -o pipefail
build=$1 src=$2 seconds=${3:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/integration/lib/softhsm.sh"
M=000102030405060708090A0B0C0D0E0F
softhsm_setup >/dev/null
softhsm_key bench aes $M
keyfile file.keys "bureau-admin 1 aes128 $M"
keyfile token.keys "module $P11_MODULE" "pin-file $tmp/token.pin" \
  "bureau-admin 1 aes128 pkcs11:token=cf-test;object=bench"
echo "cores: $(nproc); SoftHSM2 $(dpkg-query -W -f='${Version}' softhsm2 2>/dev/null || echo '?')"
"$build/bench/cf_bench_keys" "$tmp/file.keys" bureau-admin "$seconds"
"$build/bench/cf_bench_keys" "$tmp/token.keys" bureau-admin "$seconds"

# The runner with 16 simulated GIDS readers, admin keys derived from the
# file's key and from the token's: no card latency (the engine alone) and
# the contact-card latency model (what a bureau's readers do).
{ echo "ID,NAME"; for i in $(seq 1 400); do echo "$((7000 + i)),Card $i"; done; } >"$tmp/batch.csv"
for latency in none contact; do
  for k in file token; do
    rm -f "$tmp/run.jsonl"
    lat=()
    [ "$latency" = none ] || lat=(--sim-latency "$latency")
    "$build/tools/cardforge" run "$src/samples/gids-derived-keys/description.ini" \
      --batch "$tmp/batch.csv" --journal "$tmp/run.jsonl" --readers sim:16:gids:gemalto \
      --profile gids-gemalto --keyfile "$tmp/$k.keys" "${lat[@]}" 2>&1 |
      sed -n "s/^this run: \(.*\)/run, 16 readers, latency $latency, key in $k: \1/p"
  done
done
