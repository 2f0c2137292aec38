"""Hand-built fact rows for metric tests: give only the columns a case is about."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

from refloop.analytics.facts import FACT_SCHEMA, TIME_COLUMNS, facts_conform

NEW_YORK = ZoneInfo("America/New_York")

DEFAULTS = {
    "patient_key": "p",
    "service_line": "Cardiology",
    "priority": "routine",
    "channel": "fax",
    "referrer_key": "",
    "referrer_name": "",
    "practice": "",
    "visit_type": "",
    "state": "received",
    "decision": "",
    "outcome_reason": "",
    "no_shows": 0,
}


def at(text: str, tz=NEW_YORK) -> dt.datetime:
    """A local wall-clock time ("2025-03-07 09:30") as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(dt.UTC)


def facts(*rows: dict) -> pl.DataFrame:
    """A fact frame with FACT_SCHEMA; times may be given as local text ("2025-03-07 09:30")."""
    full = []
    for n, row in enumerate(rows, start=1):
        row = {"referral_id": n, **DEFAULTS, **row}
        for name in TIME_COLUMNS:
            if isinstance(row.get(name), str):
                row[name] = at(row[name])
        unknown = set(row) - set(FACT_SCHEMA)
        assert not unknown, f"not fact columns: {unknown}"
        full.append(row)
    if not full:
        return facts_conform(pl.DataFrame())
    columns = set().union(*full)
    return facts_conform(
        pl.DataFrame(full, schema={k: FACT_SCHEMA[k] for k in FACT_SCHEMA if k in columns})
    )
