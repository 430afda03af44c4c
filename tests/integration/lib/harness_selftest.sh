# harness_selftest.sh - one complete harness cycle, run by test_harness_repeat.sh
# (not a CTest test itself: the name does not start with test_).
# Usage: bash harness_selftest.sh BUILD_DIR SOURCE_DIR
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh" "$@"

cf_harness_start 2 yubikey,gids
[ "$(cf__reader_states | grep -c 'CardForge ')" -eq 2 ] ||
    cf_fail "expected exactly 2 CardForge readers"
cf_card_pull 1
cf_card_insert 1
# reader 0 holds the piv card: SELECT of the PIV application answers 9000
out=$(cf_scriptor 0 00A4040005A000000308) || cf_fail "scriptor on reader 0: $out"
grep -q '90 00 : Normal processing' <<<"$out" || cf_fail "reader 0 did not select PIV: $out"
cf_note "ok: 2 readers, pull and insert, one APDU"
