# test_desk_audit.sh - the desk commands write the audit log (--audit FILE
# --audit-key FILE), through the real pcscd + vpcd, prompts on a
# pseudo-terminal:
#   - usage: --audit without --audit-key, a log that cannot be opened, an
#     audit key with mode 0644, and --audit on a command that changes
#     nothing are refused with status 2 and a clear message, before the card
#     is touched (its state file unchanged) and with nothing written;
#   - personalize (with a derived admin key), pin change with a wrong PIN
#     (refused, with the tries the card reported: its state file agrees),
#     pin change, pin unblock with the PUK, cert import of a .p12 with the
#     management key from the key file, cert delete, cert default on a PIV
#     card (which has none), helpdesk response and a check-value mismatch
#     each write exactly one event: operator = the user running the test
#     (id -un), the card serial, the master key and version where one was
#     used, the outcome and reason;
#   - pin unblock --challenge on a GIDS card, the helpdesk's response
#     computed meanwhile by `helpdesk response` with its own log (the
#     holder's log is locked by the running unblock: one writer per log),
#     writes one event in each log;
#   - Ctrl-C at a PIN prompt writes nothing and leaves the log sealed;
#   - a log in use by a command waiting at its prompt refuses a second
#     command (status 2, no response given); three PINs the policy refuses
#     end the first with nothing sent, logged as failed;
#   - `cardforge audit verify` exits 0 on the log, and 1 once a byte of it
#     is changed;
#   - no PIN, PUK, key, .p12 password or response is in the log.
source "$2/tests/integration/lib/harness.sh" "$@"

CLI="$CF_BUILD/tools/cardforge"
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
TTYRUN="$CF_SOURCE/tests/integration/lib/tty_run.py"
for tool in openssl python3; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done
cf_harness_start 3 yubikey,yubikey,gids default,default,gemalto
R0=$(cf_reader_name 0)
R1=$(cf_reader_name 1)
S0=$CF_SERIAL_BASE
S1=$((CF_SERIAL_BASE + 1))
LOG2="$CF_TMP/helpdesk-audit.log"
ME=$(id -un)
LOG="$CF_TMP/desk-audit.log"
AK="$CF_TMP/audit.key"
AUD=(--audit "$LOG" --audit-key "$AK")
"$CLI" audit keygen --out "$AK" >/dev/null || cf_fail "audit keygen"

MASTER=5A4B3C2D1E0F69788796A5B4C3D2E1F0
KF="$CF_TMP/desk.keys"
printf 'desk-admin 1 aes128 00112233445566778899AABBCCDDEEFF\ndesk-admin 2 aes128 %s\n' \
    "$MASTER" >"$KF"
chmod 600 "$KF"
DEF_KEY=010203040506070801020304050607080102030405060708
PIN1=246810 WRONG=999999 PIN0=654321 PIN0B=24681357 PUK=12345678 P12_PASS=Desk-P12-Pass-4242
PIN2=11223344 PIN2B=20406080

hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }
pin_of() { sed -n 's/^pin=//p' "$(cf_state_file "$1")"; }
lines() { if [ -f "$LOG" ]; then wc -l <"$LOG"; else echo 0; fi; }
# at_tty NAME CMD...: run CMD on a pseudo-terminal driven by $CF_TMP/NAME.script;
# its transcript in $OUT, its status in $RC
at_tty() {
    local name=$1
    shift
    RC=0
    OUT=$(python3 "$DRIVE" "$CF_TMP/$name.script" -- "$@" 2>&1) || RC=$?
    echo "$OUT" >>"$CF_TMP/transcripts"
}
# expect_usage WHAT MESSAGE CMD...: status 2, MESSAGE on stderr, no log line
expect_usage() {
    local what=$1 msg=$2
    shift 2
    local before rc=0 out
    before=$(lines)
    out=$("$@" 2>&1 </dev/null) || rc=$?
    cf_expect_eq "$what: exit status" 2 "$rc"
    grep -qF -- "$msg" <<<"$out" || cf_fail "$what: no '$msg' in: $out"
    cf_expect_eq "$what: lines in the log" "$before" "$(lines)"
}

