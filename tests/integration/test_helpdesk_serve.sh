#!/usr/bin/env bash
# `cardforge helpdesk serve` judged by curl and openssl s_client on loopback
# in a private network namespace (the harness's; no card is needed):
#   - HTTPS only, TLS 1.2+ (1.1 refused, plain HTTP gets no page);
#   - every answer has no-store, the CSP with frame-ancestors 'none', HSTS,
#     nosniff; cookies are __Host-, Secure, HttpOnly, SameSite=Strict;
#   - unauthenticated requests, a missing CSRF token, a wrong check value,
#     malformed hex, a malformed form, an oversized body, unknown paths and
#     methods: 4xx, and never a response;
#   - login, logout, session expiry, lockout after 5 failures;
#   - the response equals `cardforge helpdesk response` for the same input;
#   - a burst of concurrent requests served without error or memory growth;
#   - a client that stalls mid-request is dropped, others served meanwhile;
#   - the audit log: the expected events with operator, serial, key name and
#     version and client address, no secret, `audit verify` passes, and finds
#     a changed byte, a deleted line, an inserted line and a cut tail;
#   - the server stops on SIGTERM with status 0 and no sanitizer report.
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/helpdesk_server.sh"

CLI=$HD_CLI
T=$CF_TMP
PORT=8443
URL="https://127.0.0.1:$PORT"
PW='correct horse battery'
# --- files: master keys, TLS certificate, audit key, operators -------------
M1=000102030405060708090A0B0C0D0E0F
echo "issuing 1 aes128 $M1" >"$T/keys"
chmod 600 "$T/keys"
hd_tls_cert "$T"
"$CLI" audit keygen --out "$T/audit.key" >/dev/null || cf_fail "audit keygen"
for op in alice bob; do
  "$CLI" helpdesk operator add "$op" --operators "$T/ops" --password-stdin <<<"$PW" >/dev/null ||
    cf_fail "operator add $op"
done

# Under AddressSanitizer (the asan build) freed memory is held in quarantine,
# which would look like growth to the burst check below: the server runs
# without it there. ASan still finds overflows and uses of freed memory not
# yet reused, and LeakSanitizer the leaks at exit.
asan=0
if ldd "$CLI" | grep >/dev/null libasan; then
  asan=1
  HD_SRV_ENV=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0")
fi
srv_start() { # extra args
  hd_srv_start "$T/server.log" --listen "127.0.0.1:$PORT" --tls-cert "$T/tls.crt" \
    --tls-key "$T/tls.key" --operators "$T/ops" --audit "$T/audit.log" \
    --audit-key "$T/audit.key" --keyfile "$T/keys" "$@"
}

# req NAME METHOD PATH [curl args...]: status in $code, body in $T/NAME.body,
# headers in $T/NAME.hdr; cookies from and into $JAR.
JAR="$T/jar"
req() {
  local name=$1 method=$2 path=$3
  shift 3
  code=$(curl -sS --cacert "$T/tls.crt" -X "$method" -o "$T/$name.body" -D "$T/$name.hdr" \
    -w '%{http_code}' -b "$JAR" -c "$JAR" "$@" "$URL$path") ||
    cf_fail "curl $method $path failed"
}
expect_code() { # CODE WHAT NAME
  [ "$code" = "$1" ] || cf_fail "$2: HTTP $code, expected $1: $(head -c 300 "$T/$3.body")"
}
csrf_of() { sed -n 's/.*name="csrf" value="\([0-9A-F]*\)".*/\1/p' "$T/$1.body" | head -1; }

srv_start

# --- transport: HTTPS only, TLS 1.2+ -----------------------------------------
if curl -sS -m 5 -o /dev/null "http://127.0.0.1:$PORT/login" 2>/dev/null; then
  cf_fail "plain HTTP was answered"
fi
if openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 </dev/null >"$T/s11" 2>&1; then
  cf_fail "TLS 1.1 was accepted: $(tail -5 "$T/s11")"
fi
openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -CAfile "$T/tls.crt" </dev/null \
  >"$T/s12" 2>&1 || cf_fail "TLS 1.2 handshake failed: $(tail -5 "$T/s12")"
grep -q 'Protocol *: TLSv1.2' "$T/s12" || cf_fail "not TLS 1.2: $(grep -i protocol "$T/s12")"

# --- headers and the login page ---------------------------------------------
req login GET /login
expect_code 200 "GET /login" login
for h in 'Cache-Control: no-store' \
  "Content-Security-Policy: default-src 'self'; script-src 'self'" \
  "frame-ancestors 'none'" 'Strict-Transport-Security: max-age=' \
  'X-Content-Type-Options: nosniff' 'X-Frame-Options: DENY'; do
  grep -qiF "$h" "$T/login.hdr" || cf_fail "GET /login lacks header '$h': $(cat "$T/login.hdr")"
