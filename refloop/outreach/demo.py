"""The demo's outreach (called by demo.marketing after the referrals, their facts and the
relations' standings are loaded): the demo liaison's past quarter of visits, check-ins, calls and
e-mails on the referrers they look after (fading ones visited more), a lunch-and-learn with its
attendees and registrations, next week's plan and a webinar open for registration, follow-ups
(some overdue), and the drop-off tasks job run once.

Rows are written in bulk with their historical times (the services stamp the real clock); each
activity gets the change rows the services would have written. Deterministic: `rng` and `now`.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from refloop.core.roles import Role
from refloop.directory.enums import OrganizationKind
from refloop.directory.models import Clinician, ClinicianRole
from refloop.outreach.enums import ActivityKind, ActivityStatus, FollowUpKind
from refloop.outreach.jobs import drop_off_tasks
from refloop.outreach.models import (
    Activity,
    ActivityAttendee,
    ActivityChange,
    FollowUp,
    Registration,
)
from refloop.outreach.queries import materials_usable
from refloop.relations.models import OfficeContact, ReferrerStanding

REFERRERS = 30  # the liaison's referrers worked on in the demo
PAST_DAYS = 91  # a quarter
TOPICS = (
    "What to send with a referral",
    "Urgent pathway and who to call",
    "Days to appointment this quarter",
    "New clinic hours",
    "E-referral form walkthrough",
    "Report turnaround and how it reaches you",
)
PAST_KINDS = (
    (ActivityKind.OFFICE_VISIT, 5),
    (ActivityKind.COORDINATOR_CHECK_IN, 3),
    (ActivityKind.CALL, 3),
    (ActivityKind.EMAIL, 2),
)


def outreach_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    if Activity.objects.exists():
        return  # loaded already
    liaison = users[Role.LIAISON]
    people = _referrers(liaison)
    if not people:
        return
    today = timezone.localdate(now)
    sheets = [v for v in materials_usable(on=today) if v.item.kind == "service_sheet"]
    made: list[tuple[Activity, list[int], str]] = []
    made += _past_quarter(liaison, people, now, rng, sheets)
    if any(practice for _, practice in people):
        made.append(_lunch_and_learn(liaison, people, now, rng, sheets))
    made += _next_week(liaison, people, now, rng)
    made.append(_webinar(liaison, now, rng))
    _attendees_write(made)
    _follow_ups(liaison, made, today, rng)
    drop_off_tasks(now)


def _referrers(liaison) -> list[tuple[Clinician, int | None]]:
    """(clinician, practice id) of the referrers the liaison looks after: their standings, the
    fading and the large first; anyone's standings if the liaison has none; else referring
    clinicians."""
    standings = ReferrerStanding.objects.filter(clinician__isnull=False).select_related("clinician")
    own = standings.filter(liaison=liaison)
    chosen = list((own if own.exists() else standings).order_by("-drop_off", "-score", "key"))
    if chosen:
        return [(s.clinician, s.organization_id) for s in chosen[:REFERRERS]]
    roles = (
        ClinicianRole.objects.filter(organization__kind=OrganizationKind.REFERRING_PRACTICE)
        .select_related("clinician")
        .order_by("clinician_id")[:REFERRERS]
    )
    return [(r.clinician, r.organization_id) for r in roles]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), timezone.get_current_timezone())


def _workday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _activity(liaison, kind, when, title, *, status, organization_id, **fields) -> Activity:
    return Activity(
        kind=kind,
        status=status,
        title=title,
        starts_at=when,
        liaison=liaison,
        organization_id=organization_id,
        status_changed_at=when + dt.timedelta(hours=2) if status != "planned" else None,
        **fields,
    )


def _past_quarter(liaison, people, now, rng, sheets) -> list:
    """Three to four touches a week over the last quarter; referrers earlier in the list
    (fading, larger) are touched more often; one in twelve was cancelled."""
    kinds = [k for k, weight in PAST_KINDS for _ in range(weight)]
    made = []
    day = timezone.localdate(now) - dt.timedelta(days=PAST_DAYS)
    while day < timezone.localdate(now) - dt.timedelta(days=1):
        for _ in range(rng.randint(3, 4)):
            clinician, practice = people[min(int(rng.expovariate(1 / 8)), len(people) - 1)]
            kind = rng.choice(kinds)
            when = _at(_workday(day + dt.timedelta(days=rng.randint(0, 4))), rng.randint(8, 16))
            status = ActivityStatus.CANCELLED if rng.random() < 1 / 12 else ActivityStatus.DONE
            topic = rng.choice(TOPICS)
            visit = kind == ActivityKind.OFFICE_VISIT
            activity = _activity(
                liaison,
                kind,
                when,
                f"{ActivityKind(kind).label}: {clinician.last_name}",
                status=status,
                organization_id=practice,
                topics=topic,
                notes="Asked about wait times." if rng.random() < 0.3 else "",
                cost=Decimal(rng.choice(["0", "0", "18.50", "24.00"])) if visit else Decimal(0),
                cancel_reason="Office closed that day" if status == "cancelled" else "",
            )
            material = [rng.choice(sheets).pk] if visit and sheets and rng.random() < 0.5 else []
            made.append((activity, [clinician.pk], status, material))
        day += dt.timedelta(days=7)
    return [_saved(a, ids, status, material) for a, ids, status, material in made]


def _saved(activity: Activity, clinician_ids, status, material=()) -> tuple:
    activity.save()
    if material:
        activity.materials.set(material)
    return activity, list(clinician_ids), status


def _lunch_and_learn(liaison, people, now, rng, sheets) -> tuple:
    """Three weeks ago at the practice with the most of the liaison's referrers."""
    practice = max({p for _, p in people if p}, key=lambda p: (sum(q == p for _, q in people), -p))
    colleagues = list(Clinician.objects.filter(roles__organization_id=practice).order_by("id")[:6])
    when = _at(_workday(timezone.localdate(now) - dt.timedelta(days=21)), 12)
    activity = _activity(
        liaison,
        ActivityKind.LUNCH_AND_LEARN,
        when,
        "Lunch-and-learn: what to send, and how fast we answer",
        status=ActivityStatus.DONE,
        organization_id=practice,
        place="The practice's conference room",
        capacity=12,
        topics="What to send with a referral; the urgent pathway; days to appointment",
        office_staff="Front desk lead, scheduling",
        cost=Decimal("186.00"),
        registration_token=f"{rng.getrandbits(128):032x}",
    )
    _saved(activity, [], "done", [s.pk for s in sheets[:2]])
    contacts = list(OfficeContact.objects.filter(organization_id=practice).order_by("id")[:2])
    activity.contacts.set(contacts)
    came = [c.pk for c in colleagues if rng.random() < 0.8] or [colleagues[0].pk]
    Registration.objects.bulk_create(
        Registration(
            activity=activity,
            name=str(c),
            email=f"clinician{c.pk}@practice.example",
            registered_at=when - dt.timedelta(days=rng.randint(3, 10)),
            attended=c.pk in came,
        )
        for c in colleagues
    )
    return activity, came, "done"


