# test_vcard_16readers.sh - the pcsc-lite maximum: 8 reader entries (each
# with its own driver copy) give 16 readers, all with a card, each reader
# reaching its own card.
source "$2/tests/integration/lib/harness.sh" "$@"

cf_harness_start 16 yubikey,gids
[ "$(cf__reader_states | grep -c '^Yes	CardForge ')" -eq 16 ] ||
    cf_fail "expected 16 CardForge readers with a card:"$'\n'"$(cf__reader_states)"

for ((i = 0; i < 16; i++)); do
    out=$(cf_scriptor "$i" 00C0000000)
    grep -qE '^< ([0-9A-F]{2} )*[0-9A-F]{2} [0-9A-F]{2} :' <<<"$out" ||
        cf_fail "reader $i: no answer:"$'\n'"$out"
    # The APDU reached card i, not another reader's card.
    case "$(cf_card_ctl "$i" status)" in
    "ok present serial=$((CF_SERIAL_BASE + i)) connected=yes apdus="[1-9]*) ;;
    *) cf_fail "card $i did not receive reader $i's APDU: $(cf_card_ctl "$i" status)" ;;
    esac
done
cf_note "ok: 16 readers, 16 cards, each answering"
