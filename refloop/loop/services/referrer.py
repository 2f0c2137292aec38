"""Reaching the referrer: which channel and address a message goes by, and what it may carry.

PHI rule (DESIGN.md, Privacy): fax, Direct, the portal and paper mail may carry the patient's
name and a PDF; plain e-mail carries only a link to the portal. A referrer nobody can reach gets
an alert to the referral's owner, never a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from refloop.alerts.queries import STATE_OWNER_PERMISSION, holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.directory.enums import UpdateChannel
from refloop.messaging.enums import PHI_CHANNELS, Audience, MessageChannel
from refloop.messaging.services import message_queue
from refloop.referrals.models import Referral

MANAGER_PERMISSION = "assign_referral"
EHR_NOTE = "EHR interface not built yet (issue 4): sent by fax instead."

# How a message by each channel is recorded on ReportSent (its channel is the referrer's kind).
REPORT_CHANNEL = {
    MessageChannel.FAX: UpdateChannel.FAX,
    MessageChannel.DIRECT: UpdateChannel.DIRECT,
    MessageChannel.PORTAL: UpdateChannel.PORTAL,
    MessageChannel.LETTER: UpdateChannel.MAIL,
    # An e-mail only points at the portal, where the report is.
    MessageChannel.EMAIL: UpdateChannel.PORTAL,
}


@dataclass(frozen=True)
class Route:
    channel: str  # a MessageChannel
    to_address: str
    note: str = ""

    @property
    def carries_phi(self) -> bool:
        return self.channel in PHI_CHANNELS


def portal_link() -> str:
    # No referral number or patient in the link: the portal shows them after sign-in.
    return f"{settings.REFLOOP_BASE_URL}/portal/"


def referrer_route(referral: Referral) -> Route | None:
    return clinician_route(referral.referring_clinician, referral.referring_organization)


def clinician_route(clinician, org) -> Route | None:
    """The referrer's preferred channel when it has an address; else fax, Direct, then a
    link-only e-mail; None when there is no way to reach them."""
    if clinician is None:
        return None
    fax = clinician.fax or (org.fax if org else "")
    preferred = clinician.preferred_update_channel
    if preferred == UpdateChannel.DIRECT and clinician.direct_address:
        return Route(MessageChannel.DIRECT, clinician.direct_address)
    if preferred == UpdateChannel.PORTAL:
        # The portal notice is the message row itself; the office reads it after signing in.
        return Route(MessageChannel.PORTAL, f"portal:clinician-{clinician.pk}")
    if preferred == UpdateChannel.MAIL and org and org.address:
        address = ", ".join(p for p in (org.name, org.address, org.city, org.state) if p)
        return Route(MessageChannel.LETTER, address[:200])
    if preferred == UpdateChannel.EHR and fax:
        return Route(MessageChannel.FAX, fax, note=EHR_NOTE)
    if fax:
        return Route(MessageChannel.FAX, fax)
    if clinician.direct_address:
        return Route(MessageChannel.DIRECT, clinician.direct_address)
    if clinician.email:
        return Route(MessageChannel.EMAIL, clinician.email)
    return None


def referral_owners(referral: Referral) -> tuple[int, ...]:
    """Who answers for the referral now: its assignee, the role whose work it is, or (ended
    referrals) the managers."""
    if referral.assignee_id:
        return (referral.assignee_id,)
    permission = STATE_OWNER_PERMISSION.get(referral.state, MANAGER_PERMISSION)
    return tuple(holders_of(permission)) or tuple(holders_of(MANAGER_PERMISSION))


def referrer_unreachable(*, referral: Referral, what: str, key: str, now=None) -> None:
    """Tell the owner that `what` could not go out (one alert per message that did not go)."""
    alerts_raise(
        specs=[
            AlertSpec(
                key=f"referrer_unreachable:{key}",
                recipient_ids=referral_owners(referral),
                kind="referrer_unreachable",
                referral_id=referral.pk,
                level="urgent",
                text=(
                    f"{referral.number}: no way to reach the referrer (no fax, Direct address or "
                    f"e-mail on file); {what} was not sent."
                ),
            )
        ],
        now=now,
    )


def referrer_message(
    *,
    referral: Referral,
    route: Route,
    purpose: str,
    subject: str,
    body: str,
    dedupe_key: str,
    document_id: int | None = None,
    clinician_id: int | None = None,
):
    """Queue one message to the referrer. Over e-mail the body is replaced by a link: the caller
    writes the PHI version, and it never leaves by a channel unfit for it."""
    if not route.carries_phi:
        body = (
            f"{settings.REFLOOP_PRACTICE_NAME} has news about a referral you sent. For your "
            f"patients' privacy it is not in this e-mail; sign in to the referring-office portal "
            f"to read it: {portal_link()}"
        )
        document_id = None
    if route.note:
        body = f"{body}\n\n({route.note})"
    return message_queue(
        audience=Audience.REFERRER,
        purpose=purpose,
        channel=route.channel,
        to_address=route.to_address,
        subject=subject,
        body=body,
        referral_id=referral.pk if referral else None,
        clinician_id=clinician_id or (referral.referring_clinician_id if referral else None),
        document_id=document_id,
        dedupe_key=dedupe_key,
    )


def initials(patient) -> str:
    return f"{patient.first_name[:1]}.{patient.last_name[:1]}.".upper()


def patient_line(referral: Referral) -> str:
    """How a PHI-fit message names the patient."""
    patient = referral.patient
    return f"{patient.last_name}, {patient.first_name} (born {patient.birth_date:%Y-%m-%d})"
