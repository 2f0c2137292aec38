"""The demo's gifts (called by demo.marketing after the referrals and their facts are loaded).

This calendar year, for the demo's referring physicians: modest lunch-and-learn meals shared with
office staff (planned by the liaison, approved by compliance, recorded as given), which keep
everyone well inside the limit; one physician close to it, with a planned lunch compliance cannot
approve; one physician whose dinner took them a little over, with the repayment cure open; and a
planned breakfast waiting in the approval queue. Everything goes through refloop.gifts.services.

The year's limit must have been entered (2026's is seeded): if not, nothing is loaded and the
ledger says that planning waits for the admin to enter CMS's figure.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from refloop.core.errors import DomainError
from refloop.core.roles import Role
from refloop.directory.models import Clinician, ClinicianRole
from refloop.gifts.enums import GiftKind, LimitKind
from refloop.gifts.queries import gift_limit_amount, physician_year_totals
from refloop.gifts.rules import is_physician, money
from refloop.gifts.services import gift_approve, gift_plan, gift_record, gift_record_actual
from refloop.outreach.enums import ActivityKind, ActivityStatus
from refloop.outreach.models import Activity

log = logging.getLogger(__name__)

PHYSICIANS = 12
STAFF = ("Referral coordinator", "Office manager", "Front desk lead", "Practice nurse")
PER_HEAD_CENTS = (1450, 2300)  # a sandwich lunch to a hot buffet, per head
NEAR_HEADROOM = Decimal("18.50")  # what the physician close to the limit has left
OVER_BY = Decimal("42.00")  # the cured excess
TEXTBOOK = Decimal("145.00")


def gifts_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    today = timezone.localdate(now)
    limit = gift_limit_amount(year=today.year, kind=LimitKind.NON_MONETARY_ANNUAL)
    if limit is None:
        log.warning("gifts demo: no limit entered for %s, nothing loaded", today.year)
        return
    liaison, compliance = users[Role.LIAISON], users[Role.COMPLIANCE]
    doctors = _referring_physicians()
    if len(doctors) < 3:
        return
    start = dt.date(today.year, 1, 1)
    for on, attendees, activity_id in _lunches(doctors, start, today, rng):
        heads = len(attendees) + 2
        per_head = Decimal(rng.randint(*PER_HEAD_CENTS)) / 100
        try:
            item = gift_plan(
                kind=GiftKind.MEAL,
                description="Lunch-and-learn: sandwiches and drinks",
                on=on,
                total=money(per_head * heads),
                user=liaison,
                clinician_ids=[c.pk for c in attendees],
                others=rng.sample(STAFF, 2),
                activity_id=activity_id,
            )
            gift_approve(item=item, user=compliance)
            gift_record_actual(item=item, user=liaison)
        except DomainError as error:  # an outreach activity with no physician, say
            log.info("gifts demo: lunch on %s skipped (%s)", on, error.code)
    near, over = doctors[0], doctors[1]
    _give(
        near,
        TEXTBOOK,
        "Orthopaedic anatomy reference (textbook)",
        min(start + dt.timedelta(days=40), today),
        liaison,
        compliance,
    )
    have = physician_year_totals(clinician_ids=[near.pk], year=start.year)[near.pk]
    _give(
        near,
        limit - NEAR_HEADROOM - have,
        "CME course registration (knee arthroplasty)",
        min(start + dt.timedelta(days=95), today),
        liaison,
        compliance,
    )
    _over(over, limit, today, liaison)
    # Waiting for compliance: a lunch that would take the first physician past the limit, and a
    # breakfast that is fine.
    soon = min(today + dt.timedelta(days=10), dt.date(today.year, 12, 31))
    gift_plan(
        kind=GiftKind.MEAL,
        description="Lunch-and-learn: new hip pathway",
        on=soon,
        total=Decimal("96.00"),
        user=liaison,
        clinician_ids=[near.pk, doctors[2].pk],
        others=["Referral coordinator", "Office manager"],
    )
    gift_plan(
        kind=GiftKind.MEAL,
        description="Breakfast with the referral coordinators",
        on=soon,
        total=Decimal("64.00"),
        user=liaison,
        clinician_ids=[doctors[2].pk],
        others=["Referral coordinator", "Front desk lead", "Office manager"],
    )


def _referring_physicians() -> list[Clinician]:
    """The physicians who referred most (by id on a tie): the demo's known referrers."""
    rows = (
        Clinician.objects.annotate(sent=Count("referrals_sent"))
        .filter(sent__gt=0)
        .order_by("-sent", "pk")
        .only("id", "first_name", "last_name", "credentials")[: PHYSICIANS * 3]
    )
    return [c for c in rows if is_physician(c.credentials)][:PHYSICIANS]


