#!/usr/bin/env bash
# stations.sh - several stations on one order (docs/stations.md): what the
# order database costs a card, and how the stations scale. A measurement, not
# a test: it asserts nothing and is not part of ctest.
#
#   bash bench/stations.sh BUILD_DIR SOURCE_DIR        (root: the private
#                                                        PostgreSQL runs as nobody)
#
# A private PostgreSQL (tests/integration/lib/pg.sh: initdb into a temporary
# directory, a Unix socket, no TCP port, fsync off) holds one order per row of
# the table; for N = 1, 2, 4, 8 stations, N `cardforge run` processes with
# BENCH_READERS simulated readers each (the `contact` latency model on) work
# N x BENCH_STATION_CARDS records of one order, each under its own station
# name, with its own copy of the batch and its own journal.
#
# Figures, per row:
#   - cards/min: the order's personalized cards over the span from the first
#     card's start to the last card's end, over every station's journal (the
#     processes' start-up, a few tens of ms, is left out; the wall column has
#     it in);
#   - start-up: the longest a station of the row took from its launch to
#     its first card (the join: connections, each a server process, the
#     order's checks, the station's registration); stations started
#     together on a small machine start their cards up to this much apart,
#     which the cards' span includes;
#   - vs N x 1: that over N times the one-station row;
#   - coordination: each station logs at its end the time its callers spent in
#     the database, call by call (claims and heartbeats on its claims thread,
#     ahead of the readers; intents and results on the reader threads, on
#     the card's path), measured around each call (monotonic clock, the
#     wait for a free connection of the station included). Per card: the sum of the four
#     over the personalized cards; as a share of card time: over the mean
#     card time of the journals (`ms` of the card lines). The intent and
#     result part alone is what a card waits for; claims and heartbeats run
#     beside the cards;
#   - end replay: at its end each station asks the database which of its
#     attempts it holds and sends the journal lines it lacks; the longest
#     of the stations, in the wall time but not in the cards' span.
# BENCH_STATION_CARDS (records per station, default 1000: with a few
# hundred a row lasts seconds and the start-up above weighs as it never does
# on a line that runs for hours), BENCH_READERS
# (simulated readers per station, default 4), BENCH_STATIONS (default
# "1 2 4 8") scale it; BENCH_LATENCY (default contact) is the latency model.
set -euo pipefail
build=$(readlink -f "${1:?usage: stations.sh BUILD_DIR SOURCE_DIR}")
src=$(readlink -f "${2:?usage: stations.sh BUILD_DIR SOURCE_DIR}")
cf="$build/tools/cardforge"
per=${BENCH_STATION_CARDS:-1000}
readers=${BENCH_READERS:-4}
counts=${BENCH_STATIONS:-1 2 4 8}
latency=${BENCH_LATENCY:-contact}
[ "$(id -u)" -eq 0 ] || { echo "stations.sh: run as root (the private PostgreSQL runs as nobody)" >&2; exit 2; }
[ -x "$cf" ] || { echo "stations.sh: no $cf: build first" >&2; exit 2; }
source "$src/tests/integration/lib/pg.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/cf-bench-stations.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    cf_pg_cleanup
    rm -rf "$work"
}
trap cleanup EXIT
desc="$src/tests/data/run/piv-job.ini"

echo "# cardforge stations on one order (PostgreSQL)"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
     "$(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)," \
     "build $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "busiest other processes: $(ps -eo pcpu=,comm= --sort=-pcpu | head -n 5 | awk '{ printf "%s %s%%; ", $2, $1 }')"
cf_pg_start "$work"
"$cf" order init --db "$CF_PG" >/dev/null
echo "PostgreSQL: $("$CF_PG_BIN/postgres" --version), Unix socket, fsync off"
# The machine's own round trip to the server (one client, `SELECT 1`, 3 s):
# the floor under every call below, and a gauge of how busy the cores are.
echo "SELECT 1;" >"$work/select1.sql"
chmod o+r "$work/select1.sql"
rtt=$(runuser -u nobody -- "$CF_PG_BIN/pgbench" -n -c 1 -T 3 -f "$work/select1.sql" -h "$CF_PG_DIR" \
    -U cf cardforge 2>/dev/null | sed -n 's/^latency average = //p')
echo "one round trip to the server (pgbench, SELECT 1, one client): ${rtt:-not measured}"
echo "each station: $readers simulated readers (--readers sim:$readers:yubikey --sim-latency $latency), $per records"
echo

