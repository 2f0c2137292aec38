"""Reads: the import pages' lists, and the datasets an export streams.

Each dataset declares its columns (name, type, whether it is PHI) and yields plain tuples from an
iterator over the database, so a million rows never sit in memory. Referral-level datasets
(referrals, events, clocks) are for roles that work on patients (view_phi); the monthly funnel is
aggregate counts only, for liaison and compliance too (DESIGN.md, Privacy: they never get a list
of referrals)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from refloop.access.models import Appointment
from refloop.core.errors import DomainError, NotAllowed
from refloop.interop.files.models import ImportRun, ImportSource, QuarantinedRow
from refloop.referrals.enums import WAITING_BLOCKERS, EventKind
from refloop.referrals.models import Referral, ReferralBlocker, ReferralClock, ReferralEvent

PAGE = 50


# Import pages ------------------------------------------------------------------------------------


def runs_recent(*, limit: int = PAGE) -> list[ImportRun]:
    return list(ImportRun.objects.select_related("source", "created_by")[:limit])


def sources_all() -> list[ImportSource]:
    return list(ImportSource.objects.all())


def run_quarantine(*, run_id: int, status: str = QuarantinedRow.Status.OPEN, limit: int = PAGE):
    return list(QuarantinedRow.objects.filter(run_id=run_id, status=status)[:limit])


# Exports -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "str"  # str, int, time, date
    phi: bool = False


@dataclass(frozen=True)
class ExportFilters:
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive
    service_line_id: int | None = None
    state: str = ""


@dataclass
class Dataset:
    name: str
    columns: list[Column]
    rows: Iterator[tuple]
    count: int
    per_referral: bool  # rows about referrals (the access log records the export)


DATASETS = {
    "referrals": "Referrals",
    "events": "Events",
    "clocks": "Clocks (met or missed)",
    "funnel": "Monthly funnel per service line (counts)",
    "waiting": "Waiting on others (blockers that pause the clocks)",
    "states": "State history (each state change that stands)",
}
AGGREGATE_DATASETS = {"funnel"}

REFERRAL_COLUMNS = [
    Column("number"), Column("received_at", "time"), Column("service_line"), Column("priority"),
    Column("state"), Column("channel"), Column("sender_system"), Column("sender_reference"),
    Column("referring_npi"), Column("referring_clinician"), Column("referring_organization"),
    Column("referrer_as_given"), Column("diagnoses"), Column("acknowledged_at", "time"),
    Column("decided_at", "time"), Column("first_contact_at", "time"),
    Column("appointment_at", "time"), Column("completed_at", "time"), Column("closed_at", "time"),
    Column("outcome_reason"), Column("open_blockers", "int"),
    Column("patient_mrn", phi=True), Column("patient_first_name", phi=True),
    Column("patient_last_name", phi=True), Column("patient_birth_date", "date", phi=True),
    Column("reason", phi=True),
    # The milestones the fact table keeps (analytics.ReferralFact, current as of its last
    # refresh), so `refloop audit --from refloop` reads the same referrals the app measures.
    Column("decision"), Column("accepted_at", "time"), Column("booked_at", "time"),
    Column("visit_at", "time"), Column("report_delivered_at", "time"),
    Column("ended_at", "time"), Column("last_activity_at", "time"), Column("no_shows", "int"),
    Column("visit_type"), Column("triage_decided_at", "time"),
    Column("records_complete_on_arrival"), Column("records_complete_at", "time"),
    Column("first_appointment_at", "time"),  # the first booking's (days to appointment judge it)
    Column("referrer_name"),  # as the metrics name the referrer (with credentials)
]  # fmt: skip
FACT_FIELDS = ("decision", "accepted_at", "booked_at", "appointment_at", "report_delivered_at",
               "ended_at", "last_activity_at", "no_shows", "visit_type", "decided_at",
               "records_complete_on_arrival", "records_complete_at")  # fmt: skip
EVENT_COLUMNS = [
    Column("referral"), Column("kind"), Column("from_state"), Column("to_state"), Column("code"),
    Column("occurred_at", "time"), Column("recorded_at", "time"), Column("actor"),
    Column("note", phi=True),
]  # fmt: skip
CLOCK_COLUMNS = [
    Column("referral"), Column("service_line"), Column("priority"), Column("kind"),
    Column("unit"), Column("target_seconds", "int"), Column("started_at", "time"),
    Column("stopped_at", "time"), Column("gross_seconds", "int"), Column("net_seconds", "int"),
    Column("paused_seconds", "int"), Column("outcome"),
]  # fmt: skip
WAITING_COLUMNS = [
    Column("referral"), Column("kind"), Column("started_at", "time"), Column("ended_at", "time"),
]  # fmt: skip
STATE_COLUMNS = [
    Column("referral"), Column("state"), Column("started_at", "time"), Column("from_state"),
    Column("appointment_at", "time"),  # a booking's: the appointment it was for
]  # fmt: skip
FUNNEL_COLUMNS = [
    Column("month", "date"), Column("service_line"), Column("received", "int"),
    Column("accepted", "int"), Column("declined", "int"), Column("redirected", "int"),
    Column("scheduled", "int"), Column("completed", "int"), Column("closed", "int"),
    Column("cancelled", "int"),
]  # fmt: skip


def export_dataset(*, dataset: str, filters: ExportFilters, user) -> Dataset:
    """The rows this person may export. PHI columns only with view_phi; without it, aggregate
    counts only."""
    if dataset not in DATASETS:
        raise DomainError("Choose what to export.", code="dataset")
    phi = user.has_perm("core.view_phi")
    if dataset in AGGREGATE_DATASETS:
        if not (phi or user.has_perm("core.view_aggregates")):
            raise NotAllowed("Your role does not allow exports.")
    elif not phi:
        raise NotAllowed("Your role exports aggregate counts only (the monthly funnel).")
    referrals = _referrals(filters)
    build = {"referrals": _referral_rows, "events": _event_rows, "clocks": _clock_rows,
             "funnel": _funnel_rows, "waiting": _waiting_rows,
             "states": _state_rows}[dataset]  # fmt: skip
    columns, rows, count = build(referrals)
    if not phi:  # never reached for referral-level data today; kept as the rule for columns
        keep = [i for i, c in enumerate(columns) if not c.phi]
        columns = [columns[i] for i in keep]
        rows = (tuple(r[i] for i in keep) for r in rows)
    return Dataset(dataset, columns, rows, count, per_referral=dataset not in AGGREGATE_DATASETS)


def _referrals(filters: ExportFilters):
    referrals = Referral.objects.all()
    zone = timezone.get_current_timezone()
    if filters.start:
        start = dt.datetime.combine(filters.start, dt.time(0), zone)
        referrals = referrals.filter(received_at__gte=start)
    if filters.end:
        end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time(0), zone)
        referrals = referrals.filter(received_at__lt=end)
    if filters.service_line_id:
        referrals = referrals.filter(service_line_id=filters.service_line_id)
    if filters.state:
        referrals = referrals.filter(state=filters.state)
    return referrals


def _referral_rows(referrals):
    names = (
        "pk", "received_at", "service_line__name", "priority", "state", "channel",
        "sender_system", "sender_reference", "referring_clinician__npi",
        "referring_clinician__first_name", "referring_clinician__last_name",
        "referring_organization__name", "referrer_as_given", "diagnoses", "acknowledged_at",
        "decided_at", "first_contact_at", "appointment_at", "completed_at", "closed_at",
        "outcome_reason", "open_blocker_count", "patient__mrn", "patient__first_name",
        "patient__last_name", "patient__birth_date", "reason",
        *(f"fact__{name}" for name in FACT_FIELDS), "first_appointment_at",
        "fact__referrer_name",
    )  # fmt: skip
    first = Appointment.objects.filter(referral=OuterRef("pk")).order_by("pk").values("starts_at")
    query = (
        referrals.annotate(first_appointment_at=Subquery(first[:1]))
        .order_by("pk")
        .values_list(*names)
    )

    def rows():
        for r in query.iterator(chunk_size=2000):
            clinician = f"{r[9]} {r[10]}" if r[10] else ""
            yield (
                f"R-{r[0]:07d}",
                *r[1:9],
                clinician,
                r[11],
                r[12],
                " ".join(r[13] or ()),
                *r[14:],
            )

    return REFERRAL_COLUMNS, rows(), query.count()


def _event_rows(referrals):
    query = (
        ReferralEvent.objects.filter(referral__in=referrals)
        .order_by("referral_id", "occurred_at", "pk")
        .values_list(
            "referral_id",
            "kind",
            "from_state",
            "to_state",
            "code",
            "occurred_at",
            "recorded_at",
            "actor__username",
            "note",
        )  # fmt: skip
    )

    def rows():
        for r in query.iterator(chunk_size=5000):
            yield (f"R-{r[0]:07d}", *r[1:7], r[7] or "system", r[8])

    return EVENT_COLUMNS, rows(), query.count()


def _waiting_rows(referrals):
    """The blockers that meant waiting on others (their net clock time leaves them out)."""
    query = (
        ReferralBlocker.objects.filter(referral__in=referrals, kind__in=WAITING_BLOCKERS)
        .order_by("referral_id", "opened_at", "pk")
        .values_list("referral_id", "kind", "opened_at", "resolved_at")
    )

    def rows():
        for r in query.iterator(chunk_size=5000):
            yield (f"R-{r[0]:07d}", *r[1:])

    return WAITING_COLUMNS, rows(), query.count()


def _state_rows(referrals):
    """Every state change, in the order it happened, with the appointment a booking was for; a
    corrected one (a manager marked it a mistake) and the corrections themselves are left out,
    as the metrics count them."""
    corrected = ReferralEvent.objects.filter(
        referral__in=referrals, kind=EventKind.CORRECTION, corrects__isnull=False
    ).values("corrects_id")
    query = (
        ReferralEvent.objects.filter(referral__in=referrals, kind=EventKind.STATE_CHANGED)
        .exclude(pk__in=corrected)
        .order_by("referral_id", "occurred_at", "pk")
        .values_list("referral_id", "to_state", "occurred_at", "from_state", "details")
    )

    def rows():
        for r in query.iterator(chunk_size=5000):
            booked_for = (r[4] or {}).get("appointment_at") if r[1] == "scheduled" else None
            when = dt.datetime.fromisoformat(booked_for) if booked_for else None
            yield (f"R-{r[0]:07d}", r[1], r[2], r[3], when)

    return STATE_COLUMNS, rows(), query.count()


def _clock_rows(referrals):
    now = timezone.now()
    query = (
        ReferralClock.objects.filter(referral__in=referrals)
        .select_related("referral__service_line")
        .order_by("referral_id", "kind")
        .only(
            "kind",
            "unit",
            "target_seconds",
            "started_at",
            "stopped_at",
            "gross_seconds",
            "net_seconds",
            "paused_seconds",
            "outcome",
            "due_at",
            "at_risk_at",
            "paused_since",
            "referral__priority",
            "referral__service_line__name",
        )  # fmt: skip
    )

    def rows():
        for c in query.iterator(chunk_size=5000):
            yield (
                f"R-{c.referral_id:07d}", c.referral.service_line.name, c.referral.priority,
                c.kind, c.unit, c.target_seconds, c.started_at, c.stopped_at, c.gross_seconds,
                c.net_seconds, c.paused_seconds, c.status(now),
            )  # fmt: skip

    return CLOCK_COLUMNS, rows(), query.count()


def _funnel_rows(referrals):
    """Per month of arrival and service line: how many arrived, and how many of those reached
    each step (by the milestone times and states the referrals have now)."""
    reached = {
        "accepted": Q(decided_at__isnull=False) & ~Q(state__in=["declined", "redirected"]),
        "declined": Q(state="declined"),
        "redirected": Q(state="redirected"),
        "scheduled": Q(appointment_at__isnull=False) | Q(completed_at__isnull=False),
        "completed": Q(completed_at__isnull=False),
        "closed": Q(closed_at__isnull=False),
        "cancelled": Q(state="cancelled"),
    }
    query = (
        referrals.annotate(month=TruncMonth("received_at"))
        .values("month", "service_line__name")
        .annotate(received=Count("pk"), **{k: Count("pk", filter=q) for k, q in reached.items()})
        .order_by("month", "service_line__name")
    )
    rows = [
        (
            timezone.localtime(r["month"]).date()
            if isinstance(r["month"], dt.datetime)
            else r["month"],
            r["service_line__name"],
            r["received"],
            *(r[k] for k in reached),
        )  # fmt: skip
        for r in query
    ]
    return FUNNEL_COLUMNS, iter(rows), len(rows)
