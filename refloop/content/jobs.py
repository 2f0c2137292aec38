"""Periodic work of content (refloop_scheduler).

- content_expiry: an approval running out within EXPIRY_NOTICE_DAYS is told to the version's
  author once. The version's `expiry_alerted_at` is claimed with a conditional UPDATE in the same
  transaction as the alert (whose key is unique per person too), so any number of schedulers tell
  the author once. Nothing happens at expiry itself: `usable_on` and `content_usable` compare the
  date, so expired content stops being usable on the day without a state change, and the library
  shows it as expired.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.content.queries import content_expiring
from refloop.core.scheduling import Job

EXPIRY_NOTICE_DAYS = 14
BATCH = 500


def content_expiry(now: dt.datetime) -> int:
    """Tell authors of approvals ending soon; returns how many versions were handled."""
    today = timezone.localdate(now)
    due = content_expiring(on=today, within_days=EXPIRY_NOTICE_DAYS).select_related("item")
    handled = 0
    for version in due.order_by("expires_on", "id")[:BATCH]:
        with transaction.atomic():
            claimed = (
                type(version)
                .objects.filter(pk=version.pk, expiry_alerted_at__isnull=True)
                .update(expiry_alerted_at=now)
            )
            if not claimed or version.created_by_id is None:
                continue
            days = (version.expires_on - today).days
            alerts_raise(
                specs=[
                    AlertSpec(
                        key=f"content_expiring:{version.pk}:{version.expires_on:%Y%m%d}",
                        recipient_ids=(version.created_by_id,),
                        kind="content_expiring",
                        text=(
                            f"{version.item.title} (version {version.number}) stops being usable "
                            f"after {version.expires_on:%Y-%m-%d} ({days} day"
                            f"{'s' if days != 1 else ''}): start a new version for review."
                        ),
                    )
                ],
                now=now,
            )
        handled += 1
    return handled


JOBS = [Job("content_expiry", content_expiry, every=dt.timedelta(hours=1))]
