# test_run_chuid_pcsc.sh - `cardforge run` through the real pcscd + vpcd
# writes a CHUID with a GUID of its own and a CCC on every PIV card of a
# batch (two yubikey cards, one standard piv card whose factory CHUID is
# replaced), judged by clients nobody here wrote:
#   - yubico-piv-tool -a status prints each card's CHUID and CCC: the bytes
#     parse as SP 800-73-4 lays them out (FASC-N, GUID, expiry, empty
#     signature, FE; CCC card identifier with the GSC-RID), every card's GUID
#     differs, and each GUID is the one the journal recorded for that card;
#   - ykman piv info prints the same CHUID and CCC (the yubikey cards);
#   - OpenSC (pkcs15-tool on the card) reads the same GUID as the token's
#     serial number;
#   - each card's state file holds the bytes the tool printed;
#   - the piv card, whose serial is its CHUID's GUID, is known as done under
#     the new GUID when a later run identifies it again.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
N=3
export CF_PCSCD_LOG="" # the APDU log would hold the PINs; not needed here

cf_harness_start "$N" yubikey,yubikey,piv

cat >"$CF_TMP/job.ini" <<'EOF'
; PIN by the factory PUK, then the identity objects under the factory key.
[Fields]
PIN=

[Description]
SetPIN=true
PIN=PIN
InitialPUK=#12345678
CardManagerKey=#010203040506070801020304050607080102030405060708

[Application_PIV]
CHUID=generate
CHUIDExpiry=20301231
CCC=generate
EOF
printf 'ID,PIN\n1,246810\n2,135791\n3,112233\n' >"$CF_TMP/batch.csv"

J="$CF_TMP/journal.jsonl"
out="$CF_TMP/run.out"
timeout 120 "$CLI" run "$CF_TMP/job.ini" --batch "$CF_TMP/batch.csv" --journal "$J" \
    --readers CardForge >"$out" 2>&1 || { cat "$out"; cf_fail "cardforge run failed"; }
grep -q "3 of 3 records personalized" "$out" || { cat "$out"; cf_fail "not every record done"; }

# The journal's GUID of the card in reader I ("CardForge E 00 0S", I = 2E+S).
journal_guid() {
    python3 - "$J" "$(cf_reader_name "$1")" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "card" and r.get("reader") == sys.argv[2] and r["status"] == "personalized":
        for s in r["steps"]:
            if s["step"] == "write-chuid":
                print(s["guid"])
PY
}

# Check the CHUID and CCC hex yubico-piv-tool printed; print the GUID.
check_objects() { # CHUID_HEX CCC_HEX
    python3 - "$1" "$2" <<'PY'
import sys
chuid, ccc = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
def tlvs(b):
    i, out = 0, []
    while i < len(b):
        t, l = b[i], b[i + 1]
        assert l < 0x80, "short lengths only in these objects"
        out.append((t, b[i + 2:i + 2 + l]))
        i += 2 + l
    assert i == len(b), "trailing bytes"
    return out
t = tlvs(chuid)
assert [x[0] for x in t] == [0x30, 0x34, 0x35, 0x3E, 0xFE], t
fascn, guid, expiry = t[0][1], t[1][1], t[2][1]
# the non-federal all-nines FASC-N of SP 800-73-4 / TIG SCEPACS
assert fascn.hex() == "d4e739da739ced39ce739d836858210842108421c84210c3eb", fascn.hex()
assert len(guid) == 16 and guid[6] >> 4 == 4 and guid[8] & 0xC0 == 0x80, guid.hex()  # RFC 4122 v4
assert expiry == b"20301231", expiry
assert t[3][1] == b"" and t[4][1] == b"", "signature and EDC must be empty"
c = tlvs(ccc)
assert [x[0] for x in c] == [0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xFA, 0xFB, 0xFC,
                             0xFD, 0xFE], c
card_id = c[0][1]
assert len(card_id) == 21 and card_id[:7] == bytes.fromhex("a000000116ff02"), card_id.hex()
assert c[1][1] == b"\x21" and c[2][1] == b"\x21" and c[5][1] == b"\x10", c
print(guid.hex(), card_id[7:].hex())
PY
}

