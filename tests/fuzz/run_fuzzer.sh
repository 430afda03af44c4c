#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time over a scratch copy of its seed
# corpus, so CI exercises every parser without the checked-in corpus growing.
# Usage: run_fuzzer.sh BINARY SEED_DIR WORK_DIR SECONDS
set -euo pipefail
bin=$1 seeds=$2 work=$3 secs=$4
rm -rf "$work"
mkdir -p "$work"
if [ -d "$seeds" ]; then cp -r "$seeds"/. "$work"/; fi
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$work"
