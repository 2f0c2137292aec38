"""Pilot comparison on hand-built referrals.

The pilot is Cardiology from November 1 2025, looked at on December 1 00:00 New York: its period
is November 1-30 (30 days). Its baseline is October 2-31 (the 30 days before), looked at as it
stood on November 1 00:00 (as_of moved back 30 days), so both had the same time to be seen.
"""

import datetime as dt

import polars as pl
import pytest

from refloop.analytics.cohorts import Drill, cohort_select
from refloop.analytics.metrics.access import APPOINTMENT_SCHEMA
from refloop.analytics.metrics.pilot import (
    BETTER,
    NOISE,
    NOT_MEASURED,
    TOO_FEW,
    WORSE,
    Group,
    Pilot,
    pilot_compare,
    pilot_scopes,
    verdict,
)
from refloop.analytics.metrics.stats import Interval, newcombe
from tests.analytics.factories import NEW_YORK, at, facts

AS_OF = dt.datetime(2025, 12, 1, tzinfo=NEW_YORK)
PILOT = Pilot(service_lines=("Cardiology",), starts=dt.date(2025, 11, 1))


def referral(received, **columns):
    return {"service_line": "Cardiology", "received_at": received, **columns}


def test_it_compares_with_the_same_days_just_before_seen_as_of_the_pilots_start():
    mine, baseline = pilot_scopes(PILOT, as_of=AS_OF, tz=NEW_YORK)
    assert (mine.start, mine.end) == (dt.date(2025, 11, 1), dt.date(2025, 12, 1))
    assert (baseline.start, baseline.end) == (dt.date(2025, 10, 2), dt.date(2025, 11, 1))
    # November 1 00:00 local (EDT), not 23:00 on October 31: DST ended on November 2.
    assert baseline.as_of == dt.datetime(2025, 11, 1, tzinfo=NEW_YORK)
    _, same = pilot_scopes(PILOT, as_of=AS_OF.astimezone(dt.UTC), tz=NEW_YORK)
    assert same.as_of.astimezone(dt.UTC) == at("2025-11-01 00:00")
    assert baseline.service_lines == ("Cardiology",)


def test_it_gives_each_group_the_same_time_to_be_seen():
    rows = facts(
        # Pilot: 8 of 10 seen by December 1.
        *(referral("2025-11-03 09:00", seen_at="2025-11-20 09:00") for _ in range(8)),
        *(referral("2025-11-04 09:00") for _ in range(2)),
        # Baseline: 5 of 10 seen by November 1; one more seen November 15, after the baseline's
        # as_of (the pilot's referrals had no such extra time), so it does not count.
        *(referral("2025-10-03 09:00", seen_at="2025-10-20 09:00") for _ in range(5)),
        referral("2025-10-03 09:00", seen_at="2025-11-15 09:00"),
        *(referral("2025-10-04 09:00") for _ in range(4)),
        # Neither: another line in the pilot's days; October 1 is before the baseline.
        referral("2025-11-03 09:00", service_line="Dermatology"),
        referral("2025-10-01 09:00"),
    )
    result = pilot_compare(rows, PILOT, as_of=AS_OF)
    assert (result.pilot_referrals, result.comparison_referrals) == (10, 10)
    conversion = result.metric("conversion")
    assert (conversion.pilot, conversion.comparison) == (0.8, 0.5)
    assert (conversion.pilot_n, conversion.comparison_n) == (10, 10)
    # 0.8 - 0.5 = 0.3 with Newcombe's interval (-0.11 to 0.62 for 8/10 vs 5/10): it spans 0.
    assert conversion.difference == newcombe(8, 10, 5, 10)
    assert conversion.difference.low < 0 < conversion.difference.high
    assert conversion.verdict == NOISE
    # Each value drills to its cases with the group's scope: 10 referrals on each side.
    assert conversion.drill == Drill("pilot.conversion")
    assert cohort_select(rows, result.pilot_scope, conversion.drill).height == 10
    assert cohort_select(rows, result.comparison_scope, conversion.drill).height == 10


def test_it_calls_a_large_enough_difference_better():
    # 80 of 100 against 50 of 100: Newcombe's interval is about 0.17 to 0.42, above 0.
    rows = facts(
        *(referral("2025-11-03 09:00", seen_at="2025-11-20 09:00") for _ in range(80)),
        *(referral("2025-11-03 09:00") for _ in range(20)),
        *(referral("2025-10-03 09:00", seen_at="2025-10-20 09:00") for _ in range(50)),
        *(referral("2025-10-03 09:00") for _ in range(50)),
    )
    conversion = pilot_compare(rows, PILOT, as_of=AS_OF).metric("conversion")
    assert conversion.difference.low > 0 and conversion.verdict == BETTER


def test_it_compares_median_days_to_appointment_fewer_is_better():
    rows = facts(
        *(referral("2025-11-03 09:00", booked_at="2025-11-05 09:00", days_to_appointment=d)
          for d in (10, 12, 14)),
        *(referral("2025-10-03 09:00", booked_at="2025-10-05 09:00", days_to_appointment=d)
          for d in (20, 22, 24)),
        # Booked after the baseline's as_of: not yet booked when the baseline is looked at.
        referral("2025-10-03 09:00", booked_at="2025-11-02 09:00", days_to_appointment=90),
    )  # fmt: skip
    days = pilot_compare(rows, PILOT, as_of=AS_OF).metric("days_to_appointment")
    assert (days.pilot, days.comparison, days.difference.estimate) == (12, 22, -10)
    # Resampled medians lie in [10, 14] and [20, 24]: every difference in [-14, -6], below 0.
    assert -14 <= days.difference.low <= days.difference.high <= -6
    assert days.verdict == BETTER


