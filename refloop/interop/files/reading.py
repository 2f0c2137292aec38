"""Rows out of a CSV or Excel file, as text keyed by the file's own column names, streamed: a
million-row file is never held in memory. Line numbers are the file's (the header is line 1), so
staff can find a quarantined row in the file they have."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from refloop.core.errors import DomainError
from refloop.core.text import NUL, nul_shown

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx"}


def file_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        raise DomainError("Upload a CSV (.csv) or Excel (.xlsx) file.", code="file_format")
    return FORMATS[suffix]


def rows_read(path: str, fmt: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(header, rows as (line number, {column: text}))."""
    return _csv_rows(path) if fmt == "csv" else _xlsx_rows(path)


def rows_count(path: str, fmt: str) -> int:
    """The rows rows_read yields (blank ones skipped), counted without building them."""
    if fmt != "csv":
        _, rows = rows_read(path, fmt)
        return sum(1 for _ in rows)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)  # the header
        return sum(1 for raw in reader if "".join(raw).strip())


def _csv_rows(path: str):
    handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115  (closed by the generator)
    reader = csv.reader(handle)
    header = [nul_shown(h).strip() for h in next(reader, [])]

    def rows():
        width = len(header)
        with handle:
            for raw in reader:
                # Blank: no cell with anything but spaces (joined and stripped in C, per row).
                joined = "".join(raw)
                if not joined.strip():
                    continue
                if NUL in joined:
                    # Kept visible (the row is quarantined with it): PostgreSQL stores no NUL.
                    raw = [nul_shown(cell) for cell in raw]
                names = header
                if len(raw) > width:
                    # A row longer than the header keeps its extra cells (nothing dropped).
                    names = header + [f"column {i + 1}" for i in range(width, len(raw))]
                yield reader.line_num, dict(zip(names, raw, strict=False))

    return header, rows()


def _xlsx_rows(path: str):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise DomainError("That file is not an Excel workbook (.xlsx).", code="xlsx") from error
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    header = [_text(v) for v in next(cells, ())]

    def rows():
        try:
            for number, values in enumerate(cells, start=2):
                if not any(v not in (None, "") for v in values):
                    continue
                names = header + [f"column {i + 1}" for i in range(len(header), len(values))]
                yield number, {n: _text(v) for n, v in zip(names, values, strict=False)}
        finally:
            book.close()

    return header, rows()


def _text(value) -> str:
    """A cell as the text a CSV export would have had."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
