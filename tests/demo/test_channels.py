"""The issue's "done when": the demo receives referrals from a fax, a FHIR client, an HL7 feed,
the web form and a spreadsheet, shows them in one worklist, and answers each sender in its own
standard once the scheduler has run."""

import datetime as dt
import time

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from refloop.analytics.models import ReferralFact
from refloop.demo.loader import demo_load
from refloop.loop.jobs import SETTLE
from refloop.messaging.enums import MessageChannel, Purpose
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import Channel
from refloop.referrals.models import Referral
from tests.web.helpers import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    pytest.started = timezone.now()
    return demo_load(scale=0.004, seed=5)


def arrived_by(channel, _top=None):
    """What came today by this way in (a spreadsheet's rows keep the dates they carry)."""
    rows = Referral.objects.filter(channel=channel)
    if channel == Channel.FILE:
        return rows.filter(sender_system__startswith="import:")
    return rows.filter(received_at__gte=pytest.started - dt.timedelta(minutes=5))


def test_it_receives_by_every_way_in_and_answers_each_in_its_own_standard(demo, client):
    assert len(demo.channels) == 6
    for channel in (Channel.FAX, Channel.FHIR, Channel.HL7, Channel.PORTAL, Channel.FILE):
        assert arrived_by(channel).exists(), channel
    # The dashboards count today's arrivals from the start (before any fact job has run): just
    # after midnight on the 1st, the spreadsheet's rows are last month's, the month they open on.
    assert ReferralFact.objects.count() == Referral.objects.count()

    sign_in(client, User.objects.get(username="intake"))  # the demo's coordinator
    listed = client.get(reverse("worklist"), {"state": "received"}).content.decode()
    for channel in (Channel.FAX, Channel.FHIR, Channel.HL7, Channel.PORTAL):
        number = arrived_by(channel).order_by("pk").first().number
        assert number in listed, channel

    time.sleep(SETTLE.total_seconds() + 0.2)  # the updates job leaves the last moments settle
    call_command("refloop_scheduler", "--once")

    hl7 = arrived_by(Channel.HL7).get()
    assert OutboundMessage.objects.filter(referral=hl7, channel=MessageChannel.HL7).exists()
    fax = arrived_by(Channel.FAX).get()
    assert OutboundMessage.objects.filter(referral=fax, channel=MessageChannel.FAX).exists()
    portal = arrived_by(Channel.PORTAL).get()
    assert OutboundMessage.objects.filter(referral=portal, channel=MessageChannel.PORTAL).exists()
    # A FHIR client reads the state from the Task: nothing is pushed for a plain update.
    fhir = arrived_by(Channel.FHIR).order_by("pk").first()
    assert not OutboundMessage.objects.filter(referral=fhir, purpose=Purpose.STATUS_UPDATE).exists()
