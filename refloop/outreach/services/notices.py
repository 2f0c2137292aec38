"""Telling an event's registrants it is cancelled. A notice about an event someone registered
for is not marketing: it goes even to an address unsubscribed from campaigns."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from refloop.outreach.enums import EVENT_KINDS
from refloop.outreach.models import Activity, Registration

log = logging.getLogger(__name__)


def cancel_notices_queue(*, activity: Activity) -> None:
    """After an event is cancelled (on commit): tell each registrant, by a task. A notice about
    an event someone registered for is not marketing, so it goes even to an unsubscribed
    address."""
    if activity.kind not in EVENT_KINDS:
        return
    ids = list(activity.registrations.values_list("pk", flat=True))
    if not ids:
        return

    def enqueue():
        from refloop.outreach.tasks import cancel_notice_task

        for pk in ids:
            cancel_notice_task.enqueue(pk)

    transaction.on_commit(enqueue)


def cancel_notice_send(*, registration_id: int, now: dt.datetime | None = None) -> bool:
    """Send one registrant the cancellation, once (claimed by a conditional UPDATE); False
    when it went before."""
    now = now or timezone.now()
    claimed = Registration.objects.filter(pk=registration_id, cancel_notice_at__isnull=True).update(
        cancel_notice_at=now
    )
    if not claimed:
        return False
    registration = Registration.objects.select_related("activity").get(pk=registration_id)
    activity = registration.activity
    when = timezone.localtime(activity.starts_at)
    practice = settings.REFLOOP_PRACTICE_NAME
    body = "\n".join(
        [
            f"Dear {registration.name},",
            "",
            f"We are sorry: {activity.title} on {when:%A %B %-d, %Y at %-I:%M %p} is cancelled.",
            "You registered for it, so we let you know. There is nothing you need to do.",
            "",
            f"{practice}, {settings.REFLOOP_PRACTICE_PHONE}",
            settings.REFLOOP_PRACTICE_POSTAL_ADDRESS,
        ]
    )
    try:
        EmailMessage(
            subject=f"Cancelled: {activity.title}", body=body, to=[registration.email]
        ).send()
    except Exception as error:  # the backend's own errors vary; the next cancel pass may retry
        Registration.objects.filter(pk=registration_id).update(cancel_notice_at=None)
        log.warning("cancel notice %s not sent: %s", registration_id, type(error).__name__)
        return False
    return True
