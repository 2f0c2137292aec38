#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then pytest on a throwaway PostgreSQL cluster
# (a throwaway Redis serves the Redis task backend's smoke test in both runs).
# REFLOOP_REQUIRE_POSTGRES=1 (CI sets it) turns a missing PostgreSQL into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-cluster.sh
source scripts/redis-server.sh
VENV=.venv

echo "== lint (ruff)"
$VENV/bin/ruff check .
$VENV/bin/ruff format --check .

# The Redis task backend's smoke test needs a Redis server (REFLOOP_REQUIRE_REDIS=1 in CI).
if redis_start; then
    export REFLOOP_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
elif [ "${REFLOOP_REQUIRE_REDIS:-0}" = "1" ]; then
    echo "Redis is required (REFLOOP_REQUIRE_REDIS=1) but redis-server is not installed." >&2
    exit 1
else
    echo "== Redis smoke test SKIPPED: no redis-server (Debian: apt-get install redis-server)."
fi

echo "== tests on SQLite"
(unset DATABASE_URL; REFLOOP_VAR_DIR="$(mktemp -d)" $VENV/bin/pytest -q "$@")

# Durability is not under test here: fsync off makes the throwaway cluster fast.
if ! pg_cluster_start -c fsync=off -c synchronous_commit=off -c full_page_writes=off; then
    if [ "${REFLOOP_REQUIRE_POSTGRES:-0}" = "1" ]; then
        echo "PostgreSQL is required (REFLOOP_REQUIRE_POSTGRES=1) but no server binaries were found." >&2
        exit 1
    fi
    echo "== PostgreSQL run SKIPPED: no PostgreSQL server binaries on this machine."
    echo "   Install them (Debian: apt-get install postgresql) to run the suite on PostgreSQL too."
    exit 0
fi

echo "== tests on PostgreSQL"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop" REFLOOP_VAR_DIR="$(mktemp -d)" \
    $VENV/bin/pytest -q "$@"
