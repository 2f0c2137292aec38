"""The business calendar: business hours, weekends, US federal holidays and practice closures.

Clocks measured in hours run on it (DESIGN.md, Clocks), except stat targets, which run around the
clock. Durations are computed day by day, so a span of a year costs a few hundred steps.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

HOUR = 3600


@dataclass(frozen=True)
class BusinessHours:
    opens: dt.time = dt.time(8, 0)
    closes: dt.time = dt.time(17, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday=0

    @property
    def seconds_per_day(self) -> int:
        return (
            self.closes.hour * 60 + self.closes.minute - self.opens.hour * 60 - self.opens.minute
        ) * 60


@dataclass
class BusinessCalendar:
    """Counts and adds business seconds. Aware datetimes in, aware datetimes out."""

    hours: BusinessHours = field(default_factory=BusinessHours)
    closures: frozenset[dt.date] = frozenset()
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(settings.TIME_ZONE))

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        # Observed federal holidays (a Saturday holiday is kept the Friday before, and so on).
        return holidays.US(observed=True)

    def is_business_day(self, day: dt.date) -> bool:
        return (
            day.weekday() in self.hours.weekdays
            and day not in self._holidays
            and day not in self.closures
        )

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        # In UTC: Python subtracts two datetimes of the same zone by wall clock, which is an
        # hour off across a DST change.
        return (
            dt.datetime.combine(day, self.hours.opens, self.tz).astimezone(dt.UTC),
            dt.datetime.combine(day, self.hours.closes, self.tz).astimezone(dt.UTC),
        )

    def seconds_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Business seconds from start to end (0 if end is not after start)."""
        if end <= start:
            return 0
        start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        # Exact timedelta sums, not floats: fractions of a second must not drift over a year.
        total = dt.timedelta(0)
        while day <= last:
            if self.is_business_day(day):
                opens, closes = self._window(day)
                overlap = min(closes, end) - max(opens, start)
                if overlap > dt.timedelta(0):
                    total += overlap
            day += dt.timedelta(days=1)
        return total // dt.timedelta(seconds=1)

    def add(self, start: dt.datetime, seconds: int) -> dt.datetime:
        """The moment when `seconds` business seconds have passed since start."""
        remaining = dt.timedelta(seconds=seconds)
        start = start.astimezone(dt.UTC)
        day = start.astimezone(self.tz).date()
        while True:
            if self.is_business_day(day):
                opens, closes = self._window(day)
                begin = max(opens, start)
                available = closes - begin
                if available > dt.timedelta(0):
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += dt.timedelta(days=1)


class AroundTheClock:
    """Stat targets run around the clock: plain elapsed seconds, same interface."""

    # In UTC, so that a local time given across a DST change counts real seconds.
    def seconds_between(self, start: dt.datetime, end: dt.datetime) -> int:
        return max(0, int((end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds()))

    def add(self, start: dt.datetime, seconds: int) -> dt.datetime:
        return start.astimezone(dt.UTC) + dt.timedelta(seconds=seconds)


def practice_calendar() -> BusinessCalendar:
    """The practice's calendar, with the closures admins entered."""
    from refloop.core.models import Closure

    return BusinessCalendar(closures=frozenset(Closure.objects.values_list("date", flat=True)))


def calendar_memoized(calendar: BusinessCalendar) -> BusinessCalendar:
    """The same calendar and rules, with its per-day answers remembered: a bulk load asks about
    the same few hundred days a million times."""
    calendar.is_business_day = functools.cache(calendar.is_business_day)
    calendar._window = functools.cache(calendar._window)
    return calendar
