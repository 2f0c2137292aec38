"""The funnel: how many referrals received in the period got to each step, and where the rest went.

Definitions (a practice manager's words)
----------------------------------------
- The cohort is the referrals *received* in the period (the scope's dates, in the practice's time
  zone) that match the dashboard's filters. Every number below is about that cohort.
- Everything is judged as of the scope's `as_of` (the end of the month for a closed month, now for
  the current one): a step counts only if it happened before then. So a month's funnel reads the
  same whether it is run on the 1st or the 20th of the next month, and an audited export gives
  the same numbers as the live app.
- Steps: **received**; **accepted** (the triage decision that stands is acceptance; a declined
  referral that was reconsidered and accepted counts here, not as declined); **scheduled** (a
  first appointment was booked); **seen** (the patient was seen); **report sent** (the consult
  report went back to the referrer); **report delivered** (the referrer's office or system
  confirmed it arrived).
- Conversion from step to step is that step's count over the step before; the overall conversion
  is **seen over received**: the share of referrals that became a visit.
- Where every referral stands (these add up to received, each referral in exactly one line):
  seen; declined (by reason); redirected (by reason); cancelled (by reason); no-show limit (a
  cancellation for too many missed appointments, shown on its own); still open; stale (still open
  and nothing has happened on it for `stale_after` business days: weekdays that are not US
  federal holidays, counted from the day of its last activity to the as-of day). A referral that
  ended some other way without a visit is counted as "ended otherwise" so the lines still add up.

The as-of cut needs the latest activity before `as_of`: it is `last_activity_at` when that is
earlier, otherwise the latest milestone time before `as_of` (the fact row keeps only the latest
event, so this is the best the facts can say). For the same reason a decline reconsidered after
`as_of` shows as still open at `as_of`, not as declined: the row keeps only the last decision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import holidays
import polars as pl

from refloop.analytics.cohorts import Drill, cohort
from refloop.analytics.scope import Scope

STALE_AFTER_BUSINESS_DAYS = 10  # two working weeks with nothing done

# (step, label, the time column that says the referral reached it)
FUNNEL_STEPS = (
    ("received", "Received", "received_at"),
    ("accepted", "Accepted", "accepted_at"),
    ("scheduled", "Scheduled", "booked_at"),
    ("seen", "Seen", "seen_at"),
    ("report_sent", "Report sent", "report_sent_at"),
    ("report_delivered", "Report delivered", "report_delivered_at"),
)
REACHED = {name: column for name, _, column in FUNNEL_STEPS}

# Times that are activity on a referral (appointment_at is a booked future time, not activity).
ACTIVITY_COLUMNS = (
    "received_at",
    "acknowledged_at",
    "accepted_at",
    "decided_at",
    "first_contact_at",
    "booked_at",
    "seen_at",
    "report_sent_at",
    "report_delivered_at",
    "records_complete_at",
)

ENDED_KINDS = ("declined", "redirected", "cancelled")
NO_SHOW_LIMIT = "no_show_limit"


# -- as-of helpers shared by the flow metrics --------------------------------------------------


def as_of_utc(scope: Scope) -> dt.datetime:
    return scope.as_of.astimezone(dt.UTC)


def reached(column: str, scope: Scope) -> pl.Expr:
    """The referral reached this time before the scope's as-of moment."""
    return pl.col(column).is_not_null() & (pl.col(column) < as_of_utc(scope))


def ended(scope: Scope) -> pl.Expr:
    return reached("ended_at", scope)


def last_activity(scope: Scope) -> pl.Expr:
    """The latest activity before as_of (see the module docstring)."""
    cut = as_of_utc(scope)
    before = [pl.when(pl.col(c) < cut).then(pl.col(c)) for c in ACTIVITY_COLUMNS]
    return (
        pl.when(pl.col("last_activity_at") < cut)
        .then(pl.col("last_activity_at"))
        .otherwise(pl.max_horizontal(before))
    )


@cache
def _closed_days(first_year: int, last_year: int) -> tuple[dt.date, ...]:
    # Observed US federal holidays, as the practice calendar keeps them.
    return tuple(sorted(holidays.US(observed=True, years=range(first_year, last_year + 1))))


def quiet_business_days(scope: Scope) -> pl.Expr:
    """Business days from the day of the last activity to the as-of day (local dates)."""
    as_of_day = scope.as_of.astimezone(scope.tz).date()
    since = last_activity(scope).dt.convert_time_zone(str(scope.tz)).dt.date()
    return pl.business_day_count(
        since, pl.lit(as_of_day), holidays=_closed_days(as_of_day.year - 5, as_of_day.year)
    )


def stale(scope: Scope, stale_after: int) -> pl.Expr:
    return quiet_business_days(scope) >= stale_after


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def humanize(code: str) -> str:
    return code.replace("_", " ").capitalize() if code else "No reason given"


# -- the funnel --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelStep:
    name: str
    label: str
    count: int
    from_previous: float | None  # this step's count over the step before (None for received)
    of_received: float | None
    drill: Drill


