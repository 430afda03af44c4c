#!/usr/bin/env bash
# `cardforge helpdesk serve --journal`: the page names the card's master-key
# version and answers with it, judged by curl on loopback (the harness's
# private network namespace; the card is a simulated one, in a batch run
# whose journal the server reads):
#   - the batch derives the card's admin key from master key "issuing"
#     version 1 while the key file also holds version 2 (the newest);
#   - for that card, choosing "issuing" alone, the page says "issuing
#     version 1 (from the journal record of <time>)" and gives the response
#     `cardforge helpdesk response --journal` gives;
#   - for a card the journal does not know, "issuing version 2 (version
#     unknown: the newest is used)" and the response for version 2;
#   - choosing version 2 explicitly for the journal's card is refused (422,
#     no response): the journal names version 1;
#   - the audit log's response events say where the version came from, and
#     `audit verify` passes;
#   - a --journal that cannot be read stops the server at startup (status 2).
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/helpdesk_server.sh"

CLI=$HD_CLI
T=$CF_TMP
PORT=8444
URL="https://127.0.0.1:$PORT"
PW='correct horse battery'
printf 'issuing 1 aes128 000102030405060708090A0B0C0D0E0F\nissuing 2 aes128 F0E1D2C3B4A5968778695A4B3C2D1E0F\n' \
  >"$T/keys"
chmod 600 "$T/keys"
hd_tls_cert "$T"
"$CLI" audit keygen --out "$T/audit.key" >/dev/null || cf_fail "audit keygen"
"$CLI" helpdesk operator add alice --operators "$T/ops" --password-stdin <<<"$PW" >/dev/null ||
  cf_fail "operator add"

# --- a batch run on a simulated GIDS card: its journal names issuing/1 -------
cat >"$T/desc.ini" <<'EOF'
[Description]
SetPIN=true
PIN=#918273
CardManagerKey=#000000000000000000000000000000000000000000000000
NewCardManagerKey=@derive:issuing:1
InitCRKey=true
UseCardManagerKey=true
EOF
printf 'ID\nholder\n' >"$T/batch.csv"
out=$("$CLI" run "$T/desc.ini" --batch "$T/batch.csv" --journal "$T/journal.jsonl" \
  --readers sim:1:gids:gemalto --keyfile "$T/keys" 2>&1 </dev/null) || cf_fail "run: $out"
grep -q '"master_key":"issuing","master_key_version":1' "$T/journal.jsonl" ||
  cf_fail "the journal does not name issuing version 1"
SERIAL=$(sed -n 's/.*"type":"card".*"serial":"\([^"]*\)".*/\1/p' "$T/journal.jsonl" | head -1)
[ -n "$SERIAL" ] || cf_fail "no card serial in the journal"
OTHER=12345678

# --- the references: the command line's answers ------------------------------
CH=0102030405060708
cli_answer() { # PREFIX ARGS...: sets PREFIX_{SCHK,CCHK,RESP}
  local p=$1 out
  shift
  out=$("$CLI" helpdesk response --challenge $CH --keyfile "$T/keys" "$@") ||
    cf_fail "helpdesk response $*: $out"
  printf -v "${p}_SCHK" '%s' "$(sed -n 's/^serial .*check \([0-9]*\)$/\1/p' <<<"$out")"
  printf -v "${p}_CCHK" '%s' "$(sed -n 's/^challenge .*check \([0-9]*\)$/\1/p' <<<"$out")"
  printf -v "${p}_RESP" '%s' "$(sed -n 's/^response *\([0-9A-F ]*[0-9A-F]\) *check.*/\1/p' <<<"$out")"
}
cli_answer J --serial "$SERIAL" --journal "$T/journal.jsonl"
cli_answer N --serial $OTHER --key issuing --key-version 2
cli_answer V1 --serial "$SERIAL" --key issuing --key-version 1
[ -n "$J_RESP" ] && [ -n "$N_RESP" ] || cf_fail "no reference responses"
cf_expect_eq "the journal's answer is version 1's" "$V1_RESP" "$J_RESP"

# --- a journal that cannot be read stops the server ---------------------------
rc=0
"$CLI" helpdesk serve --listen "127.0.0.1:$PORT" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" \
  --operators "$T/ops" --audit "$T/audit.log" --audit-key "$T/audit.key" --keyfile "$T/keys" \
  --journal "$T/missing.jsonl" 2>"$T/missing.err" || rc=$?
