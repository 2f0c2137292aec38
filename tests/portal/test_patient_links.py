import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from refloop.access.models import Appointment, PatientLink
from refloop.access.queries import slot_is_taken
from refloop.access.services import patient_link_make
from refloop.alerts.models import Alert
from refloop.core.models import AccessLogEntry
from refloop.referrals.enums import State
from tests import factories
from tests.access.conftest import local_day_at

PRACTICE = settings.REFLOOP_PRACTICE_NAME
PHONE = settings.REFLOOP_PRACTICE_PHONE


@pytest.fixture
def appointment(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake, last_name="Quill")
    slot = factories.open_slot(line=line, starts_at=local_day_at(10, 9, 30))
    return factories.booked(referral, slot=slot)


def link(appointment, purpose) -> str:
    url = patient_link_make(
        appointment_id=appointment.pk, purpose=purpose, expires_at=appointment.starts_at
    )
    return urlsplit(url).path


def test_it_shows_the_visit_and_nothing_else(client, appointment):
    response = client.get(link(appointment, "confirm"))

    page = response.content.decode()
    assert response.status_code == 200
    assert PRACTICE in page and "9:30 AM" in page and "Building B, 2nd floor" in page
    assert "Confirm my visit" in page and "csrfmiddlewaretoken" in page
    patient = appointment.referral.patient
    for secret in (
        patient.last_name,
        patient.first_name,
        "Orthopedics",
        appointment.referral.number,
    ):
        assert secret not in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_confirms_a_visit_once(client, appointment):
    url = link(appointment, "confirm")

    response = client.post(url, {"choice": "confirm"})
    assert response.status_code == 200 and "confirmed" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None

    again = client.post(url, {"choice": "confirm"})
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert PHONE in again.content.decode()
    assert client.get(url).status_code == 410


def test_it_cancels_the_visit_and_frees_the_slot(client, appointment):
    client.post(link(appointment, "cancel"))

    appointment.refresh_from_db()
    appointment.referral.refresh_from_db()
    assert appointment.outcome == Appointment.Outcome.CANCELLED
    assert appointment.referral.state == State.ACCEPTED
    assert not slot_is_taken(slot_id=appointment.slot_id)


def test_it_asks_the_schedulers_to_reschedule(client, appointment, scheduler):
    response = client.post(link(appointment, "reschedule"))

    assert "we will call you" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.reschedule_requested_at is not None
    assert appointment.outcome == Appointment.Outcome.BOOKED
    alert = Alert.objects.get(recipient=scheduler, kind="reschedule_requested")
    assert appointment.referral.number in alert.text


def test_a_texted_link_offers_all_three_and_does_one(client, appointment):
    url = link(appointment, "manage")
    page = client.get(url).content.decode()
    assert "Confirm my visit" in page and "Cancel my visit" in page
    assert "Ask for another time" in page

    client.post(url, {"choice": "confirm"})
    assert client.post(url, {"choice": "cancel"}).status_code == 410

    appointment.refresh_from_db()
    assert appointment.confirmed_at and appointment.outcome == Appointment.Outcome.BOOKED
    assert PatientLink.objects.get().used_for == "confirm"


def test_it_refuses_an_expired_link(client, appointment):
    url = link(appointment, "confirm")
    PatientLink.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    response = client.post(url, {"choice": "confirm"})

    assert response.status_code == 410 and "expired" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None


def test_a_link_to_a_visit_no_longer_booked_is_gone(client, appointment):
    confirm = link(appointment, "confirm")
    client.post(link(appointment, "cancel"))

    assert client.get(confirm).status_code == 410


def test_it_answers_404_to_a_tampered_token(client, appointment):
    url = link(appointment, "confirm")
    token = url.split("/")[2]
    tampered = url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))

    for response in (client.get(tampered), client.post(tampered), client.get("/p/nonsense/")):
        assert response.status_code == 404
        assert "not valid" in response.content.decode() and PHONE in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None


def test_it_stores_only_the_tokens_hash(appointment):
    token = link(appointment, "confirm").split("/")[2]

    assert len(token) == 22
    assert not PatientLink.objects.filter(token_hash__contains=token).exists()


def test_it_refuses_a_post_without_the_csrf_token(appointment):
    strict = Client(enforce_csrf_checks=True)
    url = link(appointment, "confirm")

    assert strict.post(url, {"choice": "confirm"}).status_code == 403
    assert PatientLink.objects.get().used_at is None


def test_it_writes_the_access_log_as_the_patient_link(client, appointment):
    client.get(link(appointment, "confirm"))

    entry = AccessLogEntry.objects.get(username="patient-link")
    assert entry.user is None and entry.object_type == "appointment"
    assert entry.object_id == str(appointment.pk)
    assert entry.patient_id == appointment.referral.patient_id
