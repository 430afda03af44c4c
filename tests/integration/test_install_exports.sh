#!/usr/bin/env bash
# libcardforge.so exports the public API and nothing else: the dynamic
# symbols it defines are exactly the functions the public headers
# (engine/include/cardforge/*.h) declare. The version script that limits
# them is generated from the same headers at build time
# (cmake/cardforge_exports.cmake); this check takes another route, the C
# preprocessor, so a mistake in one shows in the other:
#  - a symbol exported but not declared is an internal function leaking out
#    (a program could come to depend on it);
#  - a function declared but not exported is a public function a program
#    cannot link to (missing, or renamed in the source only).
# Usage: test_install_exports.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=${2:-$(dirname "$0")/../..}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

lib=$(ls "$build"/engine/libcardforge.so.*.*.* 2>/dev/null | head -n 1)
[ -n "$lib" ] || fail "no libcardforge.so in $build/engine"

nm -D --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/exported"

for h in "$src"/engine/include/cardforge/*.h; do
  echo "#include <cardforge/$(basename "$h")>"
done >"$tmp/all.c"
# Comments are gone after -E; a function is an identifier before "(", a
# function-pointer type (cf_x_fn, cf_err_t (*f)(...)) is not one.
cc -E -P -I"$src/engine/include" "$tmp/all.c" >"$tmp/all.i" || fail "public headers do not preprocess"
grep -o 'cf_[a-z0-9_]*[[:space:]]*(' "$tmp/all.i" | sed 's/[[:space:]]*($//' | grep -v '_t$' |
  sort -u >"$tmp/declared"

leaked=$(comm -23 "$tmp/exported" "$tmp/declared")
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
[ -z "$leaked" ] || fail "exported but not in the public headers: $(echo $leaked)"
[ -z "$missing" ] || fail "declared in the public headers but not exported: $(echo $missing)"
echo "exports: ok ($(wc -l <"$tmp/exported") symbols, all declared in engine/include/cardforge)"
