"""The follow-up checklist after the visit: copied from the service line's template when the
referral completes, each item with its own due time; overdue items alert the owner."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.calendar import practice_calendar
from refloop.core.errors import NotFound
from refloop.loop.models import FollowUpItem, FollowUpTemplateItem
from refloop.loop.services.referrer import referral_owners
from refloop.referrals.models import Referral
from refloop.referrals.services import require

PERMISSIONS = ("schedule_referral", "close_referral")


def followups_create(*, referral: Referral, visit_at: dt.datetime) -> int:
    """The service line's follow-ups for this visit (idempotent: one row per name)."""
    calendar = practice_calendar()
    day = calendar.hours.seconds_per_day
    rows = [
        FollowUpItem(
            referral=referral,
            name=item.name,
            due_at=calendar.add(visit_at, max(1, item.due_after_days) * day),
        )
        for item in FollowUpTemplateItem.objects.filter(service_line_id=referral.service_line_id)
    ]
    FollowUpItem.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def followup_set(*, item_id: int, referral_id: int, done: bool, actor) -> FollowUpItem:
    require(actor, *PERMISSIONS)
    with transaction.atomic():
        item = (
            FollowUpItem.objects.select_for_update()
            .filter(pk=item_id, referral_id=referral_id)
            .first()
        )
        if item is None:
            raise NotFound("No such follow-up on this referral.")
        item.done_at = timezone.now() if done else None
        item.done_by = actor if done else None
        item.save(update_fields=["done_at", "done_by"])
    return item


def followup_alert(*, item_id: int, now: dt.datetime) -> None:
    """Tell the referral's owner that one follow-up is overdue (once per item)."""
    with transaction.atomic():
        item = FollowUpItem.objects.select_related("referral").get(pk=item_id)
        if item.done_at is None and item.alerted_at is None:
            referral = item.referral
            alerts_raise(
                specs=[
                    AlertSpec(
                        key=f"followup_overdue:{item.pk}",
                        recipient_ids=referral_owners(referral),
                        kind="followup_overdue",
                        referral_id=referral.pk,
                        text=(
                            f"{referral.number}: follow-up '{item.name}' was due "
                            f"{timezone.localtime(item.due_at):%b %-d}."
                        ),
                    )
                ],
                now=now,
            )
            item.alerted_at = now
        item.lease_until = None
        item.save(update_fields=["alerted_at", "lease_until"])
