"""Suppression covers campaigns only: a referrer who unsubscribed still gets the status updates
and reports about their own patients' referrals (messaging never reads the suppression list)."""

import pytest
from django.core import mail
from django.utils import timezone

from refloop.campaigns.services import suppression_add
from refloop.directory.enums import UpdateChannel
from refloop.loop.services.updates import status_update_send
from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.models import OutboundMessage
from refloop.messaging.sending import message_send
from refloop.messaging.services import message_queue
from refloop.referrals.enums import EventKind
from tests import factories

pytestmark = pytest.mark.django_db

ADDRESS = "dr.quinn@maple.example"


def test_it_still_sends_a_suppressed_referrer_their_referral_status_update(line):
    clinician = factories.referrer()
    clinician.direct_address = clinician.email = ADDRESS
    clinician.preferred_update_channel = UpdateChannel.DIRECT
    clinician.save()
    suppression_add(email=ADDRESS.upper(), source="campaign 1")
    referral = factories.referral(line=line, clinician=clinician)
    event = referral.events.get(kind=EventKind.RECEIVED)

    assert status_update_send(event=event, now=timezone.now())
    message = OutboundMessage.objects.get(dedupe_key=f"status:{event.pk}")
    assert (message.purpose, message.to_address) == (Purpose.STATUS_UPDATE, ADDRESS)
    assert message_send(message_id=message.pk) == "sent"


def test_it_still_emails_a_suppressed_office_that_an_update_is_waiting(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    suppression_add(email=ADDRESS, source="campaign 1")
    message, _ = message_queue(  # what portal notices send: a status update by e-mail
        audience=Audience.REFERRER,
        purpose=Purpose.STATUS_UPDATE,
        channel=MessageChannel.EMAIL,
        to_address=ADDRESS,
        subject="You have a new update in the Refloop portal",
        body="Sign in to read it.",
    )
    assert message_send(message_id=message.pk) == "sent"
    assert [m.to for m in mail.outbox] == [[ADDRESS]]
