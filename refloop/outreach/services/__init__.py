"""Every write of outreach: activities through their states, follow-ups, event invitations and
registrations.

An activity's status changes only here, one function per change (plan, log, cancel), each in the
same order: validate, write (a conditional UPDATE, so two people acting at once cannot both win),
record the change (ActivityChange), then notify.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from refloop.content.models import ContentVersion
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.core.roles import Role, user_roles
from refloop.directory.models import Clinician, Organization
from refloop.outreach.enums import (
    EVENT_KINDS,
    TRANSITIONS,
    ActivityKind,
    ActivityStatus,
    FollowUpKind,
)
from refloop.outreach.models import Activity, ActivityAttendee, ActivityChange, FollowUp
from refloop.outreach.services.notices import cancel_notices_queue
from refloop.relations.models import OfficeContact

MAX_COST = Decimal("100000")
# An activity can be logged as done up to this long before its start (a visit moved earlier in
# the day); anything further ahead has not happened.
LOG_AHEAD = dt.timedelta(hours=12)


@dataclass(frozen=True)
class ActivityDraft:
    """What a person enters for an activity (plan, edit, or a visit logged at once)."""

    kind: str
    title: str
    starts_at: dt.datetime
    organization: Organization | None = None
    clinicians: Sequence[Clinician] = ()
    contacts: Sequence[OfficeContact] = ()
    office_staff: str = ""
    topics: str = ""
    notes: str = ""
    cost: Decimal = Decimal(0)
    materials: Sequence[ContentVersion] = ()
    place: str = ""
    join_link: str = ""
    capacity: int | None = None


@dataclass(frozen=True)
class FollowUpDraft:
    due_on: dt.date
    text: str


@dataclass(frozen=True)
class LogEntry:
    """What happened at a planned activity: who came, what was used and what comes next."""

    attended: Sequence[Clinician] = ()
    contacts: Sequence[OfficeContact] | None = None  # office staff met; None: as planned
    office_staff: str | None = None  # None: keep what the plan said
    topics: str | None = None
    notes: str | None = None
    cost: Decimal | None = None
    materials: Sequence[ContentVersion] | None = None
    follow_ups: Sequence[FollowUpDraft] = ()
    registrations_attended: Sequence[int] | None = None  # events: ids of those who came


def activity_day(starts_at: dt.datetime) -> dt.date:
    """The practice's local date of an activity: materials must be usable on it."""
    return timezone.localdate(starts_at)


def _may_change(user, activity: Activity) -> None:
    """The activity's liaison, or a manager (who oversees the liaisons), may change it."""
    if user.pk == activity.liaison_id:
        return
    if user_roles(user) & {Role.MANAGER, Role.ADMIN}:
        return
    raise NotAllowed("Only the activity's liaison or a manager can change it.")


def _draft_check(draft: ActivityDraft, *, used: Collection[int] = ()) -> None:
    """`used`: the ids of materials a logged activity already records as used (checked when it
    was logged, on its day): kept without a new check, since approval is judged as it is now and
    a version superseded since must not stop an edit of last month's visit."""
    if draft.kind not in ActivityKind.values:
        raise DomainError("Choose what kind of activity this is.")
    if not draft.title.strip():
        raise DomainError("Give the activity a title.")
    if draft.starts_at is None:
        raise DomainError("Give the activity a date and time.")
    if draft.cost < 0 or draft.cost > MAX_COST:
        raise DomainError(f"The cost must be between 0 and {MAX_COST}.")
    if draft.kind in EVENT_KINDS and not (draft.place.strip() or draft.join_link.strip()):
        raise DomainError("An event needs a place or a join link.")
    if draft.capacity is not None and draft.capacity < 1:
        raise DomainError("The capacity must be at least 1 (or empty for no limit).")
    added = [m for m in draft.materials if m.pk not in used]
    _materials_check(added, activity_day(draft.starts_at))


def _materials_check(materials: Iterable[ContentVersion], day: dt.date) -> None:
    """Only approved content, unexpired on the activity's day, may be used (compliance)."""
    unusable = [str(v) for v in materials if not v.usable_on(day)]
    if unusable:
        raise DomainError(
            f"Not approved for use on {day:%b %-d, %Y}: {', '.join(unusable)}. "
            "Only approved, unexpired materials can be used."
        )