# ---- usage errors: refused before the card, nothing written -----------------
cat >"$CF_TMP/pers.ini" <<EOF
[Fields]
PIN=
[Description]
SetPIN=true
PIN=PIN
InitialPUK=#12345678
CardManagerKey=#$DEF_KEY
NewCardManagerKey=@derive:desk-admin
EOF
factory=$(pin_of 1)
pers=("$CLI" personalize "$CF_TMP/pers.ini" --reader "$R1" --keyfile "$KF" --field "PIN=$PIN1")
expect_usage "--audit alone" "--audit and --audit-key go together" "${pers[@]}" --audit "$LOG"
expect_usage "--audit-key alone" "--audit and --audit-key go together" \
    "$CLI" helpdesk response --serial 1 --challenge 0102030405060708 --keyfile "$KF" \
    --key desk-admin --audit-key "$AK"
: >"$CF_TMP/file"
expect_usage "a log under a file" "cannot open the audit log" "${pers[@]}" \
    --audit "$CF_TMP/file/log" --audit-key "$AK"
chmod 644 "$AK"
expect_usage "an audit key of mode 0644" "mode 0644 lets others in" "${pers[@]}" "${AUD[@]}"
chmod 600 "$AK"
expect_usage "pin status --audit" "--audit goes with change and unblock" \
    "$CLI" pin status --reader "$R0" "${AUD[@]}"
expect_usage "cert list --audit" "--audit goes with import, delete and default" \
    "$CLI" cert list --reader "$R0" "${AUD[@]}"
cf_expect_eq "card 1's PIN after the refusals" "$factory" "$(pin_of 1)"
[ -s "$LOG" ] && cf_fail "the refusals wrote to the log: $(cat "$LOG")"

# ---- the actions -------------------------------------------------------------
# 1. personalize card 1: the admin key derived from desk-admin (newest: 2)
out=$("${pers[@]}" "${AUD[@]}" 2>&1 </dev/null) || cf_fail "personalize: $out"
cf_expect_eq "card 1's PIN" "$(hexof $PIN1)" "$(pin_of 1)"

# 2. pin change on card 0 with a wrong current PIN: refused, one try spent
cat >"$CF_TMP/wrong.script" <<EOF
expect current PIN \(not shown\):
send $WRONG
expect new PIN \(not shown\):
send $PIN0
expect new PIN again:
send $PIN0
eof
EOF
at_tty wrong "$CLI" pin change --reader "$R0" "${AUD[@]}"
cf_expect_eq "pin change with a wrong PIN: exit status" 1 "$RC"
grep -q "^pin_tries=2$" "$(cf_state_file 0)" || cf_fail "card 0 did not count the wrong PIN"

# 3. pin change with the right PIN
sed "s/^send $WRONG\$/send 123456/" "$CF_TMP/wrong.script" >"$CF_TMP/change.script"
at_tty change "$CLI" pin change --reader "$R0" "${AUD[@]}"
cf_expect_eq "pin change: exit status ($OUT)" 0 "$RC"
cf_expect_eq "card 0's PIN" "$(hexof $PIN0)" "$(pin_of 0)"

# 4. Ctrl-C at the PIN prompt: nothing written, the log stays sealed
before=$(lines)
printf 'expect current PIN \\(not shown\\):\nsignal INT\nexit\n' >"$CF_TMP/int.script"
rc=0
python3 "$TTYRUN" "$CF_TMP/int.transcript" "$CF_TMP/int.script" -- \
    "$CLI" pin change --reader "$R0" "${AUD[@]}" || rc=$?
cf_expect_eq "pin change interrupted: exit status" 130 "$rc"
cf_expect_eq "lines after an interrupted pin change" "$before" "$(lines)"
"$CLI" audit verify "$LOG" --pubkey "$AK.pub" >/dev/null ||
    cf_fail "the log is not sealed after an interrupt: $("$CLI" audit verify "$LOG" --pubkey "$AK.pub")"

