# harness.sh - real pcscd + vpcd readers + cardforge-vcard cards for integration tests.
#
# Source it first thing in a test, passing the test's arguments:
#
#     source "$2/tests/integration/lib/harness.sh" "$@"     # $1 BUILD_DIR, $2 SOURCE_DIR
#     cf_harness_start 2 yubikey,gids
#     ... test body: opensc-tool -r "$(cf_opensc_reader 0)" -a, scriptor, ...
#
# Sourcing re-executes the test inside `unshare -mn` (needs root; CI runs as
# root) and, in there, brings `lo` up and mounts a tmpfs on /run/pcscd: the
# test gets its own pcscd socket and its own TCP ports, so tests run in
# parallel with each other and with themselves, and a pcscd of the host is
# never touched. Everything the harness starts is stopped by PID on exit;
# leaving the namespace removes the rest. Without root or unshare the test
# FAILS with the reason (CTest cannot be told about a skip code from here).
#
# Layout of the test's temporary directory $CF_TMP
# (BUILD_DIR/integration-tmp/<test>.XXXXXX, removed when the test passes,
# kept as evidence when it fails):
#     reader.conf.d/cardforge   the reader entries; drivers/vpcd-E.so copies
#     pcscd.log                 pcscd -f -a -d output
#     card-I.state, card-I.log, card-I.ctl   card I's state file, -v log, control socket
#
# Readers and cards are numbered from 0. Card I plugs into vpcd port
# CF_PORT_BASE + I; reader entry E = I/2 serves ports base+2E and base+2E+1
# (one entry is two readers, each entry gets its own copy of the driver:
# see test-harness.md, pitfall 3), so reader I is "CardForge E 00 0S", S = I%2.
# At most 16 readers (pcsc-lite's limit).
#
# Functions (a failing one prints why and exits the test with status 1):
#   cf_harness_start N TYPES [FACTORIES]
#                         N readers, N cards, wait until every reader has its card.
#                         TYPES/FACTORIES: comma lists cycled over the cards
#                         ("yubikey,gids": even cards yubikey, odd gids; empty = default).
#                         Card I gets serial CF_SERIAL_BASE+I and state file card-I.state.
#   cf_harness_readers N  only pcscd with N readers (no cards); waits for the readers.
#   cf_card_start I ARGS  start a card daemon on reader I with your own arguments
#                         (--port, --control and -v are added); does not wait.
#   cf_card_stop I        SIGTERM card I, wait for it to exit (its status in CF_LAST_RC)
#                         and, with pcscd up, until pcscd sees reader I empty.
#   cf_card_pull I        take card I out (control socket), wait until pcscd sees no card.
#   cf_card_insert I      put it back (feeder: the next card), wait until pcscd sees it.
#   cf_card_ctl I CMD     send remove|insert|status to card I, print the reply.
#   cf_wait_card I [S]    wait up to S seconds (default 15) until reader I has a card.
#   cf_wait_no_card I [S] ... until reader I has none.
#   cf_wait_cards N       wait until readers 0..N-1 all have a card (names the ones that don't).
#   cf_reader_name I      "CardForge E 00 0S"
#   cf_opensc_reader I    reader I's number for opensc-tool -r and gids-tool -r
#                         (yubico-piv-tool: -r "$(cf_reader_name I)", a substring match
#                         that is unique among these readers)
#   cf_opensc_conf TEXT   write TEXT as the OpenSC configuration of this test and
#                         export OPENSC_CONF, e.g.
#                         'app opensc-pkcs11 { pkcs11 { user_pin_unblock_style = set_pin_in_unlogged_session; } }'
#   cf_state_file I, cf_card_log I, cf_card_ctl_path I, cf_card_port I, cf_card_pid I
#   cf_scriptor I APDU... send APDUs (hex) to reader I with scriptor, exactly those
#                         APDUs (opensc-tool adds its own card detection); prints
#                         scriptor's output.
#   cf_pcscd_restart      stop pcscd and start it again on the same readers (cards
#                         keep running and must reconnect by themselves).
#   cf_harness_stop       stop every card and pcscd (also done on exit).
#   cf_fail MSG, cf_note MSG, cf_expect_eq WHAT EXPECTED ACTUAL
# cf_fail exits the test; inside $(...) it only ends the subshell, so write
# `r=$(cf_opensc_reader 0) || exit 1`.
# Variables: CF_BUILD, CF_SOURCE, CF_VCARD (the daemon), CF_TMP, CF_PORT_BASE
# (35963), CF_SERIAL_BASE (1000), CF_WAIT_S (15), CF_PCSCD_LOG (pcscd's
# logging options, default "--apdu --debug"; set it empty to measure speed).

