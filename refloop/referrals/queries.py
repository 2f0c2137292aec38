"""Reads of referrals for the staff app: worklist, search, the referral page and its timeline.

Written for a million referrals: filters that can use the indexes on Referral, a fixed number of
queries whatever the page size, and only the columns a page shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from refloop.directory.enums import DocumentKind
from refloop.directory.models import ServiceLine
from refloop.referrals.enums import (
    OPEN_STATES,
    REASONS_FOR,
    WAITING_BLOCKERS,
    BlockerKind,
    Channel,
    ChecklistStatus,
    EventKind,
    Milestone,
    State,
)
from refloop.referrals.models import Referral, ReferralBlocker, ReferralEvent

WORKLIST_PAGE_SIZE = 25
SEARCH_LIMIT = 50


class ClockFilter:
    BREACHED = "breached"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"
    WAITING = "waiting"

    choices = [
        (BREACHED, "Breached"),
        (AT_RISK, "At risk"),
        (ON_TRACK, "On track"),
        (WAITING, "Waiting on others"),
    ]


@dataclass(frozen=True)
class WorklistFilters:
    """What the worklist is narrowed to: ids and codes only, so the URL never carries PHI."""

    states: tuple[str, ...] = ()
    service_line_id: int | None = None
    priority: str = ""
    blocker: str = ""
    clock: str = ""
    channel: str = ""
    organization_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False


@dataclass
class WorklistPage:
    rows: list[Referral]
    number: int
    total: int
    counts: dict[str, int]  # open referrals per state under every filter but the state one
    page_size: int = WORKLIST_PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def all_open(self) -> int:
        return sum(self.counts.values())

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.rows)


def _open_blocker(kinds) -> Exists:
    return Exists(
        ReferralBlocker.objects.filter(
            referral_id=OuterRef("pk"), kind__in=kinds, resolved_at__isnull=True
        )
    )


def _worklist_base(filters: WorklistFilters, now: dt.datetime) -> QuerySet[Referral]:
    rows = Referral.objects.filter(state__in=OPEN_STATES)
    if filters.service_line_id:
        rows = rows.filter(service_line_id=filters.service_line_id)
    if filters.priority:
        rows = rows.filter(priority=filters.priority)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.organization_id:
        rows = rows.filter(referring_organization_id=filters.organization_id)
    if filters.unassigned:
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee_id:
        rows = rows.filter(assignee_id=filters.assignee_id)
    if filters.blocker:
        # The counter on the row rules out most referrals before the subquery runs.
        rows = rows.filter(open_blocker_count__gt=0).filter(_open_blocker([filters.blocker]))
    if filters.clock == ClockFilter.BREACHED:
        rows = rows.filter(next_due_at__lte=now)
    elif filters.clock == ClockFilter.AT_RISK:
        rows = rows.filter(next_at_risk_at__lte=now, next_due_at__gt=now)
    elif filters.clock == ClockFilter.ON_TRACK:
        rows = rows.filter(next_due_at__gt=now).filter(
            Q(next_at_risk_at__isnull=True) | Q(next_at_risk_at__gt=now)
        )
    elif filters.clock == ClockFilter.WAITING:
        rows = rows.filter(open_blocker_count__gt=0).filter(_open_blocker(WAITING_BLOCKERS))
    return rows


def worklist_page(
    *, filters: WorklistFilters, page: int = 1, now: dt.datetime | None = None
) -> WorklistPage:
    """One page of open referrals, the most urgent first: two queries whatever the page size."""
    now = now or timezone.now()
    base = _worklist_base(filters, now)
    counts = dict(base.order_by().values_list("state").annotate(n=Count("id")))
    counts = {state: counts.get(state, 0) for state in State.values if state in OPEN_STATES}
    states = [s for s in filters.states if s in OPEN_STATES] or list(OPEN_STATES)
    total = sum(counts[s] for s in states)
    pages = max(1, -(-total // WORKLIST_PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = base if not filters.states else base.filter(state__in=states)
    offset = (page - 1) * WORKLIST_PAGE_SIZE
    rows = list(
        rows.select_related("patient", "service_line", "referring_organization", "assignee")
        .only(
            "id",
            "state",
            "priority",
            "channel",
            "received_at",
            "next_due_at",
            "next_at_risk_at",
            "appointment_at",
            "open_blocker_count",
            "version",
            "patient__id",
            "patient__first_name",
            "patient__last_name",
            "patient__birth_date",
            "service_line__id",
            "service_line__name",
            "referring_organization__id",
            "referring_organization__name",
            "referrer_as_given",
            "assignee__id",
            "assignee__username",
            "assignee__first_name",
            "assignee__last_name",
        )
        .order_by(F("next_due_at").asc(nulls_last=True), "received_at", "id")[
            offset : offset + WORKLIST_PAGE_SIZE
        ]
    )
    return WorklistPage(rows=rows, number=page, total=total, counts=counts)


@dataclass(frozen=True)
class SearchCriteria:
    last_name: str = ""
    first_name: str = ""
    birth_date: dt.date | None = None
    number: str = ""
    referrer: str = ""  # a name (prefix of the last name) or a 10-digit NPI

    @property
    def empty(self) -> bool:
        return not (
            self.last_name or self.first_name or self.birth_date or self.number or self.referrer
        )


def referral_search(*, criteria: SearchCriteria, limit: int = SEARCH_LIMIT) -> list[Referral]:
    """Referrals in any state matching every criterion given, newest first.

    Prefix and equality lookups only: a leading-wildcard match cannot use an index."""
    if criteria.empty:
        return []
    rows = Referral.objects.all()
    if criteria.number:
        pk = Referral.pk_from_number(criteria.number)
        if pk is None:
            return []
        rows = rows.filter(pk=pk)
    if criteria.last_name:
        rows = rows.filter(patient__last_name__istartswith=criteria.last_name.strip())
    if criteria.first_name:
        rows = rows.filter(patient__first_name__istartswith=criteria.first_name.strip())
    if criteria.birth_date:
        rows = rows.filter(patient__birth_date=criteria.birth_date)
    referrer = criteria.referrer.strip()
    if referrer.isdigit():
        rows = rows.filter(referring_clinician__npi=referrer)
    elif referrer:
        rows = rows.filter(referring_clinician__last_name__istartswith=referrer)
    return list(
        rows.select_related("patient", "service_line", "referring_clinician", "assignee")
        .only(
            "id",
            "state",
            "priority",
            "received_at",
            "referrer_as_given",
            "patient__id",
            "patient__first_name",
            "patient__last_name",
            "patient__birth_date",
            "service_line__id",
            "service_line__name",
            "referring_clinician__id",
            "referring_clinician__first_name",
            "referring_clinician__last_name",
            "referring_clinician__credentials",
            "assignee__id",
            "assignee__username",
        )
        .order_by("-received_at", "-id")[:limit]
    )


def open_referrals_of_patient(
    *, first_name: str, last_name: str, birth_date: dt.date, service_line_id: int
) -> list[Referral]:
    """Open referrals to one service line of the patient with this name and date of birth (the
    same rule referral_receive matches patients by), for the intake form's duplicate warning."""
    return list(
        Referral.objects.filter(
            patient__last_name__iexact=last_name.strip(),
            patient__first_name__iexact=first_name.strip(),
            patient__birth_date=birth_date,
            service_line_id=service_line_id,
            state__in=OPEN_STATES,
        )
        .only("id", "state", "received_at")
        .order_by("received_at")
    )


