"""Texts through Twilio's Messages API, with the standard library's urllib (no SDK).

Sending: POST {TWILIO_API_BASE}/2010-04-01/Accounts/{AccountSid}/Messages.json with the form
fields To, From (or MessagingServiceSid), Body and StatusCallback, HTTP basic auth with the
account SID and auth token; Twilio answers 201 with the Message resource as JSON (its `sid` is
the provider id). Errors come back as JSON with `code` and `message`.

Idempotency: the Messages API takes no idempotency key, so a resend after a crash between
Twilio's answer and our write could text twice. What we do instead: the StatusCallback URL
carries our message id, so Twilio's first status callback (seconds later) ties its sid to our
row and marks it sent even if this process died; the scheduler retries a `sending` row only
after its lease (longer than the HTTP timeout plus the usual callback delay) has run out.

Webhooks from Twilio (inbound texts, status callbacks) are signed: X-Twilio-Signature is the
base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio called followed by each POST
parameter's name and value, sorted by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from django.conf import settings
from django.urls import reverse

from refloop.messaging.backends import SendRefused, SendResult, SendUnavailable

TIMEOUT_SECONDS = 20


class TwilioSmsBackend:
    name = "twilio"

    def __init__(self):
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.api_base = settings.TWILIO_API_BASE.rstrip("/")
        if not (self.account_sid and self.auth_token):
            raise SendUnavailable("Twilio is not configured (TWILIO_ACCOUNT_SID, TOKEN).")

    def send(self, message) -> SendResult:
        fields = {
            "To": e164(message.to_address),
            "Body": message.body,
            "StatusCallback": status_callback_url(message.pk),
        }
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            fields["MessagingServiceSid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            fields["From"] = settings.TWILIO_FROM_NUMBER
        answer = self._post(f"/2010-04-01/Accounts/{self.account_sid}/Messages.json", fields)
        sid = answer.get("sid")
        if not sid:
            raise SendUnavailable("Twilio answered without a message sid.")
        return SendResult(provider_id=sid)

    def _post(self, path: str, fields: dict[str, str]) -> dict:
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(
            self.api_base + path,
            data=urllib.parse.urlencode(fields).encode(),
            method="POST",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            code = _error_code(error)
            if error.code == 429 or error.code >= 500:
                raise SendUnavailable(f"Twilio is unavailable (HTTP {error.code}).") from error
            raise SendRefused(f"Twilio refused the text (HTTP {error.code}, {code}).") from error
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            raise SendUnavailable("Twilio could not be reached.") from error


def _error_code(error: urllib.error.HTTPError) -> str:
    # Twilio's message may quote the number; the code alone says what went wrong.
    try:
        return f"error {int(json.loads(error.read())['code'])}"
    except (ValueError, KeyError, TypeError, OSError):
        return "no error code"


def e164(phone: str) -> str:
    """A US number as typed to E.164 (+15550102000); anything else with a + is kept as is."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return phone


def status_callback_url(message_id: int) -> str:
    path = reverse("sms_twilio_status")
    return f"{settings.REFLOOP_BASE_URL.rstrip('/')}{path}?message={message_id}"


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """What Twilio puts in X-Twilio-Signature for a POST of `params` to `url`."""
    payload = url + "".join(key + value for key, value in sorted(params, key=lambda kv: kv[0]))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(url: str, params: Iterable[tuple[str, str]], signature: str) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    if not (token and signature):
        return False
    return hmac.compare_digest(twilio_signature(url, params, token), signature)
