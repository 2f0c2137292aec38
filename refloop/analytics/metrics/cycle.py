"""Cycle times: how long each step takes, for the referrals received in the period.

Definitions (a practice manager's words)
----------------------------------------
- Steps (facts.STEPS): received to referrer acknowledged, to triage decision, to first patient
  contact, to booked, to visit; visit to report sent, to report delivered.
- Times are in the referral's clock (DESIGN.md, Clocks): business time on the practice calendar
  (business hours, weekends and holidays left out) for routine and urgent referrals, around the
  clock for stat ones. A referral received Friday at 4 pm and acknowledged Monday at 9 am took
  two business hours, not 65 hours. The fact table already holds each step's duration in that
  measure; nothing here recomputes it.
- **Gross** counts the whole step; **net** leaves out the time spent waiting on others (missing
  records, authorization, the referrer's answer). Targets are judged on net time.
- Only the cohort's referrals that finished the step before the scope's as-of moment count
  (a visit step finishes when the patient is seen). A young cohort therefore shows only its
  quicker referrals: read the latest month with that in mind.
- **Median** and **90th percentile (p90)**: linear interpolation between the two nearest values
  (position (n - 1) x q in the sorted durations, counting from 0): the median of 2, 4, 6, 8 is 5;
  the p90 of 10 values 1..10 is 9.1. It is the same rule as DuckDB's `quantile_cont` and Polars'
  `interpolation="linear"`, used everywhere in Refloop's metrics.
- **Within target**: of the referrals whose target of that kind was judged (met or missed) by
  as_of, the share that met it. A judgement is known by as_of when its clock finished (the
  appointment target at booking, on the appointment's date) or the referral ended before then.
  The visit step shows the appointment target. Steps without a target of their own (booked,
  report delivered) show none.

`cycle_times_by` is the same per group (service line and month of receipt by default), with the
funnel counts, computed in one lazy Polars group-by pass (the benchmark times it against DuckDB).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.facts import STEPS
from refloop.analytics.metrics.funnel import FUNNEL_STEPS, ended, reached, share
from refloop.analytics.scope import Scope, month_after

QUANTILE = "linear"  # DuckDB quantile_cont; see the docstring
P90 = 0.9

# The target each step is judged against, and the time the target's judgement is known by.
TARGET_OF_STEP = {
    "acknowledged": "acknowledge",
    "decided": "triage",
    "first_contact": "first_contact",
    "visit": "appointment",
    "report_sent": "report",
}
# A step is finished when its end time has passed; the visit when the patient was seen
# (appointment_at may be a booked time still ahead).
STEP_DONE = {step.name: step.ends for step in STEPS} | {"visit": "seen_at"}
# When each target's judgement is known: when its clock finished (analytics.build: the
# appointment target is judged at the first booking, against the appointment's date), or when the
# referral ended (a target already late is then missed).
TARGET_DONE = {
    "acknowledge": "acknowledged_at",
    "triage": "decided_at",
    "first_contact": "first_contact_at",
    "appointment": "booked_at",
    "report": "report_sent_at",
}
# A group's column -> the Scope field that filters on it.
SCOPE_FILTERS = {
    "service_line": "service_lines",
    "priority": "priorities",
    "channel": "channels",
    "practice": "practices",
}


@dataclass(frozen=True)
class StepTimes:
    step: str
    label: str
    count: int  # referrals that finished the step
    gross_median: float | None  # seconds, in the clock's measure
    gross_p90: float | None
    net_median: float | None
    net_p90: float | None
    target: str  # the target kind judged on this step, "" if none
    judged: int  # referrals whose target was met or missed
    met: int
    met_share: float | None  # met / judged
    drill: Drill
    missed_drill: Drill | None


@dataclass(frozen=True)
class CycleTimes:
    steps: tuple[StepTimes, ...]

    def step(self, name: str) -> StepTimes:
        return next(s for s in self.steps if s.step == name)


@dataclass(frozen=True)
class CycleGroup:
    """One group of cycle_times_by. Its drills select within `group_scope(scope, group.key)`."""

    key: dict  # {"service_line": "Cardiology", "month": date(2025, 3, 1)}
    funnel: dict  # step name -> count, as in metrics.funnel (received ... report_delivered)
    steps: tuple[StepTimes, ...]


def step_done(name: str, scope: Scope) -> pl.Expr:
    return reached(STEP_DONE[name], scope) & pl.col(f"{name}_gross").is_not_null()


def target_judged(kind: str, scope: Scope) -> pl.Expr:
    final = reached(TARGET_DONE[kind], scope) | ended(scope)
    return final & pl.col(f"{kind}_met").is_not_null()


def _aggregations(scope: Scope, *, targets_met: bool, funnel: bool) -> list[pl.Expr]:
    """Every number of the step table as one list of aggregations (one pass, any grouping)."""
    aggs: list[pl.Expr] = [pl.len().alias("received")]
    if funnel:
        aggs += [reached(col, scope).sum().alias(name) for name, _, col in FUNNEL_STEPS[1:]]
    for step in STEPS:
        done = step_done(step.name, scope)
        aggs.append(done.sum().alias(f"{step.name}:count"))
        for kind in ("gross", "net"):
            value = pl.when(done).then(pl.col(f"{step.name}_{kind}"))
            aggs.append(value.median().alias(f"{step.name}:{kind}_median"))
            p90 = value.quantile(P90, interpolation=QUANTILE)
            aggs.append(p90.alias(f"{step.name}:{kind}_p90"))
        kind = TARGET_OF_STEP.get(step.name)
        if targets_met and kind:
            judged = target_judged(kind, scope)
            aggs.append(judged.sum().alias(f"{step.name}:judged"))
            aggs.append((judged & pl.col(f"{kind}_met")).sum().alias(f"{step.name}:met"))
    return aggs


def _steps(row: dict, *, targets_met: bool) -> tuple[StepTimes, ...]:
    out = []
    for step in STEPS:
        kind = TARGET_OF_STEP.get(step.name, "") if targets_met else ""
        judged = int(row.get(f"{step.name}:judged") or 0)
        met = int(row.get(f"{step.name}:met") or 0)
        out.append(
            StepTimes(
                step=step.name,
                label=step.label,
                count=int(row[f"{step.name}:count"] or 0),
                gross_median=row[f"{step.name}:gross_median"],
                gross_p90=row[f"{step.name}:gross_p90"],
                net_median=row[f"{step.name}:net_median"],
                net_p90=row[f"{step.name}:net_p90"],
                target=kind,
                judged=judged,
                met=met,
                met_share=share(met, judged) if kind else None,
                drill=Drill("cycle.step", step.name),
                missed_drill=Drill("cycle.missed", kind) if kind else None,
            )
        )
    return tuple(out)


def cycle_times(facts: pl.DataFrame, scope: Scope, *, targets_met: bool = True) -> CycleTimes:
    row = (
        scope.cohort(facts)
        .lazy()
        .select(_aggregations(scope, targets_met=targets_met, funnel=False))
        .collect()
        .row(0, named=True)
    )
    return CycleTimes(steps=_steps(row, targets_met=targets_met))


def received_month(scope: Scope) -> pl.Expr:
    """The first day of the local month the referral was received in (23:30 on the 31st in New
    York is that month, though UTC is already the next day)."""
    local = pl.col("received_at").dt.convert_time_zone(str(scope.tz))
    return local.dt.truncate("1mo").dt.date().alias("month")


def cycle_frame(
    facts: pl.DataFrame | pl.LazyFrame, scope: Scope, *, by=("service_line", "month")
) -> pl.LazyFrame:
    """The grouped funnel counts and step percentiles as one lazy query (one group-by pass)."""
    lazy = scope.cohort(facts.lazy())
    if "month" in by:
        lazy = lazy.with_columns(received_month(scope))
    aggs = _aggregations(scope, targets_met=True, funnel=True)
    return lazy.group_by(list(by)).agg(aggs).sort(list(by))


def cycle_times_by(
    facts: pl.DataFrame, scope: Scope, *, by: tuple[str, ...] = ("service_line", "month")
) -> tuple[CycleGroup, ...]:
    table = cycle_frame(facts, scope, by=by).collect()
    funnel_names = [name for name, _, _ in FUNNEL_STEPS]
    return tuple(
        CycleGroup(
            key={k: row[k] for k in by},
            funnel={name: int(row[name] or 0) for name in funnel_names},
            steps=_steps(row, targets_met=True),
        )
        for row in table.iter_rows(named=True)
    )


def group_scope(scope: Scope, key: dict) -> Scope:
    """The scope narrowed to one group (same as_of, so the drill judges as the group did)."""
    narrowed = scope
    for column, value in key.items():
        if column == "month":
            narrowed = replace(narrowed, start=value, end=month_after(value))
        elif column in SCOPE_FILTERS:
            narrowed = replace(narrowed, **{SCOPE_FILTERS[column]: (value,)})
        else:
            raise ValueError(f"no filter for {column!r}: its group cannot be drilled into")
    return narrowed


@cohort("cycle.step")
def step_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """The cohort's referrals that finished step `arg` by as_of (the durations behind it)."""
    return scope.cohort(facts).filter(step_done(arg, scope))


@cohort("cycle.missed")
def missed_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """The cohort's referrals whose target of kind `arg` was judged missed by as_of."""
    return scope.cohort(facts).filter(target_judged(arg, scope) & ~pl.col(f"{arg}_met"))


def hours(seconds: float | None) -> float | None:
    """Seconds as hours (business hours for business-time clocks)."""
    return None if seconds is None else seconds / 3600
