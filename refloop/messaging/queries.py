"""Reads of messages for the interfaces and for other apps' pages."""

from __future__ import annotations

from refloop.messaging.enums import Audience, Purpose
from refloop.messaging.models import OutboundMessage

PATIENT_CONTACT = (Purpose.INSTRUCTIONS, Purpose.REMINDER, Purpose.WAITLIST_OFFER)


def messages_for_referral(*, referral_id: int) -> list[OutboundMessage]:
    """The messages about a referral, to the patient and to the referrer, oldest first."""
    return list(
        OutboundMessage.objects.filter(referral_id=referral_id)
        .only(
            "id",
            "referral_id",
            "audience",
            "channel",
            "purpose",
            "status",
            "status_reason",
            "not_before",
            "created_at",
            "sent_at",
            "delivered_at",
            "failed_at",
            "backend",
        )
        .order_by("created_at", "id")
    )


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
