#!/usr/bin/env bash
# test_helpdesk_browser.sh - the offline unblock end to end with the helpdesk
# as a web page in a real headless browser (Debian's chromium, driven by
# python3-selenium through chromium-driver):
#   1. a batch personalizes a gemalto-factory GIDS card behind the real
#      pcscd with an admin key derived from a master key and blocks its PIN;
#   2. `cardforge helpdesk serve` serves the page with that key file;
#   3. `cardforge pin unblock --challenge` runs on a pseudo-terminal like the
#      holder on the phone; what it shows (serial, challenge, check values)
#      is typed into the page by lib/helpdesk_browser.py, which logs in,
#      sees a wrong check value flagged as typed, submits the right one and
#      reads the response and its check value back to the terminal;
#   4. pkcs11-tool logs in with the new PIN;
#   5. the audit log verifies and records the login and the response given
#      (operator, serial, key name and version, client address).
# Screenshots of the login, unblock and response pages are kept in
# BUILD_DIR/test-artifacts/test_helpdesk_browser/ (the harness removes its
# temporary directory when the test passes).
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/helpdesk_server.sh"

CLI=$HD_CLI
DRIVE="$CF_SOURCE/tests/integration/lib/pty_drive.py"
BROWSER="$CF_SOURCE/tests/integration/lib/helpdesk_browser.py"
ART="$CF_BUILD/test-artifacts/test_helpdesk_browser"
P11=$(dpkg -L opensc-pkcs11 | grep '/opensc-pkcs11\.so$' | head -1)
[ -n "$P11" ] || cf_fail "opensc-pkcs11.so not found"
for t in chromium chromedriver curl; do
  command -v "$t" >/dev/null || cf_fail "'$t' not installed: run scripts/setup.sh"
done
T=$CF_TMP
PORT=8443
URL="https://127.0.0.1:$PORT"

cf_harness_start 1 gids gemalto

# --- the card: admin key derived from the bureau's master key, PIN blocked --
KF="$T/bureau.keys"
printf 'bureau-admin 1 aes128 2B7E151628AED2A6ABF7158809CF4F3C\n' >"$KF"
chmod 600 "$KF"
printf '[Fields]\nPIN=\n[Description]\nSetPIN=true\nPIN=PIN\n%s\n%s\n%s\n%s\n%s\n%s\n' \
  'CardManagerKey=#000000000000000000000000000000000000000000000000' \
  'NewCardManagerKey=@derive:bureau-admin' 'InitCRKey=true' 'UseCardManagerKey=true' \
  '[Application_B]' 'BlockCard=true' >"$T/desc.ini"
printf 'ID,PIN\nalice,11223344\n' >"$T/batch.csv"
out=$("$CLI" run "$T/desc.ini" --batch "$T/batch.csv" --journal "$T/journal.jsonl" \
  --readers CardForge --keyfile "$KF" 2>&1 </dev/null) || cf_fail "cardforge run failed: $out"
grep -qx "pin_tries=0" "$(cf_state_file 0)" || cf_fail "the PIN is not blocked after the batch"

# --- the server -----------------------------------------------------------------
hd_tls_cert "$T"
SPKI=$(openssl x509 -in "$T/tls.crt" -pubkey -noout | openssl pkey -pubin -outform DER |
  openssl dgst -sha256 -binary | base64)
"$CLI" audit keygen --out "$T/audit.key" >/dev/null || cf_fail "audit keygen"
export HD_OPERATOR=officer HD_PASSWORD='a long helpdesk password'
"$CLI" helpdesk operator add "$HD_OPERATOR" --operators "$T/ops" --password-stdin \
  <<<"$HD_PASSWORD" >/dev/null || cf_fail "operator add"
hd_srv_start "$T/server.log" --listen "127.0.0.1:$PORT" --tls-cert "$T/tls.crt" \
  --tls-key "$T/tls.key" --operators "$T/ops" --audit "$T/audit.log" \
  --audit-key "$T/audit.key" --keyfile "$KF"

# --- the holder at the terminal, the officer in the browser -------------------
rm -rf "$ART"
mkdir -p "$ART"
cat >"$T/unblock.script" <<EOS
expect new PIN \(not shown\):
send 20406080
expect new PIN again:
send 20406080
capture SERIAL serial +([0-9A-Fa-f][0-9A-Fa-f ]*[0-9A-Fa-f]) +check
capture SCHK serial +[0-9A-Fa-f ]+ +check (\d\d)
capture CH challenge +([0-9A-F][0-9A-F ]*[0-9A-F]) +check
capture CHK challenge +[0-9A-F ]+ +check (\d\d)
expect response from the helpdesk
sendcmd python3 "$BROWSER" "$URL" "$SPKI" "$ART" bureau-admin/1 2>"$T/browser.err"
expect its check value
sendcmd cat "$ART/response_check"
eof
EOS
out=$(python3 "$DRIVE" "$T/unblock.script" -- "$CLI" pin unblock --challenge \
  --reader "$(cf_reader_name 0)" 2>&1) ||
  cf_fail "pin unblock --challenge with the web page failed: $out $(cat "$T/browser.err")"
grep -q "PIN unblocked and set; the new PIN verifies" <<<"$out" || cf_fail "no success: $out"
for p in login mismatch unblock response; do
  [ -s "$ART/$p.png" ] || cf_fail "no screenshot of the $p page"
done
rm -rf "$ART/chromium-profile" "$ART/response" "$ART/response_check"

slot=$(pkcs11-tool --module "$P11" -L 2>/dev/null | awk -v r="$(cf_reader_name 0)" '
    /^Slot [0-9]+/ { s = $2 } index($0, r) { print s; exit }')
out=$(pkcs11-tool --module "$P11" --slot-index "$slot" --login --pin 20406080 --list-objects 2>&1) ||
  cf_fail "pkcs11-tool cannot log in with the new PIN: $out"

# --- the audit log ------------------------------------------------------------
hd_srv_stop
"$CLI" audit verify "$T/audit.log" --pubkey "$T/audit.key.pub" >"$T/verify.out" ||
  cf_fail "audit verify: $(cat "$T/verify.out")"
grep -q '"event":"login","operator":"officer","client":"127.0.0.1"' "$T/audit.log" ||
  cf_fail "no login in the audit log: $(cat "$T/audit.log")"
grep -q '"event":"response","operator":"officer","client":"127.0.0.1","serial":"[0-9A-F]*","key_name":"bureau-admin","key_version":1,"outcome":"given"' \
  "$T/audit.log" || cf_fail "no response given in the audit log: $(cat "$T/audit.log")"
! grep -q "$HD_PASSWORD" "$T/audit.log" "$T/server.log" || cf_fail "the password was logged"
cp "$T/audit.log" "$ART/audit.log"
cf_note "ok: unblocked through the web page in chromium; screenshots in $ART"
