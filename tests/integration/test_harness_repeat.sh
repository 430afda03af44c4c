# test_harness_repeat.sh - the harness works twice in a row and twice in
# parallel with itself (same ports, private namespaces).
# Usage: bash test_harness_repeat.sh BUILD_DIR SOURCE_DIR
lib="$2/tests/integration/lib"
logdir=$(mktemp -d) || exit 1
trap 'rm -rf "$logdir"' EXIT

run() { # NAME
    bash "$lib/harness_selftest.sh" "$1" "$2" >"$logdir/$3.log" 2>&1
}
show() { echo "---- run $1:"; cat "$logdir/$1.log"; }

for n in seq1 seq2; do
    run "$1" "$2" "$n" || { show "$n"; echo "FAIL: sequential run $n"; exit 1; }
done
run "$1" "$2" par1 &
a=$!
run "$1" "$2" par2 &
b=$!
wait "$a"
ra=$?
wait "$b"
rb=$?
[ "$ra" -eq 0 ] || { show par1; echo "FAIL: parallel run 1 (status $ra)"; exit 1; }
[ "$rb" -eq 0 ] || { show par2; echo "FAIL: parallel run 2 (status $rb)"; exit 1; }
cat "$logdir"/*.log
echo "ok: harness twice in a row and twice in parallel"
