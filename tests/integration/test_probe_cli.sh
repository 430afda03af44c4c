# test_probe_cli.sh - `cardforge probe` and `cardforge readers` as an
# operator checking new card
# stock meets it, through pcscd + vpcd, on a YubiKey, a standard PIV card,
# a GIDS card and a GIDS card that reports its admin tries:
#   - it names the profile each card gets and why, the serial's source, the
#     counters (only what the card said) and what the card type can do;
#   - it only reads: every card's state file is byte for byte the same
#     afterwards (no try spent, nothing written);
#   - a named profile is checked by its SELECT alone, a card that does not
#     answer it is refused with status 1; bad options are status 2.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
cf_harness_start 4 yubikey,piv,gids,gids+admin-counter "default,default,gemalto,gemalto"

for i in 0 1 2 3; do cp "$(cf_state_file $i)" "$CF_TMP/before-$i.state"; done
probe() { # I [ARGS...]: the output of probe on card I
    local i=$1
    shift
    "$CLI" probe --reader "$(cf_reader_name "$i")" "$@" 2>&1
}
want() { # OUT PATTERN WHAT
    grep -q -- "$2" <<<"$1" || cf_fail "$3: no '$2' in: $1"
}

out=$(probe 0) || cf_fail "probe yubikey: $out"
want "$out" "^profile  *piv-yubikey " "yubikey profile"
want "$out" "piv-yubikey: its ATR patterns name this card: tried first" "yubikey why"
want "$out" "piv-yubikey: SELECT and probe answered as it expects" "yubikey probe"
want "$out" "^serial from  *APDU 00 F8 00 00" "yubikey serial source"
want "$out" "^version  *5.4.3" "yubikey version"
want "$out" "^  PIN  *3 of 3" "yubikey PIN counter"
want "$out" "^  admin key  *no retry counter" "yubikey admin counter"
want "$out" "^  replace the admin key  *yes" "yubikey caps"

out=$(probe 1) || cf_fail "probe piv: $out"
want "$out" "^profile  *piv " "standard PIV profile"
want "$out" "piv-yubikey: its probe answered 6D00" "why not a YubiKey"
want "$out" "^serial from  *APDU 00 CB 3F FF 5C(5F C1 02), field 53/34" "CHUID serial source"
want "$out" "^serial  *[0-9a-f]\{22\}$(printf %010d $((CF_SERIAL_BASE + 1)))\$" "GUID ending in the serial"
want "$out" "^version  *(not read)" "no version"
want "$out" "^  PIN  *3 left" "PIN counter from the empty VERIFY"
want "$out" "^  PUK  *cannot be read (this card type has no way to report it)" "PUK counter"
want "$out" "^  replace the admin key  *no" "no key rotation on standard PIV"

out=$(probe 2) || cf_fail "probe gids: $out"
want "$out" "^profile  *gids " "gids profile"
want "$out" "gids-counter: its probe answered 6A88" "why not gids-counter"
want "$out" "gids-gemalto: not tried: only its name or its ATR can choose it" "gemalto why"
want "$out" "^serial from  *APDU 00 CB A0 12 5C(DF20), field DF20" "CARDID source"
want "$out" "^  PUK  *(the card type has none)" "no PUK"
want "$out" "^  admin key  *cannot be read (this card type has no way to report it)" "admin"

out=$(probe 3) || cf_fail "probe gids+admin-counter: $out"
want "$out" "^profile  *gids-counter " "gids-counter profile"
want "$out" "^  admin key  *5 of 5" "admin counter read"

out=$(probe 2 --profile gids-gemalto) || cf_fail "named: $out"
want "$out" "^profile  *gids-gemalto " "named profile"
want "$out" "named: its SELECT answered, nothing else checked" "named why"

out=$(probe 2 --profile piv)
cf_expect_eq "exit status for a card that is not the named profile's" 1 $?
want "$out" "is not a piv card: its application does not answer" "refusal"

# cardforge readers: every reader, its card and the profile it would get.
out=$("$CLI" readers 2>&1) || cf_fail "readers: $out"
cf_note "$out"
want "$out" "^$(cf_reader_name 0)  *card  *piv-yubikey serial $CF_SERIAL_BASE" "readers: yubikey"
want "$out" "^$(cf_reader_name 1)  *card  *piv serial [0-9a-f]\{32\}" "readers: piv"
want "$out" "^$(cf_reader_name 2)  *card  *gids serial [0-9a-f]\{32\}" "readers: gids"
want "$out" "^$(cf_reader_name 3)  *card  *gids-counter serial" "readers: gids-counter"
want "$out" "^  ATR 3BFD1300008131FE158073C021C057597562694B657940" "readers: ATR"
"$CLI" readers --json >"$CF_TMP/readers.json" || cf_fail "readers --json"
python3 - "$CF_TMP/readers.json" <<'PY' || cf_fail "readers --json: $(cat "$CF_TMP/readers.json")"
import json, sys
r = json.load(open(sys.argv[1]))["readers"]
assert [x["profile"] for x in r[:4]] == ["piv-yubikey", "piv", "gids", "gids-counter"], r
assert all(x["state"] == "card" and x["atr"] for x in r[:4]), r
PY

# run --dry-run on PC/SC readers: checks the card in each reader once and
# ends; --readers naming no reader ends at once naming the readers there are.
S="$CF_SOURCE/samples/pin-by-puk-literal"
out=$(timeout 60 "$CLI" run "$S/description.ini" --batch "$S/batch.csv" --dry-run \
    --journal "$CF_TMP/dry.jsonl" --readers "$(cf_reader_name 0),$(cf_reader_name 1)" 2>&1)
rc=$?
[ $rc -ne 124 ] || cf_fail "the dry run did not end: $out"
cf_expect_eq "exit status of a dry run every card passes" 0 $rc
grep -q "^dry run: 2 cards checked: 2 could be personalized, 0 refused" <<<"$out" ||
    cf_fail "dry run summary: $out"
[ -e "$CF_TMP/dry.jsonl" ] && cf_fail "the dry run wrote a journal"
out=$(timeout 60 "$CLI" run "$S/description.ini" --batch "$S/batch.csv" \
    --journal "$CF_TMP/none.jsonl" --readers nosuch 2>&1)
rc=$?
[ $rc -ne 124 ] || cf_fail "a run naming no reader waited: $out"
cf_expect_eq "exit status when no reader matches" 1 $rc
grep -q "no reader matches 'nosuch'; the readers are: '$(cf_reader_name 0)'" <<<"$out" ||
    cf_fail "unknown reader: $out"

umask 022
out=$(probe 1 --trace "$CF_TMP/probe.trace") || cf_fail "probe with a trace: $out"
cf_expect_eq "trace file mode (like the journal's)" 600 "$(stat -c %a "$CF_TMP/probe.trace")"
grep -q "> 00 A4 04 00" "$CF_TMP/probe.trace" || cf_fail "empty trace: $(cat "$CF_TMP/probe.trace")"

"$CLI" probe >/dev/null 2>&1
cf_expect_eq "exit status without a reader" 2 $?
"$CLI" probe --reader x --allow-last-try >/dev/null 2>&1
cf_expect_eq "exit status with an option probe does not take" 2 $?

for i in 0 1 2 3; do
    cmp -s "$CF_TMP/before-$i.state" "$(cf_state_file $i)" ||
        cf_fail "card $i changed: $(diff "$CF_TMP/before-$i.state" "$(cf_state_file $i)")"
done
cf_note "probe: ok"
