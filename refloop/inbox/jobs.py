"""Periodic work of the document inbox (refloop_scheduler): read the mailbox and the drop folder,
and watch the clock of each unfiled document.

Polling is once a minute by exactly one scheduler (period_claim); the clock claims its due rows
with a lease (rows_claim), and an alert has a key per document and stage, so a row handled twice
alerts once.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.scheduling import Job, period_claim, period_finish, rows_claim
from refloop.inbox.channels import Mailbox, drop_folder_poll, imap_poll
from refloop.inbox.models import OPEN_STATUSES, InboxDocument, Source
from refloop.inbox.queries import unfiled_alert_recipients

log = logging.getLogger("refloop.scheduler")

BATCH = 500


def _minute(now: dt.datetime) -> str:
    return timezone.localtime(now).strftime("%Y-%m-%dT%H:%M")


def mailbox_poll(now: dt.datetime) -> int:
    mailbox = Mailbox.from_settings()
    if mailbox is None or not period_claim(job="inbox_mailbox", period=_minute(now), now=now):
        return 0
    try:
        return imap_poll(mailbox)
    except (OSError, imaplib.IMAP4.error) as error:
        # The server is down or refuses us: the messages wait there, the next pass tries again.
        log.warning("inbox mailbox poll failed: %s", type(error).__name__)
        return 0
    finally:
        period_finish(job="inbox_mailbox", period=_minute(now))


def drop_folder_watch(now: dt.datetime) -> int:
    folder = settings.REFLOOP_INBOX_DROP_DIR
    if not folder or not period_claim(job="inbox_drop_folder", period=_minute(now), now=now):
        return 0
    try:
        return drop_folder_poll(Path(folder))
    except OSError as error:
        log.warning("inbox drop folder poll failed: %s", type(error).__name__)
        return 0
    finally:
        period_finish(job="inbox_drop_folder", period=_minute(now))


# The unfiled clock ----------------------------------------------------------------------------


def unfiled_clock_watch(now: dt.datetime) -> int:
    """Alert the intake coordinators when an unfiled document is at risk, then when it is
    overdue. Reads only the rows whose next check has come."""
    handled, recipients = 0, None
    while True:
        ids = rows_claim(
            InboxDocument.objects.filter(next_check_at__lte=now).order_by(), now=now, limit=BATCH
        )
        if not ids:
            return handled
        if recipients is None:
            recipients = tuple(unfiled_alert_recipients())
        for document_id in ids:
            _clock_check(document_id, now, recipients)
        handled += len(ids)


def _clock_check(document_id: int, now: dt.datetime, recipients: tuple[int, ...]) -> None:
    with transaction.atomic():
        document = (
            InboxDocument.objects.select_for_update()
            .only("id", "source", "status", "at_risk_at", "due_at", "next_check_at")
            .filter(pk=document_id, next_check_at__lte=now)
            .first()
        )
        if document is None:  # filed meanwhile
            return
        spec, next_check = None, None
        if document.status in OPEN_STATUSES:
            stage = "overdue" if now >= document.due_at else "at_risk"
            spec = _alert(document, stage, recipients)
            next_check = None if stage == "overdue" else document.due_at
        if spec is not None and recipients:
            alerts_raise(specs=[spec], now=now)
        InboxDocument.objects.filter(pk=document_id).update(
            next_check_at=next_check, lease_until=None
        )


def _alert(document: InboxDocument, stage: str, recipients) -> AlertSpec:
    source = Source(document.source).label.lower()
    due = timezone.localtime(document.due_at).strftime("%b %-d %H:%M")
    if stage == "overdue":
        text = f"Inbox: {source} document {document.pk} is still unfiled (was due {due})."
    else:
        text = f"Inbox: {source} document {document.pk} is unfiled and due at {due}."
    return AlertSpec(
        key=f"inbox_{stage}:{document.pk}",
        recipient_ids=recipients,
        kind=f"inbox_{stage}",
        level="urgent" if stage == "overdue" else "warning",
        text=text,
    )


JOBS = [
    Job("inbox_mailbox_poll", mailbox_poll, every=dt.timedelta(minutes=1)),
    Job("inbox_drop_folder", drop_folder_watch, every=dt.timedelta(minutes=1)),
    Job("inbox_unfiled_clock", unfiled_clock_watch, every=dt.timedelta(seconds=30)),
]
