"""Outbound orders: specialist orders the health system's own clinicians placed, exported from
its EHR, for leakage's second number (metrics.leakage: the share performed outside the network).

A file of orders is read as any export (audit.reading), its columns named by a mapping, each row
checked: a row without an order id, a readable order time or a service line, or with an
in-network answer that is neither yes nor no, is left out with its reasons (kept for correction,
never silently dropped). Django-free: the app's import and a script read files the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.metrics.leakage import OUTBOUND_SCHEMA

FIELDS = tuple(OUTBOUND_SCHEMA)
REQUIRED = ("order_id", "ordered_at", "service_line")
YES = frozenset({"yes", "y", "true", "1", "in", "in network", "in-network", "internal"})
NO = frozenset({"no", "n", "false", "0", "out", "outside", "out of network", "out-of-network",
                "external"})  # fmt: skip
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%m/%d/%Y %H:%M", "%m/%d/%Y")


@dataclass(frozen=True)
class BadRow:
    row: int  # 1 = the first row after the header
    reasons: tuple[str, ...]
    values: dict


def outbound_parse(
    raw: pl.DataFrame,
    *,
    columns: dict[str, str] | None = None,
    tz: ZoneInfo,
    time_formats: tuple[str, ...] = TIME_FORMATS,
) -> tuple[pl.DataFrame, tuple[BadRow, ...]]:
    """The file's rows as OUTBOUND_SCHEMA, and the rows left out with their reasons. `columns`:
    our field -> their column (by default, their columns carry our names)."""
    columns = {field: field for field in FIELDS} | dict(columns or {})
    missing = [f"{field} ({columns[field]})" for field in REQUIRED if columns[field] not in raw]
    if missing:
        raise ValueError(f"The file has no column for {', '.join(missing)}.")
    good, bad = [], []
    for number, values in enumerate(raw.iter_rows(named=True), start=1):
        row, reasons = _row(values, columns, tz, time_formats)
        if reasons:
            bad.append(BadRow(row=number, reasons=tuple(reasons), values=values))
        else:
            good.append(row)
    return pl.DataFrame(good, schema=OUTBOUND_SCHEMA), tuple(bad)


def _row(values: dict, columns: dict, tz: ZoneInfo, formats) -> tuple[dict, list[str]]:
    def text(field: str) -> str:
        value = values.get(columns[field])
        return "" if value is None else str(value).strip()

    reasons = [f"no {field} ({columns[field]})" for field in REQUIRED if not text(field)]
    ordered_at = _time(text("ordered_at"), tz, formats) if text("ordered_at") else None
    if text("ordered_at") and ordered_at is None:
        reasons.append(f"ordered_at ({columns['ordered_at']}): {text('ordered_at')!r} is no time")
    answer = text("performed_in_network").lower()
    if answer and answer not in YES | NO:
        reasons.append(
            f"performed_in_network ({columns['performed_in_network']}): {answer!r} is not yes or no"
        )
    row = {
        "order_id": text("order_id"),
        "patient_key": text("patient_key"),
        "ordered_at": ordered_at,
        "service_line": text("service_line"),
        "performed_in_network": (answer in YES) if answer in YES | NO else None,
        "performer": text("performer"),
    }
    return row, reasons


def _time(text: str, tz: ZoneInfo, formats) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for fmt in formats:
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.UTC)
