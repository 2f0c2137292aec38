import io

import pytest
from django.conf import settings
from django.db import transaction
from pypdf import PdfReader

from refloop.access.models import Appointment, ServiceLineInstruction
from refloop.access.services import instructions_send
from refloop.core.models import AccessLogEntry
from refloop.messaging.models import OutboundMessage
from tests import factories
from tests.access.conftest import local_day_at
from tests.web.helpers import sign_in

PRACTICE = settings.REFLOOP_PRACTICE_NAME


@pytest.fixture
def translated(line):
    ServiceLineInstruction.objects.create(
        service_line=line, language="English", text="Bring your knee X-rays and a photo ID."
    )
    ServiceLineInstruction.objects.create(
        service_line=line, language="Spanish", text="Traiga sus radiografías y una identificación."
    )
    return line


def _messages(referral, channel):
    return list(OutboundMessage.objects.filter(referral=referral, channel=channel))


def test_it_sends_instructions_in_the_patients_language(referral, translated):
    factories.patient_reachable(referral, sms=False, language="spanish")
    factories.booked(referral, starts_at=local_day_at(10, 9, 30))

    (mail,) = _messages(referral, "email")
    assert "Traiga sus radiografías" in mail.body
    assert "Bring your knee X-rays" not in mail.body
    assert mail.subject == f"Your appointment with {PRACTICE}"
    assert mail.purpose == "instructions" and mail.dedupe_key.startswith("instructions:")
    assert "9:30 AM" in mail.body and "Suite 4" in mail.body


def test_it_falls_back_to_english_without_a_translation(referral, translated):
    factories.patient_reachable(referral, sms=False, language="Tagalog")
    factories.booked(referral, starts_at=local_day_at(10, 9, 30))

    (mail,) = _messages(referral, "email")
    assert "Bring your knee X-rays" in mail.body


def test_it_falls_back_to_the_service_lines_own_instructions(referral, line):
    line.patient_instructions = "Come to the east entrance 15 minutes early."
    line.save()
    factories.patient_reachable(referral, sms=False, language="Spanish")
    factories.booked(referral, starts_at=local_day_at(10, 9, 30))

    (mail,) = _messages(referral, "email")
    assert "east entrance" in mail.body


def test_it_texts_a_short_message_naming_the_practice_not_the_service(referral, line):
    factories.patient_reachable(referral, email=False)
    appointment = factories.booked(referral, starts_at=local_day_at(10, 9, 30))

    (text,) = _messages(referral, "sms")
    assert len(text.body) < 160
    assert text.body.startswith(f"{PRACTICE}: your visit is ")
    assert appointment.starts_at.astimezone().strftime("%a %b %-d 9:30 AM") in text.body
    assert line.name.lower() not in text.body.lower()
    assert f"{settings.REFLOOP_BASE_URL}/p/" in text.body
    assert text.expires_at == appointment.starts_at
    assert not _messages(referral, "letter")


def test_it_prints_a_letter_for_a_patient_without_consent(referral, translated):
    factories.booked(referral, starts_at=local_day_at(10, 9, 30))

    (letter,) = _messages(referral, "letter")
    document = letter.document
    assert document.title == "Instructions letter" and document.kind == "other"
    assert Appointment.objects.get(referral=referral).instructions_letter == document
    with document.original.open("rb") as pdf:
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read())).pages)
    assert PRACTICE in text
    assert "Bring your knee X-rays" in text
    assert "9:30 AM" in text
    assert PdfReader(document.original.path).metadata.title == "Letter"  # no PHI in metadata
    assert not _messages(referral, "sms") and not _messages(referral, "email")


def test_it_sends_each_instruction_once(referral):
    factories.patient_reachable(referral)
    appointment = factories.booked(referral, starts_at=local_day_at(10, 9, 30))

    instructions_send(appointment_id=appointment.pk)

    assert OutboundMessage.objects.filter(referral=referral).count() == 2


def test_it_queues_nothing_when_the_booking_rolls_back(referral):
    factories.patient_reachable(referral)
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.booked(referral, starts_at=local_day_at(10, 9, 30))
        raise RuntimeError("the booking failed after the instructions were queued")

    assert not OutboundMessage.objects.exists()


def test_it_shows_the_letter_to_print_on_the_referral_page(client, referral, scheduler):
    appointment = factories.booked(referral, starts_at=local_day_at(10, 9, 30))
    appointment.refresh_from_db()
    sign_in(client, scheduler)

    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    url = f"/documents/{appointment.instructions_letter_id}/"
    assert "Print instructions letter" in page and url in page

    response = client.get(url)
    assert response["Content-Type"] == "application/pdf"
    assert AccessLogEntry.objects.filter(
        username=scheduler.username, object_type="document", action="download"
    ).exists()


def test_it_makes_a_letter_on_request_for_a_patient_who_has_consent(client, referral, scheduler):
    factories.patient_reachable(referral)
    appointment = factories.booked(referral, starts_at=local_day_at(10, 9, 30))
    assert appointment.instructions_letter_id is None
    sign_in(client, scheduler)
    referral.refresh_from_db()

    response = client.post(
        f"/referrals/{referral.pk}/do/instructions_letter/",
        {"instructions_letter-version": referral.version},
        follow=True,
    )

    appointment.refresh_from_db()
    assert appointment.instructions_letter.title == "Instructions letter"
    assert "Print instructions letter" in response.content.decode()


def test_it_refuses_to_start_when_texts_would_not_fit(settings):
    from refloop.access.checks import texts_fit

    assert texts_fit() == []
    settings.REFLOOP_BASE_URL = "https://referrals.a-very-long-health-system-name.example.org"
    settings.REFLOOP_PRACTICE_NAME = "Riverside Regional Specialty Care Associates"
    [error] = texts_fit()
    assert error.id == "refloop.access.E001" and "REFLOOP_BASE_URL" in error.hint
