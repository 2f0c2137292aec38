"""The live app's facts: read from the referral tables, built by facts_build, written in bulk.

A set of referrals is read in five queries whatever its size (referrals, events, blockers,
appointments, targets; a sixth only for bookings made without an appointment row), turned into
the builder's frames in Polars, and its fact rows replaced in one transaction: PostgreSQL gets
one COPY, SQLite `executemany` (core.bulk.RowWriter). facts_rebuild_all walks the referrals in
id ranges, so memory stays flat for any number of them.

How the events become milestones (the fact contract, analytics.facts, says what each means):
- a corrected event (a correction points at it) counts as never happened;
- the triage decision is the last decision made from received or triage (a reconsidered
  decline is replaced by the later decision); an appointment cancelled (scheduled -> accepted)
  is not a decision;
- booked_at is the first booking; first contact the first contact milestone or booking;
- appointment_at is the attended appointment, else the latest booked (access.Appointment), else
  the last booking's appointment time (a booking recorded without an appointment row); the
  first booking's appointment goes along for the days-to-appointment target (build.py);
- records came complete unless a missing-records blocker was opened at receipt;
  records_complete_at is when the last missing-records blocker was resolved (none left open);
- ended_at and the state come from the referral row (the current truth).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from refloop.access.models import Appointment
from refloop.analytics.build import facts_build
from refloop.analytics.facts import FACT_SCHEMA, UTC_TIME
from refloop.analytics.models import ReferralFact
from refloop.analytics.queries import frame_of
from refloop.core.calendar import calendar_memoized, practice_calendar
from refloop.directory.enums import TargetUnit
from refloop.directory.models import ResponseTarget
from refloop.referrals.enums import (
    BEFORE_DECISION,
    ENDED_STATES,
    WAITING_BLOCKERS,
    BlockerKind,
    EventKind,
    Milestone,
    State,
)
from refloop.referrals.models import Referral, ReferralBlocker, ReferralEvent

# Referrals per read and write: large enough that Polars' per-operation cost is spread thin,
# small enough for a flat memory (and an IN list SQLite takes, for facts_refresh).
CHUNK = 5000
RANGE = 20000  # facts_rebuild_all reads id ranges, not lists
DECISIONS = (State.ACCEPTED, State.DECLINED, State.REDIRECTED)
UNIT_SECONDS = {TargetUnit.BUSINESS_HOURS: 3600, TargetUnit.CALENDAR_DAYS: 86400}


def facts_refresh(*, referral_ids, now: dt.datetime | None = None) -> int:
    """Rebuild the fact rows of these referrals (ids of referrals that do not exist are simply
    dropped); returns how many rows were written."""
    ids = sorted(set(referral_ids))
    rules, written = _rules(), 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        written += _chunk_refresh({"pk__in": chunk}, rules, now=now or timezone.now())
    return written


def facts_rebuild_all(
    *, progress: Callable[[int, int], None] | None = None, now: dt.datetime | None = None
) -> int:
    """Rebuild every referral's facts, RANGE ids at a time, each range in its own transaction
    (the demo load; after an import, or a change of targets or closures)."""
    now = now or timezone.now()
    bounds = Referral.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        ReferralFact.objects.all().delete()
        return 0
    ReferralFact.objects.filter(referral_id__gt=bounds["high"]).delete()
    total, written, rules = Referral.objects.count(), 0, _rules()
    for low in range(bounds["low"], bounds["high"] + 1, RANGE):
        written += _chunk_refresh({"pk__gte": low, "pk__lt": low + RANGE}, rules, now=now)
        if progress:
            progress(written, total)
    return written


def _rules() -> dict:
    """What every chunk is judged by: the targets and the practice calendar (read once)."""
    return {"targets": targets_frame(), "calendar": calendar_memoized(practice_calendar())}


def _chunk_refresh(where: dict, rules: dict, *, now: dt.datetime) -> int:
    # Two refreshes of one referral at once (the event job and the daily one): the second's
    # insert may meet the first's row; it simply reads and writes again.
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _chunk_write(where, rules, now=now)
        except IntegrityError:
            if attempt == 2:
                raise
    return 0


def _chunk_write(where: dict, rules: dict, *, now: dt.datetime) -> int:
    frames = facts_sources(where)
    facts = facts_build(
        frames["milestones"],
        waiting=frames["waiting"],
        states=frames["states"],
        bookings=frames["bookings"],
        as_of=now,
        **rules,
    )
    child = {key.replace("pk", "referral_id", 1): value for key, value in where.items()}
    ReferralFact.objects.filter(**child).delete()
    rows = _rows(facts, frames["events_through"], now)
    _facts_insert(rows)
    return rows.height


def _rows(facts: pl.DataFrame, events_through: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    """The table's rows in its column order (FACT_SCHEMA, then the bookkeeping)."""
    text = [name for name, dtype in FACT_SCHEMA.items() if dtype == pl.String()]
    facts = facts.with_columns(pl.col(text).fill_null("")).join(
        events_through, on="referral_id", how="left"
    )
    return facts.with_columns(
        pl.col("events_through").fill_null(0),
        pl.col("no_shows").fill_null(0),
        built_at=pl.lit(now.astimezone(dt.UTC), UTC_TIME),
    ).select(f.attname for f in ReferralFact._meta.concrete_fields)


