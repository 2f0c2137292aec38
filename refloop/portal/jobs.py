"""Periodic work of the portal (refloop_scheduler).

- portal_notices: a message that went to an office by the portal (a status update, a records
  request, a report) waits in the portal; the office's people get one plain e-mail per pass that
  says only that something new is there, with the link (no PHI: DESIGN.md, Privacy). A
  PortalNotice row per message (unique) makes each message noticed once, however many schedulers
  run, and the e-mails' dedupe keys make a pass run again after a crash send nothing twice.
- rate_counts_prune: old throttle windows are dropped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from refloop.core.scheduling import Job
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.models import OutboundMessage
from refloop.messaging.services import message_queue
from refloop.portal.models import OfficeAccount, PortalNotice
from refloop.portal.services.throttle import rate_counts_prune

LOOKBACK = dt.timedelta(days=2)
BATCH = 200
NOTICE_SUBJECT = "You have a new update in the Refloop portal"


def portal_notices(now: dt.datetime) -> int:
    """Notice the portal messages not noticed yet; returns how many messages were noticed."""
    pending = list(
        OutboundMessage.objects.filter(
            channel=MessageChannel.PORTAL, created_at__gte=now - LOOKBACK
        )
        .exclude(pk__in=PortalNotice.objects.values("message_id"))
        .order_by("id")
        .values_list("pk", "to_address")[:BATCH]
    )
    by_org: dict[str, list[int]] = defaultdict(list)
    for pk, org in pending:
        by_org[org].append(pk)
    noticed = 0
    for org, message_ids in by_org.items():
        noticed += _notice(org, message_ids, now)
    return noticed


def _notice(org: str, message_ids: list[int], now: dt.datetime) -> int:
    try:
        with transaction.atomic():
            PortalNotice.objects.bulk_create(
                PortalNotice(message_id=pk, noticed_at=now) for pk in message_ids
            )
            people = OfficeAccount.objects.filter(
                organization_id=int(org), active=True, user__is_active=True
            ).values_list("user_id", "user__email")
            link = settings.REFLOOP_BASE_URL.rstrip("/") + reverse("office_home")
            for user_id, email in people:
                if not email:
                    continue
                message_queue(
                    audience=Audience.REFERRER,
                    purpose=Purpose.STATUS_UPDATE,
                    channel=MessageChannel.EMAIL,
                    to_address=email,
                    subject=NOTICE_SUBJECT,
                    body=(
                        f"{NOTICE_SUBJECT} of {settings.REFLOOP_PRACTICE_NAME}.\n\n"
                        f"Sign in to read it: {link}\n"
                    ),
                    dedupe_key=f"portal-notice:{user_id}:{message_ids[0]}",
                )
    except IntegrityError:
        return 0  # another scheduler noticed these a moment ago
    return len(message_ids)


def rate_counts_drop(now: dt.datetime) -> int:
    return rate_counts_prune(now=now)


JOBS = [
    Job("portal_notices", portal_notices, every=dt.timedelta(seconds=30)),
    Job("portal_rate_counts_prune", rate_counts_drop, every=dt.timedelta(hours=1)),
]
