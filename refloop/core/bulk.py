"""Rows in bulk: many rows of one model in one statement per table, for the demo load and
referrals_receive_bulk. PostgreSQL gets one COPY per table and batch, fed row by row so memory
stays flat; psycopg adapts the values itself (aware datetimes, dates, booleans, None as NULL), and
JSON goes as text. SQLite gets `executemany` in batches, with Django's own value adaptation.
Callers hand out the ids themselves (with_id) where rows refer to each other.

`binary=True` sends PostgreSQL COPY's binary format, each column dumped by the type the table
declares (read once from the catalog): a timestamp goes as eight bytes instead of text that
Python formats and the server parses again, about a third of the CPU per row on both sides. The
values must then be of the column's own Python type (no text standing in for a number); the
bulk receive's rows are."""

from __future__ import annotations

import functools
import json
import operator

from django.core.exceptions import EmptyResultSet
from django.db import connection, models
from psycopg.types.json import set_json_dumps

BATCH = 2000  # rows per statement on SQLite


class RowWriter:
    """Inserts rows given as dicts (or model instances) keyed by attname, in column order."""

    def __init__(self, *, binary: bool = False):
        self._plans: dict[tuple, tuple] = {}
        self._copy = connection.vendor == "postgresql"
        self._binary = binary and self._copy
        self._empty_json = "{}" if self._copy else connection.ops.adapt_json_value({}, None)

    def insert(self, cursor, model, rows, *, with_id: bool = False, objects: bool = False):
        if not rows:
            return
        sql, names, adapters, types = self._plan(cursor, model, with_id)
        if objects:
            get = lambda row: tuple(getattr(row, name) for name in names)  # noqa: E731
        else:
            # A dict row names what the story set; the rest take the field's default, as
            # Model(**fields) would. Merged and picked in C: a million rows per table.
            defaults = self._defaults(model, names)
            pick = operator.itemgetter(*names)
            get = lambda row: pick({**defaults, **row})  # noqa: E731
        if self._copy:
            # cursor.cursor is psycopg's own cursor, under Django's wrapper: same transaction.
            if types:
                # Before the copy: it takes its dumpers from the cursor's adapters.
                set_json_dumps(_json_text, context=cursor.cursor)
            with cursor.cursor.copy(sql) as copy:
                write = copy.write_row
                if types:
                    copy.set_types(types)
                if not adapters:
                    for row in rows:
                        write(get(row))
                    return
                for row in rows:
                    value = list(get(row))
                    for index, adapt in adapters:
                        value[index] = adapt(value[index])
                    write(value)
            return
        values = []
        for row in rows:
            value = list(get(row))
            for index, adapt in adapters:
                value[index] = adapt(value[index])
            values.append(value)
        for start in range(0, len(values), BATCH):
            cursor.executemany(sql, values[start : start + BATCH])

    def _defaults(self, model, names):
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        return {name: by_attname[name].get_default() for name in names}

    def _plan(self, cursor, model, with_id: bool):
        key = (model, with_id)
        if key not in self._plans:
            fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
            quote = connection.ops.quote_name
            table = quote(model._meta.db_table)
            columns = ", ".join(quote(f.column) for f in fields)
            types = None
            if self._binary:
                sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
                types = self._column_types(cursor, model, fields)
                adapters = []  # psycopg dumps each value by its column's type, JSON included
            else:
                if self._copy:
                    sql = f"COPY {table} ({columns}) FROM STDIN"
                else:
                    marks = ", ".join(["%s"] * len(fields))
                    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
                adapters = [
                    (i, adapt)
                    for i, f in enumerate(fields)
                    if (adapt := self._adapter(f)) is not None
                ]
            self._plans[key] = (sql, [f.attname for f in fields], adapters, types)
        return self._plans[key]

    def _column_types(self, cursor, model, fields) -> list[int]:
        """The type oid of each column, as the table declares it (binary COPY casts nothing)."""
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [model._meta.db_table],
        )
        oids = dict(cursor.fetchall())
        return [oids[f.column] for f in fields]

    def _adapter(self, field):
        ops = connection.ops
        if isinstance(field, models.JSONField):
            empty = self._empty_json
            if self._copy:
                # COPY's text format takes the JSON text as is; json.dumps is what Django sends.
                return lambda v: empty if not v and isinstance(v, dict) else json.dumps(v)
            return lambda v: (
                empty if not v and isinstance(v, dict) else ops.adapt_json_value(v, None)
            )
        if self._copy:
            return None  # psycopg adapts dates and aware datetimes itself
        if isinstance(field, models.DateTimeField):
            return lambda v: None if v is None else ops.adapt_datetimefield_value(v)
        if isinstance(field, models.DateField):
            return lambda v: None if v is None else ops.adapt_datefield_value(v)
        return None


def _json_text(value) -> str:
    """json.dumps, with the values a bulk write repeats on most rows answered from memory: the
    empty details of nearly every event, a referral's few diagnosis codes."""
    if not value:
        return "{}" if isinstance(value, dict) else json.dumps(value)
    if type(value) is list and all(type(v) is str for v in value):
        return _json_strings(tuple(value))
    return json.dumps(value)


@functools.lru_cache(maxsize=4096)
def _json_strings(values: tuple[str, ...]) -> str:
    return json.dumps(list(values))


class AnyOf(models.Lookup):
    """`field__any_of=[...]`: membership in a batch's keys. On PostgreSQL one array parameter
    (`= ANY(%s)`), where IN would send thousands of parameters for the driver to parse and the
    server to plan; IN elsewhere."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=False) for v in self.rhs]
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)  # keys of another table, by id
