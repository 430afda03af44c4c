#!/usr/bin/env bash
# The main job: set-up, a Release build, then real batch runs on the samples:
# every sample validated, one plan shown, then `cardforge run` personalizing
# a sample batch and a 400-card batch on simulated readers (in this process,
# no hardware, no daemon; the cards answer as slowly as real contact cards),
# with live progress, the summary, a resumed run that finds nothing left to
# do, and `cardforge report` on the journal.
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

demo=build/demo
rm -rf "$demo"
mkdir -p "$demo"
d=samples/block-before-pickup
echo "== cardforge run $d/description.ini --batch $d/batch.csv --readers sim:2"
"$cf" run "$d/description.ini" --batch "$d/batch.csv" --journal "$demo/sample.jsonl" \
  --readers sim:2 --sim-latency contact

# A production-sized batch for the same job: 400 cardholders, 8 readers.
python3 - "$demo/batch.csv" <<'PY'
import secrets, sys
with open(sys.argv[1], "w") as f:
    f.write("ID,NAME,PIN,NEW_PUK\n")
    for i in range(1, 401):
        f.write("%d,Cardholder %d,%06d,%08d\n" % (10000 + i, i, secrets.randbelow(10**6),
                                                 secrets.randbelow(10**8)))
PY
echo "== cardforge run $d/description.ini --batch $demo/batch.csv --readers sim:8 (400 cards)"
"$cf" run "$d/description.ini" --batch "$demo/batch.csv" --journal "$demo/journal.jsonl" \
  --readers sim:8 --sim-latency contact
echo "== the same command again: the journal says everything is done"
"$cf" run "$d/description.ini" --batch "$demo/batch.csv" --journal "$demo/journal.jsonl" \
  --readers sim:8 --sim-latency contact | grep -E "^(summary|this run)"
echo "== cardforge report $demo/journal.jsonl"
"$cf" report "$demo/journal.jsonl"
