"""Pilot comparison: did a change (a new intake path, a service line's new process) make a
difference that is more than noise?

A pilot is a set of referrals (service lines, channels, referring practices; empty = all) from a
start date. It is compared either with its own baseline or with a comparison group:

- baseline: the same filters over the same number of days just before the pilot started;
- a comparison group: other filters over the pilot's own days.

The pilot period runs from its start to the day of `as_of` (whole local days), by the day each
referral was received. To be fair to the baseline, each group is observed for the same time
after its period: the baseline as it stood when the pilot started (as_of moved back by the
pilot's length), so its referrals have had no more time to be seen than the pilot's.

Metrics (each group's value, the pilot minus the comparison, its 95% interval, and a verdict)
-----------------------------------------------------------------------------------------
- Conversion: the share of the group's referrals seen (a visit) by its as_of.
- Acknowledged within target: of the referrals whose acknowledgement target was judged (met or
  missed; one acknowledged only after as_of was still running then and is left out), the share
  met.
- Median days to appointment: of the referrals with a visit booked by as_of, the median of
  calendar days from receipt to the visit.
- Report delivered within N days (default 30) of the visit: of the referrals seen at least N days
  before as_of, the share whose report reached the referrer within N days. Not CMS50.
- No-show rate (only when appointments are given): of the group's visits due by as_of with an
  outcome, the share missed.

Shares are compared by their difference with Newcombe's hybrid score interval; the median by a
percentile bootstrap of the difference of medians (2,000 resamples, fixed seed). The verdict is
"not distinguishable from noise" when the interval includes 0; otherwise "better in the pilot" or
"worse in the pilot" (fewer days and fewer no-shows are better); "too few to compare" when a group
has no case; "not measured" when the data cannot say.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.metrics.stats import NONE, Interval, median_difference, newcombe
from refloop.analytics.scope import Scope

DEFAULT_LOOP_DAYS = 30
NOISE = "not distinguishable from noise"
BETTER, WORSE = "better in the pilot", "worse in the pilot"
TOO_FEW, NOT_MEASURED = "too few to compare", "not measured"


@dataclass(frozen=True, kw_only=True)
class Group:
    """A comparison group's filters (empty = all)."""

    service_lines: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Pilot:
    starts: dt.date
    service_lines: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    comparison: str | Group = "baseline"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "share" (0..1) or "days"
    higher_is_better: bool
    pilot: float | None
    pilot_n: int  # the cases the pilot's value is over
    comparison: float | None
    comparison_n: int
    difference: Interval  # pilot - comparison, 95%
    verdict: str
    drill: Drill  # with pilot_scope or comparison_scope: the cases behind each value


@dataclass(frozen=True)
class PilotComparison:
    comparison_label: str  # "baseline" or "comparison group"
    pilot_scope: Scope  # drill: cohort "received" with this scope lists the pilot's referrals
    comparison_scope: Scope
    pilot_referrals: int
    comparison_referrals: int
    metrics: tuple[Metric, ...]

    def metric(self, key: str) -> Metric:
        return next(m for m in self.metrics if m.key == key)


def pilot_parse(raw: dict) -> Pilot:
    """A pilot as a practice writes it down (the REFLOOP_REVIEW_PILOT setting, the "pilot" of
    `refloop audit --program`): {"starts": "2026-06-01", "service_lines": [...], "channels":
    [...], "practices": [...], "comparison": "baseline" or {"service_lines": [...], ...}}.
    Raises ValueError naming what is wrong."""
    if not isinstance(raw, dict) or "starts" not in raw:
        raise ValueError('a pilot needs "starts" (YYYY-MM-DD) and its filters')
    unknown = set(raw) - {"starts", "service_lines", "channels", "practices", "comparison"}
    if unknown:
        raise ValueError(f"a pilot has no {', '.join(sorted(unknown))}")

    def names(data: dict, key: str) -> tuple[str, ...]:
        values = data.get(key) or ()
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            raise ValueError(f'a pilot\'s "{key}" is a list of names')
        return tuple(values)

    comparison = raw.get("comparison") or "baseline"
    if isinstance(comparison, dict):
        filters = ("service_lines", "channels", "practices")
        comparison = Group(**{key: names(comparison, key) for key in filters})
    elif comparison != "baseline":
        raise ValueError('a pilot\'s "comparison" is "baseline" or a group of filters')
    return Pilot(
        starts=dt.date.fromisoformat(str(raw["starts"])),
        service_lines=names(raw, "service_lines"),
        channels=names(raw, "channels"),
        practices=names(raw, "practices"),
        comparison=comparison,
    )