def referral_for_page(*, referral_id: int) -> Referral | None:
    """The referral with everything its page shows, in a fixed number of queries."""
    from refloop.access.models import Appointment
    from refloop.loop.models import ReportSent

    return (
        Referral.objects.select_related(
            "patient",
            "service_line",
            "referring_clinician",
            "referring_organization",
            "receiving_clinician",
            "assignee",
        )
        .prefetch_related(
            "documents",
            Prefetch("checklist"),
            "clocks",
            "blockers",
            Prefetch("notes", queryset=_notes()),
            Prefetch(
                "appointments",
                queryset=Appointment.objects.select_related("clinician").order_by("-starts_at"),
            ),
            Prefetch("reports_sent", queryset=ReportSent.objects.select_related("sent_by")),
            "patient__coverages",
        )
        .filter(pk=referral_id)
        .first()
    )


def _notes():
    from refloop.referrals.models import InternalNote

    return InternalNote.objects.select_related("author")


# What an event's code means, by the kind of event.
_CODE_LABELS = {
    EventKind.RECEIVED: dict(Channel.choices),
    EventKind.MILESTONE: dict(Milestone.choices),
    EventKind.BLOCKER_OPENED: dict(BlockerKind.choices),
    EventKind.BLOCKER_RESOLVED: dict(BlockerKind.choices),
    EventKind.CHECKLIST: dict(ChecklistStatus.choices),
    EventKind.DOCUMENT_ADDED: dict(DocumentKind.choices),
}
_REASON_LABELS = {state: dict(reasons.choices) for state, reasons in REASONS_FOR.items()}
_STATE_LABELS = dict(State.choices)


@dataclass
class TimelineEntry:
    event: ReferralEvent
    code_label: str
    corrections: list[ReferralEvent] = field(default_factory=list)

    @property
    def corrected(self) -> bool:
        return bool(self.corrections)

    @property
    def from_label(self) -> str:
        return _STATE_LABELS.get(self.event.from_state, "")

    @property
    def to_label(self) -> str:
        return _STATE_LABELS.get(self.event.to_state, "")


def event_code_label(event: ReferralEvent) -> str:
    if event.kind == EventKind.STATE_CHANGED:
        labels = _REASON_LABELS.get(event.to_state, {})
    else:
        labels = _CODE_LABELS.get(event.kind, {})
    return labels.get(event.code, event.code)


