"""Answers to an office that chose the portal: status updates, records requests and reports wait
in its portal, and its people get a link-only e-mail notice."""

import re

import pytest
from django.urls import reverse

from refloop.core.models import AccessLogEntry
from refloop.loop.models import ReportSent
from refloop.loop.services import consult_report_save, consult_report_send, records_request
from refloop.loop.services.referrer import referrer_route
from refloop.messaging.enums import MessageChannel, Purpose
from refloop.messaging.models import OutboundMessage
from refloop.portal.jobs import NOTICE_SUBJECT, portal_notices
from refloop.portal.models import OfficeAccount
from refloop.portal.routes import portal_route
from refloop.referrals.enums import EventKind, Milestone
from refloop.referrals.models import ReferralEvent
from tests import factories
from tests.loop.conftest import run_updates, soon, to_completed

TEXTS = {
    "findings": "Moderate medial compartment osteoarthritis of the right knee.",
    "recommendations": "Weight-bearing exercise.",
    "next_steps": "Review in three months.",
    "whom_to_call": "Orthopedics nurse line.",
}


@pytest.fixture
def mine(office_user, line, intake):
    return factories.referral(
        line=line, clinician=office_user.clinician, actor=intake, last_name="Okafor"
    )


def _portal(**filters):
    return list(
        OutboundMessage.objects.filter(channel=MessageChannel.PORTAL, **filters).order_by("id")
    )


def test_it_routes_to_the_portal_only_when_the_office_has_an_active_account(
    office_user, line, intake
):
    mine = factories.referral(line=line, clinician=office_user.clinician, actor=intake)
    other = factories.referral(line=line, actor=intake)
    org = office_user.office_account.organization

    route = referrer_route(mine)

    assert (route.channel, route.to_address) == (MessageChannel.PORTAL, str(org.pk))
    assert portal_route(other) is None
    OfficeAccount.objects.update(active=False)
    assert portal_route(mine) is None


def test_it_puts_status_updates_in_the_portal_and_emails_a_link_only_notice(
    client, office_user, mine
):
    run_updates()

    [update] = _portal(referral=mine)
    assert update.purpose == Purpose.STATUS_UPDATE and "received" in update.body
    client.force_login(office_user)
    page = client.get(reverse("office_home")).content.decode()
    assert "Status update" in page and update.body.split(":")[0] in page

    assert portal_notices(soon()) == 1
    [notice] = OutboundMessage.objects.filter(channel=MessageChannel.EMAIL)
    assert notice.to_address == office_user.email and notice.subject == NOTICE_SUBJECT
    assert reverse("office_home") in notice.body
    assert "Okafor" not in notice.body and mine.number not in notice.body
    assert notice.referral_id is None and notice.document_id is None
    assert portal_notices(soon()) == 0  # told once


def test_it_sends_records_requests_to_the_portal_with_the_letter(client, office_user, line, intake):
    missing = factories.referral(
        line=line, clinician=office_user.clinician, actor=intake, complete=False
    )

    records_request(referral_id=missing.pk, actor=intake)

    [ask] = _portal(referral=missing, purpose=Purpose.RECORDS_REQUEST)
    client.force_login(office_user)
    letter = client.get(reverse("office_document", args=[missing.pk, ask.document_id]))
    assert letter.status_code == 200 and b"".join(letter.streaming_content).startswith(b"%PDF")


def test_it_sends_the_report_to_the_portal_and_counts_opening_it_as_delivery(
    client, office_user, mine, manager, care_team
):
    to_completed(mine, manager)
    consult_report_save(referral_id=mine.pk, texts=TEXTS, actor=care_team)

    sent = consult_report_send(referral_id=mine.pk, actor=care_team)

    assert sent.channel == "portal"
    assert (sent.message.channel, sent.message.to_address) == (
        MessageChannel.PORTAL,
        str(office_user.office_account.organization_id),
    )
    client.force_login(office_user)
    page = client.get(reverse("office_referral", args=[mine.pk])).content.decode()
    assert "Report sent" in page and "Consult report of" in page
    download = client.get(reverse("office_document", args=[mine.pk, sent.document_id]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert ReportSent.objects.get(pk=sent.pk).delivered_at is not None
    assert ReferralEvent.objects.filter(
        referral=mine, kind=EventKind.MILESTONE, code=Milestone.REPORT_DELIVERED
    ).exists()
    assert AccessLogEntry.objects.filter(
        user=office_user, action="download", object_id=str(sent.document_id)
    ).exists()

    # The acknowledgement link in the portal message works for the signed-in office.
    token = re.search(r"/r/ack/([\w-]+)/", sent.message.body).group(1)
    assert client.post(reverse("report_ack", args=[token])).status_code == 200
    assert ReportSent.objects.get(pk=sent.pk).acknowledged_at is not None


def test_it_logs_the_patients_its_messages_name_though_their_referral_is_not_listed(
    client, office_user, mine
):
    """The home page shows the latest messages (each naming its patient) whatever page of the
    referral list is shown: each of those patients goes in the access log too."""
    run_updates()
    [update] = _portal(referral=mine)
    client.force_login(office_user)
    page = client.get(reverse("office_home"), {"page": 2}).content.decode()
    assert "Okafor" in page  # the message, on a page listing no referral
    logged = AccessLogEntry.objects.filter(user=office_user, object_type="referral")
    assert [(e.object_id, e.patient_id) for e in logged] == [(str(mine.pk), mine.patient_id)]