def pilot_scopes(pilot: Pilot, *, as_of: dt.datetime, tz: ZoneInfo) -> tuple[Scope, Scope]:
    """The pilot's scope and its comparison's (period, filters, the moment each is observed)."""
    end = as_of.astimezone(tz).date()
    filters = dict(
        service_lines=pilot.service_lines, channels=pilot.channels, practices=pilot.practices
    )
    mine = Scope(start=pilot.starts, end=end, as_of=as_of, tz=tz, **filters)
    if pilot.comparison == "baseline":
        length = end - pilot.starts
        # Wall-clock arithmetic in the practice's zone: a DST change does not shift as_of.
        then = as_of.astimezone(tz) - length
        other = Scope(start=pilot.starts - length, end=pilot.starts, as_of=then, tz=tz, **filters)
    elif isinstance(pilot.comparison, Group):
        group = pilot.comparison
        other = Scope(
            start=pilot.starts,
            end=end,
            as_of=as_of,
            tz=tz,
            service_lines=group.service_lines,
            channels=group.channels,
            practices=group.practices,
        )
    else:
        raise ValueError(f"a pilot compares with 'baseline' or a Group, not {pilot.comparison!r}")
    return mine, other


def pilot_compare(
    facts: pl.DataFrame,
    pilot: Pilot,
    *,
    as_of: dt.datetime,
    tz: ZoneInfo | None = None,
    appointments: pl.DataFrame | None = None,
    loop_days: int = DEFAULT_LOOP_DAYS,
) -> PilotComparison:
    """Each metric for the pilot and its comparison, with the difference's 95% interval."""
    tz = tz or as_of.tzinfo
    mine, other = pilot_scopes(pilot, as_of=as_of, tz=tz)
    if appointments is not None:  # the no-show cohort finds them there, as a drill-down would
        mine = replace(mine, extra={**mine.extra, "appointments": appointments})
        other = replace(other, extra={**other.extra, "appointments": appointments})
    delivered_label = f"Report delivered within {loop_days} days of the visit (not CMS50)"
    metrics = [
        _share(facts, mine, other, "conversion", "Seen (of referrals received)", seen_cases),
        _share(
            facts, mine, other, "acknowledged", "Referrer acknowledged within target", ack_cases
        ),
        _median(facts, mine, other),
        _share(facts, mine, other, "report_delivered", delivered_label, delivered_cases, loop_days),
    ]
    if appointments is None:  # an audit of a referral file: no visits to count
        metrics.append(_not_measured("no_show", "No-show rate", higher_is_better=False))
    else:
        no_show = ("no_show", "No-show rate", visit_cases)
        metrics.append(_share(facts, mine, other, *no_show, higher_is_better=False))
    return PilotComparison(
        comparison_label="baseline" if pilot.comparison == "baseline" else "comparison group",
        pilot_scope=mine,
        comparison_scope=other,
        pilot_referrals=mine.cohort(facts).height,
        comparison_referrals=other.cohort(facts).height,
        metrics=tuple(metrics),
    )


# Each metric's cases in a group, and which of them count (or the value, for the median). A
# page drills into a metric with its Drill and the group's scope (pilot_scope or
# comparison_scope): the cohort lists the cases' referrals, so the list and the count agree.


def _utc(scope: Scope) -> dt.datetime:
    return scope.as_of.astimezone(dt.UTC)


def _before(column: str, scope: Scope) -> pl.Expr:
    return pl.col(column).is_not_null() & (pl.col(column) < _utc(scope))


def seen_cases(facts: pl.DataFrame, scope: Scope, arg: str = "") -> tuple[pl.DataFrame, pl.Expr]:
    """Every referral of the group; it counts when seen by as_of."""
    return scope.cohort(facts), _before("seen_at", scope)


def ack_cases(facts: pl.DataFrame, scope: Scope, arg: str = "") -> tuple[pl.DataFrame, pl.Expr]:
    """Referrals whose acknowledgement target was judged by as_of; counts when met."""
    judged = scope.cohort(facts).filter(
        pl.col("acknowledge_met").is_not_null()
        & (pl.col("acknowledged_at").is_null() | (pl.col("acknowledged_at") < _utc(scope)))
    )
    return judged, pl.col("acknowledge_met")


