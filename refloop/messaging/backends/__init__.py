"""Channel backends: how a claimed message actually leaves (or is recorded as if it had).

A backend is a class with a `name` and `send(message) -> SendResult`. It raises `SendRefused`
when the provider will never take this message (a bad number: the message fails) and
`SendUnavailable` when it may take it later (network down, HTTP 5xx or 429: retried with a
back-off). Any other exception is a crash: the message stays `sending` under its lease, and the
scheduler takes it again when the lease runs out.

Which backend a channel uses: settings REFLOOP_SMS_BACKEND, REFLOOP_FAX_BACKEND and
REFLOOP_DIRECT_BACKEND ("outbox", "twilio" or a dotted path to a class), REFLOOP_HL7_BACKEND (the
MLLP sender to the partner); e-mail always goes through Django's e-mail backends
(settings.EMAIL_BACKEND); the portal, the FHIR API and printed letters are recorded in the outbox
(the portal shows them, FHIR clients read them, letters are printed from the referral page).

A fax or Direct provider adapter is a backend like the others: it reads the PDF with
`document_pdf(message)`, sends it to `message.to_address` with `message.body` as the cover note,
passes `message.pk` as its idempotency key where the provider takes one, and returns the
provider's id, which its delivery callback later quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from refloop.messaging.enums import MessageChannel

if TYPE_CHECKING:
    from refloop.messaging.models import OutboundMessage

KNOWN = {
    "outbox": "refloop.messaging.backends.outbox.OutboxBackend",
    "email": "refloop.messaging.backends.email.DjangoEmailBackend",
    "twilio": "refloop.messaging.backends.twilio.TwilioSmsBackend",
}


@dataclass(frozen=True)
class SendResult:
    provider_id: str


class SendRefused(Exception):
    """The provider will never send this message. The text is shown on the referral page: say
    what was wrong, with codes, never the patient's details."""


class SendUnavailable(Exception):
    """The provider cannot take it now; try again later."""


class ChannelBackend(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> SendResult: ...


def backend_for(channel: str) -> ChannelBackend:
    configured = {
        MessageChannel.SMS: settings.REFLOOP_SMS_BACKEND,
        MessageChannel.FAX: settings.REFLOOP_FAX_BACKEND,
        MessageChannel.DIRECT: settings.REFLOOP_DIRECT_BACKEND,
        MessageChannel.HL7: settings.REFLOOP_HL7_BACKEND,
        MessageChannel.EMAIL: "email",
    }.get(channel, "outbox")
    return import_string(KNOWN.get(configured, configured))()


def document_pdf(message: OutboundMessage) -> bytes:
    """The PDF a message carries (the converted copy of a faxed TIFF, else the original)."""
    document = message.document
    stored = document.viewable or document.original
    with stored.open("rb") as handle:
        return handle.read()