def _record(activity: Activity, *, by, was: str, now: dt.datetime, note: str = "") -> None:
    ActivityChange.objects.create(
        activity=activity,
        at=now,
        by=by,
        from_status=was,
        to_status=activity.status,
        note=note[:300],
    )


EDITED_FIELDS = (
    "kind",
    "title",
    "starts_at",
    "organization",
    "office_staff",
    "topics",
    "notes",
    "cost",
    "place",
    "join_link",
    "capacity",
)


def _write_fields(activity: Activity, draft: ActivityDraft) -> None:
    for name in EDITED_FIELDS:
        value = getattr(draft, name)
        setattr(activity, name, value.strip() if isinstance(value, str) else value)


def _attendees_set(activity: Activity, clinicians: Iterable[Clinician]) -> None:
    """A planned activity's clinicians (invited) are exactly these."""
    wanted = {c.pk for c in clinicians}
    activity.attendees.exclude(clinician_id__in=wanted).delete()
    have = set(activity.attendees.values_list("clinician_id", flat=True))
    ActivityAttendee.objects.bulk_create(
        ActivityAttendee(activity=activity, clinician_id=pk, attended=False)
        for pk in sorted(wanted - have)
    )


def _attendance_mark(activity: Activity, clinicians: Iterable[Clinician]) -> None:
    """Who attended a held activity: these did (added if they were not invited), the other
    invited clinicians did not (kept, marked absent)."""
    came = {c.pk for c in clinicians}
    activity.attendees.update(attended=False)
    activity.attendees.filter(clinician_id__in=came).update(attended=True)
    have = set(activity.attendees.values_list("clinician_id", flat=True))
    ActivityAttendee.objects.bulk_create(
        ActivityAttendee(activity=activity, clinician_id=pk, attended=True)
        for pk in sorted(came - have)
    )


@transaction.atomic
def activity_plan(*, liaison, draft: ActivityDraft, by) -> Activity:
    """Plan an activity (status planned); its clinicians are those invited."""
    _draft_check(draft)
    now = timezone.now()
    activity = Activity(liaison=liaison, status=ActivityStatus.PLANNED, status_changed_at=now)
    _write_fields(activity, draft)
    if draft.kind in EVENT_KINDS:
        activity.registration_token = secrets.token_urlsafe(18)
    activity.save()
    _attendees_set(activity, draft.clinicians)
    activity.contacts.set(draft.contacts)
    activity.materials.set(draft.materials)
    _record(activity, by=by, was="", now=now, note="planned")
    return activity


@transaction.atomic
def activity_edit(*, activity: Activity, draft: ActivityDraft, by) -> Activity:
    """Change what an activity is (a planned or logged one; a cancelled one stays as it was).
    On a logged activity the clinicians listed are those who attended."""
    _may_change(by, activity)
    # The row as it is now, locked: a cancel or log a moment ago (the page's copy is stale) is
    # seen here, and only the fields an edit changes are written, so the status, the invited
    # list and the cancel reason someone else wrote are never put back as this copy had them.
    current = Activity.objects.select_for_update().get(pk=activity.pk)
    activity.status, activity.registration_token = current.status, current.registration_token
    if activity.status == ActivityStatus.CANCELLED:
        raise DomainError("A cancelled activity cannot be edited.")
    used = ()
    same_day = activity_day(draft.starts_at) == activity_day(current.starts_at)
    if activity.status == ActivityStatus.DONE and same_day:
        used = set(current.materials.values_list("pk", flat=True))
    _draft_check(draft, used=used)
    if activity.status == ActivityStatus.DONE and draft.starts_at > timezone.now():
        raise DomainError("A logged activity cannot be in the future.")
    _write_fields(activity, draft)
    if draft.kind in EVENT_KINDS and not activity.registration_token:
        activity.registration_token = secrets.token_urlsafe(18)
    activity.save(update_fields=[*EDITED_FIELDS, "registration_token"])
    if activity.status == ActivityStatus.DONE:
        _attendance_mark(activity, draft.clinicians)
    else:
        _attendees_set(activity, draft.clinicians)
    activity.contacts.set(draft.contacts)
    activity.materials.set(draft.materials)
    _record(activity, by=by, was=activity.status, now=timezone.now(), note="edited")
    return activity


