"""Reaching the referrer: which channel and address a message goes by, and what it may carry.

PHI rule (DESIGN.md, Privacy): fax, Direct, paper mail, the referring-office portal and interface
partners (HL7, FHIR) may carry the patient's name and a PDF. A referral whose office has an active
portal account is answered in the portal (refloop.portal.routes.portal_route, first in
settings.REFLOOP_SENDER_ROUTES); its people get a link-only e-mail notice (refloop.portal.jobs),
never the message itself. Plain e-mail alone never reaches a referrer. A referrer nobody can reach
gets an alert to the referral's owner, never a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from refloop.alerts.queries import STATE_OWNER_PERMISSION, holders_of
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.core.errors import NotFound
from refloop.directory.enums import UpdateChannel
from refloop.messaging.enums import PHI_CHANNELS, Audience, MessageChannel
from refloop.messaging.services import message_queue
from refloop.referrals.models import Referral

MANAGER_PERMISSION = "assign_referral"
# Preferred channels the referrer cannot be reached by (yet): the message says how it came instead.
# PORTAL: the office has no active portal account (portal_route answered None).
NOT_BUILT = {
    UpdateChannel.EHR: "EHR interface not built yet (issue 4)",
    UpdateChannel.PORTAL: "No referring-office portal account for this office yet",
}

# How a message by each channel is recorded on ReportSent (its channel is the referrer's kind).
REPORT_CHANNEL = {
    MessageChannel.FAX: UpdateChannel.FAX,
    MessageChannel.DIRECT: UpdateChannel.DIRECT,
    MessageChannel.LETTER: UpdateChannel.MAIL,
    MessageChannel.PORTAL: UpdateChannel.PORTAL,
    MessageChannel.HL7: UpdateChannel.EHR,
    MessageChannel.FHIR: UpdateChannel.EHR,
}


@dataclass(frozen=True)
class Route:
    channel: str  # a MessageChannel
    to_address: str
    note: str = ""


# Channels the sender reads on its own schedule, exposing only the report and the referral's
# state (a FHIR client pulls Task and Communication): a message that asks something of a person
# (records we are missing) must not wait there.
PULLED_CHANNELS = frozenset({MessageChannel.FHIR})


def referrer_route(referral: Referral, *, asks_something: bool = False) -> Route | None:
    """Back the way the referral came when its sender wants answers there (an HL7 partner, a FHIR
    client, a portal office: settings.REFLOOP_SENDER_ROUTES), else the referrer's preference."""
    for path in settings.REFLOOP_SENDER_ROUTES:
        route = import_string(path)(referral)
        if route is not None and not (asks_something and route.channel in PULLED_CHANNELS):
            return route
    return clinician_route(referral.referring_clinician, referral.referring_organization)


def clinician_route(clinician, org) -> Route | None:
    """The referrer's preferred channel when it has an address; else fax (the clinician's, then
    the practice's), then Direct; None when there is no way to reach them.

    A referrer who prefers the portal but whose office has no portal account (portal_route did
    not answer) gets a fax or a Direct message saying so; an e-mail address alone does not reach
    a referrer."""
    if clinician is None:
        return None
    fax = clinician.fax or (org.fax if org else "")
    preferred = clinician.preferred_update_channel
    if preferred == UpdateChannel.DIRECT and clinician.direct_address:
        return Route(MessageChannel.DIRECT, clinician.direct_address)
    if preferred == UpdateChannel.MAIL and org and org.address:
        address = ", ".join(p for p in (org.name, org.address, org.city, org.state) if p)
        return Route(MessageChannel.LETTER, address[:200])
    # Organizations have no Direct address in the directory: only the clinician's is tried.
    if fax:
        route = Route(MessageChannel.FAX, fax)
    elif clinician.direct_address:
        route = Route(MessageChannel.DIRECT, clinician.direct_address)
    else:
        return None
    if preferred in NOT_BUILT:
        how = "fax" if route.channel == MessageChannel.FAX else "Direct message"
        note = f"{NOT_BUILT[preferred]}: sent by {how} instead."
        route = Route(route.channel, route.to_address, note=note)
    return route


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
                    f"{referral.number}: no way to reach the referrer (no fax number or Direct "
                    f"address on file); {what} was not sent."
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
    """Queue one message to the referrer. Callers write the patient's name and attach PDFs, so
    a route unfit for PHI (plain e-mail, a text) is refused outright."""
    if route.channel not in PHI_CHANNELS:
        raise ValueError(f"{route.channel} cannot carry a message to a referrer")
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


def referral_with_referrer(referral_id: int) -> Referral:
    """The referral with what writing to its referrer needs (patient, line, clinician, practice)."""
    referral = (
        Referral.objects.select_related(
            "patient", "service_line", "referring_clinician", "referring_organization"
        )
        .filter(pk=referral_id)
        .first()
    )
    if referral is None:
        raise NotFound("No such referral.")
    return referral
