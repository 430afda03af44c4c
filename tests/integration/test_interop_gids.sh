# test_interop_gids.sh - OpenSC 0.23 (Debian 12) operates `gids` cards
# through the real pcscd. Card 0 is a gids+admin-counter card (its admin-key
# tries are checked after every gids-tool step, and a card initialised from
# blank counts them only with that quirk); card 1 a plain gids card, whose
# wrong admin cryptogram answers 6982 as GidsApplet's does. Card 0 starts
# `blank`: gids-tool -X initialises it
# (and refuses a second time), gids-tool -U unblocks its PIN with the admin
# key after scriptor VERIFYs blocked it, gids-tool -C changes the admin key
# and the old key stops working. Card 1 starts `gemalto` (PIN 0000, admin
# key 24 x 00): pkcs11-tool lists it, logs in, changes the PIN, blocks it,
# and gids-tool -U unblocks it. gids-tool -X exits 0 even when it fails
# (gids-reference.md 2.1), so every step is judged by its output, by a
# second client (gids-tool's dump, pkcs11-tool -L) and by the card's state
# file (keys: docs/cards/gids.md).
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -f "$MODULE" ] || cf_fail "$MODULE missing: install opensc-pkcs11 (scripts/setup.sh)"
for tool in gids-tool pkcs11-tool; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done

cf_harness_start 2 gids+admin-counter,gids blank,gemalto
cf_opensc_conf 'app default { }'
N0=$(cf_opensc_reader 0) || exit 1
N1=$(cf_opensc_reader 1) || exit 1
p11() { pkcs11-tool --module "$MODULE" "$@"; }
ZERO_KEY=000000000000000000000000000000000000000000000000
ADMIN1=0102030405060708111213141516171821222324252627FF
ADMIN2=A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8C1C2C3C4C5C6C7C8
CARDID=00112233445566778899AABBCCDDEEFF

for n in "$N0" "$N1"; do
    cf_expect_run "opensc-tool -n (reader $n)" 0 opensc-tool -r "$n" -n
    cf_expect_eq "card name (reader $n)" "GIDS Smart Card" "$CF_OUT"
done

# ---- card 0: blank, then gids-tool -X ---------------------------------------
cf_expect_state 0 initialized 0
cf_expect_state 0 pin ""
cf_expect_state 0 admin_key ""
cf_expect_run "dump of a blank card" 0 gids-tool -r "$N0"
cf_expect_out "dump blank" "Is that a new card ?"
cf_expect_run "-L with a blank card" 0 p11 -L
cf_expect_out "-L blank" "Slot 0 (0x0): $(cf_reader_name 0)"$'\n'"  (token not recognized)"

cf_expect_run "gids-tool -X" 0 gids-tool -r "$N0" -X --pin 123456 --admin-key "$ADMIN1" \
    --serial-number "$CARDID"
cf_expect_no_out "gids-tool -X" "failed"
cf_expect_state 0 initialized 1
cf_expect_state 0 pin "$(cf_hex 123456)"
cf_expect_state 0 pin_max 5
cf_expect_state 0 pin_tries 5
cf_expect_state 0 admin_key "$ADMIN1"
cf_expect_state 0 admin_tries 5
cf_expect_eq "activated EFs" "A000 A010 A011 A012 A013 A014 B080" \
    "$(sed -n 's/^ef=\([0-9A-F]\{4\}\):1:.*/\1/p' "$(cf_state_file 0)" | tr '\n' ' ' | sed 's/ $//')"
grep -qx "do=A012:DF20:$CARDID" "$(cf_state_file 0)" || cf_fail "state file: CARDID DO is not $CARDID"
grep -qx "do=A010:DF23:" "$(cf_state_file 0)" || cf_fail "state file: no empty cmapfile DO"
cf_expect_run "dump after -X" 0 gids-tool -r "$N0"
cf_expect_out "dump after -X" "Found 5 entries in the masterfile"
cf_expect_out "dump after -X" "FileIdentifier: 0xa012"
cf_expect_run "-L after -X" 0 p11 -L
cf_expect_out "-L after -X" "Slot 0 (0x0): $(cf_reader_name 0)"$'\n'"  token label        : GIDS card (UserPIN)"
# PKCS#11 serial = the last 8 bytes of CARDID, lower-case hex.
cf_expect_out "-L serial" "serial num         : 8899aabbccddeeff"

cf_state_snapshot 0 after-init.state
cf_expect_run "gids-tool -X twice" 0 gids-tool -r "$N0" -X --pin 654321 --admin-key "$ZERO_KEY" \
    --serial-number "$CARDID"
cf_expect_out "gids-tool -X twice" "SC_CARDCTL_GIDS_INITIALIZE, *) failed"
cf_expect_state_is 0 after-init.state

cf_expect_run "login after -X" 0 p11 --slot-index "$N0" --login --pin 123456 -O
cf_expect_state 0 pin_tries 5

# ---- card 0: block the PIN with scriptor, gids-tool -U -----------------------
for left in 4 3 2 1 0; do
    cf_run cf_scriptor 0 "00 20 00 80 04 39 39 39 39"
    cf_expect_out "scriptor VERIFY ($left left)" "< 63 C$left"
    cf_expect_state 0 pin_tries "$left"
done
cf_run cf_scriptor 0 "00 20 00 80 06 $(cf_hex 123456 | sed 's/../& /g')"
cf_expect_out "scriptor VERIFY, blocked" "< 69 83"
cf_expect_state 0 pin_tries 0
cf_expect_run "login with a blocked PIN" 1 p11 --slot-index "$N0" --login --pin 123456 -O
cf_expect_out "blocked PIN" "CKR_PIN_LOCKED"