# 4b. One writer per log: while pin change waits at its prompt, the log is
# locked, and a helpdesk response on the same log is refused before it
# answers. Three PINs the policy refuses then end the pin change with
# nothing sent to the card: logged as failed.
cat >"$CF_TMP/lockcheck.sh" <<EOF
rc=0
"$CLI" helpdesk response --serial 1 --challenge 0102030405060708 --keyfile "$KF" \\
    --key desk-admin --audit "$LOG" --audit-key "$AK" >"$CF_TMP/lock.out" 2>&1 || rc=\$?
echo \$rc >"$CF_TMP/lock.rc"
echo 1
EOF
cat >"$CF_TMP/lock.script" <<'EOF'
expect current PIN \(not shown\):
sendcmd bash "$CF_TMP/lockcheck.sh"
expect type it again\s+current PIN \(not shown\):
send 1
expect (?s)type it again.*type it again\s+current PIN \(not shown\):
send 1
eof
EOF
sed -i "s|\$CF_TMP|$CF_TMP|" "$CF_TMP/lock.script"
at_tty lock "$CLI" pin change --reader "$R0" "${AUD[@]}"
cf_expect_eq "pin change with three refused PINs: exit status ($OUT)" 2 "$RC"
cf_expect_eq "helpdesk response on a locked log: exit status ($(cat "$CF_TMP/lock.out"))" 2 \
    "$(cat "$CF_TMP/lock.rc")"
grep -q "the audit log is in use by another process" "$CF_TMP/lock.out" ||
    cf_fail "no reason for the refusal: $(cat "$CF_TMP/lock.out")"
grep -q "^response" "$CF_TMP/lock.out" && cf_fail "a response was given on a locked log"

# 5. pin unblock with the PUK
cat >"$CF_TMP/unblock.script" <<EOF
expect PUK \(not shown\):
send $PUK
expect new PIN \(not shown\):
send $PIN0B
expect new PIN again:
send $PIN0B
eof
EOF
at_tty unblock "$CLI" pin unblock --reader "$R0" "${AUD[@]}"
cf_expect_eq "pin unblock: exit status ($OUT)" 0 "$RC"
cf_expect_eq "card 0's PIN after the unblock" "$(hexof $PIN0B)" "$(pin_of 0)"

# 6. cert import of a .p12 into 9c of card 1, the management key from the key file
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CF_TMP/p12.key" \
    -subj /CN=desk-holder -days 5 -out "$CF_TMP/p12.pem" 2>/dev/null || cf_fail "certificate"
openssl pkcs12 -export -inkey "$CF_TMP/p12.key" -in "$CF_TMP/p12.pem" -passout "pass:$P12_PASS" \
    -out "$CF_TMP/holder.p12" || cf_fail "openssl pkcs12"
cat >"$CF_TMP/import.script" <<EOF
expect Password of .*holder.p12 \(not shown\):
send $P12_PASS
expect PIN \(not shown\):
send $PIN1
eof
EOF
at_tty import "$CLI" cert import --reader "$R1" --slot 9c --keyfile "$KF" --key desk-admin \
    "$CF_TMP/holder.p12" "${AUD[@]}"
cf_expect_eq "cert import: exit status ($OUT)" 0 "$RC"

# 7. cert delete of 9c, 8. cert default on a PIV card (it has none: failed)
printf 'expect PIN \\(not shown\\):\nsend %s\neof\n' "$PIN1" >"$CF_TMP/pin.script"
at_tty pin "$CLI" cert delete --reader "$R1" --slot 9c --keyfile "$KF" --key desk-admin:2 "${AUD[@]}"
cf_expect_eq "cert delete: exit status ($OUT)" 0 "$RC"
printf 'eof\n' >"$CF_TMP/none.script"
at_tty none "$CLI" cert default --reader "$R1" --slot 9c "${AUD[@]}"
cf_expect_eq "cert default on PIV: exit status ($OUT)" 1 "$RC"

# 9. helpdesk response for card 1, 10. a challenge with a wrong check value
out=$("$CLI" helpdesk response --serial "$S1" --challenge 0102030405060708 --check 12 \
    --keyfile "$KF" --key desk-admin "${AUD[@]}" 2>&1) || cf_fail "helpdesk response: $out"
