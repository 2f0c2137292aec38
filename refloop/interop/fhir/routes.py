"""Answering a FHIR client in its own standard: a referral that came by FHIR from a known client
is answered through the API. The message (the report with its PDF, a status update) waits in the
outbox for the client, which pulls it as a Communication and DocumentReference."""

from __future__ import annotations

from refloop.interop.fhir.models import ApiClient, FhirSubmission
from refloop.loop.services.referrer import Route
from refloop.messaging.enums import MessageChannel
from refloop.referrals.enums import Channel


def fhir_route(referral) -> Route | None:
    """Listed in settings.REFLOOP_SENDER_ROUTES. The client that submitted the referral (its
    FhirSubmission), else the active client whose client_id is the referral's sender system."""
    if referral.channel != Channel.FHIR:
        return None
    submission = (
        FhirSubmission.objects.filter(referral=referral, client__active=True)
        .select_related("client")
        .order_by("received_at", "id")
        .first()
    )
    client = submission.client if submission else None
    if client is None and referral.sender_system:
        client = ApiClient.objects.filter(client_id=referral.sender_system, active=True).first()
    if client is None:
        return None
    return Route(MessageChannel.FHIR, client.client_id, note="Pulled by the client from the API.")
