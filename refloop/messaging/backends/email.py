"""E-mail through Django's e-mail backends (settings.EMAIL_BACKEND; a file by default).

Plain e-mail carries what the caller wrote and nothing more: never an attachment (sending.py
refuses a message with a document before it gets here). The Message-ID is derived from the
message id, so a resend after a crash carries the same id and mail systems can drop the copy.
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from refloop.messaging.backends import SendRefused, SendResult, SendUnavailable


class DjangoEmailBackend:
    name = "email"

    def send(self, message) -> SendResult:
        message_id = f"<refloop-message-{message.pk}@{settings.REFLOOP_MAIL_DOMAIN}>"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_address],
            headers={"Message-ID": message_id},
        )
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as error:
            raise SendRefused("The mail server refused the address.") from error
        except (smtplib.SMTPException, OSError) as error:
            raise SendUnavailable("The mail server could not be reached.") from error
        return SendResult(provider_id=message_id)
