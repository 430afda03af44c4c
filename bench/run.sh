#!/usr/bin/env bash
# run.sh - every benchmark of the batch runner, as tables for
# docs/performance.md. A measurement, not a test: it asserts nothing.
#
#   bash bench/run.sh BUILD_DIR SOURCE_DIR          (root, for the pcscd part)
#
# Build first (Release for figures worth quoting):
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2
# or `cmake --build build/release --target bench`, which builds and runs this.
# BENCH_CARDS (cards per reader, default 10) and BENCH_RECORDS (the large
# batch, default 1000000) scale the runs.
set -euo pipefail
build=$(readlink -f "${1:?usage: run.sh BUILD_DIR SOURCE_DIR}")
src=$(readlink -f "${2:?usage: run.sh BUILD_DIR SOURCE_DIR}")
bench="$build/bench/cf_bench"
cards=${BENCH_CARDS:-10}
records=${BENCH_RECORDS:-1000000}
work="$build/bench-work"
mkdir -p "$work"

echo "# cardforge batch runner benchmarks"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
     "$(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)," \
     "build $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo

"$bench" sim --cards "$cards" --latency contact --work "$work"
"$bench" fsync --readers 16 --cards "$cards" --latency contact --work "$work"
"$bench" million --records "$records" --work "$work"
rm -rf "$work"

if [ "$(id -u)" -ne 0 ]; then
    echo "(pcscd benchmarks skipped: they need root for a private pcscd, like the integration tests)"
    exit 0
fi
BENCH_CARDS=$cards bash "$src/bench/pcsc.sh" "$build" "$src"
