# test_vcard_readers.sh - vpcd readers with a yubikey, a gids, a standard
# piv card and one with a quirk's ATR: pcscd sees every reader with a card, each card shows
# its type's ATR to a PC/SC client, and each daemon wrote its card's state
# file. The piv card's ATR offers T=1 only: pcscd must take it, and a T=1
# connection (yubico-piv-tool 2.2.0's only kind) must reach the card.
source "$2/tests/integration/lib/harness.sh" "$@"

cf_harness_start 4 yubikey,gids,piv,piv+atr-other

names=$(cf__reader_states | cut -f2 | grep '^CardForge ')
cf_expect_eq "reader names" \
    "$(printf '%s\n%s\n%s\n%s' "$(cf_reader_name 0)" "$(cf_reader_name 1)" \
        "$(cf_reader_name 2)" "$(cf_reader_name 3)")" \
    "$names"

i=0
for type in yubikey gids piv piv+atr-other; do
    want=$("$CF_VCARD" --type "$type" --print-atr) || cf_fail "--print-atr for $type"
    r=$(cf_opensc_reader "$i") || exit 1
    got=$(opensc-tool -r "$r" -a 2>&1) || cf_fail "opensc-tool -r $r -a: $got"
    cf_expect_eq "ATR of the $type card in reader $i" "${want,,}" "${got,,}"

    st=$(cf_state_file "$i")
    grep -qx "type=${type%%+*}" "$st" || cf_fail "$st: no type=${type%%+*}"
    grep -qx "serial=$((CF_SERIAL_BASE + i))" "$st" || cf_fail "$st: wrong serial"
    [ "$(stat -c %a "$st")" = 600 ] || cf_fail "$st: mode $(stat -c %a "$st"), expected 600"

    reply=$(cf_card_ctl "$i" status) || cf_fail "status of card $i: $reply"
    case "$reply" in
    "ok present serial=$((CF_SERIAL_BASE + i)) connected=yes "*) ;;
    *) cf_fail "status of card $i: '$reply'" ;;
    esac
    i=$((i + 1))
done
# A test's own OpenSC configuration is used (here: debug output to a file).
cf_opensc_conf "app default { debug = 3; debug_file = $CF_TMP/opensc-debug.log; }"
opensc-tool -r "$(cf_opensc_reader 0)" -a >/dev/null 2>&1 || cf_fail "opensc-tool with OPENSC_CONF"
[ -s "$CF_TMP/opensc-debug.log" ] || cf_fail "OPENSC_CONF from cf_opensc_conf was not used"
# T=1 only: yubico-piv-tool 2.2.0 connects with T=1 and reads the CHUID.
out=$(yubico-piv-tool -r "$(cf_reader_name 2)" -a status 2>&1) ||
    cf_fail "yubico-piv-tool -a status on the piv card: $out"
grep -q "CHUID:" <<<"$out" || cf_fail "yubico-piv-tool shows no CHUID of the piv card: $out"
cf_note "ok: yubikey, gids, piv and piv+atr-other cards seen by pcscd with their ATRs"
