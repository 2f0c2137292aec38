"""The default backend of every channel but e-mail: records what would be sent, sends nothing.

The message row itself is the record (body, address, document, time); the provider id is
derived from the message id, so recording the same message twice is the same record.
"""

from __future__ import annotations

from refloop.messaging.backends import SendRefused, SendResult, document_pdf


class OutboxBackend:
    name = "outbox"

    def send(self, message) -> SendResult:
        if message.document_id is not None:
            # What a provider would do first: read the PDF. A missing file fails now, visibly.
            try:
                document_pdf(message)
            except OSError as error:
                raise SendRefused("The document's file could not be read.") from error
        return SendResult(provider_id=f"outbox-{message.pk}")
