"""The business calendar: business hours, weekends, US federal holidays and practice closures.

Clocks measured in hours run on it (DESIGN.md, Clocks), except stat targets, which run around the
clock. Durations are computed day by day, so a span of a year costs a few hundred steps.

For columns of times (the fact table: a million referrals, a dozen spans each) `Timeline` unrolls
the calendar over the days the times touch and answers in Polars without a Python loop per row:
the business time before a moment is the business time of the whole days before its local day
plus the part of that day's window already passed, and a span is the difference of two such
readings. The answers equal `seconds_between` exactly (a property test holds them together).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays
import polars as pl
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

    def timeline(self, first: dt.date, last: dt.date) -> Timeline:
        """This calendar unrolled over the local days first..last, for columns of times."""
        return _timeline(self, first, last)

    def seconds_between_columns(self, start: pl.Series, end: pl.Series) -> pl.Series:
        """`seconds_between` for columns of UTC times, row by row (null where either is)."""
        return timeline_for(self, start, end).seconds_between(start, end)

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

    def seconds_between_columns(self, start: pl.Series, end: pl.Series) -> pl.Series:
        return span_seconds(micros(end) - micros(start))


# Columns of times ------------------------------------------------------------------------------

MICRO = 1_000_000
UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def micros(times: pl.Series) -> pl.Series:
    """UTC datetimes (naive ones are taken as UTC) as integer microseconds since the epoch."""
    if times.dtype == pl.Int64:
        return times
    if times.dtype == pl.Null:
        return times.cast(pl.Int64)
    if getattr(times.dtype, "time_zone", None) is None:
        times = times.dt.replace_time_zone("UTC")
    return times.dt.convert_time_zone("UTC").dt.cast_time_unit("us").cast(pl.Int64)


@dataclass(frozen=True)
class Timeline:
    """A business calendar unrolled over a range of local days, for columns of times.

    `position(t)` is the business time (microseconds) from the start of the first day to t: the
    same measure as `seconds_between`, as a coordinate, so that any span, overlap or sum of spans
    is a difference of two positions. Around the clock (`elapsed`) the position is t itself."""

    elapsed: bool
    midnights: pl.Series  # each day's local midnight, UTC microseconds; one past the last day
    opens: pl.Series  # each day's opening, UTC microseconds
    lengths: pl.Series  # each day's business microseconds (0 when closed)
    before: pl.Series  # business microseconds of the days before it

    def position(self, times: pl.Series) -> pl.Series:
        t = micros(times)
        if self.elapsed:
            return t
        day = (self.midnights.search_sorted(t, side="right").cast(pl.Int64) - 1).clip(
            0, len(self.opens) - 1
        )
        into = (t - self.opens.gather(day)).clip(0, None)
        reading = (
            self.before.gather(day)
            + pl.select(pl.min_horizontal(into, self.lengths.gather(day))).to_series()
        )
        return pl.select(pl.when(t.is_not_null()).then(reading)).to_series().alias(times.name)

    def seconds_between(self, start: pl.Series, end: pl.Series) -> pl.Series:
        """Whole seconds from start to end (0 if end is not after start; null if either is)."""
        return span_seconds(self.position(end) - self.position(start))


def span_seconds(microseconds: pl.Series | pl.Expr):
    """A span in microseconds of position as whole seconds, floored, never negative."""
    return (microseconds // MICRO).clip(0, None)


def timeline_for(measure: BusinessCalendar | AroundTheClock, *columns: pl.Series) -> Timeline:
    """The measure's timeline over the local days the columns touch (at least one day)."""
    if isinstance(measure, AroundTheClock):
        empty = pl.Series(dtype=pl.Int64)
        return Timeline(True, empty, empty, empty, empty)
    stacked = pl.concat([micros(c).rename("t") for c in columns]) if columns else None
    low = stacked.min() if stacked is not None else None
    high = stacked.max() if stacked is not None else None
    first = _local_day(measure, low) if low is not None else dt.date(2000, 1, 1)
    last = _local_day(measure, high) if high is not None else first
    return measure.timeline(first, last)


def _local_day(calendar: BusinessCalendar, micro: int) -> dt.date:
    return (UTC_EPOCH + dt.timedelta(microseconds=micro)).astimezone(calendar.tz).date()


def _timeline(calendar: BusinessCalendar, first: dt.date, last: dt.date) -> Timeline:
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 2)]
    midnights, opens, lengths, before, total = [], [], [], [], 0
    for day in days:
        midnight = dt.datetime.combine(day, dt.time.min, calendar.tz).astimezone(dt.UTC)
        opening, closing = calendar._window(day)
        length = (closing - opening) // dt.timedelta(microseconds=1)
        length = length if calendar.is_business_day(day) else 0
        midnights.append((midnight - UTC_EPOCH) // dt.timedelta(microseconds=1))
        opens.append((opening - UTC_EPOCH) // dt.timedelta(microseconds=1))
        lengths.append(length)
        before.append(total)
        total += length
    # The extra day past `last` only closes the last midnight interval.
    return Timeline(
        False,
        pl.Series(midnights, dtype=pl.Int64),
        pl.Series(opens[:-1], dtype=pl.Int64),
        pl.Series(lengths[:-1], dtype=pl.Int64),
        pl.Series(before[:-1], dtype=pl.Int64),
    )


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
