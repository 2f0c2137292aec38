"""SIU^S12 (booked), S13 (rescheduled), S14 (modified), S15 (cancelled), S26 (no-show) from a
partner that books in its own EHR: recorded through access.services as a booking by hand.

The trigger event carries the meaning (SCH-6 often still says "Add", and AIS-10 "Booked").

Which referral (in this order):
1. the appointment seen before: SCH-2 (filler id), else SCH-1 (placer id), from the same facility,
   remembered at the booking;
2. SCH-26 (placer order number): our referral number (R-0000123), or the sender's own referral id
   (RF1-6 of its REF^I12) from the same facility;
3. the patient (PID-3 MRN, else name and date of birth) with exactly one open referral that can be
   booked (accepted, scheduled or no-show), on the partner's default service line when it has one.
None, or more than one: refused (AE), never guessed.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from refloop.access.models import Appointment
from refloop.access.services import appointment_book, appointment_record_outcome
from refloop.directory.models import Patient
from refloop.interop.hl7v2.handlers.common import Context, Outcome, mrn_of, patient_data
from refloop.interop.hl7v2.models import Hl7AppointmentLink
from refloop.interop.hl7v2.parsing import Hl7Problem, Reader, datetime_of
from refloop.referrals.enums import State
from refloop.referrals.models import Referral

BOOKABLE = (State.ACCEPTED, State.SCHEDULED, State.NO_SHOW)


def book(context: Context) -> Outcome:
    """S12, S13, S14: the visit is at this time and place. A booking whose time and place are
    what we hold already changes nothing (a resent S12, an S14 about other details)."""
    referral = referral_for(context)
    starts_at, location = when_of(context.reader), where_of(context.reader)
    current = booked_appointment(referral)
    trigger = context.header.trigger
    if current and current.starts_at == starts_at and current.location == location:
        return Outcome(
            False,
            f"{referral.number} unchanged: SIU^{trigger} changes nothing we keep.",
            referral.pk,
        )
    appointment_book(
        referral_id=referral.pk, actor=None, starts_at=starts_at, location=location[:200]
    )
    link_remember(context, referral)
    verb = "booked" if current is None else "rebooked"
    return Outcome(True, f"{referral.number} {verb} (SIU^{trigger}).", referral.pk)


def cancel(context: Context) -> Outcome:
    """S15: the appointment is cancelled; the referral goes back to accepted, to be rebooked."""
    referral = referral_for(context)
    if booked_appointment(referral) is None:
        raise Hl7Problem(
            f"{referral.number} has no booked appointment to cancel.", code="204", location="SCH"
        )
    appointment_record_outcome(
        referral_id=referral.pk, outcome=Appointment.Outcome.CANCELLED, actor=None
    )
    return Outcome(True, f"{referral.number}: appointment cancelled (SIU^S15).", referral.pk)


def no_show(context: Context) -> Outcome:
    """S26: the patient did not come."""
    referral = referral_for(context)
    if booked_appointment(referral) is None:
        raise Hl7Problem(
            f"{referral.number} has no booked appointment to mark missed.",
            code="204",
            location="SCH",
        )
    appointment_record_outcome(
        referral_id=referral.pk, outcome=Appointment.Outcome.NO_SHOW, actor=None
    )
    return Outcome(True, f"{referral.number}: no-show recorded (SIU^S26).", referral.pk)


def booked_appointment(referral: Referral) -> Appointment | None:
    return referral.appointments.filter(outcome=Appointment.Outcome.BOOKED).last()


def when_of(reader: Reader):
    """TQ1-7 (start), else SCH-11.4 (the older TQ), else AIS-4."""
    zone = ZoneInfo(settings.TIME_ZONE)
    for segment, field, component, where in (
        ("TQ1", 7, 1, "TQ1^1^7"),
        ("SCH", 11, 4, "SCH^1^11"),
        ("AIS", 4, 1, "AIS^1^4"),
    ):
        value = reader.get(segment, field, component)
        if value:
            return datetime_of(value, where=where, default_tz=zone)
    raise Hl7Problem(
        "No appointment time: TQ1-7, SCH-11.4 and AIS-4 are all empty.", code="101", location="TQ1"
    )


def where_of(reader: Reader) -> str:
    """AIL-3 (point of care, room, facility), first resource group."""
    parts = [reader.get("AIL", 3, n) for n in (1, 2, 4)]
    if not any(parts):
        parts = [reader.get("AIL", 3, 1, sub=n) for n in (1, 2)]
    return " ".join(p for p in parts if p)


def appointment_ids(context: Context) -> list[str]:
    reader = context.reader
    ids = [reader.get("SCH", 2, 1), reader.get("SCH", 1, 1)]
    return [i[:80] for i in ids if i]


def link_remember(context: Context, referral: Referral) -> None:
    for appointment_id in appointment_ids(context):
        try:
            with transaction.atomic():
                Hl7AppointmentLink.objects.get_or_create(
                    sending_facility=context.header.facility,
                    appointment_id=appointment_id,
                    defaults={"referral": referral},
                )
        except IntegrityError:
            pass  # remembered by a message processed at the same moment


def referral_for(context: Context) -> Referral:
    if not context.reader.has("SCH"):
        raise Hl7Problem("An SIU needs an SCH segment.", code="100", location="SCH")
    facility = context.header.facility
    for appointment_id in appointment_ids(context):
        link = (
            Hl7AppointmentLink.objects.filter(
                sending_facility=facility, appointment_id=appointment_id
            )
            .select_related("referral")
            .first()
        )
        if link:
            return link.referral
    referral = _by_order_number(context)
    return referral or _by_patient(context)


def _by_order_number(context: Context) -> Referral | None:
    reader = context.reader
    value = reader.get("SCH", 26, 1)
    if not value:
        return None
    pk = Referral.pk_from_number(value)
    if pk is not None:
        referral = Referral.objects.filter(pk=pk).first()
        if referral:
            return referral
    namespace = reader.get("SCH", 26, 2)
    references = [f"{value}^{namespace}", value] if namespace else [value]
    return Referral.objects.filter(
        sender_reference__in=references,
        sender_system__endswith=f"^{context.header.facility}",
    ).first()


def _by_patient(context: Context) -> Referral:
    reader = context.reader
    mrn = mrn_of(reader) if reader.has("PID") else ""
    patient = Patient.objects.filter(mrn=mrn).first() if mrn else None
    if patient is None and reader.has("PID"):
        data = patient_data(reader)
        patient = Patient.objects.filter(
            first_name__iexact=data.first_name,
            last_name__iexact=data.last_name,
            birth_date=data.birth_date,
        ).first()
    if patient is None:
        raise Hl7Problem(
            # The MRN is not quoted: this text is listed on a page that writes no access log.
            "No referral for this appointment: SCH-1/SCH-2/SCH-26 are unknown here and no "
            "patient matches PID-3 or PID-5/PID-7.",
            code="204",
            location="PID^1^3",
        )
    candidates = Referral.objects.filter(patient=patient, state__in=BOOKABLE)
    partner = context.partner
    if partner and partner.default_service_line_id:
        candidates = candidates.filter(service_line_id=partner.default_service_line_id)
    found = list(candidates[:2])
    waiting = Referral.objects.filter(patient=patient, state__in=(State.RECEIVED, State.TRIAGE))
    if not found and (early := waiting.first()) is not None:
        raise Hl7Problem(
            f"{early.number} is {early.get_state_display().lower()}: it must be accepted before "
            "a visit is booked.",
            code="207",
            location="SCH",
        )
    if len(found) != 1:
        what = "no open referral that can be booked" if not found else "several open referrals"
        raise Hl7Problem(
            f"The patient has {what}; send SCH-26 with the referral number to say which.",
            code="204",
            location="SCH^1^26",
        )
    return found[0]