def _transition(activity: Activity, to: str, now: dt.datetime, **fields) -> str:
    """The conditional UPDATE that moves the status: the first of two people acting wins."""
    was = activity.status
    if to not in TRANSITIONS[was]:
        raise Conflict(
            f"This activity is {ActivityStatus(was).label.lower()}: it cannot be marked "
            f"{ActivityStatus(to).label.lower()}.",
            code="activity_status",
        )
    moved = Activity.objects.filter(pk=activity.pk, status=was).update(
        status=to, status_changed_at=now, **fields
    )
    if not moved:
        raise Conflict(
            "Someone changed this activity a moment ago: reload and try again.",
            code="activity_changed",
        )
    activity.status, activity.status_changed_at = to, now
    for name, value in fields.items():
        setattr(activity, name, value)
    return was


@transaction.atomic
def activity_log(*, activity: Activity, entry: LogEntry, by) -> Activity:
    """A planned activity happened: who attended, what was used, what comes next (planned ->
    done)."""
    _may_change(by, activity)
    now = timezone.now()
    if activity.starts_at > now + LOG_AHEAD:
        raise DomainError("This activity is still ahead: log it once it has happened.")
    materials = entry.materials
    # Without new materials the planned ones are recorded as used: checked again on the day,
    # since one may have been retired or may have expired since the activity was planned.
    _materials_check(
        materials if materials is not None else activity.materials.all(),
        activity_day(activity.starts_at),
    )
    if entry.cost is not None and not (0 <= entry.cost <= MAX_COST):
        raise DomainError(f"The cost must be between 0 and {MAX_COST}.")
    for draft in entry.follow_ups:
        _follow_up_check(draft)
    changes = {}
    for name in ("office_staff", "topics", "notes", "cost"):
        value = getattr(entry, name)
        if value is not None:
            changes[name] = value.strip() if isinstance(value, str) else value
    was = _transition(activity, ActivityStatus.DONE, now, **changes)
    _attendance_mark(activity, entry.attended)
    if entry.contacts is not None:
        activity.contacts.set(entry.contacts)
    if materials is not None:
        activity.materials.set(materials)
    if entry.registrations_attended is not None:
        _attendance_set(activity, entry.registrations_attended)
    for draft in entry.follow_ups:
        FollowUp.objects.create(
            owner=activity.liaison,
            due_on=draft.due_on,
            kind=FollowUpKind.FOLLOW_UP,
            activity=activity,
            organization=activity.organization,
            text=draft.text.strip(),
        )
    who = len(entry.attended)
    _record(activity, by=by, was=was, now=now, note=f"logged: {who} clinician(s) attended")
    return activity


def _attendance_set(activity: Activity, attended_ids: Sequence[int]) -> None:
    """Registrations of the event: those listed came, the others did not. A registrant who is a
    clinician we know (by their invitation) is a touch too."""
    registrations = activity.registrations.select_related("invitation")
    registrations.update(attended=False)
    came = registrations.filter(pk__in=list(attended_ids))
    came.update(attended=True)
    known = {
        r.invitation.clinician_id
        for r in came
        if r.invitation is not None and r.invitation.clinician_id is not None
    }
    have = set(activity.attendees.values_list("clinician_id", flat=True))
    activity.attendees.filter(clinician_id__in=known).update(attended=True)
    ActivityAttendee.objects.bulk_create(
        ActivityAttendee(activity=activity, clinician_id=pk, attended=True)
        for pk in sorted(known - have)
    )


@transaction.atomic
def activity_cancel(*, activity: Activity, reason: str, by) -> Activity:
    """A planned activity will not happen (planned -> cancelled); its open follow-ups go too,
    and an event's registrants are told (by e-mail, on commit)."""
    _may_change(by, activity)
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the activity is cancelled.")
    now = timezone.now()
    was = _transition(activity, ActivityStatus.CANCELLED, now, cancel_reason=reason[:200])
    activity.follow_ups.filter(done_at__isnull=True).delete()
    _record(activity, by=by, was=was, now=now, note=f"cancelled: {reason}")
    cancel_notices_queue(activity=activity)
    return activity


