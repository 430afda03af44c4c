#!/usr/bin/env bash
# test_run_journal_faults.sh - `cardforge run` when its journal fails it:
# the journal's file system fills up, the journal is deleted or renamed
# while cards are in flight, the file given as --journal is not a journal
# or is damaged. Judged by the cards themselves (--sim-keep) with
# check_batch.py: no record and no serial twice, every changed card named
# by the journal; and by what the run said.
#
# The full file system is a tmpfs of 12 KiB in a private mount namespace
# (`unshare -m`, so nothing is mounted outside this test): the journal fills
# it after a few cards. A failing fdatasync (EIO) comes from an LD_PRELOAD
# shim built here from lib/sync_fault.c.
set -euo pipefail
build=$1 src=$2
if [ -z "${CF_JOURNAL_FAULTS_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "FAIL: needs root for 'unshare -m'"; exit 1; }
    export CF_JOURNAL_FAULTS_NS=1
    exec unshare -m -- "$BASH" "$0" "$@"
fi
mount --make-rprivate / 2>/dev/null || true
# No PC/SC service in here: the refusal below is the one of a missing pcscd.
mkdir -p /run/pcscd && mount -t tmpfs -o size=64k cf-no-pcscd /run/pcscd
cf="$build/tools/cardforge"
check="$src/tests/integration/lib/check_batch.py"
desc="$src/tests/data/run/piv-job.ini"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-journal-faults.XXXXXX")
keep_tmp=${CF_KEEP_TMP:-0}
trap 'mountpoint -q "$tmp/fs" && umount "$tmp/fs"; [ $keep_tmp = 1 ] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; keep_tmp=1; echo "evidence kept in $tmp"; exit 1; }

batch="$tmp/batch.csv"
python3 "$src/tests/integration/lib/piv_batch.py" "$batch" 24 22 7000

judge() { # JOURNAL CARDS [--partial]
    python3 "$check" "$1" "$batch" --cards "$2/in" "$2/out" --puk NEW_PUK --key NEW_KEY \
        --blocked "${@:3}"
}
# Cards the run said were personalized must each have a durable card line.
said_vs_journal() { # OUT JOURNAL
    local said lines
    said=$(grep -c ': personalized (' "$1" || true)
    lines=$(python3 -c '
import json, sys
n = 0
for raw in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:  # complete lines only
    try:
        r = json.loads(raw)
    except ValueError:
        continue
    n += r.get("type") == "card" and r.get("status") == "personalized"
print(n)' "$2")
    [ "$said" -le "$lines" ] || fail "$1: $said cards said personalized, $lines in the journal"
}
run() { # JOURNAL CARDS OUT [ARGS...]
    local j=$1 c=$2 o=$3
    shift 3
    "$cf" run "$desc" --batch "$batch" --journal "$j" --sim-keep "$c" "$@" >"$o" 2>&1
}

# After a stop: the cards made so far are all accounted for; a second run
# on the same journal finishes the batch, each record once.
judge_then_resume() { # WHAT JOURNAL CARDS TAG
    judge "$2" "$3" --partial >"$tmp/judge.out" || fail "$1: $(cat "$tmp/judge.out")"
    run "$2" "$3" "$tmp/$4-resume.out" --readers sim:2:yubikey ||
        fail "resume after $1: exit $? $(tail -n 8 "$tmp/$4-resume.out")"
    judge "$2" "$3" >"$tmp/judge.out" || fail "after $1: $(cat "$tmp/judge.out")"
}

# ---- 1. the file system fills up ----------------------------------------
mkdir "$tmp/fs"
mount -t tmpfs -o size=12k,mode=0700 cf-journal-full "$tmp/fs" || fail "cannot mount a tmpfs"
j="$tmp/fs/journal.jsonl" cards="$tmp/cards-full"
rc=0
run "$j" "$cards" "$tmp/full.out" --readers sim:2:yubikey --sim-latency contact || rc=$?
[ "$rc" -ne 0 ] || fail "full disk: exit 0: $(tail -n 5 "$tmp/full.out")"
grep -q "No space left on device" "$tmp/full.out" ||
    fail "full disk: the cause is not said: $(tail -n 8 "$tmp/full.out")"
grep -q "of the journal are on disk" "$tmp/full.out" ||
    fail "full disk: where the journal stands is not said: $(tail -n 8 "$tmp/full.out")"
said_vs_journal "$tmp/full.out" "$j"
judge "$j" "$cards" --partial >"$tmp/judge.out" || fail "full disk: $(cat "$tmp/judge.out")"
full_done=$(grep -c '"status":"personalized"' "$j" || true)
# Free space, and run the same command again: every record once.
mount -o remount,size=4m "$tmp/fs"
run "$j" "$cards" "$tmp/full-resume.out" --readers sim:2:yubikey ||
    fail "resume after the full disk: exit $? $(tail -n 8 "$tmp/full-resume.out")"
judge "$j" "$cards" >"$tmp/judge.out" || fail "after the full disk: $(cat "$tmp/judge.out")"
echo "full disk: stopped after $full_done cards; resumed: $(cat "$tmp/judge.out")"
umount "$tmp/fs"

# ---- 1b. fdatasync fails with EIO (an LD_PRELOAD shim, lib/sync_fault.c) --
shim="$tmp/sync_fault.so"
cc -shared -fPIC -O1 -o "$shim" "$src/tests/integration/lib/sync_fault.c" -ldl ||
    fail "cannot build the sync fault shim"
j="$tmp/journal-eio.jsonl" cards="$tmp/cards-eio"
rc=0
CF_SYNC_FAULT_MATCH=journal-eio CF_SYNC_FAULT_AFTER=8 LD_PRELOAD="$shim" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    run "$j" "$cards" "$tmp/eio.out" --readers sim:2:yubikey --sim-latency contact || rc=$?
[ "$rc" -ne 0 ] || fail "EIO: exit 0: $(tail -n 5 "$tmp/eio.out")"
grep -q "cannot sync the journal: Input/output error" "$tmp/eio.out" ||
    fail "EIO: the cause is not said: $(tail -n 8 "$tmp/eio.out")"
said_vs_journal "$tmp/eio.out" "$j"
judge_then_resume EIO "$j" "$cards" eio
echo "fdatasync EIO: stopped; resumed: $(cat "$tmp/judge.out")"

# ---- 2. the journal deleted, then renamed, mid-run -----------------------
for how in deleted renamed; do
    j="$tmp/journal-$how.jsonl" cards="$tmp/cards-$how"
    run "$j" "$cards" "$tmp/$how.out" --readers sim:2:yubikey --sim-latency contact &
    pid=$!
    # Wait for a few cards, then take the journal away.
    for _ in $(seq 1 200); do
        n=$(grep -c '"type":"card"' "$j" 2>/dev/null) || true
        [ "${n:-0}" -ge 3 ] && break
        sleep 0.05
    done
    if [ "$how" = deleted ]; then rm -f "$j"; else mv "$j" "$j.moved"; fi
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -ne 0 ] || fail "journal $how: exit 0: $(tail -n 5 "$tmp/$how.out")"
    grep -q "deleted or renamed during the run; its content was put back as $j" \
        "$tmp/$how.out" || fail "journal $how: not said: $(tail -n 8 "$tmp/$how.out")"
    [ -f "$j" ] || fail "journal $how: not put back at $j"
    said_vs_journal "$tmp/$how.out" "$j"
    judge_then_resume "the journal $how" "$j" "$cards" "$how"
    echo "journal $how: put back; resumed: $(cat "$tmp/judge.out")"
done

# ---- 2b. the journal replaced by an older copy of itself, mid-run -------
# The other file is never written over; the content is put aside beside it;
# until the operator has chosen, every run (and a dry run) on the path is
# refused, so the old copy can never make a record's card a second time.
j="$tmp/journal-replaced.jsonl" cards="$tmp/cards-replaced"
run "$j" "$cards" "$tmp/replaced.out" --readers sim:2:yubikey --sim-latency contact &
pid=$!
copied=0
for _ in $(seq 1 400); do
    n=$(grep -c '"type":"card"' "$j" 2>/dev/null) || true
    if [ $copied = 0 ] && [ "${n:-0}" -ge 1 ]; then cp "$j" "$tmp/old-copy"; copied=1; fi
    [ "${n:-0}" -ge 4 ] && break
    sleep 0.05
done
[ $copied = 1 ] || fail "journal replaced: no card line to copy"
cp "$tmp/old-copy" "$tmp/old-copy.keep"
mv "$tmp/old-copy" "$j"
rc=0
wait "$pid" || rc=$?
[ "$rc" -ne 0 ] || fail "journal replaced: exit 0: $(tail -n 5 "$tmp/replaced.out")"
grep -q "the journal was replaced by another file during the run; its content was put back as $j.restore-" \
    "$tmp/replaced.out" || fail "journal replaced: not said: $(tail -n 8 "$tmp/replaced.out")"
cmp -s "$j" "$tmp/old-copy.keep" || fail "journal replaced: the other file was written to"
aside=$(ls "$j".restore-*)
[ "$(echo "$aside" | wc -l)" = 1 ] || fail "journal replaced: put-aside copies: $aside"
said_vs_journal "$tmp/replaced.out" "$aside"
for mode in run dry; do
    extra=(); [ $mode = dry ] && extra=(--dry-run)
    rc=0
    run "$j" "$cards" "$tmp/replaced-$mode.out" --readers sim:2:yubikey "${extra[@]}" || rc=$?
    [ "$rc" -ne 0 ] || fail "journal replaced, $mode: a run on the old copy was not refused"
    grep -q "$(basename "$aside") holds this journal's content" "$tmp/replaced-$mode.out" \
        || fail "journal replaced, $mode: $(tail -n 4 "$tmp/replaced-$mode.out")"
    cmp -s "$j" "$tmp/old-copy.keep" || fail "journal replaced, $mode: the old copy was changed"
done
mv "$aside" "$j"
judge_then_resume "the journal was replaced" "$j" "$cards" replaced
echo "journal replaced: other file untouched, runs refused until chosen; resumed: $(cat "$tmp/judge.out")"

# ---- 3. report shows a hand-edited field's control characters escaped ----
j="$tmp/journal-renamed.jsonl"
python3 - "$j" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rec = json.loads(next(l for l in lines if '"type":"intent"' in l))
rec["attempt"] = 99999
rec["serial"] = "\x1b]0;pwned\x07\x1b[2J"
open(sys.argv[1], "a").write(json.dumps(rec) + "\n")
PY
"$cf" report "$j" >"$tmp/report.out" 2>&1 || true
grep -q 'serial \\x1B\]0;pwned\\x07\\x1B\[2J' "$tmp/report.out" ||
    fail "report: the serial is not shown escaped: $(grep serial "$tmp/report.out")"
! grep -q $'\x1b' "$tmp/report.out" || fail "report wrote a raw control character"

# ---- 4. not a journal, or a damaged one: refused, unchanged --------------
# A run on FILE must refuse it, saying NEEDLE, and leave it byte for byte.
refused_unchanged() { # FILE NEEDLE WHAT
    local rc=0
    cp "$1" "$tmp/before"
    run "$1" "$tmp/cards-refused" "$tmp/refused.out" --readers sim:1:yubikey || rc=$?
    [ "$rc" -ne 0 ] || fail "$3: exit 0"
    cmp -s "$1" "$tmp/before" || fail "$3: the file was changed"
    grep -q "$2" "$tmp/refused.out" || fail "$3: $(cat "$tmp/refused.out")"
}
printf 'PERSO_MASTER:1:00112233445566778899AABBCCDDEEFF' >"$tmp/master.key"
refused_unchanged "$tmp/master.key" "not a journal" "a key file given as --journal"
j="$tmp/journal-deleted.jsonl"
python3 - "$j" <<'PY'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
assert data.endswith(b"\n")
data[-20] = 0  # one byte of the complete last line
open(p, "wb").write(data)
PY
refused_unchanged "$j" "damaged" "a NUL inside the complete last line"

# --trace into the journal: refused, the journal unchanged.
cp "$j" "$tmp/before"
rc=0
run "$j" "$tmp/cards-refused" "$tmp/trace.out" --readers sim:1:yubikey --trace "$j" || rc=$?
[ "$rc" -ne 0 ] || fail "--trace naming the journal: exit 0"
cmp -s "$j" "$tmp/before" || fail "--trace naming the journal: the journal was changed"
grep -q "name the same file" "$tmp/trace.out" || fail "--trace: $(cat "$tmp/trace.out")"

# A journal given as a dangling symbolic link: refused, its target never
# created (a run and a dry run alike).
ln -s "$tmp/link-target.jsonl" "$tmp/link.jsonl"
for dry in "" --dry-run; do
    rc=0
    run "$tmp/link.jsonl" "$tmp/cards-refused" "$tmp/link.out" --readers sim:1:yubikey $dry ||
        rc=$?
    [ "$rc" -ne 0 ] || fail "a symbolic link as --journal ${dry}: exit 0"
    [ ! -e "$tmp/link-target.jsonl" ] || fail "the link's target was created ${dry}"
    grep -q "symbolic link" "$tmp/link.out" || fail "link ${dry}: $(cat "$tmp/link.out")"
done

# A refusal before the first card leaves no journal behind.
rc=0
"$cf" run "$desc" --batch "$batch" --journal "$tmp/never.jsonl" --readers pcsc \
    >"$tmp/never.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a run without pcscd: exit 0"
[ ! -e "$tmp/never.jsonl" ] || fail "a refused run left a journal: $(cat "$tmp/never.out")"
echo "ok: full disk, fdatasync EIO, journal deleted, renamed and replaced, report escapes, key file, damaged journal, --trace into it and a symlink refused unchanged, no journal left by a refusal"
