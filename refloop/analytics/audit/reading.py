"""Another system's export as a frame of text columns keyed by its own column names, plus `row`:
the row number a person finds in the file (the header is row 1). CSV and Parquet are read by
Polars in one go; Excel through openpyxl's read-only reader (a sheet holds at most a million rows).
Rows with no value at all are left out (they are blank lines, not referrals)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from refloop.analytics.audit import AuditError

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}


def file_read(path: str | Path) -> pl.DataFrame:
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AuditError(
            f"{path.name}: give a CSV (.csv), Excel (.xlsx) or Parquet (.parquet) file."
        )
    if not path.is_file():
        raise AuditError(f"{path}: no such file.")
    try:
        frame = {"csv": _csv, "xlsx": _xlsx, "parquet": _parquet}[fmt](path)
    except AuditError:
        raise
    except Exception as error:  # a damaged file: polars, zipfile and pyarrow raise their own
        raise AuditError(f"{path.name} cannot be read as {fmt}: {error}") from None
    # Our own columns in the quarantine file are "row" and "reasons": theirs keep their data.
    frame = frame.rename({c: f"{c} (file)" for c in ("row", "reasons") if c in frame.columns})
    frame = frame.with_row_index("row", offset=2)
    values = [c for c in frame.columns if c != "row"]
    if not values:
        return frame
    return frame.filter(pl.any_horizontal(pl.col(values).is_not_null()))


def _csv(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    # An empty cell is no value; surrounding spaces are not part of it.
    return frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns}).with_columns(
        pl.col(pl.String).str.strip_chars().replace("", None)
    )


def _parquet(path: Path) -> pl.DataFrame:
    frame = pl.read_parquet(path)
    # Times keep their type (and zone); everything else is read as its text.
    keep = (pl.Datetime, pl.Date)
    return frame.with_columns(
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None)
        for c, dtype in frame.schema.items()
        if not isinstance(dtype, keep)
    )


def _xlsx(path: Path) -> pl.DataFrame:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:
        raise AuditError(f"{path.name} is not an Excel workbook (.xlsx): {error}") from None
    try:
        cells = book.worksheets[0].iter_rows(values_only=True)
        header = _distinct([_text(v) or f"column {i + 1}" for i, v in enumerate(next(cells, ()))])
        columns: list[list] = [[] for _ in header]
        for values in cells:
            for i, column in enumerate(columns):
                column.append(_text(values[i]) if i < len(values) else None)
    finally:
        book.close()
    return pl.DataFrame(
        dict(zip(header, columns, strict=True)), schema=dict.fromkeys(header, pl.String)
    )


def _distinct(header: list[str]) -> list[str]:
    """A name that repeats gets the suffix Polars gives it in a CSV ("Date_duplicated_0"), so
    each column keeps its data (a dict of columns would keep only the last)."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        if name in seen:
            out.append(f"{name}_duplicated_{seen[name]}")
            seen[name] += 1
        else:
            out.append(name)
            seen[name] = 0
    return out


def _text(value) -> str | None:
    """A cell as the text a CSV export would have had (Excel times are local wall-clock)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")  # to the microsecond, as the workbook keeps it
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None
