"""The consult report: written, rendered, sent by the referrer's channel (which closes the
referral), delivered and acknowledged, each tracked on its own."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from refloop.core.errors import DomainError
from refloop.directory.enums import UpdateChannel
from refloop.loop.jobs import DELIVERY_WATCH, reports_delivery
from refloop.loop.models import ConsultReport, ReportAcknowledgement, ReportSent, ReportTemplate
from refloop.loop.services import (
    consult_report_save,
    consult_report_send,
    consult_report_start,
    report_delivered,
)
from refloop.messaging.enums import MessageChannel, MessageStatus, Purpose
from refloop.referrals.enums import EventKind, Milestone, State
from refloop.referrals.models import ReferralEvent
from tests import factories
from tests.loop.conftest import FAX, pdf_text, to_completed

TEXTS = {
    "findings": "Moderate medial compartment osteoarthritis of the right knee.",
    "recommendations": "Weight-bearing exercise; a trial of topical NSAID.",
    "next_steps": "Review in clinic in three months.",
    "whom_to_call": "Orthopedics nurse line, (555) 010-3300.",
}


@pytest.fixture
def seen(referral, manager):
    return to_completed(referral, manager)


def _send(referral, care_team) -> ReportSent:
    consult_report_save(referral_id=referral.pk, texts=TEXTS, actor=care_team)
    return consult_report_send(referral_id=referral.pk, actor=care_team)


def _milestones(referral, milestone):
    return ReferralEvent.objects.filter(referral=referral, kind=EventKind.MILESTONE, code=milestone)


def _token(sent: ReportSent) -> str:
    return re.search(r"/r/ack/([\w-]+)/", sent.message.body).group(1)


def test_it_starts_the_draft_from_the_service_line_template(seen, line):
    ReportTemplate.objects.create(service_line=line, whom_to_call="Call the nurse line.")

    draft = consult_report_start(seen)

    assert draft.whom_to_call == "Call the nurse line." and draft.findings == ""


def test_it_renders_sends_by_fax_and_closes_the_referral(seen, care_team):
    sent = _send(seen, care_team)

    seen.refresh_from_db()
    assert seen.state == State.CLOSED
    assert sent.channel == "fax" and sent.sent_by == care_team
    message = sent.message
    assert (message.channel, message.to_address, message.purpose) == (
        MessageChannel.FAX,
        FAX,
        Purpose.REPORT,
    )
    assert message.document == sent.document and sent.document.kind == "report"
    text = pdf_text(sent.document)
    for heading, body in [("Findings", "osteoarthritis"), ("Next steps", "three months")]:
        assert heading in text and body in text
    assert "Acknowledge receipt" in text and "/r/ack/" in text
    report = ConsultReport.objects.get(referral=seen)
    assert report.status == ConsultReport.Status.FINAL and report.document == sent.document


def test_it_keeps_a_sent_report_from_changing(seen, care_team):
    _send(seen, care_team)

    with pytest.raises(DomainError, match="can no longer change"):
        consult_report_save(referral_id=seen.pk, texts={"findings": "x"}, actor=care_team)


def test_it_refuses_to_send_a_report_without_findings(seen, care_team):
    consult_report_save(referral_id=seen.pk, texts={"findings": "  "}, actor=care_team)

    with pytest.raises(DomainError, match="no findings"):
        consult_report_send(referral_id=seen.pk, actor=care_team)
    seen.refresh_from_db()
    assert seen.state == State.COMPLETED


def test_it_faxes_the_report_to_a_portal_referrer_whose_office_has_no_account(
    line, intake, manager, care_team
):
    clinician = factories.referrer()
    clinician.fax = FAX
    clinician.preferred_update_channel = UpdateChannel.PORTAL
    clinician.save()
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    to_completed(referral, manager)

    sent = _send(referral, care_team)

    assert sent.channel == "fax"
    assert (sent.message.channel, sent.message.to_address) == (MessageChannel.FAX, FAX)
    assert sent.message.document == sent.document and "/r/ack/" in sent.message.body


def test_it_refuses_to_send_the_report_to_a_referrer_with_only_an_email(
    line, intake, manager, care_team
):
    clinician = factories.referrer()
    clinician.email = "dana@maple.example"
    clinician.preferred_update_channel = UpdateChannel.PORTAL
    clinician.save()
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    to_completed(referral, manager)

    with pytest.raises(DomainError, match="no way to reach the referrer"):
        _send(referral, care_team)

    referral.refresh_from_db()
    assert referral.state == State.COMPLETED
    assert not ReportSent.objects.exists()
    assert ConsultReport.objects.get(referral=referral).status == ConsultReport.Status.DRAFT


def test_it_records_delivery_once(seen, care_team):
    sent = _send(seen, care_team)
    at = timezone.now()

    report_delivered(report_sent_id=sent.pk, at=at)
    report_delivered(report_sent_id=sent.pk, at=at + dt.timedelta(minutes=5))

    sent.refresh_from_db()
    assert sent.delivered_at == at
    assert _milestones(seen, Milestone.REPORT_DELIVERED).count() == 1


def test_it_counts_delivery_only_when_the_provider_confirms(seen, care_team):
    sent = _send(seen, care_team)
    message = sent.message
    message.status, message.sent_at = MessageStatus.SENT, timezone.now()
    message.save()

    assert reports_delivery(timezone.now()) == 0

    message.status, message.delivered_at = MessageStatus.DELIVERED, timezone.now()
    message.save()
    assert reports_delivery(timezone.now()) == 1
    assert reports_delivery(timezone.now()) == 0

    sent.refresh_from_db()
    assert sent.delivered_at == message.delivered_at
    assert _milestones(seen, Milestone.REPORT_DELIVERED).get().actor is None


def test_it_stops_watching_for_delivery_after_thirty_days(seen, care_team):
    sent = _send(seen, care_team)
    message = sent.message
    message.status, message.delivered_at = MessageStatus.DELIVERED, timezone.now()
    message.save()

    assert reports_delivery(sent.sent_at + DELIVERY_WATCH + dt.timedelta(minutes=1)) == 0
    assert reports_delivery(sent.sent_at + DELIVERY_WATCH - dt.timedelta(minutes=1)) == 1


def test_it_acknowledges_by_the_link_once_without_showing_phi(seen, care_team, client):
    sent = _send(seen, care_team)
    url = reverse("report_ack", args=[_token(sent)])

    asked = client.get(url)
    done = client.post(url)
    again = client.post(url)

    assert asked.status_code == 200 and "Confirm receipt" in asked.content.decode()
    assert done.status_code == 200 and "Thank you" in done.content.decode()
    assert again.status_code == 410
    for page in (asked, done, again):
        html = page.content.decode()
        assert "Quill" not in html and seen.number not in html and "Orthopedics" not in html
    [event] = _milestones(seen, Milestone.REPORT_ACKNOWLEDGED)
    assert event.actor is None
    assert event.details["acknowledgement_id"] == ReportAcknowledgement.objects.get().pk
    sent.refresh_from_db()
    assert sent.acknowledged_at is not None


def test_it_refuses_an_expired_or_unknown_link(seen, care_team, client):
    sent = _send(seen, care_team)
    ReportAcknowledgement.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    expired = client.post(reverse("report_ack", args=[_token(sent)]))
    unknown = client.post(reverse("report_ack", args=["not-a-token"]))

    assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert unknown.status_code == 404
    assert not _milestones(seen, Milestone.REPORT_ACKNOWLEDGED).exists()


def test_it_keeps_only_the_hash_of_the_token(seen, care_team):
    sent = _send(seen, care_team)

    assert _token(sent) not in ReportAcknowledgement.objects.get().token_hash
