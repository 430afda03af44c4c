#!/usr/bin/env bash
# The install rules: library, headers, CLI, profiles, samples and a
# pkg-config file land under the prefix, and a program built only from the
# installed files (through pkg-config) links and runs.
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || fail "install: $(tail -5 "$tmp/install.log")"
for f in bin/cardforge include/cardforge/error.h include/cardforge/plan.h \
         share/cardforge/samples/block-before-pickup/description.ini; do
  [ -e "$tmp/prefix/$f" ] || fail "$f not installed"
done
pc=$(find "$tmp/prefix" -name cardforge.pc | head -n 1)
[ -n "$pc" ] || fail "no cardforge.pc"
libdir=$(dirname "$(dirname "$pc")")
ls "$libdir"/libcardforge.so* >/dev/null 2>&1 || fail "no shared library in $libdir"

cat >"$tmp/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <cardforge/error.h>
#include <cardforge/plan.h>
#include <cardforge/version.h>
int main(void)
{
    const char *d = "[Application_B]\nBlockCard=true\n";
    cf_diag_list_t *diags = cf_diag_list_new();
    cf_plan_t *p = NULL;
    if (cf_plan_compile_mem("x.ini", d, strlen(d), diags, &p) != CF_OK)
        return 1;
    printf("%s %zu %s\n", cf_version(), cf_plan_step_count(p), cf_strerror(CF_ERR_LAST_TRY));
    cf_plan_free(p);
    cf_diag_list_free(diags);
    return 0;
}
C
extra=""
if grep -q '^CF_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then extra="-fsanitize=address,undefined"; fi
flags=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags --libs cardforge)
# The .pc names the configured prefix; point the compiler at the staged one.
cc $extra -I"$tmp/prefix/include" "$tmp/use.c" -L"$libdir" $flags -o "$tmp/use" ||
  fail "cannot build against the installed library"
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/use") || fail "program failed"
echo "$out" | grep -q ' 1 refused: the attempt could use the last remaining try$' || fail "unexpected output: $out"
"$tmp/prefix/bin/cardforge" --version >/dev/null || fail "installed CLI does not run"
# The installed profiles load, every one of them.
out=$("$tmp/prefix/bin/cardforge" profiles --profiles "$tmp/prefix/share/cardforge/profiles") ||
  fail "installed profiles do not load: $out"
for p in piv-yubikey gids gids-gemalto; do
  echo "$out" | grep -q "^  $p " || fail "profile $p not installed: $out"
done
echo "install: ok ($out)"
