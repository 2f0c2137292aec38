"""A dataset written as CSV, Excel or Parquet, streamed: memory stays flat for a million rows.

CSV goes out line by line as it is made; Excel (openpyxl's write-only workbook) and Parquet
(pyarrow, in row groups) are written to an anonymous temporary file first, because both formats
are finished by an index at the end, and that file is then streamed out and deleted on close.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from itertools import islice

from django.utils import timezone

from refloop.interop.files.queries import Dataset

FORMATS = {"csv": "CSV", "xlsx": "Excel (.xlsx)", "parquet": "Parquet"}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
ROW_GROUP = 50_000
# Text a spreadsheet would run as a formula (OWASP "CSV injection"): senders write our reasons,
# names and notes, the public e-referral form included.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """csv.writer writes into this and we hand the line on."""

    def write(self, value: str) -> str:
        return value


def csv_lines(dataset: Dataset) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow([c.name for c in dataset.columns])
    for row in dataset.rows:
        yield writer.writerow([_csv_text(v) for v in row])


def xlsx_file(dataset: Dataset):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    def cell(value):
        # openpyxl stores any text starting with "=" as a formula: keep text as text.
        if isinstance(value, str) and value.startswith("="):
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            return text
        return _local(value)  # Excel has no time zones: times are written in the practice's

    book = Workbook(write_only=True)
    sheet = book.create_sheet(dataset.name)
    sheet.append([c.name for c in dataset.columns])
    for row in dataset.rows:
        sheet.append([cell(v) for v in row])
    handle = tempfile.TemporaryFile()  # noqa: SIM115  (the response closes it)
    book.save(handle)
    handle.seek(0)
    return handle


def parquet_file(dataset: Dataset):
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"str": pa.string(), "int": pa.int64(), "time": pa.timestamp("us", tz="UTC"),
             "date": pa.date32()}  # fmt: skip
    schema = pa.schema([(c.name, types[c.kind]) for c in dataset.columns])
    handle = tempfile.TemporaryFile()  # noqa: SIM115  (the response closes it)
    with pq.ParquetWriter(handle, schema) as writer:
        rows = iter(dataset.rows)
        while group := list(islice(rows, ROW_GROUP)):
            arrays = [
                pa.array([_parquet(r[i], c.kind) for r in group], type=types[c.kind])
                for i, c in enumerate(dataset.columns)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    handle.seek(0)
    return handle


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _csv_text(value) -> str:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # shown as typed, never evaluated
    return _text(value)


def _local(value):
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _parquet(value, kind: str):
    if value is None:
        return None
    if kind == "str" and not isinstance(value, str):
        return _text(value)
    return value
