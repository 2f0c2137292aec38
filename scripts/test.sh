#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then pytest on a throwaway PostgreSQL 15 cluster.
# REFLOOP_REQUIRE_POSTGRES=1 (CI sets it) turns a missing PostgreSQL into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv

echo "== lint (ruff)"
$VENV/bin/ruff check .
$VENV/bin/ruff format --check .

echo "== tests on SQLite"
(unset DATABASE_URL; REFLOOP_VAR_DIR="$(mktemp -d)" $VENV/bin/pytest -q "$@")

initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$initdb" ]; then
    if [ "${REFLOOP_REQUIRE_POSTGRES:-0}" = "1" ]; then
        echo "PostgreSQL is required (REFLOOP_REQUIRE_POSTGRES=1) but no server binaries were found." >&2
        exit 1
    fi
    echo "== PostgreSQL run SKIPPED: no PostgreSQL server binaries on this machine."
    echo "   Install them (Debian: apt-get install postgresql) to run the suite on PostgreSQL too."
    exit 0
fi

bindir=$(dirname "$initdb")
cluster=$(mktemp -d /tmp/refloop-pg.XXXXXX)
as_pg() {
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = "0" ] && chown postgres "$cluster"
port=$($VENV/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop_cluster() {
    as_pg "$bindir/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$cluster"
}
trap stop_cluster EXIT INT TERM

echo "== starting a throwaway PostgreSQL ($(basename "$(dirname "$bindir")")) on port $port"
as_pg "$initdb" -D "$cluster/data" -A trust -U postgres -E UTF8 >/dev/null
as_pg "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/log" -w \
    -o "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null

echo "== tests on PostgreSQL"
DATABASE_URL="postgres://postgres@127.0.0.1:$port/refloop" REFLOOP_VAR_DIR="$(mktemp -d)" \
    $VENV/bin/pytest -q "$@"