def _next_week(liaison, people, now, rng) -> list:
    """A visit or check-in each workday next week, the fading referrers first."""
    monday = timezone.localdate(now) + dt.timedelta(days=7 - timezone.localdate(now).weekday())
    made = []
    for offset, (clinician, practice) in enumerate(people[:5]):
        kind = ActivityKind.OFFICE_VISIT if offset % 2 == 0 else ActivityKind.COORDINATOR_CHECK_IN
        activity = _activity(
            liaison,
            kind,
            _at(monday + dt.timedelta(days=offset), rng.choice([9, 10, 14, 15])),
            f"{ActivityKind(kind).label}: {clinician.last_name}",
            status=ActivityStatus.PLANNED,
            organization_id=practice,
            topics=rng.choice(TOPICS),
        )
        made.append(_saved(activity, [clinician.pk], "planned"))
    return made


def _webinar(liaison, now, rng) -> tuple:
    when = _at(timezone.localdate(now) + dt.timedelta(days=10), 12, 30)
    activity = _activity(
        liaison,
        ActivityKind.WEBINAR,
        when,
        "Webinar: referring for knee and shoulder pain",
        status=ActivityStatus.PLANNED,
        organization_id=None,
        join_link="https://meet.example.org/refloop-knee-shoulder",
        capacity=80,
        topics="Whom we see; what to send; the urgent pathway",
        registration_token=f"{rng.getrandbits(128):032x}",
    )
    return _saved(activity, [], "planned")


def _attendees_write(made: list) -> None:
    rows, changes = [], []
    for activity, clinician_ids, status in made:
        attended = status == ActivityStatus.DONE
        rows += [
            ActivityAttendee(activity=activity, clinician_id=pk, attended=attended)
            for pk in clinician_ids
        ]
        planned_at = activity.starts_at - dt.timedelta(days=5)
        changes.append(
            ActivityChange(
                activity=activity,
                at=planned_at,
                by=activity.liaison,
                to_status="planned",
                note="planned",
            )
        )
        if status != ActivityStatus.PLANNED:
            note = "logged" if attended else f"cancelled: {activity.cancel_reason}"
            changes.append(
                ActivityChange(
                    activity=activity,
                    at=activity.status_changed_at,
                    by=activity.liaison,
                    from_status="planned",
                    to_status=status,
                    note=note,
                )
            )
    ActivityAttendee.objects.bulk_create(rows)
    ActivityChange.objects.bulk_create(changes)


def _follow_ups(liaison, made: list, today: dt.date, rng) -> None:
    """A follow-up after one done visit in four: most done, the recent ones open (a few
    overdue)."""
    rows = []
    for activity, _, status in made:
        if status != ActivityStatus.DONE or rng.random() > 0.25:
            continue
        due = timezone.localdate(activity.starts_at) + dt.timedelta(days=rng.choice([7, 10, 14]))
        done = due < today - dt.timedelta(days=10)
        rows.append(
            FollowUp(
                owner=liaison,
                due_on=due,
                kind=FollowUpKind.FOLLOW_UP,
                activity=activity,
                organization_id=activity.organization_id,
                text=rng.choice(
                    [
                        "Send the service sheet to the referral coordinator",
                        "Check the e-referral form works for their office",
                        "Answer the question on authorization",
                        "Introduce the new scheduler",
                    ]
                ),
                done_at=_at(due, 16) if done else None,
                done_by=liaison if done else None,
            )
        )
    FollowUp.objects.bulk_create(rows)
