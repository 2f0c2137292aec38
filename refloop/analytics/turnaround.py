"""Expected turnaround of a service line, as its provider page, service sheet and referral packet
tell referring clinicians, and whether its access is honest enough to be promoted.

Definitions
-----------
- Window: the referrals of the line received in the last WINDOW_DAYS (90) local days: as_of's
  own day and the 89 before it, from midnight in the practice's time zone.
- Priority: routine only. The page answers "how soon will a routine referral of mine be seen";
  urgent and stat referrals take the urgent pathway, and stat clocks run around the clock, so
  pooling them would mix two measures. The target is therefore the line's ResponseTarget of kind
  `appointment` (TargetKind.APPOINTMENT, calendar days) for priority `routine` (Priority.ROUTINE).
- Acknowledgement: metrics.cycle's "acknowledged" step, gross: business hours (the practice
  calendar) from receipt to the referrer being told we have it, median (linear), over the
  window's referrals acknowledged by as_of. Gross, because the referrer waits all of it.
- Days to appointment: metrics.access's waits for the line: calendar days from receipt to the
  visit (the attended one, else the latest one booked), median (linear), over the window's
  referrals with a visit booked.
- n: the referrals behind each figure. Below MIN_REFERRALS (20) a figure is "not enough data":
  `enough` is False and pages show no number (the median is kept for staff pages).
- Over target: the median days to appointment is greater than the routine appointment target.
  None when there is not enough data or the line has no such target (nothing is claimed).
- Access held (`line_access_held`): over target is True. Provider pages then say plainly that
  waits are longer than the target, and campaigns promoting the line are held until a manager
  decides.

Nothing is computed here twice: the numbers are the cycle-time and access metrics' own, on the
fact table read through analytics.queries.facts_frame.

Caching: public pages are hit often and a read covers 90 days of every line's facts, so the
current figures (as_of=None) of every line are computed in one pass and kept in Django's cache
for CACHE_SECONDS (five minutes). A page's figures may therefore lag the fact table (itself
refreshed by the scheduler) by up to five minutes. A call with an explicit as_of is never cached.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from refloop.analytics.metrics.access import waits
from refloop.analytics.metrics.cycle import cycle_times_by, hours
from refloop.analytics.queries import facts_frame
from refloop.analytics.scope import Scope
from refloop.directory.models import ResponseTarget, ServiceLine

WINDOW_DAYS = 90
MIN_REFERRALS = 20
PRIORITY = "routine"  # directory.enums.Priority.ROUTINE (see the docstring)
TARGET_KIND = "appointment"  # directory.enums.TargetKind.APPOINTMENT, in calendar days
CACHE_KEY = "refloop:analytics:turnaround:v1"
CACHE_SECONDS = 300
NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class LineTurnaround:
    service_line: str  # the line's name, as the fact table names it
    as_of: dt.datetime
    window_start: dt.date  # first local day of the window
    window_end: dt.date  # last local day of the window (as_of's day)
    acknowledgement_hours: float | None  # median, business hours
    acknowledgement_n: int
    acknowledgement_enough: bool
    days_to_appointment: float | None  # median, calendar days
    days_to_appointment_n: int
    days_to_appointment_enough: bool
    target_days: int | None  # routine appointment target; None: the line has none
    over_target: bool | None  # None: not enough data or no target
    window_days: int = WINDOW_DAYS
    priority: str = PRIORITY
    min_referrals: int = MIN_REFERRALS


def window_scope(*, as_of: dt.datetime, tz: ZoneInfo) -> Scope:
    """The routine referrals received in the WINDOW_DAYS local days ending on as_of's day."""
    last = timezone.localtime(as_of, tz).date()
    return Scope(
        start=last - dt.timedelta(days=WINDOW_DAYS - 1),
        end=last + dt.timedelta(days=1),
        as_of=as_of,
        tz=tz,
        priorities=(PRIORITY,),
    )


