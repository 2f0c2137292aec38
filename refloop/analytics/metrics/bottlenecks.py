"""Bottlenecks: where referrals spend their time and where they pile up.

Definitions (a practice manager's words)
----------------------------------------
- **Time in each state and blocker**, for the referrals received in the period: of the referrals
  that spent any time in a state (received, triage, accepted, scheduled, no-show, completed) or
  waiting on a blocker (missing records, authorization, the referrer's answer), how many, the
  median and the mean time there, and the total, in the clock's measure (business time for
  routine and urgent referrals). These are the fact table's totals as it was last built, not cut
  at as_of. Biggest total first: that is where the program's time goes.
- **Ageing of open referrals**: every referral matching the filters (whatever month it came in)
  that was open at as_of, by its age then in whole calendar days since receipt (0-7, 8-14,
  15-30, 31-60, over 60) and by its state at as_of. The state at as_of is the current state when
  nothing has happened since; otherwise it is read from the milestones reached by then (seen:
  completed; booked: scheduled; accepted: accepted; otherwise received).
- **The steps that cost the most time per service line**: the referral's path cut into legs that
  follow each other (received to triage decision, decision to first patient contact, contact to
  booked, booked to visit, visit to report sent, report sent to delivered). A leg's time is the
  difference of the two net durations the fact table keeps from receipt (or from the visit), so
  it is net business time; a leg that comes out negative (milestones recorded out of order) counts
  as zero. For each service line, the median net time of each leg over the cohort's referrals
  that finished it by as_of, ranked longest first. Medians use linear interpolation
  (metrics.cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.facts import OPEN_STATES, WAITING_BLOCKERS
from refloop.analytics.metrics.cycle import step_done
from refloop.analytics.metrics.funnel import as_of_utc, ended, humanize, reached
from refloop.analytics.scope import Scope

# (label, lowest age in days, highest age in days or None)
AGE_BUCKETS = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("31-60", 31, 60),
    (">60", 61, None),
)

# (leg, label, the step it starts after (None: from the step's own start), the step it ends with)
LEGS = (
    ("triage", "Received to triage decision", None, "decided"),
    ("contact", "Decision to first patient contact", "decided", "first_contact"),
    ("booking", "First contact to booked", "first_contact", "booked"),
    ("wait", "Booked to visit", "booked", "visit"),
    ("report", "Visit to report sent", None, "report_sent"),
    ("delivery", "Report sent to delivered", "report_sent", "report_delivered"),
)


@dataclass(frozen=True)
class TimeIn:
    kind: str  # "state" or "blocker"
    name: str
    label: str
    referrals: int  # that spent any time there
    median_seconds: float | None
    mean_seconds: float | None
    total_seconds: int
    drill: Drill


@dataclass(frozen=True)
class AgeingRow:
    state: str
    label: str
    counts: tuple[int, ...]  # one per AGE_BUCKETS
    total: int
    drills: tuple[Drill, ...]


@dataclass(frozen=True)
class CostlyLeg:
    service_line: str
    leg: str
    label: str
    rank: int  # 1 = the longest median in its service line
    referrals: int
    net_median: float | None  # seconds
    drill: Drill


@dataclass(frozen=True)
class Bottlenecks:
    time_in: tuple[TimeIn, ...]
    buckets: tuple[str, ...]
    ageing: tuple[AgeingRow, ...]
    open_total: int
    costly_legs: tuple[CostlyLeg, ...]


def _time_column(kind: str, name: str) -> str:
    return f"seconds_in_{name}" if kind == "state" else f"waiting_{name}_seconds"


def _time_in(rows: pl.DataFrame) -> tuple[TimeIn, ...]:
    places = [("state", s) for s in OPEN_STATES] + [("blocker", b) for b in WAITING_BLOCKERS]
    aggs = []
    for kind, name in places:
        spent = pl.col(_time_column(kind, name)).filter(pl.col(_time_column(kind, name)) > 0)
        aggs += [
            spent.len().alias(f"{name}:n"),
            spent.median().alias(f"{name}:median"),
            spent.mean().alias(f"{name}:mean"),
            spent.sum().alias(f"{name}:total"),
        ]
    row = rows.select(aggs).row(0, named=True)
    found = [
        TimeIn(
            kind=kind,
            name=name,
            label=humanize(name),
            referrals=int(row[f"{name}:n"] or 0),
            median_seconds=row[f"{name}:median"],
            mean_seconds=row[f"{name}:mean"],
            total_seconds=int(row[f"{name}:total"] or 0),
            drill=Drill("bottlenecks.time_in", f"{kind}:{name}"),
        )
        for kind, name in places
    ]
    return tuple(sorted(found, key=lambda t: -t.total_seconds))


def open_at(scope: Scope) -> pl.Expr:
    return (pl.col("received_at") < as_of_utc(scope)) & ~ended(scope)


def state_at(scope: Scope) -> pl.Expr:
    quiet_since = pl.col("last_activity_at").is_null() | (
        pl.col("last_activity_at") < as_of_utc(scope)
    )
    return (
        pl.when(quiet_since & pl.col("state").is_in(OPEN_STATES))
        .then(pl.col("state"))
        .when(reached("seen_at", scope))
        .then(pl.lit("completed"))
        .when(reached("booked_at", scope))
        .then(pl.lit("scheduled"))
        .when(reached("accepted_at", scope))
        .then(pl.lit("accepted"))
        .otherwise(pl.lit("received"))
    )


def age_bucket(scope: Scope) -> pl.Expr:
    age = (pl.lit(as_of_utc(scope)) - pl.col("received_at")).dt.total_days()
    bucket = pl.lit(len(AGE_BUCKETS) - 1)
    for n, (_, _, highest) in reversed(list(enumerate(AGE_BUCKETS[:-1]))):
        bucket = pl.when(age <= highest).then(pl.lit(n)).otherwise(bucket)
    return bucket


def _open_rows(facts: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    return (
        scope.filtered(facts)
        .filter(open_at(scope))
        .with_columns(state_at=state_at(scope), bucket=age_bucket(scope))
    )


def _ageing(facts: pl.DataFrame, scope: Scope) -> tuple[tuple[AgeingRow, ...], int]:
    rows = _open_rows(facts, scope)
    table = rows.group_by("state_at", "bucket").agg(n=pl.len())
    counts = {(r["state_at"], r["bucket"]): r["n"] for r in table.iter_rows(named=True)}
    ageing = []
    for state in OPEN_STATES:
        row = tuple(counts.get((state, n), 0) for n in range(len(AGE_BUCKETS)))
        if any(row):
            ageing.append(
                AgeingRow(
                    state=state,
                    label=humanize(state),
                    counts=row,
                    total=sum(row),
                    drills=tuple(
                        Drill("bottlenecks.ageing", f"{state}:{n}") for n in range(len(AGE_BUCKETS))
                    ),
                )
            )
    return tuple(ageing), rows.height


def leg_done(leg: str, scope: Scope) -> pl.Expr:
    _, _, after, ends = next(item for item in LEGS if item[0] == leg)
    done = step_done(ends, scope)
    return done & step_done(after, scope) if after else done


def leg_net(leg: str) -> pl.Expr:
    _, _, after, ends = next(item for item in LEGS if item[0] == leg)
    net = pl.col(f"{ends}_net")
    return (net - pl.col(f"{after}_net") if after else net).clip(lower_bound=0)


def _costly_legs(rows: pl.DataFrame, scope: Scope) -> tuple[CostlyLeg, ...]:
    aggs = []
    for leg, *_ in LEGS:
        value = pl.when(leg_done(leg, scope)).then(leg_net(leg))
        aggs += [value.count().alias(f"{leg}:n"), value.median().alias(f"{leg}:median")]
    table = rows.group_by("service_line").agg(aggs).sort("service_line")
    out = []
    for row in table.iter_rows(named=True):
        legs = [(leg, label, row[f"{leg}:n"], row[f"{leg}:median"]) for leg, label, *_ in LEGS]
        legs = sorted((item for item in legs if item[2]), key=lambda item: -item[3])
        out += [
            CostlyLeg(
                service_line=row["service_line"],
                leg=leg,
                label=label,
                rank=rank,
                referrals=n,
                net_median=median,
                drill=Drill("bottlenecks.leg", f"{row['service_line']}|{leg}"),
            )
            for rank, (leg, label, n, median) in enumerate(legs, start=1)
        ]
    return tuple(out)


def bottlenecks(facts: pl.DataFrame, scope: Scope) -> Bottlenecks:
    rows = scope.cohort(facts)
    ageing, open_total = _ageing(facts, scope)
    return Bottlenecks(
        time_in=_time_in(rows),
        buckets=tuple(label for label, _, _ in AGE_BUCKETS),
        ageing=ageing,
        open_total=open_total,
        costly_legs=_costly_legs(rows, scope),
    )


@cohort("bottlenecks.time_in")
def time_in_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """Cohort referrals that spent time in a state or blocker: arg is "state:triage"."""
    kind, _, name = arg.partition(":")
    return scope.cohort(facts).filter(pl.col(_time_column(kind, name)) > 0)


@cohort("bottlenecks.ageing")
def ageing_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """Referrals open at as_of in one state and age bucket: arg is "scheduled:2"."""
    state, _, bucket = arg.partition(":")
    rows = _open_rows(facts, scope)
    chosen = rows.filter((pl.col("state_at") == state) & (pl.col("bucket") == int(bucket)))
    return chosen.select(facts.columns)


@cohort("bottlenecks.leg")
def leg_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """Cohort referrals of a service line that finished a leg: arg is "Cardiology|wait"."""
    line, _, leg = arg.rpartition("|")
    rows = scope.cohort(facts)
    return rows.filter((pl.col("service_line") == line) & leg_done(leg, scope))
