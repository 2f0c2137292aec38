"""The monthly review's headline numbers: this month, last month, the target, and which way.

Definitions (each number is about the referrals received in the month, judged as of its as-of
moment; see metrics.funnel):
- **Referrals received**: how many arrived.
- **Patients seen**: of those, how many were seen.
- **Conversion**: seen over received.
- **Median days to appointment**: calendar days from receipt to the appointment, median of the
  referrals booked by as_of (linear interpolation, as in metrics.cycle).
- **Referrer acknowledged within target**: of the referrals whose acknowledgement target was
  judged, the share that met it.
- **Report sent within target**: the same for the report-back target (visit to report sent).
- **Report delivered within N days** (not CMS50): see metrics.loop_closure.loop_closed_within.

Each number carries last month's value (the same filters over the month before, judged as of its
own end), the target if one is given (`targets[key]`), whether higher or lower is better, the
change ("up", "down", "same"; "" when a month has no value), whether that change is an
improvement, and whether this month meets the target (at or beyond it in the better direction).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from refloop.analytics.cohorts import Drill
from refloop.analytics.metrics.cycle import cycle_times
from refloop.analytics.metrics.funnel import funnel, reached
from refloop.analytics.metrics.loop_closure import loop_closed_within
from refloop.analytics.scope import Scope

REPORT_WITHIN_DAYS = 14

# key, label, unit, better
HEADLINE_NUMBERS = (
    ("received", "Referrals received", "count", "higher"),
    ("seen", "Patients seen", "count", "higher"),
    ("conversion", "Conversion (seen / received)", "share", "higher"),
    ("days_to_appointment", "Median days to appointment", "days", "lower"),
    ("acknowledged_within_target", "Referrer acknowledged within target", "share", "higher"),
    ("report_within_target", "Report sent within target", "share", "higher"),
    (
        "report_delivered_within",
        "Report delivered within {days} days (not CMS50)",
        "share",
        "higher",
    ),
)


@dataclass(frozen=True)
class HeadlineNumber:
    key: str
    label: str
    unit: str  # count, share (0..1) or days
    this_month: float | None
    last_month: float | None
    target: float | None
    better: str  # "higher" or "lower"
    change: str  # "up", "down", "same", or "" when a month has no value
    improved: bool | None  # the change went the better way (None when unchanged or unknown)
    on_target: bool | None  # None when no target or no value
    drill: Drill | None


@dataclass(frozen=True)
class Headline:
    scope: Scope
    previous: Scope
    numbers: tuple[HeadlineNumber, ...]

    def number(self, key: str) -> HeadlineNumber:
        return next(n for n in self.numbers if n.key == key)


def headline_values(
    facts: pl.DataFrame, scope: Scope, *, report_days: int = REPORT_WITHIN_DAYS
) -> dict[str, tuple[float | None, Drill | None]]:
    """Each headline number of one month, with the drill behind it."""
    flow = funnel(facts, scope)
    clocks = cycle_times(facts, scope)
    loop = loop_closed_within(facts, scope, days=report_days)
    seen, scheduled = flow.step("seen"), flow.step("scheduled")
    ack, report = clocks.step("acknowledged"), clocks.step("report_sent")
    return {
        "received": (flow.received, Drill("funnel.step", "received")),
        "seen": (seen.count, seen.drill),
        "conversion": (flow.overall, seen.drill),
        "days_to_appointment": (_median_days_to_appointment(facts, scope), scheduled.drill),
        "acknowledged_within_target": (ack.met_share, ack.missed_drill),
        "report_within_target": (report.met_share, report.missed_drill),
        "report_delivered_within": (loop.rate, loop.drill),
    }


def _median_days_to_appointment(facts: pl.DataFrame, scope: Scope) -> float | None:
    booked = scope.cohort(facts).filter(reached("booked_at", scope))
    return booked.select(pl.col("days_to_appointment").median()).item()


def _change(this: float | None, last: float | None) -> str:
    if this is None or last is None:
        return ""
    return "up" if this > last else "down" if this < last else "same"


def _improved(change: str, better: str) -> bool | None:
    if change in ("", "same"):
        return None
    return (change == "up") == (better == "higher")


def _on_target(value: float | None, target: float | None, better: str) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target if better == "higher" else value <= target


def headline(
    facts: pl.DataFrame,
    scope: Scope,
    *,
    previous: Scope,
    targets: dict,
    report_days: int = REPORT_WITHIN_DAYS,
) -> Headline:
    now = headline_values(facts, scope, report_days=report_days)
    before = headline_values(facts, previous, report_days=report_days)
    numbers = []
    for key, label, unit, better in HEADLINE_NUMBERS:
        value, drill = now[key]
        change = _change(value, before[key][0])
        numbers.append(
            HeadlineNumber(
                key=key,
                label=label.format(days=report_days),
                unit=unit,
                this_month=value,
                last_month=before[key][0],
                target=targets.get(key),
                better=better,
                change=change,
                improved=_improved(change, better),
                on_target=_on_target(value, targets.get(key), better),
                drill=drill,
            )
        )
    return Headline(scope=scope, previous=previous, numbers=tuple(numbers))