cf_expect_run "gids-tool -U with a wrong admin key" 1 gids-tool -r "$N0" -U --admin-key "$ADMIN2" --pin 2468
cf_expect_out "-U wrong key" "PIN code or key incorrect"
cf_expect_state 0 admin_tries 4
cf_expect_state 0 pin "$(cf_hex 123456)"
cf_expect_state 0 pin_tries 0
cf_expect_run "gids-tool -U" 0 gids-tool -r "$N0" -U --admin-key "$ADMIN1" --pin 2468
cf_expect_out "-U" "Unblock PIN done successfully"
cf_expect_state 0 pin "$(cf_hex 2468)"
cf_expect_state 0 pin_tries 5
cf_expect_state 0 admin_tries 5
cf_expect_run "login with the PIN set by -U" 0 p11 --slot-index "$N0" --login --pin 2468 -O

# ---- card 0: gids-tool -C ----------------------------------------------------
cf_state_snapshot 0 before-change.state
cf_expect_run "gids-tool -C with a wrong admin key" 1 gids-tool -r "$N0" -C --admin-key "$ZERO_KEY" \
    --new-admin-key "$ADMIN2"
cf_expect_state 0 admin_key "$ADMIN1"
cf_expect_state 0 admin_tries 4
cf_expect_run "gids-tool -C" 0 gids-tool -r "$N0" -C --admin-key "$ADMIN1" --new-admin-key "$ADMIN2"
cf_expect_state 0 admin_key "$ADMIN2"
cf_expect_state 0 admin_tries 5
cf_expect_run "-U with the old admin key" 1 gids-tool -r "$N0" -U --admin-key "$ADMIN1" --pin 1357
cf_expect_out "-U old key" "PIN code or key incorrect"
cf_expect_state 0 admin_tries 4
cf_expect_state 0 pin "$(cf_hex 2468)"
cf_expect_run "-U with the new admin key" 0 gids-tool -r "$N0" -U --admin-key "$ADMIN2" --pin 1357
cf_expect_out "-U new key" "Unblock PIN done successfully"
cf_expect_state 0 pin "$(cf_hex 1357)"
cf_expect_state 0 admin_tries 5

# ---- card 1: gemalto factory state through pkcs11-tool ----------------------
cf_expect_run "-L gemalto" 0 p11 -L
cf_expect_out "-L gemalto" "Slot 1 (0x4): $(cf_reader_name 1)"$'\n'"  token label        : GIDS card (UserPIN)"
# CARDID "CFGIDS" || the serial in BCD: the last 8 bytes show it in decimal.
cf_expect_out "-L gemalto serial" "serial num         : $(printf '%016d' $((CF_SERIAL_BASE + 1)))"
cf_expect_out "-L gemalto" "pin min/max        : 4/15"
cf_expect_state 1 pin "$(cf_hex 0000)"
cf_expect_state 1 admin_key "$ZERO_KEY"

cf_expect_run "login with the factory PIN" 0 p11 --slot-index "$N1" --login --pin 0000 -O
cf_expect_run "login with a wrong PIN" 1 p11 --slot-index "$N1" --login --pin 9999 -O
cf_expect_out "gemalto wrong PIN" "CKR_PIN_INCORRECT"
cf_expect_state 1 pin_tries 4
cf_expect_run "change-pin" 0 p11 --slot-index "$N1" --change-pin --pin 0000 --new-pin 13579
cf_expect_out "change-pin" "PIN successfully changed"
cf_expect_state 1 pin "$(cf_hex 13579)"
cf_expect_state 1 pin_tries 5
cf_expect_run "login with the old PIN" 1 p11 --slot-index "$N1" --login --pin 0000 -O
cf_expect_state 1 pin_tries 4
cf_expect_run "login with the new PIN" 0 p11 --slot-index "$N1" --login --pin 13579 -O
cf_expect_state 1 pin_tries 5
cf_expect_run "change-pin with a wrong old PIN" 1 p11 --slot-index "$N1" --change-pin --pin 97531 --new-pin 2222
cf_expect_state 1 pin "$(cf_hex 13579)"
cf_expect_state 1 pin_tries 4

for _ in 1 2 3 4; do p11 --slot-index "$N1" --login --pin 9999 -O >/dev/null 2>&1; done
cf_expect_state 1 pin_tries 0
cf_expect_run "-L with the gemalto PIN blocked" 0 p11 -L
cf_expect_out "-L gemalto blocked" "token flags        : login required, token initialized, PIN initialized, user PIN locked"
# A wrong admin key: 6982, one of the gemalto stock's unseen admin tries spent.
cf_expect_run "gids-tool -U gemalto, wrong admin key" 1 gids-tool -r "$N1" -U --admin-key "$ADMIN2" \
    --pin 8642
cf_expect_out "-U gemalto wrong key" "Security status not satisfied"
cf_expect_state 1 admin_tries 4
cf_expect_state 1 pin_tries 0
cf_expect_run "gids-tool -U with the factory admin key" 0 gids-tool -r "$N1" -U --admin-key "$ZERO_KEY" --pin 8642
cf_expect_out "-U gemalto" "Unblock PIN done successfully"
cf_expect_state 1 pin "$(cf_hex 8642)"
cf_expect_state 1 pin_tries 5
cf_expect_state 1 admin_tries 5
cf_expect_run "login after -U" 0 p11 --slot-index "$N1" --login --pin 8642 -O
# Card 0 was not touched by anything done to card 1.
cf_expect_state 0 pin "$(cf_hex 1357)"
cf_expect_state 0 admin_key "$ADMIN2"
cf_note "ok: gids-tool -X/-U/-C, opensc-tool -n, pkcs11-tool list/login/change-pin on blank and gemalto cards"
