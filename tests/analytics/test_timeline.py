"""Business time over columns (core.calendar.Timeline) equals BusinessCalendar.seconds_between."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from refloop.core.calendar import AroundTheClock, BusinessCalendar

NY = ZoneInfo("America/New_York")
CLOSURES = frozenset({dt.date(2025, 2, 12), dt.date(2025, 12, 26), dt.date(2026, 3, 9)})
CALENDAR = BusinessCalendar(tz=NY, closures=CLOSURES)
UTC_TIME = pl.Datetime("us", "UTC")

# Moments near the interesting days: DST changes (2025-03-09, 2025-11-02, 2026-03-08), weekends,
# federal holidays (New Year, July 4th on a Friday, Thanksgiving, Christmas), the closures.
ANCHORS = [
    dt.datetime(2025, 3, 7, 12, tzinfo=NY),
    dt.datetime(2025, 11, 1, 12, tzinfo=NY),
    dt.datetime(2026, 3, 6, 12, tzinfo=NY),
    dt.datetime(2024, 12, 31, 12, tzinfo=NY),
    dt.datetime(2025, 7, 3, 12, tzinfo=NY),
    dt.datetime(2025, 11, 26, 12, tzinfo=NY),
    dt.datetime(2025, 12, 24, 12, tzinfo=NY),
    dt.datetime(2025, 2, 11, 12, tzinfo=NY),
]

moments = st.builds(
    lambda anchor, offset: anchor + dt.timedelta(microseconds=offset),
    st.sampled_from(ANCHORS),
    # Up to ten days either side, to the microsecond, with a bias to whole hours.
    st.one_of(
        st.integers(-10 * 86400 * 10**6, 10 * 86400 * 10**6),
        st.integers(-240, 240).map(lambda h: h * 3600 * 10**6),
    ),
)


def _column(times):
    return pl.Series([t and t.astimezone(dt.UTC) for t in times], dtype=UTC_TIME)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(moments, moments), min_size=1, max_size=40))
def test_it_counts_columns_as_the_calendar_counts_one_span(pairs):
    starts, ends = _column(p[0] for p in pairs), _column(p[1] for p in pairs)
    got = CALENDAR.seconds_between_columns(starts, ends).to_list()
    assert got == [CALENDAR.seconds_between(s, e) for s, e in pairs]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(moments, moments), min_size=1, max_size=20))
def test_it_counts_around_the_clock_as_elapsed_seconds(pairs):
    clock = AroundTheClock()
    starts, ends = _column(p[0] for p in pairs), _column(p[1] for p in pairs)
    got = clock.seconds_between_columns(starts, ends).to_list()
    assert got == [clock.seconds_between(s, e) for s, e in pairs]


def test_it_counts_over_the_spring_forward_night():
    # Friday 2025-03-07 16:00 EST to Monday 2025-03-10 09:00 EDT: one hour each side; the
    # Sunday's missing hour is outside business hours and must not shift the Monday window.
    start = dt.datetime(2025, 3, 7, 16, tzinfo=NY)
    end = dt.datetime(2025, 3, 10, 9, tzinfo=NY)
    assert CALENDAR.seconds_between_columns(_column([start]), _column([end])).to_list() == [7200]


def test_it_keeps_nulls_null_and_backwards_spans_zero():
    start = dt.datetime(2025, 3, 5, 10, tzinfo=NY)
    starts = _column([start, start, None])
    ends = _column([None, start - dt.timedelta(hours=3), start])
    assert CALENDAR.seconds_between_columns(starts, ends).to_list() == [None, 0, None]


def test_it_skips_a_closure_and_thanksgiving_in_one_column():
    starts = _column(
        [dt.datetime(2025, 2, 11, 16, tzinfo=NY), dt.datetime(2025, 11, 26, 16, tzinfo=NY)]
    )
    ends = _column(
        [dt.datetime(2025, 2, 13, 9, tzinfo=NY), dt.datetime(2025, 11, 28, 9, tzinfo=NY)]
    )
    # Each: an hour before closing, the closed day (closure; Thanksgiving) skipped, an hour after.
    assert CALENDAR.seconds_between_columns(starts, ends).to_list() == [7200, 7200]
