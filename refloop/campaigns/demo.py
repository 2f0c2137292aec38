"""The demo's campaigns (demo.marketing calls it once referrals and facts are in, after the
content and relations demos): one campaign sent to a shared target list (one address unsubscribed
since), and one draft ready to send tomorrow morning. Both use the demo's approved e-mail content;
the e-mail goes to the configured backend (a file in var/outbox by default).

The sent one goes out as the demo loads, not in the past: the content library approves its
e-mail at load time, and nothing may be sent before its approval. Everything goes through the
services, as a liaison would do it."""

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
from refloop.relations.queries import target_list_audience

log = logging.getLogger(__name__)


def campaigns_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    liaison = users.get(Role.LIAISON)
    item = _approved_email(timezone.localdate(now))
    target_list = _shared_list()
    if liaison is None or item is None or target_list is None:
        log.warning("demo campaigns skipped: no approved e-mail content or shared target list")
        return
    if Campaign.objects.exists():
        return  # loaded before
    sender = f"{liaison.get_full_name() or liaison.username}, {settings.REFLOOP_PRACTICE_NAME}"
    try:
        _sent(liaison, item, target_list, sender, now, rng)
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
    campaign_schedule(campaign=campaign, user=liaison, now=sent_at)
    campaign_start(campaign_id=campaign.pk, now=sent_at)
    campaign_send(campaign_id=campaign.pk, now=sent_at)
    # One office unsubscribed from the link a few days later: later campaigns skip it.
    recipients = list(campaign.recipients.order_by("id").values_list("email", flat=True))
    if recipients:
        suppression_add(email=rng.choice(recipients), source=f"campaign {campaign.pk}")


def _approved_email(day: dt.date) -> ContentItem | None:
    """The demo's first approved e-mail usable today."""
    for item in ContentItem.objects.filter(kind=ContentKind.EMAIL).order_by("pk"):
        if content_usable(item=item, on=day) is not None:
            return item
    return None


def _shared_list() -> TargetList | None:
    """The first shared list with someone on it we may write to."""
    for target_list in TargetList.objects.filter(shared=True).order_by("pk"):
        if target_list_audience(target_list=target_list):
            return target_list
    return None


def _next_morning(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now) + dt.timedelta(days=1)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)
