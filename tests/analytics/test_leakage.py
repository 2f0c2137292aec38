"""Leakage, two numbers never mixed, worked out by hand (New York times)."""

import datetime as dt

import polars as pl

from refloop.analytics.cohorts import cohort_select
from refloop.analytics.metrics.leakage import OUTBOUND_SCHEMA, leakage
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, at, facts

MARCH = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)  # as_of = 2025-04-01 00:00 New York


def march():
    def cancelled(received, reason, on="2025-03-20 09:00"):
        return dict(received_at=received, state="cancelled", outcome_reason=reason, ended_at=on)

    return facts(
        dict(received_at="2025-03-03 09:00", seen_at="2025-03-20 09:00", state="completed"),  # 1
        cancelled("2025-03-03 10:00", "unable_to_reach"),  # 2
        cancelled("2025-03-04 10:00", "patient_declined", on="2025-03-15 09:00"),  # 3
        cancelled("2025-03-05 10:00", "unable_to_reach"),  # 4
        cancelled("2025-03-06 10:00", "entered_in_error"),  # 5 never a real referral
        dict(
            received_at="2025-03-06 11:00",
            state="declined",
            outcome_reason="not_indicated",
            ended_at="2025-03-07 09:00",
        ),  # 6 a clinical decision, not leakage
        dict(received_at="2025-03-02 09:00", state="triage"),  # 7 open 30 days: not yet
        cancelled("2025-03-02 10:00", "unable_to_reach", on="2025-04-03 09:00"),  # 8 open at as_of
    )


def test_it_counts_referrals_cancelled_before_a_visit_and_says_outside_is_not_measured():
    result = leakage(march(), MARCH)

    # Received 8, less 5 (entered in error) = 7; cancelled before a visit by April 1: 2, 3, 4.
    assert (result.received, result.never_completed) == (7, 3)
    assert result.never_completed_rate == 3 / 7
    assert [(p.kind, p.reason, p.count) for p in result.parts] == [
        ("cancelled", "unable_to_reach", 2),
        ("cancelled", "patient_declined", 1),
    ]
    assert result.outside_network is None and result.outside_network_rate is None
    assert result.outside_label == "not measured"
    assert cohort_select(march(), MARCH, result.drill)["referral_id"].to_list() == [2, 3, 4]
    assert cohort_select(march(), MARCH, result.parts[0].drill)["referral_id"].to_list() == [2, 4]


def test_it_counts_referrals_open_too_long():
    january = Scope(
        start=dt.date(2025, 1, 1),
        end=dt.date(2025, 2, 1),
        as_of=dt.datetime(2025, 4, 1, tzinfo=NEW_YORK),
        tz=NEW_YORK,
    )
    rows = facts(
        # 1 received January 15, cancelled April 10: open at April 1, 76 days: too long.
        dict(
            received_at="2025-01-15 09:00",
            state="cancelled",
            outcome_reason="unable_to_reach",
            ended_at="2025-04-10 09:00",
        ),
        # 2 received January 31 20:00 EST (01:00 UTC February 1): 59 days 3 hours at April 1.
        dict(received_at="2025-01-31 20:00", state="scheduled"),
        # 3 seen: completed, whatever its age.
        dict(received_at="2025-01-10 09:00", state="completed", seen_at="2025-03-01 09:00"),
    )

    result = leakage(rows, january, open_days=60)

    assert (result.received, result.never_completed) == (3, 1)
    assert [(p.kind, p.label) for p in result.parts] == [
        ("open_too_long", "Open over 60 days, not seen")
    ]


def test_it_measures_orders_performed_outside_the_network_separately():
    outbound = pl.DataFrame(
        [
            ("o1", "p1", at("2025-03-03 09:00"), "Cardiology", True, "Heart Center"),
            ("o2", "p2", at("2025-03-04 09:00"), "Cardiology", True, "Heart Center"),
            ("o3", "p3", at("2025-03-05 09:00"), "Cardiology", False, "Elsewhere Cardiology"),
            ("o4", "p4", at("2025-03-06 09:00"), "Cardiology", None, ""),  # unknown performer
            ("o5", "p5", at("2025-04-01 09:00"), "Cardiology", False, "Elsewhere"),  # April
            ("o6", "p6", at("2025-03-07 09:00"), "Orthopedics", False, "Bone Clinic"),
        ],
        schema=OUTBOUND_SCHEMA,
        orient="row",
    )
    cardiology = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK, service_lines=("Cardiology",))

    every_line = leakage(march(), MARCH, outbound)
    one_line = leakage(march(), cardiology, outbound)

    # March, performer known: o1, o2, o3, o6; outside: o3, o6 -> 2/4.
    assert (every_line.orders, every_line.outside_network) == (4, 2)
    assert every_line.outside_label == "50.0%"
    # Cardiology: o1, o2, o3; outside: o3 -> 1/3.
    assert (one_line.orders, one_line.outside_network, one_line.outside_network_rate) == (
        3,
        1,
        1 / 3,
    )
    # The other number is untouched by outbound data.
    assert every_line.never_completed == 3