cf_expect_eq "serve with a missing journal: exit status" 2 "$rc"
grep -q "missing.jsonl" "$T/missing.err" || cf_fail "the journal is not named: $(cat "$T/missing.err")"

hd_srv_start "$T/server.log" --listen "127.0.0.1:$PORT" --tls-cert "$T/tls.crt" \
  --tls-key "$T/tls.key" --operators "$T/ops" --audit "$T/audit.log" \
  --audit-key "$T/audit.key" --keyfile "$T/keys" --journal "$T/journal.jsonl"

JAR="$T/jar"
req() { # NAME METHOD PATH [curl args...]: status in $code, body in $T/NAME.body
  local name=$1 method=$2 path=$3
  shift 3
  code=$(curl -sS --cacert "$T/tls.crt" -X "$method" -o "$T/$name.body" -w '%{http_code}' \
    -b "$JAR" -c "$JAR" "$@" "$URL$path") || cf_fail "curl $method $path failed"
}
csrf_of() { sed -n 's/.*name="csrf" value="\([0-9A-F]*\)".*/\1/p' "$T/$1.body" | head -1; }
req login GET /login
req in POST /login --data "csrf=$(csrf_of login)" --data-urlencode operator=alice \
  --data-urlencode "password=$PW"
cf_expect_eq "login" 303 "$code"
req page GET /unblock
cf_expect_eq "GET /unblock" 200 "$code"
CSRF=$(csrf_of page)
grep -q '<option value="issuing">issuing, the card' "$T/page.body" ||
  cf_fail "no choice of the card's version: $(grep -o '<select.*</select>' "$T/page.body")"
grep -q '<option value="issuing/2">' "$T/page.body" || cf_fail "version 2 is not offered"
# answer NAME SERIAL SCHK CCHK KEY: the response shown, in $shown
answer() {
  req "$1" POST /unblock --data "csrf=$CSRF&serial=$2&serial_check=$3&challenge=$CH&challenge_check=$4&key=$5"
  shown=$(sed -n 's/.*id="response">\([0-9A-F ]*\)<.*/\1/p' "$T/$1.body")
}
text_of() { sed 's/<[^>]*>/ /g' "$T/$1.body" | tr -s ' '; }

answer journal "$SERIAL" "$J_SCHK" "$J_CCHK" issuing
cf_expect_eq "the journal's card: HTTP status" 200 "$code"
cf_expect_eq "the journal's card: the response" "$J_RESP" "$shown"
text_of journal | grep -qE "issuing version 1 \(from the journal record of 20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC\)" ||
  cf_fail "the page does not name the journal's version: $(text_of journal)"

answer unknown $OTHER "$N_SCHK" "$N_CCHK" issuing
cf_expect_eq "an unknown card: HTTP status" 200 "$code"
cf_expect_eq "an unknown card: the response" "$N_RESP" "$shown"
text_of unknown | grep -q "issuing version 2 (version unknown: the newest is used)" ||
  cf_fail "the page does not say the version is unknown: $(text_of unknown)"

answer wrongv "$SERIAL" "$J_SCHK" "$J_CCHK" issuing%2F2
cf_expect_eq "the journal's card, version 2 chosen: HTTP status" 422 "$code"
[ -z "$shown" ] || cf_fail "a response was shown for the wrong version"
text_of wrongv | grep -q "journal record names another master key or version" ||
  cf_fail "no reason given: $(text_of wrongv)"

hd_srv_stop
"$CLI" audit verify "$T/audit.log" --pubkey "$T/audit.key.pub" >/dev/null ||
  cf_fail "audit verify: $("$CLI" audit verify "$T/audit.log" --pubkey "$T/audit.key.pub")"
grep -q "\"event\":\"response\".*\"serial\":\"$SERIAL\".*\"key_version\":1,\"outcome\":\"given\",\"detail\":\"from the journal record of " \
  "$T/audit.log" || cf_fail "the audit log lacks the journal's version: $(cat "$T/audit.log")"
grep -q "\"event\":\"response\".*\"serial\":\"$OTHER\".*\"key_version\":2,\"outcome\":\"given\",\"detail\":\"version unknown: the newest is used\"" \
  "$T/audit.log" || cf_fail "the audit log lacks the newest version: $(cat "$T/audit.log")"
grep -q "\"serial\":\"$SERIAL\".*\"outcome\":\"refused\"" "$T/audit.log" ||
  cf_fail "the refusal is not in the audit log"
cf_note "ok: the page names and uses the journal's master-key version"
