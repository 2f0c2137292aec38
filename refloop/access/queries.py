"""Reads of access: free slots for a referral, a service line's calendar, third next available;
patient links, waitlist candidates, the referral page's patient section."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from refloop.access.models import (
    HOLDS_SLOT,
    Appointment,
    PatientLink,
    Slot,
    ThirdNextAvailable,
    VisitType,
    WaitlistEntry,
    WaitlistOffer,
)
from refloop.directory.enums import Priority
from refloop.referrals.enums import State

URGENT_PRIORITIES = (Priority.URGENT, Priority.STAT)
FREE_SLOTS_SHOWN = 60


def release_hours() -> int:
    return int(getattr(settings, "REFLOOP_URGENT_HOLD_RELEASE_HOURS", 24))


def taken() -> Exists:
    """An appointment keeps the slot (booked, attended or missed): the same condition as the
    database's `slot_booked_once`."""
    return Exists(Appointment.objects.filter(slot=OuterRef("pk"), outcome__in=HOLDS_SLOT))


def bookable_slots(*, service_line_id: int, now: dt.datetime) -> QuerySet:
    """Future slots of the line that are neither withdrawn nor taken (held ones included)."""
    return Slot.objects.filter(
        service_line_id=service_line_id, starts_at__gt=now, withdrawn=False
    ).exclude(taken())


def held_visible_to_routine(now: dt.datetime) -> Q:
    """A held slot still free this close to its start is released to everyone."""
    return Q(held_for_urgent=False) | Q(starts_at__lte=now + dt.timedelta(hours=release_hours()))


def is_urgent(priority: str) -> bool:
    return priority in URGENT_PRIORITIES


def new_referral_visit_type_id(service_line_id: int) -> int | None:
    return (
        VisitType.objects.filter(service_line_id=service_line_id, for_new_referrals=True)
        .values_list("pk", flat=True)
        .first()
    )


def free_slots(
    *,
    referral,
    visit_type_id: int | None = None,
    limit: int = FREE_SLOTS_SHOWN,
    now: dt.datetime | None = None,
) -> list[Slot]:
    """The slots this referral may book, soonest first: of the line's visit type for new
    referrals unless another is asked. Urgent and stat referrals see the held slots first;
    routine ones see a held slot only once it is released."""
    now = now or timezone.now()
    slots = bookable_slots(service_line_id=referral.service_line_id, now=now)
    visit_type_id = visit_type_id or new_referral_visit_type_id(referral.service_line_id)
    if visit_type_id:
        slots = slots.filter(visit_type_id=visit_type_id)
    if is_urgent(referral.priority):
        slots = slots.annotate(
            held_rank=Case(When(held_for_urgent=True, then=Value(0)), default=Value(1))
        ).order_by("held_rank", "starts_at", "id")
    else:
        slots = slots.filter(held_visible_to_routine(now)).order_by("starts_at", "id")
    return list(slots.select_related("clinician", "visit_type")[:limit])


# The calendar page ---------------------------------------------------------------------------


def calendar_slots(*, service_line_id: int, start: dt.datetime, end: dt.datetime) -> list[Slot]:
    """Every slot of the line between start and end, with the referral holding it (an id: the
    page shows its number, never a patient) in `booked_referral_id`."""
    holder = Appointment.objects.filter(slot=OuterRef("pk"), outcome__in=HOLDS_SLOT).values(
        "referral_id"
    )[:1]
    return list(
        Slot.objects.filter(
            service_line_id=service_line_id, starts_at__gte=start, starts_at__lt=end
        )
        .annotate(booked_referral_id=Subquery(holder, output_field=IntegerField()))
        .select_related("clinician", "visit_type")
        .order_by("clinician__last_name", "clinician_id", "starts_at")
    )


@dataclass
class TnaSummary:
    """The line's latest third-next-available figures: the mean over clinicians and visit types
    measured, and each row (days None: fewer than three bookable slots in the horizon)."""

    measured_on: dt.date | None = None
    mean_days: float | None = None
    rows: list[ThirdNextAvailable] = field(default_factory=list)

    @property
    def short_of_three(self) -> int:
        return sum(1 for row in self.rows if row.days is None)


def tna_for_line(*, service_line_id: int, day: dt.date | None = None) -> TnaSummary:
    """The figures measured on `day` (default: the latest day measured)."""
    rows = ThirdNextAvailable.objects.filter(service_line_id=service_line_id)
    if day is None:
        day = rows.order_by("-measured_on").values_list("measured_on", flat=True).first()
        if day is None:
            return TnaSummary()
    rows = list(
        rows.filter(measured_on=day)
        .select_related("clinician", "visit_type")
        .order_by("clinician__last_name", "clinician_id", "visit_type__name")
    )
    measured = [row.days for row in rows if row.days is not None]
    mean = round(sum(measured) / len(measured), 1) if measured else None
    return TnaSummary(measured_on=day, mean_days=mean, rows=rows)


# Patient links and the waitlist ------------------------------------------------------------

# Longer than any token we make (token_urlsafe(16) is 22 characters; older links had 43).
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
        # wants_before is the practice's date: compare the slot's local day, not its UTC one.
        .filter(
            Q(wants_before__isnull=True)
            | Q(wants_before__gt=timezone.localtime(slot.starts_at).date())
        )
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
