"""What a FHIR sender is sent: the report through the API; the state is the Task it reads, so no
status message waits for it; a request for missing records must reach a person, so it goes by
the referrer's fax instead of waiting in the API."""

from django.utils import timezone

from refloop.loop.services import records_request
from refloop.loop.services.updates import status_update_send
from refloop.messaging.enums import MessageChannel
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import EventKind
from tests.fhir.conftest import client_referral


def test_it_sends_no_status_message_to_a_client_that_reads_the_task(api_client):
    client, _ = api_client
    referral = client_referral(client)
    referral.referring_clinician.fax = "(555) 010-2000"  # a fax would be used if the rule broke
    referral.referring_clinician.save()
    event = referral.events.get(kind=EventKind.RECEIVED)  # "received" is told to referrers

    assert status_update_send(event=event, now=timezone.now()) is False
    assert not OutboundMessage.objects.filter(referral=referral).exists()


def test_it_asks_for_missing_records_by_fax_not_through_the_api(api_client, intake):
    client, _ = api_client
    referral = client_referral(client, documents=())
    referral.referring_clinician.fax = "(555) 010-2000"
    referral.referring_clinician.save()

    records_request(referral_id=referral.pk, actor=intake)

    message = OutboundMessage.objects.get(referral=referral)
    assert (message.channel, message.to_address) == (MessageChannel.FAX, "(555) 010-2000")
