"""Recording appointments and their outcomes against a referral."""

import datetime as dt

from django.db import transaction

from refloop.access.models import Appointment
from refloop.core.errors import DomainError
from refloop.referrals.enums import State
from refloop.referrals.services import referral_transition


@transaction.atomic
def appointment_book(
    *,
    referral_id: int,
    starts_at: dt.datetime,
    actor,
    clinician_id: int | None = None,
    location: str = "",
    expected_version: int | None = None,
    occurred_at: dt.datetime | None = None,
    slot_id: int | None = None,
) -> Appointment:
    """Book (or rebook) the visit: the referral becomes scheduled."""
    # (Helper E: minimal slot_id support and the instructions hook; the scheduling helper's
    # appointment_book replaces this.)
    from refloop.access.services.instructions import instructions_send

    previous = Appointment.objects.filter(
        referral_id=referral_id, outcome=Appointment.Outcome.BOOKED
    )
    referral = referral_transition(
        referral_id=referral_id,
        to_state=State.SCHEDULED,
        actor=actor,
        appointment_at=starts_at,
        expected_version=expected_version,
        occurred_at=occurred_at,
    )
    previous.update(outcome=Appointment.Outcome.REBOOKED)
    appointment = Appointment.objects.create(
        referral=referral,
        starts_at=starts_at,
        clinician_id=clinician_id,
        location=location,
        booked_by=actor,
        slot_id=slot_id,
    )
    instructions_send(appointment_id=appointment.pk)
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
    referral_transition(
        referral_id=referral_id,
        to_state=OUTCOME_STATE[outcome],
        actor=actor,
        occurred_at=occurred_at,
        expected_version=expected_version,
        details={"appointment_id": appointment.pk},
    )
    appointment.outcome = outcome
    appointment.save(update_fields=["outcome"])
    return appointment
