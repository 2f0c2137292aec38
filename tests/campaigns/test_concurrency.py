"""Two workers sending one campaign at once send each address once (PostgreSQL, real threads,
each with its own connection, released together at a barrier)."""

import pytest
from django.core import mail
from django.db import connection

from refloop.campaigns.enums import CampaignState
from refloop.campaigns.jobs import campaigns_due
from refloop.campaigns.models import Campaign, CampaignRecipient
from refloop.campaigns.sending import campaign_send
from refloop.campaigns.services import campaign_schedule
from tests.campaigns.conftest import draft, member
from tests.messaging.test_concurrency import together

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="races are run on PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def campaign(liaison, target_list, content):
    for n in range(15):
        member(target_list, n)
    campaign = draft(user=liaison, target_list=target_list, content=content)
    campaign_schedule(campaign=campaign, user=liaison)
    return campaign


def test_it_starts_a_due_campaign_once_when_schedulers_race(campaign):
    later = campaign.scheduled_at
    together(*[lambda: campaigns_due(later)] * 3)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENDING
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 30
    assert campaign.events.filter(action="started").count() == 1


def test_it_sends_each_address_once_when_workers_race(campaign):
    campaigns_due(campaign.scheduled_at)
    mail.outbox = []
    together(*[lambda: campaign_send(campaign_id=campaign.pk)] * 4)
    addresses = [m.to[0] for m in mail.outbox]
    assert len(addresses) == 30 and len(set(addresses)) == 30
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.SENT
    assert campaign.events.filter(action="finished").count() == 1
