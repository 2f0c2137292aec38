"""Reads of relations: target lists' members, campaign audiences, a clinician's liaison.

A target list is its criteria (TargetList.criteria, read by `Criteria`), so its members follow
the numbers. Two kinds of member:
- referrers (ReferrerStanding rows): segments, service lines, territory or "mine", specialty,
  minimum volume, drop-off only;
- prospects, "not yet referring": clinicians at practices in a territory (the chosen one, the
  viewer's, or any) with the specialty and no referral in the window. They have no standing row
  (standings are the referrers of the window), so they are clinicians with none.
"Mine" means the territories whose liaison is the viewer; without a viewer (a campaign's
audience) the list's owner.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from refloop.analytics.metrics.referrers import SEGMENTS
from refloop.campaigns.models import Suppression
from refloop.directory.models import Clinician, ClinicianRole
from refloop.outreach.enums import ActivityStatus
from refloop.outreach.models import Activity, ActivityAttendee
from refloop.relations.models import (
    OfficeContact,
    PracticeAssignment,
    ReferrerStanding,
    StandingLine,
    TargetList,
    Territory,
)

SORTS = {
    "score": (F("score").desc(), F("total").desc(), F("key").asc()),
    "total": (F("total").desc(), F("key").asc()),
    # the steepest recent fall first; no figure (too new to tell) last, on any database
    "change": (F("recent_change").asc(nulls_last=True), F("key").asc()),
}


@dataclass(frozen=True)
class Criteria:
    """What selects a target list's members (module docstring). Stored as JSON."""

    segments: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()  # service-line names as the facts have them
    territory_id: int | None = None
    mine: bool = False
    specialty: str = ""
    min_total: int = 0
    drop_off: bool = False
    not_yet_referring: bool = False

    @classmethod
    def from_json(cls, raw: dict | None) -> Criteria:
        """A stored criteria dict; unknown keys and wrong types are ignored (the form that
        saved it validated it)."""
        raw = raw if isinstance(raw, dict) else {}
        territory = raw.get("territory_id")
        return cls(
            segments=tuple(s for s in raw.get("segments") or () if s in SEGMENTS),
            lines=tuple(str(line) for line in raw.get("lines") or ()),
            territory_id=territory if isinstance(territory, int) else None,
            mine=bool(raw.get("mine")),
            specialty=str(raw.get("specialty") or ""),
            min_total=max(0, int(raw.get("min_total") or 0)),
            drop_off=bool(raw.get("drop_off")),
            not_yet_referring=bool(raw.get("not_yet_referring")),
        )

    def to_json(self) -> dict:
        data = asdict(self)
        data["segments"], data["lines"] = list(self.segments), list(self.lines)
        return data


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    clinician_id: int | None
    contact_id: int | None
    organization_id: int | None


# Members -----------------------------------------------------------------------------------


def standings_matching(*, criteria: Criteria, viewer=None, sort: str = "score") -> QuerySet:
    """The referrers (ReferrerStanding) a referrer list selects, in `sort` order."""
    rows = ReferrerStanding.objects.all()
    if criteria.segments:
        rows = rows.filter(segment__in=criteria.segments)
    if criteria.lines:
        lines = StandingLine.objects.filter(
            standing=OuterRef("pk"), service_line__in=criteria.lines
        )
        rows = rows.filter(Exists(lines))
    if criteria.territory_id:
        rows = rows.filter(territory_id=criteria.territory_id)
    if criteria.mine:
        rows = rows.filter(liaison=viewer) if viewer is not None else rows.none()
    if criteria.specialty:
        rows = rows.filter(specialty__iexact=criteria.specialty)
    if criteria.min_total:
        rows = rows.filter(total__gte=criteria.min_total)
    if criteria.drop_off:
        rows = rows.filter(drop_off=True)
    return rows.order_by(*SORTS.get(sort, SORTS["score"]))


def prospects_matching(*, criteria: Criteria, viewer=None) -> QuerySet[Clinician]:
    """Clinicians not yet referring (module docstring), by name."""
    territories = Territory.objects.all()
    if criteria.territory_id:
        territories = territories.filter(pk=criteria.territory_id)
    if criteria.mine:
        territories = (
            territories.filter(liaison=viewer) if viewer is not None else Territory.objects.none()
        )
    practices = PracticeAssignment.objects.filter(territory__in=territories).values(
        "organization_id"
    )
    at_practice = ClinicianRole.objects.filter(
        clinician=OuterRef("pk"), active=True, organization_id__in=practices
    )
    referring = ReferrerStanding.objects.filter(clinician=OuterRef("pk"))
    rows = Clinician.objects.filter(Exists(at_practice)).exclude(Exists(referring))
    if criteria.specialty:
        rows = rows.filter(specialty__iexact=criteria.specialty)
    return rows.order_by("last_name", "first_name", "pk")