done
grep -qE '^Set-Cookie: __Host-cf_login=[0-9A-F]{64}; Path=/; Secure; HttpOnly; SameSite=Strict' \
  "$T/login.hdr" || cf_fail "login cookie: $(grep -i set-cookie "$T/login.hdr")"
LCSRF=$(csrf_of login)
[ ${#LCSRF} -eq 64 ] || cf_fail "no CSRF token in the login form"
req js GET /app.js
expect_code 200 "GET /app.js" js
grep -qi 'Content-Type: text/javascript' "$T/js.hdr" || cf_fail "app.js type"
grep -q 'Cache-Control: no-store' "$T/js.hdr" || cf_fail "app.js lacks no-store"

# --- unauthenticated, unknown, malformed ------------------------------------
req anon GET /unblock
expect_code 303 "GET /unblock unauthenticated" anon
grep -qi '^Location: /login' "$T/anon.hdr" || cf_fail "not sent to /login"
req anonpost POST /unblock --data "serial=1&serial_check=00"
expect_code 401 "POST /unblock unauthenticated" anonpost
req unknown GET /etc/passwd
expect_code 404 "unknown path" unknown
req unknown2 GET "/login/x?password=secret-in-url"
expect_code 404 "path below a page" unknown2
req put PUT /login --data x=1
expect_code 405 "PUT" put

# --- login: CSRF, wrong password, right password ----------------------------
req nocsrf POST /login --data-urlencode operator=alice --data-urlencode "password=$PW"
expect_code 403 "login without CSRF token" nocsrf
req login GET /login
LCSRF=$(csrf_of login)
req wrong POST /login --data "csrf=$LCSRF" --data-urlencode operator=alice \
  --data-urlencode "password=wrong password here"
expect_code 401 "wrong password" wrong
req login GET /login
req unknownop POST /login --data "csrf=$(csrf_of login)" \
  --data-urlencode "operator=typedmypasswordhere" --data-urlencode "password=$PW"
expect_code 401 "unknown operator" unknownop
req login GET /login
LCSRF=$(csrf_of login)
req good POST /login --data "csrf=$LCSRF" --data-urlencode operator=alice \
  --data-urlencode "password=$PW"
expect_code 303 "login" good
grep -qE '^Set-Cookie: __Host-cf_session=[0-9A-F]{64}; Path=/; Max-Age=[0-9]+; Secure; HttpOnly; SameSite=Strict' \
  "$T/good.hdr" || cf_fail "session cookie: $(grep -i set-cookie "$T/good.hdr")"
req page GET /unblock
expect_code 200 "GET /unblock" page
CSRF=$(csrf_of page)
[ ${#CSRF} -eq 64 ] || cf_fail "no CSRF token on the unblock page"
grep -q '<option value="issuing/1">' "$T/page.body" || cf_fail "the key is not offered"

# --- the unblock form: the CLI's answer is the reference ---------------------
SERIAL=12345678
CH=0102030405060708
WANT=$("$CLI" helpdesk response --serial $SERIAL --challenge $CH --keyfile "$T/keys" --key issuing)
SCHK=$(sed -n 's/^serial .*check \([0-9]*\)$/\1/p' <<<"$WANT")
CCHK=$(sed -n 's/^challenge .*check \([0-9]*\)$/\1/p' <<<"$WANT")
RESP=$(sed -n 's/^response *\([0-9A-F ]*[0-9A-F]\) *check.*/\1/p' <<<"$WANT")
RCHK=$(sed -n 's/^response .*check \([0-9]*\)$/\1/p' <<<"$WANT")
[ -n "$RESP" ] && [ -n "$CCHK" ] && [ -n "$SCHK" ] || cf_fail "helpdesk response printed: $WANT"
BADCCHK=$(printf '%02d' $(((10#$CCHK + 1) % 97)))
BADSCHK=$(printf '%02d' $(((10#$SCHK + 1) % 97)))
form() { echo "csrf=$1&serial=$2&serial_check=$3&challenge=$4&challenge_check=$5&key=issuing%2F1"; }
no_response() { ! grep -q 'id="response"' "$T/$1.body" || cf_fail "$1: a response was shown"; }

req nocsrf2 POST /unblock --data "$(form "" $SERIAL "$SCHK" $CH "$CCHK")"
expect_code 403 "unblock without CSRF token" nocsrf2
no_response nocsrf2
req badcsrf POST /unblock --data "$(form "${CSRF:0:63}X" $SERIAL "$SCHK" $CH "$CCHK")"
expect_code 403 "unblock with a wrong CSRF token" badcsrf
no_response badcsrf
req badcv POST /unblock --data "$(form "$CSRF" $SERIAL "$SCHK" $CH "$BADCCHK")"
expect_code 422 "wrong challenge check value" badcv
no_response badcv
grep -q "check value does not match" "$T/badcv.body" || cf_fail "no reason given"
req badscv POST /unblock --data "$(form "$CSRF" $SERIAL "$BADSCHK" $CH "$CCHK")"
expect_code 422 "wrong serial check value" badscv
no_response badscv
req badhex POST /unblock --data "$(form "$CSRF" $SERIAL "$SCHK" 01020304050607GG "$CCHK")"
expect_code 422 "malformed hex" badhex
no_response badhex
req shorthex POST /unblock --data "$(form "$CSRF" $SERIAL "$SCHK" 01020304 "$CCHK")"
expect_code 422 "short challenge" shorthex
no_response shorthex
req badform POST /unblock --data "csrf=$CSRF&serial=%zz"
expect_code 400 "malformed form" badform
head -c 5000 /dev/zero | tr '\0' a >"$T/big"
req big POST /unblock --data-binary "@$T/big"
expect_code 413 "oversized body" big
req ok POST /unblock --data "$(form "$CSRF" "1234-5678" "$SCHK" "0102+0304-0506+0708" "$CCHK")"
expect_code 200 "unblock" ok
got=$(sed -n 's/.*id="response">\([0-9A-F ]*\)<.*/\1/p' "$T/ok.body")
cf_expect_eq "the page's response (as helpdesk response)" "$RESP" "$got"
gotchk=$(sed -n 's/.*id="response_check">\([0-9]*\)<.*/\1/p' "$T/ok.body")
cf_expect_eq "the response's check value" "$RCHK" "$gotchk"
grep -q 'issuing version 1' "$T/ok.body" || cf_fail "the key version is not named"
grep -q 'Cache-Control: no-store' "$T/ok.hdr" || cf_fail "the response page may be cached"

# --- logout, and a session that expires ---------------------------------------
cp "$JAR" "$T/jar.alice"
req logout POST /logout --data "csrf=$CSRF"
expect_code 303 "logout" logout
cp "$T/jar.alice" "$JAR" # the old cookie, replayed
req after GET /unblock
expect_code 303 "the session after logout" after
req login GET /login
req again POST /login --data "csrf=$(csrf_of login)" --data-urlencode operator=alice \
  --data-urlencode "password=$PW"
expect_code 303 "login again" again
req live GET /unblock
expect_code 200 "a fresh session" live

# --- a bounded burst of concurrent requests -----------------------------------
rss() { awk '/^VmRSS/ {print $2}' "/proc/$HD_SRV_PID/status"; }
burst() {
  local i pids=()
  for i in $(seq 1 30); do
    curl -sS --cacert "$T/tls.crt" -o /dev/null -w '%{http_code}\n' "$URL/login" \
      >"$T/burst.$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || cf_fail "a request of the burst failed"; done
  cat "$T"/burst.* | sort | uniq -c | grep -x >/dev/null ' *30 200' ||
    cf_fail "burst: $(cat "$T"/burst.* | sort | uniq -c)"
  rm -f "$T"/burst.*
}
burst
rss1=$(rss)
burst
burst
rss2=$(rss)
# Under ASan the resident size is its allocator's (per-thread caches, size
# classes filled by 30 concurrent connections: 47 MB seen on a fresh
# machine), not the server's: there LeakSanitizer judges leaks at the
# server's exit (its log is checked for sanitizer reports below).
if [ $asan = 0 ]; then
  [ $((rss2 - rss1)) -lt 4096 ] || cf_fail "memory grew by $((rss2 - rss1)) kB over two bursts"
fi

# --- lockout: 5 failures lock the name, even the right password then -------
for i in 1 2 3 4 5; do
  req login GET /login
  req lock$i POST /login --data "csrf=$(csrf_of login)&operator=bob&password=nope-nope-$i"
  expect_code 401 "failed login $i" lock$i
done
req login GET /login
req locked POST /login --data "csrf=$(csrf_of login)" --data-urlencode operator=bob \
  --data-urlencode "password=$PW"
expect_code 429 "login while locked out" locked

# --- a slow client: half a request, then silence ----------------------------
# Others are served meanwhile; the server drops it after its 10 s timeout
# without answering the half request.
mkfifo "$T/slow.in"
openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$T/tls.crt" <"$T/slow.in" \
  >"$T/slow.out" 2>"$T/slow.err" &
SLOW_PID=$!
slow_t0=$SECONDS
exec 7>"$T/slow.in"
printf 'GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n' >&7
req during GET /login
expect_code 200 "a request while another client stalls" during
deadline=$((SECONDS + 30))
while kill -0 "$SLOW_PID" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { kill "$SLOW_PID"; cf_fail "the stalled client was not dropped in 30 s"; }
  sleep 0.2
done
exec 7>&-
[ $((SECONDS - slow_t0)) -ge 8 ] ||
  cf_fail "the stalled client ended after $((SECONDS - slow_t0)) s, not at the timeout: $(cat "$T/slow.err")"
! grep -q 'HTTP/1' "$T/slow.out" || cf_fail "the half request was answered: $(cat "$T/slow.out")"

hd_srv_stop

# --- the server log: routes and statuses, nothing typed ---------------------
for s in "$PW" "$RESP" "$CSRF" "$LCSRF" passwd secret-in-url; do
  ! grep -qF -- "$s" "$T/server.log" || cf_fail "the server log holds '$s'"
done
! grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$T/server.log" ||
  cf_fail "sanitizer report: $(cat "$T/server.log")"

# --- the audit log ------------------------------------------------------------
A="$T/audit.log"
"$CLI" audit verify "$A" --pubkey "$T/audit.key.pub" >"$T/verify.out" ||
  cf_fail "audit verify: $(cat "$T/verify.out")"
has() { grep -q "$1" "$A" || cf_fail "the audit log lacks $2: $(cat "$A")"; }
has '"event":"start"' "the start"
has '"event":"login_failed","operator":"alice","client":"127.0.0.1","outcome":"refused","detail":"wrong name or password"' "the failed login"
has '"event":"login","operator":"alice","client":"127.0.0.1","outcome":"ok"' "the login"
has '"event":"lockout","operator":"bob","client":"127.0.0.1"' "the lockout"
has '"event":"login_failed","operator":"bob","client":"127.0.0.1","outcome":"refused","detail":"locked out"' "the refusal while locked"
has '"event":"response","operator":"alice","client":"127.0.0.1","serial":"12345678","key_name":"issuing","key_version":1,"outcome":"given"' "the response given"
has '"event":"response","operator":"alice","client":"127.0.0.1","serial":"12345678","outcome":"refused","detail":"the challenge.s check value does not match' "the refused response"
has '"event":"csrf_refused","operator":"alice"' "the CSRF refusal"
has '"event":"login_failed","operator":"(unknown operator)","client":"127.0.0.1"' "an unknown name"
! grep -q typedmypasswordhere "$A" || cf_fail "an unknown operator name was logged"
has '"event":"logout","operator":"alice"' "the logout"
has '"event":"checkpoint","final":true' "the final checkpoint"
cf_expect_eq "responses given" 1 "$(grep -c '"outcome":"given"' "$A")"
for s in "$PW" "${RESP// /}" "$RESP" "$CSRF" "$M1"; do
  ! grep -qF -- "$s" "$A" || cf_fail "the audit log holds a secret"
done

# tampering, judged by `audit verify` (exit 1 and the damage named)
verify_damaged() { # FILE KIND
  local rc=0
  "$CLI" audit verify "$1" --pubkey "$T/audit.key.pub" >"$T/v.out" || rc=$?
  cf_expect_eq "audit verify exit on a log with $2 lines" 1 "$rc"
  grep -q "DAMAGED ($2)" "$T/v.out" || cf_fail "verify did not say $2: $(cat "$T/v.out")"
}
n=$(wc -l <"$A")
sed '3s/"127.0.0.1"/"127.0.0.2"/' "$A" >"$T/t1"
verify_damaged "$T/t1" edited
grep -q 'line 3 was changed' "$T/v.out" || cf_fail "edited line not named: $(cat "$T/v.out")"
sed '4d' "$A" >"$T/t2"
verify_damaged "$T/t2" deleted
sed '5p' "$A" >"$T/t3"
verify_damaged "$T/t3" inserted
head -n $((n - 1)) "$A" >"$T/t4"
verify_damaged "$T/t4" tail-unsealed
# --- a session that expires: a server of its own with a 2 s idle limit --------
# (the server above keeps the default limit: on a loaded machine the steps
# between its login and its last form may take longer than any short limit)
hd_srv_start "$T/server2.log" --listen "127.0.0.1:$PORT" --tls-cert "$T/tls.crt" \
  --tls-key "$T/tls.key" --operators "$T/ops" --audit "$T/audit2.log" \
  --audit-key "$T/audit.key" --keyfile "$T/keys" --session-idle 2
rm -f "$JAR"
req login GET /login
req short POST /login --data "csrf=$(csrf_of login)" --data-urlencode operator=alice \
  --data-urlencode "password=$PW"
expect_code 303 "login on the 2 s server" short
grep -q '^Set-Cookie: __Host-cf_session=' "$T/short.hdr" || cf_fail "no session on the 2 s server"
sleep 3 # the idle limit is 2 s: the expiry itself is what is tested
req expired GET /unblock
expect_code 303 "an expired session" expired
grep -qi '^Location: /login' "$T/expired.hdr" || cf_fail "the expired session was not sent to /login"
hd_srv_stop
cf_note "PASS"
