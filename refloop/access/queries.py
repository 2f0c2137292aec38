"""Reads of access: free slots for a referral, a service line's calendar, third next available."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from refloop.access.models import HOLDS_SLOT, Appointment, Slot, ThirdNextAvailable, VisitType
from refloop.directory.enums import Priority

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
