#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then pytest on a throwaway PostgreSQL cluster.
# REFLOOP_REQUIRE_POSTGRES=1 (CI sets it) turns a missing PostgreSQL into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-cluster.sh
VENV=.venv

echo "== lint (ruff)"
$VENV/bin/ruff check .
$VENV/bin/ruff format --check .

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
