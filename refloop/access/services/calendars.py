"""Calendars: slots made from the clinicians' templates, slots withdrawn when a clinician is
away, and the daily third-next-available measure (IHI)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from refloop.access.models import Slot, SlotTemplate, ThirdNextAvailable
from refloop.access.queries import taken
from refloop.core.calendar import practice_calendar
from refloop.core.errors import DomainError
from refloop.referrals.services.lifecycle import require


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _days(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def _template_slots(template: SlotTemplate, day: dt.date, tz: ZoneInfo) -> list[Slot]:
    # Wall-clock times of the practice's zone: a 09:00 session stays at 09:00 across DST.
    length = dt.timedelta(minutes=template.visit_type.minutes)
    start = dt.datetime.combine(day, template.start_time, tz)
    end = dt.datetime.combine(day, template.end_time, tz)
    slots = []
    while start + length <= end:
        slots.append(
            Slot(
                service_line_id=template.visit_type.service_line_id,
                clinician_id=template.clinician_id,
                visit_type_id=template.visit_type_id,
                template=template,
                starts_at=start,
                ends_at=start + length,
                location=template.location,
                held_for_urgent=template.held_for_urgent,
            )
        )
        start += length
    return slots


def _active_on(template: SlotTemplate, day: dt.date) -> bool:
    return (template.active_from is None or template.active_from <= day) and (
        template.active_until is None or day <= template.active_until
    )


@transaction.atomic
def slots_generate(*, service_line_id: int, start: dt.date, end: dt.date) -> int:
    """Make the slots of the line's templates from start to end (both included) on the
    practice's business days; returns how many were new. Safe to run again: a clinician has one
    slot per start time, and a withdrawn slot stays withdrawn."""
    if end < start:
        raise DomainError("The end date is before the start date.", code="dates")
    templates = list(
        SlotTemplate.objects.filter(visit_type__service_line_id=service_line_id)
        .filter(Q(active_until__isnull=True) | Q(active_until__gte=start))
        .filter(Q(active_from__isnull=True) | Q(active_from__lte=end))
        .select_related("visit_type")
    )
    if not templates:
        return 0
    calendar, tz = practice_calendar(), _tz()
    wanted: list[Slot] = []
    for day in _days(start, end):
        if not calendar.is_business_day(day):
            continue  # weekends, holidays and closures have no slots
        for template in templates:
            if template.weekday == day.weekday() and _active_on(template, day):
                wanted.extend(_template_slots(template, day, tz))
    if not wanted:
        return 0
    existing = set(
        Slot.objects.filter(
            clinician_id__in={s.clinician_id for s in wanted},
            starts_at__gte=min(s.starts_at for s in wanted),
            starts_at__lte=max(s.starts_at for s in wanted),
        ).values_list("clinician_id", "starts_at")
    )
    new, seen = [], set(existing)
    for slot in wanted:
        key = (slot.clinician_id, slot.starts_at)
        if key not in seen:  # two templates overlapping make one slot, not an error
            seen.add(key)
            new.append(slot)
    # ignore_conflicts: a second scheduler generating the same days at once adds nothing.
    Slot.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    return len(new)


@dataclass(frozen=True)
class Withdrawal:
    withdrawn: int
    # Booked slots in the period: left as they are, for a scheduler to rebook with the patient.
    booked_slot_ids: tuple[int, ...]


@transaction.atomic
def slot_withdraw(*, clinician_id: int, start: dt.datetime, end: dt.datetime, actor) -> Withdrawal:
    """The clinician is away from start to end: their free slots are withdrawn (never offered
    again, kept for history); booked ones are left and reported."""
    require(actor, "schedule_referral")
    if end <= start:
        raise DomainError("The end is not after the start.", code="dates")
    slots = Slot.objects.filter(
        clinician_id=clinician_id, starts_at__gte=start, starts_at__lt=end, withdrawn=False
    )
    booked = tuple(slots.filter(taken()).order_by("starts_at").values_list("pk", flat=True))
    withdrawn = slots.exclude(pk__in=booked).update(withdrawn=True)
    return Withdrawal(withdrawn=withdrawn, booked_slot_ids=booked)


def tna_measure_time() -> dt.time:
    return dt.time.fromisoformat(getattr(settings, "REFLOOP_TNA_MEASURE_TIME", "08:00"))


@transaction.atomic
def tna_measure(*, day: dt.date, at: dt.time | None = None) -> list[ThirdNextAvailable]:
    """Third next available for each clinician and visit type of the lines that use the
    calendar: calendar days from `day` at `at` to the third slot then free, not held for urgent
    referrals and not withdrawn (None: fewer than three in the slots generated). Stored once a
    day; measuring the same day again replaces that day's figures."""
    moment = dt.datetime.combine(day, at or tna_measure_time(), _tz())
    calendar_lines = Q(service_line__uses_calendar=True)
    pairs = set(
        SlotTemplate.objects.filter(visit_type__service_line__uses_calendar=True)
        .filter(Q(active_until__isnull=True) | Q(active_until__gte=day))
        .values_list("visit_type__service_line_id", "clinician_id", "visit_type_id")
    )
    future = Slot.objects.filter(calendar_lines, starts_at__gte=moment)
    pairs |= set(future.values_list("service_line_id", "clinician_id", "visit_type_id").distinct())
    ranked = (
        future.filter(withdrawn=False, held_for_urgent=False)
        .exclude(taken())
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("clinician_id"), F("visit_type_id")],
                order_by=[F("starts_at").asc(), F("id").asc()],
            )
        )
        .filter(rank=3)
        .values_list("clinician_id", "visit_type_id", "starts_at")
    )
    tz = _tz()
    third = {(c, v): starts.astimezone(tz).date() for c, v, starts in ranked}
    rows = []
    for line_id, clinician_id, visit_type_id in sorted(pairs):
        on = third.get((clinician_id, visit_type_id))
        rows.append(
            ThirdNextAvailable(
                measured_on=day,
                service_line_id=line_id,
                clinician_id=clinician_id,
                visit_type_id=visit_type_id,
                days=(on - day).days if on else None,
            )
        )
    ThirdNextAvailable.objects.filter(measured_on=day).delete()
    ThirdNextAvailable.objects.bulk_create(rows)
    return rows
