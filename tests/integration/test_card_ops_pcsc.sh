# test_card_ops_pcsc.sh - every card operation once on a yubikey and a gids
# (Gemalto factory values, with the admin counter shown: the driver reads
# the admin tries) card behind real pcscd + vpcd readers, run by
# tests/tools/card_ops_driver.c through libcardforge's PC/SC transport.
# Judged by others than the driver: the cards' own state files, an
# independent client (yubico-piv-tool, scriptor) verifying the final PINs,
# and the APDU traces, which must show "**" and never a PIN or key.
source "$2/tests/integration/lib/harness.sh" "$@"

driver="$CF_BUILD/tests/card_ops_driver"
[ -x "$driver" ] || cf_fail "$driver not built"
command -v yubico-piv-tool >/dev/null || cf_fail "yubico-piv-tool not installed: run scripts/setup.sh"

cf_harness_start 2 yubikey,gids+admin-counter default,gemalto

for i in 0 1; do
    out=$("$driver" "$(cf_reader_name "$i")" "$CF_SOURCE/profiles" "$CF_TMP/trace-$i.log" 2>&1)
    rc=$?
    printf '%s\n' "$out" >"$CF_TMP/driver-$i.log"
    [ "$rc" -eq 0 ] || {
        cat "$CF_TMP/driver-$i.log" >&2
        cf_fail "card_ops_driver on reader $i exited $rc"
    }
    cf_note "reader $i: $(head -n 1 "$CF_TMP/driver-$i.log"), $(grep -c '^ok ' "$CF_TMP/driver-$i.log") steps ok"
done

grep -qx "card piv-yubikey serial $((CF_SERIAL_BASE)) version '5.4.3'" "$CF_TMP/driver-0.log" ||
    cf_fail "piv card not identified as piv-yubikey with its serial: $(head -n 1 "$CF_TMP/driver-0.log")"
# CARDID of the gemalto factory: "CFGIDS" 00 00 + the serial as 16 BCD digits
cardid=$(printf '4346474944530000%016d' $((CF_SERIAL_BASE + 1)))
grep -qx "card gids-counter serial $cardid version ''" "$CF_TMP/driver-1.log" ||
    cf_fail "gids card (reporting its admin tries) not identified as gids-counter with CARDID $cardid"

# The cards' own state files.
st0=$(cf_state_file 0)
st1=$(cf_state_file 1)
grep -qix 'pin=3937353331383634' "$st0" || cf_fail "piv: PIN is not 97531864 in $st0"
grep -qix 'puk=3837363534333231' "$st0" || cf_fail "piv: PUK is not 87654321 in $st0"
grep -qix 'mgm_key=010203040506070801020304050607080102030405060708' "$st0" ||
    cf_fail "piv: management key not restored in $st0"
grep -qix 'pin=3836343230' "$st1" || cf_fail "gids: PIN is not 86420 in $st1"
grep -qix 'admin_key=0123456789ABCDEFFEDCBA98765432100011223344556677' "$st1" ||
    cf_fail "gids: admin key not changed in $st1"
grep -qx 'admin_tries=5' "$st1" || cf_fail "gids: admin counter not full again in $st1"

# Independent clients.
out=$(yubico-piv-tool -r "$(cf_reader_name 0)" -a verify-pin -P 97531864 2>&1) ||
    cf_fail "yubico-piv-tool does not accept the new PIV PIN: $out"
out=$(cf_scriptor 1 "00 A4 04 00 09 A0 00 00 03 97 42 54 46 59" "00 20 00 80 05 38 36 34 32 30")
last=$(printf '%s\n' "$out" | grep '^<' | tail -n 1)
case "$last" in
"< 90 00"*) ;;
*) cf_fail "scriptor: VERIFY of the new GIDS PIN answered '$last'" ;;
esac

# The traces: secrets redacted.
for i in 0 1; do
    grep -q '\*\*' "$CF_TMP/trace-$i.log" || cf_fail "trace $i has no redacted bytes"
done
for secret in "39 37 35 33 31 38 36 34" "32 34 36 38 31 33 35 37" "01 02 03 04 05 06 07 08" \
    "00 11 22 33 44 55 66 77 88 99 AA BB"; do
    ! grep -q "$secret" "$CF_TMP/trace-0.log" || cf_fail "piv trace shows secret bytes $secret"
done
for secret in "38 36 34 32 30" "31 33 35 37 39" "01 23 45 67 89 AB CD EF"; do
    ! grep -q "$secret" "$CF_TMP/trace-1.log" || cf_fail "gids trace shows secret bytes $secret"
done
cf_note "ok: card operations on piv and gids over PC/SC, checked by state files, yubico-piv-tool, scriptor and the traces"
