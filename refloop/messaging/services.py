"""Queueing messages to patients, referrers and staff. Sending is done by backends (see
messaging.backends) from a task queued on commit, and retried by the scheduler."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from refloop.core.errors import DomainError, NotFound
from refloop.directory.queries import (
    patient_consents,
    patient_ids_with_phone,
    phone_national_digits,
    service_line_names,
)
from refloop.directory.services import patient_sms_opt_in, patient_sms_opt_out
from refloop.messaging.enums import (
    REPLY_PURPOSES,
    Audience,
    InboundAction,
    MessageChannel,
    MessageStatus,
    Purpose,
)
from refloop.messaging.models import InboundMessage, OutboundMessage
from refloop.messaging.rules import inbound_keyword, sms_content_problems

log = logging.getLogger(__name__)


def message_queue(
    *,
    audience: str,
    purpose: str,
    channel: str,
    to_address: str,
    body: str,
    subject: str = "",
    referral_id: int | None = None,
    patient_id: int | None = None,
    clinician_id: int | None = None,
    document_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[OutboundMessage, bool]:
    """Queue one message; returns (message, created). With a dedupe_key already used, nothing is
    queued and the existing message comes back: the caller's work was done before.

    A text that breaks the content rules (length, the practice's name, no clinical service) is
    refused here, with DomainError, so the caller sees it at once rather than a failed row later.
    """
    if channel == MessageChannel.SMS:
        sms_content_check(body)
    if dedupe_key:
        existing = OutboundMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            message = OutboundMessage.objects.create(
                audience=audience,
                purpose=purpose,
                channel=channel,
                to_address=to_address,
                subject=subject,
                body=body,
                referral_id=referral_id,
                patient_id=patient_id,
                clinician_id=clinician_id,
                document_id=document_id,
                dedupe_key=dedupe_key or None,
                not_before=not_before or timezone.now(),
                expires_at=expires_at,
            )
    except IntegrityError:
        # Someone else queued the same message a moment ago.
        return OutboundMessage.objects.get(dedupe_key=dedupe_key), False
    _send_on_commit(message.pk)
    return message, True


def _send_on_commit(message_id: int) -> None:
    from refloop.messaging.tasks import message_send_task

    transaction.on_commit(lambda: message_send_task.enqueue(message_id))


def sms_content_check(body: str) -> None:
    problems = sms_content_problems(
        body,
        practice_name=settings.REFLOOP_PRACTICE_NAME,
        clinical_words=[*settings.REFLOOP_SMS_CLINICAL_WORDS, *service_line_names()],
    )
    if problems:
        raise DomainError(" ".join(problems), code="sms_content")


# Texts coming in: STOP, START, HELP ------------------------------------------------------------


def sms_receive(
    *, from_address: str, body: str, provider_id: str = "", received_at: dt.datetime | None = None
) -> InboundMessage:
    """Keep a text someone sent the practice and act on it at once: STOP (however it is put)
    opts every patient with that number out and suppresses their queued texts; START opts them
    in again; HELP is answered with the practice's name and phone. Each is confirmed by one reply,
    which is not counted against the limits. A webhook delivered twice acts once."""
    received_at = received_at or timezone.now()
    if provider_id:
        existing = InboundMessage.objects.filter(provider_id=provider_id).first()
        if existing is not None:
            return existing
    keyword = inbound_keyword(body)
    patient_ids = _patients_of_number(phone_national_digits(from_address))
    try:
        with transaction.atomic():
            action = _inbound_act(keyword, patient_ids, received_at)
            inbound = InboundMessage.objects.create(
                from_address=from_address,
                body=body,
                received_at=received_at,
                provider_id=provider_id or None,
                patient_id=patient_ids[0] if patient_ids else None,
                action=action,
            )
            reply = _reply_text(action, keyword, patient_ids)
            if reply:
                inbound.reply, _ = message_queue(
                    audience=Audience.PATIENT,
                    purpose=REPLY_PURPOSE[action],
                    channel=MessageChannel.SMS,
                    to_address=from_address,
                    body=reply,
                    patient_id=inbound.patient_id,
                    dedupe_key=f"sms-reply:{inbound.pk}",
                )
                inbound.save(update_fields=["reply"])
    except IntegrityError:
        # The same webhook, delivered twice at once: the other delivery did the work.
        return InboundMessage.objects.get(provider_id=provider_id)
    log.info("inbound text %s: %s", inbound.pk, action)
    return inbound


REPLY_PURPOSE = {
    InboundAction.OPTED_OUT: Purpose.OPT_OUT_CONFIRMATION,
    InboundAction.OPTED_IN: Purpose.OPT_OUT_CONFIRMATION,
    InboundAction.HELP: Purpose.SMS_REPLY,
    InboundAction.UNKNOWN_NUMBER: Purpose.SMS_REPLY,
}


def _inbound_act(keyword: str, patient_ids: list[int], at: dt.datetime) -> str:
    if not patient_ids:
        return InboundAction.UNKNOWN_NUMBER
    if keyword == "stop":
        patient_sms_opt_out(patient_ids=patient_ids, at=at)
        OutboundMessage.objects.filter(
            patient_id__in=patient_ids, channel=MessageChannel.SMS, status=MessageStatus.QUEUED
        ).exclude(purpose__in=REPLY_PURPOSES).update(
            status=MessageStatus.SUPPRESSED,
            status_reason=f"patient opted out of texts on {at:%Y-%m-%d}",
            lease_until=None,
        )
        return InboundAction.OPTED_OUT
    if keyword == "start":
        patient_sms_opt_in(patient_ids=patient_ids)
        return InboundAction.OPTED_IN
    if keyword == "help":
        return InboundAction.HELP
    return InboundAction.KEPT


def _reply_text(action: str, keyword: str, patient_ids: list[int]) -> str:
    practice, phone = settings.REFLOOP_PRACTICE_NAME, settings.REFLOOP_PRACTICE_PHONE
    if action == InboundAction.OPTED_OUT:
        return f"{practice}: you will get no more texts from us. Reply START to get them again."
    if action == InboundAction.OPTED_IN:
        if patient_consents(patient_ids=patient_ids):
            return f"{practice}: texts are back on. Reply STOP to stop, HELP for help."
        return f"{practice}: we have no consent to text you on file. Call {phone} to sign up."
    if action == InboundAction.HELP or (
        action == InboundAction.UNKNOWN_NUMBER and keyword == "help"
    ):
        return f"{practice}: for help call {phone}. Reply STOP to stop texts."
    return ""


def _patients_of_number(digits: str) -> list[int]:
    """Patients with this phone, and patients we texted at this number (their phone may have
    changed since): STOP from a number we texted must stop texts to it."""
    found = set(patient_ids_with_phone(digits=digits))
    if len(digits) >= 7:
        texted = (
            OutboundMessage.objects.filter(
                channel=MessageChannel.SMS,
                to_address__contains=digits[-4:],
                patient_id__isnull=False,
            )
            .values_list("patient_id", "to_address")
            .distinct()
        )
        found |= {pk for pk, to in texted if phone_national_digits(to) == digits}
    return sorted(found)


# Delivery status from the provider -------------------------------------------------------------

# Twilio's MessageStatus values, as ours. "queued", "accepted" and "sending" mean Twilio has it.
PROVIDER_STATUS = {
    "accepted": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}
# A status only moves forward (callbacks can arrive out of order). From queued too: a send that
# timed out is queued for a retry, but if Twilio's callback says it took the text, it did.
_UNSETTLED = [MessageStatus.QUEUED, MessageStatus.SENDING]
MOVES_FROM = {
    MessageStatus.SENT: _UNSETTLED,
    MessageStatus.DELIVERED: [*_UNSETTLED, MessageStatus.SENT],
    MessageStatus.FAILED: [*_UNSETTLED, MessageStatus.SENT],
}


def message_status_record(
    *,
    provider_id: str,
    provider_status: str,
    error_code: str = "",
    message_id: int | None = None,
    now: dt.datetime | None = None,
) -> OutboundMessage:
    """What the provider says became of a message. `message_id` is the one we put in the
    callback URL: it finds the message even if we crashed before writing the provider's id."""
    now = now or timezone.now()
    message = None
    if provider_id:
        message = OutboundMessage.objects.filter(provider_id=provider_id).first()
    if message is None and message_id is not None:
        message = OutboundMessage.objects.filter(
            pk=message_id, provider_id__in=["", provider_id]
        ).first()
    if message is None:
        raise NotFound("No message has this provider id.")
    if not message.provider_id:
        OutboundMessage.objects.filter(pk=message.pk, provider_id="").update(
            provider_id=provider_id
        )
    status = PROVIDER_STATUS.get(provider_status.lower())
    if status is None:
        return message
    changes = {"status": status, "lease_until": None}
    if status == MessageStatus.SENT:
        changes.update(sent_at=Coalesce("sent_at", Value(now)), status_reason="")
    elif status == MessageStatus.DELIVERED:
        changes.update(delivered_at=now, status_reason="")
    else:
        code = f" (error {error_code})" if error_code else ""
        changes.update(failed_at=now, status_reason=f"provider: {provider_status}{code}"[:200])
    OutboundMessage.objects.filter(pk=message.pk, status__in=MOVES_FROM[status]).update(**changes)
    message.refresh_from_db()
    return message