@dataclass(frozen=True)
class Outcome:
    kind: str  # seen, declined, redirected, cancelled, no_show_limit, still_open, stale, ...
    reason: str  # the coded reason for declined, redirected and cancelled; "" otherwise
    label: str
    count: int
    of_received: float | None
    drill: Drill


@dataclass(frozen=True)
class Funnel:
    received: int
    steps: tuple[FunnelStep, ...]
    overall: float | None  # seen / received
    outcomes: tuple[Outcome, ...]  # add up to received
    stale_after: int  # business days

    def step(self, name: str) -> FunnelStep:
        return next(s for s in self.steps if s.name == name)


def outcome_kind(scope: Scope, stale_after: int) -> pl.Expr:
    """Where each referral stands at as_of: exactly one kind per referral."""
    state = pl.col("state")
    return (
        pl.when(reached("seen_at", scope))
        .then(pl.lit("seen"))
        .when(ended(scope) & (state == "cancelled") & (pl.col("outcome_reason") == NO_SHOW_LIMIT))
        .then(pl.lit(NO_SHOW_LIMIT))
        .when(ended(scope) & state.is_in(ENDED_KINDS))
        .then(state)
        .when(ended(scope))
        .then(pl.lit("ended_otherwise"))
        .when(stale(scope, stale_after))
        .then(pl.lit("stale"))
        .otherwise(pl.lit("still_open"))
    )


def outcome_reason() -> pl.Expr:
    return (
        pl.when(pl.col("kind").is_in(ENDED_KINDS))
        .then(pl.col("outcome_reason").fill_null(""))
        .otherwise(pl.lit(""))
    )


OUTCOME_ORDER = ("seen", *ENDED_KINDS, NO_SHOW_LIMIT, "ended_otherwise", "still_open", "stale")
OUTCOME_LABELS = {
    "seen": "Seen",
    "declined": "Declined",
    "redirected": "Redirected",
    "cancelled": "Cancelled",
    NO_SHOW_LIMIT: "No-show limit reached",
    "ended_otherwise": "Ended otherwise, without a visit",
    "still_open": "Still open",
    "stale": "Stale (open, no activity)",
}


def funnel(
    facts: pl.DataFrame, scope: Scope, *, stale_after: int = STALE_AFTER_BUSINESS_DAYS
) -> Funnel:
    rows = scope.cohort(facts)
    received = rows.height
    counts = rows.select(
        pl.len().alias("received"),
        *(reached(column, scope).sum().alias(name) for name, _, column in FUNNEL_STEPS[1:]),
    ).row(0, named=True)
    steps, previous = [], None
    for name, label, _ in FUNNEL_STEPS:
        count = int(counts[name] or 0)
        steps.append(
            FunnelStep(
                name=name,
                label=label,
                count=count,
                from_previous=None if previous is None else share(count, previous),
                of_received=share(count, received),
                drill=Drill("funnel.step", name),
            )
        )
        previous = count
    return Funnel(
        received=received,
        steps=tuple(steps),
        overall=share(counts["seen"] or 0, received),
        outcomes=_outcomes(rows, scope, stale_after),
        stale_after=stale_after,
    )


def _outcomes(rows: pl.DataFrame, scope: Scope, stale_after: int) -> tuple[Outcome, ...]:
    table = (
        rows.lazy()
        .with_columns(kind=outcome_kind(scope, stale_after))
        .with_columns(reason=outcome_reason())
        .group_by("kind", "reason")
        .agg(count=pl.len())
        .collect()
    )
    order = {kind: n for n, kind in enumerate(OUTCOME_ORDER)}
    found = sorted(
        table.iter_rows(named=True),
        key=lambda r: (order[r["kind"]], -r["count"], r["reason"] or ""),
    )
    return tuple(
        Outcome(
            kind=r["kind"],
            reason=r["reason"],
            label=OUTCOME_LABELS[r["kind"]] + (f": {humanize(r['reason'])}" if r["reason"] else ""),
            count=r["count"],
            of_received=share(r["count"], rows.height),
            drill=Drill("funnel.outcome", f"{r['kind']}:{r['reason']}:{stale_after}"),
        )
        for r in found
    )


@cohort("funnel.step")
def step_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """The cohort's referrals that reached step `arg` by as_of."""
    return scope.cohort(facts).filter(reached(REACHED[arg], scope))


@cohort("funnel.outcome")
def outcome_rows(facts: pl.DataFrame, scope: Scope, arg: str) -> pl.DataFrame:
    """The cohort's referrals in one line of "where they went": arg is "kind:reason:stale_after"."""
    kind, reason, stale_after = arg.split(":")
    rows = scope.cohort(facts)
    return (
        rows.with_columns(kind=outcome_kind(scope, int(stale_after)))
        .with_columns(reason=outcome_reason())
        .filter((pl.col("kind") == kind) & (pl.col("reason") == reason))
        .select(rows.columns)
    )
