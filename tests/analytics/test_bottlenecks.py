"""Bottlenecks for March 2025, worked out by hand (New York times; as_of April 1 00:00)."""

import datetime as dt

from refloop.analytics.cohorts import cohort_select
from refloop.analytics.metrics.bottlenecks import bottlenecks
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, facts

MARCH = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)
HOUR = 3600
STEP_ENDS = {
    "decided": "decided_at",
    "first_contact": "first_contact_at",
    "booked": "booked_at",
    "visit": "seen_at",
    "report_sent": "report_sent_at",
    "report_delivered": "report_delivered_at",
}


def path(received: str, line: str, **nets) -> dict:
    """A referral that finished the given steps on March 28 with these net (= gross) times."""
    row = dict(received_at=received, service_line=line, state="closed", ended_at="2025-03-29 09:00")
    for step, net in nets.items():
        row |= {STEP_ENDS[step]: "2025-03-28 09:00", f"{step}_gross": net, f"{step}_net": net}
    return row


def test_it_ranks_where_time_goes_in_states_and_blockers():
    rows = facts(
        dict(
            received_at="2025-03-03 09:00",
            seconds_in_received=HOUR,
            seconds_in_triage=2 * HOUR,
            waiting_missing_records_seconds=10 * HOUR,
        ),
        dict(received_at="2025-03-04 09:00", seconds_in_received=0, seconds_in_triage=5 * HOUR),
        dict(received_at="2025-03-05 09:00", seconds_in_triage=HOUR),
    )

    time_in = {t.name: t for t in bottlenecks(rows, MARCH).time_in}

    # Triage: 2 h, 5 h, 1 h -> median 2 h, mean 8/3 h, total 8 h.
    triage = time_in["triage"]
    assert (triage.referrals, triage.median_seconds, triage.total_seconds) == (
        3,
        2 * HOUR,
        8 * HOUR,
    )
    assert triage.mean_seconds == 8 * HOUR / 3
    # Received: the 0 s referral never waited there: 1 referral, 1 h.
    assert (time_in["received"].referrals, time_in["received"].median_seconds) == (1, HOUR)
    # Biggest total first: missing records 10 h, triage 8 h, received 1 h.
    names = [t.name for t in bottlenecks(rows, MARCH).time_in]
    assert names[:3] == ["missing_records", "triage", "received"]
    assert cohort_select(rows, MARCH, time_in["triage"].drill).height == 3


def test_it_ages_the_referrals_open_at_the_month_end_by_their_state_then():
    rows = facts(
        # 1 January, accepted, quiet since March 1: 75 days old -> over 60.
        dict(received_at="2025-01-15 09:00", state="accepted", last_activity_at="2025-03-01 09:00"),
        # 2 triage, received March 25: 6 days -> 0-7.
        dict(received_at="2025-03-25 09:00", state="triage"),
        # 3 received March 24 09:00: 7 days 15 hours -> 7 whole days -> 0-7.
        dict(received_at="2025-03-24 09:00", state="received"),
        # 4 scheduled, received March 20: 11 days -> 8-14.
        dict(received_at="2025-03-20 09:00", state="scheduled", booked_at="2025-03-21 09:00"),
        # 5 seen in February's cohort, report not sent: 39 days -> 31-60, completed.
        dict(received_at="2025-02-20 09:00", state="completed", seen_at="2025-03-25 09:00"),
        # 6 closed March 20: not open.
        dict(received_at="2025-03-02 09:00", state="closed", ended_at="2025-03-20 09:00"),
        # 7 cancelled April 5, after as_of: open then, booked March 12 -> scheduled; 21 days.
        dict(
            received_at="2025-03-10 09:00",
            state="cancelled",
            booked_at="2025-03-12 09:00",
            ended_at="2025-04-05 09:00",
            last_activity_at="2025-04-05 09:00",
        ),
        # 8 received after as_of.
        dict(received_at="2025-04-02 09:00", state="received"),
    )

    result = bottlenecks(rows, MARCH)

    assert result.buckets == ("0-7", "8-14", "15-30", "31-60", ">60")
    assert {r.state: r.counts for r in result.ageing} == {
        "received": (1, 0, 0, 0, 0),  # 3
        "triage": (1, 0, 0, 0, 0),  # 2
        "accepted": (0, 0, 0, 0, 1),  # 1
        "scheduled": (0, 1, 1, 0, 0),  # 4, 7
        "completed": (0, 0, 0, 1, 0),  # 5
    }
    assert result.open_total == 6
    scheduled = next(r for r in result.ageing if r.state == "scheduled")
    assert cohort_select(rows, MARCH, scheduled.drills[2])["referral_id"].to_list() == [7]


def test_it_ranks_the_legs_that_cost_the_most_per_service_line():
    rows = facts(
        path(
            "2025-03-03 09:00",
            "Cardiology",
            decided=1 * HOUR,
            first_contact=3 * HOUR,
            booked=4 * HOUR,
            visit=100_000,
            report_sent=2 * HOUR,
            report_delivered=9000,
        ),
        path(
            "2025-03-04 09:00",
            "Cardiology",
            decided=2 * HOUR,
            first_contact=2 * HOUR,
            booked=10 * HOUR,
            visit=64_000,
        ),
        path("2025-03-05 09:00", "Orthopedics", decided=10 * HOUR),
    )

    legs = bottlenecks(rows, MARCH).costly_legs

    cardiology = [(c.rank, c.leg, c.net_median) for c in legs if c.service_line == "Cardiology"]
    assert cardiology == [
        # booked to visit: 100000 - 14400 = 85600 and 64000 - 36000 = 28000 -> median 56800
        (1, "wait", 56_800),
        # contact to booked: 4 h - 3 h = 3600 and 10 h - 2 h = 28800 -> 16200
        (2, "booking", 16_200),
        (3, "report", 2 * HOUR),  # one referral
        (4, "triage", 1.5 * HOUR),  # 1 h and 2 h
        # decision to contact: 3 h - 1 h = 7200 and 2 h - 2 h = 0 -> 3600
        (5, "contact", 3600),
        (6, "delivery", 1800),  # 9000 - 7200
    ]
    assert [(c.leg, c.net_median) for c in legs if c.service_line == "Orthopedics"] == [
        ("triage", 10 * HOUR)
    ]
    wait = legs[0]
    assert cohort_select(rows, MARCH, wait.drill)["referral_id"].to_list() == [1, 2]
