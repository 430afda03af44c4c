#!/usr/bin/env bash
# test_run_certs.sh - `cardforge run` with a [Certificate_Logon] section on
# several simulated readers: every card gets a key generated on the card
# and a certificate from the test CA. The judges are openssl's: each card's
# certificate (taken from the card's own state file, not from cardforge) is
# verified with `openssl verify -CAfile`, names its holder, and the card's
# key (from the same state file) makes a signature openssl verifies with
# the certificate. The journal records slot, algorithm, serial, SHA-256,
# issuer and not-after, matching the certificate on the card. The external
# CA path (a script around `openssl x509 -req`) runs on GIDS cards; at a
# terminal the live panel shows the reader on issue-certificate while the
# CA works; a CA command that refuses leaves each card "key-generated" in
# the journal, failed, its PIN not blocked. No PIN and no private key reaches the
# journal or the output.
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-run-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$tmp" && umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout ca.key -out ca.pem -subj '/CN=Line CA' -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null) || fail "cannot make the test CA"

cat >"$tmp/b.csv" <<'CSV'
ID,HOLDER,UPN,PIN
1,"Doe, Jane",jane@corp.example,739146
2,Alan Turing,alan@corp.example,582047
3,Grace Hopper,grace@corp.example,915372
4,Ada Lovelace,ada@corp.example,461938
CSV
# The fields and the PIN every job here sets.
job_head() {
    printf '[Fields]\nHOLDER=\nUPN=\nPIN=\n[Description]\nSetPIN=true\nPIN=PIN\n'
}
{
    job_head
    cat <<'INI'
InitialPUK=#12345678
CardManagerKey=#010203040506070801020304050607080102030405060708
[Certificate_Logon]
Slot=9a
Algorithm=p256
Subject=/CN=${HOLDER}/O=Bureau
UPN=${UPN}
CA=local
CACert=ca.pem
CAKey=ca.key
[Application_B]
BlockCard=true
INI
} >"$tmp/piv.ini"

# ---- PIV, local CA, two readers ----
"$cf" plan "$tmp/piv.ini" >"$tmp/plan.out" 2>&1 || fail "plan: $(cat "$tmp/plan.out")"
grep -q "issue-certificate generate a key on the card" "$tmp/plan.out" || fail "plan: no step"
grep -q "key  \[Certificate_Logon\] slot 9a, ECC P-256, local CA" "$tmp/plan.out" ||
    fail "plan: the section is not shown: $(cat "$tmp/plan.out")"
"$cf" plan "$tmp/piv.ini" --json >"$tmp/plan.json" 2>&1 || fail "plan --json"
python3 - "$tmp/plan.json" <<'PY' || fail "plan --json: $(cat "$tmp/plan.json")"
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
c = [s for s in steps if s["kind"] == "issue-certificate"]
assert len(c) == 1 and c[0]["certificate"] == {"section": "Logon", "slot": "9a",
    "algorithm": "ECC P-256", "ca": "local", "validity_days": 365}, c
assert all("certificate" not in s for s in steps if s["kind"] != "issue-certificate")
PY
rc=0
"$cf" run "$tmp/piv.ini" --batch "$tmp/b.csv" --journal "$tmp/piv.jsonl" \
    --readers sim:2:yubikey --sim-keep "$tmp/cards" >"$tmp/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "PIV run: exit $rc: $(tail -n 20 "$tmp/out")"
grep -q '^summary: 4 of 4 records personalized' "$tmp/out" || fail "summary: $(cat "$tmp/out")"
[ "$(grep -c '"certificate":{"state":"done","slot":"9a","algorithm":"ECC P-256"' \
    "$tmp/piv.jsonl")" -eq 4 ] || fail "journal: not 4 certificates done in 9a"

