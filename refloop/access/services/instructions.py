"""Visit instructions, sent when a visit is booked: by e-mail and a short text to patients who
agreed to them, as a printable letter to those who did not."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

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
from refloop.core.pdf import Section, pdf_letter
from refloop.directory.enums import DocumentKind
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.services import message_queue
from refloop.referrals.services import IncomingDocument, document_add

LETTER_TITLE = "Instructions letter"
ENGLISH = "english"


def instructions_text(*, service_line, language: str) -> str:
    """The service line's instructions in `language` if translated, else in English, else its
    own `patient_instructions`."""
    texts = {row.language.strip().casefold(): row.text for row in service_line.instructions.all()}
    return (
        texts.get((language or "").strip().casefold())
        or texts.get(ENGLISH)
        or service_line.patient_instructions
    )


def _appointment(appointment_id: int) -> Appointment:
    return Appointment.objects.select_related(
        "referral__patient", "referral__service_line", "slot"
    ).get(pk=appointment_id)


def visit_location(appointment: Appointment) -> str:
    return appointment.location or (appointment.slot.location if appointment.slot else "")


@transaction.atomic
def instructions_send(*, appointment_id: int) -> list:
    """Queue the visit's instructions (called by appointment_book inside its transaction: what
    is queued here is committed, and sent, only if the booking is). Also plans the reminders.
    Returns the messages queued."""
    from refloop.access.services.reminders import reminder_plan

    appointment = _appointment(appointment_id)
    referral, patient = appointment.referral, appointment.referral.patient
    reminder_plan(appointment=appointment)
    zone = patient_zone(patient)
    common = dict(
        audience=Audience.PATIENT,
        purpose=Purpose.INSTRUCTIONS,
        referral_id=referral.pk,
        patient_id=patient.pk,
        expires_at=appointment.starts_at,
    )
    queued = []
    channels = patient_channels(patient)
    if MessageChannel.EMAIL in channels:
        queued.append(
            message_queue(
                channel=MessageChannel.EMAIL,
                to_address=patient.email,
                subject=email_subject(),
                body=_email_body(appointment, zone),
                dedupe_key=f"instructions:{appointment.pk}:email",
                **common,
            )
        )
    if MessageChannel.SMS in channels:
        link = patient_link_make(
            appointment_id=appointment.pk,
            purpose="manage",
            expires_at=appointment.starts_at,
        )
        when = visit_when_short(appointment.starts_at, zone)
        queued.append(
            message_queue(
                channel=MessageChannel.SMS,
                to_address=patient.phone,
                body=sms_text(SMS_TEMPLATES[0].format(when=when, link=link)),
                dedupe_key=f"instructions:{appointment.pk}:sms",
                **common,
            )
        )
    if not channels:
        letter = instructions_letter_make(appointment_id=appointment.pk, actor=None)
        queued.append(
            message_queue(
                channel=MessageChannel.LETTER,
                to_address=_postal_address(patient) or "(no address on file)",
                body="Print the instructions letter and post it to the patient.",
                document_id=letter.pk,
                dedupe_key=f"instructions:{appointment.pk}:letter",
                **common,
            )
        )
    return [message for message, _ in queued]


def _email_body(appointment: Appointment, zone) -> str:
    line = appointment.referral.service_line
    text = instructions_text(
        service_line=line, language=appointment.referral.patient.preferred_language
    )
    parts = [
        f"Your appointment with {settings.REFLOOP_PRACTICE_NAME}:",
        "",
        f"When: {visit_when_long(appointment.starts_at, zone)}",
        f"Where: {visit_location(appointment) or settings.REFLOOP_PRACTICE_ADDRESS}",
    ]
    if text:
        parts += ["", "Before your visit:", text]
    return "\n".join(parts) + email_footer()


def _postal_address(patient) -> str:
    return ", ".join(p for p in (patient.address, _city_line(patient)) if p)


def instructions_letter_make(*, appointment_id: int, actor):
    """The printable letter for a visit, stored on the referral as a document (made once per
    appointment; asking again gives the same document)."""
    appointment = _appointment(appointment_id)
    if appointment.instructions_letter_id:
        return appointment.instructions_letter
    referral, patient = appointment.referral, appointment.referral.patient
    zone = patient_zone(patient)
    text = instructions_text(
        service_line=referral.service_line, language=patient.preferred_language
    )
    content = pdf_letter(
        title="Your appointment",
        preamble=[
            f"{patient.first_name} {patient.last_name}",
            *[p for p in (patient.address, _city_line(patient)) if p],
            "",
            timezone.localtime(timezone.now(), zone).strftime("%B %-d, %Y"),
        ],
        sections=[
            Section("When", visit_when_long(appointment.starts_at, zone)),
            Section("Where", visit_location(appointment) or settings.REFLOOP_PRACTICE_ADDRESS),
            Section("Before your visit", text or "Bring a photo ID and your insurance card."),
        ],
        footer=(
            f"To change or cancel your visit, call {settings.REFLOOP_PRACTICE_NAME} at "
            f"{settings.REFLOOP_PRACTICE_PHONE}."
        ),
        metadata_title="Letter",
    )
    document = document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(
            kind=DocumentKind.OTHER,
            filename="instructions-letter.pdf",
            content=content,
            title=LETTER_TITLE,
        ),
        actor=actor,
    )
    Appointment.objects.filter(pk=appointment.pk).update(instructions_letter=document)
    return document


def _city_line(patient) -> str:
    return " ".join(p for p in (patient.city, patient.state, patient.postal_code) if p)
