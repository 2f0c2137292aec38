"""Twilio's webhooks: texts coming in (STOP, START, HELP) and delivery status callbacks."""

import pytest
from django.conf import settings
from django.core.management import call_command

from refloop.directory.models import Patient
from refloop.messaging.backends.twilio import twilio_signature
from refloop.messaging.enums import Purpose
from refloop.messaging.models import InboundMessage, OutboundMessage
from refloop.messaging.sending import message_send
from tests import factories
from tests.messaging.conftest import NOON_NY, local, sent_text, text

INBOUND = "/hooks/sms/twilio/inbound/"
STATUS = "/hooks/sms/twilio/status/"

pytestmark = pytest.mark.usefixtures("twilio_settings")


def signed_post(client, path, data, *, signature=None):
    url = settings.REFLOOP_BASE_URL + path
    if signature is None:
        signature = twilio_signature(url, data.items(), settings.TWILIO_AUTH_TOKEN)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, data, headers=headers)


def text_in(client, body, *, sender="+15550104477", sid="SMin0001"):
    data = {"From": sender, "To": "+15550100000", "Body": body, "MessageSid": sid}
    return signed_post(client, INBOUND, data)


def replies():
    return OutboundMessage.objects.filter(
        purpose__in=[Purpose.OPT_OUT_CONFIRMATION, Purpose.SMS_REPLY]
    )


# STOP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP!!!",
        "STOPALL",
        "stop all",
        "UNSUBSCRIBE",
        "Cancel",
        "END",
        "quit",
        "OPTOUT",
        "opt-out",
        "REVOKE",
        "please stop",
        "Stop please",
        "STOP, thank you",
        "stop texting me",
        "Please stop texting me!",
        "don't text me",
        "Don\u2019t text me anymore",
        "do not text this number",
        "no more texts",
        "No more text messages please",
        "stop sending me messages",
        "remove me from your list",
        "unsubscribe me",
    ],
)
def test_it_honours_stop_however_it_is_put(client, patient, body):
    queued = text(patient)
    response = text_in(client, body)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is not None
    queued.refresh_from_db()
    assert queued.status == "suppressed"
    assert "opted out" in queued.status_reason
    assert InboundMessage.objects.get().action == "opted_out"


def test_it_confirms_stop_with_one_reply_that_is_sent_at_once(client, patient):
    text_in(client, "STOP")
    [reply] = replies()
    assert reply.purpose == Purpose.OPT_OUT_CONFIRMATION
    assert reply.to_address == "+15550104477"
    assert settings.REFLOOP_PRACTICE_NAME in reply.body and "START" in reply.body
    # Sent to an opted-out patient at 23:00 and past the day's limit: it answers them.
    sent_text(patient, local(22))
    OutboundMessage.objects.filter(pk=reply.pk).update(not_before=NOON_NY)
    message_send(message_id=reply.pk, now=local(23))
    reply.refresh_from_db()
    assert reply.status == "sent"


def test_it_honours_stop_before_the_next_text_goes(client, patient):
    text_in(client, "stop")
    assert message_send(message_id=text(patient).pk, now=NOON_NY) == "suppressed"


def test_it_matches_the_number_on_its_digits(client, db):
    patient = factories.patient(phone="555.010.4477")
    text_in(client, "STOP", sender="+1 (555) 010-4477")
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is not None
    assert InboundMessage.objects.get().patient == patient


def test_it_opts_out_every_patient_with_that_number(client, db):
    parent = factories.patient(phone="(555) 010-4477")
    child = factories.patient(phone="555-010-4477")
    text_in(client, "STOP")
    assert Patient.objects.filter(pk__in=[parent.pk, child.pk], sms_opted_out_at=None).count() == 0


def test_it_opts_out_a_patient_texted_at_a_number_they_no_longer_have(client, patient):
    text(patient)
    Patient.objects.filter(pk=patient.pk).update(phone="555-010-8888")
    text_in(client, "STOP")
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is not None


def test_it_acts_once_on_a_webhook_delivered_twice(client, patient):
    text_in(client, "STOP", sid="SMtwice")
    first = Patient.objects.get(pk=patient.pk).sms_opted_out_at
    text_in(client, "STOP", sid="SMtwice")
    assert InboundMessage.objects.count() == 1
    assert replies().count() == 1
    assert Patient.objects.get(pk=patient.pk).sms_opted_out_at == first


# START, HELP, the rest -------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["START", "unstop", "Start please"])
def test_it_opts_a_patient_in_again_on_start(client, patient, body):
    text_in(client, "STOP", sid="SM1")
    text_in(client, body, sid="SM2")
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None
    reply = replies().order_by("-id").first()
    assert "texts are back on" in reply.body
    assert message_send(message_id=text(patient).pk, now=NOON_NY) == "sent"


