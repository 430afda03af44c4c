# test_interop_standard_cards.sh - the sample jobs through the real pcscd on
# cards that are not YubiKeys and GIDS cards that cannot report their admin
# tries, judged by clients nobody here wrote:
#   - readers 0-1: a standard PIV card (SP 800-73-4, no vendor extension)
#     and one of another vendor's habits (the whole AID in the SELECT
#     answer, an ATR no profile lists, 6A80 for a wrong cryptogram);
#     `cardforge run` sets the PIN with the PUK and changes the PUK
#     (samples/pin-by-puk-per-card); yubico-piv-tool verifies each holder's
#     PIN and unblocks with each holder's new PUK, OpenSC logs in;
#   - readers 2-3: GIDS cards without the admin counter (one answering 6984
#     for objects it lacks); `cardforge run` sets the PIN with the admin key,
#     rotates the key, proves it as the challenge-response key and blocks
#     the PIN (samples/offline-unblock); pkcs11-tool sees the PIN locked,
#     gids-tool -U unblocks it with each card's new admin key, pkcs11-tool
#     logs in with the new PIN.
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -f "$MODULE" ] || cf_fail "$MODULE missing: install opensc-pkcs11 (scripts/setup.sh)"
for tool in yubico-piv-tool pkcs11-tool gids-tool; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done
export CF_PCSCD_LOG="" # pcscd's APDU log would hold the PINs; not needed here

CLI="$CF_BUILD/tools/cardforge"
cf_harness_start 4 "piv,piv+aid-full+atr-other+wrong-6a80,gids,gids+absent-6984" \
    "default,default,gemalto,gemalto"
cf_opensc_conf 'app default { }'

# The batch value of COLUMN for the record the journal gave card I.
value_of() { # JOURNAL CSV I COLUMN
    python3 - "$@" "$CF_SERIAL_BASE" <<'PY'
import csv, json, sys
journal, batch, i, col, base = sys.argv[1:6]
serial_end = "%010d" % (int(base) + int(i))
rows = list(csv.DictReader(open(batch)))
for line in open(journal):
    r = json.loads(line)
    if r.get("type") == "card" and r["status"] == "personalized" and r["serial"].endswith(serial_end):
        print(rows[r["record"] - 1][col])
        sys.exit(0)
sys.exit("no personalized card record for card %s" % i)
PY
}

# ---- PIV cards --------------------------------------------------------------
S="$CF_SOURCE/samples/pin-by-puk-per-card"
JP="$CF_TMP/piv.jsonl"
cf_expect_run "run pin-by-puk-per-card" 0 "$CLI" run "$S/description.ini" --batch "$S/batch.csv" \
    --journal "$JP" --readers "$(cf_reader_name 0),$(cf_reader_name 1)"
cf_expect_out "run piv" "summary: 2 of 2 records personalized"
for i in 0 1; do
    grep -q "\"serial\":\"[0-9a-f]*$(printf %010d $((CF_SERIAL_BASE + i)))\",.*\"profile\":\"piv\",.*\"status\":\"personalized\"" "$JP" ||
        cf_fail "card $i not personalized as a piv card: $(cat "$JP")"
    pin=$(value_of "$JP" "$S/batch.csv" "$i" PIN) || exit 1
    puk=$(value_of "$JP" "$S/batch.csv" "$i" NEW_PUK) || exit 1
    r=$(cf_reader_name "$i")
    cf_expect_run "yubico-piv-tool verify-pin (card $i)" 0 yubico-piv-tool -r "$r" -a verify-pin -P "$pin"
    cf_expect_out "verify-pin $i" "Successfully verified PIN"
    cf_expect_run "pkcs11-tool login (card $i)" 0 pkcs11-tool --module "$MODULE" \
        --slot-index "$(cf_opensc_reader "$i")" --login --pin "$pin" -O
    cf_expect_run "yubico-piv-tool unblock-pin with the new PUK (card $i)" 0 \
        yubico-piv-tool -r "$r" -a unblock-pin -P "$puk" -N 97531864
    cf_expect_state "$i" pin "$(cf_hex 97531864)"
    cf_expect_state "$i" puk_tries 3
done

# ---- GIDS cards -------------------------------------------------------------
S="$CF_SOURCE/samples/offline-unblock"
JG="$CF_TMP/gids.jsonl"
cf_expect_run "run offline-unblock" 0 "$CLI" run "$S/description.ini" --batch "$S/batch.csv" \
    --journal "$JG" --readers "$(cf_reader_name 2),$(cf_reader_name 3)"
cf_expect_out "run gids" "summary: 2 of 2 records personalized"
for i in 2 3; do
    grep -q "\"serial\":\"[0-9a-f]*$(printf %010d $((CF_SERIAL_BASE + i)))\",.*\"profile\":\"gids\",.*\"status\":\"personalized\"" "$JG" ||
        cf_fail "card $i not personalized as a gids card: $(cat "$JG")"
    key=$(value_of "$JG" "$S/batch.csv" "$i" NEW_ADMIN_KEY) || exit 1
    n=$(cf_opensc_reader "$i")
    cf_expect_run "pkcs11-tool -T (card $i)" 0 pkcs11-tool --module "$MODULE" --slot-index "$n" -T
    cf_expect_out "-T (card $i)" "user PIN locked"
    cf_expect_state "$i" pin_tries 0
    cf_expect_run "gids-tool -U with the new admin key (card $i)" 0 \
        gids-tool -r "$n" -U --admin-key "$key" --pin 86420
    cf_expect_state "$i" pin "$(cf_hex 86420)"
    cf_expect_run "pkcs11-tool login with the new PIN (card $i)" 0 pkcs11-tool --module "$MODULE" \
        --slot-index "$n" --login --pin 86420 -O
done
cf_note "standard cards: ok"
