"""The Twilio adapter against a local server that checks each request and answers like Twilio."""

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from refloop.messaging.models import OutboundMessage
from refloop.messaging.sending import message_send
from tests.messaging.conftest import NOON_NY, text

SID = "SM0123456789abcdef0123456789abcdef"


class FakeTwilio:
    """Keeps every request; answers with `status` and `answer` (Twilio's 201 by default)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 201
        self.answer = {"sid": SID, "status": "queued"}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "auth": self.headers.get("Authorization", ""),
                        "content_type": self.headers.get("Content-Type", ""),
                        "form": dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())),
                    }
                )
                payload = json.dumps(fake.answer).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio(twilio_settings):
    fake = FakeTwilio()
    twilio_settings.REFLOOP_SMS_BACKEND = "twilio"
    twilio_settings.TWILIO_API_BASE = fake.url
    yield fake
    fake.stop()


def send(message) -> OutboundMessage:
    message_send(message_id=message.pk, now=NOON_NY)
    return OutboundMessage.objects.get(pk=message.pk)


def test_it_sends_a_text_through_twilios_messages_api(patient, twilio, settings):
    message = send(text(patient))
    [request] = twilio.requests
    assert request["method"] == "POST"
    assert request["path"] == f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    expected = f"{settings.TWILIO_ACCOUNT_SID}:{settings.TWILIO_AUTH_TOKEN}"
    assert request["auth"] == "Basic " + base64.b64encode(expected.encode()).decode()
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {
        "To": "+15550104477",
        "From": "+15550100000",
        "Body": message.body,
        "StatusCallback": (
            f"https://refloop.example.org/hooks/sms/twilio/status/?message={message.pk}"
        ),
    }
    assert (message.status, message.backend, message.provider_id) == ("sent", "twilio", SID)


def test_it_sends_from_a_messaging_service_when_one_is_set(patient, twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG0000000000000000000000000000000a"
    send(text(patient))
    form = twilio.requests[0]["form"]
    assert form["MessagingServiceSid"] == settings.TWILIO_MESSAGING_SERVICE_SID
    assert "From" not in form


def test_it_fails_a_text_twilio_refuses_with_its_error_code(patient, twilio):
    twilio.status = 400
    twilio.answer = {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}
    message = send(text(patient))
    assert message.status == "failed"
    assert message.status_reason == "Twilio refused the text (HTTP 400, error 21211)."
    assert message.sent_at is None and message.failed_at == NOON_NY


@pytest.mark.parametrize("status", [429, 500, 503])
def test_it_retries_later_when_twilio_is_unavailable(patient, twilio, status):
    twilio.status = status
    twilio.answer = {"code": 20500, "message": "Internal Server Error"}
    message = send(text(patient))
    assert message.status == "queued"
    assert message.not_before > NOON_NY
    assert f"Twilio is unavailable (HTTP {status})." in message.status_reason
    assert message.sent_at is None


def test_it_gives_up_after_five_attempts(patient, twilio):
    twilio.status = 503
    message = text(patient)
    for _ in range(5):
        OutboundMessage.objects.filter(pk=message.pk).update(not_before=NOON_NY)
        send(message)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 5)
    assert len(twilio.requests) == 5


def test_it_retries_later_when_twilio_cannot_be_reached(patient, twilio_settings):
    twilio_settings.REFLOOP_SMS_BACKEND = "twilio"  # at 127.0.0.1:9, where nothing listens
    message = send(text(patient))
    assert (message.status, message.status_reason[:28]) == (
        "queued",
        "Twilio could not be reached.",
    )


def test_it_does_not_call_twilio_for_a_text_the_rules_hold_back(db, twilio):
    from tests import factories

    unconsented = factories.patient(sms_consent=False)
    assert send(text(unconsented)).status == "suppressed"
    assert twilio.requests == []
