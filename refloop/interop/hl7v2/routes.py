"""Answering an HL7 partner in HL7 (settings.REFLOOP_SENDER_ROUTES): a referral that came from an
active partner that wants status updates or the report, and has an outbound endpoint, is answered
over MLLP (status, records requests and declines as RRI^I12; the report as MDM^T02 or ORU^R01)."""

from __future__ import annotations

from refloop.interop.hl7v2.models import Hl7Partner
from refloop.loop.services.referrer import Route
from refloop.messaging.enums import MessageChannel
from refloop.referrals.enums import Channel


def hl7_route(referral) -> Route | None:
    if referral.channel != Channel.HL7 or "^" not in referral.sender_system:
        return None
    application, _, facility = referral.sender_system.partition("^")
    partners = Hl7Partner.objects.filter(sending_facility=facility, active=True).exclude(
        outbound_host=""
    )
    exact = [p for p in partners if p.sending_application == application]
    partner = (exact or [p for p in partners if not p.sending_application] or [None])[0]
    if partner is None or not (partner.wants_status or partner.wants_report):
        return None
    return Route(MessageChannel.HL7, str(partner.pk))