def referral_timeline(*, referral_id: int) -> list[TimelineEntry]:
    """Every event of the referral in the order it happened, each with the corrections made to
    it. One query."""
    events = list(
        ReferralEvent.objects.filter(referral_id=referral_id)
        .select_related("actor")
        .only(
            "id",
            "kind",
            "from_state",
            "to_state",
            "code",
            "note",
            "details",
            "occurred_at",
            "recorded_at",
            "corrects_id",
            "actor__id",
            "actor__username",
            "actor__first_name",
            "actor__last_name",
        )
        .order_by("occurred_at", "id")
    )
    entries = {e.pk: TimelineEntry(event=e, code_label=event_code_label(e)) for e in events}
    for event in events:
        if event.corrects_id in entries:
            entries[event.corrects_id].corrections.append(event)
    return list(entries.values())


@dataclass
class TimelineNames:
    """Names that events' details refer to by id: people assigned, service lines sent on to."""

    people: dict[int, object]
    lines: dict[int, str]


def timeline_names(*, entries: list[TimelineEntry]) -> TimelineNames:
    """At most two queries however many events refer to people or service lines."""
    from django.contrib.auth import get_user_model

    wanted = {"assignee_id": set(), "service_line_id": set()}
    for entry in entries:
        for key, ids in wanted.items():
            if entry.event.details.get(key):
                ids.add(entry.event.details[key])
    people = wanted["assignee_id"] and get_user_model().objects.in_bulk(wanted["assignee_id"])
    lines = wanted["service_line_id"] and dict(
        ServiceLine.objects.filter(pk__in=wanted["service_line_id"]).values_list("pk", "name")
    )
    return TimelineNames(people=people or {}, lines=lines or {})


def program_monthly_counts(*, months: int = 12, now: dt.datetime | None = None) -> dict:
    """Referrals received per service line per month over the last `months` months: aggregates
    only, for roles that see no patient data."""
    now = timezone.localtime(now or timezone.now())
    first = now.date().replace(day=1)
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    rows = (
        Referral.objects.filter(received_at__gte=start)
        .annotate(month=TruncMonth("received_at"))
        .order_by()
        .values_list("service_line_id", "month")
        .annotate(n=Count("id"))
    )
    month_starts = []
    month = first
    for _ in range(months):
        month_starts.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    counts: dict[int, dict[dt.date, int]] = {}
    for line_id, month_at, n in rows:
        month_key = (month_at.date() if isinstance(month_at, dt.datetime) else month_at).replace(
            day=1
        )
        counts.setdefault(line_id, {})[month_key] = n
    lines = list(ServiceLine.objects.only("id", "name").order_by("name"))
    table = [
        {
            "line": line,
            "counts": [counts.get(line.pk, {}).get(m, 0) for m in month_starts],
            "total": sum(counts.get(line.pk, {}).values()),
        }
        for line in lines
    ]
    totals = [sum(row["counts"][i] for row in table) for i in range(months)]
    return {"months": month_starts, "rows": table, "totals": totals, "total": sum(totals)}


@dataclass(frozen=True)
class LineRules:
    """What a new referral on one service line starts from: whether the line takes referrals,
    its checklist ((name, document kind), in order), the response targets of the referral's
    priority and the practice's closures."""

    active: bool
    checklist: tuple[tuple[str, str], ...]
    targets: dict
    closures: frozenset[dt.date]


def line_rules(*, service_line_id: int, priority: str) -> LineRules:
    """Read in one statement (a UNION ALL of the four small reads): intake is the hot path of
    every way in, and there each round trip, and the ORM's compiling of each query, costs more
    than the rows (written as SQL: the ORM takes longer to compile this union than the four
    queries it replaces). Read fresh every time, so an edit (a line closed, a checklist item
    added, a target or closure changed) applies to the next referral in every process."""
    from django.db import connection

    from refloop.core.models import Closure
    from refloop.directory.models import ChecklistTemplateItem, ResponseTarget
    from refloop.referrals.clocks import Target

    line, item = ServiceLine._meta.db_table, ChecklistTemplateItem._meta.db_table
    target, closure = ResponseTarget._meta.db_table, Closure._meta.db_table
    # CAST: PostgreSQL types a bare NULL as text, which a date column cannot join.
    sql = (
        f"SELECT 'line', '', '', 0, 0, CAST(NULL AS date) FROM {line} WHERE id = %s AND active"
        f" UNION ALL SELECT 'item', name, document_kind, position, id, CAST(NULL AS date)"
        f" FROM {item} WHERE service_line_id = %s"
        f" UNION ALL SELECT 'target', kind, unit, amount, 0, CAST(NULL AS date)"
        f" FROM {target} WHERE service_line_id = %s AND priority = %s"
        f" UNION ALL SELECT 'closed', '', '', 0, 0, date FROM {closure}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [service_line_id, service_line_id, service_line_id, priority])
        rows = cursor.fetchall()
    checklist = sorted((n, k, a, b) for rule, a, b, n, k, _ in rows if rule == "item")
    return LineRules(
        active=any(row[0] == "line" for row in rows),
        checklist=tuple((name, kind) for _, _, name, kind in checklist),
        targets={a: Target(a, n, b) for rule, a, b, n, _, _ in rows if rule == "target"},
        # SQLite answers a date as text.
        closures=frozenset(
            day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
            for rule, *_, day in rows
            if rule == "closed"
        ),
    )
