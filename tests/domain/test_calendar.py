"""The business calendar (core/calendar.py): hours, weekends, federal holidays, closures, DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refloop.core.calendar import AroundTheClock, BusinessCalendar, BusinessHours, practice_calendar
from refloop.core.models import Closure

NY = ZoneInfo("America/New_York")
HOUR = 3600
DAY_HOURS = 9 * HOUR  # 08:00-17:00


def at(year, month, day, hour=0, minute=0, second=0, micro=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=NY)


@pytest.fixture
def cal():
    return BusinessCalendar(tz=NY)


def test_it_counts_one_full_business_day(cal):
    assert cal.seconds_between(at(2026, 3, 3, 8), at(2026, 3, 3, 17)) == DAY_HOURS


def test_it_skips_the_weekend(cal):
    # Friday 16:00 to Monday 09:00: one hour on Friday, one on Monday.
    assert cal.seconds_between(at(2026, 3, 13, 16), at(2026, 3, 16, 9)) == 2 * HOUR


def test_it_skips_thanksgiving(cal):
    # Wednesday 16:00 to Friday 09:00 over Thanksgiving 2026-11-26.
    assert cal.seconds_between(at(2026, 11, 25, 16), at(2026, 11, 27, 9)) == 2 * HOUR
    assert not cal.is_business_day(dt.date(2026, 11, 26))


def test_it_keeps_july_fourth_on_the_observed_friday(cal):
    # 2026-07-04 is a Saturday: the holiday is observed on Friday the 3rd.
    assert not cal.is_business_day(dt.date(2026, 7, 3))
    assert cal.seconds_between(at(2026, 7, 2, 16), at(2026, 7, 6, 9)) == 2 * HOUR


def test_it_skips_a_closure(cal):
    closed = BusinessCalendar(tz=NY, closures=frozenset({dt.date(2026, 2, 11)}))
    span = (at(2026, 2, 10, 16), at(2026, 2, 12, 9))
    assert cal.seconds_between(*span) == 2 * HOUR + DAY_HOURS
    assert closed.seconds_between(*span) == 2 * HOUR


def test_it_reads_closures_from_the_database(db):
    Closure.objects.create(date=dt.date(2026, 2, 11), description="Snow day")
    assert not practice_calendar().is_business_day(dt.date(2026, 2, 11))
    assert practice_calendar().is_business_day(dt.date(2026, 2, 12))


def test_it_counts_nothing_before_opening_or_after_closing(cal):
    assert cal.seconds_between(at(2026, 3, 3, 6), at(2026, 3, 3, 7, 59)) == 0
    assert cal.seconds_between(at(2026, 3, 3, 17, 1), at(2026, 3, 3, 23)) == 0
    assert cal.seconds_between(at(2026, 3, 3, 6), at(2026, 3, 3, 9)) == HOUR
    assert cal.seconds_between(at(2026, 3, 3, 16), at(2026, 3, 3, 23)) == HOUR
    assert cal.seconds_between(at(2026, 3, 3, 12), at(2026, 3, 3, 11)) == 0


def test_it_adds_from_after_closing_to_the_next_business_morning(cal):
    # Friday evening + 1 hour is Monday 09:00; before Thanksgiving it skips the holiday.
    assert cal.add(at(2026, 3, 13, 18), HOUR) == at(2026, 3, 16, 9)
    assert cal.add(at(2026, 11, 25, 17), HOUR) == at(2026, 11, 27, 9)
    assert cal.add(at(2026, 3, 3, 5), 0) == at(2026, 3, 3, 8)


def test_it_is_not_fooled_by_daylight_saving_changes(cal):
    # DST starts Sunday 2026-03-08 and ends Sunday 2026-11-01: a weekend span stays two hours.
    assert cal.seconds_between(at(2026, 3, 6, 16), at(2026, 3, 9, 9)) == 2 * HOUR
    assert cal.seconds_between(at(2026, 10, 30, 16), at(2026, 11, 2, 9)) == 2 * HOUR
    assert cal.add(at(2026, 3, 6, 16), 2 * HOUR) == at(2026, 3, 9, 9)
    # The same span given in UTC gives the same answer.
    utc = dt.UTC
    assert (
        cal.seconds_between(at(2026, 3, 6, 16).astimezone(utc), at(2026, 3, 9, 9).astimezone(utc))
        == 2 * HOUR
    )


def test_it_counts_real_seconds_on_a_dst_day_whatever_the_time_zone_given():
    # A 24-hour practice: the day DST starts has 23 hours, the day it ends 25, however the
    # times are given (local or UTC).
    always = BusinessCalendar(
        tz=NY,
        hours=BusinessHours(
            opens=dt.time(0, 0), closes=dt.time(23, 0), weekdays=frozenset(range(7))
        ),
    )
    spring = (at(2026, 3, 8, 0), at(2026, 3, 8, 23))
    autumn = (at(2026, 11, 1, 0), at(2026, 11, 1, 23))
    for start, end in (spring, autumn):
        real = int((end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds())
        assert always.seconds_between(start, end) == real
        assert always.seconds_between(start.astimezone(dt.UTC), end.astimezone(dt.UTC)) == real
    assert always.seconds_between(*spring) == 22 * HOUR
    assert always.seconds_between(*autumn) == 24 * HOUR
    # Within one window too: 00:30 to 03:30 local on the spring day is two real hours.
    assert always.seconds_between(at(2026, 3, 8, 0, 30), at(2026, 3, 8, 3, 30)) == 2 * HOUR
    assert always.add(at(2026, 3, 8, 0, 30), 2 * HOUR) == at(2026, 3, 8, 3, 30)


def test_it_runs_stat_targets_around_the_clock():
    clock = AroundTheClock()
    # Friday 16:00 to Monday 09:00 is 65 hours, weekend or not.
    assert clock.seconds_between(at(2026, 3, 13, 16), at(2026, 3, 16, 9)) == 65 * HOUR
    assert clock.add(at(2026, 11, 25, 17), 24 * HOUR) == at(2026, 11, 26, 17)
    assert clock.seconds_between(at(2026, 3, 3, 12), at(2026, 3, 3, 11)) == 0


def test_it_runs_stat_targets_in_real_time_across_dst():
    clock = AroundTheClock()
    # Saturday noon to Sunday noon over the spring change is 23 real hours.
    assert clock.seconds_between(at(2026, 3, 7, 12), at(2026, 3, 8, 12)) == 23 * HOUR
    assert clock.add(at(2026, 3, 7, 12), 24 * HOUR) == at(2026, 3, 8, 13)


# Instants from 2025 to 2028, with microseconds, as the database hands them back (UTC) or local.
instants = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 1, 1), timezones=st.just(NY)
)
any_zone = st.sampled_from([NY, dt.UTC])


@settings(max_examples=200, deadline=None)
@given(start=instants, seconds=st.integers(0, 400 * HOUR), zone=any_zone)
def test_it_adds_into_business_hours_and_back(start, seconds, zone):
    cal = BusinessCalendar(tz=NY)
    start = start.astimezone(zone)
    end = cal.add(start, seconds)
    local = end.astimezone(NY)
    assert end >= start
    assert cal.is_business_day(local.date())
    assert dt.time(8, 0) <= local.time() <= dt.time(17, 0)
    assert cal.seconds_between(start, end) == seconds


@settings(max_examples=200, deadline=None)
@given(start=instants, end=instants)
def test_it_round_trips_seconds_between_through_add(start, end):
    cal = BusinessCalendar(tz=NY)
    seconds = cal.seconds_between(start, end)
    landed = cal.add(start, seconds)
    assert cal.seconds_between(start, landed) == seconds
    if seconds > 0:
        # The same business moment, reached no later than end (closing time beats next opening).
        # With no business time between them, add() gives the next opening, which may follow end.
        assert landed <= end
        assert cal.seconds_between(landed, end) == 0
