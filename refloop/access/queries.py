"""Reads of access: patient links, waitlist candidates, the referral page's patient section."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, When

from refloop.access.models import HOLDS_SLOT, Appointment, PatientLink, WaitlistEntry, WaitlistOffer
from refloop.directory.enums import Priority
from refloop.referrals.enums import State

# Longest token we would ever have made (token_urlsafe(32) is 43 characters).
TOKEN_MAX = 64


def patient_link_for_token(token: str) -> PatientLink | None:
    if not token or len(token) > TOKEN_MAX:
        return None
    return (
        PatientLink.objects.select_related(
            "appointment__slot", "appointment__referral__patient", "offer__slot", "offer__entry"
        )
        .filter(token_hash=hashlib.sha256(token.encode()).hexdigest())
        .first()
    )


def slot_is_taken(*, slot_id: int) -> bool:
    return Appointment.objects.filter(slot_id=slot_id, outcome__in=HOLDS_SLOT).exists()


PRIORITY_RANK = Case(
    When(referral__priority=Priority.STAT, then=0),
    When(referral__priority=Priority.URGENT, then=1),
    default=2,
    output_field=IntegerField(),
)


def waitlist_candidates(*, slot, now: dt.datetime) -> QuerySet[WaitlistEntry]:
    """Active entries that would take this slot, best first: priority (stat, urgent, routine),
    then time waiting. Each is booked later than the slot, has not been offered it before, has
    no other offer open, and wants a day after the slot (if it said)."""
    booked_later = Appointment.objects.filter(
        referral_id=OuterRef("referral_id"),
        outcome=Appointment.Outcome.BOOKED,
        starts_at__gt=slot.starts_at,
    )
    offered = WaitlistOffer.objects.filter(entry_id=OuterRef("pk")).filter(
        Q(slot_id=slot.pk) | Q(status=WaitlistOffer.Status.OFFERED, expires_at__gt=now)
    )
    rows = (
        WaitlistEntry.objects.filter(
            active=True,
            visit_type_id=slot.visit_type_id,
            referral__service_line_id=slot.service_line_id,
            referral__state=State.SCHEDULED,
        )
        .filter(Q(wants_before__isnull=True) | Q(wants_before__gt=slot.starts_at.date()))
        .filter(Exists(booked_later))
        .exclude(Exists(offered))
    )
    if slot.held_for_urgent:
        rows = rows.filter(referral__priority__in=[Priority.URGENT, Priority.STAT])
    return (
        rows.select_related("referral__patient", "referral__service_line")
        .annotate(rank=PRIORITY_RANK)
        .order_by("rank", "joined_at", "id")
    )


@dataclass
class PatientSection:
    """What the referral page shows of patient contact."""

    messages: list = field(default_factory=list)  # instructions, reminders, waitlist offers
    links_used: list = field(default_factory=list)
    waitlist: WaitlistEntry | None = None
    offers: list = field(default_factory=list)
    appointment: Appointment | None = None  # the booked one


def patient_section(*, referral) -> PatientSection:
    """In a fixed number of queries, however many messages, links and offers there are. Uses the
    appointments the referral page has already prefetched."""
    from refloop.messaging.queries import patient_messages_of_referral

    appointments = list(referral.appointments.all())
    section = PatientSection(
        appointment=next((a for a in appointments if a.outcome == "booked"), None),
        messages=patient_messages_of_referral(referral_id=referral.pk),
        links_used=list(
            PatientLink.objects.filter(appointment__referral_id=referral.pk, used_at__isnull=False)
            .select_related("appointment")
            .order_by("-used_at")
        ),
    )
    entries = list(
        WaitlistEntry.objects.filter(referral_id=referral.pk)
        .select_related("visit_type")
        .prefetch_related(Prefetch("offers", queryset=WaitlistOffer.objects.select_related("slot")))
        .order_by("-joined_at", "-id")[:1]
    )
    if entries:
        section.waitlist = entries[0]
        section.offers = list(entries[0].offers.all())
    return section
