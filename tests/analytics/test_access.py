"""Access metrics on hand-built facts, appointments and third-next-available rows.

The scope is December 2025 in New York (as_of 2026-01-01 00:00 local) unless a test says so.
"""

import dataclasses
import datetime as dt

import polars as pl

from refloop.analytics.cohorts import Drill, cohort_select
from refloop.analytics.metrics.access import (
    APPOINTMENT_SCHEMA,
    NOT_MEASURED,
    TNA_SCHEMA,
    access,
    no_shows,
    third_next_available,
    waits,
)
from refloop.analytics.scope import Scope
from tests.analytics.factories import NEW_YORK, at, facts

DECEMBER = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK)


def waiting(line, kind, days, received="2025-12-03 09:00"):
    return {
        "service_line": line,
        "visit_type": kind,
        "received_at": received,
        "days_to_appointment": days,
        "appointment_at": "2026-01-20 09:00",
    }


def test_it_gives_the_median_and_p90_of_days_to_appointment():
    rows = facts(
        *(waiting("Cardiology", "New consult", d) for d in (10, 20, 30, 40)),
        waiting("Cardiology", "Follow-up", 5),
        waiting("Dermatology", "New consult", 7),
        waiting("Dermatology", "New consult", 9),
        # Not booked yet, and received in November: neither counts.
        {"service_line": "Cardiology", "received_at": "2025-12-04 09:00"},
        waiting("Cardiology", "New consult", 99, received="2025-11-30 23:00"),
    )
    got = {(w.service_line, w.visit_type): (w.appointments, w.median_days, w.p90_days)
           for w in waits(rows, DECEMBER)}  # fmt: skip
    # p90 is linear between ranks: position 0.9 * (n - 1) in the sorted values.
    assert got == {
        # 5 7 9 10 20 30 40: median 10; position 5.4 -> 30 + 0.4 * 10 = 34.
        ("", ""): (7, 10, 34),
        # 5 10 20 30 40: median 20; position 3.6 -> 30 + 0.6 * 10 = 36.
        ("Cardiology", ""): (5, 20, 36),
        ("Cardiology", "Follow-up"): (1, 5, 5),
        # 10 20 30 40: median 25; position 2.7 -> 30 + 0.7 * 10 = 37.
        ("Cardiology", "New consult"): (4, 25, 37),
        # 7 9: median 8; position 0.9 -> 7 + 0.9 * 2 = 8.8.
        ("Dermatology", ""): (2, 8, 8.8),
        ("Dermatology", "New consult"): (2, 8, 8.8),
    }
    first = waits(rows, DECEMBER)[0]
    assert (first.service_line, first.visit_type) == ("", "")  # the program first
    cardiology = next(w for w in waits(rows, DECEMBER) if w.visit_type == "New consult")
    assert cohort_select(rows, DECEMBER, cardiology.drill).height == 4


def test_it_gives_the_program_row_even_with_no_visits():
    (only,) = waits(facts({"received_at": "2025-12-03 09:00"}), DECEMBER)
    assert (only.appointments, only.median_days, only.p90_days) == (0, None, None)


def tna(*rows):
    names = list(TNA_SCHEMA)
    return pl.DataFrame([dict(zip(names, row, strict=True)) for row in rows], schema=TNA_SCHEMA)


def test_it_gives_third_next_available_per_line_and_says_when_it_is_not_measured():
    frame = tna(
        ("Cardiology", "New consult", "Ames", dt.date(2025, 12, 1), 10),
        ("Cardiology", "New consult", "Baker", dt.date(2025, 12, 1), 14),
        ("Cardiology", "New consult", "Ames", dt.date(2025, 12, 10), 12),
        ("Cardiology", "New consult", "Baker", dt.date(2025, 12, 10), 20),
        ("Cardiology", "New consult", "Cole", dt.date(2025, 12, 10), None),  # under 3 slots
        ("Cardiology", "New consult", "Ames", dt.date(2026, 1, 2), 99),  # after the period
    )
    line, kind, imaging = third_next_available(frame, DECEMBER, lines=["Imaging"])
    # December 10 is the latest day: (12 + 20) / 2 = 16, Cole has no figure.
    assert (line.measured_on, line.mean_days, line.measurements, line.short_of_three) == (
        dt.date(2025, 12, 10), 16, 2, 1,
    )  # fmt: skip
    assert line.period_mean_days == (10 + 14 + 12 + 20) / 4  # 14
    assert (kind.visit_type, kind.mean_days) == ("New consult", 16)
    assert (imaging.service_line, imaging.status, imaging.mean_days) == (
        "Imaging",
        NOT_MEASURED,
        None,
    )
    # No frame at all (an audit of a referral file): every line is not measured.
    (none,) = third_next_available(None, DECEMBER, lines=["Cardiology"])
    assert none.status == NOT_MEASURED


