# test_personalize_judged.sh - `cardforge personalize` through the real pcscd
# on virtual PIV and GIDS cards, with clients nobody here wrote as judges of
# what ended up on each card:
#   piv:  yubico-piv-tool verifies the new PIN and authenticates with the
#         rotated management key; after BlockCard it reports the PIN blocked
#         and unblocks it with the new PUK.
#   gids: pkcs11-tool logs in with the new PIN; after BlockCard it reports the
#         PIN locked, and gids-tool -U with the new admin key unblocks it.
# Each card's state file is checked as well.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
P11=$(dpkg -L opensc-pkcs11 | grep '/opensc-pkcs11\.so$' | head -1)
[ -n "$P11" ] || cf_fail "opensc-pkcs11.so not found"

FACTORY_MGM=010203040506070801020304050607080102030405060708
NEW_KEY=00112233445566778899AABBCCDDEEFF0011223344556677
GEMALTO_KEY=000000000000000000000000000000000000000000000000

# readers 0,1: piv (no block, block); 2,3: gids gemalto (no block, block)
cf_harness_start 4 yubikey,yubikey,gids,gids default,default,gemalto,gemalto

hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }
state() { sed -n "s/^$2=//p" "$(cf_state_file "$1")"; }

desc() { # FILE BLOCK(0/1) BODY
    { printf '[Description]\n%s\n' "$3"; [ "$2" = 1 ] && printf '[Application_B]\nBlockCard=true\n'; } >"$1"
}
personalize() { # I DESC
    local out="$CF_TMP/personalize-$1.out"
    "$CLI" personalize "$2" --reader "$(cf_reader_name "$1")" --trace "$CF_TMP/trace-$1.txt" \
        >"$out" 2>&1 </dev/null || { cat "$out"; cf_fail "personalize on reader $1 failed"; }
    grep -q "personalized: every step done and proven" "$out" || { cat "$out"; cf_fail "no success line"; }
}

PIV_BODY="SetPIN=true
PIN=#654321
InitialPUK=#12345678
PUK=#87654321
CardManagerKey=#$FACTORY_MGM
NewCardManagerKey=#$NEW_KEY"
GIDS_BODY="SetPIN=true
PIN=#24680
CardManagerKey=#$GEMALTO_KEY
NewCardManagerKey=#$NEW_KEY
InitCRKey=true
UseCardManagerKey=true"

desc "$CF_TMP/piv.ini" 0 "$PIV_BODY"
desc "$CF_TMP/piv-block.ini" 1 "$PIV_BODY"
desc "$CF_TMP/gids.ini" 0 "$GIDS_BODY"
desc "$CF_TMP/gids-block.ini" 1 "$GIDS_BODY"

personalize 0 "$CF_TMP/piv.ini"
personalize 1 "$CF_TMP/piv-block.ini"
personalize 2 "$CF_TMP/gids.ini"
personalize 3 "$CF_TMP/gids-block.ini"

# The trace shows the APDUs but no secret: no PIN, PUK or key in hex.
for i in 0 1 2 3; do
    t="$CF_TMP/trace-$i.txt"
    [ -s "$t" ] || cf_fail "no trace for reader $i"
    for s in "$(hexof 654321)" "$(hexof 87654321)" "$(hexof 24680)" "$NEW_KEY" "$(hexof 12345678)"; do
        if tr -d ' ' <"$t" | tr a-f A-F | grep >/dev/null "$s"; then cf_fail "trace $i holds a secret"; fi
    done
done

# ---- piv: yubico-piv-tool judges ----
ypt() { yubico-piv-tool -r "$(cf_reader_name "$1")" "${@:2}"; }
out=$(ypt 0 -a verify-pin -P 654321 2>&1) || cf_fail "yubico-piv-tool: new PIN does not verify: $out"
out=$(ypt 0 -k"$NEW_KEY" -a set-chuid 2>&1) ||
    cf_fail "yubico-piv-tool: rotated management key does not authenticate: $out"
if ypt 0 -k"$FACTORY_MGM" -a set-chuid >/dev/null 2>&1; then
    cf_fail "yubico-piv-tool: the factory management key still authenticates"
fi
cf_expect_eq "piv 0 PIN" "$(hexof 654321)" "$(state 0 pin)"
cf_expect_eq "piv 0 PUK" "$(hexof 87654321)" "$(state 0 puk)"
cf_expect_eq "piv 0 mgm key" "$NEW_KEY" "$(state 0 mgm_key)"

cf_expect_eq "piv 1 PIN tries after BlockCard" 0 "$(state 1 pin_tries)"
cf_expect_eq "piv 1 PUK tries after BlockCard" 3 "$(state 1 puk_tries)"
out=$(ypt 1 -a verify-pin -P 654321 2>&1) && cf_fail "blocked PIN verified: $out"
out=$(ypt 1 -a unblock-pin -P 87654321 -N 135790 2>&1) ||
    cf_fail "yubico-piv-tool: unblock with the new PUK failed: $out"
out=$(ypt 1 -a verify-pin -P 135790 2>&1) || cf_fail "PIN after unblock does not verify: $out"

# ---- gids: pkcs11-tool and gids-tool judge ----
slot_of() { # I: the PKCS#11 slot index of reader I
    pkcs11-tool --module "$P11" -L 2>/dev/null | awk -v r="$(cf_reader_name "$1")" '
        /^Slot [0-9]+/ { s = $2 } index($0, r) { print s; exit }'
}
s2=$(slot_of 2); s3=$(slot_of 3)
[ -n "$s2" ] && [ -n "$s3" ] || cf_fail "pkcs11-tool does not list the gids readers"
out=$(pkcs11-tool --module "$P11" --slot-index "$s2" --login --pin 24680 --list-objects 2>&1) ||
    cf_fail "pkcs11-tool: login with the new PIN failed: $out"
out=$(pkcs11-tool --module "$P11" --slot-index "$s2" --login --pin 0000 --list-objects 2>&1) &&
    cf_fail "pkcs11-tool: the factory PIN still logs in"
cf_expect_eq "gids 2 admin key" "$NEW_KEY" "$(state 2 admin_key)"

info=$(pkcs11-tool --module "$P11" -L 2>&1)
# (no producer a reader leaves early: under pipefail its SIGPIPE would fail the check)
awk -v r="$(cf_reader_name 3)" 'index($0, r) { f = 1 } f && /token flags/ { print; exit }' \
    <<<"$info" | grep >/dev/null "user PIN locked" ||
    cf_fail "pkcs11-tool does not report the PIN of reader 3 locked: $info"
cf_expect_eq "gids 3 admin tries after BlockCard" "$(state 3 admin_max)" "$(state 3 admin_tries)"
out=$(gids-tool -r "$(cf_opensc_reader 3)" -U --admin-key "$NEW_KEY" --pin 97531 2>&1) ||
    cf_fail "gids-tool -U with the new admin key failed: $out"
out=$(pkcs11-tool --module "$P11" --slot-index "$s3" --login --pin 97531 --list-objects 2>&1) ||
    cf_fail "pkcs11-tool: login after gids-tool -U failed: $out"

cf_note "ok: personalize judged by yubico-piv-tool, pkcs11-tool and gids-tool"
