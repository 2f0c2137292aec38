#!/usr/bin/env bash
# make bench: load the demo program at 25,000 referrals (SQLite, timed: the goal is under a minute)
# and, on a throwaway PostgreSQL, at 25,000 (the baseline) and at BENCH_SCALE x 25,000
# (default 40 = 1,000,000); then time the worklist, search and referral page on both in one run,
# and the scheduler's passes (bench/scheduler.py) with 200,000 open referrals on the big one;
# then the intake benches (FHIR Bundles over HTTP, HL7 REF^I12 over MLLP, a 1,000,000-row CSV
# import beside raw COPY) on copies of the base, and the monthly review on both. BENCH_ONLY=scheduler,
# =interop, =review, =analytics or =referrers runs one part.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-cluster.sh
PY=.venv/bin/python
SCALE=${BENCH_SCALE:-40}
REPEAT=${BENCH_REPEAT:-30}
since() { python3 -c "import time; print(round(time.time() - $1, 1))"; }
work=$(mktemp -d /tmp/refloop-bench.XXXXXX)
export REFLOOP_VAR_DIR=$work/var

bench_pg_start() {  # a throwaway cluster tuned for loading, or stop here
    pg_cluster_start -c shared_buffers=1GB -c work_mem=16MB -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_wal_size=4GB || { echo "no PostgreSQL: bench needs it" >&2; exit 1; }
}

demo_db() {  # name scale: a new database refloop_<name> with the demo at that scale, analysed
    pg_as_owner "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "refloop_$1"
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_$1"
    $PY manage.py migrate -v0
    start=$(date +%s.%N)
    $PY manage.py refloop_demo --scale "$2" >/dev/null
    echo "demo load on PostgreSQL ($1), scale $2, facts included: $(since "$start") s"
    pg_as_owner "$PG_BINDIR/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "refloop_$1" \
        -c "VACUUM ANALYZE"
}

interop_benches() {  # the intake benches of issue 4, each on its own scratch copy of the base demo
    for name in fhir hl7 import; do
        pg_as_owner "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres -T "refloop_base" \
            "refloop_$name"
    done
    echo "== FHIR: referral transaction Bundles over HTTP (baselines: in-process, GET metadata)"
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_fhir" $PY bench/fhir_intake.py \
        --referrals "${BENCH_FHIR:-1000}" --clients 8
    echo "== HL7 v2: REF^I12 over MLLP (baselines: ADT^A03 acknowledged and ignored, direct receive)"
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_hl7" $PY bench/hl7_intake.py \
        --messages "${BENCH_HL7:-2000}" --connections 8
    echo "== import: CSV through the bulk path (overlapped, and one chunk at a time), beside raw COPY"
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_import" $PY bench/import_csv.py \
        --rows "${BENCH_IMPORT_ROWS:-1000000}" --overlap --serial-too
}

if [ "${BENCH_ONLY:-}" = "analytics" ]; then
    # No database: refloop audit on a 1,000,000-row CSV (time, peak memory), and the grouped
    # funnel and percentiles in Polars beside DuckDB over a Parquet export of the same facts.
    echo "== analytics: refloop audit on ${BENCH_AUDIT_ROWS:-1000000} rows; Polars vs DuckDB"
    $PY bench/analytics.py --rows "${BENCH_AUDIT_ROWS:-1000000}"
    rm -rf "$work"
    exit 0
fi

if [ "${BENCH_ONLY:-}" = "referrers" ]; then
    # Referrer standings: segmenting and scoring 50,000 referrers (1,000,000 synthetic referrals
    # over 24 months, made in Polars; goal under 10 s), then 50,000 standings in PostgreSQL and a
    # liaison's target list page, 200 requests beside a plain page of 50 standings (goal p95 < 200 ms).
    bench_pg_start
    pg_as_owner "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres refloop_referrers
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_referrers" ALLOWED_HOSTS=testserver \
        $PY bench/referrers.py --referrers "${BENCH_REFERRERS:-50000}" \
        --referrals "${BENCH_REFERRALS:-1000000}" --pages "${BENCH_PAGES:-200}"
    rm -rf "$work"
    exit 0
fi

if [ "${BENCH_ONLY:-}" = "review" ]; then
    # The monthly review on PostgreSQL: the demo at 25,000 referrals (baseline) and at
    # BENCH_SCALE x 25,000 (default 1,000,000 referrals, about 11 million events; the load builds
    # the fact table from the events and takes over half an hour on 2 cores).
    bench_pg_start
    demo_db base 1
    $PY bench/review_pg.py --label base
    demo_db big "$SCALE"
    $PY bench/review_pg.py --label big
    rm -rf "$work"
    exit 0
fi

if [ "${BENCH_ONLY:-}" = "interop" ]; then
    # The intake benches alone, against a 25,000-referral demo on PostgreSQL.
    bench_pg_start
    demo_db base 1
    interop_benches
    rm -rf "$work"
    exit 0
fi

if [ "${BENCH_ONLY:-}" = "scheduler" ]; then
    # The scheduler and booking benches alone: a 25,000-referral baseline, and 200,000 referrals
    # (scale 8) cloned up to 1,000,000 with 200,000 open (events are not cloned: the scheduler
    # never reads old events).
    bench_pg_start
    demo_db base 1
    demo_db sched 8
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_base" $PY bench/scheduler.py --label base
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_sched" \
        $PY bench/scheduler.py --label 1M --open 200000 --total 1000000
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_base" $PY bench/booking.py --slots 50
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_base" $PY bench/booking.py --slots 10
    rm -rf "$work"
    exit 0
fi

echo "== demo load, 25,000 referrals, SQLite"
export DATABASE_URL="sqlite:///$work/demo.sqlite3"
$PY manage.py migrate -v0
start=$(date +%s.%N)
$PY manage.py refloop_demo >/dev/null
echo "demo load on SQLite: $(since "$start") s (goal: under 60 s)"

bench_pg_start
demo_db base 1
demo_db big "$SCALE"

results=$work/pages.jsonl
for db in base big; do
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_$db" \
        $PY bench/pages.py --label "$db" --repeat "$REPEAT" | tee -a "$results"
done
$PY bench/compare.py < "$results"

echo "== scheduler: one pass and two at once (base as loaded; big with 200,000 open referrals)"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_base" $PY bench/scheduler.py --label base
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_big" \
    $PY bench/scheduler.py --label big --open "${BENCH_OPEN:-200000}" --total 1000000

echo "== monthly review end to end (base: 25,000 referrals; big: BENCH_SCALE x 25,000, goal < 10 s)"
for db in base big; do
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_$db" $PY bench/review_pg.py --label "$db"
done

echo "== booking: 50 attempts at once on 50 slots (baseline: no contention), then on the same 10"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_base" $PY bench/booking.py --slots 50
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/refloop_base" $PY bench/booking.py --slots 10

interop_benches
rm -rf "$work"
