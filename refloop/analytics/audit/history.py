"""What happened to each referral over time, from second files, joined to the main file by the
referral's id (`reference`):

- `--waiting FILE`: one row per blocker that paused the clocks (missing records, authorization
  pending, the referrer's answer): `reference`, `kind`, `started_at`, `ended_at` (empty while
  open), so net durations can be worked out. Kinds are ours (facts.WAITING_BLOCKERS) or mapped
  with `--waiting-value kind:Theirs=ours`.
- `--states FILE`: one row per state change: `reference`, `state`, `started_at` (and, when
  known, `from_state` and a booking's `appointment_at`), for the time spent in each state, a
  decline later reconsidered (it stopped the clocks) and appointments cancelled and booked again
  (days to appointment is judged again).

Columns are mapped with `--waiting-column field=Column` / `--states-column field=Column`
(Refloop's own exports are built in). A row that cannot be used (no such referral among the rows
read, a kind or state that is not ours, a time that cannot be read) is quarantined with its
reasons like a referral row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.audit import AuditError
from refloop.analytics.audit.mapping import CHOICES, Mapping
from refloop.analytics.audit.milestones import _mapped, _time
from refloop.analytics.facts import UTC_TIME, WAITING_BLOCKERS

WAITING_FIELDS = ("reference", "kind", "started_at", "ended_at")
STATE_FIELDS = ("reference", "state", "started_at", "from_state", "appointment_at")
REFLOOP_WAITING = {"reference": "referral", "kind": "kind", "started_at": "started_at",
                   "ended_at": "ended_at"}  # fmt: skip
REFLOOP_STATES = {"reference": "referral", "state": "state", "started_at": "started_at",
                  "from_state": "from_state", "appointment_at": "appointment_at"}  # fmt: skip


@dataclass(frozen=True)
class HistoryFile:
    path: Path
    columns: dict[str, str]  # our field -> their column
    values: dict[str, str]  # their kind or state (lower case) -> ours


@dataclass(frozen=True)
class History:
    intervals: pl.DataFrame  # facts_build's waiting or states frame
    quarantine: pl.DataFrame  # row, reasons, then the row as given
    rows: int
    bookings: pl.DataFrame | None = None  # facts_build's bookings (states with from_state)


def history_columns(texts: list[str], *, fields: tuple[str, ...], base: dict, option: str):
    columns = dict(base)
    for text in texts:
        name, sep, column = text.partition("=")
        if not sep or name.strip() not in fields:
            raise AuditError(
                f"{option} {text!r}: write it as field='Their column', "
                f"a field of {', '.join(fields)}."
            )
        columns[name.strip()] = column.strip()
    return columns


def history_values(texts: list[str], *, field: str, option: str) -> dict[str, str]:
    values = {}
    for text in texts:
        name, _, pair = text.partition(":")
        theirs, sep, ours = pair.rpartition("=")
        if name != field or not sep or not theirs:
            raise AuditError(f"{option} {text!r}: write it as {field}:theirs=ours.")
        values[theirs.strip().lower()] = ours.strip()
    return values


def waiting_parse(frame, *, given: HistoryFile, mapping: Mapping, references, tz) -> History:
    raw = _raw(frame, given, WAITING_FIELDS[:3], references)
    started = _when(frame, given, "started_at", mapping, tz)
    ended = _when(frame, given, "ended_at", mapping, tz) if "ended_at" in raw else None
    kind = _mapped(raw["kind"], given.values)
    reasons = [
        _unreadable(raw["started_at"], started, "started_at", required=True),
        pl.when(~kind.is_in(sorted(WAITING_BLOCKERS))).then(
            pl.format("kind: '{}' is not waiting on others", raw["kind"])
        ),
    ]
    if ended is not None:
        reasons += [
            _unreadable(raw["ended_at"], ended, "ended_at", required=False),
            pl.when(ended < started).then(pl.lit("ended_at: before started_at")),
        ]
    values = frame.select(
        "row",
        raw["reference"].cast(pl.String).alias("reference"),
        kind.alias("kind"),
        started.alias("started_at"),
        (ended if ended is not None else pl.lit(None, UTC_TIME)).alias("ended_at"),
        pl.concat_list(reasons).list.drop_nulls().alias("_reasons"),
    )
    return _joined(frame, values, references, ("referral_id", "kind", "started_at", "ended_at"))


def states_parse(frame, *, given: HistoryFile, mapping: Mapping, references, tz) -> History:
    """The state intervals facts_build takes: received from arrival, then each change until the
    next (the last one open)."""
    raw = _raw(frame, given, STATE_FIELDS[:3], references)
    started = _when(frame, given, "started_at", mapping, tz)
    state = _mapped(raw["state"], given.values).str.to_lowercase()
    came_from = (
        _mapped(raw["from_state"], given.values).str.to_lowercase()
        if "from_state" in raw
        else pl.lit(None, pl.String)
    )
    booked_for = (
        _when(frame, given, "appointment_at", mapping, tz)
        if "appointment_at" in raw
        else pl.lit(None, UTC_TIME)
    )
    values = frame.select(
        "row",
        raw["reference"].cast(pl.String).alias("reference"),
        state.alias("state"),
        started.alias("started_at"),
        came_from.alias("from_state"),
        booked_for.alias("appointment_at"),
        pl.concat_list(
            _unreadable(raw["started_at"], started, "started_at", required=True),
            pl.when(~state.is_in(CHOICES["state"])).then(
                pl.format("state: '{}' is not one of ours", raw["state"])
            ),
        )
        .list.drop_nulls()
        .alias("_reasons"),
    )
    keep = ("referral_id", "state", "started_at", "row", "from_state", "appointment_at")
    history = _joined(frame, values, references, keep)
    arrived = references.select(
        "referral_id", state=pl.lit("received"), started_at="received_at", row=pl.lit(0, pl.UInt32)
    )
    changes = history.intervals.cast({"row": pl.UInt32})
    intervals = (
        pl.concat([arrived, changes.select("referral_id", "state", "started_at", "row")])
        .sort("referral_id", "started_at", "row")
        .with_columns(ended_at=pl.col("started_at").shift(-1).over("referral_id"))
        .drop("row")
    )
    return History(
        intervals=intervals,
        quarantine=history.quarantine,
        rows=history.rows,
        bookings=_bookings(changes) if "from_state" in raw else None,
    )


def _bookings(changes: pl.DataFrame) -> pl.DataFrame:
    """Bookings made from accepted (with the appointment each was for) and appointments cancelled
    back to accepted: the days-to-appointment clock stops and reopens on them (facts_build)."""
    booked = (pl.col("from_state") == "accepted") & (pl.col("state") == "scheduled")
    cancelled = (pl.col("from_state") == "scheduled") & (pl.col("state") == "accepted")
    return changes.filter(booked | cancelled).select(
        "referral_id",
        at="started_at",
        cancelled=pl.col("from_state") == "scheduled",
        appointment_at="appointment_at",
    )


def _raw(frame: pl.DataFrame, given: HistoryFile, needed, references) -> dict[str, pl.Expr]:
    missing = [f for f in needed if f not in given.columns]
    if missing:
        raise AuditError(f"{given.path.name}: map the column of {', '.join(missing)}.")
    absent = sorted({c for c in given.columns.values() if c not in frame.columns})
    if absent:
        raise AuditError(f"Columns not in {given.path.name}: {', '.join(absent)}.")
    if references["reference"].null_count() == references.height:
        raise AuditError(f"{given.path.name} needs the main file's referral ids: map reference.")
    return {field: pl.col(column) for field, column in given.columns.items()}


def _when(frame, given: HistoryFile, field: str, mapping: Mapping, tz: ZoneInfo) -> pl.Expr:
    column = given.columns[field]
    return _time(pl.col(column), frame.schema[column], mapping.formats, tz)


def _unreadable(raw: pl.Expr, parsed: pl.Expr, name: str, *, required: bool) -> pl.Expr:
    bad = (raw.is_null() if required else pl.lit(False)) | (raw.is_not_null() & parsed.is_null())
    return pl.when(bad).then(pl.format(f"{name}: '{{}}' is not a date and time", raw))


def _joined(frame, values: pl.DataFrame, references: pl.DataFrame, keep) -> History:
    values = values.join(references.drop("received_at"), on="reference", how="left")
    values = values.with_columns(
        pl.when(pl.col("referral_id").is_null())
        .then(pl.col("_reasons").list.concat(pl.lit(["no referral with this id was read"])))
        .otherwise("_reasons")
        .alias("_reasons")
    )
    bad = values["_reasons"].list.len() > 0
    quarantine = pl.concat(
        [
            values.select("row", pl.col("_reasons").list.join("; ").alias("reasons")).filter(bad),
            frame.filter(bad).drop("row"),
        ],
        how="horizontal",
    )
    return History(
        intervals=values.filter(~bad).select(keep), quarantine=quarantine, rows=frame.height
    )
