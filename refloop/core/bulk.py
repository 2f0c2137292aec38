"""Rows in bulk: many rows of one model in one statement per table, for the demo load and
referrals_receive_bulk. PostgreSQL gets one COPY per table and batch, fed row by row so memory
stays flat; psycopg adapts the values itself (aware datetimes, dates, booleans, None as NULL), and
JSON goes as text. SQLite gets `executemany` in batches, with Django's own value adaptation.
Callers hand out the ids themselves (with_id) where rows refer to each other."""

from __future__ import annotations

import json
import operator

from django.core.exceptions import EmptyResultSet
from django.db import connection, models

BATCH = 2000  # rows per statement on SQLite


class RowWriter:
    """Inserts rows given as dicts (or model instances) keyed by attname, in column order."""

    def __init__(self):
        self._plans: dict[tuple, tuple] = {}
        self._copy = connection.vendor == "postgresql"
        self._empty_json = "{}" if self._copy else connection.ops.adapt_json_value({}, None)

    def insert(self, cursor, model, rows, *, with_id: bool = False, objects: bool = False):
        if not rows:
            return
        sql, names, adapters = self._plan(model, with_id)
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
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    value = get(row)
                    if adapters:
                        value = list(value)
                        for index, adapt in adapters:
                            value[index] = adapt(value[index])
                    copy.write_row(value)
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

    def _plan(self, model, with_id: bool):
        key = (model, with_id)
        if key not in self._plans:
            fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
            quote = connection.ops.quote_name
            table = quote(model._meta.db_table)
            columns = ", ".join(quote(f.column) for f in fields)
            if self._copy:
                sql = f"COPY {table} ({columns}) FROM STDIN"
            else:
                sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
            adapters = [
                (i, adapt) for i, f in enumerate(fields) if (adapt := self._adapter(f)) is not None
            ]
            self._plans[key] = (sql, [f.attname for f in fields], adapters)
        return self._plans[key]

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
