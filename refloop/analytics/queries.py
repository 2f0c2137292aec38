"""Reading the fact table: `facts_frame` is the one way pages, the monthly review and the
scheduler's reports get facts (a FACT_SCHEMA frame; the metrics take it from there).

PostgreSQL streams the rows with `COPY (SELECT ...) TO STDOUT` as CSV straight into Polars' CSV
reader (times as integer microseconds, booleans as 0/1, so nothing is parsed twice); a million
rows come across in seconds instead of the minute Django's row objects would take. SQLite is
read with a plain cursor (its converters give naive UTC datetimes and booleans).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import polars as pl
from django.db import connection
from django.db.models import F, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from refloop.analytics.facts import FACT_SCHEMA, UTC_TIME
from refloop.analytics.models import ReferralFact

# A big read on PostgreSQL is split into ranges of referral ids read at once, each COPY in its own
# server process: the server's formatting of a million rows is the slow part and it uses one core
# per connection (two readers took a million rows from 5.2 s to 2.8 s on a 2-core machine).
READERS = min(4, os.cpu_count() or 1)
PART_IDS = 100_000  # fewer ids than this: one reader

# How PostgreSQL writes a timestamptz in a UTC session ("2025-03-03 14:00:00.5+00").
PG_TIME = "%Y-%m-%d %H:%M:%S%.f%#z"
# How Django keeps a datetime in SQLite (naive UTC, a fraction only when there is one).
SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.f"


def facts_frame(
    *,
    received_since: dt.date | None = None,
    active_since: dt.date | None = None,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The fact rows (FACT_SCHEMA), all or those received on or after a local date, or (with
    `active_since`) those received on or after it or not ended before it (the monthly review's
    window: see analytics.review.review_window).

    `columns`: only these of FACT_SCHEMA's columns (in FACT_SCHEMA's order), for a reader that
    needs a few of its 56 over many rows (the read's time grows with the values sent)."""
    schema = FACT_SCHEMA
    if columns is not None:
        unknown = set(columns) - set(FACT_SCHEMA)
        if unknown:
            raise ValueError(f"not fact columns: {sorted(unknown)}")
        schema = {name: dtype for name, dtype in FACT_SCHEMA.items() if name in set(columns)}
    since = None
    if received_since or active_since:
        day = received_since or active_since
        since = (
            dt.datetime.combine(day, dt.time.min, timezone.get_current_timezone()),
            active_since is not None,
        )
    if connection.vendor == "postgresql":
        return _postgresql(since, schema)
    return _plain(since, schema)