def wait_cases(facts: pl.DataFrame, scope: Scope, arg: str = "") -> tuple[pl.DataFrame, pl.Expr]:
    """Referrals with a visit booked by as_of; the value is their days to appointment."""
    booked = scope.cohort(facts).filter(
        _before("booked_at", scope) & pl.col("days_to_appointment").is_not_null()
    )
    return booked, pl.col("days_to_appointment")


def delivered_cases(
    facts: pl.DataFrame, scope: Scope, arg: str = ""
) -> tuple[pl.DataFrame, pl.Expr]:
    """Referrals seen at least N days (arg) before as_of; counts when the report reached the
    referrer within N days of the visit."""
    span = dt.timedelta(days=int(arg or DEFAULT_LOOP_DAYS))
    seen = scope.cohort(facts).filter(
        pl.col("seen_at").is_not_null() & (pl.col("seen_at") <= _utc(scope) - span)
    )
    within = pl.col("report_delivered_at").is_not_null() & (
        pl.col("report_delivered_at") - pl.col("seen_at") <= span
    )
    return seen, within


def visit_cases(facts: pl.DataFrame, scope: Scope, arg: str = "") -> tuple[pl.DataFrame, pl.Expr]:
    """The group's visits due by as_of with an outcome (from scope.extra["appointments"]), one
    row per visit with its referral's facts; counts when missed."""
    appointments = scope.extra.get("appointments")
    if appointments is None:
        return facts.clear().with_columns(outcome=pl.lit("")), pl.lit(False)
    due = appointments.filter(
        pl.col("outcome").is_in(("attended", "no_show")) & (pl.col("starts_at") < _utc(scope))
    ).select("referral_id", "outcome")
    return scope.cohort(facts).join(due, on="referral_id"), pl.col("outcome") == "no_show"


def _register(name: str, cases) -> None:
    """The drill-down cohort of a metric: its cases in the group, one row per referral."""

    @cohort(name)
    def select(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
        rows, _ = cases(facts, scope, arg)
        return rows.select(facts.columns).unique("referral_id", maintain_order=True)


for _name, _cases in (
    ("conversion", seen_cases),
    ("acknowledged", ack_cases),
    ("days_to_appointment", wait_cases),
    ("report_delivered", delivered_cases),
    ("no_show", visit_cases),
):
    _register(f"pilot.{_name}", _cases)


# Comparing --------------------------------------------------------------------------------------


def _share(facts, mine, other, key, label, cases, arg="", *, higher_is_better=True) -> Metric:
    (x1, n1), (x2, n2) = (_count(*cases(facts, scope, str(arg))) for scope in (mine, other))
    difference = newcombe(x1, n1, x2, n2)
    return Metric(
        key=key,
        label=label,
        unit="share",
        higher_is_better=higher_is_better,
        pilot=x1 / n1 if n1 else None,
        pilot_n=n1,
        comparison=x2 / n2 if n2 else None,
        comparison_n=n2,
        difference=difference,
        verdict=verdict(difference, higher_is_better=higher_is_better),
        drill=Drill(f"pilot.{key}", str(arg)),
    )


def _not_measured(key: str, label: str, *, higher_is_better: bool) -> Metric:
    return Metric(
        key=key,
        label=label,
        unit="share",
        higher_is_better=higher_is_better,
        pilot=None,
        pilot_n=0,
        comparison=None,
        comparison_n=0,
        difference=NONE,
        verdict=NOT_MEASURED,
        drill=Drill(f"pilot.{key}"),
    )


def _count(rows: pl.DataFrame, counts: pl.Expr) -> tuple[int, int]:
    return rows.filter(counts.fill_null(False)).height, rows.height


def _median(facts, mine, other) -> Metric:
    first, second = (
        rows.select(value).to_series().to_list()
        for rows, value in (wait_cases(facts, mine), wait_cases(facts, other))
    )
    difference = median_difference(first, second)
    return Metric(
        key="days_to_appointment",
        label="Median days to appointment",
        unit="days",
        higher_is_better=False,
        pilot=pl.Series(first, dtype=pl.Float64).median() if first else None,
        pilot_n=len(first),
        comparison=pl.Series(second, dtype=pl.Float64).median() if second else None,
        comparison_n=len(second),
        difference=difference,
        verdict=verdict(difference, higher_is_better=False),
        drill=Drill("pilot.days_to_appointment"),
    )


def verdict(difference: Interval, *, higher_is_better: bool) -> str:
    """Plain words for a difference and its interval: noise unless the interval excludes 0."""
    if difference.estimate is None:
        return TOO_FEW
    if difference.spans_zero:
        return NOISE
    return BETTER if (difference.estimate > 0) == higher_is_better else WORSE
