# test_vcard_framing.sh - the card side of the vpcd protocol against a
# hostile fake driver (python3, no pcscd): messages split into single
# bytes or coalesced, the 1-byte control messages, a 1-byte non-control
# message, a 65535-byte message, an APDU to an unpowered card, a length of
# 0 and EOF in the middle of a message. After each broken connection the
# card reconnects; at the end it still answers and exits 0 on SIGTERM.
source "$2/tests/integration/lib/harness.sh" "$@"

command -v python3 >/dev/null || cf_fail "python3 not installed: run scripts/setup.sh"
port=$(cf_card_port 0)
atr=$("$CF_VCARD" --type yubikey --print-atr) || cf_fail "--print-atr"

python3 - "$port" "$atr" "$CF_TMP/driver.ready" >"$CF_TMP/driver.log" 2>&1 <<'PY' &
import socket, sys, time

port, atr_hex, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
atr = bytes.fromhex(atr_hex.replace(":", ""))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
srv.settimeout(10)
open(ready, "w").close()

def fail(msg):
    print("driver: FAIL:", msg, flush=True)
    sys.exit(1)

def accept():
    c, _ = srv.accept()
    c.settimeout(5)
    return c

def recv_exact(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            fail("card closed the connection unexpectedly")
        b += chunk
    return b

def frame(p):
    return len(p).to_bytes(2, "big") + p

def reply(c):
    n = int.from_bytes(recv_exact(c, 2), "big")
    return recv_exact(c, n)

def expect_close(c, what):
    try:
        if c.recv(1) != b"":
            fail(what + ": card answered instead of closing")
    except socket.timeout:
        fail(what + ": card did not close the connection")
    c.close()

c = accept()
# GET ATR one byte at a time.
for b in frame(b"\x04"):
    c.sendall(bytes([b]))
    time.sleep(0.02)
if reply(c) != atr:
    fail("ATR split into single bytes")
# Power on and an APDU and GET ATR coalesced into one write.
c.sendall(frame(b"\x01") + frame(bytes.fromhex("00A4040000")) + frame(b"\x04"))
r = reply(c)
if len(r) < 2:
    fail("APDU after power on: short response")
if reply(c) != atr:
    fail("ATR after a coalesced APDU")
# A 1-byte message that is no control code is a (malformed) APDU.
c.sendall(frame(b"\x03"))
if reply(c) != bytes.fromhex("6700"):
    fail("1-byte non-control message should get 6700")
# The longest message the wire allows: the card survives and answers.
c.sendall(frame(bytes([0x00, 0xDA, 0x3F, 0xFF]) + bytes(65531)))
r = reply(c)
if len(r) != 2:
    fail("65535-byte message: expected a status word")
# Reset, power off: no answer; an APDU to the unpowered card ends the link.
c.sendall(frame(b"\x02") + frame(b"\x00") + frame(bytes.fromhex("00A4040000")))
expect_close(c, "APDU to an unpowered card")
print("driver: unpowered APDU closed", flush=True)

# A length of 0 is a framing error: the card closes and comes back.
c = accept()
c.sendall(b"\x00\x00")
expect_close(c, "length 0")
print("driver: length 0 closed", flush=True)

# EOF in the middle of a message: the card comes back.
c = accept()
c.sendall(b"\x00\x0a\x00\xa4")
c.close()
print("driver: closed mid-message", flush=True)

c = accept()
c.sendall(frame(b"\x04"))
if reply(c) != atr:
    fail("ATR after reconnecting")
c.sendall(frame(b"\x01") + frame(bytes.fromhex("00C0000000")))
if len(reply(c)) < 2:
    fail("APDU after reconnecting")
print("driver: ok", flush=True)
c.close()
PY
driver=$!
for ((t = 0; t < 50; t++)); do
    [ -e "$CF_TMP/driver.ready" ] && break
    sleep 0.1
done
[ -e "$CF_TMP/driver.ready" ] || cf_fail "fake driver did not start: $(cat "$CF_TMP/driver.log")"

cf_card_start 0 --type yubikey --state "$(cf_state_file 0)" -v
wait "$driver"
rc=$?
cat "$CF_TMP/driver.log"
[ "$rc" -eq 0 ] || { cat "$(cf_card_log 0)"; cf_fail "fake driver reported a failure"; }
log=$(cf_card_log 0)
grep -q 'disconnected (APDU to an unpowered card)' "$log" || cf_fail "log: unpowered APDU"
grep -q 'disconnected (framing error: message length 0)' "$log" || cf_fail "log: length 0"
grep -q 'disconnected (reader closed the connection in the middle of a message)' "$log" ||
    cf_fail "log: EOF mid-message"
cf_card_stop 0
cf_expect_eq "exit status on SIGTERM" 0 "$CF_LAST_RC"
grep -qx 'type=yubikey' "$(cf_state_file 0)" || cf_fail "state file lost"
cf_note "ok: framing survives splits, junk, length 0 and EOF mid-message"