def test_it_says_start_does_not_give_consent(client, db):
    factories.patient(sms_consent=False)
    text_in(client, "START")
    assert "no consent to text you on file" in replies().get().body


def test_it_answers_help_with_the_practice_name_and_phone(client, patient):
    text_in(client, "HELP")
    reply = replies().get()
    assert reply.purpose == Purpose.SMS_REPLY
    assert settings.REFLOOP_PRACTICE_NAME in reply.body
    assert settings.REFLOOP_PRACTICE_PHONE in reply.body
    assert InboundMessage.objects.get().action == "help"


def test_it_keeps_any_other_text_for_staff_without_acting(client, patient):
    text_in(client, "cancel my appointment please")
    inbound = InboundMessage.objects.get()
    assert (inbound.action, inbound.body, inbound.patient) == (
        "kept",
        "cancel my appointment please",
        patient,
    )
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None
    assert not replies().exists()


def test_it_keeps_a_text_from_an_unknown_number(client, patient):
    text_in(client, "STOP", sender="+15559998888")
    inbound = InboundMessage.objects.get()
    assert (inbound.action, inbound.patient, inbound.from_address) == (
        "unknown_number",
        None,
        "+15559998888",
    )
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None


# Signatures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [INBOUND, STATUS])
@pytest.mark.parametrize("signature", ["", "bm90IHRoZSByaWdodCBzaWduYXR1cmU="])
def test_it_refuses_a_webhook_without_a_good_signature(client, patient, path, signature):
    data = {"From": "+15550104477", "Body": "STOP", "MessageSid": "SMx", "MessageStatus": "sent"}
    response = signed_post(client, path, data, signature=signature)
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None
    assert not InboundMessage.objects.exists()


def test_it_refuses_a_signature_made_for_other_fields(client, patient):
    url = settings.REFLOOP_BASE_URL + INBOUND
    good_for = {"From": "+15550104477", "Body": "hello", "MessageSid": "SMx"}
    signature = twilio_signature(url, good_for.items(), settings.TWILIO_AUTH_TOKEN)
    response = signed_post(client, INBOUND, {**good_for, "Body": "STOP"}, signature=signature)
    assert response.status_code == 403


def test_it_refuses_webhooks_when_no_auth_token_is_configured(client, patient, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    response = client.post(INBOUND, {"From": "+15550104477", "Body": "STOP"})
    assert response.status_code == 403


# Delivery status callbacks ---------------------------------------------------------------------


def sent_by_twilio(patient, sid="SMout0001"):
    message = text(patient)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="sent", sent_at=NOON_NY, provider_id=sid, backend="twilio"
    )
    return message


def callback(client, message, status, **extra):
    data = {"MessageSid": "SMout0001", "MessageStatus": status, "AccountSid": "AC1", **extra}
    response = signed_post(client, f"{STATUS}?message={message.pk}", data)
    message.refresh_from_db()
    return response


def test_it_records_delivery(client, patient):
    message = sent_by_twilio(patient)
    assert callback(client, message, "delivered").status_code == 204
    assert message.status == "delivered"
    assert message.delivered_at is not None


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_it_records_a_failed_delivery_with_the_error_code(client, patient, status):
    message = sent_by_twilio(patient)
    callback(client, message, status, ErrorCode="30003")
    assert message.status == "failed"
    assert message.failed_at is not None
    assert message.status_reason == f"provider: {status} (error 30003)"


def test_it_does_not_go_back_on_a_late_callback(client, patient):
    message = sent_by_twilio(patient)
    callback(client, message, "delivered")
    callback(client, message, "sent")
    assert message.status == "delivered"


def test_it_answers_404_for_a_message_it_does_not_know(client, patient):
    data = {"MessageSid": "SMnobody", "MessageStatus": "delivered"}
    assert signed_post(client, STATUS, data).status_code == 404


def test_it_ties_a_callback_to_a_send_that_crashed_before_it_was_recorded(client, patient):
    message = text(patient)
    # The sender was killed after Twilio took the text, before it wrote the sid.
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="sending", attempts=1, lease_until=NOON_NY, sent_at=NOON_NY
    )
    callback(client, message, "queued")
    assert (message.status, message.provider_id) == ("sent", "SMout0001")
    # So the scheduler, once the lease is over, does not send it again.
    call_command("refloop_scheduler", "--once")
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_it_does_not_resend_a_text_twilio_took_although_the_answer_timed_out(client, patient):
    message = text(patient)
    # A timeout queued it for a retry in two minutes; Twilio had it all the same.
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="queued", attempts=1, status_reason="Twilio could not be reached."
    )
    callback(client, message, "sent")
    assert (message.status, message.provider_id) == ("sent", "SMout0001")
    assert message.status_reason == ""
