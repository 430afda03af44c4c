#!/usr/bin/env bash
# Every external command the integration tests call is installed by
# scripts/setup.sh, so a fresh machine set up by it runs them all (xxd was
# missing once: test_helpdesk_cli needs it).
#
# How it decides, and why so:
#  - the commands are read from tests/integration/*.sh and lib/*.sh by
#    lib/commands_used.py (the words in command position; the Python helpers
#    only run what the shell scripts hand them). Bash builtins and keywords
#    are not commands.
#  - TABLE below names the package of each command that no base Debian 12
#    system has. It is the truth on any machine, whether or not the command
#    is installed there: each of its packages must be in setup.sh's list.
#    Where the command is installed, dpkg must agree (the owner of the file
#    is that package, or one the listed packages pull in).
#  - a command not in TABLE must come, on this machine, from an Essential
#    or Priority: required package (coreutils, grep, sed, mawk, ...) or one
#    the listed packages pull in; otherwise it is reported. A command that
#    is neither in TABLE nor installed here is reported too: add it to TABLE
#    (or to NOT_COMMANDS if the reader mistook a word for a command).
# dpkg and apt-cache are asked about installed packages only (no network).
set -euo pipefail
src=${2:-$(dirname "$0")/../..}
src=$(cd "$src" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

declare -A TABLE=(
  [cc]=build-essential [nm]=build-essential [cmake]=cmake [pkg-config]=pkg-config
  [python3]=python3 [openssl]=openssl [xxd]=xxd [ip]=iproute2 [unshare]=util-linux
  [pcscd]=pcscd [scriptor]=pcsc-tools [opensc-tool]=opensc [pkcs11-tool]=opensc
  [gids-tool]=opensc [ykman]=yubikey-manager [yubico-piv-tool]=yubico-piv-tool
  [curl]=curl [chromium]=chromium [chromedriver]=chromium-driver
)
NOT_COMMANDS=()

command -v dpkg-query >/dev/null && command -v apt-cache >/dev/null ||
  { echo "SKIP: not a Debian system (no dpkg)"; exit 0; }

mapfile -t packages < <(sed -n '/^PACKAGES=(/,/^)/p' "$src/scripts/setup.sh" |
  sed '1d;$d' | tr -s ' \t' '\n' | sed '/^$/d')
[ "${#packages[@]}" -gt 5 ] || fail "cannot read PACKAGES from scripts/setup.sh"
listed() { printf '%s\n' "${packages[@]}" | grep -xF >/dev/null "$1"; }

# The installed packages the listed ones pull in (Depends, Pre-Depends).
mapfile -t pulled < <(apt-cache depends --recurse --installed --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances "${packages[@]}" 2>/dev/null |
  grep -v '^ ' | sed 's/:.*//' | sort -u)
in_closure() { printf '%s\n' "${pulled[@]}" | grep -xF >/dev/null "$1"; }

# The commands, less the shell's own words, and where each is installed
# here: one dpkg -S for them all (it is slow to start). Debian 12 merged /bin
# into /usr/bin, but dpkg knows many files by their /bin name.
builtins=$(compgen -b; compgen -k)
declare -A script_of=() owner_of=()
paths=()
while read -r cmd script; do
  grep -qxF -- "$cmd" <<<"$builtins" && continue
  [ "${#NOT_COMMANDS[@]}" -gt 0 ] && printf '%s\n' "${NOT_COMMANDS[@]}" | grep -xF >/dev/null -- "$cmd" && continue
  script_of[$cmd]=${script##*/}
  path=$(type -P "$cmd") || continue
  real=$(readlink -f "$path")
  paths+=("$real" "$path" "/bin/${real##*/}" "/sbin/${real##*/}")
done < <(python3 "$src/tests/integration/lib/commands_used.py" \
           "$src"/tests/integration/*.sh "$src"/tests/integration/lib/*.sh)
declare -A pkg_of_path=()
while IFS= read -r line; do
  pkg_of_path[${line#*: }]=${line%%:*}
done < <(dpkg -S "${paths[@]}" 2>/dev/null | sed 's/, [^:]*:/:/' || true)
owner() { # COMMAND: the package that installed it here, or nothing
  local path real p
  path=$(type -P "$1") || return 0
  real=$(readlink -f "$path")
  for p in "$real" "$path" "/bin/${real##*/}" "/sbin/${real##*/}"; do
    if [ -n "${pkg_of_path[$p]:-}" ]; then
      echo "${pkg_of_path[$p]}"
      return 0
    fi
  done
}
# The packages every Debian system has (Essential, or Priority: required).
mapfile -t base_packages < <(dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' |
  awk '$2 == "yes" || $3 == "required" { print $1 }')
base() { printf '%s\n' "${base_packages[@]}" | grep -xF >/dev/null "$1"; }

for c in "${!TABLE[@]}"; do
  listed "${TABLE[$c]}" || fail "$c needs package ${TABLE[$c]}, not in scripts/setup.sh"
done

problems=()
n=0
for cmd in $(printf '%s\n' "${!script_of[@]}" | sort); do
  script=${script_of[$cmd]}
  n=$((n + 1))
  pkg=$(owner "$cmd")
  if [ -n "${TABLE[$cmd]:-}" ]; then
    want=${TABLE[$cmd]}
    if [ -n "$pkg" ] && [ "$pkg" != "$want" ] && ! in_closure "$pkg"; then
      problems+=("$cmd ($script): TABLE says $want, but it comes from $pkg here")
    fi
  elif [ -z "$pkg" ]; then
    problems+=("$cmd ($script): not installed here and not in TABLE")
  elif ! base "$pkg" && ! listed "$pkg" && ! in_closure "$pkg"; then
    problems+=("$cmd ($script): from $pkg, which scripts/setup.sh does not install")
  fi
done

[ "$n" -gt 20 ] || fail "only $n commands found: the reader is broken"
if [ "${#problems[@]}" -gt 0 ]; then
  printf 'FAIL: %s\n' "${problems[@]}"
  exit 1
fi
echo "setup packages: ok ($n commands, ${#packages[@]} packages)"