def target_list_clinicians(*, target_list: TargetList, viewer=None) -> QuerySet[Clinician]:
    """The clinicians on the list: its referrers' clinicians, or its prospects."""
    criteria = Criteria.from_json(target_list.criteria)
    viewer = viewer if viewer is not None else target_list.owner
    if criteria.not_yet_referring:
        return prospects_matching(criteria=criteria, viewer=viewer)
    standings = standings_matching(criteria=criteria, viewer=viewer).filter(
        clinician_id=OuterRef("pk")
    )
    return Clinician.objects.filter(Exists(standings)).order_by("last_name", "first_name", "pk")


def target_list_audience(*, target_list: TargetList) -> list[Recipient]:
    """Every clinician on the list with an e-mail, then their offices' staff with one
    (OfficeContact at the clinicians' practices), one per lower-case address, suppressed
    addresses left out. Four queries whatever the list's size."""
    clinicians = list(
        target_list_clinicians(target_list=target_list).values_list(
            "pk", "first_name", "last_name", "credentials", "email"
        )
    )
    ids = [row[0] for row in clinicians]
    practice_of: dict[int, int] = {}
    for clinician_id, organization_id in (
        ClinicianRole.objects.filter(clinician_id__in=ids, active=True)
        .order_by("pk")
        .values_list("clinician_id", "organization_id")
    ):
        practice_of.setdefault(clinician_id, organization_id)
    contacts = OfficeContact.objects.filter(organization_id__in=set(practice_of.values())).exclude(
        email=""
    )
    found: list[Recipient] = []
    for pk, first, last, credentials, email in clinicians:
        if email:
            name = f"{first} {last}" + (f", {credentials}" if credentials else "")
            found.append(Recipient(email.strip(), name, pk, None, practice_of.get(pk)))
    for contact in contacts.order_by("organization_id", "name", "pk"):
        found.append(
            Recipient(
                contact.email.strip(), contact.name, None, contact.pk, contact.organization_id
            )
        )
    suppressed = _suppressed({r.email.lower() for r in found})
    audience, seen = [], set()
    for recipient in found:
        address = recipient.email.lower()
        if address in seen or address in suppressed:
            continue
        seen.add(address)
        audience.append(recipient)
    return audience


def _suppressed(addresses: set[str]) -> set[str]:
    """The addresses on the suppression list, in one query (the rule of
    campaigns.queries.address_suppressed: stored lower-case, compared lower-case)."""
    return set(Suppression.objects.filter(email__in=addresses).values_list("email", flat=True))


def liaison_of(*, clinician: Clinician):
    """The liaison of the territory of the clinician's practice (their first active role's
    practice that is in a territory), or None."""
    assignment = (
        PracticeAssignment.objects.filter(
            organization__roles__clinician=clinician,
            organization__roles__active=True,
            territory__liaison__isnull=False,
        )
        .select_related("territory__liaison")
        .order_by("organization__roles__pk")
        .first()
    )
    return assignment.territory.liaison if assignment else None


def territories_of(*, user) -> QuerySet[Territory]:
    return Territory.objects.filter(liaison=user)


def lists_visible(*, user) -> QuerySet[TargetList]:
    """The user's own lists and those shared by others."""
    return (
        TargetList.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .order_by("name", "pk")
    )


# Profiles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Touch:
    """An outreach touch as a profile lists it (outreach's skeleton fields only)."""

    activity_id: int
    starts_at: object
    kind: str
    status: str
    title: str
    liaison: str
    organization: str
    who: str  # the clinicians touched, by name ("" for a practice-wide activity)
    attended: bool | None


def touches_of(*, clinician_ids=(), organization_id: int | None = None) -> list[Touch]:
    """Every outreach activity that touched these clinicians (as attendees) or was held with the
    practice, newest first. Two queries."""
    condition = Q(attendees__clinician_id__in=list(clinician_ids))
    if organization_id is not None:
        condition |= Q(organization_id=organization_id)
    activities = list(
        Activity.objects.filter(condition)
        .distinct()
        .select_related("liaison", "organization")
        .order_by("-starts_at", "-pk")
    )
    attendees: dict[int, list] = {}
    for row in ActivityAttendee.objects.filter(
        activity_id__in=[a.pk for a in activities]
    ).select_related("clinician"):
        attendees.setdefault(row.activity_id, []).append(row)
    chosen = set(clinician_ids)
    touches = []
    for activity in activities:
        present = [a for a in attendees.get(activity.pk, []) if a.clinician_id in chosen]
        touches.append(
            Touch(
                activity_id=activity.pk,
                starts_at=activity.starts_at,
                kind=activity.get_kind_display(),
                status=activity.get_status_display(),
                title=activity.title,
                liaison=activity.liaison.get_full_name() or activity.liaison.get_username(),
                organization=activity.organization.name if activity.organization else "",
                who=", ".join(str(a.clinician) for a in present),
                # Attendance is known only once the activity happened.
                attended=(
                    any(a.attended for a in present)
                    if present and activity.status == ActivityStatus.DONE
                    else None
                ),
            )
        )
    return touches


def practice_territory(*, organization_id: int) -> Territory | None:
    assignment = (
        PracticeAssignment.objects.filter(organization_id=organization_id)
        .select_related("territory__liaison")
        .first()
    )
    return assignment.territory if assignment else None