def frame_of(rows: QuerySet, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The queryset's values of `schema`'s lookups as a Polars frame with that schema (times as
    UTC_TIME), without Django's per-value converters: COPY on PostgreSQL; on SQLite a plain cursor
    with the times read as text (sqlite3 would otherwise parse each one in Python). For reads of
    many rows (the fact builder's sources)."""
    times = [name for name, dtype in schema.items() if dtype == UTC_TIME]
    if connection.vendor == "postgresql":
        # COPY writes booleans as t and f, which Polars' CSV reader does not take as booleans.
        flags = [name for name, dtype in schema.items() if dtype == pl.Boolean()]
        sql, params = rows.values_list(*schema).query.sql_with_params()
        raw = {
            name: pl.String if name in times or name in flags else dtype
            for name, dtype in schema.items()
        }
        data = _copy_out(sql, params)
        if not data:
            return pl.DataFrame(schema=schema)
        frame = pl.read_csv(data, has_header=False, new_columns=list(raw), schema=raw)
        return frame.with_columns(
            pl.col(times).str.to_datetime(PG_TIME, time_unit="us", time_zone="UTC"),
            *(pl.col(name).replace_strict({"t": True, "f": False}, default=None,
                                          return_dtype=pl.Boolean) for name in flags),
        )  # fmt: skip
    values = [Cast(name, TextField()) if name in times else F(name) for name in schema]
    sql, params = rows.values_list(*values).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    raw = {name: pl.String if name in times else dtype for name, dtype in schema.items()}
    frame = pl.DataFrame(found, schema=raw, orient="row")
    return frame.with_columns(
        pl.col(times).str.to_datetime(SQLITE_TIME, time_unit="us", time_zone="UTC")
    )


def _copy_out(sql: str, params) -> bytes:
    blocks = []
    statement = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params or None) as copy:
        for block in copy:
            blocks.append(block)
    return b"".join(blocks)


def _columns(schema: dict) -> dict[str, str]:
    """The schema's names -> the table's column names."""
    fields = {f.attname: f.column for f in ReferralFact._meta.concrete_fields}
    return {name: fields[name] for name in schema}


def _where(since: tuple[dt.datetime, bool] | None) -> tuple[str, list]:
    if since is None:
        return "", []
    moment, active = since
    quote = connection.ops.quote_name
    received = quote(ReferralFact._meta.get_field("received_at").column)
    if not active:
        return f" WHERE {received} >= %s", [moment]
    ended = quote(ReferralFact._meta.get_field("ended_at").column)
    return (
        f" WHERE ({received} >= %s OR {ended} IS NULL OR {ended} >= %s)",
        [moment, moment],
    )


def _postgresql(since, schema: dict) -> pl.DataFrame:
    quote = connection.ops.quote_name
    selected, raw = [], {}
    for name, column in _columns(schema).items():
        dtype, column = schema[name], quote(column)
        if dtype == UTC_TIME:
            selected.append(f"(extract(epoch FROM {column}) * 1000000)::bigint")
            raw[name] = pl.Int64
        elif dtype == pl.Boolean():
            selected.append(f"{column}::int")
            raw[name] = pl.Int8
        else:
            selected.append(column)
            raw[name] = dtype
    where, params = _where(since)
    table = quote(ReferralFact._meta.db_table)
    sql = f"SELECT {', '.join(selected)} FROM {table}{where}"
    parts = _parts(table, where, params)
    if len(parts) == 1:
        frames = [_csv_frame(_copy_out(sql, params), raw)]
    else:
        key = quote(ReferralFact._meta.pk.column)
        joiner = " AND " if where else " WHERE "
        sql += f"{joiner}{key} BETWEEN %s AND %s"
        with ThreadPoolExecutor(len(parts)) as pool:
            frames = list(pool.map(lambda part: _part_read(sql, [*params, *part], raw), parts))
    frames = [frame for frame in frames if frame is not None]
    if not frames:
        return pl.DataFrame(schema=schema)
    return _typed(pl.concat(frames), schema)


def _parts(table: str, where: str, params: list) -> list[tuple[int, int]]:
    """Ranges of referral ids to read at once: one per reader for a big read made outside a
    transaction (other connections cannot see a transaction's rows), else one."""
    if connection.in_atomic_block or READERS == 1:
        return [(0, 0)]
    key = connection.ops.quote_name(ReferralFact._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min({key}), max({key}) FROM {table}{where}", params)
        low, high = cursor.fetchone()
    if low is None or high - low < PART_IDS:
        return [(0, 0)]
    step = (high - low) // READERS + 1
    return [(start, min(start + step - 1, high)) for start in range(low, high + 1, step)]


def _part_read(sql: str, params: list, raw: dict) -> pl.DataFrame | None:
    """One part, on this thread's own connection (closed after: the pool's threads end)."""
    try:
        return _csv_frame(_copy_out(sql, params), raw)
    finally:
        connection.close()


def _csv_frame(data: bytes, raw: dict) -> pl.DataFrame | None:
    if not data:
        return None
    return pl.read_csv(data, has_header=False, new_columns=list(raw), schema=raw)


def _plain(since, schema: dict) -> pl.DataFrame:
    quote = connection.ops.quote_name
    columns = _columns(schema)
    where, params = _where(since)
    if params:
        params = [connection.ops.adapt_datetimefield_value(p) for p in params]
    sql = (
        f"SELECT {', '.join(quote(c) for c in columns.values())} "
        f"FROM {quote(ReferralFact._meta.db_table)}{where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    raw = {
        name: pl.Datetime("us") if dtype == UTC_TIME else dtype for name, dtype in schema.items()
    }
    return _typed(pl.DataFrame(rows, schema=raw, orient="row"), schema)


def _typed(frame: pl.DataFrame, schema: dict) -> pl.DataFrame:
    def typed(name, dtype):
        column = pl.col(name)
        if dtype == UTC_TIME:
            return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        if dtype == pl.String():
            return column.fill_null("")
        return column.cast(dtype)

    return frame.select(typed(n, d).alias(n) for n, d in schema.items())


def outbound_frame() -> pl.DataFrame | None:
    """The imported outbound orders (metrics.leakage.OUTBOUND_SCHEMA), or None when none were
    imported: leakage outside the network is then "not measured", never zero."""
    from refloop.analytics.metrics.leakage import OUTBOUND_SCHEMA
    from refloop.analytics.models import OutboundOrder

    orders = frame_of(OutboundOrder.objects.order_by("pk"), OUTBOUND_SCHEMA)
    return orders if orders.height else None