# Each personalized card's certificate and key, from its state file.
python3 - "$tmp" <<'PY' || fail "cannot read the cards' certificates"
import binascii, os, sys
tmp = sys.argv[1]
n = 0
for name in sorted(os.listdir(f"{tmp}/cards/out")):
    st = dict(l.rstrip("\n").split("=", 1) for l in open(f"{tmp}/cards/out/{name}") if "=" in l)
    if "obj_5FC105" not in st:
        continue
    b = binascii.unhexlify(st["obj_5FC105"])
    assert b[0] == 0x70, "not a certificate object"
    if b[1] == 0x82:
        ln, off = (b[2] << 8) | b[3], 4
    elif b[1] == 0x81:
        ln, off = b[2], 3
    else:
        ln, off = b[1], 2
    open(f"{tmp}/card{n}.der", "wb").write(b[off:off + ln])
    key = st["key_9A"].split()[-1]  # PKCS#8, the card's own record of its key
    open(f"{tmp}/card{n}.key.der", "wb").write(binascii.unhexlify(key))
    n += 1
assert n == 4, f"{n} cards hold a certificate in 9a"
PY
echo "data signed on the line" >"$tmp/msg"
for i in 0 1 2 3; do
    openssl x509 -inform DER -in "$tmp/card$i.der" -out "$tmp/card$i.pem"
    openssl verify -CAfile "$tmp/ca.pem" -purpose sslclient "$tmp/card$i.pem" >/dev/null ||
        fail "card $i: openssl verify refuses its certificate"
    subj=$(openssl x509 -in "$tmp/card$i.pem" -noout -subject -nameopt RFC2253)
    # RFC 2253 prints the last attribute first
    case "$subj" in
    *"O=Bureau,CN=Doe\, Jane" | *"O=Bureau,CN=Alan Turing" | *"O=Bureau,CN=Grace Hopper" | \
        *"O=Bureau,CN=Ada Lovelace") ;;
    *) fail "card $i: subject $subj names no holder of the batch" ;;
    esac
    openssl x509 -in "$tmp/card$i.pem" -noout -ext subjectAltName,extendedKeyUsage |
        grep -q "Microsoft Smartcard Login" || fail "card $i: no smart-card logon EKU"
    openssl pkey -inform DER -in "$tmp/card$i.key.der" -out "$tmp/card$i.key.pem"
    openssl x509 -in "$tmp/card$i.pem" -noout -pubkey >"$tmp/card$i.pub"
    openssl dgst -sha256 -sign "$tmp/card$i.key.pem" -out "$tmp/card$i.sig" "$tmp/msg"
    openssl dgst -sha256 -verify "$tmp/card$i.pub" -signature "$tmp/card$i.sig" "$tmp/msg" |
        grep -q "Verified OK" || fail "card $i: the card's key does not match its certificate"
    # the journal names this certificate: serial and fingerprint
    serial=$(openssl x509 -in "$tmp/card$i.pem" -noout -serial | cut -d= -f2)
    fp=$(openssl x509 -in "$tmp/card$i.pem" -noout -fingerprint -sha256 | cut -d= -f2 |
        tr -d : | tr 'A-F' 'a-f')
    grep -q "\"serial\":\"$serial\",\"sha256\":\"$fp\",\"issuer\":\"CN=Line CA\"" \
        "$tmp/piv.jsonl" || fail "card $i: journal lacks serial $serial / sha256 $fp"
    echo "9a $serial $fp" >>"$tmp/certs.want"
done
# `cardforge export` gives a card management system each card's certificate
"$cf" export "$tmp/piv.jsonl" >"$tmp/export.csv" || fail "cardforge export failed"
python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["status"] == "personalized":
        print(r["cert_slots"], r["cert_serials"], r["cert_sha256"])' "$tmp/export.csv" |
    sort >"$tmp/certs.got"
sort "$tmp/certs.want" | cmp -s - "$tmp/certs.got" ||
    fail "export's certificates differ from the cards': $(cat "$tmp/certs.got")"

# No PIN of the batch and no private key in the journal or the output.
for pin in 739146 582047 915372 461938; do
    grep -q "$pin" "$tmp/piv.jsonl" "$tmp/out" && fail "PIN $pin in the journal or output"
done
for i in 0 1 2 3; do
    k=$(od -An -tx1 -v "$tmp/card$i.key.der" | tr -d ' \n' | tail -c 64)
    grep -qi "$k" "$tmp/piv.jsonl" "$tmp/out" && fail "card $i: private key in the journal"
done

