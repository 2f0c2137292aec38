# Sourced by test.sh and bench.sh: start a throwaway PostgreSQL cluster in a temporary folder owned
# by the postgres user, on a free port, and stop it on exit whatever happens.
# After `pg_cluster_start`, PG_PORT is set; pg_cluster_start returns 1 if no server binaries exist.
source "$(dirname "${BASH_SOURCE[0]}")/on-exit.sh"

pg_initdb() { ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true; }

pg_as_owner() {
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_cluster_stop() {
    [ -n "${PG_CLUSTER:-}" ] || return 0
    pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_CLUSTER/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_CLUSTER"
    PG_CLUSTER=""
}

pg_cluster_start() {  # extra server settings may follow as arguments (-c name=value ...)
    local initdb
    initdb=$(pg_initdb)
    [ -n "$initdb" ] || return 1
    PG_BINDIR=$(dirname "$initdb")
    PG_CLUSTER=$(mktemp -d /tmp/refloop-pg.XXXXXX)
    [ "$(id -u)" = "0" ] && chown postgres "$PG_CLUSTER"
    PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    on_exit pg_cluster_stop
    pg_as_owner "$initdb" -D "$PG_CLUSTER/data" -A trust -U postgres -E UTF8 >/dev/null
    pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_CLUSTER/data" -l "$PG_CLUSTER/log" -w \
        -o "-p $PG_PORT -k $PG_CLUSTER -c listen_addresses=127.0.0.1 $*" start >/dev/null
    echo "== throwaway PostgreSQL $(basename "$(dirname "$PG_BINDIR")") on port $PG_PORT"
}
