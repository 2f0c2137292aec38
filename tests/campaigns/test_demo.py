"""The demo's campaigns, on the content and target list the other demos leave."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from refloop.campaigns.demo import campaigns_demo_load
from refloop.campaigns.models import Campaign, Suppression
from refloop.campaigns.services import campaign_schedule
from refloop.core.roles import Role
from tests.campaigns.conftest import member

pytestmark = pytest.mark.django_db


def test_it_loads_a_sent_campaign_and_a_draft_ready_to_send(
    liaison, target_list, content, settings, tmp_path
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "outbox"
    for n in (1, 2, 3):
        member(target_list, n)
    content.versions.update(expires_on=timezone.localdate() + dt.timedelta(days=60))
    now = timezone.now()
    campaigns_demo_load(users={Role.LIAISON: liaison}, now=now, rng=random.Random(1))
    sent, ready = Campaign.objects.order_by("pk")
    assert sent.state == "sent" and sent.recipients.filter(state="sent").count() == 6
    assert sent.started_at == now - dt.timedelta(days=12)
    assert len(list((tmp_path / "outbox").iterdir())) >= 1  # the messages, in files
    assert Suppression.objects.get().source == f"campaign {sent.pk}"
    assert ready.state == "draft" and ready.scheduled_at > now
    campaign_schedule(campaign=ready, user=liaison)  # ready to send as it is
    assert ready.state == "scheduled"
    # Loading again adds nothing.
    campaigns_demo_load(users={Role.LIAISON: liaison}, now=now, rng=random.Random(1))
    assert Campaign.objects.count() == 2
