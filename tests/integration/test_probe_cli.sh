# test_probe_cli.sh - `cardforge probe` as an operator checking new card
# stock meets it, through pcscd + vpcd:
#   - it names the profile each card gets and why, the serial's source, the
#     counters (what the card said) and what the card type can do;
#   - it only reads: every card's state file is byte for byte the same
#     afterwards (no try spent, nothing written);
#   - a named profile is checked by its SELECT alone, a card that does not
#     answer it is refused with status 1; bad options are status 2.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
cf_harness_start 2 piv,gids "default,gemalto"

for i in 0 1; do cp "$(cf_state_file $i)" "$CF_TMP/before-$i.state"; done

out=$("$CLI" probe --reader "$(cf_reader_name 0)" 2>&1) || cf_fail "probe piv: $out"
cf_note "$out"
grep -q "^profile  *piv-yubikey " <<<"$out" || cf_fail "piv profile: $out"
grep -q "piv-yubikey: its ATR patterns name this card: tried first" <<<"$out" || cf_fail "why: $out"
grep -q "piv-yubikey: SELECT and probe answered as it expects" <<<"$out" || cf_fail "probe: $out"
grep -q "^serial from  *APDU 00 F8 00 00" <<<"$out" || cf_fail "serial source: $out"
grep -q "^version  *5.4.3" <<<"$out" || cf_fail "version: $out"
grep -q "^  PIN  *3 of 3" <<<"$out" || cf_fail "PIN counter: $out"
grep -q "^  admin key  *no retry counter" <<<"$out" || cf_fail "admin counter: $out"
grep -q "^  replace the admin key  *yes" <<<"$out" || cf_fail "caps: $out"

out=$("$CLI" probe --reader "$(cf_reader_name 1)" 2>&1) || cf_fail "probe gids: $out"
cf_note "$out"
grep -q "^profile  *gids-counter " <<<"$out" || cf_fail "gids profile: $out"
grep -q "^serial from  *APDU 00 CB A0 12 5C(DF20), field DF20" <<<"$out" || cf_fail "source: $out"
grep -q "^  PUK  *(the card type has none)" <<<"$out" || cf_fail "PUK: $out"
grep -q "^  admin key  *5 of 5" <<<"$out" || cf_fail "admin counter: $out"

out=$("$CLI" probe --reader "$(cf_reader_name 1)" --profile gids-gemalto 2>&1) ||
    cf_fail "named: $out"
grep -q "^profile  *gids-gemalto " <<<"$out" || cf_fail "named profile: $out"
grep -q "named: its SELECT answered, nothing else checked" <<<"$out" || cf_fail "named why: $out"

out=$("$CLI" probe --reader "$(cf_reader_name 1)" --profile piv 2>&1)
cf_expect_eq "exit status for a card that is not the named profile's" 1 $?
grep -q "is not a piv card: its application does not answer" <<<"$out" || cf_fail "refusal: $out"

"$CLI" probe >/dev/null 2>&1
cf_expect_eq "exit status without a reader" 2 $?
"$CLI" probe --reader x --allow-last-try >/dev/null 2>&1
cf_expect_eq "exit status with an option probe does not take" 2 $?

for i in 0 1; do
    cmp -s "$CF_TMP/before-$i.state" "$(cf_state_file $i)" ||
        cf_fail "card $i changed: $(diff "$CF_TMP/before-$i.state" "$(cf_state_file $i)")"
done
cf_note "probe: ok"
