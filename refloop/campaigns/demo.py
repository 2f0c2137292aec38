"""The demo's campaigns (demo.marketing calls it once referrals and facts are in, after the
content and relations demos): one campaign sent twelve days ago to a shared target list, with one
address that unsubscribed afterwards, and one draft ready to send. Both use the demo's approved
e-mail content; the e-mail goes to the configured backend (a file in var/outbox by default).

Everything goes through the services, as a liaison would do it, with the clock set back."""

from __future__ import annotations

import datetime as dt
import logging
import random

from django.conf import settings
from django.utils import timezone

from refloop.campaigns.models import Campaign
from refloop.campaigns.sending import campaign_send
from refloop.campaigns.services import (
    campaign_create,
    campaign_schedule,
    campaign_start,
    suppression_add,
)
from refloop.content.enums import ContentKind
from refloop.content.models import ContentItem
from refloop.content.queries import content_usable
from refloop.core.errors import DomainError
from refloop.core.roles import Role
from refloop.relations.models import TargetList

log = logging.getLogger(__name__)

SENT_DAYS_AGO = 12


def campaigns_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    liaison = users.get(Role.LIAISON)
    sent_at = now - dt.timedelta(days=SENT_DAYS_AGO)
    item = _approved_email(timezone.localdate(sent_at), timezone.localdate(now))
    target_list = _shared_list()
    if liaison is None or item is None or target_list is None:
        log.warning("demo campaigns skipped: no approved e-mail content or shared target list")
        return
    if Campaign.objects.exists():
        return  # loaded before
    sender = f"{liaison.get_full_name() or liaison.username}, {settings.REFLOOP_PRACTICE_NAME}"
    try:
        _sent(liaison, item, target_list, sender, sent_at, rng)
    except DomainError as error:  # an empty list, say: the draft still shows why
        log.warning("demo sent campaign skipped: %s", error.message)
    campaign_create(
        user=liaison,
        name=f"{item.title}: next round",
        target_list=target_list,
        content_item=item,
        service_line=item.service_line,
        sender_name=sender,
        scheduled_at=_next_morning(now),
    )


def _sent(liaison, item, target_list, sender, sent_at, rng) -> None:
    campaign = campaign_create(
        user=liaison,
        name=f"{item.title} ({timezone.localdate(sent_at):%B})",
        target_list=target_list,
        content_item=item,
        sender_name=sender,
        scheduled_at=sent_at,
    )
    campaign_schedule(campaign=campaign, user=liaison, now=sent_at - dt.timedelta(hours=2))
    campaign_start(campaign_id=campaign.pk, now=sent_at)
    campaign_send(campaign_id=campaign.pk, now=sent_at)
    # One office unsubscribed from the link a few days later: later campaigns skip it.
    recipients = list(campaign.recipients.order_by("id").values_list("email", flat=True))
    if recipients:
        suppression_add(email=rng.choice(recipients), source=f"campaign {campaign.pk}")


def _approved_email(*days: dt.date) -> ContentItem | None:
    """The demo's approved e-mail: usable on every day given (when sent, and today)."""
    for item in ContentItem.objects.filter(kind=ContentKind.EMAIL).order_by("pk"):
        if all(content_usable(item=item, on=day) for day in days):
            return item
    return None


def _shared_list() -> TargetList | None:
    return TargetList.objects.filter(shared=True).order_by("pk").first()


def _next_morning(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now) + dt.timedelta(days=1)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)