# ---- GIDS, the CA is a command around openssl x509 -req ----
cat >"$tmp/ca.sh" <<SH
#!/bin/sh
exec openssl x509 -req -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -CAserial "$tmp/ca.srl" -days 20 -copy_extensions copy 2>/dev/null
SH
chmod 700 "$tmp/ca.sh"
gids_job() { # CACOMMAND
    job_head
    cat <<INI
CardManagerKey=#000000000000000000000000000000000000000000000000
[Certificate_Logon]
Slot=auto
Algorithm=rsa2048
Subject=/CN=\${HOLDER}
UPN=\${UPN}
CA=command
CACommand=$1
CATimeout=20
[Application_B]
BlockCard=true
INI
}
gids_job "$tmp/ca.sh" >"$tmp/gids.ini"
rc=0
"$cf" run "$tmp/gids.ini" --batch "$tmp/b.csv" --journal "$tmp/gids.jsonl" \
    --readers sim:2:gids:gemalto >"$tmp/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "GIDS run: exit $rc: $(tail -n 20 "$tmp/out")"
[ "$(grep -c '"certificate":{"state":"done","slot":"0","algorithm":"RSA-2048","serial":"[0-9A-F]\+","sha256":"[0-9a-f]\{64\}","issuer":"CN=Line CA","not_after":"20[0-9-]*T' \
    "$tmp/gids.jsonl")" -eq 4 ] || fail "GIDS journal: not 4 certificates done"

# ---- at a terminal: the live panel shows the reader on issue-certificate ----
# The CA answers only once the panel has shown the step (tty_run touches
# $tmp/go when it sees it); if the panel never shows it, the CA gives up
# after its own deadline and the card fails.
cat >"$tmp/slow-ca.sh" <<SH
#!/bin/sh
end=\$((\$(date +%s) + 30))
while [ ! -e "$tmp/go" ]; do
    [ "\$(date +%s)" -lt "\$end" ] || exit 7
    sleep 0.1
done
exec "$tmp/ca.sh"
SH
chmod 700 "$tmp/slow-ca.sh"
gids_job "$tmp/slow-ca.sh" >"$tmp/slow.ini"
head -n 2 "$tmp/b.csv" >"$tmp/one.csv"
printf 'expect issue-certificate\ntouch %s\nexit\n' "$tmp/go" >"$tmp/tty.script"
rc=0
python3 "$src/tests/integration/lib/tty_run.py" "$tmp/tty.out" "$tmp/tty.script" -- \
    "$cf" run "$tmp/slow.ini" --batch "$tmp/one.csv" --journal "$tmp/slow.jsonl" \
    --readers sim:1:gids:gemalto --max-attempts 1 || rc=$?
[ "$rc" -eq 0 ] || fail "live panel: exit $rc: $(tail -c 1500 "$tmp/tty.out")"
grep -q '"certificate":{"state":"done"' "$tmp/slow.jsonl" || fail "live panel: no certificate"

# ---- a CA that refuses: every card is failed, key generated, no certificate ----
printf '#!/bin/sh\ncat >/dev/null\necho "CA policy: no certificates today" >&2\nexit 1\n' \
    >"$tmp/no.sh"
chmod 700 "$tmp/no.sh"
gids_job "$tmp/no.sh" >"$tmp/no.ini"
rc=0
"$cf" run "$tmp/no.ini" --batch "$tmp/b.csv" --journal "$tmp/no.jsonl" \
    --readers sim:2:gids:gemalto --max-attempts 1 >"$tmp/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "refusing CA: exit $rc, expected 1: $(tail -n 20 "$tmp/out")"
n=$(grep '"type":"card"' "$tmp/no.jsonl" | grep '"status":"failed"' |
    grep '"step":"issue-certificate","outcome":"failed","reached":"yes"' |
    grep 'CA policy: no certificates today' |
    grep -c '"certificate":{"state":"key-generated","slot":"0","algorithm":"RSA-2048","serial":""')
[ "$n" -ge 4 ] || fail "refusing CA: $n cards journaled as key-generated: $(head -c 2000 "$tmp/no.jsonl")"
grep '"type":"card"' "$tmp/no.jsonl" | grep -q '"step":"block-pin","outcome":"done"' &&
    fail "refusing CA: a PIN was blocked after the failed step"
echo "PASS"
