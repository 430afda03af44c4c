# signals.sh - sending a signal to a program only once it handles it.
#
#     source "$src/tests/integration/lib/signals.sh"
#     cf_wait_blocked "$pid" 2 || fail "..."   # SIGINT (2) is now blocked
#     kill -INT "$pid"
#
# cardforge blocks the signals it handles (and takes them on a thread of its
# own) first thing. A signal sent before that takes its default action and
# kills the process, which on a busy machine (or under ASan, whose start-up
# takes a while) can be seconds after the fork: a test that sends it after a
# fixed sleep fails by chance. cf_wait_blocked waits (30 s at most) until
# the process's SigBlk mask (/proc/PID/status) has the signal; status 1 when
# it never does or the process ended.
cf_wait_blocked() { # PID SIGNUM
    local pid=$1 sig=$2 mask
    for _ in $(seq 600); do
        mask=$(awk '/^SigBlk:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || true
        if [ -n "$mask" ] && (( (16#$mask >> (sig - 1)) & 1 )); then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
