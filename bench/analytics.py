"""Analytics without a database (issue 5, Performance), measured in one run:

  (a) `refloop audit` on a 1,000,000-row CSV of another system's export: wall time and peak
      memory of the whole command (a subprocess: read, map, quarantine, facts_build, the review,
      HTML and PDF), from resource.getrusage of the child. Goal: under 20 s and 2 GB.
  (b) the funnel and cycle-time percentiles by service line and month (metrics.cycle.cycle_frame)
      over the same fact rows, beside a hand-written DuckDB query over a Parquet export of those
      rows, answering the same question (same cohort, as-of cut, linear quantiles). Goal: Polars
      within 3x of DuckDB. Polars is timed on the frame in memory (what the app holds) and from
      the same Parquet file (what DuckDB reads); the answers are compared cell by cell.

Synthetic rows, made with Polars from a seed: two years of referrals ending October 2026, six
service lines, 3,000 referrers, the funnel thinning step by step, times in business-ish hours.

    python bench/analytics.py --rows 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

TZ = ZoneInfo("America/New_York")
START = dt.datetime(2024, 11, 1, tzinfo=TZ)
END = dt.datetime(2026, 11, 1, tzinfo=TZ)
AS_OF = "2026-11-01T00:00:00-04:00"
LINES = ("Cardiology", "Orthopedics", "Dermatology", "Gastroenterology", "Neurology", "Imaging")
COLUMNS = {
    "received_at": "Date Received", "service_line": "Department", "priority": "Urgency",
    "channel": "Source", "referrer_key": "Referrer NPI", "referrer_name": "Referring Provider",
    "practice": "Referring Practice", "acknowledged_at": "Acknowledged", "decided_at": "Triaged",
    "decision": "Triage Result", "booked_at": "Booked", "appointment_at": "Appointment",
    "seen_at": "Visit Completed", "report_sent_at": "Report Sent", "patient_key": "MRN",
}  # fmt: skip


def synthetic_csv(path: Path, rows: int, seed: int = 5) -> None:
    """Another system's export: their names, US local times, some steps missing."""

    def uniform(salt: int) -> pl.Expr:  # a reproducible number in [0, 1) per row
        return (pl.col("i").hash(seed * 1000 + salt) % 1_000_000) / 1_000_000

    def later(base: str, hours: float, salt: int, share: float) -> pl.Expr:
        gap = pl.duration(minutes=(uniform(salt) * hours * 60).cast(pl.Int64) + 5)
        return pl.when(uniform(salt + 100) < share).then(pl.col(base) + gap)

    span = int((END - START).total_seconds())
    frame = (
        pl.DataFrame({"i": pl.int_range(rows, eager=True)})
        .with_columns(
            received_at=pl.lit(START) + pl.duration(seconds=(uniform(1) * span).cast(pl.Int64)),
            service_line=pl.lit(pl.Series(LINES)).get((uniform(2) * len(LINES)).cast(pl.Int64)),
            priority=pl.when(uniform(3) < 0.8)
            .then(pl.lit("R"))
            .when(uniform(3) < 0.97)
            .then(pl.lit("U"))
            .otherwise(pl.lit("S")),
            channel=pl.lit(pl.Series(["Fax", "eFax", "Phone", "Portal", "EHR"])).get(
                (uniform(4) * 5).cast(pl.Int64)
            ),
            referrer=(uniform(5) * uniform(6) * 3000).cast(pl.Int64),
            patient_key=pl.format("MRN{}", (uniform(7) * rows * 0.8).cast(pl.Int64)),
        )  # fmt: skip
        .with_columns(
            referrer_key=(pl.col("referrer") + 1_000_000_000).cast(pl.String),
            referrer_name=pl.format("Dr {}", pl.col("referrer")),
            practice=pl.format("Practice {}", pl.col("referrer") // 7),
            acknowledged_at=later("received_at", 30, 10, 0.9),
            decided_at=later("received_at", 60, 11, 0.85),
        )
        .with_columns(
            decision=pl.when(pl.col("decided_at").is_null())
            .then(None)
            .when(uniform(12) < 0.88)
            .then(pl.lit("Accepted"))
            .otherwise(pl.lit("Declined")),
        )  # fmt: skip
        .with_columns(
            booked_at=pl.when(pl.col("decision") == "Accepted").then(
                later("decided_at", 120, 13, 0.85)
            ),
        )  # fmt: skip
        .with_columns(appointment_at=later("booked_at", 24 * 30, 14, 1.0))
        .with_columns(seen_at=later("appointment_at", 1, 15, 0.85))
        .with_columns(report_sent_at=later("seen_at", 72, 16, 0.9))
        # Nothing happens after the export was made: steps after END are not there yet.
        .with_columns(
            pl.when(pl.col(c) < pl.lit(END)).then(pl.col(c)).alias(c)
            for c in ("acknowledged_at", "decided_at", "booked_at", "seen_at", "report_sent_at")
        )
    )
    local = frame.select(
        pl.col(c).dt.convert_time_zone(TZ.key).dt.strftime("%m/%d/%Y %H:%M")
        if c.endswith("_at") else pl.col(c)
        for c in COLUMNS
    ).rename(COLUMNS)  # fmt: skip
    local.write_csv(path)


def audit_args(path: Path, out: Path) -> list[str]:
    args = ["audit", str(path), "--month", "2026-10", "--out", str(out), "--as-of", AS_OF]
    args += [f"--column={ours}={theirs}" for ours, theirs in COLUMNS.items()]
    args += [f"--value=priority:{theirs}={ours}" for theirs, ours in
             (("R", "routine"), ("U", "urgent"), ("S", "stat"))]  # fmt: skip
    args += ["--value=channel:eFax=fax", "--value=channel:EHR=fhir"]
    return args + ["--date-format", "%m/%d/%Y %H:%M"]


def audit_timed(path: Path, out: Path) -> dict:
    script = (
        "import sys; from refloop.analytics.audit.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", script, *audit_args(path, out)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - started
    if run.returncode:
        raise SystemExit(run.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
    return {"seconds": round(seconds, 2), "peak_mb": round(peak), "printed": run.stdout}


def facts_of(path: Path) -> pl.DataFrame:
    """The fact rows the audit builds from the file (in this process, for part b)."""
    from refloop.analytics.audit.cli import _mapping, _parser
    from refloop.analytics.audit.milestones import milestones_parse
    from refloop.analytics.audit.program import program_standard
    from refloop.analytics.audit.reading import file_read
    from refloop.analytics.build import facts_build
    from refloop.core.calendar import BusinessCalendar

    args = _parser().parse_args(audit_args(path, path.parent))
    parsed = milestones_parse(file_read(path), mapping=_mapping(args), tz=TZ)
    lines = parsed.milestones["service_line"].unique().to_list()
    return facts_build(
        parsed.milestones, waiting=None, states=None,
        targets=program_standard().targets_frame(lines),
        calendar=BusinessCalendar(tz=TZ), as_of=dt.datetime.fromisoformat(AS_OF),
    )  # fmt: skip


def duckdb_sql(parquet: Path) -> str:
    """cycle_frame's question by hand: the cohort received [start, end) locally, each step
    reached before as_of, linear quantiles (quantile_cont), per service line and local month."""
    from refloop.analytics.facts import STEPS
    from refloop.analytics.metrics.cycle import STEP_DONE, TARGET_DONE, TARGET_OF_STEP
    from refloop.analytics.metrics.funnel import FUNNEL_STEPS

    cut = f"TIMESTAMPTZ '{AS_OF}'"

    def reached(column: str) -> str:
        return f"({column} IS NOT NULL AND {column} < {cut})"

    aggs = ["count(*) AS received"]
    aggs += [f'count(*) FILTER (WHERE {reached(col)}) AS "{name}"'
             for name, _, col in FUNNEL_STEPS[1:]]  # fmt: skip
    for step in STEPS:
        done = f"{reached(STEP_DONE[step.name])} AND {step.name}_gross IS NOT NULL"
        aggs.append(f'count(*) FILTER (WHERE {done}) AS "{step.name}:count"')
        for kind in ("gross", "net"):
            value = f"{step.name}_{kind}"
            aggs.append(f'median({value}) FILTER (WHERE {done}) AS "{step.name}:{kind}_median"')
            aggs.append(
                f'quantile_cont({value}, 0.9) FILTER (WHERE {done}) AS "{step.name}:{kind}_p90"'
            )
        kind = TARGET_OF_STEP.get(step.name)
        if kind:
            # Judged when its clock stopped, or the referral ended, by as_of.
            final = f"({reached(TARGET_DONE[kind])} OR {reached('ended_at')})"
            judged = f"{final} AND {kind}_met IS NOT NULL"
            aggs.append(f'count(*) FILTER (WHERE {judged}) AS "{step.name}:judged"')
            aggs.append(f'count(*) FILTER (WHERE {judged} AND {kind}_met) AS "{step.name}:met"')
    local = f"timezone('{TZ.key}', received_at)"
    return (
        f"SELECT service_line, CAST(date_trunc('month', {local}) AS DATE) AS month, "
        + ", ".join(aggs)
        + f" FROM read_parquet('{parquet}')"
        + f" WHERE {local} >= TIMESTAMP '{START:%Y-%m-%d}' AND {local} < TIMESTAMP '{END:%Y-%m-%d}'"
        + " GROUP BY ALL ORDER BY service_line, month"
    )


def best_of(runs: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def grouped_timed(facts: pl.DataFrame, parquet: Path, runs: int) -> dict:
    import duckdb

    from refloop.analytics.metrics.cycle import cycle_frame
    from refloop.analytics.scope import Scope

    scope = Scope(start=START.date(), end=END.date(), as_of=dt.datetime.fromisoformat(AS_OF),
                  tz=TZ)  # fmt: skip
    memory, ours = best_of(runs, lambda: cycle_frame(facts, scope).collect())
    scanned, _ = best_of(runs, lambda: cycle_frame(pl.scan_parquet(parquet), scope).collect())
    connection = duckdb.connect()
    sql = duckdb_sql(parquet)
    duck, theirs = best_of(runs, lambda: connection.sql(sql).pl())
    theirs = theirs.select(ours.columns).with_columns(
        pl.col(c).cast(ours.schema[c]) for c in ours.columns
    )
    same = ours.equals(theirs) or _close(ours, theirs)
    return {
        "groups": ours.height,
        "polars_memory_s": round(memory, 3),
        "polars_parquet_s": round(scanned, 3),
        "duckdb_parquet_s": round(duck, 3),
        "ratio_memory": round(memory / duck, 2),
        "ratio_parquet": round(scanned / duck, 2),
        "same_answer": same,
    }


def _close(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    from polars.testing import assert_frame_equal

    try:
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9)
    except AssertionError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="refloop-analytics-") as folder:
        folder = Path(folder)
        csv = folder / "their-export.csv"
        started = time.perf_counter()
        synthetic_csv(csv, args.rows)
        made = time.perf_counter() - started
        audit = audit_timed(csv, folder / "out")
        print(audit.pop("printed"))
        facts = facts_of(csv)
        parquet = folder / "facts.parquet"
        facts.write_parquet(parquet)
        grouped = grouped_timed(facts, parquet, args.runs)
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "csv_mb": round(csv.stat().st_size / 2**20),
                    "csv_made_s": round(made, 1),
                    "audit": audit | {"goal": "under 20 s and 2 GB"},
                    "grouped": grouped | {"goal": "Polars within 3x of DuckDB"},
                }
            )
        )


if __name__ == "__main__":
    main()
