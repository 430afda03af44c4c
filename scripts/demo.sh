#!/usr/bin/env bash
# The main job: set-up, a Release build, then a real run on a sample.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
mkdir -p build/logs
echo "== building (log: build/logs/release-build.log)"
if ! { cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCF_TESTS=OFF &&
       cmake --build build/release -j "$(nproc)"; } >build/logs/release-build.log 2>&1; then
  tail -n 40 build/logs/release-build.log
  exit 1
fi
cf=build/release/tools/cardforge
keys=$(mktemp)
trap 'rm -f "$keys"' EXIT
for d in samples/*/; do
  # A sample's demo key file: git does not keep file modes, and cardforge
  # reads a key file only when nobody else can, so it is checked from a
  # private copy.
  keyopt=()
  if [ -f "${d}demo-keys.txt" ]; then
    cat "${d}demo-keys.txt" >"$keys"
    chmod 600 "$keys"
    keyopt=(--keyfile "$keys")
  fi
  echo "== cardforge validate ${d}description.ini${keyopt[*]:+ --keyfile ${d}demo-keys.txt (a private copy)}"
  "$cf" validate "${d}description.ini" --batch "${d}batch.csv" "${keyopt[@]}"
done
echo "== cardforge plan samples/block-before-pickup/description.ini"
"$cf" plan samples/block-before-pickup/description.ini
