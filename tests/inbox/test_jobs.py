"""The unfiled clock: at risk, then overdue, each alerted once to the intake coordinators (not
the manager, who may receive referrals too); a document dealt with is never alerted."""

import datetime as dt
import os
import time

import pytest
from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.inbox.jobs import drop_folder_watch, unfiled_clock_watch
from refloop.inbox.models import InboxDocument
from refloop.inbox.services import inbox_document_discard
from tests.inbox.conftest import received, three_page_pdf


def test_it_alerts_intake_at_risk_then_overdue_once_each(fax_document, intake, triage, manager):
    before = fax_document.at_risk_at - dt.timedelta(minutes=1)
    assert unfiled_clock_watch(before) == 0
    assert unfiled_clock_watch(fax_document.at_risk_at) == 1
    assert unfiled_clock_watch(fax_document.at_risk_at + dt.timedelta(minutes=1)) == 0
    alert = Alert.objects.get()
    assert (alert.recipient, alert.kind) == (intake, "inbox_at_risk")
    assert f"document {fax_document.pk}" in alert.text and "+1555" not in alert.text
    unfiled_clock_watch(fax_document.due_at)
    unfiled_clock_watch(fax_document.due_at + dt.timedelta(hours=5))
    assert list(Alert.objects.order_by("pk").values_list("kind", "level")) == [
        ("inbox_at_risk", "warning"),
        ("inbox_overdue", "urgent"),
    ]
    fax_document.refresh_from_db()
    assert fax_document.next_check_at is None and fax_document.lease_until is None


def test_it_alerts_whoever_receives_referrals_without_coordinators(fax_document, manager):
    unfiled_clock_watch(fax_document.due_at)
    assert Alert.objects.get().recipient == manager


def test_it_does_not_alert_a_document_dealt_with(intake):
    document = received(provider_id="dealt-with")
    inbox_document_discard(document_id=document.pk, reason="Sent to us by mistake", actor=intake)
    assert unfiled_clock_watch(document.due_at + dt.timedelta(hours=1)) == 0
    assert not Alert.objects.exists()


def test_it_counts_business_hours(db, settings):
    settings.REFLOOP_INBOX_FILE_WITHIN_HOURS = 4

    # A fax arriving on a Friday evening is due on Monday, not at midnight.
    friday_evening = timezone.make_aware(dt.datetime(2026, 11, 27, 20, 0))
    document = received(provider_id="friday", received_at=friday_evening)
    assert timezone.localtime(document.due_at).weekday() == 0


@pytest.mark.django_db
def test_the_drop_folder_job_reads_the_configured_folder(settings, tmp_path):
    settings.REFLOOP_INBOX_DROP_DIR = str(tmp_path)
    path = tmp_path / "scan.pdf"
    path.write_bytes(three_page_pdf())
    old = time.time() - 60
    os.utime(path, (old, old))

    assert drop_folder_watch(timezone.now()) == 1
    assert InboxDocument.objects.get().filename == "scan.pdf"
