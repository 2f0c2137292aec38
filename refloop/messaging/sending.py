"""Sending one queued message through its channel's backend, once.

1. Claim: a conditional UPDATE moves the row from queued (due, lease free) or from sending with
   a lease that ran out (a killed sender) to `sending`, with a lease and one more attempt. Two
   workers racing for the same message: one UPDATE matches, the other matches nothing and stops.
2. Decide (rules.py): expired, no channel for a document, consent, STOP, limits, quiet hours.
   The decision for a text is taken holding the patient's row lock and, when it is "send",
   stamps `sent_at` at once: two texts to one patient claimed by two workers are counted one
   after the other, never both as "nothing sent yet".
3. Send, outside any transaction (a provider call must not hold locks), and record the outcome:
   sent with the provider's id; failed with the reason; or, if the provider is unavailable,
   queued again after a back-off. A crash anywhere leaves the row `sending` under its lease; the
   scheduler takes it again once the lease is over (see backends.twilio on what the provider
   offers against a resend).
Every decision lands in status and status_reason.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from refloop.directory.models import Patient
from refloop.messaging.backends import SendRefused, SendUnavailable, backend_for
from refloop.messaging.enums import COUNTED_PURPOSES, MessageChannel, MessageStatus
from refloop.messaging.models import OutboundMessage
from refloop.messaging.rules import WEEK, Decision, patient_zone, sms_decision

log = logging.getLogger(__name__)

# Longer than a provider call may take (Twilio's timeout is 20 s) plus the usual delay of its
# first status callback, so a slow send is not taken for a dead one.
SEND_LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
RETRY_BACKOFF = dt.timedelta(minutes=2)  # doubled after each failed attempt
NO_DOCUMENT_CHANNELS = frozenset({MessageChannel.EMAIL, MessageChannel.SMS})


def message_send(
    *, message_id: int, now: dt.datetime | None = None, held_lease: dt.datetime | None = None
) -> str:
    """Send the message if it is due and nobody else is sending it; returns its status.

    `held_lease`: the lease the scheduler set when it claimed the row (rows_claim), which lets
    this call take the row that the lease otherwise keeps from everyone else.
    """
    now = now or timezone.now()
    if not _claim(message_id, now, held_lease):
        return _status(message_id)
    message = OutboundMessage.objects.select_related("document").get(pk=message_id)
    decision = _decide(message, now)
    if decision.action == "suppress":
        return _finish(message, MessageStatus.SUPPRESSED, decision.reason)
    if decision.action == "fail":
        return _finish(message, MessageStatus.FAILED, decision.reason, failed_at=now)
    if decision.action == "defer":
        return _defer(message, decision)
    try:
        backend = backend_for(message.channel)
        result = backend.send(message)
    except SendRefused as error:
        return _finish(message, MessageStatus.FAILED, str(error), failed_at=now, sent_at=None)
    except SendUnavailable as error:
        return _retry_later(message, now, str(error))
    return _record_sent(message, provider_id=result.provider_id, backend=backend.name, now=now)


def _claim(message_id: int, now: dt.datetime, held_lease: dt.datetime | None) -> bool:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    if held_lease is not None:
        free |= Q(lease_until=held_lease)
    due = Q(status=MessageStatus.QUEUED, not_before__lte=now) | Q(status=MessageStatus.SENDING)
    claimed = OutboundMessage.objects.filter(due, free, pk=message_id).update(
        status=MessageStatus.SENDING, lease_until=now + SEND_LEASE, attempts=F("attempts") + 1
    )
    return claimed == 1


def _decide(message: OutboundMessage, now: dt.datetime) -> Decision:
    if message.attempts > MAX_ATTEMPTS:
        return Decision("fail", f"gave up after {MAX_ATTEMPTS} attempts")
    if message.expires_at is not None and message.expires_at <= now:
        return Decision("suppress", "expired before it could be sent")
    if message.document_id is not None and message.channel in NO_DOCUMENT_CHANNELS:
        channel = MessageChannel(message.channel).label.lower()
        return Decision(
            "fail", f"a document never goes by {channel}: use fax, Direct, the portal or post"
        )
    if message.channel != MessageChannel.SMS:
        return Decision("send")
    with transaction.atomic():
        patient = None
        if message.patient_id is not None:
            # The lock orders two senders of texts to the same patient (see the module doc).
            patient = Patient.objects.select_for_update().filter(pk=message.patient_id).first()
        decision = sms_decision(
            purpose=message.purpose,
            now=now,
            expires_at=message.expires_at,
            has_patient=patient is not None,
            consent=bool(patient and patient.sms_consent),
            opted_out_at=patient.sms_opted_out_at if patient else None,
            zone=patient_zone(patient.time_zone if patient else "", settings.TIME_ZONE),
            sent=_counted_sent(message, now) if patient else [],
        )
        if decision.action == "send":
            OutboundMessage.objects.filter(pk=message.pk).update(sent_at=now)
    return decision


def _counted_sent(message: OutboundMessage, now: dt.datetime) -> list[dt.datetime]:
    """When this patient's other counted texts went (ones on their way count as now)."""
    if message.purpose not in COUNTED_PURPOSES:
        return []
    rows = (
        OutboundMessage.objects.filter(
            patient_id=message.patient_id,
            channel=MessageChannel.SMS,
            purpose__in=COUNTED_PURPOSES,
            sent_at__gt=now - WEEK,
        )
        .exclude(pk=message.pk)
        .values_list("sent_at", flat=True)
    )
    return [min(sent_at, now) for sent_at in rows]


def _finish(message, status: str, reason: str, **times) -> str:
    OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=status, status_reason=reason[:200], lease_until=None, **times
    )
    log.info("message %s %s", message.pk, status)
    return status


def _defer(message, decision: Decision) -> str:
    # A deferral is not a send attempt: the claim's attempt is given back.
    OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.QUEUED,
        status_reason=decision.reason[:200],
        not_before=decision.not_before,
        lease_until=None,
        attempts=F("attempts") - 1,
    )
    return MessageStatus.QUEUED


def _retry_later(message, now: dt.datetime, reason: str) -> str:
    if message.attempts >= MAX_ATTEMPTS:
        return _finish(message, MessageStatus.FAILED, reason, failed_at=now, sent_at=None)
    retry_at = now + RETRY_BACKOFF * 2 ** (message.attempts - 1)
    OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.QUEUED,
        status_reason=f"{reason} Retry at {timezone.localtime(retry_at):%Y-%m-%d %H:%M}."[:200],
        not_before=retry_at,
        lease_until=None,
        sent_at=None,
    )
    log.info("message %s provider unavailable, retry %s", message.pk, message.attempts)
    return MessageStatus.QUEUED


def _record_sent(message, *, provider_id: str, backend: str, now: dt.datetime) -> str:
    done = OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT,
        status_reason="",
        sent_at=now,
        provider_id=provider_id,
        backend=backend,
        lease_until=None,
    )
    if not done:
        # The provider's status callback got here first; keep what it said, add who sent it.
        OutboundMessage.objects.filter(pk=message.pk).update(
            provider_id=provider_id, backend=backend, lease_until=None
        )
    log.info("message %s sent by %s", message.pk, backend)
    return _status(message.pk)


def _status(message_id: int) -> str | None:
    return OutboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first()