def turnaround_by_line(
    facts: pl.DataFrame, *, as_of: dt.datetime, tz: ZoneInfo, targets: dict[str, int]
) -> dict[str, LineTurnaround]:
    """Every line's turnaround (module docstring) from a fact frame, in one pass per metric.
    `targets`: line name -> routine appointment target in days. Lines named in `targets` are
    always in the result (with n = 0 when they had no referral in the window)."""
    scope = window_scope(as_of=as_of, tz=tz)
    acknowledged = {
        group.key["service_line"]: group.steps
        for group in cycle_times_by(facts, scope, by=("service_line",))
    }
    booked = {w.service_line: w for w in waits(facts, scope) if w.service_line and not w.visit_type}
    result = {}
    for line in sorted(set(acknowledged) | set(booked) | set(targets)):
        step = next((s for s in acknowledged.get(line, ()) if s.step == "acknowledged"), None)
        wait = booked.get(line)
        ack_n = step.count if step else 0
        wait_n = wait.appointments if wait else 0
        median_days = wait.median_days if wait else None
        target = targets.get(line)
        enough = wait_n >= MIN_REFERRALS
        result[line] = LineTurnaround(
            service_line=line,
            as_of=as_of,
            window_start=scope.start,
            window_end=scope.end - dt.timedelta(days=1),
            acknowledgement_hours=hours(step.gross_median) if ack_n else None,
            acknowledgement_n=ack_n,
            acknowledgement_enough=ack_n >= MIN_REFERRALS,
            days_to_appointment=median_days,
            days_to_appointment_n=wait_n,
            days_to_appointment_enough=enough,
            target_days=target,
            over_target=(median_days > target) if (enough and target is not None) else None,
        )
    return result


def line_turnaround(*, service_line, as_of: dt.datetime | None = None) -> LineTurnaround:
    """The line's turnaround over the last 90 days (module docstring). `service_line`: a
    directory ServiceLine. Current figures (as_of=None) come from the cache, see above."""
    table = _current() if as_of is None else _computed(as_of)
    found = table.get(service_line.name)
    if found is None:  # a line made after the cached figures: nothing measured yet
        found = _computed(as_of or timezone.now(), lines=[service_line])[service_line.name]
    return found


def line_access_held(*, service_line) -> bool:
    """True when the line's measured median days to appointment exceed its routine target
    (enough data and a target needed): its pages say so, campaigns promoting it are held."""
    return line_turnaround(service_line=service_line).over_target is True


def turnaround_all() -> dict[str, LineTurnaround]:
    """Every line's current turnaround by line name (the cached table)."""
    return _current()


def _current() -> dict[str, LineTurnaround]:
    table = cache.get(CACHE_KEY)
    if table is None:
        table = _computed(timezone.now())
        cache.set(CACHE_KEY, table, CACHE_SECONDS)
    return table


def _computed(as_of: dt.datetime, *, lines=None) -> dict[str, LineTurnaround]:
    tz = ZoneInfo(settings.TIME_ZONE)
    scope = window_scope(as_of=as_of, tz=tz)
    facts = facts_frame(received_since=scope.start)
    return turnaround_by_line(facts, as_of=as_of, tz=tz, targets=_targets(lines))


def _targets(lines=None) -> dict[str, int | None]:
    """Line name -> routine appointment target (days), None for a line without one."""
    # Every line, inactive ones too: a campaign may still name a line that stopped taking
    # referrals, and its figures are judged against its own target.
    chosen = lines if lines is not None else ServiceLine.objects.only("id", "name")
    names = {line.pk: line.name for line in chosen}
    targets = dict.fromkeys(names.values())
    rows = ResponseTarget.objects.filter(
        service_line__in=list(names), priority=PRIORITY, kind=TARGET_KIND
    ).values_list("service_line_id", "amount")
    for line_id, amount in rows:
        targets[names[line_id]] = amount
    return targets
