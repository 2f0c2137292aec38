"""TCPA and common sense, each rule decided at its boundary, as the sender applies it."""

import datetime as dt

import pytest
from django.conf import settings

from refloop.core.errors import DomainError
from refloop.directory.models import Patient
from refloop.messaging.enums import Purpose
from refloop.messaging.models import OutboundMessage
from refloop.messaging.rules import inbound_keyword
from refloop.messaging.sending import message_send
from tests import factories
from tests.messaging.conftest import NOON_NY, local, sent_text, text

H = dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)


def sent_now(message, now=NOON_NY) -> OutboundMessage:
    message_send(message_id=message.pk, now=now)
    return OutboundMessage.objects.get(pk=message.pk)


# Content: refused when queued ------------------------------------------------------------------


def practice_text(length: int) -> str:
    start = f"{settings.REFLOOP_PRACTICE_NAME}: see you soon."
    return start + "x" * (length - len(start))


def test_it_queues_a_text_of_159_characters(patient):
    assert text(patient, body=practice_text(159)).status == "queued"


def test_it_refuses_a_text_of_160_characters(patient):
    with pytest.raises(DomainError, match="under 160 characters"):
        text(patient, body=practice_text(160))
    assert not OutboundMessage.objects.exists()


def test_it_refuses_a_text_that_does_not_name_the_practice(patient):
    with pytest.raises(DomainError, match="name the practice"):
        text(patient, body="Reminder: your visit is on Friday. Reply STOP to stop.")


@pytest.mark.parametrize(
    "words", ["your oncology visit", "the Cardiology clinic", "HIV follow-up", "mental  health"]
)
def test_it_refuses_a_text_naming_a_clinical_service(patient, words):
    with pytest.raises(DomainError, match="clinical service"):
        text(patient, body=f"{settings.REFLOOP_PRACTICE_NAME}: {words} is on Fri.")


def test_it_refuses_a_text_naming_a_service_line(patient, line):
    with pytest.raises(DomainError, match="orthopedics"):
        text(patient, body=f"{settings.REFLOOP_PRACTICE_NAME}: your Orthopedics visit is Fri.")


def test_it_does_not_count_a_clinical_word_inside_another_word(patient):
    # "Sturgeon Street" holds "surgeon" only as letters, not as a word.
    body = f"{settings.REFLOOP_PRACTICE_NAME}: we are at 4 Sturgeon Street."
    assert text(patient, body=body).status == "queued"


def test_it_lets_the_practice_name_contain_a_clinical_word(patient, settings):
    settings.REFLOOP_PRACTICE_NAME = "Riverside Cardiology"
    assert text(patient, body="Riverside Cardiology: visit on Fri. Reply STOP.").pk


# Consent and STOP ------------------------------------------------------------------------------


def test_it_sends_a_text_with_consent(patient):
    message = sent_now(text(patient))
    assert (message.status, message.backend) == ("sent", "outbox")


def test_it_suppresses_a_text_without_consent(db):
    patient = factories.patient(sms_consent=False)
    message = sent_now(text(patient))
    assert message.status == "suppressed"
    assert message.status_reason == "no consent to texts on record"


def test_it_suppresses_a_text_after_the_patient_opted_out(patient):
    Patient.objects.filter(pk=patient.pk).update(sms_opted_out_at=NOON_NY - dt.timedelta(days=3))
    message = sent_now(text(patient))
    assert message.status == "suppressed"
    assert "opted out" in message.status_reason


# One a day, three in 7 days --------------------------------------------------------------------


def test_it_defers_a_second_text_within_24_hours_to_when_the_day_is_over(patient):
    first_at = NOON_NY - dt.timedelta(hours=24) + S
    sent_text(patient, first_at)
    message = sent_now(text(patient))
    assert message.status == "queued"
    assert message.not_before == first_at + dt.timedelta(hours=24)
    assert "one automated text a day" in message.status_reason


def test_it_sends_a_text_24_hours_after_the_last(patient):
    sent_text(patient, NOON_NY - dt.timedelta(hours=24))
    assert sent_now(text(patient)).status == "sent"


