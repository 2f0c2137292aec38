"""Booking from free slots: the urgent pathway, slots taken once, rebooking and cancelling give
slots back, and the no-show limit."""

import pytest

from refloop.access.models import Appointment, VisitType
from refloop.access.queries import free_slots
from refloop.access.services import (
    appointment_book,
    appointment_no_show_rebook,
    appointment_record_outcome,
    referral_cancel,
)
from refloop.core.errors import Conflict, DomainError, NotAllowed, NotFound
from refloop.referrals.enums import CancelReason, EventKind, State
from refloop.referrals.models import Referral
from tests import factories
from tests.access.conftest import accepted, in_days, slot
from tests.factories import ago


def test_it_books_a_free_slot_with_its_time_clinician_and_place(
    routine, consult, doctor, scheduler
):
    free = slot(consult, doctor, in_days(5))

    appointment = appointment_book(referral_id=routine.pk, slot_id=free.pk, actor=scheduler)

    assert (appointment.slot, appointment.starts_at, appointment.clinician) == (
        free,
        free.starts_at,
        doctor,
    )
    assert appointment.location == "Clinic 2"
    referral = Referral.objects.get(pk=routine.pk)
    assert (referral.state, referral.appointment_at) == (State.SCHEDULED, free.starts_at)
    assert free_slots(referral=referral) == []


def test_it_refuses_a_slot_already_taken(line, routine, consult, doctor, scheduler, intake, triage):
    free = slot(consult, doctor, in_days(5))
    appointment_book(referral_id=routine.pk, slot_id=free.pk, actor=scheduler)
    other = accepted(line, intake=intake, triage=triage)

    with pytest.raises(Conflict, match="That slot was just taken; choose another."):
        appointment_book(referral_id=other.pk, slot_id=free.pk, actor=scheduler)

    assert Referral.objects.get(pk=other.pk).state == State.ACCEPTED
    assert not Appointment.objects.filter(referral=other).exists()


def test_it_refuses_past_withdrawn_and_other_lines_slots(routine, consult, doctor, scheduler):
    other_line = factories.service_line(code="cardiology", name="Cardiology")
    elsewhere = VisitType.objects.create(service_line=other_line, code="new", name="New")
    cases = [
        (slot(consult, doctor, ago(hours=1)), DomainError, "already started"),
        (slot(consult, doctor, in_days(3), withdrawn=True), DomainError, "withdrawn"),
        (slot(elsewhere, doctor, in_days(4)), NotFound, "No such slot"),
    ]
    for refused, error, words in cases:
        with pytest.raises(error, match=words):
            appointment_book(referral_id=routine.pk, slot_id=refused.pk, actor=scheduler)
    assert Referral.objects.get(pk=routine.pk).state == State.ACCEPTED


def test_it_offers_the_line_visit_type_for_new_referrals_unless_asked(
    line, routine, consult, doctor
):
    procedure = VisitType.objects.create(service_line=line, code="proc", name="Procedure")
    new_visit = slot(consult, doctor, in_days(3))
    procedure_slot = slot(procedure, doctor, in_days(4))

    assert free_slots(referral=routine) == [new_visit]
    assert free_slots(referral=routine, visit_type_id=procedure.pk) == [procedure_slot]


def test_it_keeps_held_slots_from_routine_referrals(routine, consult, doctor, scheduler):
    held = slot(consult, doctor, in_days(3), held=True)
    open_slot = slot(consult, doctor, in_days(6))

    assert free_slots(referral=routine) == [open_slot]
    with pytest.raises(DomainError, match="held for urgent referrals"):
        appointment_book(referral_id=routine.pk, slot_id=held.pk, actor=scheduler)


def test_it_shows_urgent_referrals_the_held_slots_first(urgent, consult, doctor, scheduler):
    sooner = slot(consult, doctor, in_days(2))
    held_later = slot(consult, doctor, in_days(4), held=True)
    held_soon = slot(consult, doctor, in_days(3), held=True)

    assert free_slots(referral=urgent) == [held_soon, held_later, sooner]
    appointment = appointment_book(referral_id=urgent.pk, slot_id=held_soon.pk, actor=scheduler)
    assert appointment.slot == held_soon


def test_it_releases_a_held_slot_not_taken_shortly_before_it_starts(
    settings, routine, consult, doctor, scheduler
):
    settings.REFLOOP_URGENT_HOLD_RELEASE_HOURS = 24
    tonight = slot(consult, doctor, in_days(0.5), held=True)
    slot(consult, doctor, in_days(3), held=True)

    assert free_slots(referral=routine) == [tonight]
    appointment_book(referral_id=routine.pk, slot_id=tonight.pk, actor=scheduler)


