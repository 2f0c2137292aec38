"""Reads of messages for the interfaces."""

from __future__ import annotations

from refloop.messaging.models import OutboundMessage


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
