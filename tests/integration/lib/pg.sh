# pg.sh - a private PostgreSQL server for one test.
#
#     source "$src/tests/integration/lib/pg.sh"
#     cf_pg_start "$tmp"          # server up; CF_PG holds its connection string
#     cardforge order init --db "$CF_PG"
#     cf_pg_stop                  # also done by cf_pg_cleanup (call it from your EXIT trap)
#
# The server is Debian's postgresql (the newest installed major version),
# run by the unprivileged user `nobody` (PostgreSQL refuses root) from a
# directory of its own under the test's temporary directory: a cluster made
# by initdb for this test alone, listening on a Unix socket in that
# directory and on no TCP port, so nothing outside the test can reach it and
# tests run in parallel. fsync is off: a test's database need not survive a
# power cut, and it makes the server start in about a second. It is stopped
# by the PID in its postmaster.pid, never by name.
#
# Functions: cf_pg_start DIR, cf_pg_stop, cf_pg_restart, cf_pg_cleanup,
# cf_pg_psql SQL (runs SQL as the superuser, prints unaligned rows).
# Variables: CF_PG (connection string: host=SOCKETDIR port=5432
# dbname=cardforge user=cf), CF_PG_DIR, CF_PG_BIN.

cf__pg_fail() { echo "pg.sh: FAIL: $*" >&2; exit 1; }

cf_pg_start() { # DIR
    CF_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$CF_PG_BIN/initdb" ] || cf__pg_fail "no PostgreSQL server installed (scripts/setup.sh installs postgresql)"
    CF_PG_DIR="$1/pg"
    mkdir -p "$CF_PG_DIR"
    chown nobody "$CF_PG_DIR"
    chmod 0700 "$CF_PG_DIR"
    # The test's directory must let nobody reach its own.
    chmod o+x "$1"
    runuser -u nobody -- "$CF_PG_BIN/initdb" -D "$CF_PG_DIR/data" -U cf --auth=trust -E UTF8 \
        --no-sync >"$CF_PG_DIR/initdb.log" 2>&1 || cf__pg_fail "initdb: $(tail -n 5 "$CF_PG_DIR/initdb.log")"
    cf__pg_up
    runuser -u nobody -- "$CF_PG_BIN/createdb" -h "$CF_PG_DIR" -U cf cardforge ||
        cf__pg_fail "createdb failed"
    CF_PG="host=$CF_PG_DIR port=5432 dbname=cardforge user=cf"
    export CF_PG CF_PG_DIR CF_PG_BIN
}

cf__pg_up() {
    runuser -u nobody -- "$CF_PG_BIN/pg_ctl" -D "$CF_PG_DIR/data" -l "$CF_PG_DIR/server.log" -w -t 60 \
        -o "-k $CF_PG_DIR -c listen_addresses= -c fsync=off -c full_page_writes=off" start \
        >"$CF_PG_DIR/pg_ctl.log" 2>&1 || cf__pg_fail "the server did not start: $(tail -n 5 "$CF_PG_DIR/server.log")"
}

cf__pg_pid() { head -n 1 "$CF_PG_DIR/data/postmaster.pid" 2>/dev/null; }

cf_pg_stop() {
    local pid
    pid=$(cf__pg_pid) || true
    [ -n "$pid" ] || return 0
    kill -INT "$pid" 2>/dev/null || return 0 # fast shutdown: sessions are ended
    for _ in $(seq 1 600); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cf_pg_restart() { cf_pg_stop; cf__pg_up; }

cf_pg_cleanup() { [ -n "${CF_PG_DIR:-}" ] && cf_pg_stop; return 0; }

cf_pg_psql() { # SQL
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$CF_PG" -c "$1"
}