def test_it_gives_the_old_slot_back_when_rebooked(routine, consult, doctor, scheduler):
    first, second = slot(consult, doctor, in_days(3)), slot(consult, doctor, in_days(5))
    appointment_book(referral_id=routine.pk, slot_id=first.pk, actor=scheduler)

    appointment_book(referral_id=routine.pk, slot_id=second.pk, actor=scheduler)

    assert free_slots(referral=routine) == [first]
    outcomes = dict(routine.appointments.values_list("slot_id", "outcome"))
    assert outcomes == {first.pk: "rebooked", second.pk: "booked"}


def test_it_gives_the_slot_back_when_the_appointment_or_referral_is_cancelled(
    line, routine, consult, doctor, scheduler, intake, triage
):
    first, second = slot(consult, doctor, in_days(3)), slot(consult, doctor, in_days(5))
    appointment_book(referral_id=routine.pk, slot_id=first.pk, actor=scheduler)
    other = accepted(line, intake=intake, triage=triage)
    appointment_book(referral_id=other.pk, slot_id=second.pk, actor=scheduler)

    appointment_record_outcome(referral_id=routine.pk, outcome="cancelled", actor=scheduler)
    referral_cancel(referral_id=other.pk, reason=CancelReason.PATIENT_DECLINED, actor=scheduler)

    assert free_slots(referral=routine) == [first, second]
    assert Referral.objects.get(pk=other.pk).state == State.CANCELLED
    assert other.appointments.get().outcome == "cancelled"


def test_it_keeps_hand_entry_for_lines_off_the_calendar_and_for_managers(
    line, routine, consult, scheduler, manager, intake, triage
):
    visit = in_days(4)
    with pytest.raises(NotAllowed, match="books from its calendar"):
        appointment_book(referral_id=routine.pk, starts_at=visit, actor=scheduler)

    appointment_book(referral_id=routine.pk, starts_at=visit, actor=manager)
    line.uses_calendar = False
    line.save()
    other = accepted(line, intake=intake, triage=triage)
    booked = appointment_book(referral_id=other.pk, starts_at=visit, actor=scheduler)
    assert (booked.slot, booked.starts_at) == (None, visit)


def test_it_cancels_the_referral_when_no_shows_reach_the_limit(line, routine, scheduler):
    line.no_show_limit = 2
    line.save()
    appointment_book(referral_id=routine.pk, starts_at=ago(hours=3), actor=scheduler)
    appointment_record_outcome(referral_id=routine.pk, outcome="no_show", actor=scheduler)
    assert Referral.objects.get(pk=routine.pk).state == State.NO_SHOW
    appointment_book(referral_id=routine.pk, starts_at=ago(hours=1), actor=scheduler)

    missed = appointment_record_outcome(referral_id=routine.pk, outcome="no_show", actor=scheduler)

    referral = Referral.objects.get(pk=routine.pk)
    assert (referral.state, referral.outcome_reason) == (State.CANCELLED, "no_show_limit")
    cancelled = referral.events.get(kind=EventKind.STATE_CHANGED, to_state=State.CANCELLED)
    no_show = referral.events.filter(to_state=State.NO_SHOW).latest("id")
    assert cancelled.actor is None and cancelled.from_state == State.NO_SHOW
    assert cancelled.occurred_at == no_show.occurred_at
    assert missed.outcome == "no_show"


def test_it_records_a_no_show_and_books_the_next_slot_in_one_step(
    line, routine, consult, doctor, scheduler
):
    line.uses_calendar = False  # the missed visit was typed in; the next one is a slot
    line.save()
    appointment_book(referral_id=routine.pk, starts_at=ago(hours=2), actor=scheduler)
    line.uses_calendar = True
    line.save()
    next_slot = slot(consult, doctor, in_days(4))

    booked = appointment_no_show_rebook(
        referral_id=routine.pk, slot_id=next_slot.pk, actor=scheduler
    )

    referral = Referral.objects.get(pk=routine.pk)
    assert (referral.state, booked.slot) == (State.SCHEDULED, next_slot)
    path = list(
        referral.events.filter(kind=EventKind.STATE_CHANGED)
        .order_by("id")
        .values_list("to_state", flat=True)
    )
    assert path[-3:] == [State.SCHEDULED, State.NO_SHOW, State.SCHEDULED]


def test_it_books_nothing_when_the_no_show_reaches_the_limit(
    line, routine, consult, doctor, scheduler, manager
):
    line.no_show_limit = 1
    line.save()
    # Typed in by a manager (a visit arranged outside the calendar), missed.
    appointment_book(referral_id=routine.pk, starts_at=ago(hours=2), actor=manager)
    next_slot = slot(consult, doctor, in_days(4))

    booked = appointment_no_show_rebook(
        referral_id=routine.pk, slot_id=next_slot.pk, actor=scheduler
    )

    assert booked is None
    assert Referral.objects.get(pk=routine.pk).state == State.CANCELLED
    assert free_slots(referral=routine) == [next_slot]
