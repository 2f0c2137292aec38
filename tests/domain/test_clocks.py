"""Clocks on real referrals (DESIGN.md, Clocks): status, stat, net of waiting, met or missed."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from refloop.access.services import appointment_book, appointment_record_outcome
from refloop.directory.enums import Priority, TargetKind
from refloop.referrals.enums import BlockerKind, CancelReason, ClockStatus, Milestone, State
from refloop.referrals.models import Referral, ReferralClock
from refloop.referrals.services import (
    blocker_open,
    blocker_resolve,
    milestone_record,
    referral_transition,
)
from tests import factories

NY = ZoneInfo("America/New_York")
HOUR = 3600


def at(month, day, hour=0, minute=0, year=2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NY)


MONDAY = at(3, 2, 8)  # Monday 2026-03-02 08:00, a week before DST starts


def clock(referral, kind) -> ReferralClock:
    return ReferralClock.objects.get(referral=referral, kind=kind)


def fresh(referral) -> Referral:
    return Referral.objects.get(pk=referral.pk)


@pytest.fixture
def received(line, clinician, intake):
    """A routine referral with its records and a known referrer: no blocker, clocks running."""
    return factories.referral(line=line, clinician=clinician, actor=intake, received_at=MONDAY)


def to_triage(referral, intake, when):
    referral_transition(
        referral_id=referral.pk, to_state=State.TRIAGE, actor=intake, occurred_at=when
    )


def accept(referral, intake, triage, when):
    to_triage(referral, intake, when)
    referral_transition(
        referral_id=referral.pk, to_state=State.ACCEPTED, actor=triage, occurred_at=when
    )


def test_it_goes_from_on_track_to_at_risk_at_75_percent_to_breached(received):
    ack = clock(received, TargetKind.ACKNOWLEDGE)  # 8 business hours: due Monday 16:00
    assert ack.due_at == at(3, 2, 16)
    assert ack.at_risk_at == at(3, 2, 14)  # 6 of 8 hours used
    assert ack.status(now=at(3, 2, 13, 59)) == ClockStatus.ON_TRACK
    assert ack.status(now=at(3, 2, 14)) == ClockStatus.AT_RISK
    assert ack.status(now=at(3, 2, 16)) == ClockStatus.BREACHED
    # The worklist's view of the referral follows its earliest clock.
    row = fresh(received)
    assert row.next_due_at == at(3, 2, 16)
    assert row.clock_status(now=at(3, 2, 13)) == ClockStatus.ON_TRACK
    assert row.clock_status(now=at(3, 2, 15)) == ClockStatus.AT_RISK
    assert row.clock_status(now=at(3, 2, 17)) == ClockStatus.BREACHED


def test_it_skips_nights_for_a_routine_referral(line, clinician, intake):
    friday = at(3, 6, 16)
    referral = factories.referral(line=line, clinician=clinician, actor=intake, received_at=friday)
    # 16 business hours from Friday 16:00: 1 on Friday, 9 on Monday, 6 on Tuesday.
    assert clock(referral, TargetKind.TRIAGE).due_at == at(3, 10, 14)


def test_it_runs_a_stat_referrals_clocks_overnight_and_over_the_weekend(line, clinician, intake):
    friday = at(3, 6, 16)
    referral = factories.referral(
        line=line, clinician=clinician, actor=intake, received_at=friday, priority=Priority.STAT
    )
    assert clock(referral, TargetKind.ACKNOWLEDGE).due_at == friday + dt.timedelta(hours=1)
    assert clock(referral, TargetKind.TRIAGE).due_at == friday + dt.timedelta(hours=2)
    assert clock(referral, TargetKind.APPOINTMENT).due_at == friday + dt.timedelta(days=1)
    assert clock(referral, TargetKind.TRIAGE).around_the_clock


def test_it_pauses_while_waiting_on_records_and_pushes_the_due_time_out(received, intake, triage):
    triage_clock = clock(received, TargetKind.TRIAGE)
    assert triage_clock.due_at == at(3, 3, 15)  # 16 business hours from Monday 08:00

    blocker_open(
        referral_id=received.pk,
        kind=BlockerKind.MISSING_RECORDS,
        actor=intake,
        occurred_at=at(3, 2, 10),
    )
    paused = clock(received, TargetKind.TRIAGE)
    assert paused.status() == ClockStatus.PAUSED
    assert paused.due_at is None
    assert fresh(received).next_due_at is None  # every running clock waits

    blocker_resolve(
        referral_id=received.pk,
        kind=BlockerKind.MISSING_RECORDS,
        actor=intake,
        occurred_at=at(3, 3, 10),
    )
    resumed = clock(received, TargetKind.TRIAGE)
    # Paused Monday 10:00 to Tuesday 10:00: 7 + 2 = 9 business hours.
    assert resumed.paused_seconds == 9 * HOUR
    assert resumed.due_at == at(3, 4, 15)  # Tuesday 15:00 + 9 business hours
    assert resumed.status(now=at(3, 4, 14)) == ClockStatus.AT_RISK

    accept(received, intake, triage, at(3, 4, 12))
    done = clock(received, TargetKind.TRIAGE)
    assert done.gross_seconds == 22 * HOUR  # Monday 9 + Tuesday 9 + Wednesday 4
    assert done.net_seconds == 13 * HOUR
    assert done.outcome == ClockStatus.MET  # judged on net: 13 of 16 hours


def test_it_pauses_for_authorization_and_the_referrer_but_not_for_an_unreached_patient(
    received, intake
):
    blocker_open(
        referral_id=received.pk,
        kind=BlockerKind.PATIENT_NOT_REACHED,
        actor=intake,
        occurred_at=at(3, 2, 9),
    )
    assert clock(received, TargetKind.TRIAGE).due_at == at(3, 3, 15)
    for kind in (BlockerKind.AUTHORIZATION_PENDING, BlockerKind.INFO_REQUESTED):
        blocker_open(referral_id=received.pk, kind=kind, actor=intake, occurred_at=at(3, 2, 10))
        assert clock(received, TargetKind.TRIAGE).paused_since == at(3, 2, 10)
        blocker_resolve(referral_id=received.pk, kind=kind, actor=intake, occurred_at=at(3, 2, 11))
    # Two pauses of one hour each.
    assert clock(received, TargetKind.TRIAGE).paused_seconds == 2 * HOUR


def test_it_resumes_only_when_the_last_waiting_blocker_is_resolved(received, intake):
    for kind in (BlockerKind.MISSING_RECORDS, BlockerKind.AUTHORIZATION_PENDING):
        blocker_open(referral_id=received.pk, kind=kind, actor=intake, occurred_at=at(3, 2, 9))
    blocker_resolve(
        referral_id=received.pk,
        kind=BlockerKind.MISSING_RECORDS,
        actor=intake,
        occurred_at=at(3, 2, 10),
    )
    assert clock(received, TargetKind.TRIAGE).status() == ClockStatus.PAUSED
    blocker_resolve(
        referral_id=received.pk,
        kind=BlockerKind.AUTHORIZATION_PENDING,
        actor=intake,
        occurred_at=at(3, 2, 12),
    )
    assert clock(received, TargetKind.TRIAGE).paused_seconds == 3 * HOUR


def test_it_starts_a_new_clock_paused_while_the_referral_waits(received, intake, triage):
    blocker_open(
        referral_id=received.pk,
        kind=BlockerKind.AUTHORIZATION_PENDING,
        actor=intake,
        occurred_at=at(3, 2, 9),
    )
    accept(received, intake, triage, at(3, 2, 10))
    first_contact = clock(received, TargetKind.FIRST_CONTACT)
    assert first_contact.status() == ClockStatus.PAUSED
    blocker_resolve(
        referral_id=received.pk,
        kind=BlockerKind.AUTHORIZATION_PENDING,
        actor=intake,
        occurred_at=at(3, 3, 10),
    )
    first_contact = clock(received, TargetKind.FIRST_CONTACT)
    # Waiting from Monday 10:00 to Tuesday 10:00 (9 business hours) does not count against it.
    assert first_contact.paused_seconds == 9 * HOUR
    assert fresh(received).next_due_at == min(
        c.due_at for c in received.clocks.filter(due_at__isnull=False)
    )


def test_it_books_while_the_appointment_clock_is_paused(received, intake, triage, scheduler):
    accept(received, intake, triage, at(3, 2, 10))
    blocker_open(
        referral_id=received.pk,
        kind=BlockerKind.AUTHORIZATION_PENDING,
        actor=intake,
        occurred_at=at(3, 2, 11),
    )
    appointment_book(
        referral_id=received.pk, starts_at=at(3, 20, 9), actor=scheduler, occurred_at=at(3, 2, 12)
    )
    assert clock(received, TargetKind.APPOINTMENT).outcome == ClockStatus.MET


def test_it_judges_the_acknowledgement_met_or_missed_when_it_stops(line, clinician, intake):
    quick = factories.referral(line=line, clinician=clinician, actor=intake, received_at=MONDAY)
    slow = factories.referral(line=line, clinician=clinician, actor=intake, received_at=MONDAY)
    milestone_record(
        referral_id=quick.pk,
        milestone=Milestone.ACKNOWLEDGED,
        actor=intake,
        occurred_at=at(3, 2, 15),
    )
    milestone_record(
        referral_id=slow.pk,
        milestone=Milestone.ACKNOWLEDGED,
        actor=intake,
        occurred_at=at(3, 3, 9),
    )
    met, missed = clock(quick, TargetKind.ACKNOWLEDGE), clock(slow, TargetKind.ACKNOWLEDGE)
    assert (met.outcome, met.net_seconds, met.due_at) == (ClockStatus.MET, 7 * HOUR, None)
    assert (missed.outcome, missed.net_seconds) == (ClockStatus.MISSED, 10 * HOUR)
    assert missed.status() == ClockStatus.MISSED


def book(referral, scheduler, *, booked, visit):
    appointment_book(referral_id=referral.pk, starts_at=visit, actor=scheduler, occurred_at=booked)


def test_it_judges_days_to_appointment_on_the_appointment_date(
    line, clinician, intake, triage, scheduler
):
    # Routine: 30 days (of 24 real hours) from Monday 2026-03-02 08:00.
    due = MONDAY.astimezone(dt.UTC) + dt.timedelta(days=30)
    early, late, last_moment, too_late = (
        factories.referral(line=line, clinician=clinician, actor=intake, received_at=MONDAY)
        for _ in range(4)
    )
    for referral in (early, late, last_moment, too_late):
        accept(referral, intake, triage, at(3, 2, 9))
    # All are booked the same morning; what counts is when the patient will be seen.
    book(early, scheduler, booked=at(3, 2, 10), visit=at(3, 20, 9))
    book(late, scheduler, booked=at(3, 2, 10), visit=at(4, 20, 9))
    book(last_moment, scheduler, booked=at(3, 2, 10), visit=due)
    book(too_late, scheduler, booked=at(3, 2, 10), visit=due + dt.timedelta(minutes=1))
    assert clock(early, TargetKind.APPOINTMENT).outcome == ClockStatus.MET
    assert clock(late, TargetKind.APPOINTMENT).outcome == ClockStatus.MISSED
    assert clock(last_moment, TargetKind.APPOINTMENT).outcome == ClockStatus.MET
    assert clock(too_late, TargetKind.APPOINTMENT).outcome == ClockStatus.MISSED
    # Gross and net measure the wait until the booking, in elapsed seconds.
    assert clock(early, TargetKind.APPOINTMENT).gross_seconds == 2 * HOUR


def test_it_keeps_a_clock_missed_when_the_referral_is_cancelled_after_the_breach(received, intake):
    # Triage was due Tuesday 15:00; the referral is cancelled on Wednesday.
    referral_transition(
        referral_id=received.pk,
        to_state=State.CANCELLED,
        actor=intake,
        reason=CancelReason.REFERRER_WITHDREW,
        occurred_at=at(3, 4, 10),
    )
    outcomes = dict(received.clocks.values_list("kind", "outcome"))
    assert outcomes[TargetKind.TRIAGE] == ClockStatus.MISSED
    assert outcomes[TargetKind.ACKNOWLEDGE] == ClockStatus.MISSED
    assert outcomes[TargetKind.APPOINTMENT] == ClockStatus.ENDED  # 30 days were not up
    assert fresh(received).next_due_at is None
    assert not received.clocks.filter(due_at__isnull=False).exists()


def test_it_reopens_the_appointment_clock_when_the_appointment_is_cancelled(
    received, intake, triage, scheduler
):
    accept(received, intake, triage, at(3, 2, 9))
    book(received, scheduler, booked=at(3, 2, 10), visit=at(3, 20, 9))
    assert clock(received, TargetKind.APPOINTMENT).outcome == ClockStatus.MET
    appointment_record_outcome(
        referral_id=received.pk, outcome="cancelled", actor=scheduler, occurred_at=at(3, 3, 10)
    )
    reopened = clock(received, TargetKind.APPOINTMENT)
    assert fresh(received).state == State.ACCEPTED
    assert reopened.stopped_at is None
    assert reopened.outcome == ""
    assert reopened.due_at == MONDAY.astimezone(dt.UTC) + dt.timedelta(days=30)
    assert reopened.status(now=at(3, 4, 9)) == ClockStatus.ON_TRACK


def test_it_keeps_a_missed_appointment_clock_missed_when_the_appointment_is_cancelled(
    received, intake, triage, scheduler
):
    accept(received, intake, triage, at(3, 2, 9))
    book(received, scheduler, booked=at(3, 2, 10), visit=at(5, 20, 9))
    appointment_record_outcome(
        referral_id=received.pk, outcome="cancelled", actor=scheduler, occurred_at=at(3, 3, 10)
    )
    missed = clock(received, TargetKind.APPOINTMENT)
    assert missed.outcome == ClockStatus.MISSED
    assert missed.due_at is None
    # The referral row does not count a finished clock as due.
    due = [c.due_at for c in received.clocks.all() if c.due_at]
    assert fresh(received).next_due_at == min(due)


def test_it_starts_the_report_clock_at_the_visit_and_stops_it_when_the_report_goes(
    received, intake, triage, scheduler, care_team
):
    from refloop.loop.services import report_send

    accept(received, intake, triage, at(3, 2, 9))
    book(received, scheduler, booked=at(3, 2, 10), visit=at(3, 9, 9))
    appointment_record_outcome(referral_id=received.pk, outcome="attended", actor=scheduler)
    report = clock(received, TargetKind.REPORT)
    assert report.started_at == at(3, 9, 9)
    report_send(
        referral_id=received.pk, incoming=factories.notes_pdf(), channel="fax", actor=care_team
    )
    # Sent today, months after the visit: 40 business hours were long gone.
    assert clock(received, TargetKind.REPORT).outcome == ClockStatus.MISSED