def test_it_takes_the_latest_day_up_to_as_of():
    frame = tna(
        ("Cardiology", "New consult", "Ames", dt.date(2025, 12, 1), 10),
        ("Cardiology", "New consult", "Ames", dt.date(2025, 12, 10), 30),
    )
    early = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK, as_of=at("2025-12-05 12:00"))
    (line, _) = third_next_available(frame, early)
    assert (line.measured_on, line.mean_days) == (dt.date(2025, 12, 1), 10)


def appointment(referral_id, booked, starts, outcome, prior=0, line="Cardiology"):
    return {
        "referral_id": referral_id,
        "service_line": line,
        "visit_type": "New consult",
        "booked_at": at(booked),
        "starts_at": at(starts),
        "outcome": outcome,
        "prior_no_shows": prior,
    }


REFERRALS = facts(*({"practice": "Elm"} for _ in range(8)), {"practice": "Oak"})
APPOINTMENTS = pl.DataFrame(
    [
        # Booked 10 pm November 30 local (03:00 UTC December 1): 8 local days, not 7.
        appointment(1, "2025-11-30 22:00", "2025-12-08 09:00", "attended", prior=0),
        # Booked 11:30 pm December 1 local (04:30 UTC December 2): 7 local days.
        appointment(2, "2025-12-01 23:30", "2025-12-08 10:00", "no_show", prior=0),
        appointment(3, "2025-10-01 09:00", "2025-12-15 09:00", "no_show", prior=1),  # 75 days
        appointment(4, "2025-11-20 09:00", "2025-12-16 09:00", "attended", prior=2),  # 26 days
        # Not visits that were due in December:
        appointment(5, "2025-11-20 09:00", "2025-12-17 09:00", "cancelled"),
        appointment(6, "2025-11-20 09:00", "2025-12-18 09:00", "rebooked"),
        appointment(7, "2025-11-20 09:00", "2026-01-02 09:00", "attended"),  # January
        appointment(8, "2025-11-20 09:00", "2025-11-30 23:30", "no_show"),  # November, local
        appointment(9, "2025-11-20 09:00", "2025-12-19 09:00", "no_show"),  # Oak practice
    ],
    schema=APPOINTMENT_SCHEMA,
)


def test_it_gives_no_show_rates_by_lead_time_and_prior_no_shows():
    elm = Scope.month(dt.date(2025, 12, 1), tz=NEW_YORK, practices=("Elm",))
    report = no_shows(APPOINTMENTS, REFERRALS, elm)
    # Visits 1-4 were due in December for Elm: 2 missed of 4.
    assert (report.overall.visits, report.overall.no_shows, report.overall.rate.estimate) == (
        4, 2, 0.5,
    )  # fmt: skip
    assert [(r.group, r.visits, r.no_shows) for r in report.by_lead_time] == [
        ("0-7", 1, 1),  # visit 2 (7 days)
        ("8-14", 1, 0),  # visit 1 (8 days)
        ("15-30", 1, 0),  # visit 4 (26 days)
        ("31+", 1, 1),  # visit 3 (75 days)
    ]
    assert [(r.group, r.visits, r.no_shows) for r in report.by_prior_no_shows] == [
        ("0", 2, 1),  # visits 1 and 2
        ("1", 1, 1),  # visit 3
        ("2+", 1, 0),  # visit 4
    ]
    # With Oak too, visit 9 (missed) joins: 3 of 5.
    everyone = no_shows(APPOINTMENTS, REFERRALS, DECEMBER).overall
    assert (everyone.visits, everyone.no_shows) == (5, 3)


def test_it_says_not_measured_without_appointments():
    report = no_shows(None, REFERRALS, DECEMBER)
    assert report.status == NOT_MEASURED and report.overall is None
    assert report.by_lead_time == ()
    assert access(REFERRALS, DECEMBER).no_shows.status == NOT_MEASURED


