#!/usr/bin/env bash
# test_run_certs_pcsc.sh - `cardforge run` with a [Certificate_Logon]
# section on real pcscd + vpcd readers: two PIV (yubikey) cards with the
# local CA, two GIDS cards with a CA command around `openssl x509 -req`.
# The judges are OpenSC and openssl: each card's certificate as
# pkcs11-tool reads it passes `openssl verify -CAfile`, and the card's key
# signs through pkcs11-tool a message openssl verifies with that
# certificate's public key. The journal's fingerprint is that of the
# certificate OpenSC reads. (No BlockCard: the PIN must still sign.)
source "$2/tests/integration/lib/harness.sh" "$@"
source "$CF_SOURCE/tests/integration/lib/interop.sh"

MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
for tool in pkcs11-tool openssl; do
    command -v "$tool" >/dev/null || cf_fail "'$tool' not installed: run scripts/setup.sh"
done
CLI="$CF_BUILD/tools/cardforge"
W=$CF_TMP
export CF_PCSCD_LOG="" # pcscd's APDU log would hold the PINs

(cd "$W" && umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout ca.key -out ca.pem -subj '/CN=Line CA' -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null) || cf_fail "cannot make the test CA"
cat >"$W/ca.sh" <<SH
#!/bin/sh
exec openssl x509 -req -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
    -CAserial "$W/ca.srl" -days 20 -copy_extensions copy 2>/dev/null
SH
chmod 700 "$W/ca.sh"

printf 'ID,HOLDER,PIN\n1,Ada Lovelace,461938\n2,Alan Turing,582047\n' >"$W/piv.csv"
printf 'ID,HOLDER,PIN\n1,Grace Hopper,91537\n2,Edsger Dijkstra,24681\n' >"$W/gids.csv"
head_ini='[Fields]\nHOLDER=\nPIN=\n[Description]\nSetPIN=true\nPIN=PIN\n'
{
    printf "$head_ini"
    printf 'InitialPUK=#12345678\nCardManagerKey=#010203040506070801020304050607080102030405060708\n'
    printf '[Certificate_Logon]\nSlot=9a\nAlgorithm=p256\nSubject=/CN=${HOLDER}\n'
    printf 'CA=local\nCACert=ca.pem\nCAKey=ca.key\n'
} >"$W/piv.ini"
{
    printf "$head_ini"
    printf 'CardManagerKey=#000000000000000000000000000000000000000000000000\n'
    printf '[Certificate_Logon]\nSlot=auto\nAlgorithm=rsa2048\nSubject=/CN=${HOLDER}\n'
    printf 'CA=command\nCACommand=%s\n' "$W/ca.sh"
} >"$W/gids.ini"

# Readers 0, 1 ("CardForge 0 ..."): yubikey; 2, 3 ("CardForge 1 ..."): GIDS.
cf_harness_start 4 yubikey,yubikey,gids,gids ,,gemalto,gemalto

cf_expect_run "PIV batch" 0 "$CLI" run "$W/piv.ini" --batch "$W/piv.csv" \
    --journal "$W/piv.jsonl" --readers "CardForge 0 "
cf_expect_out "PIV summary" "2 of 2 records personalized"
cf_expect_run "GIDS batch" 0 "$CLI" run "$W/gids.ini" --batch "$W/gids.csv" \
    --journal "$W/gids.jsonl" --readers "CardForge 1 "
cf_expect_out "GIDS summary" "2 of 2 records personalized"

echo "signed on the production line" >"$W/msg"
# Reader I's PKCS#11 slot id, found by its name.
slot_of() {
    pkcs11-tool --module "$MODULE" -L 2>/dev/null |
        sed -n "s/^Slot [0-9]* (\(0x[0-9a-f]*\)): $(cf_reader_name "$1").*/\1/p" | head -n 1
}
judge() { # I PIN ID MECH FORMAT... JOURNAL
    local i=$1 pin=$2 id=$3 mech=$4 journal=$5
    shift 5
    local slot
    slot=$(slot_of "$i")
    [ -n "$slot" ] || cf_fail "reader $i: no PKCS#11 slot"
    p11() { pkcs11-tool --module "$MODULE" --slot "$slot" "$@"; }
    cf_expect_run "reader $i: OpenSC reads the certificate" 0 p11 --read-object --type cert \
        --id "$id" -o "$W/c$i.der"
    openssl x509 -inform DER -in "$W/c$i.der" -out "$W/c$i.pem" || cf_fail "reader $i: not DER"
    cf_expect_run "reader $i: openssl verify -CAfile" 0 openssl verify -CAfile "$W/ca.pem" \
        -purpose sslclient "$W/c$i.pem"
    fp=$(openssl x509 -in "$W/c$i.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : |
        tr 'A-F' 'a-f')
    grep -q "\"sha256\":\"$fp\",\"issuer\":\"CN=Line CA\"" "$journal" ||
        cf_fail "reader $i: the journal does not name the certificate on the card ($fp)"
    cf_expect_run "reader $i: the card signs" 0 p11 --login --pin "$pin" --sign --id "$id" \
        -m "$mech" "$@" -i "$W/msg" -o "$W/s$i.sig"
    openssl x509 -in "$W/c$i.pem" -noout -pubkey >"$W/p$i.pem"
    cf_expect_run "reader $i: openssl verifies the card's signature" 0 openssl dgst -sha256 \
        -verify "$W/p$i.pem" -signature "$W/s$i.sig" "$W/msg"
}
pin_of() { # JOURNAL I: the PIN of the record reader I got (from the batch, by record)
    local e=$(($2 / 2)) s=$(($2 % 2)) rec csv=$3
    rec=$(grep '"type":"card"' "$1" | grep "\"reader\":\"CardForge $e 00 0$s\"" |
        sed -n 's/.*"record":\([0-9]*\).*/\1/p' | tail -n 1)
    sed -n "$((rec + 1))p" "$csv" | cut -d, -f3
}
for i in 0 1; do
    judge "$i" "$(pin_of "$W/piv.jsonl" "$i" "$W/piv.csv")" 01 ECDSA-SHA256 "$W/piv.jsonl" \
        --signature-format openssl
done
for i in 2 3; do
    judge "$i" "$(pin_of "$W/gids.jsonl" "$i" "$W/gids.csv")" 00 SHA256-RSA-PKCS "$W/gids.jsonl"
done
for pin in 461938 582047 91537 24681; do
    grep -q "$pin" "$W/piv.jsonl" "$W/gids.jsonl" && cf_fail "PIN $pin in a journal"
done
echo PASS
