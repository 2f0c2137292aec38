"""Back to the office by the portal (settings.REFLOOP_SENDER_ROUTES).

An office with an active portal account has chosen the portal: its updates, records requests and
reports wait there (a PHI-fit channel), and its people get a link-only e-mail notice
(portal.jobs.portal_notices). Otherwise None: the referrer's own preference applies."""

from __future__ import annotations

from refloop.loop.services.referrer import Route
from refloop.messaging.enums import MessageChannel
from refloop.portal.models import OfficeAccount


def portal_route(referral) -> Route | None:
    org_id = referral.referring_organization_id
    if org_id is None:
        return None
    if not OfficeAccount.objects.filter(
        organization_id=org_id, active=True, user__is_active=True
    ).exists():
        return None
    return Route(MessageChannel.PORTAL, to_address=str(org_id))
