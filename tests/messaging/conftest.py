import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from refloop.messaging.enums import Audience, MessageChannel, Purpose
from refloop.messaging.models import OutboundMessage
from refloop.messaging.services import message_queue
from tests import factories

UTC = dt.UTC
# A Wednesday in June: New York is UTC-4, Los Angeles UTC-7.
NOON_NY = dt.datetime(2026, 6, 10, 16, 0, tzinfo=UTC)


def local(hour, minute=0, zone="America/New_York") -> dt.datetime:
    """That time of the fixtures' day (June 10, 2026) in `zone`, as UTC."""
    return dt.datetime(2026, 6, 10, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reminder_body() -> str:
    return f"{settings.REFLOOP_PRACTICE_NAME}: reminder of your visit on Fri. Reply STOP to stop."


def text(patient, *, purpose=Purpose.REMINDER, not_before=None, body=None, **fields):
    """A text to the patient, queued as the access helpers queue theirs."""
    message, _ = message_queue(
        audience=Audience.PATIENT,
        purpose=purpose,
        channel=MessageChannel.SMS,
        to_address=patient.phone,
        body=body or reminder_body(),
        patient_id=patient.pk,
        not_before=not_before or NOON_NY - dt.timedelta(hours=1),
        **fields,
    )
    return message


def sent_text(patient, at: dt.datetime, *, purpose=Purpose.REMINDER, status="sent"):
    """A counted text that went out at `at`."""
    message = text(patient, purpose=purpose, not_before=at)
    OutboundMessage.objects.filter(pk=message.pk).update(status=status, sent_at=at)
    return message


@pytest.fixture
def patient(db):
    return factories.patient(time_zone="America/New_York")


@pytest.fixture
def twilio_settings(settings):
    """Twilio's credentials, for the webhooks; texts still go to the outbox, and nothing in the
    tests ever reaches the real API."""
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"
    settings.TWILIO_ACCOUNT_SID = "ACtest0000000000000000000000000001"
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.TWILIO_FROM_NUMBER = "+15550100000"
    settings.REFLOOP_BASE_URL = "https://refloop.example.org"
    return settings
