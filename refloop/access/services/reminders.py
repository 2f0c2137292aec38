"""Reminders before a visit, per the service line's `reminder_days` ("7,2"): at 10:00 in the
patient's time zone, N days before the visit, a text and an e-mail with links to confirm, cancel
or ask to reschedule.

The appointment keeps the next moment a reminder falls due (`next_reminder_at`); the scheduler
claims the due ones with a lease (access.jobs) and calls `reminder_send_due`. Each reminder's
message has its own dedupe key, so a pass run twice, or two schedulers, never send one twice.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from refloop.access.models import Appointment
from refloop.access.services.links import patient_link_make
from refloop.access.services.patient_channels import (
    SMS_TEMPLATES,
    email_footer,
    email_subject,
    patient_channels,
    patient_zone,
    sms_text,
    visit_when_long,
    visit_when_short,
)
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.services import message_queue

REMINDER_HOUR = dt.time(10, 0)
# A reminder due within this long after booking is skipped: the instructions just went out.
BOOKING_QUIET = dt.timedelta(hours=24)


def reminder_days(text: str) -> list[int]:
    """ "7,2" -> [7, 2]; anything that is not a positive whole number is ignored."""
    days = {int(p) for p in (text or "").replace(" ", "").split(",") if p.isdigit() and int(p)}
    return sorted(days, reverse=True)


def reminder_moments(appointment: Appointment) -> list[tuple[int, dt.datetime]]:
    """(days before, moment) for each reminder of the visit, earliest first."""
    referral = appointment.referral
    zone = patient_zone(referral.patient)
    visit_day = appointment.starts_at.astimezone(zone).date()
    return [
        (days, dt.datetime.combine(visit_day - dt.timedelta(days=days), REMINDER_HOUR, zone))
        for days in reminder_days(referral.service_line.reminder_days)
    ]


def _next_after(appointment: Appointment, after: dt.datetime) -> dt.datetime | None:
    return min(
        (at for _, at in reminder_moments(appointment) if after < at < appointment.starts_at),
        default=None,
    )


def reminder_plan(*, appointment: Appointment) -> dt.datetime | None:
    """Set the first reminder moment of a newly booked visit."""
    next_at = _next_after(appointment, appointment.booked_at + BOOKING_QUIET)
    Appointment.objects.filter(pk=appointment.pk).update(next_reminder_at=next_at)
    appointment.next_reminder_at = next_at
    return next_at


def reminder_send_due(*, appointment_id: int, now: dt.datetime) -> int:
    """Queue the reminder that is due now (only the latest one, if the scheduler was away for
    two) and move the appointment on to its next one; returns messages queued."""
    with transaction.atomic():
        appointment = Appointment.objects.select_related(
            "referral__patient", "referral__service_line", "slot"
        ).get(pk=appointment_id)
        seen = appointment.next_reminder_at
        queued, next_at = 0, None
        if appointment.outcome == Appointment.Outcome.BOOKED and appointment.starts_at > now:
            due = [days for days, at in reminder_moments(appointment) if at <= now]
            if due:
                queued = _queue_reminder(appointment, min(due))
            next_at = _next_after(appointment, now)
        # Unless someone rebooked or re-planned it meanwhile.
        Appointment.objects.filter(pk=appointment.pk, next_reminder_at=seen).update(
            next_reminder_at=next_at
        )
        Appointment.objects.filter(pk=appointment.pk).update(reminder_lease_until=None)
    return queued


def _queue_reminder(appointment: Appointment, days: int) -> int:
    from refloop.access.services.instructions import visit_location

    referral, patient = appointment.referral, appointment.referral.patient
    zone = patient_zone(patient)
    common = dict(
        audience=Audience.PATIENT,
        purpose=Purpose.REMINDER,
        referral_id=referral.pk,
        patient_id=patient.pk,
        expires_at=appointment.starts_at,
    )
    key = f"reminder:{appointment.pk}:{days}d"
    created = 0
    channels = patient_channels(patient)
    if MessageChannel.SMS in channels:
        link = _link(appointment, "manage")
        when = visit_when_short(appointment.starts_at, zone)
        created += message_queue(
            channel=MessageChannel.SMS,
            to_address=patient.phone,
            body=sms_text(SMS_TEMPLATES[1].format(when=when, link=link)),
            dedupe_key=key,
            **common,
        )[1]
    if MessageChannel.EMAIL in channels:
        body = "\n".join(
            [
                f"A reminder of your appointment with {settings.REFLOOP_PRACTICE_NAME}:",
                "",
                f"When: {visit_when_long(appointment.starts_at, zone)}",
                f"Where: {visit_location(appointment) or settings.REFLOOP_PRACTICE_ADDRESS}",
                "",
                f"Confirm you are coming: {_link(appointment, 'confirm')}",
                f"Cancel the visit: {_link(appointment, 'cancel')}",
                f"Ask for another time: {_link(appointment, 'reschedule')}",
            ]
        )
        created += message_queue(
            channel=MessageChannel.EMAIL,
            to_address=patient.email,
            subject=email_subject("Reminder: your appointment"),
            body=body + email_footer(),
            dedupe_key=f"{key}:email",
            **common,
        )[1]
    return created


def _link(appointment: Appointment, purpose: str) -> str:
    return patient_link_make(
        appointment_id=appointment.pk, purpose=purpose, expires_at=appointment.starts_at
    )
