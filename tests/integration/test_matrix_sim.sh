#!/usr/bin/env bash
# test_matrix_sim.sh - the personalization matrix: every sample job and the
# YubiKey job × every virtual-card variant, in process (simulated readers,
# cardforge run). Each cell either personalizes every record (judged by the
# cards' state files: PIN set, blocked, key and PUK changed as the job says)
# or refuses every card before any changing APDU (every card exactly as it
# left the factory, counters included), as the card kind allows. Variants:
# the standard cards, the YubiKey, and every quirk (SELECT answer form, ATR,
# wrong-key status words, absent-object status words, no empty VERIFY).
set -euo pipefail
build=$1 src=$2
cf="$build/tools/cardforge"
judge="$src/tests/integration/lib/judge_matrix.py"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-matrix.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

PIV="piv piv+aid-full piv+atr-other piv+atr-yubikey piv+wrong-6a80 piv+wrong-6982
     piv+absent-6a82 piv+absent-6984 piv+no-verify-status"
YK="yubikey yubikey+aid-full yubikey+atr-other yubikey+wrong-6a80 yubikey+absent-6984
    yubikey+no-verify-status"
GIDS="gids gids+admin-counter gids+wrong-6a80 gids+wrong-63cx gids+absent-6a82
      gids+absent-6984 gids+atr-other gids+atr-yubikey"

cp "$src/samples/gids-derived-keys/demo-keys.txt" "$tmp/keys.txt"
chmod 600 "$tmp/keys.txt"
head -n 4 "$src/tests/data/run/piv-job-60.csv" >"$tmp/piv-job.csv"

# JOB DESC BATCH "FAMILIES THAT CAN DO IT" "JUDGE FLAGS"
jobs=(
    "pin-by-puk-literal|samples/pin-by-puk-literal/description.ini|samples/pin-by-puk-literal/batch.csv|piv yk|"
    "pin-by-puk-per-card|samples/pin-by-puk-per-card/description.ini|samples/pin-by-puk-per-card/batch.csv|piv yk|--puk"
    "block-before-pickup|samples/block-before-pickup/description.ini|samples/block-before-pickup/batch.csv|piv yk|--puk --blocks"
    "piv-job|tests/data/run/piv-job.ini|$tmp/piv-job.csv|yk|--puk --blocks --rotates"
    "offline-unblock|samples/offline-unblock/description.ini|samples/offline-unblock/batch.csv|gids|--blocks --rotates"
    "pin-by-admin-key-rotate|samples/pin-by-admin-key-rotate/description.ini|samples/pin-by-admin-key-rotate/batch.csv|gids|--rotates"
    "gids-derived-keys|samples/gids-derived-keys/description.ini|samples/gids-derived-keys/batch.csv|gids|--blocks --rotates"
)

cells=0
for j in "${jobs[@]}"; do
    IFS='|' read -r name desc batch can flags <<<"$j"
    [ "${desc:0:1}" = / ] || desc="$src/$desc"
    [ "${batch:0:1}" = / ] || batch="$src/$batch"
    for fam in piv yk gids; do
        case $fam in piv) vs=$PIV ;; yk) vs=$YK ;; gids) vs=$GIDS ;; esac
        want=refused
        case " $can " in *" $fam "*) want=done ;; esac
        for v in $vs; do
            cell="$tmp/$name.$v"
            reader="sim:1:$v"
            [ $fam = gids ] && reader="$reader:gemalto"
            rc=0
            "$cf" run "$desc" --batch "$batch" --journal "$cell.jsonl" --readers "$reader" \
                --sim-keep "$cell.cards" --max-attempts 1 --keyfile "$tmp/keys.txt" \
                >"$cell.out" 2>&1 || rc=$?
            if [ $want = done ] && [ $rc -ne 0 ]; then
                fail "$name on $v: exit $rc, expected 0: $(tail -n 5 "$cell.out")"
            fi
            if [ $want = refused ] && [ $rc -ne 1 ]; then
                fail "$name on $v: exit $rc, expected 1 (refused): $(tail -n 5 "$cell.out")"
            fi
            # shellcheck disable=SC2086
            python3 "$judge" $want "$cell.jsonl" "$cell.cards" $flags >"$cell.judge" ||
                fail "$name on $v ($want): $(cat "$cell.judge")"
            cells=$((cells + 1))
        done
    done
done
echo "matrix: $cells cells judged"
