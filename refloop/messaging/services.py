"""Queueing messages to patients, referrers and staff. Sending is done by backends (see
messaging.backends) from a task queued on commit, and retried by the scheduler."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from refloop.messaging.models import OutboundMessage


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
    queued and the existing message comes back: the caller's work was done before."""
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
