# helpdesk_server.sh - running `cardforge helpdesk serve` in a test.
#
# Source it after harness.sh (it uses cf_fail, cf_expect_eq, cf__on_exit and
# CF_TMP). It replaces the harness's EXIT trap with one that kills a server
# still running, then runs the harness's own.
#
#   hd_tls_cert DIR        a P-256 key and self-signed certificate for
#                          127.0.0.1: DIR/tls.key (0600), DIR/tls.crt
#   hd_srv_start LOG ARGS  start `cardforge helpdesk serve ARGS`, standard
#                          error appended to LOG; wait (20 s at most) until
#                          it says it serves. HD_SRV_ENV (an array) is put
#                          before the command (env VAR=...).
#   hd_srv_stop            SIGTERM, wait, expect exit status 0
# Variables: HD_CLI (the cardforge program), HD_SRV_PID.
HD_CLI="$CF_BUILD/tools/cardforge"
HD_SRV_PID=""
HD_SRV_ENV=()

hd_srv_kill() {
  [ -n "$HD_SRV_PID" ] && kill -KILL "$HD_SRV_PID" 2>/dev/null
  HD_SRV_PID=""
  return 0
}
trap 'rc=$?; hd_srv_kill; (exit $rc); cf__on_exit' EXIT

hd_tls_cert() { # DIR
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=helpdesk.test -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$1/tls.key" -out "$1/tls.crt" 2>"$1/openssl.err" ||
    cf_fail "openssl req: $(cat "$1/openssl.err")"
  chmod 600 "$1/tls.key"
}

hd_srv_start() { # LOG ARGS...
  local log=$1
  shift
  "${HD_SRV_ENV[@]}" "$HD_CLI" helpdesk serve "$@" 2>>"$log" &
  HD_SRV_PID=$!
  local deadline=$((SECONDS + 20))
  until grep -q "serving https on" "$log" 2>/dev/null; do
    kill -0 "$HD_SRV_PID" 2>/dev/null || cf_fail "the server exited: $(cat "$log")"
    [ $SECONDS -lt $deadline ] || cf_fail "the server did not start in 20 s"
    sleep 0.1
  done
}

hd_srv_stop() {
  kill -TERM "$HD_SRV_PID"
  local rc=0
  wait "$HD_SRV_PID" || rc=$?
  HD_SRV_PID=""
  cf_expect_eq "server exit status on SIGTERM" 0 "$rc"
}
