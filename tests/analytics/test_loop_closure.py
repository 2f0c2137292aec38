"""Loop closure: CMS50 for 2025 and the monthly "delivered within N days" (New York times)."""

import datetime as dt

import polars as pl

from refloop.analytics.cohorts import cohort_select
from refloop.analytics.metrics.loop_closure import loop_closed_within, loop_closure_cms50
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, facts


def year_2025():
    # Referrer R1 unless said otherwise (R2: 2, 5, 8).
    return facts(
        # 1 A's first referral, delivered in February: closed.
        dict(
            patient_key="A", received_at="2025-01-15 09:00", report_delivered_at="2025-02-01 09:00"
        ),
        # 2 A's second referral: not counted (only the first).
        dict(patient_key="A", received_at="2025-03-01 09:00", referrer_key="R2"),
        # 3 B: 23:30 on October 31 (04:30 UTC November 1) is in the window; delivered 23:00 on
        # December 31 (04:00 UTC January 1): by December 31 locally, closed.
        dict(
            patient_key="B",
            received_at="2025-10-31 23:30",
            report_delivered_at="2025-12-31 23:00",
        ),
        # 4 C: received 00:30 November 1, after the window.
        dict(
            patient_key="C", received_at="2025-11-01 00:30", report_delivered_at="2025-11-20 09:00"
        ),
        # 5 D: report sent, never confirmed delivered: not closed.
        dict(
            patient_key="D",
            received_at="2025-06-02 09:00",
            report_sent_at="2025-06-20 09:00",
            referrer_key="R2",
        ),
        # 6, 7 E: two referrals at the same moment; the lower id (6) is the first: not closed.
        dict(patient_key="E", received_at="2025-05-05 09:00"),
        dict(
            patient_key="E", received_at="2025-05-05 09:00", report_delivered_at="2025-05-20 09:00"
        ),
        # 8 F: delivered January 2, 2026: too late.
        dict(
            patient_key="F",
            received_at="2025-09-01 09:00",
            report_delivered_at="2026-01-02 09:00",
            referrer_key="R2",
        ),
        # 9, 10 G: first ever referral in December 2024; the first of 2025 (10) was closed.
        dict(patient_key="G", received_at="2024-12-20 09:00"),
        dict(
            patient_key="G", received_at="2025-02-03 09:00", report_delivered_at="2025-02-20 09:00"
        ),
        # 11 no patient key: cannot be matched to a patient, left out and counted.
        dict(patient_key="", received_at="2025-04-01 09:00"),
    )


def test_it_counts_each_patients_first_referral_and_reports_delivered_by_december_31():
    result = loop_closure_cms50(year_2025(), year=2025, tz=NEW_YORK)

    # Patients A (1), B (3), D (5), E (6), F (8), G (10) = 6; closed: A, B, G = 3.
    assert (result.denominator, result.numerator, result.rate) == (6, 3, 0.5)
    assert result.unmatched == 1
    assert result.provisional is False
    assert result.label == "Loop closure (CMS50), 2025"


def test_it_counts_each_referrers_own_first_referral_of_each_patient():
    rows = year_2025().with_columns(
        referrer_key=pl.when(pl.col("referrer_key") == "")
        .then(pl.lit("R1"))
        .otherwise("referrer_key")
    )
    result = loop_closure_cms50(rows, year=2025, tz=NEW_YORK)

    # R1: A (1), B (3), E (6), G (10); closed A, B, G. R2: A (2: R2's first of A), D (5),
    # F (8); none closed. Patient A counts once for each referrer.
    assert [(r.referrer_key, r.denominator, r.numerator) for r in result.by_referrer] == [
        ("R1", 4, 3),
        ("R2", 3, 0),
    ]
    scope = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK)
    r2 = cohort_select(rows, scope, result.by_referrer[1].drill)
    assert sorted(r2["referral_id"].to_list()) == [2, 5, 8]


def test_it_drills_into_the_first_referrals_left_open():
    rows = year_2025()
    result = loop_closure_cms50(rows, year=2025, tz=NEW_YORK)
    scope = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK)  # as_of = January 1, 2026

    open_loops = cohort_select(rows, scope, result.drill)

    assert sorted(open_loops["referral_id"].to_list()) == [5, 6, 8]
    counted = cohort_select(rows, scope, result.denominator_drill)
    assert sorted(counted["referral_id"].to_list()) == [1, 3, 5, 6, 8, 10]


def test_it_is_provisional_while_the_year_runs():
    # At December 1 B's December 31 delivery has not happened: 2 of 6.
    as_of = dt.datetime(2025, 12, 1, tzinfo=NEW_YORK)

    result = loop_closure_cms50(year_2025(), year=2025, tz=NEW_YORK, as_of=as_of)

    assert (result.denominator, result.numerator, result.provisional) == (6, 2, True)


def test_it_counts_only_the_referrals_received_by_as_of_while_the_year_runs():
    # At June 1 only A (1, 2), E (6, 7) and G (10) had arrived: first referrals 1, 6, 10, of
    # which A's and G's reports were delivered (in February): 2 of 3, not 2 of 6.
    rows = year_2025()
    as_of = dt.datetime(2025, 6, 1, tzinfo=NEW_YORK)

    result = loop_closure_cms50(rows, year=2025, tz=NEW_YORK, as_of=as_of)

    assert (result.denominator, result.numerator, result.unmatched) == (3, 2, 1)
    # By referrer: R1's 1, 6, 10 (2 closed); R2's 2 (its first of A), not closed.
    assert [(r.denominator, r.numerator) for r in result.by_referrer] == [(3, 2), (1, 0)]
    scope = Scope.month(dt.date(2025, 5, 1), tz=NEW_YORK)  # as_of = June 1
    assert cohort_select(rows, scope, result.drill)["referral_id"].to_list() == [6]


def test_it_counts_reports_delivered_by_the_nth_day_after_the_visit_across_dst():
    march = Scope.month(dt.date(2025, 3, 1), tz=NEW_YORK)  # as_of April 1; DST began March 9
    rows = facts(
        # 1 seen Saturday March 1 09:00 EST, delivered March 15 09:30 EDT: the 14th day, within.
        dict(
            received_at="2025-03-01 08:00",
            seen_at="2025-03-01 09:00",
            report_delivered_at="2025-03-15 09:30",
        ),
        # 2 seen March 3, delivered March 18: the 15th day, late.
        dict(
            received_at="2025-03-03 08:00",
            seen_at="2025-03-03 09:00",
            report_delivered_at="2025-03-18 08:00",
        ),
        # 3 seen March 17: its 14th day, March 31, ended at as_of: judged, nothing delivered.
        dict(received_at="2025-03-04 08:00", seen_at="2025-03-17 09:00"),
        # 4 seen March 18: its 14th day is April 1, still running: pending.
        dict(received_at="2025-03-05 08:00", seen_at="2025-03-18 09:00"),
        # 5 not seen.
        dict(received_at="2025-03-06 08:00"),
    )

    result = loop_closed_within(rows, march, days=14)

    # Seen 1-4; judged 1-3; within: 1 -> 1/3; pending: 4.
    assert (result.seen, result.judged, result.delivered_within, result.pending) == (4, 3, 1, 1)
    assert result.rate == 1 / 3
    assert "not CMS50" in result.label
    assert cohort_select(rows, march, result.drill)["referral_id"].to_list() == [2, 3]