guids=() ids=()
for ((i = 0; i < N; i++)); do
    st=$(yubico-piv-tool -r "$(cf_reader_name "$i")" -a status 2>&1) ||
        cf_fail "yubico-piv-tool -a status on reader $i: $st"
    chuid=$(sed -n 's/^CHUID:[[:space:]]*//p' <<<"$st")
    ccc=$(sed -n 's/^CCC:[[:space:]]*//p' <<<"$st")
    [ -n "$chuid" ] && [ -n "$ccc" ] || cf_fail "reader $i: status shows no CHUID or CCC: $st"
    read -r guid id < <(check_objects "$chuid" "$ccc") ||
        cf_fail "reader $i: the CHUID or CCC is not laid out as SP 800-73-4 says"
    [ -n "$guid" ] || cf_fail "reader $i: the CHUID or CCC does not parse"
    cf_expect_eq "reader $i GUID in the journal" "$guid" "$(journal_guid "$i")"
    cf_expect_eq "reader $i CHUID in the state file" "${chuid^^}" \
        "$(sed -n 's/^obj_5FC102=//p' "$(cf_state_file "$i")" | tr a-f A-F)"
    cf_expect_eq "reader $i CCC in the state file" "${ccc^^}" \
        "$(sed -n 's/^obj_5FC107=//p' "$(cf_state_file "$i")" | tr a-f A-F)"
    # ykman (yubikey cards: it needs GET VERSION) prints both objects too
    if [ "$i" -lt 2 ]; then
        yk=$(ykman --reader "$(cf_reader_name "$i")" piv info 2>&1) ||
            cf_fail "ykman piv info on reader $i: $yk"
        cf_expect_eq "reader $i CHUID as ykman prints it" "${chuid,,}" \
            "$(sed -n 's/^CHUID:[[:space:]]*//p' <<<"$yk" | tr A-F a-f)"
        cf_expect_eq "reader $i CCC as ykman prints it" "${ccc,,}" \
            "$(sed -n 's/^CCC:[[:space:]]*//p' <<<"$yk" | tr A-F a-f)"
    fi
    # OpenSC takes the token serial from the CHUID's GUID
    ser=$(pkcs15-tool --reader "$(cf_opensc_reader "$i")" --list-info 2>&1 | sed -n 's/^[[:space:]]*Serial number[[:space:]]*:[[:space:]]*//p')
    cf_expect_eq "reader $i serial as OpenSC reads it" "$guid" "${ser,,}"
    guids+=("$guid")
    ids+=("$id")
done

[ "$(printf '%s\n' "${guids[@]}" | sort -u | wc -l)" -eq "$N" ] ||
    cf_fail "GUIDs repeat: ${guids[*]}"
[ "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" -eq "$N" ] ||
    cf_fail "CCC card identifiers repeat: ${ids[*]}"
# `cardforge export` gives a card management system each card's GUID
"$CLI" export "$J" >"$CF_TMP/export.csv" || cf_fail "cardforge export failed"
got=$(python3 -c 'import csv, sys
print(" ".join(sorted(r["chuid_guid"] for r in csv.DictReader(open(sys.argv[1]))
                      if r["status"] == "personalized")))' "$CF_TMP/export.csv")
cf_expect_eq "the export's GUIDs = the cards' GUIDs" \
    "$(printf '%s\n' "${guids[@]}" | sort | paste -sd' ')" "$got"
# the standard card's factory CHUID (GUID "CFPIV" + serial) is gone
case "${guids[2]}" in 4346504956*) cf_fail "the piv card kept its factory GUID" ;; esac

# Identified again (a reader coming back, a resumed run), the piv card
# answers with its new GUID as its serial: still a personalized card, never
# given the next record.
timeout 60 "$CLI" run "$CF_TMP/job.ini" --batch "$CF_TMP/batch.csv" --journal "$J" \
    --readers CardForge --dry-run >"$CF_TMP/dry.out" 2>&1 || true
grep -q "card ${guids[2]} is already personalized" "$CF_TMP/dry.out" ||
    { cat "$CF_TMP/dry.out"; cf_fail "the piv card's new serial is not known as done"; }
grep -q "could be personalized" "$CF_TMP/dry.out" && grep -q " 0 could be personalized" "$CF_TMP/dry.out" ||
    { cat "$CF_TMP/dry.out"; cf_fail "a personalized card was offered the next record"; }

cf_note "ok: $N cards, GUIDs ${guids[*]}, judged by yubico-piv-tool, ykman and pkcs15-tool"
