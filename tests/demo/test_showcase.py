"""The demo's showcase: one referral's whole journey through the real services and scheduler
(issue 3's "Done when"), checked from what the database holds afterwards."""

import datetime as dt

import pytest
from pypdf import PdfReader

from refloop.access.models import Appointment
from refloop.alerts.models import Alert
from refloop.demo.loader import demo_load
from refloop.demo.showcase import SHOWCASE_REFERENCE
from refloop.messaging.enums import MessageChannel, MessageStatus, Purpose
from refloop.messaging.models import OutboundMessage
from refloop.referrals.enums import EventKind, Milestone, State
from refloop.referrals.models import Referral

NOW = dt.datetime(2025, 6, 11, 19, 30, tzinfo=dt.UTC)


@pytest.fixture
def showcase(db):
    demo_load(scale=0.004, seed=3, now=NOW)
    return Referral.objects.get(sender_reference=SHOWCASE_REFERENCE)


def _messages(referral, purpose, **filters):
    return OutboundMessage.objects.filter(referral=referral, purpose=purpose, **filters)


def test_it_books_from_free_slots_and_rebooks_after_a_no_show(showcase):
    appointments = list(showcase.appointments.order_by("booked_at", "id"))
    assert [a.outcome for a in appointments] == [
        Appointment.Outcome.NO_SHOW,
        Appointment.Outcome.ATTENDED,
    ]
    assert all(a.slot_id for a in appointments)  # both from the calendar's free slots
    assert appointments[1].confirmed_at is not None  # by the link in the reminder


def test_it_asks_for_the_missing_records_again_until_they_come(showcase):
    asks = _messages(showcase, Purpose.RECORDS_REQUEST, channel=MessageChannel.FAX)
    assert asks.count() == 2  # asked, then asked again by the scheduler
    assert not showcase.checklist.exclude(status="received").exists()
    assert not showcase.blockers.filter(resolved_at__isnull=True).exists()


def test_it_reminds_the_patient_and_tells_the_referrer_each_step(showcase):
    reminders = _messages(showcase, Purpose.REMINDER, status=MessageStatus.SENT)
    assert set(reminders.values_list("channel", flat=True)) == {"sms", "email"}
    updates = _messages(showcase, Purpose.STATUS_UPDATE, channel=MessageChannel.FAX)
    assert updates.count() >= 5  # received, accepted, scheduled, no-show, rebooked, seen
    assert not OutboundMessage.objects.filter(referral=showcase, status=MessageStatus.QUEUED)


def test_it_sends_the_report_as_a_pdf_by_fax_delivered_and_acknowledged(showcase):
    assert showcase.state == State.CLOSED
    report = _messages(showcase, Purpose.REPORT).get()
    assert report.channel == MessageChannel.FAX and report.status == MessageStatus.SENT
    text = "".join(page.extract_text() for page in PdfReader(report.document.original.path).pages)
    assert "Findings" in text and "meniscus" in text
    sent = showcase.reports_sent.get()
    assert sent.delivered_at and sent.acknowledged_at
    milestones = set(
        showcase.events.filter(kind=EventKind.MILESTONE).values_list("code", flat=True)
    )
    assert {Milestone.REPORT_DELIVERED, Milestone.REPORT_ACKNOWLEDGED} <= milestones


def test_it_raises_clock_alerts_without_anyone_pressing_a_button(showcase):
    kinds = set(Alert.objects.filter(referral=showcase).values_list("kind", flat=True))
    assert {"clock_at_risk", "clock_breached"} <= kinds