def _lunches(doctors, start: dt.date, today: dt.date, rng: random.Random):
    """About one lunch a month at a practice: the liaison's done lunch-and-learns this year when
    outreach has them, else the demo's own, two or three physicians of a practice each."""
    done = list(
        Activity.objects.filter(
            kind=ActivityKind.LUNCH_AND_LEARN,
            status=ActivityStatus.DONE,
            starts_at__date__gte=start,
            starts_at__date__lte=today,
            attendees__attended=True,
        )
        .distinct()
        .order_by("starts_at", "pk")
    )
    if len(done) >= 3:
        for activity in done:
            came = [a.clinician for a in activity.attendees.filter(attended=True)]
            yield timezone.localdate(activity.starts_at), came, activity.pk
        return
    practices = _practices(doctors)
    months = [m for m in range(1, today.month + 1) if dt.date(today.year, m, 15) <= today]
    for i, month in enumerate(months):
        group = practices[i % len(practices)]
        on = dt.date(today.year, month, rng.randint(8, 15))
        yield on, group, None


def _practices(doctors) -> list[list[Clinician]]:
    """The doctors grouped two or three to a practice (their first practice), in a fixed order."""
    org_of = dict(
        ClinicianRole.objects.filter(clinician__in=doctors)
        .order_by("clinician_id", "organization_id")
        .values_list("clinician_id", "organization_id")
    )
    groups: dict[int, list[Clinician]] = {}
    for doctor in doctors:
        groups.setdefault(org_of.get(doctor.pk, -doctor.pk), []).append(doctor)
    practices = [g for g in groups.values()]
    # Singles are paired up so that each lunch has two or three physicians.
    merged, single = [], []
    for group in practices:
        if len(group) >= 2:
            merged.append(group[:3])
        else:
            single += group
    merged += [single[i : i + 2] for i in range(0, len(single), 2)]
    return merged or [doctors[:2]]


def _give(doctor, amount: Decimal, description, on: dt.date, liaison, compliance) -> None:
    """A gift to one doctor, planned, approved and given (nothing when the amount is not > 0)."""
    if amount <= 0:
        return
    item = gift_plan(
        kind=GiftKind.GIFT,
        description=description,
        on=on,
        total=amount,
        user=liaison,
        clinician_ids=[doctor.pk],
    )
    gift_approve(item=item, user=compliance)
    gift_record_actual(item=item, user=liaison)


def _over(doctor, limit: Decimal, today: dt.date, liaison) -> None:
    """A dinner recorded as given that took the doctor OVER_BY past the limit: a cure opens,
    due the earlier of 180 days later and 31 December."""
    on = max(today - dt.timedelta(days=30), dt.date(today.year, 1, 1))
    have = physician_year_totals(clinician_ids=[doctor.pk], year=today.year)[doctor.pk]
    gift_record(
        kind=GiftKind.EVENT_COST,
        description="Regional orthopaedic update: dinner and course fee",
        on=on,
        total=limit + OVER_BY - have,
        user=liaison,
        clinician_ids=[doctor.pk],
    )
