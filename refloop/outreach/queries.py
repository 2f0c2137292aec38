"""Reads of outreach: a liaison's week, an activity with what hangs on it, the touches the effect
metric reads, and the materials a form may offer. No patient data anywhere (DESIGN.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from refloop.content.enums import ContentState
from refloop.content.models import ContentVersion
from refloop.core.roles import Role
from refloop.directory.enums import OrganizationKind
from refloop.directory.models import Clinician, ClinicianRole, Organization
from refloop.outreach.enums import ActivityStatus, FollowUpKind, InvitationStatus
from refloop.outreach.models import Activity, ActivityAttendee, FollowUp
from refloop.relations.queries import territories_of


@dataclass(frozen=True)
class Week:
    monday: dt.date
    planned: list[Activity]
    done: list[Activity]
    cancelled: int
    due: list[FollowUp]  # open tasks due by the week's end and open drop-off alerts, by due date
    overdue: int
    cost: float  # logged activities' costs this week

    @property
    def next_monday(self) -> dt.date:
        return self.monday + dt.timedelta(days=7)

    @property
    def previous_monday(self) -> dt.date:
        return self.monday - dt.timedelta(days=7)


def week_monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _local_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, timezone.get_current_timezone())


def _with_people(activities: QuerySet[Activity]) -> QuerySet[Activity]:
    return activities.select_related("organization").prefetch_related(
        Prefetch(
            "attendees",
            queryset=ActivityAttendee.objects.select_related("clinician").order_by(
                "clinician__last_name", "clinician__first_name"
            ),
        )
    )


def liaison_week(*, liaison, day: dt.date) -> Week:
    """The liaison's week (Monday to Sunday, local) around `day`: activities planned and done,
    and the open tasks due by Sunday (overdue ones included) with every open drop-off alert.
    Three queries."""
    monday = week_monday(day)
    start, end = _local_start(monday), _local_start(monday + dt.timedelta(days=7))
    activities = list(
        _with_people(
            Activity.objects.filter(liaison=liaison, starts_at__gte=start, starts_at__lt=end)
        ).order_by("starts_at", "id")
    )
    # Every open drop-off alert shows at once, whatever its due date: a fading referrer is
    # worth a call this week.
    due = list(
        FollowUp.objects.filter(owner=liaison, done_at__isnull=True)
        .filter(Q(due_on__lt=monday + dt.timedelta(days=7)) | Q(kind=FollowUpKind.DROP_OFF))
        .select_related("clinician", "organization", "activity")
        .order_by("due_on", "id")
    )
    today = timezone.localdate()
    done = [a for a in activities if a.status == ActivityStatus.DONE]
    return Week(
        monday=monday,
        planned=[a for a in activities if a.status == ActivityStatus.PLANNED],
        done=done,
        cancelled=sum(a.status == ActivityStatus.CANCELLED for a in activities),
        due=due,
        overdue=sum(f.due_on < today for f in due),
        cost=float(sum(a.cost for a in done)),
    )


def activity_detail(*, pk: int) -> Activity:
    """One activity with its people, materials, follow-ups, invitations and registrations."""
    return (
        _with_people(Activity.objects.filter(pk=pk))
        .select_related("liaison", "target_list")
        .prefetch_related(
            Prefetch("materials", queryset=ContentVersion.objects.select_related("item")),
            "follow_ups",
            "changes__by",
            "registrations",
        )
        .annotate(
            invited=Count("invitations", distinct=True),
            sent=Count(
                "invitations",
                filter=Q(invitations__status=InvitationStatus.SENT),
                distinct=True,
            ),
            suppressed=Count(
                "invitations",
                filter=Q(invitations__status=InvitationStatus.SUPPRESSED),
                distinct=True,
            ),
        )
        .get()
    )


def materials_usable(*, on: dt.date) -> QuerySet[ContentVersion]:
    """Content versions approved and unexpired on `on` (content.models.ContentVersion.usable_on,
    as a query): what an activity on that day may use."""
    return (
        ContentVersion.objects.filter(state=ContentState.APPROVED, expires_on__gte=on)
        .select_related("item")
        .order_by("item__title", "-number")
    )


def referrer_key(clinician: Clinician) -> str:
    """The facts' referrer key of a clinician (analytics.sources: the NPI, else the id)."""
    return clinician.npi or str(clinician.pk)


def activity_touches(*, liaison=None, until: dt.date | None = None) -> dict[str, list[dt.date]]:
    """Every touch: referrer key -> the local days of the done activities they attended (of one
    liaison's activities, or all). The effect metric needs every touch, to keep touched referrers
    out of the comparison groups."""
    rows = ActivityAttendee.objects.filter(
        attended=True, activity__status=ActivityStatus.DONE
    ).values_list("clinician_id", "clinician__npi", "activity__starts_at")
    if liaison is not None:
        rows = rows.filter(activity__liaison=liaison)
    if until is not None:
        rows = rows.filter(activity__starts_at__lt=_local_start(until))
    touches: dict[str, list[dt.date]] = defaultdict(list)
    for clinician_id, npi, starts_at in rows.order_by():
        touches[npi or str(clinician_id)].append(timezone.localdate(starts_at))
    return dict(touches)


REFERRING_KINDS = (OrganizationKind.REFERRING_PRACTICE, OrganizationKind.HOSPITAL)


def practices_of(*, user) -> QuerySet[Organization]:
    """The referring practices a form offers a liaison: those of their territories, or every
    referring practice and hospital for someone with no territory (a manager)."""
    territories = territories_of(user=user)
    if territories.exists():
        practices = Organization.objects.filter(assignment__territory__in=territories)
    else:
        practices = Organization.objects.filter(kind__in=REFERRING_KINDS)
    return practices.order_by("name", "id")


def clinicians_at(*, practices: QuerySet[Organization]) -> QuerySet[Clinician]:
    """The clinicians with an active role at one of `practices`."""
    roles = ClinicianRole.objects.filter(
        clinician=OuterRef("pk"), active=True, organization__in=practices
    )
    return Clinician.objects.filter(Exists(roles)).order_by("last_name", "first_name", "id")


def referrer_activities(*, clinician: Clinician, limit: int = 50) -> list[Activity]:
    """A referrer's outreach touches, newest first (for their profile): activities they were
    invited to or attended, and those at their practices with no clinician named."""
    practices = ClinicianRole.objects.filter(clinician=clinician, active=True).values(
        "organization_id"
    )
    at_practice = Q(organization_id__in=practices) & ~Exists(
        ActivityAttendee.objects.filter(activity=OuterRef("pk"))
    )
    named = Exists(ActivityAttendee.objects.filter(activity=OuterRef("pk"), clinician=clinician))
    return list(
        Activity.objects.filter(named | at_practice)
        .select_related("organization", "liaison")
        .order_by("-starts_at", "-id")[:limit]
    )


def liaisons() -> QuerySet:
    """People with the liaison role (a manager's week picker)."""
    return (
        get_user_model()
        .objects.filter(groups__name=Role.LIAISON.label, is_active=True)
        .order_by("first_name", "last_name", "username")
    )