def test_it_compares_acknowledgement_and_reports_delivered():
    rows = facts(
        referral("2025-11-03 09:00", acknowledged_at="2025-11-03 10:00", acknowledge_met=True,
                 seen_at="2025-11-05 09:00", report_delivered_at="2025-11-10 09:00"),
        referral("2025-11-03 09:00", acknowledged_at="2025-11-05 10:00", acknowledge_met=False,
                 seen_at="2025-11-06 09:00"),
        # Seen November 28: under 7 days before December 1, too recent to judge its report.
        referral("2025-11-03 09:00", seen_at="2025-11-28 09:00"),
        # Baseline: acknowledged only after its as_of, so still running then: left out.
        referral("2025-10-30 09:00", acknowledged_at="2025-11-03 10:00", acknowledge_met=False),
        referral("2025-10-03 09:00", acknowledged_at="2025-10-03 10:00", acknowledge_met=True,
                 seen_at="2025-10-06 09:00", report_delivered_at="2025-10-20 09:00"),
    )  # fmt: skip
    result = pilot_compare(rows, PILOT, as_of=AS_OF, loop_days=7)
    ack = result.metric("acknowledged")
    assert (ack.pilot, ack.pilot_n, ack.comparison, ack.comparison_n) == (0.5, 2, 1.0, 1)
    # Pilot: seen by November 24 are 2; the first's report came in 5 days: 1 of 2.
    # Baseline: seen by October 25 is 1; its report took 14 days, over 7: 0 of 1.
    delivered = result.metric("report_delivered")
    assert (delivered.pilot, delivered.pilot_n) == (0.5, 2)
    assert (delivered.comparison, delivered.comparison_n) == (0.0, 1)
    assert "not CMS50" in delivered.label
    assert delivered.drill == Drill("pilot.report_delivered", "7")
    assert cohort_select(rows, result.pilot_scope, delivered.drill)["referral_id"].to_list() == [
        1, 2,
    ]  # fmt: skip


def test_it_says_too_few_or_not_measured_rather_than_guess():
    rows = facts(referral("2025-11-03 09:00"))
    result = pilot_compare(rows, PILOT, as_of=AS_OF)
    assert result.metric("conversion").verdict == TOO_FEW  # no baseline referral
    assert result.metric("no_show").verdict == NOT_MEASURED  # no appointments given


def test_it_compares_no_shows_when_appointments_are_given():
    rows = facts(referral("2025-11-03 09:00"), referral("2025-10-03 09:00"))

    def visit(referral_id, starts, outcome):
        return {"referral_id": referral_id, "service_line": "Cardiology", "visit_type": "",
                "booked_at": at("2025-10-01 09:00"), "starts_at": at(starts),
                "outcome": outcome, "prior_no_shows": 0}  # fmt: skip

    appointments = pl.DataFrame(
        [
            visit(1, "2025-11-10 09:00", "no_show"),
            visit(1, "2025-11-17 09:00", "attended"),
            visit(2, "2025-10-10 09:00", "attended"),
            visit(2, "2025-11-10 09:00", "no_show"),  # after the baseline's as_of
        ],
        schema=APPOINTMENT_SCHEMA,
    )
    no_show = pilot_compare(rows, PILOT, as_of=AS_OF, appointments=appointments).metric("no_show")
    assert (no_show.pilot, no_show.pilot_n, no_show.comparison, no_show.comparison_n) == (
        0.5, 2, 0.0, 1,
    )  # fmt: skip
    assert not no_show.higher_is_better
    # The pilot's no-show cases are referral 1's two visits: one referral in the list.
    result = pilot_compare(rows, PILOT, as_of=AS_OF, appointments=appointments)
    assert cohort_select(rows, result.pilot_scope, no_show.drill)["referral_id"].to_list() == [1]


def test_it_compares_with_a_comparison_group_over_the_same_days():
    pilot = Pilot(
        service_lines=("Cardiology",),
        starts=dt.date(2025, 11, 1),
        comparison=Group(service_lines=("Dermatology",)),
    )
    rows = facts(
        referral("2025-11-03 09:00", seen_at="2025-11-20 09:00"),
        referral("2025-11-03 09:00", service_line="Dermatology"),
        referral("2025-10-03 09:00", service_line="Dermatology", seen_at="2025-10-20 09:00"),
    )
    result = pilot_compare(rows, pilot, as_of=AS_OF)
    assert result.comparison_label == "comparison group"
    assert result.comparison_scope.start == dt.date(2025, 11, 1)
    conversion = result.metric("conversion")
    assert (conversion.pilot, conversion.comparison) == (1.0, 0.0)  # October is not compared
    # The page drills into each group with the "received" cohort and the group's scope.
    assert cohort_select(rows, result.comparison_scope, Drill("received")).height == 1
    with pytest.raises(ValueError):
        pilot_scopes(
            Pilot(starts=dt.date(2025, 11, 1), comparison="last year"), as_of=AS_OF, tz=NEW_YORK
        )


def test_it_words_the_verdict_by_which_way_is_better():
    assert verdict(Interval(0.1, 0.02, 0.2), higher_is_better=True) == BETTER
    assert verdict(Interval(0.1, 0.02, 0.2), higher_is_better=False) == WORSE
    assert verdict(Interval(-3, -5, -1), higher_is_better=False) == BETTER
    assert verdict(Interval(0.1, -0.02, 0.2), higher_is_better=True) == NOISE
    assert verdict(Interval(None, None, None), higher_is_better=True) == TOO_FEW