# ---- re-execute inside private mount + network namespaces ----------------
if [ "${CF_HARNESS_NS_PID:-}" != "$$" ]; then
    cf__script=$(readlink -f "${BASH_SOURCE[${#BASH_SOURCE[@]}-1]}")
    if [ "$(id -u)" -ne 0 ]; then
        echo "harness: FAIL: $(basename "$cf__script") needs root for 'unshare -mn'" \
             "(private pcscd socket and ports); CI runs as root. Run it as root." >&2
        exit 1
    fi
    if ! cf__err=$(unshare -mn true 2>&1); then
        echo "harness: FAIL: 'unshare -mn' does not work here: $cf__err" \
             "(a container without CAP_SYS_ADMIN?). The pcscd tests need it." >&2
        exit 1
    fi
    export CF_HARNESS_NS_PID=$$
    exec unshare -mn -- "$BASH" "$cf__script" "$@"
fi

set -u
set -o pipefail

# CF_SOURCE and CF_LAST_RC are for the tests that source this file.
# shellcheck disable=SC2034
CF_BUILD=$(readlink -f "${1:?usage: test BUILD_DIR SOURCE_DIR}")
# shellcheck disable=SC2034
CF_SOURCE=$(readlink -f "${2:?usage: test BUILD_DIR SOURCE_DIR}")
CF_VCARD="$CF_BUILD/tools/cardforge-vcard"
CF_PORT_BASE=${CF_PORT_BASE:-35963}
CF_SERIAL_BASE=${CF_SERIAL_BASE:-1000}
CF_WAIT_S=${CF_WAIT_S:-15}
CF_NREADERS=0
CF_PCSCD_PID=""
declare -a CF_CARD_PIDS=()
CF_TEST_NAME=$(basename "${BASH_SOURCE[${#BASH_SOURCE[@]}-1]}" .sh)

cf_note() { echo "[$CF_TEST_NAME] $*"; }

cf_fail() {
    echo "[$CF_TEST_NAME] FAIL: $*" >&2
    exit 1
}

cf_expect_eq() { # WHAT EXPECTED ACTUAL
    [ "$2" = "$3" ] || cf_fail "$1: expected '$2', got '$3'"
}

[ -x "$CF_VCARD" ] || cf_fail "$CF_VCARD not built (build the cardforge-vcard target first)"
for cf__tool in pcscd opensc-tool scriptor ip; do
    command -v "$cf__tool" >/dev/null ||
        cf_fail "'$cf__tool' not installed: run scripts/setup.sh"
done

ip link set lo up || cf_fail "cannot bring lo up in the test's network namespace"
mkdir -p /run/pcscd
mount -t tmpfs -o mode=0755 cardforge-pcscd /run/pcscd ||
    cf_fail "cannot mount a private tmpfs on /run/pcscd"

mkdir -p "$CF_BUILD/integration-tmp"
CF_TMP=$(mktemp -d "$CF_BUILD/integration-tmp/$CF_TEST_NAME.XXXXXX") ||
    cf_fail "cannot create a temporary directory under $CF_BUILD/integration-tmp"

# ---- names and paths ------------------------------------------------------
cf_reader_name() { printf 'CardForge %d 00 %02d' $(($1 / 2)) $(($1 % 2)); }
cf_card_port() { echo $((CF_PORT_BASE + $1)); }
cf_state_file() { echo "$CF_TMP/card-$1.state"; }
cf_card_log() { echo "$CF_TMP/card-$1.log"; }
cf_card_ctl_path() { echo "$CF_TMP/card-$1.ctl"; }
cf_card_pid() { echo "${CF_CARD_PIDS[$1]:-}"; }

