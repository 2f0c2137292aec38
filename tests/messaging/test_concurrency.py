"""Two workers or two schedulers at once never send a message twice (PostgreSQL, real threads,
each with its own connection, released together at a barrier)."""

import threading

import pytest
from django.core import mail
from django.db import connection

from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.jobs import messages_send
from refloop.messaging.models import OutboundMessage
from refloop.messaging.sending import message_send
from refloop.messaging.services import message_queue
from tests import factories
from tests.messaging.conftest import NOON_NY, text

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="races are run on PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def together(*calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
        except Exception as error:  # the test asserts there were none
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def email(n: int) -> OutboundMessage:
    message, _ = message_queue(
        audience=Audience.REFERRER,
        purpose=Purpose.STATUS_UPDATE,
        channel=MessageChannel.EMAIL,
        to_address=f"office{n}@maple.example",
        subject="An update on a referral",
        body="An update is waiting for you in the portal.",
        dedupe_key=f"race:{n}",
    )
    return message


def test_it_sends_a_message_once_when_two_workers_race_for_it():
    message = email(1)
    together(*[lambda: message_send(message_id=message.pk)] * 4)
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_it_sends_each_message_once_when_two_schedulers_run_at_once():
    messages = [email(n) for n in range(40)]
    from django.utils import timezone

    now = timezone.now()
    together(lambda: messages_send(now), lambda: messages_send(now))
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.to_address for m in messages)
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_it_counts_two_texts_to_one_patient_sent_at_once_one_after_the_other():
    patient = factories.patient(time_zone="America/New_York")
    first, second = text(patient), text(patient, purpose=Purpose.INSTRUCTIONS)
    together(
        lambda: message_send(message_id=first.pk, now=NOON_NY),
        lambda: message_send(message_id=second.pk, now=NOON_NY),
    )
    statuses = sorted(OutboundMessage.objects.values_list("status", flat=True))
    assert statuses == ["queued", "sent"]
