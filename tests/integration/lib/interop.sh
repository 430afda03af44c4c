# interop.sh - helpers for the interop tests, where clients nobody here wrote
# (yubico-piv-tool, OpenSC, ykman) operate the virtual cards.
#
# Source it after harness.sh:
#
#     source "$2/tests/integration/lib/harness.sh" "$@"
#     source "$CF_SOURCE/tests/integration/lib/interop.sh"
#
# Why it exists: a client's word alone proves little (gids-tool -X exits 0
# when it fails, yubico-piv-tool -a status exits 0 whatever the card says),
# so every interop step checks three things: the client's exit status, a
# line of its output, and the card's own state file (docs/cards/*.md lists
# the keys). These helpers keep each of those checks to one line.
#
#   cf_run CMD ARGS...        run a client with stdin from /dev/null (a
#                             client that prompts fails instead of hanging);
#                             output (stdout+stderr) in CF_OUT, status in CF_RC
#   cf_expect_run WHAT RC CMD ARGS...
#                             cf_run, then fail unless the status is RC
#                             (RC "nonzero": any failure status)
#   cf_expect_out WHAT TEXT   CF_OUT contains TEXT (a substring; may span lines)
#   cf_expect_no_out WHAT TEXT  CF_OUT does not contain TEXT
#   cf_state I KEY            print KEY's value in card I's state file
#                             (fails unless exactly one line has KEY)
#   cf_expect_state I KEY VALUE
#   cf_expect_no_state I KEY  card I's state file has no KEY line
#   cf_state_snapshot I NAME  copy card I's state file to $CF_TMP/NAME
#   cf_expect_state_is I NAME card I's state file equals the snapshot NAME
#   cf_hex TEXT               TEXT's bytes as upper-case hex (state files
#                             store PINs so)
#   cf_hex_file FILE          FILE's bytes as upper-case hex
#   cf_unhex HEX >FILE        write the bytes HEX stands for

cf_run() {
    CF_OUT=$("$@" </dev/null 2>&1)
    CF_RC=$?
}

cf_expect_run() { # WHAT RC CMD ARGS...
    local what=$1 want=$2
    shift 2
    cf_run "$@"
    if [ "$want" = nonzero ] && [ "$CF_RC" != 0 ]; then return 0; fi
    [ "$CF_RC" = "$want" ] ||
        cf_fail "$what: '$*' exited $CF_RC, expected $want; output:"$'\n'"$CF_OUT"
}

# A plain substring test, not grep: TEXT may span lines (a slot line and the
# token line under it), which grep -F would split into alternatives.
cf_expect_out() { # WHAT TEXT
    [[ $CF_OUT == *"$2"* ]] ||
        cf_fail "$1: output lacks '$2'; output:"$'\n'"$CF_OUT"
}

cf_expect_no_out() { # WHAT TEXT
    [[ $CF_OUT != *"$2"* ]] ||
        cf_fail "$1: output has '$2'; output:"$'\n'"$CF_OUT"
}

cf_state() { # I KEY
    local f n
    f=$(cf_state_file "$1")
    n=$(grep -c "^$2=" "$f")
    [ "$n" = 1 ] || cf_fail "$f: $n lines with key '$2', expected 1"
    sed -n "s/^$2=//p" "$f"
}

cf_expect_state() { # I KEY VALUE
    local got
    got=$(cf_state "$1" "$2") || exit 1
    cf_expect_eq "card $1 state $2" "$3" "$got"
}

cf_expect_no_state() { # I KEY
    ! grep -q "^$2=" "$(cf_state_file "$1")" ||
        cf_fail "card $1 state: key '$2' present, expected absent"
}

cf_state_snapshot() { # I NAME
    cp "$(cf_state_file "$1")" "$CF_TMP/$2" || cf_fail "cannot copy card $1's state file"
}

cf_expect_state_is() { # I NAME
    local d
    d=$(diff "$CF_TMP/$2" "$(cf_state_file "$1")") ||
        cf_fail "card $1 state differs from snapshot $2:"$'\n'"$d"
}

cf_hex() { # TEXT
    printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F
}

cf_hex_file() { # FILE
    od -An -v -tx1 "$1" | tr -d ' \n' | tr a-f A-F
}

cf_unhex() { # HEX
    # printf's \xHH escapes: no xxd needed (not installed everywhere).
    # shellcheck disable=SC2059,SC2001
    printf "$(sed 's/../\\x&/g' <<<"$1")"
}