def test_it_defers_a_fourth_text_in_7_days(patient):
    third_last = NOON_NY - dt.timedelta(days=7) + S
    for at in (third_last, NOON_NY - dt.timedelta(days=4), NOON_NY - dt.timedelta(days=2)):
        sent_text(patient, at)
    message = sent_now(text(patient))
    assert message.status == "queued"
    assert message.not_before == third_last + dt.timedelta(days=7)
    assert "three automated texts in 7 days" in message.status_reason


def test_it_sends_when_the_third_last_text_is_exactly_7_days_old(patient):
    for days in (7, 4, 2):
        sent_text(patient, NOON_NY - dt.timedelta(days=days))
    assert sent_now(text(patient)).status == "sent"


def test_it_counts_instructions_reminders_and_offers_together(patient):
    sent_text(patient, NOON_NY - 3 * H, purpose=Purpose.INSTRUCTIONS)
    assert sent_now(text(patient, purpose=Purpose.WAITLIST_OFFER)).status == "queued"


def test_it_counts_a_text_being_sent_right_now(patient):
    sent_text(patient, NOON_NY, status="sending")
    assert sent_now(text(patient)).status == "queued"


def test_it_does_not_count_an_opt_out_confirmation(patient):
    sent_text(patient, NOON_NY - H, purpose=Purpose.OPT_OUT_CONFIRMATION)
    assert sent_now(text(patient)).status == "sent"


def test_it_does_not_count_another_patients_texts(patient):
    sent_text(factories.patient(), NOON_NY - H)
    assert sent_now(text(patient)).status == "sent"


def test_it_suppresses_a_text_the_limits_hold_past_its_expiry(patient):
    sent_text(patient, NOON_NY - H)
    message = sent_now(text(patient, expires_at=NOON_NY + 5 * H))
    assert message.status == "suppressed"
    assert "could not go before it expired" in message.status_reason


def test_it_suppresses_an_expired_message(patient):
    message = sent_now(text(patient, expires_at=NOON_NY))
    assert (message.status, message.status_reason) == (
        "suppressed",
        "expired before it could be sent",
    )


# Quiet hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(7, 59), "queued"),
        (local(8, 0), "sent"),
        (local(20, 59), "sent"),
        (local(21, 0), "queued"),
    ],
)
def test_it_sends_texts_only_from_8_to_21_in_the_patients_zone(patient, at, expected):
    assert sent_now(text(patient, not_before=at), now=at).status == expected


def test_it_defers_a_text_at_21_00_to_08_00_the_next_morning(patient):
    message = sent_now(text(patient, not_before=local(21)), now=local(21))
    assert message.not_before == local(8) + dt.timedelta(days=1)
    assert "quiet hours" in message.status_reason


def test_it_judges_quiet_hours_in_the_patients_own_zone(patient):
    west = factories.patient(phone="555-010-9999", time_zone="America/Los_Angeles")
    at = local(10, 30)  # 07:30 in Los Angeles
    assert sent_now(text(patient, not_before=at), now=at).status == "sent"
    message = sent_now(text(west, not_before=at), now=at)
    assert message.status == "queued"
    assert message.not_before == local(8, zone="America/Los_Angeles")


def test_it_uses_the_practice_zone_when_the_patient_has_none(db, settings):
    settings.TIME_ZONE = "America/Chicago"
    patient = factories.patient(time_zone="")
    at = local(8, 30)  # 07:30 in Chicago
    message = sent_now(text(patient, not_before=at), now=at)
    assert message.not_before == local(8, zone="America/Chicago")


def test_it_defers_to_the_end_of_the_days_limit_when_that_is_before_21_00(patient):
    sent_text(patient, local(20, 30) - dt.timedelta(days=1))
    message = sent_now(text(patient, not_before=local(13)), now=local(13))
    assert message.not_before == local(20, 30)


def test_it_defers_past_quiet_hours_when_the_limit_ends_at_night(patient):
    sent_text(patient, local(22, 30) - dt.timedelta(days=1))
    message = sent_now(text(patient, not_before=local(13)), now=local(13))
    assert message.not_before == local(8) + dt.timedelta(days=1)


# Inbound keywords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "cancel my appointment",
        "Can I come at 3 instead?",
        "I will stop by the office tomorrow",
        "Thanks, see you Friday",
        "yes",
    ],
)
def test_it_does_not_read_an_ordinary_text_as_stop(body):
    assert inbound_keyword(body) == ""