summarise() { # N WALL_S JOURNAL... : one row of figures (python reads the journals and logs)
    python3 - "$@" <<'PY'
import json, sys
n, wall = int(sys.argv[1]), float(sys.argv[2])
cards, starts, ends, card_ms = 0, [], [], []
for path in sys.argv[3:]:
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "card" and r["status"] == "personalized":
                cards += 1
                card_ms.append(r["ms"])
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
for path in sys.argv[3:]:
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "card":
                starts.append(t(r["start"])); ends.append(t(r["end"]))
span = max(ends) - min(starts)
print(f"{cards} {span:.3f} {cards * 60 / span:.1f} {sum(card_ms) / len(card_ms):.2f}")
PY
}
startup() { # NAME: the longest time a station took from its launch to its first card
    python3 - "$work" "$1" <<'PY2'
import glob, json, sys
from datetime import datetime
work, name = sys.argv[1], sys.argv[2]
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
worst = 0.0
for launched in glob.glob(f"{work}/{name}-s*.launched"):
    t0 = float(open(launched).read())
    with open(launched[: -len(".launched")] + ".jsonl") as f:
        first = min((t(r["start"]) for r in map(json.loads, f) if r.get("type") == "card"), default=t0)
    worst = max(worst, first - t0)
print(f"{worst:.2f}")
PY2
}
coordination() { # LOG...: the four kinds of call summed over the stations: ms and calls
    python3 - "$@" <<'PY'
import re, sys
tot = {"claims": [0, 0.0], "heartbeats": [0, 0.0], "intents": [0, 0.0], "results": [0, 0.0]}
replay = 0.0
for path in sys.argv[1:]:
    for line in open(path):
        m = re.search(r"order database: time spent: (.*); [\d.]+ ms in all; the journal sent again at the end: ([\d.]+) ms", line)
        if not m:
            continue
        replay = max(replay, float(m.group(2)))
        for part in m.group(1).split(", "):
            c, kind, ms = re.match(r"(\d+) (\w+) ([\d.]+) ms", part).groups()
            tot[kind][0] += int(c)
            tot[kind][1] += float(ms)
print(" ".join(f"{tot[k][0]} {tot[k][1]:.1f}" for k in ("claims", "heartbeats", "intents", "results")), f"{replay:.1f}")
PY
}

rows=()
one_rate=""
for n in $counts; do
    records=$((n * per))
    name="bench-$n"
    python3 "$src/tests/integration/lib/piv_batch.py" "$work/$name.csv" "$records" "$n" 100000
    "$cf" order load --db "$CF_PG" --name "$name" "$desc" "$work/$name.csv" >/dev/null
    pids=()
    t0=$(date +%s.%N)
    for s in $(seq 1 "$n"); do
        cp "$work/$name.csv" "$work/$name-s$s.csv"
        date +%s.%N >"$work/$name-s$s.launched"
        "$cf" run "$desc" --batch "$work/$name-s$s.csv" --journal "$work/$name-s$s.jsonl" \
            --readers "sim:$readers:yubikey" --sim-latency "$latency" \
            --db "$CF_PG" --order "$name" --station "s$s" >"$work/$name-s$s.out" 2>&1 &
        pids+=($!)
    done
    failed=0
    for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
    pids=()
    t1=$(date +%s.%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    [ "$failed" = 0 ] || echo "(N=$n: $failed station(s) ended with a non-zero status; see the figures)"
    read -r cards span rate card_ms < <(summarise "$n" "$wall" "$work/$name"-s*.jsonl)
    first=$(startup "$name")
    read -r c_claim ms_claim c_beat ms_beat c_int ms_int c_res ms_res replay < <(coordination "$work/$name"-s*.out)
    [ -n "$one_rate" ] || one_rate=$rate
    rows+=("$(python3 - "$n" "$cards" "$records" "$wall" "$span" "$rate" "$one_rate" "$card_ms" \
        "$c_claim" "$ms_claim" "$c_beat" "$ms_beat" "$c_int" "$ms_int" "$c_res" "$ms_res" "$replay" "$first" <<'PY'
import sys
n, cards, records = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
wall, span, rate, one, card_ms = map(float, sys.argv[4:9])
c = list(map(float, sys.argv[9:17]))
replay, first = float(sys.argv[17]), float(sys.argv[18])
claim, beat, intent, result = c[1], c[3], c[5], c[7]
per_card = (claim + beat + intent + result) / cards
path = (intent + result) / cards
vs = "-" if n == 1 else f"{rate / (n * one):.2f}"
print(f"| {n} | {cards}/{records} | {wall:.1f} | {first:.2f} | {span:.1f} | {rate:,.0f} | {vs} | {card_ms:.1f} "
      f"| {claim / max(c[0], 1):.2f} / {intent / max(c[4], 1):.2f} / {result / max(c[6], 1):.2f} "
      f"| {per_card:.2f} | {100 * per_card / card_ms:.2f} % | {100 * path / card_ms:.2f} % | {replay:.0f} |")
PY
)")
done

echo "| stations | cards/records | wall s | start-up s | cards span s | cards/min | vs N x 1 | card ms | claim / intent / result ms each | coordination ms/card | share of card time | on the card's path | end replay ms |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "goals (issue 16): coordination under 2 % of card time; aggregate at least 0.9 x N"