# Seconds since the epoch with microseconds, for bounded waits.
cf__now_us() { local t=${EPOCHREALTIME/./}; echo "$((10#$t))"; }

# "Yes|No<TAB>reader name" per reader, as pcscd reports it now.
cf__reader_states() {
    opensc-tool -l 2>/dev/null |
        sed -nE 's/^[0-9]+[[:space:]]+(Yes|No)[[:space:]]+(.*[^[:space:]])[[:space:]]*$/\1\t\2/p'
}

cf_opensc_reader() {
    local name n
    name=$(cf_reader_name "$1")
    n=$(opensc-tool -l 2>/dev/null |
        awk -v want="$name" '/^[0-9]+ / { line=$0; sub(/^[0-9]+[ \t]+(Yes|No)[ \t]+/, "", line);
                              sub(/[ \t]+$/, "", line); if (line == want) { print $1; exit } }')
    [ -n "$n" ] || cf_fail "opensc-tool does not list reader '$name'"
    echo "$n"
}

# Wait until FUNC returns 0, polling every 0.1 s, for at most S seconds.
cf__wait_until() { # S FUNC ARGS...
    local s=$1 deadline
    shift
    deadline=$(($(cf__now_us) + s * 1000000))
    while ! "$@"; do
        [ "$(cf__now_us)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

cf__has_card() { cf__reader_states | grep -xF >/dev/null "Yes	$(cf_reader_name "$1")"; }
cf__has_no_card() { cf__reader_states | grep -xF >/dev/null "No	$(cf_reader_name "$1")"; }

cf__show_evidence() {
    local f
    for f in "$CF_TMP"/card-*.log; do
        [ -s "$f" ] || continue
        echo "---- tail of $f" >&2
        tail -n 15 "$f" >&2
    done
    if [ -s "$CF_TMP/pcscd.log" ]; then
        echo "---- tail of $CF_TMP/pcscd.log" >&2
        tail -n 25 "$CF_TMP/pcscd.log" >&2
    fi
}

cf_wait_card() { # I [S]
    cf__wait_until "${2:-$CF_WAIT_S}" cf__has_card "$1" || {
        cf__show_evidence
        cf_fail "reader '$(cf_reader_name "$1")' has no card after ${2:-$CF_WAIT_S} s"
    }
}

cf_wait_no_card() { # I [S]
    cf__wait_until "${2:-$CF_WAIT_S}" cf__has_no_card "$1" || {
        cf__show_evidence
        cf_fail "reader '$(cf_reader_name "$1")' still has a card after ${2:-$CF_WAIT_S} s"
    }
}

cf__all_have_cards() {
    local states i
    states=$(cf__reader_states)
    for ((i = 0; i < $1; i++)); do
        grep -qxF "Yes	$(cf_reader_name "$i")" <<<"$states" || return 1
    done
}

cf_wait_cards() { # N
    cf__wait_until "$CF_WAIT_S" cf__all_have_cards "$1" && return 0
    local states i missing=""
    states=$(cf__reader_states)
    for ((i = 0; i < $1; i++)); do
        grep -qxF "Yes	$(cf_reader_name "$i")" <<<"$states" ||
            missing+=" '$(cf_reader_name "$i")'"
    done
    cf__show_evidence
    cf_fail "after $CF_WAIT_S s these readers have no card:$missing"
}

cf__count_readers() { [ "$(cf__reader_states | grep -c 'CardForge ')" -eq "$1" ]; }

cf_opensc_conf() { # TEXT
    printf '%s\n' "$1" >"$CF_TMP/opensc.conf"
    export OPENSC_CONF="$CF_TMP/opensc.conf"
}

# ---- pcscd ----------------------------------------------------------------
cf_harness_readers() { # N
    local n=$1 entries e drv conf
    if [ "$n" -lt 1 ] || [ "$n" -gt 16 ]; then
        cf_fail "cf_harness_readers: 1-16 readers (pcsc-lite's limit), not $n"
    fi
    [ -z "$CF_PCSCD_PID" ] || cf_fail "cf_harness_readers: pcscd already started"
    drv=$(readlink -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so) ||
        cf_fail "vpcd driver not found: install vsmartcard-vpcd (scripts/setup.sh)"
    [ -f "$drv" ] || cf_fail "vpcd driver $drv missing: install vsmartcard-vpcd"
    entries=$(((n + 1) / 2))
    mkdir -p "$CF_TMP/reader.conf.d" "$CF_TMP/drivers"
    conf="$CF_TMP/reader.conf.d/cardforge"
    : >"$conf"
    for ((e = 0; e < entries; e++)); do
        # A copy per entry, not a symlink: the driver keeps its sockets in
        # globals and the loader would share one inode between entries.
        cp "$drv" "$CF_TMP/drivers/vpcd-$e.so"
        cat >>"$conf" <<EOF
FRIENDLYNAME "CardForge $e"
DEVICENAME   /dev/null:$((CF_PORT_BASE + 2 * e))
LIBPATH      $CF_TMP/drivers/vpcd-$e.so
CHANNELID    $((CF_PORT_BASE + 2 * e))

EOF
    done
    CF_NREADERS=$((entries * 2))
    cf__pcscd_start
}

cf__pcscd_start() {
    # shellcheck disable=SC2086 # CF_PCSCD_LOG is a list of options
    pcscd --foreground ${CF_PCSCD_LOG---apdu --debug} --config "$CF_TMP/reader.conf.d" \
        >>"$CF_TMP/pcscd.log" 2>&1 &
    CF_PCSCD_PID=$!
    cf__wait_until "$CF_WAIT_S" cf__count_readers "$CF_NREADERS" || {
        cf__show_evidence
        cf_fail "pcscd did not list $CF_NREADERS CardForge readers within $CF_WAIT_S s"
    }
}

cf__pcscd_stop() {
    local t
    [ -n "$CF_PCSCD_PID" ] || return 0
    kill -TERM "$CF_PCSCD_PID" 2>/dev/null
    for ((t = 0; t < 50; t++)); do
        kill -0 "$CF_PCSCD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$CF_PCSCD_PID" 2>/dev/null
    wait "$CF_PCSCD_PID" 2>/dev/null
    CF_PCSCD_PID=""
}

cf_pcscd_restart() {
    [ -n "$CF_PCSCD_PID" ] || cf_fail "cf_pcscd_restart: pcscd not running"
    cf__pcscd_stop
    cf__pcscd_start
}

# ---- cards ----------------------------------------------------------------
cf_card_start() { # I ARGS...
    local i=$1
    shift
    rm -f "$(cf_card_ctl_path "$i")"
    "$CF_VCARD" --port "$(cf_card_port "$i")" --control "$(cf_card_ctl_path "$i")" -v "$@" \
        2>>"$(cf_card_log "$i")" &
    CF_CARD_PIDS[i]=$!
    # Ready when the control socket answers; a daemon that exits early
    # (bad arguments, bad state file) fails the test with its log.
    local deadline=$(($(cf__now_us) + 5000000))
    until [ -S "$(cf_card_ctl_path "$i")" ]; do
        if ! kill -0 "${CF_CARD_PIDS[i]}" 2>/dev/null; then
            wait "${CF_CARD_PIDS[i]}"
            local rc=$?
            CF_CARD_PIDS[i]=""
            cat "$(cf_card_log "$i")" >&2
            cf_fail "card $i: cardforge-vcard exited with status $rc at start"
        fi
        [ "$(cf__now_us)" -lt "$deadline" ] || cf_fail "card $i: no control socket after 5 s"
        sleep 0.05
    done
}

cf_card_stop() { # I
    local pid=${CF_CARD_PIDS[$1]:-} t
    CF_LAST_RC=""
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((t = 0; t < 50; t++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid"
    # shellcheck disable=SC2034 # read by the tests
    CF_LAST_RC=$?
    CF_CARD_PIDS[$1]=""
    # pcscd polls the reader: until it has seen the card go, it still says
    # "Yes", and a card started next would be "seen" before it is there.
    if [ -n "$CF_PCSCD_PID" ] && kill -0 "$CF_PCSCD_PID" 2>/dev/null; then
        cf_wait_no_card "$1"
    fi
}

cf_card_ctl() { # I CMD
    "$CF_VCARD" --control "$(cf_card_ctl_path "$1")" --send "$2"
}

cf_card_pull() { # I
    cf_card_ctl "$1" remove >/dev/null || cf_fail "card $1: 'remove' refused"
    cf_wait_no_card "$1"
}

cf_card_insert() { # I
    cf_card_ctl "$1" insert >/dev/null || cf_fail "card $1: 'insert' refused"
    cf_wait_card "$1"
}

cf__pick() { # LIST INDEX: the INDEX-th element of a comma list, cycled
    local -a items
    IFS=, read -r -a items <<<"$1,"
    [ "${#items[@]}" -gt 0 ] || { echo ""; return; }
    echo "${items[$(($2 % ${#items[@]}))]}"
}

cf_harness_start() { # N TYPES [FACTORIES]
    local n=$1 types=$2 factories=${3:-} i t f
    cf_harness_readers "$n"
    for ((i = 0; i < n; i++)); do
        t=$(cf__pick "$types" "$i")
        f=$(cf__pick "$factories" "$i")
        cf_card_start "$i" --type "$t" ${f:+--factory "$f"} --state "$(cf_state_file "$i")" \
            --serial $((CF_SERIAL_BASE + i))
    done
    cf_wait_cards "$n"
}

cf_scriptor() { # I APDU...
    local reader
    reader=$(cf_reader_name "$1")
    shift
    printf '%s\n' "$@" | scriptor -r "$reader" 2>&1
}

# ---- teardown -------------------------------------------------------------
# Card daemons that did not exit 0 when stopped ("I:status ..."): a crash,
# a sanitizer report or a leak. cf__on_exit fails an otherwise passing test.
CF__BAD_EXITS=""

cf_harness_stop() {
    local i t rc
    for i in "${!CF_CARD_PIDS[@]}"; do
        [ -n "${CF_CARD_PIDS[$i]}" ] && kill -TERM "${CF_CARD_PIDS[$i]}" 2>/dev/null
    done
    for i in "${!CF_CARD_PIDS[@]}"; do
        [ -n "${CF_CARD_PIDS[$i]}" ] || continue
        for ((t = 0; t < 50; t++)); do
            kill -0 "${CF_CARD_PIDS[$i]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${CF_CARD_PIDS[$i]}" 2>/dev/null
        wait "${CF_CARD_PIDS[$i]}" 2>/dev/null
        rc=$?
        [ "$rc" -eq 0 ] || CF__BAD_EXITS+=" card$i:$rc"
        CF_CARD_PIDS[i]=""
    done
    cf__pcscd_stop
    return 0
}

cf__on_exit() {
    local rc=$?
    trap - EXIT
    cf_harness_stop
    if [ "$rc" -eq 0 ] && [ -n "$CF__BAD_EXITS" ]; then
        cf__show_evidence
        echo "[$CF_TEST_NAME] FAIL: card daemons exited badly on SIGTERM:$CF__BAD_EXITS" >&2
        rc=1
    fi
    if [ "$rc" -eq 0 ] && grep -l 'AddressSanitizer\|LeakSanitizer\|runtime error:' \
        "$CF_TMP"/card-*.log >/dev/null 2>&1; then
        cf__show_evidence
        echo "[$CF_TEST_NAME] FAIL: sanitizer report in a card log" >&2
        rc=1
    fi
    if [ "$rc" -eq 0 ]; then
        rm -rf "$CF_TMP"
    else
        echo "[$CF_TEST_NAME] failed (status $rc); evidence kept in $CF_TMP" >&2
    fi
    exit "$rc"
}
trap cf__on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
