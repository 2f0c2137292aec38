"""Headline numbers of March 2025 against February, worked out by hand (New York times)."""

import datetime as dt

import polars as pl

from refloop.analytics.metrics.headline import headline
from refloop.analytics.scope import Scope, month_before
from tests.analytics.factories import NEW_YORK, facts

MARCH = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)
FEBRUARY = MARCH.shifted(start=month_before(MARCH.start), end=MARCH.start)


def two_months():
    return facts(
        # February: F1 seen, report on time and delivered 7 days after the visit.
        dict(
            received_at="2025-02-03 09:00",
            acknowledged_at="2025-02-03 10:00",
            acknowledge_met=True,
            accepted_at="2025-02-03 12:00",
            booked_at="2025-02-04 09:00",
            days_to_appointment=10.0,
            seen_at="2025-02-13 09:00",
            report_sent_at="2025-02-14 09:00",
            report_met=True,
            report_delivered_at="2025-02-20 09:00",
            state="closed",
        ),
        # F2 declined; acknowledged late.
        dict(
            received_at="2025-02-10 09:00",
            acknowledged_at="2025-02-11 16:00",
            acknowledge_met=False,
            state="declined",
            outcome_reason="not_indicated",
            ended_at="2025-02-11 16:00",
        ),
        # March: M1 seen 03-10, report on time, delivered 20 days after the visit.
        dict(
            received_at="2025-03-03 09:00",
            acknowledged_at="2025-03-03 10:00",
            acknowledge_met=True,
            booked_at="2025-03-04 09:00",
            days_to_appointment=6.0,
            seen_at="2025-03-10 09:00",
            report_sent_at="2025-03-12 09:00",
            report_met=True,
            report_delivered_at="2025-03-30 09:00",
        ),
        # M2 seen 03-12, report late, delivered 2 days after the visit.
        dict(
            received_at="2025-03-04 09:00",
            acknowledged_at="2025-03-04 10:00",
            acknowledge_met=True,
            booked_at="2025-03-05 09:00",
            days_to_appointment=8.0,
            seen_at="2025-03-12 09:00",
            report_sent_at="2025-03-13 09:00",
            report_met=False,
            report_delivered_at="2025-03-14 09:00",
        ),
        # M3 seen 03-25: its 14 days run to April 8, after April 1: pending.
        dict(
            received_at="2025-03-05 09:00",
            acknowledged_at="2025-03-05 10:00",
            acknowledge_met=True,
            booked_at="2025-03-06 09:00",
            days_to_appointment=30.0,
            seen_at="2025-03-25 09:00",
        ),
        # M4 not booked yet.
        dict(
            received_at="2025-03-20 09:00",
            acknowledged_at="2025-03-20 10:00",
            acknowledge_met=True,
        ),
    )


def test_it_gives_this_month_last_month_target_and_direction():
    targets = {"conversion": 0.8, "days_to_appointment": 14, "acknowledged_within_target": 0.9}

    result = headline(two_months(), MARCH, previous=FEBRUARY, targets=targets)

    table = {
        n.key: (n.this_month, n.last_month, n.change, n.improved, n.on_target)
        for n in result.numbers
    }
    assert table == {
        # 4 received against 2.
        "received": (4, 2, "up", True, None),
        # Seen: M1, M2, M3 against F1.
        "seen": (3, 1, "up", True, None),
        # 3/4 against 1/2; under the 0.8 target.
        "conversion": (0.75, 0.5, "up", True, False),
        # Booked: 6, 8, 30 days -> median 8, against 10; lower is better; within 14.
        "days_to_appointment": (8.0, 10.0, "down", True, True),
        # 4/4 against 1/2; over 0.9.
        "acknowledged_within_target": (1.0, 0.5, "up", True, True),
        # M1 met, M2 missed: 1/2, against F1's 1/1: worse.
        "report_within_target": (0.5, 1.0, "down", False, None),
        # Judged (14 days over by April 1): M1 (20 days: late), M2 (2 days: within) = 1/2;
        # M3 pending. February: F1 within 7 days = 1/1.
        "report_delivered_within": (0.5, 1.0, "down", False, None),
    }
    days = result.number("report_delivered_within")
    assert days.label == "Report delivered within 14 days (not CMS50)"
    assert result.number("days_to_appointment").better == "lower"
    assert result.number("conversion").target == 0.8


def test_it_shows_no_change_when_last_month_had_no_referrals():
    empty_february = two_months().filter(pl.col("referral_id") > 2)  # F1, F2 are ids 1, 2

    result = headline(empty_february, MARCH, previous=FEBRUARY, targets={})

    received = result.number("received")
    assert (received.this_month, received.last_month, received.change) == (4, 0, "up")
    conversion = result.number("conversion")
    assert (conversion.last_month, conversion.change, conversion.improved) == (None, "", None)
