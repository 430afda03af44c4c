# test_cli_profiles.sh - `cardforge profiles`: the shipped profiles are valid
# and listed; a broken profile is reported as file:line with status 1; an
# unreadable directory is a usage error (2).
set -u
CLI="$1/tools/cardforge"
SRC="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$CLI" profiles --profiles "$SRC/profiles" 2>&1) || fail "shipped profiles: $out"
echo "$out" | grep -q "^5 profiles in " || fail "count: $out"
for p in piv piv-yubikey gids gids-counter gids-gemalto; do
    echo "$out" | grep -q "^  $p " || fail "$p not listed: $out"
done

cp "$SRC/profiles/"*.yaml "$tmp/"
sed -i 's/^family: piv$/family: piv\nbogus_key: 1/' "$tmp/piv.yaml"
line=$(grep -n '^bogus_key' "$tmp/piv.yaml" | cut -d: -f1)
out=$("$CLI" profiles --profiles "$tmp" 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "broken profile: exit $rc, expected 1: $out"
echo "$out" | grep -q "piv.yaml:$line: error: .*unknown key 'bogus_key'" ||
    fail "no file:line diagnostic: $out"

# A FIFO named like a profile is refused at once, never waited on.
mkdir "$tmp/fifo"
cp "$SRC/profiles/"*.yaml "$tmp/fifo/"
mkfifo "$tmp/fifo/zz.yaml"
out=$(timeout 10 "$CLI" profiles --profiles "$tmp/fifo" 2>&1)
rc=$?
[ $rc -ne 124 ] || fail "a FIFO among the profiles hangs the load"
echo "$out" | grep -q "zz.yaml.*refused: not a regular file" || fail "FIFO: exit $rc: $out"

"$CLI" profiles --profiles "$tmp/none" >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing directory must be status 2"
"$CLI" profiles --help | grep -q "usage: cardforge profiles" || fail "--help"
echo "profiles CLI: ok"
