"""Booking appointments (from a free slot of the calendar, or by hand) and recording their
outcomes against a referral."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from refloop.access.models import Appointment, Slot
from refloop.access.queries import held_visible_to_routine, is_urgent, taken
from refloop.access.services.authorization import authorization_booking_problem
from refloop.access.services.instructions import instructions_send
from refloop.access.services.waitlist import waitlist_slot_freed
from refloop.core.errors import Conflict, DomainError, NotAllowed, NotFound
from refloop.referrals.enums import CancelReason, State
from refloop.referrals.models import Referral
from refloop.referrals.services import referral_transition

SLOT_TAKEN = "That slot was just taken; choose another."
# Managers may type a time in by hand even on a line that books from its calendar (a visit
# arranged outside it); "correct_event" is the permission only managers and admins hold.
HAND_ENTRY_PERMISSION = "core.correct_event"


def hand_entry_allowed(*, service_line, actor) -> bool:
    """Whether `actor` may book by typing a time in: lines that book in their EHR
    (uses_calendar off) or whose calendar is not set up yet, managers, and the system."""
    return (
        actor is None
        or not service_line.uses_calendar
        or not service_line.visit_types.exists()
        or actor.has_perm(HAND_ENTRY_PERMISSION)
    )


def _slot_for(referral: Referral, slot_id: int, now: dt.datetime) -> Slot:
    slot = Slot.objects.filter(pk=slot_id).first()
    if slot is None or slot.service_line_id != referral.service_line_id:
        raise NotFound("No such slot on this referral's service line.")
    if slot.withdrawn:
        raise DomainError("That slot was withdrawn; choose another.", code="slot_withdrawn")
    if slot.starts_at <= now:
        raise DomainError("That slot has already started; choose another.", code="slot_past")
    if (
        not is_urgent(referral.priority)
        and not Slot.objects.filter(held_visible_to_routine(now), pk=slot.pk).exists()
    ):
        raise DomainError(
            "That slot is held for urgent referrals; choose another.", code="slot_held"
        )
    if Slot.objects.filter(taken(), pk=slot.pk).exists():
        raise Conflict(SLOT_TAKEN, code="slot_taken")
    return slot


def _slots_given_back(*, slot_ids, now: dt.datetime) -> None:
    """A slot given back before its start goes to the waitlist; a past one helps nobody."""
    for slot_id in Slot.objects.filter(pk__in=slot_ids, starts_at__gt=now).values_list(
        "pk", flat=True
    ):
        waitlist_slot_freed(slot_id=slot_id, now=now)


@transaction.atomic
def appointment_book(
    *,
    referral_id: int,
    actor,
    starts_at: dt.datetime | None = None,
    slot_id: int | None = None,
    clinician_id: int | None = None,
    location: str = "",
    expected_version: int | None = None,
    occurred_at: dt.datetime | None = None,
    override_authorization: bool = False,
) -> Appointment:
    """Book (or rebook) the visit: on a free slot of the calendar (its time, clinician and
    location), or at a time typed in by hand. The referral becomes scheduled; a rebooking gives
    the old slot back."""
    now = timezone.now()
    referral = Referral.objects.select_related("service_line").filter(pk=referral_id).first()
    if referral is None:
        raise NotFound("No such referral.")
    slot = None
    if slot_id is not None:
        slot = _slot_for(referral, slot_id, now)
        starts_at, clinician_id, location = slot.starts_at, slot.clinician_id, slot.location
    elif starts_at is None:
        raise DomainError("Choose a free slot or enter a time.", code="appointment_required")
    elif not hand_entry_allowed(service_line=referral.service_line, actor=actor):
        raise NotAllowed("This service line books from its calendar: choose a free slot.")
    problem = authorization_booking_problem(referral_id=referral_id, starts_at=starts_at)
    if problem and not override_authorization:
        raise DomainError(problem, code="authorization")

    previous = Appointment.objects.filter(
        referral_id=referral_id, outcome=Appointment.Outcome.BOOKED
    )
    given_back = [s for s in previous.values_list("slot_id", flat=True) if s]
    referral = referral_transition(
        referral_id=referral_id,
        to_state=State.SCHEDULED,
        actor=actor,
        appointment_at=starts_at,
        expected_version=expected_version,
        occurred_at=occurred_at,
        details={"slot_id": slot.pk} if slot else None,
    )
    previous.update(outcome=Appointment.Outcome.REBOOKED)
    try:
        # The database has the final word on a slot raced for: slot_booked_once.
        with transaction.atomic():
            appointment = Appointment.objects.create(
                referral=referral,
                starts_at=starts_at,
                clinician_id=clinician_id,
                location=location,
                slot=slot,
                booked_by=actor,
            )
    except IntegrityError:
        raise Conflict(SLOT_TAKEN, code="slot_taken") from None
    instructions_send(appointment_id=appointment.pk)
    _slots_given_back(slot_ids=[s for s in given_back if s != (slot and slot.pk)], now=now)
    return appointment


OUTCOME_STATE = {
    Appointment.Outcome.ATTENDED: State.COMPLETED,
    Appointment.Outcome.NO_SHOW: State.NO_SHOW,
    Appointment.Outcome.CANCELLED: State.ACCEPTED,
}


@transaction.atomic
def appointment_record_outcome(
    *,
    referral_id: int,
    outcome: str,
    actor,
    occurred_at: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Appointment:
    """Attended, no-show or cancelled. A cancelled appointment gives its slot back; the no-show
    that reaches the line's limit cancels the referral (the system's decision, at the same
    time)."""
    appointment = Appointment.objects.filter(
        referral_id=referral_id, outcome=Appointment.Outcome.BOOKED
    ).last()
    if appointment is None:
        raise DomainError("There is no booked appointment to record.", code="no_appointment")
    if outcome not in OUTCOME_STATE:
        raise DomainError("Choose attended, no-show or cancelled.", code="outcome")
    if occurred_at is None and outcome != Appointment.Outcome.CANCELLED:
        # The visit (or the missed visit) happened at the appointment's time, unless the booking
        # itself was recorded later than that.
        occurred_at = max(appointment.starts_at, appointment.referral.state_changed_at)
    referral = referral_transition(
        referral_id=referral_id,
        to_state=OUTCOME_STATE[outcome],
        actor=actor,
        occurred_at=occurred_at,
        expected_version=expected_version,
        details={"appointment_id": appointment.pk},
    )
    appointment.outcome = outcome
    appointment.save(update_fields=["outcome"])
    if outcome == Appointment.Outcome.CANCELLED and appointment.slot_id:
        _slots_given_back(slot_ids=[appointment.slot_id], now=timezone.now())
    if outcome == Appointment.Outcome.NO_SHOW:
        _no_show_limit(referral, referral.state_changed_at)
    return appointment


def _no_show_limit(referral: Referral, occurred_at: dt.datetime) -> None:
    limit = referral.service_line.no_show_limit
    missed = referral.appointments.filter(outcome=Appointment.Outcome.NO_SHOW).count()
    if limit and missed >= limit:
        referral_transition(
            referral_id=referral.pk,
            to_state=State.CANCELLED,
            actor=None,
            reason=CancelReason.NO_SHOW_LIMIT,
            occurred_at=occurred_at,
            details={"no_shows": missed},
        )


@transaction.atomic
def appointment_no_show_rebook(
    *,
    referral_id: int,
    actor,
    slot_id: int | None = None,
    starts_at: dt.datetime | None = None,
    clinician_id: int | None = None,
    location: str = "",
    expected_version: int | None = None,
    override_authorization: bool = False,
) -> Appointment | None:
    """Record the no-show and book the next visit in one step. If that no-show reached the
    line's limit the referral is cancelled instead and nothing is booked (returns None)."""
    appointment_record_outcome(
        referral_id=referral_id,
        outcome=Appointment.Outcome.NO_SHOW,
        actor=actor,
        expected_version=expected_version,
    )
    if Referral.objects.filter(pk=referral_id, state=State.CANCELLED).exists():
        return None
    return appointment_book(
        referral_id=referral_id,
        actor=actor,
        slot_id=slot_id,
        starts_at=starts_at,
        clinician_id=clinician_id,
        location=location,
        override_authorization=override_authorization,
    )


@transaction.atomic
def referral_cancel(
    *,
    referral_id: int,
    reason: str,
    actor,
    note: str = "",
    occurred_at: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Referral:
    """Cancel the referral; a visit still booked is cancelled with it and its slot given back.
    Everyone who cancels a referral that may be booked should come through here."""
    referral = referral_transition(
        referral_id=referral_id,
        to_state=State.CANCELLED,
        actor=actor,
        reason=reason,
        note=note,
        occurred_at=occurred_at,
        expected_version=expected_version,
    )
    booked = Appointment.objects.filter(referral_id=referral_id, outcome=Appointment.Outcome.BOOKED)
    slot_ids = [s for s in booked.values_list("slot_id", flat=True) if s]
    booked.update(outcome=Appointment.Outcome.CANCELLED)
    _slots_given_back(slot_ids=slot_ids, now=timezone.now())
    return referral
