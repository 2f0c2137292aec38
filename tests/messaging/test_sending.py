"""Sending through the backends: outbox, Django e-mail, fax and Direct; once, and again after a
crash."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.jobs import messages_send
from refloop.messaging.models import OutboundMessage
from refloop.messaging.sending import message_send
from refloop.messaging.services import message_queue
from tests import factories
from tests.messaging.conftest import NOON_NY, local, text


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def referral(line, clinician, intake):
    return factories.referral(line=line, clinician=clinician, actor=intake)


def queue(referral, channel, *, document=False, **fields):
    defaults = {
        "audience": Audience.REFERRER,
        "purpose": Purpose.STATUS_UPDATE,
        "channel": channel,
        "to_address": "office@maple.example",
        "subject": "An update on a referral",
        "body": "An update is waiting for you: https://refloop.example.org/portal/x",
        "referral_id": referral.pk,
        "document_id": referral.documents.get().pk if document else None,
    }
    message, _ = message_queue(**{**defaults, **fields})
    return message


def send(message, **kwargs) -> OutboundMessage:
    message_send(message_id=message.pk, **kwargs)
    return OutboundMessage.objects.get(pk=message.pk)


def test_it_sends_an_email_through_djangos_backend(referral):
    message = send(queue(referral, MessageChannel.EMAIL))
    assert (message.status, message.backend) == ("sent", "email")
    assert message.sent_at is not None
    [email] = mail.outbox
    assert email.to == ["office@maple.example"]
    assert email.subject == "An update on a referral"
    assert email.body.startswith("An update is waiting for you")
    assert email.attachments == []
    assert email.extra_headers["Message-ID"] == message.provider_id
    assert f"refloop-message-{message.pk}@" in message.provider_id


@pytest.mark.parametrize("channel", [MessageChannel.EMAIL, MessageChannel.SMS])
def test_it_refuses_to_send_a_document_by_email_or_text(referral, channel, settings):
    fields = {"body": f"{settings.REFLOOP_PRACTICE_NAME}: see the portal."}
    message = send(queue(referral, channel, document=True, **fields))
    assert message.status == "failed"
    assert message.status_reason.startswith("a document never goes by")
    assert message.failed_at is not None
    assert mail.outbox == []


@pytest.mark.parametrize("channel", [MessageChannel.FAX, MessageChannel.DIRECT])
def test_it_records_a_fax_or_direct_message_with_its_pdf_in_the_outbox(referral, channel):
    message = send(queue(referral, channel, document=True, to_address="555-010-3000"))
    assert (message.status, message.backend) == ("sent", "outbox")
    assert message.provider_id == f"outbox-{message.pk}"
    assert message.document_id == referral.documents.get().pk


def test_it_fails_a_fax_whose_document_file_is_gone(referral):
    document = referral.documents.get()
    document.original.delete(save=False)
    message = send(queue(referral, MessageChannel.FAX, document=True))
    assert (message.status, message.status_reason) == (
        "failed",
        "The document's file could not be read.",
    )


def test_it_records_a_text_in_the_outbox_by_default(db, settings):
    patient = factories.patient()
    message, _ = message_queue(
        audience=Audience.PATIENT,
        purpose=Purpose.CONTACT,
        channel=MessageChannel.SMS,
        to_address=patient.phone,
        body=f"{settings.REFLOOP_PRACTICE_NAME}: please call us back.",
        patient_id=patient.pk,
        not_before=NOON_NY,
    )
    message = send(message, now=NOON_NY)
    assert (message.status, message.backend, message.provider_id) == (
        "sent",
        "outbox",
        f"outbox-{message.pk}",
    )


def test_it_never_sends_a_message_twice_when_sending_runs_twice(referral):
    message = queue(referral, MessageChannel.EMAIL)
    assert message_send(message_id=message.pk) == "sent"
    assert message_send(message_id=message.pk) == "sent"
    assert len(mail.outbox) == 1
    assert OutboundMessage.objects.get(pk=message.pk).attempts == 1


def test_it_leaves_a_message_not_yet_due(referral):
    later = timezone.now() + dt.timedelta(hours=1)
    message = send(queue(referral, MessageChannel.EMAIL, not_before=later))
    assert (message.status, message.attempts) == ("queued", 0)
    assert mail.outbox == []


def test_it_leaves_a_message_another_sender_holds(referral):
    message = queue(referral, MessageChannel.EMAIL)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="sending", lease_until=timezone.now() + dt.timedelta(minutes=3), attempts=1
    )
    assert send(message).status == "sending"
    assert mail.outbox == []


def test_it_retries_a_send_whose_sender_was_killed_once_the_lease_is_over(referral):
    message = queue(referral, MessageChannel.EMAIL)
    # What a sender killed after its claim leaves behind.
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="sending", lease_until=timezone.now() - dt.timedelta(seconds=1), attempts=1
    )
    call_command("refloop_scheduler", "--once")
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_it_sends_what_is_due_from_the_scheduler(referral):
    due = queue(referral, MessageChannel.EMAIL)
    later = queue(referral, MessageChannel.EMAIL, not_before=timezone.now() + dt.timedelta(hours=2))
    call_command("refloop_scheduler", "--once")
    assert OutboundMessage.objects.get(pk=due.pk).status == "sent"
    assert OutboundMessage.objects.get(pk=later.pk).status == "queued"
    call_command("refloop_scheduler", "--once")
    assert len(mail.outbox) == 1


def test_it_sends_a_deferred_text_when_its_time_comes(db):
    patient = factories.patient(time_zone="America/New_York")
    message = send(text(patient, not_before=local(22)), now=local(22))
    assert message.status == "queued"
    tomorrow = dt.timedelta(days=1)
    assert messages_send(local(7, 59) + tomorrow) == 0
    assert messages_send(local(8) + tomorrow) == 1
    message.refresh_from_db()
    assert message.status == "sent"
