"""Waiting on others, from a second file: one row per blocker that paused the clocks (missing
records, authorization pending, the referrer's answer), so net durations can be worked out
(`--waiting FILE`). Its columns (our field = their column) are `reference` (the referral's id as
in the main file), `kind`, `started_at` and `ended_at` (empty while still open); kinds are ours
(facts.WAITING_BLOCKERS) or mapped with `--waiting-value kind:Theirs=ours`.

A row that cannot be used (no such referral among the rows read, a kind that is not waiting, a
time that cannot be read) is quarantined with its reasons like a referral row."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.audit import AuditError
from refloop.analytics.audit.mapping import Mapping
from refloop.analytics.audit.milestones import _mapped, _time
from refloop.analytics.facts import UTC_TIME, WAITING_BLOCKERS

FIELDS = ("reference", "kind", "started_at", "ended_at")
REFLOOP_WAITING = {"reference": "referral", "kind": "kind", "started_at": "started_at",
                   "ended_at": "ended_at"}  # fmt: skip


@dataclass(frozen=True)
class Waiting:
    intervals: pl.DataFrame  # referral_id, kind, started_at, ended_at (facts_build's waiting)
    quarantine: pl.DataFrame  # row, reasons, then the row as given
    rows: int


def waiting_columns(texts: list[str], *, base: dict[str, str] | None = None) -> dict[str, str]:
    columns = dict(base or {})
    for text in texts:
        name, sep, column = text.partition("=")
        if not sep or name.strip() not in FIELDS:
            raise AuditError(
                f"--waiting-column {text!r}: write it as field='Their column', "
                f"a field of {', '.join(FIELDS)}."
            )
        columns[name.strip()] = column.strip()
    return columns


def waiting_parse(
    frame: pl.DataFrame,
    *,
    columns: dict[str, str],
    kinds: dict[str, str],
    mapping: Mapping,
    references: pl.DataFrame,
    tz: ZoneInfo,
) -> Waiting:
    missing = [f for f in FIELDS if f not in columns and f != "ended_at"]
    if missing:
        raise AuditError(f"The waiting file needs --waiting-column for {', '.join(missing)}.")
    absent = sorted({c for c in columns.values() if c not in frame.columns})
    if absent:
        raise AuditError(f"Columns not in the waiting file: {', '.join(absent)}.")
    if references["reference"].null_count() == references.height:
        raise AuditError("A waiting file needs the main file's referral ids: map reference.")
    raw = {f: pl.col(c) for f, c in columns.items()}
    started = _time(raw["started_at"], frame.schema[columns["started_at"]], mapping.formats, tz)
    ended = (
        _time(raw["ended_at"], frame.schema[columns["ended_at"]], mapping.formats, tz)
        if "ended_at" in raw
        else pl.lit(None, UTC_TIME)
    )
    kind = _mapped(raw["kind"], kinds)
    values = frame.select(
        "row",
        raw["reference"].cast(pl.String).alias("reference"),
        kind.alias("kind"),
        started.alias("started_at"),
        ended.alias("ended_at"),
        pl.concat_list(
            pl.when(raw["started_at"].is_null() | started.is_null()).then(
                pl.format("started_at: '{}' is not a date and time", raw["started_at"])
            ),
            pl.when(~kind.is_in(sorted(WAITING_BLOCKERS))).then(
                pl.format("kind: '{}' is not waiting on others", raw["kind"])
            ),
            pl.when(ended.is_null() & raw.get("ended_at", pl.lit(None)).is_not_null()).then(
                pl.format("ended_at: '{}' is not a date and time", raw.get("ended_at", pl.lit("")))
            ),
            pl.when(ended < started).then(pl.lit("ended_at: before started_at")),
        )
        .list.drop_nulls()
        .alias("_reasons"),
    ).join(references, on="reference", how="left")
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
    intervals = values.filter(~bad).select("referral_id", "kind", "started_at", "ended_at")
    return Waiting(intervals=intervals, quarantine=quarantine, rows=frame.height)
