#!/usr/bin/env bash
# The install rules: `cmake --install --prefix P` gives a prefix that works
# on its own, wherever it is later copied.
#  - library, headers, CLI, profiles, samples, cardforge.pc, the CMake
#    package and the man pages (made from the programs' --help) land under P;
#  - a program built only from the installed files links and runs, built
#    with pkg-config (whose prefix is P, found from the .pc file's place) and
#    with find_package(cardforge) (the imported target cardforge::cardforge);
#  - P copied elsewhere, the original removed: the CLI lists the copy's
#    profiles and validates a sample, and nothing of the source tree is
#    compiled into it (it could only be found from inside a build tree);
#  - CARDFORGE_PROFILES overrides the profiles found, --profiles overrides
#    CARDFORGE_PROFILES.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || fail "install: $(tail -5 "$tmp/install.log")"
for f in bin/cardforge include/cardforge/error.h include/cardforge/plan.h \
         share/cardforge/samples/block-before-pickup/description.ini \
         share/cardforge/profiles/piv.yaml; do
  [ -e "$tmp/prefix/$f" ] || fail "$f not installed"
done

# Man pages, made from the programs' --help: one section per command, the
# usage lines the programs print.
man1="$tmp/prefix/share/man/man1"
[ -e "$man1/cardforge.1" ] && [ -e "$man1/cardforge-vcard.1" ] || fail "man pages not installed"
for c in validate plan personalize pin probe readers profiles helpdesk run report export; do
  grep -q "^\.SS cardforge $c\$" "$man1/cardforge.1" || fail "cardforge.1 lacks the $c command"
done
grep -q "^cardforge run DESC --batch CSV --journal FILE" "$man1/cardforge.1" ||
  grep >/dev/null "usage: cardforge run DESC --batch CSV --journal FILE" "$man1/cardforge.1" ||
  fail "cardforge.1 lacks run's usage"
grep -q "^cardforge-vcard --port P --type TYPE" "$man1/cardforge-vcard.1" ||
  fail "cardforge-vcard.1 lacks its usage"
w=$(groff -man -Tutf8 -ww -z "$man1/cardforge.1" "$man1/cardforge-vcard.1" 2>&1) ||
  fail "groff cannot render the man pages: $w"
[ -z "$w" ] || fail "groff warns about the man pages: $w"

# Everything below runs from the copy, the installed prefix gone: a file
# still naming the install prefix would fail here.
cp -a "$tmp/prefix" "$tmp/moved"
rm -rf "$tmp/prefix"
P=$(cd "$tmp/moved" && pwd -P)
pc=$(find "$P" -name cardforge.pc | head -n 1)
[ -n "$pc" ] || fail "no cardforge.pc"
libdir=$(dirname "$(dirname "$pc")")
ls "$libdir"/libcardforge.so* >/dev/null 2>&1 || fail "no shared library in $libdir"
config=$(find "$P" -name cardforgeConfig.cmake | head -n 1)
[ -n "$config" ] || fail "no cardforgeConfig.cmake"
[ -e "$(dirname "$config")/cardforgeConfigVersion.cmake" ] || fail "no cardforgeConfigVersion.cmake"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
pcprefix=$(pkg-config --variable=prefix cardforge)
[ "$(cd "$pcprefix" && pwd -P)" = "$(cd "$P" && pwd -P)" ] ||
  fail "cardforge.pc prefix is $pcprefix, not the prefix it is installed in ($P)"

mkdir "$tmp/consumer"
cat >"$tmp/consumer/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <cardforge/card.h>
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
    printf("profiles %s\n", cf_profiles_default_dir());
    cf_plan_free(p);
    cf_diag_list_free(diags);
    return 0;
}
C
extra=""
if grep -q '^CF_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then extra="-fsanitize=address,undefined"; fi
check_use() { # how-built program
  local out
  out=$(cd "$tmp" && LD_LIBRARY_PATH="$libdir" "$2") || fail "$1: program failed"
  echo "$out" | grep >/dev/null ' 1 refused: the attempt could use the last remaining try$' ||
    fail "$1: unexpected output: $out"
  # A program elsewhere finds the profiles beside the shared library it uses.
  echo "$out" | grep -x >/dev/null "profiles $P/share/cardforge/profiles" ||
    fail "$1: default profiles not the prefix's: $out"
}

# pkg-config, and nothing else: no -I or -L of our own.
# shellcheck disable=SC2046
cc $extra "$tmp/consumer/use.c" $(pkg-config --cflags --libs cardforge) -o "$tmp/consumer/use-pc" ||
  fail "cannot build against the installed library with pkg-config"
check_use pkg-config "$tmp/consumer/use-pc"

# find_package(cardforge), with only the prefix named.
cat >"$tmp/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(use_cardforge LANGUAGES C)
find_package(cardforge 0.1 REQUIRED)
add_executable(use-cmake use.c)
target_link_libraries(use-cmake PRIVATE cardforge::cardforge)
CM
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$P" \
  -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >"$tmp/consumer.log" 2>&1 ||
  fail "find_package(cardforge): $(tail -15 "$tmp/consumer.log")"
cmake --build "$tmp/consumer/build" >>"$tmp/consumer.log" 2>&1 ||
  fail "cannot build with cardforge::cardforge: $(tail -15 "$tmp/consumer.log")"
check_use find_package "$tmp/consumer/build/use-cmake"

# The installed CLI, run from elsewhere, with its own profiles.
cli="$P/bin/cardforge"
# (Debug information and assert() name source files; the profiles' place
# must not be among the strings.)
if grep -aqF "$src/profiles" "$cli" "$libdir"/libcardforge.so*; then
  fail "the source tree's profiles ($src/profiles) are named in the installed files"
fi
"$cli" --version >/dev/null || fail "installed CLI does not run"
out=$(cd "$tmp" && env -u CARDFORGE_PROFILES "$cli" profiles) || fail "installed profiles do not load: $out"
echo "$out" | grep -x >/dev/null "5 profiles in $P/share/cardforge/profiles" ||
  fail "installed CLI does not read the prefix's profiles: $out"
for p in piv piv-yubikey gids gids-counter gids-gemalto; do
  echo "$out" | grep >/dev/null "^  $p " || fail "profile $p not installed: $out"
done
out=$(cd "$tmp" && "$cli" validate "$P/share/cardforge/samples/block-before-pickup/description.ini" 2>&1) ||
  fail "installed CLI cannot validate an installed sample: $out"

# The overrides: CARDFORGE_PROFILES, then --profiles above it.
mkdir "$tmp/alt"
cp "$P/share/cardforge/profiles/piv.yaml" "$tmp/alt/"
out=$(cd "$tmp" && CARDFORGE_PROFILES="$tmp/alt" "$cli" profiles) || fail "CARDFORGE_PROFILES: $out"
echo "$out" | grep -x >/dev/null "1 profiles in $tmp/alt" || fail "CARDFORGE_PROFILES not used: $out"
out=$(cd "$tmp" && CARDFORGE_PROFILES="$tmp/none" "$cli" profiles --profiles "$P/share/cardforge/profiles") ||
  fail "--profiles must win over CARDFORGE_PROFILES: $out"
echo "$out" | grep >/dev/null "^5 profiles in $P/share/cardforge/profiles$" || fail "--profiles not used: $out"
set +e
out=$(cd "$tmp" && CARDFORGE_PROFILES="$tmp/none" "$cli" profiles 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] && echo "$out" | grep -F >/dev/null "$tmp/none" ||
  fail "a CARDFORGE_PROFILES that does not exist must be named (exit 2): exit $rc: $out"
echo "install: ok"
