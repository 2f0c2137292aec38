"""A service line's turnaround for referring clinicians, worked by hand: the 90-day window, the
20-referral floor, the routine appointment target, the cache."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from refloop.analytics import turnaround as ta
from refloop.analytics.turnaround import line_access_held, line_turnaround, turnaround_by_line
from refloop.directory.models import ResponseTarget
from tests import factories
from tests.analytics.factories import NEW_YORK, at, facts
from tests.analytics.stored_facts import HOUR, facts_stored

AS_OF = at("2025-06-11 15:00")  # the window is 2025-03-14 .. 2025-06-11, New York days


def booked(n: int, *, days=10.0, line="Cardiology", received="2025-05-01 10:00", **extra):
    """n routine referrals received at `received`, acknowledged after 2 business hours, with a
    visit `days` (a number, or a list of n) after receipt."""
    each = days if isinstance(days, list) else [days] * n
    return [
        {
            "service_line": line,
            "received_at": received,
            "acknowledged_at": "2025-05-01 12:00",
            "acknowledged_gross": 2 * HOUR,
            "acknowledged_net": 2 * HOUR,
            "appointment_at": "2025-05-20 09:00",
            "days_to_appointment": each[i],
            **extra,
        }
        for i in range(n)
    ]


def figures(rows, *, targets=None, as_of=AS_OF):
    table = turnaround_by_line(
        facts(*rows), as_of=as_of, tz=NEW_YORK, targets=targets or {"Cardiology": 14}
    )
    return table["Cardiology"]


def test_it_says_not_enough_data_below_twenty_referrals():
    nineteen = figures(booked(19, days=30.0))
    assert nineteen.days_to_appointment_n == 19
    assert not nineteen.days_to_appointment_enough
    assert nineteen.acknowledgement_n == 19 and not nineteen.acknowledgement_enough
    # 30 days is over the 14-day target, but 19 referrals claim nothing either way.
    assert nineteen.over_target is None

    twenty = figures(booked(20, days=30.0))
    assert twenty.days_to_appointment_n == 20 and twenty.days_to_appointment_enough
    assert twenty.acknowledgement_n == 20 and twenty.acknowledgement_enough
    assert twenty.acknowledgement_hours == 2.0
    assert twenty.over_target is True


def test_it_compares_the_median_with_the_routine_target():
    # Days 10, 11, ... 29: the median of 20 values is between the 10th and 11th, (19 + 20) / 2.
    rows = booked(20, days=[float(d) for d in range(10, 30)])
    assert figures(rows, targets={"Cardiology": 19}).days_to_appointment == 19.5
    assert figures(rows, targets={"Cardiology": 19}).over_target is True
    assert figures(rows, targets={"Cardiology": 20}).over_target is False
    # Exactly at the target is within it.
    even = booked(21, days=[float(d) for d in range(10, 31)])  # median 20
    assert figures(even, targets={"Cardiology": 20}).over_target is False
    # No target for the line: nothing is claimed.
    assert figures(rows, targets={"Cardiology": None}).over_target is None


def test_it_counts_the_ninety_local_days_ending_today():
    # The window's first day is 2025-03-14 (June 11 and the 89 days before it), from midnight
    # in New York.
    inside = booked(20, received="2025-03-14 00:00")
    before = booked(5, received="2025-03-13 23:59", days=90.0)
    result = figures(inside + before)
    assert result.window_start == dt.date(2025, 3, 14)
    assert result.window_end == dt.date(2025, 6, 11)
    assert result.days_to_appointment_n == 20
    assert result.days_to_appointment == 10.0
    # One day later the first day has left the window.
    later = figures(inside + before, as_of=at("2025-06-12 08:00"))
    assert later.days_to_appointment_n == 0 and later.over_target is None


def test_it_counts_only_routine_referrals_of_the_line_and_acknowledgements_made_by_as_of():
    rows = booked(20, days=20.0)
    rows += booked(10, days=2.0, priority="urgent")
    rows += booked(10, days=99.0, line="Dermatology")
    late = booked(3, days=20.0)
    for row in late:  # acknowledged after as_of: not yet counted
        row["acknowledged_at"] = "2025-06-12 09:00"
    result = figures(rows + late)
    assert result.days_to_appointment_n == 23
    assert result.days_to_appointment == 20.0
    assert result.acknowledgement_n == 20


def test_it_lists_a_line_with_no_referrals_as_not_measured():
    result = figures([], targets={"Cardiology": 14})
    assert result.days_to_appointment_n == 0 and result.acknowledgement_n == 0
    assert result.days_to_appointment is None and result.acknowledgement_hours is None
    assert result.over_target is None and result.target_days == 14


# In the app: the fact table, the line's targets, the cache -------------------------------------


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_it_reads_the_line_from_the_fact_table_and_its_routine_target(line):
    facts_stored(line, 20, days=35.0)  # the factory's routine appointment target is 30 days
    result = line_turnaround(service_line=line)
    assert result.service_line == "Orthopedics"
    assert (result.days_to_appointment_n, result.days_to_appointment) == (20, 35.0)
    assert (result.acknowledgement_n, result.acknowledgement_hours) == (20, 3.0)
    assert result.target_days == 30 and result.over_target is True
    assert line_access_held(service_line=line) is True


@pytest.mark.django_db
def test_it_keeps_the_current_figures_for_a_few_minutes(line):
    facts_stored(line, 20, days=12.0)
    assert line_access_held(service_line=line) is False
    ResponseTarget.objects.filter(service_line=line, priority="routine", kind="appointment").update(
        amount=10
    )
    # Still the cached figures; a given as_of always computes afresh.
    assert line_access_held(service_line=line) is False
    assert line_turnaround(service_line=line, as_of=timezone.now()).over_target is True
    cache.delete(ta.CACHE_KEY)  # five minutes later
    assert line_access_held(service_line=line) is True


@pytest.mark.django_db
def test_it_measures_a_new_line_not_in_the_cached_table(line):
    assert line_turnaround(service_line=line).days_to_appointment_n == 0
    other = factories.service_line(code="cardiology", name="Cardiology")
    facts_stored(other, 20, days=40.0)
    assert line_turnaround(service_line=other).over_target is True