def test_it_drills_to_the_referrals_with_a_missed_visit():
    report = no_shows(APPOINTMENTS, REFERRALS, DECEMBER)
    scope = dataclasses.replace(DECEMBER, extra={"appointments": APPOINTMENTS})
    assert report.overall.drill == Drill("access.no_shows", "all")
    assert cohort_select(REFERRALS, scope, report.overall.drill)["referral_id"].to_list() == [
        2, 3, 9,
    ]  # fmt: skip
    long_wait = report.by_lead_time[3].drill
    assert cohort_select(REFERRALS, scope, long_wait)["referral_id"].to_list() == [3]
    # Without the appointments, the drill finds nobody rather than guessing.
    assert cohort_select(REFERRALS, DECEMBER, long_wait).height == 0


# Reading the access tables (Django side) -------------------------------------------------------


def test_it_reads_appointments_with_the_patients_earlier_no_shows(db, django_assert_num_queries):
    from refloop.access.models import Appointment
    from refloop.analytics.appointments import appointments_frame
    from refloop.referrals.models import Referral
    from tests import factories

    line = factories.service_line(name="Cardiology")
    first, second, other = (factories.referral(line=line) for _ in range(3))
    Referral.objects.filter(pk=second.pk).update(patient=first.patient)  # one patient, 2 referrals
    slot = factories.open_slot(line=line, starts_at=at("2025-12-10 09:00"))

    def visit(referral, starts, outcome, booked, slot=None):
        made = Appointment.objects.create(
            referral=referral, starts_at=at(starts), outcome=outcome, slot=slot
        )
        Appointment.objects.filter(pk=made.pk).update(booked_at=at(booked))

    visit(first, "2025-10-01 09:00", "no_show", "2025-09-01 09:00")  # before the range
    visit(first, "2025-12-03 09:00", "no_show", "2025-11-20 09:00")
    visit(second, "2025-12-10 09:00", "attended", "2025-12-04 09:00", slot=slot)
    visit(second, "2025-12-20 09:00", "cancelled", "2025-12-11 09:00")
    visit(other, "2025-12-05 09:00", "attended", "2025-12-01 09:00")
    visit(other, "2026-01-05 09:00", "booked", "2025-12-06 09:00")  # after the range

    with django_assert_num_queries(2):
        frame = appointments_frame(start=at("2025-12-01 00:00"), end=at("2026-01-01 00:00"))
    assert frame.schema == pl.Schema(APPOINTMENT_SCHEMA)
    got = frame.select("referral_id", "visit_type", "outcome", "prior_no_shows").rows()
    assert got == [
        (first.pk, "", "no_show", 1),  # October's miss came before
        (other.pk, "", "attended", 0),
        (second.pk, "New consult", "attended", 2),  # same patient: October and December 3
        (second.pk, "", "cancelled", 2),
    ]
    assert frame["service_line"].unique().to_list() == ["Cardiology"]
    assert frame["booked_at"][0] == at("2025-11-20 09:00")
    # The frame feeds the metric: December's visits due are 3, one missed.
    facts_ = facts(*({"referral_id": r.pk} for r in (first, second, other)))
    december = no_shows(frame, facts_, DECEMBER).overall
    assert (december.visits, december.no_shows) == (3, 1)


def test_it_reads_third_next_available_in_one_query(db, django_assert_num_queries):
    from refloop.access.models import ThirdNextAvailable
    from refloop.analytics.appointments import tna_frame
    from tests import factories

    line = factories.service_line(name="Cardiology")
    kind = factories.new_consult_type(line)
    ames = factories.own_clinician()
    for day, days in (
        (dt.date(2025, 11, 30), 5),
        (dt.date(2025, 12, 1), 9),
        (dt.date(2025, 12, 2), None),
    ):
        ThirdNextAvailable.objects.create(
            measured_on=day, service_line=line, clinician=ames, visit_type=kind, days=days
        )
    with django_assert_num_queries(1):
        frame = tna_frame(start=dt.date(2025, 12, 1), end=dt.date(2026, 1, 1))
    assert frame.schema == pl.Schema(TNA_SCHEMA)
    assert frame.rows() == [
        ("Cardiology", "New consult", f"{ames.last_name}, Sam", dt.date(2025, 12, 1), 9),
        ("Cardiology", "New consult", f"{ames.last_name}, Sam", dt.date(2025, 12, 2), None),
    ]
    (summary, _) = third_next_available(frame, DECEMBER)
    # December 2 is the latest day: under three slots, no figure; the period's mean is 9.
    assert (summary.mean_days, summary.short_of_three, summary.period_mean_days) == (None, 1, 9)
