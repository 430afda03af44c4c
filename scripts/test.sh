#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, then
#   1. normal (Debug) build + every CTest test (unit and integration),
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. the libFuzzer targets (clang), each run for a fixed short time.
# Build output goes to build/logs/; a failing step prints its log's tail.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
jobs=$(nproc)
logs="$root/build/logs"
mkdir -p "$logs"
fuzz_seconds=${CF_FUZZ_SECONDS:-15}

total_pass=0
total_fail=0

configure_and_build() { # NAME, then cmake args
  local name=$1; shift
  echo "== build $name"
  if ! { cmake -S "$root" -B "build/$name" "$@" && cmake --build "build/$name" -j "$jobs"; } \
      >"$logs/$name-build.log" 2>&1; then
    tail -n 60 "$logs/$name-build.log"
    echo "build $name failed (log: $logs/$name-build.log)"
    exit 1
  fi
}

run_ctest() { # NAME, then ctest args
  local name=$1; shift
  echo "== test $name"
  local out="$logs/$name-ctest.log" rc=0
  (cd "build/$name" && ctest --output-on-failure -j "$jobs" "$@") >"$out" 2>&1 || rc=$?
  # Keep stdout short: one line per test plus the failures' output.
  grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|tests failed' "$out" || true
  if [ $rc -ne 0 ]; then
    sed -n '/The following tests FAILED/,$p' "$out"
    echo "---- failing output (from $out) ----"
    grep -v -E '^ *[0-9]+/[0-9]+ Test' "$out" | tail -n 150
  fi
  local line pass fail
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$out" | tail -n 1 || true)
  fail=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  pass=$(( $(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line") - fail ))
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  [ $rc -eq 0 ] || overall=1
}

overall=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

configure_and_build debug -DCMAKE_BUILD_TYPE=Debug
run_ctest debug

configure_and_build asan -DCMAKE_BUILD_TYPE=Debug -DCF_SANITIZE=ON
run_ctest asan

configure_and_build fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCF_FUZZ=ON \
  -DCF_TESTS=OFF -DCF_FUZZ_SECONDS="$fuzz_seconds"
run_ctest fuzz -L fuzz

echo
echo "all builds: $total_pass passed, $total_fail failed"
exit $overall
