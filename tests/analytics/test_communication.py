"""Communication quality for March 2025, worked out by hand (New York times)."""

import datetime as dt

from refloop.analytics.cohorts import cohort_select
from refloop.analytics.metrics.communication import communication
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, facts

MARCH = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)  # as_of = 2025-04-01 00:00 New York
HOUR = 3600


def march():
    return facts(
        # 1 complete on arrival; acknowledged on time; report sent on time (net 2 h).
        dict(
            received_at="2025-03-03 08:00",
            records_complete_on_arrival=True,
            acknowledged_at="2025-03-03 09:00",
            acknowledge_met=True,
            seen_at="2025-03-18 09:00",
            report_sent_at="2025-03-20 09:00",
            report_sent_gross=2 * HOUR,
            report_sent_net=2 * HOUR,
            report_met=True,
        ),
        # 2 records missing, complete 2.5 days later; acknowledged late; report late (net 10 h).
        dict(
            received_at="2025-03-03 09:00",
            records_complete_on_arrival=False,
            records_complete_at="2025-03-05 21:00",
            acknowledged_at="2025-03-04 16:00",
            acknowledge_met=False,
            seen_at="2025-03-18 10:00",
            report_sent_at="2025-03-21 09:00",
            report_sent_gross=10 * HOUR,
            report_sent_net=10 * HOUR,
            report_met=False,
        ),
        # 3 records missing from March 4 09:00 EST to March 10 09:00 EDT: DST took an hour, so
        # 143 elapsed hours = 5.958 days.
        dict(
            received_at="2025-03-04 09:00",
            records_complete_on_arrival=False,
            records_complete_at="2025-03-10 09:00",
        ),
        # 4 records missing, never came.
        dict(received_at="2025-03-05 09:00", records_complete_on_arrival=False),
        # 5 an import that cannot tell: left out of the shares.
        dict(received_at="2025-03-06 09:00"),
        # 6 records missing, came on April 3: still missing at April 1.
        dict(
            received_at="2025-03-07 09:00",
            records_complete_on_arrival=False,
            records_complete_at="2025-04-03 09:00",
        ),
    )


def test_it_measures_records_acknowledgements_and_reports():
    result = communication(march(), MARCH)

    # Known on arrival: 1, 2, 3, 4, 6 = 5; complete: 1 -> 1/5; missing: 4/5.
    assert (result.received, result.known_on_arrival, result.complete_on_arrival) == (6, 5, 1)
    assert result.complete_on_arrival_share == 0.2
    assert result.missing_records_rate == 0.8
    # Completed by April 1: 2 (2.5 days), 3 (143/24 days); still missing: 4, 6.
    assert (result.records_completed, result.still_missing) == (2, 2)
    assert abs(result.median_days_to_complete - (2.5 + 143 / 24) / 2) < 1e-9
    # Acknowledged: 1 met, 2 missed.
    assert (result.acknowledged_judged, result.acknowledged_met) == (2, 1)
    assert result.acknowledged_within_target == 0.5
    # Reports: 1 on time, 2 late; median net (2 h + 10 h) / 2 = 6 h.
    assert (result.reports_sent, result.report_judged, result.report_met) == (2, 2, 1)
    assert result.report_within_target == 0.5
    assert result.report_net_median == 6 * HOUR


def test_it_drills_into_the_referrals_with_missing_records():
    rows = march()
    result = communication(rows, MARCH)

    def ids(drill):
        return cohort_select(rows, MARCH, drill)["referral_id"].to_list()

    assert ids(result.missing_drill) == [2, 3, 4, 6]
    assert ids(result.still_missing_drill) == [4, 6]
    assert ids(result.acknowledged_missed_drill) == [2]
    assert ids(result.report_missed_drill) == [2]
    assert ids(result.reports_sent_drill) == [1, 2]
