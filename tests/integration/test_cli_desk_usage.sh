# test_cli_desk_usage.sh - the desk commands (personalize, pin) refuse bad
# command lines with status 2 and a message, before any reader is looked at
# (no pcscd is needed: nothing gets that far).
set -u
CLI="$1/tools/cardforge"
SRC="$2"
DESC="$SRC/samples/pin-by-puk-literal/description.ini"
fail() { echo "FAIL: $*"; exit 1; }
expect() { # STATUS NEEDLE CMD...
    local want=$1 needle=$2 out rc
    shift 2
    out=$("$@" 2>&1 </dev/null)
    rc=$?
    [ $rc -eq "$want" ] || fail "$*: exit $rc, expected $want: $out"
    grep -qF -- "$needle" <<<"$out" || fail "$*: no '$needle' in: $out"
}

expect 2 "--field wants NAME=VALUE" "$CLI" personalize "$DESC" --reader x --field NOEQUALS
expect 2 "--field wants NAME=VALUE" "$CLI" personalize "$DESC" --reader x --field =v
expect 2 "--field PIN given twice" "$CLI" personalize "$DESC" --reader x --field PIN=1 --field PIN=2
expect 2 "exactly one of --reader or --card" "$CLI" personalize "$DESC"
expect 2 "exactly one of --reader or --card" "$CLI" personalize "$DESC" --reader x --card 1
expect 2 "usage: cardforge personalize" "$CLI" personalize --reader x
expect 2 "'frobnicate' is not a subcommand" "$CLI" pin frobnicate --reader x
expect 2 "--challenge goes with unblock" "$CLI" pin status --reader x --challenge
expect 2 "reads PINs from a terminal" "$CLI" pin change --reader x
expect 2 "reads PINs from a terminal" "$CLI" pin unblock --challenge --reader x
expect 2 "usage: cardforge pin" "$CLI" pin
echo "desk usage: ok"