RESPONSE=$(sed -n 's/^response *\([0-9A-F ]*[0-9A-F]\) *check.*/\1/p' <<<"$out" | tr -d ' ')
[ ${#RESPONSE} -eq 16 ] || cf_fail "no response: $out"
rc=0
"$CLI" helpdesk response --serial "$S1" --challenge 0102030405060708 --check 21 \
    --keyfile "$KF" --key desk-admin "${AUD[@]}" >/dev/null 2>&1 || rc=$?
cf_expect_eq "a check value mismatch: exit status" 2 "$rc"

# 11. personalize the GIDS card 2: admin key derived from desk-admin version 1,
# challenge-response unblock on, PIN blocked
cat >"$CF_TMP/gids.ini" <<EOF
[Description]
SetPIN=true
PIN=#$PIN2
CardManagerKey=#000000000000000000000000000000000000000000000000
NewCardManagerKey=@derive:desk-admin:1
InitCRKey=true
UseCardManagerKey=true
[Application_B]
BlockCard=true
EOF
out=$("$CLI" personalize "$CF_TMP/gids.ini" --reader "$(cf_reader_name 2)" --keyfile "$KF" \
    "${AUD[@]}" 2>&1 </dev/null) || cf_fail "personalize gids: $out"
grep -qx "pin_tries=0" "$(cf_state_file 2)" || cf_fail "card 2: PIN not blocked"
S2=$(sed -n 's/^card: .*, serial \([0-9A-F]*\), reader .*/\1/p' <<<"$out")
[ -n "$S2" ] || cf_fail "no serial for card 2 in: $out"

# 12. pin unblock --challenge on card 2; the helpdesk answers meanwhile with
# its own log (r: the response, c: its check value)
# (asked once: the answer is kept for the check value)
cat >"$CF_TMP/helpdesk.sh" <<EOF
[ -s "$CF_TMP/answer" ] || "$CLI" helpdesk response --serial "\$CAP_SERIAL" \\
    --challenge "\$CAP_CH" --check "\$CAP_CHK" --keyfile "$KF" --key desk-admin \\
    --key-version 1 --audit "$LOG2" --audit-key "$AK" >"$CF_TMP/answer" || exit 1
line=\$(grep '^response ' "$CF_TMP/answer")
if [ "\$1" = r ]; then echo "\$line" | sed 's/^response *//; s/ *check.*//' | tr -d ' '
else echo "\${line##* }"; fi
EOF
cat >"$CF_TMP/challenge.script" <<EOF
expect new PIN \(not shown\):
send $PIN2B
expect new PIN again:
send $PIN2B
capture SERIAL serial +([0-9A-Fa-f][0-9A-Fa-f ]*[0-9A-Fa-f]) +check
capture CH challenge +([0-9A-F][0-9A-F ]*[0-9A-F]) +check
capture CHK challenge +[0-9A-F ]+ +check (\d\d)
expect response from the helpdesk
sendcmd bash "$CF_TMP/helpdesk.sh" r
expect its check value
sendcmd bash "$CF_TMP/helpdesk.sh" c
eof
EOF
at_tty challenge "$CLI" pin unblock --challenge --reader "$(cf_reader_name 2)" "${AUD[@]}"
cf_expect_eq "pin unblock --challenge: exit status ($OUT)" 0 "$RC"
grep -qx "pin=$(hexof $PIN2B)" "$(cf_state_file 2)" || cf_fail "card 2: the new PIN is not set"
# the helpdesk's log: its one response event, verified
out=$("$CLI" audit verify "$LOG2" --pubkey "$AK.pub" 2>&1) || cf_fail "verify helpdesk log: $out"
cf_expect_eq "events in the helpdesk's log" 1 "$(grep -vc '"event":"checkpoint"' "$LOG2")"
grep -q "\"event\":\"response\",\"operator\":\"$ME\",\"client\":\"cli\",\"serial\":\"$S2\",\"key_name\":\"desk-admin\",\"key_version\":1,\"outcome\":\"ok\"" \
    "$LOG2" || cf_fail "the helpdesk's event: $(cat "$LOG2")"

# ---- the log ------------------------------------------------------------------
out=$("$CLI" audit verify "$LOG" --pubkey "$AK.pub" 2>&1) || cf_fail "verify: $out"
grep -q "intact" <<<"$out" || cf_fail "verify says: $out"
# event|operator|serial|key|version|outcome|detail (a regex), one per action, in order
python3 - "$LOG" "$ME" <<EOF || cf_fail "the events are not the expected ones (above)"
import json, re, sys
log, me = sys.argv[1], sys.argv[2]
want = [
    ("personalize", "$S1", "desk-admin", 2, "ok", None),
    ("pin_change", "$S0", None, 0, "refused", r"^CF_ERR_WRONG_SECRET; tries left: pin 2"),
    ("pin_change", "$S0", None, 0, "ok", None),
    ("pin_change", "$S0", None, 0, "failed", r"^stopped before the card was changed$"),
    ("pin_unblock", "$S0", None, 0, "ok", None),
    ("cert_import", "$S1", "desk-admin", 2, "ok", r"^slot 9c$"),
    ("cert_delete", "$S1", "desk-admin", 2, "ok", r"^slot 9c$"),
    ("cert_default", "$S1", None, 0, "failed", r"^slot 9c; CF_ERR_"),
    ("response", "$S1", "desk-admin", 2, "ok", None),
    ("response", "$S1", None, 0, "refused", r"check value mismatch; no response given"),
    ("personalize", "$S2", "desk-admin", 1, "ok", None),
    ("pin_unblock_challenge", "$S2", None, 0, "ok", None),
]
got = [json.loads(l) for l in open(log)]
events = [e for e in got if e["event"] != "checkpoint"]
bad = len(events) != len(want)
for i, e in enumerate(events):
    w = want[i] if i < len(want) else None
    ok = w is not None and (e["event"], e.get("serial"), e.get("key_name"),
                            e.get("key_version", 0), e["outcome"]) == w[:5] \
        and e.get("operator") == me and e.get("client") == "cli" \
        and (re.search(w[5], e.get("detail", "")) if w[5] else "detail" not in e)
    if not ok:
        bad = True
        print("line %d: %s\n  expected %s" % (e["seq"], json.dumps(e), w))
if len(events) != len(want):
    print("%d events, expected %d" % (len(events), len(want)))
# every command run closed the log with a final checkpoint
finals = [e for e in got if e["event"] == "checkpoint" and e.get("final")]
if len(finals) != len(want) or got[-1]["event"] != "checkpoint":
    print("%d final checkpoints for %d commands" % (len(finals), len(want)))
    bad = True
sys.exit(1 if bad else 0)
EOF

# No secret in the log: every field but the hashes and signatures, as text
# and as hex, either case, separators removed.
python3 - "$LOG" "$LOG2" "$WRONG" "$PIN1" "$PIN0" "$PIN0B" "$PUK" "$P12_PASS" "$DEF_KEY" \
    "$MASTER" "$RESPONSE" "$PIN2" "$PIN2B" <<'EOF' || cf_fail "a secret is in the audit logs (above)"
import json, sys
text = ""
for l in open(sys.argv[1]).readlines() + open(sys.argv[2]).readlines():
    e = json.loads(l)
    for k in ("prev", "sig", "key"):
        e.pop(k, None)
    text += json.dumps(e)
flat = "".join(c for c in text.upper() if c not in " :-\r\n")
found = False
for s in sys.argv[3:]:
    for form in (s.upper(), s.encode().hex().upper()):
        if form in flat:
            print("secret of %d characters found" % len(s))
            found = True
sys.exit(1 if found else 0)
EOF

# A changed byte is found.
cp "$LOG" "$CF_TMP/edited.log"
sed -i '1s/"outcome":"ok"/"outcome":"no"/' "$CF_TMP/edited.log"
rc=0
"$CLI" audit verify "$CF_TMP/edited.log" --pubkey "$AK.pub" >"$CF_TMP/verify.out" 2>&1 || rc=$?
cf_expect_eq "verify of an edited log: exit status ($(cat "$CF_TMP/verify.out"))" 1 "$rc"
cf_note "ok: $(grep -vc '"checkpoint"' "$LOG") events from the desk commands, verified"
