# test_cli_profiles.sh - `cardforge profiles`: the shipped profiles are valid
# and listed; a broken profile is reported as file:line with status 1; an
# unreadable directory is a usage error (2). --json: one document that
# python's json module parses, listing the same profiles with their PIN
# policies; a broken profile gives "valid": false with its diagnostic and
# status 1; an unreadable directory leaves stdout empty (status 2).
set -u
CLI="$1/tools/cardforge"
SRC="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$CLI" profiles --profiles "$SRC/profiles" 2>&1) || fail "shipped profiles: $out"
echo "$out" | grep >/dev/null "^5 profiles in " || fail "count: $out"
for p in piv piv-yubikey gids gids-counter gids-gemalto; do
    echo "$out" | grep >/dev/null "^  $p " || fail "$p not listed: $out"
done

# --json: the same five profiles, with what the text listing says of them.
"$CLI" profiles --profiles "$SRC/profiles" --json >"$tmp/p.json" 2>"$tmp/p.err" ||
    fail "--json: $(cat "$tmp/p.err")"
python3 - "$tmp/p.json" "$SRC/profiles" <<'PY' || fail "--json document: $(cat "$tmp/p.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["directory"] == sys.argv[2], d["directory"]
assert d["valid"] is True and d["diagnostics"] == [], d
names = [p["name"] for p in d["profiles"]]
assert sorted(names) == sorted(["piv", "piv-yubikey", "gids", "gids-counter", "gids-gemalto"]), names
by = {p["name"]: p for p in d["profiles"]}
assert by["piv-yubikey"]["family"] == "piv" and by["gids"]["family"] == "gids", by
assert by["piv-yubikey"]["pin_policy"] == "6-8 characters, printable ASCII", by["piv-yubikey"]
assert by["gids"]["pin_policy"] == "4-15 characters, printable ASCII", by["gids"]
assert all(p["description"] and p["serial_from"] for p in d["profiles"]), d
PY

cp "$SRC/profiles/"*.yaml "$tmp/"
sed -i 's/^family: piv$/family: piv\nbogus_key: 1/' "$tmp/piv.yaml"
line=$(grep -n '^bogus_key' "$tmp/piv.yaml" | cut -d: -f1)
out=$("$CLI" profiles --profiles "$tmp" 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "broken profile: exit $rc, expected 1: $out"
echo "$out" | grep >/dev/null "piv.yaml:$line: error: .*unknown key 'bogus_key'" ||
    fail "no file:line diagnostic: $out"

"$CLI" profiles --profiles "$tmp" --json >"$tmp/b.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "broken profile, --json: exit $rc, expected 1"
python3 - "$line" "$tmp/b.json" <<'PY' || fail "broken profile --json: $(cat "$tmp/b.json")"
import json, sys
d = json.load(open(sys.argv[2]))
assert d["valid"] is False and d["profiles"] == [], d
bad = [x for x in d["diagnostics"] if x["severity"] == "error"]
assert any(x["file"].endswith("piv.yaml") and x["line"] == int(sys.argv[1])
           and "unknown key 'bogus_key'" in x["message"] for x in bad), bad
PY
grep -q "piv.yaml:$line: error: .*unknown key 'bogus_key'" "$tmp/err" || fail "--json: no stderr diagnostic"

# A FIFO named like a profile is refused at once, never waited on.
mkdir "$tmp/fifo"
cp "$SRC/profiles/"*.yaml "$tmp/fifo/"
mkfifo "$tmp/fifo/zz.yaml"
out=$(timeout 10 "$CLI" profiles --profiles "$tmp/fifo" 2>&1)
rc=$?
[ $rc -ne 124 ] || fail "a FIFO among the profiles hangs the load"
echo "$out" | grep >/dev/null "zz.yaml.*refused: not a regular file" || fail "FIFO: exit $rc: $out"

"$CLI" profiles --profiles "$tmp/none" >/dev/null 2>&1
[ $? -eq 2 ] || fail "missing directory must be status 2"
out=$("$CLI" profiles --profiles "$tmp/none" --json 2>/dev/null)
[ $? -eq 2 ] || fail "missing directory with --json must be status 2"
[ -z "$out" ] || fail "missing directory with --json left output on stdout: $out"
"$CLI" profiles --help | grep >/dev/null "usage: cardforge profiles" || fail "--help"
echo "profiles CLI: ok"