def _facts_insert(rows: pl.DataFrame) -> None:
    """PostgreSQL: one COPY of Polars' CSV (an empty string is quoted, a null is not, as COPY
    reads them). SQLite: executemany, times in the text Django itself stores."""
    quote = connection.ops.quote_name
    table = quote(ReferralFact._meta.db_table)
    columns = [quote(f.column) for f in ReferralFact._meta.concrete_fields]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
            with cursor.cursor.copy(sql) as copy:
                copy.write(rows.write_csv(include_header=False))
            return
        values = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
        cursor.executemany(sql, rows.with_columns(_django_text(rows)).rows())


def _django_text(rows: pl.DataFrame) -> list[pl.Expr]:
    """SQLite keeps times as naive UTC text, seconds written without a fraction when whole,
    exactly as Django writes them (so string comparisons in queries agree)."""
    times = [name for name, dtype in rows.schema.items() if dtype == UTC_TIME]
    return [
        pl.when(pl.col(name).dt.microsecond() == 0)
        .then(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        .alias(name)
        for name in times
    ]


# Reading the referral tables ------------------------------------------------------------------


def facts_sources(where: dict) -> dict[str, pl.DataFrame]:
    """The builder's frames for the referrals matching `where` (lookups on Referral):
    milestones, waiting, states, bookings, and events_through (each referral's highest event
    id)."""
    child = {key.replace("pk", "referral_id", 1): value for key, value in where.items()}
    referrals = _referrals(where)
    events = _events(child)
    live = _live(events)
    milestones = _milestones(referrals, live, events)
    milestones = _with_appointments(milestones, child, live)
    blockers = _blockers(child)
    return {
        "bookings": _bookings(child, live),
        "milestones": _with_records(milestones, blockers),
        "waiting": blockers.filter(pl.col("kind").is_in(list(WAITING_BLOCKERS))),
        "states": _states(referrals, live),
        "events_through": events.group_by("referral_id").agg(events_through=pl.col("id").max()),
    }


def targets_frame() -> pl.DataFrame:
    rows = ResponseTarget.objects.values_list(
        "service_line__name", "priority", "kind", "amount", "unit"
    )
    return pl.DataFrame(
        [(line, priority, kind, amount * UNIT_SECONDS[unit], unit)
         for line, priority, kind, amount, unit in rows],
        schema={"service_line": pl.String, "priority": pl.String, "kind": pl.String,
                "seconds": pl.Int64, "unit": pl.String},
        orient="row",
    )  # fmt: skip


REFERRAL_FIELDS = {
    "id": pl.Int64,
    "patient_id": pl.Int64,
    "service_line__name": pl.String,
    "priority": pl.String,
    "channel": pl.String,
    "referring_clinician_id": pl.Int64,
    "referring_clinician__npi": pl.String,
    "referring_clinician__first_name": pl.String,
    "referring_clinician__last_name": pl.String,
    "referring_clinician__credentials": pl.String,
    "referrer_as_given": pl.String,
    "referring_organization__name": pl.String,
    "state": pl.String,
    "outcome_reason": pl.String,
    "received_at": UTC_TIME,
    "state_changed_at": UTC_TIME,
}


def _referrals(where: dict) -> pl.DataFrame:
    frame = frame_of(Referral.objects.filter(**where).order_by(), REFERRAL_FIELDS)
    first, last = (
        pl.col("referring_clinician__first_name"),
        pl.col("referring_clinician__last_name"),
    )
    credentials = pl.col("referring_clinician__credentials")
    clinician = pl.col("referring_clinician_id").is_not_null()
    npi = pl.col("referring_clinician__npi")
    return frame.select(
        referral_id="id",
        patient_key=pl.col("patient_id").cast(pl.String),
        service_line="service_line__name",
        priority="priority",
        channel="channel",
        referrer_key=pl.when(clinician)
        .then(
            pl.when(npi.is_not_null() & (npi != ""))
            .then(npi)
            .otherwise(pl.col("referring_clinician_id").cast(pl.String))
        )
        .otherwise(pl.lit("")),
        referrer_name=pl.when(clinician)
        .then(
            pl.concat_str(first, pl.lit(" "), last)
            + pl.when(credentials != "").then(", " + credentials).otherwise(pl.lit(""))
        )
        .otherwise(pl.col("referrer_as_given")),
        practice=pl.col("referring_organization__name").fill_null(""),
        state="state",
        outcome_reason="outcome_reason",
        received_at="received_at",
        ended_at=pl.when(pl.col("state").is_in(list(ENDED_STATES))).then("state_changed_at"),
    )


EVENT_FIELDS = {
    "id": pl.Int64,
    "referral_id": pl.Int64,
    "kind": pl.String,
    "from_state": pl.String,
    "to_state": pl.String,
    "code": pl.String,
    "occurred_at": UTC_TIME,
    "corrects_id": pl.Int64,
}


def _events(child: dict) -> pl.DataFrame:
    return frame_of(ReferralEvent.objects.filter(**child).order_by(), EVENT_FIELDS)


def _live(events: pl.DataFrame) -> pl.DataFrame:
    """Events that count: not corrections, not corrected; in the order they happened."""
    corrected = events.filter(pl.col("kind") == EventKind.CORRECTION)["corrects_id"]
    return events.filter(
        (pl.col("kind") != EventKind.CORRECTION) & ~pl.col("id").is_in(corrected.implode())
    ).sort("referral_id", "occurred_at", "id")


def _milestones(referrals: pl.DataFrame, live: pl.DataFrame, events: pl.DataFrame):
    at = pl.col("occurred_at")
    kind, code, to, came_from = (pl.col(c) for c in ("kind", "code", "to_state", "from_state"))
    changed = kind == EventKind.STATE_CHANGED
    milestone = kind == EventKind.MILESTONE
    decision = changed & came_from.is_in(list(BEFORE_DECISION)) & to.is_in(list(DECISIONS))
    booked = changed & (to == State.SCHEDULED)
    per_referral = live.group_by("referral_id").agg(
        acknowledged_at=at.filter(milestone & (code == Milestone.ACKNOWLEDGED)).min(),
        accepted_at=at.filter(decision & (to == State.ACCEPTED)).last(),
        decided_at=at.filter(decision).last(),
        decision=to.filter(decision).last(),
        first_contact_at=at.filter((milestone & (code == Milestone.FIRST_CONTACT)) | booked).min(),
        booked_at=at.filter(booked).min(),
        seen_at=at.filter(changed & (to == State.COMPLETED)).last(),
        report_sent_at=at.filter(changed & (to == State.CLOSED)).last(),
        report_delivered_at=at.filter(milestone & (code == Milestone.REPORT_DELIVERED)).min(),
        no_shows=(changed & (to == State.NO_SHOW)).sum().cast(pl.Int32),
    )
    # Any event is activity, a correction too.
    activity = events.group_by("referral_id").agg(last_activity_at=at.max())
    return (
        referrals.join(per_referral, on="referral_id", how="left")
        .join(activity, on="referral_id", how="left")
        .with_columns(pl.col("decision").fill_null(""), pl.col("no_shows").fill_null(0))
    )


APPOINTMENT_FIELDS = {
    "id": pl.Int64,
    "referral_id": pl.Int64,
    "starts_at": UTC_TIME,
    "outcome": pl.String,
    "slot__visit_type__name": pl.String,
}


def _with_appointments(milestones: pl.DataFrame, child: dict, live: pl.DataFrame):
    booked = frame_of(Appointment.objects.filter(**child).order_by(), APPOINTMENT_FIELDS)
    # The attended one, else the latest booked.
    chosen = (
        booked.sort("referral_id", pl.col("outcome") == Appointment.Outcome.ATTENDED, "id")
        .group_by("referral_id")
        .agg(
            appointment_at=pl.col("starts_at").last(),
            visit_type=pl.col("slot__visit_type__name").last().fill_null(""),
            first_appointment_at=pl.col("starts_at").sort_by("id").first(),
        )
    )
    without = set(
        live.filter(pl.col("to_state") == State.SCHEDULED)["referral_id"].unique().to_list()
    ) - set(chosen["referral_id"].to_list())
    if without:
        chosen = pl.concat([chosen, _booked_in_events(without)])
    return milestones.join(chosen, on="referral_id", how="left").with_columns(
        pl.col("visit_type").fill_null("")
    )


def _booked_in_events(referral_ids: set[int]) -> pl.DataFrame:
    """A booking recorded without an appointment row: the last booking's appointment time."""
    latest: dict[int, tuple] = {}
    first: dict[int, tuple] = {}
    rows = ReferralEvent.objects.filter(
        referral_id__in=referral_ids, kind=EventKind.STATE_CHANGED, to_state=State.SCHEDULED
    ).values_list("referral_id", "occurred_at", "id", "details", "corrects_id")
    corrected = set(
        ReferralEvent.objects.filter(
            referral_id__in=referral_ids, kind=EventKind.CORRECTION
        ).values_list("corrects_id", flat=True)
    )
    for referral_id, occurred_at, event_id, details, _ in rows:
        text = (details or {}).get("appointment_at")
        if text and event_id not in corrected:
            key = (occurred_at, event_id)
            when = dt.datetime.fromisoformat(text).astimezone(dt.UTC)
            if referral_id not in latest or key > latest[referral_id][0]:
                latest[referral_id] = (key, when)
            if referral_id not in first or key < first[referral_id][0]:
                first[referral_id] = (key, when)
    return pl.DataFrame(
        [(r, when, "", first[r][1]) for r, (_, when) in latest.items()],
        schema={"referral_id": pl.Int64, "appointment_at": UTC_TIME, "visit_type": pl.String,
                "first_appointment_at": UTC_TIME},
        orient="row",
    )  # fmt: skip


BOOKING_FIELDS = {
    "id": pl.Int64,
    "referral_id": pl.Int64,
    "occurred_at": UTC_TIME,
    "from_state": pl.String,
    "details": pl.String,
}
ISO_TIME = "%Y-%m-%dT%H:%M:%S%.f%:z"  # datetime.isoformat() of an aware time


def _bookings(child: dict, live: pl.DataFrame) -> pl.DataFrame:
    """Bookings made from accepted (with the appointment each was for) and appointments
    cancelled back to accepted: the days-to-appointment clock stops and reopens on them."""
    booked = Q(from_state=State.ACCEPTED, to_state=State.SCHEDULED)
    cancelled = Q(from_state=State.SCHEDULED, to_state=State.ACCEPTED)
    rows = ReferralEvent.objects.filter(booked | cancelled, kind=EventKind.STATE_CHANGED, **child)
    frame = frame_of(rows.order_by(), BOOKING_FIELDS).filter(
        pl.col("id").is_in(live["id"].implode())
    )
    appointment = pl.col("details").str.json_path_match("$.appointment_at")
    return frame.select(
        "referral_id",
        at="occurred_at",
        cancelled=pl.col("from_state") == State.SCHEDULED,
        appointment_at=appointment.str.to_datetime(ISO_TIME, time_unit="us", time_zone="UTC"),
    )


BLOCKER_FIELDS = {
    "referral_id": pl.Int64,
    "kind": pl.String,
    "opened_at": UTC_TIME,
    "resolved_at": UTC_TIME,
}


def _blockers(child: dict) -> pl.DataFrame:
    blockers = frame_of(ReferralBlocker.objects.filter(**child).order_by(), BLOCKER_FIELDS)
    return blockers.rename({"opened_at": "started_at", "resolved_at": "ended_at"})


def _with_records(milestones: pl.DataFrame, blockers: pl.DataFrame) -> pl.DataFrame:
    missing = blockers.filter(pl.col("kind") == BlockerKind.MISSING_RECORDS).join(
        milestones.select("referral_id", "received_at"), on="referral_id"
    )
    records = missing.group_by("referral_id").agg(
        at_receipt=(pl.col("started_at") <= pl.col("received_at")).any(),
        still_open=pl.col("ended_at").is_null().any(),
        last_resolved=pl.col("ended_at").max(),
    )
    return milestones.join(records, on="referral_id", how="left").with_columns(
        records_complete_on_arrival=~pl.col("at_receipt").fill_null(False),
        records_complete_at=pl.when(~pl.col("still_open")).then("last_resolved"),
    )


def _states(referrals: pl.DataFrame, live: pl.DataFrame) -> pl.DataFrame:
    """Each referral's states in order: received from its arrival, then each state change."""
    arrived = referrals.select(
        "referral_id",
        state=pl.lit(State.RECEIVED.value),
        started_at="received_at",
        id=pl.lit(0, pl.Int64),
    )
    changes = live.filter(pl.col("kind") == EventKind.STATE_CHANGED).select(
        "referral_id", state="to_state", started_at="occurred_at", id="id"
    )
    return (
        pl.concat([arrived, changes], how="vertical_relaxed")
        .sort("referral_id", "started_at", "id")
        .with_columns(
            # The next state's start, within the same referral (no window: many referrals).
            ended_at=pl.when(pl.col("referral_id") == pl.col("referral_id").shift(-1)).then(
                pl.col("started_at").shift(-1)
            )
        )
        .drop("id")
    )
