"""Reads of messages for other apps' pages."""

from refloop.messaging.enums import Audience, Purpose
from refloop.messaging.models import OutboundMessage

PATIENT_CONTACT = (Purpose.INSTRUCTIONS, Purpose.REMINDER, Purpose.WAITLIST_OFFER)


def patient_messages_of_referral(*, referral_id: int, purposes=PATIENT_CONTACT) -> list:
    """The automated messages to the patient about one referral, newest first."""
    return list(
        OutboundMessage.objects.filter(
            referral_id=referral_id, audience=Audience.PATIENT, purpose__in=purposes
        )
        .only(
            "id",
            "purpose",
            "channel",
            "status",
            "status_reason",
            "created_at",
            "sent_at",
            "dedupe_key",
            "document_id",
        )
        .order_by("-created_at", "-id")
    )