@transaction.atomic
def activity_record(
    *, liaison, draft: ActivityDraft, by, follow_ups: Sequence[FollowUpDraft] = ()
) -> Activity:
    """A visit logged after the fact (the week page's quick form): planned and done at once, each
    step recorded as usual."""
    if draft.starts_at > timezone.now() + LOG_AHEAD:
        raise DomainError("A visit logged as done cannot be in the future: plan it instead.")
    activity = activity_plan(liaison=liaison, draft=draft, by=by)
    return activity_log(
        activity=activity,
        entry=LogEntry(attended=draft.clinicians, contacts=draft.contacts, follow_ups=follow_ups),
        by=by,
    )


def _follow_up_check(draft: FollowUpDraft) -> None:
    if not draft.text.strip():
        raise DomainError("Say what the follow-up is.")
    if draft.due_on is None:
        raise DomainError("Give the follow-up a due date.")


@transaction.atomic
def followup_add(
    *,
    owner,
    draft: FollowUpDraft,
    by,
    activity: Activity | None = None,
    clinician: Clinician | None = None,
) -> FollowUp:
    _follow_up_check(draft)
    if activity is not None:
        _may_change(by, activity)
    elif by.pk != owner.pk and not user_roles(by) & {Role.MANAGER, Role.ADMIN}:
        raise NotAllowed("Only a manager can give a liaison a task.")
    return FollowUp.objects.create(
        owner=owner,
        due_on=draft.due_on,
        kind=FollowUpKind.FOLLOW_UP,
        activity=activity,
        clinician=clinician,
        organization=activity.organization if activity else None,
        text=draft.text.strip(),
    )


def followup_done(*, follow_up: FollowUp, by) -> FollowUp:
    """The task is done (by its owner or a manager); done once, whoever clicks first."""
    if by.pk != follow_up.owner_id and not user_roles(by) & {Role.MANAGER, Role.ADMIN}:
        raise NotAllowed("Only the task's owner or a manager can close it.")
    now = timezone.now()
    done = FollowUp.objects.filter(pk=follow_up.pk, done_at__isnull=True).update(
        done_at=now, done_by=by
    )
    if not done:
        raise Conflict("This task was already done.", code="task_done")
    follow_up.done_at, follow_up.done_by = now, by
    return follow_up


def drop_off_task_write(*, standing, now: dt.datetime) -> bool:
    """One task for the standing's liaison per referrer and alert month; False when it exists
    (the job ran before, or another scheduler wrote it a moment ago)."""
    key = drop_off_key(referrer_key=standing.key, now=now)
    detail = standing.drop_off_detail or {}
    try:
        with transaction.atomic():
            FollowUp.objects.create(
                owner_id=standing.liaison_id,
                due_on=timezone.localdate(now) + dt.timedelta(days=DROP_OFF_DUE_DAYS),
                kind=FollowUpKind.DROP_OFF,
                clinician_id=standing.clinician_id,
                organization_id=standing.organization_id,
                referrer_key=standing.key,
                text=_drop_off_text(standing, detail),
                figures={"drop_off": detail, "monthly": standing.monthly},
                key=key,
            )
    except IntegrityError:
        return False
    return True


DROP_OFF_DUE_DAYS = 7  # a fading referrer is called within the week


def drop_off_key(*, referrer_key: str, now: dt.datetime) -> str:
    """The task's unique key: one per referrer and (local) alert month."""
    return f"drop_off:{referrer_key}:{timezone.localdate(now):%Y-%m}"


def _drop_off_text(standing, detail: dict) -> str:
    practice = f" ({standing.practice})" if standing.practice else ""
    recent, expected = detail.get("recent_count"), detail.get("expected")
    since = "lately"
    if detail.get("recent_from"):
        since = f"since {dt.date.fromisoformat(detail['recent_from']):%b %-d}"
    figures = ""
    if recent is not None and expected is not None:
        figures = f": {recent} referrals {since} where about {float(expected):.1f} were expected"
    return f"Call {standing.name}{practice}, referring less than usual{figures}."
