"""The referral page shows the messages about the referral, in a fixed number of queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.models import OutboundMessage
from refloop.messaging.services import message_queue
from tests import factories
from tests.messaging.conftest import NOON_NY
from tests.web.helpers import sign_in


def update_to_referrer(referral, n: int) -> OutboundMessage:
    message, _ = message_queue(
        audience=Audience.REFERRER,
        purpose=Purpose.STATUS_UPDATE,
        channel=MessageChannel.FAX,
        to_address="555-010-3000",
        body="An update on your referral is in the portal.",
        referral_id=referral.pk,
        dedupe_key=f"test-update:{referral.pk}:{n}",
    )
    return message


def page(client, referral):
    return client.get(reverse("referral_detail", args=[referral.pk]))


def test_it_shows_the_messages_about_the_referral_with_their_status(
    client, line, clinician, intake, scheduler
):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    sent = update_to_referrer(referral, 1)
    OutboundMessage.objects.filter(pk=sent.pk).update(
        status="delivered", sent_at=NOON_NY, delivered_at=NOON_NY
    )
    failed = update_to_referrer(referral, 2)
    OutboundMessage.objects.filter(pk=failed.pk).update(
        status="failed", failed_at=NOON_NY, status_reason="provider: failed (error 30003)"
    )
    sign_in(client, scheduler)

    html = page(client, referral).content.decode()

    assert 'id="messages-h"' in html
    assert "Status update" in html and "Fax" in html and "Referrer" in html
    assert "Delivered" in html and "2026-06-10" in html
    assert "provider: failed (error 30003)" in html


def test_it_says_when_there_are_no_messages(client, line, clinician, intake, scheduler):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    sign_in(client, scheduler)
    assert "No messages about this referral yet." in page(client, referral).content.decode()


def test_it_shows_50_messages_in_as_many_queries_as_1(client, line, clinician, intake, scheduler):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    update_to_referrer(referral, 0)
    sign_in(client, scheduler)
    page(client, referral)
    with CaptureQueriesContext(connection) as one:
        page(client, referral)
    for n in range(1, 50):
        update_to_referrer(referral, n)
    with CaptureQueriesContext(connection) as fifty:
        response = page(client, referral)
    assert len(response.context["outbound_messages"]) == 50
    assert len(fifty) == len(one)
