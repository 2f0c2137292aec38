"""`refloop audit`: another system's file read with a mapping; bad rows quarantined."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from refloop.analytics.audit import AuditError
from refloop.analytics.audit.mapping import (
    CHOICES,
    REFLOOP_EXPORT,
    Mapping,
    mapping_load,
    mapping_merge,
)
from refloop.analytics.audit.milestones import milestones_parse
from refloop.analytics.audit.reading import file_read
from refloop.analytics.facts import MILESTONE_COLUMNS

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC

THEIRS = """\
Ref,Date Received,Dept,How,Status,Decided,Seen,Report
A1,03/02/2026 09:00,Cardio,Fax,Closed,03/02/2026 12:00,03/20/2026 10:00,03/23/2026 10:00
A2,03/03/2026 09:00,Cardio,Carrier pigeon,Open,,,
A3,,Cardio,Fax,Open,,,

A4,03/04/2026 09:00,Derm,E-mail,Declined,03/01/2026 09:00,,
A5,03/05/2026 09:00,Derm,Phone,Open,3/5/26,,
A6,11/01/2026 01:30,Derm,phone,Declined,11/02/2026 09:00,,
A7,2026-03-08,Derm,Fax,,,,
"""
COLUMNS = [
    "reference=Ref",
    "received_at=Date Received",
    "service_line=Dept",
    "channel=How",
    "state=Status",
    "decided_at=Decided",
    "seen_at=Seen",
    "report_sent_at=Report",
]
VALUES = ["channel:E-mail=email", "state:Open=received"]


def _parse(tmp_path, text=THEIRS, name="theirs.csv", mapping=None):
    path = tmp_path / name
    path.write_text(text)
    mapping = mapping or mapping_merge(Mapping(), columns=COLUMNS, values=VALUES)
    return milestones_parse(file_read(path), mapping=mapping, tz=NEW_YORK)


def test_it_reads_rows_with_a_command_line_mapping(tmp_path):
    parsed = _parse(tmp_path)
    rows = {r["referral_id"]: r for r in parsed.milestones.to_dicts()}
    assert list(parsed.milestones.columns) == list(MILESTONE_COLUMNS)
    assert parsed.rows == 7  # the blank line is no referral
    assert sorted(rows) == [2, 8, 9]  # referral ids are the file's row numbers (header is row 1)
    first = rows[2]
    # 09:00 New York in March (EST, UTC-5 until March 8) is 14:00 UTC.
    assert first["received_at"] == dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert first["service_line"] == "Cardio"
    assert first["channel"] == "fax"  # "Fax" is our fax (codes match whatever the case)
    assert first["state"] == "closed"
    # No decision column: a decided referral that went on to a visit was accepted, then.
    assert first["decision"] == "accepted"
    assert first["accepted_at"] == first["decided_at"] == dt.datetime(2026, 3, 2, 17, tzinfo=UTC)
    assert first["seen_at"] == dt.datetime(2026, 3, 20, 14, tzinfo=UTC)  # EDT from March 8: -4
    assert first["ended_at"] == first["report_sent_at"] == dt.datetime(2026, 3, 23, 14, tzinfo=UTC)
    assert first["last_activity_at"] == first["ended_at"]
    assert first["patient_key"] == "row 2"  # no patient column: each referral its own patient
    # 01:30 on November 1 2026 happens twice (clocks go back at 02:00): the earlier, EDT.
    assert rows[8]["received_at"] == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert rows[8]["decision"] == "declined"
    assert rows[8]["ended_at"] == rows[8]["decided_at"]
    # A date alone is local midnight; no state given and no milestone: received.
    assert rows[9]["received_at"] == dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert rows[9]["state"] == "received"
    assert rows[9]["ended_at"] is None


def test_it_quarantines_bad_rows_with_their_row_numbers_and_reasons(tmp_path):
    parsed = _parse(tmp_path)
    bad = {r["row"]: r for r in parsed.quarantine.to_dicts()}
    assert sorted(bad) == [3, 4, 6, 7]
    assert bad[3]["reasons"].startswith("channel (How): 'Carrier pigeon' is not one of ours")
    assert "--value channel:Carrier pigeon=ours" in bad[3]["reasons"]
    assert bad[4]["reasons"] == "received_at (Date Received): missing"
    assert bad[6]["reasons"] == "decided_at: before the referral was received"
    # "3/5/26" would be the year 26 under %Y: no date at all.
    assert bad[7]["reasons"] == (
        "decided_at (Decided): '3/5/26' is not a date and time in a known format"
    )
    # The row as given travels with the reasons, to correct it in the file.
    assert bad[3]["Ref"] == "A2" and bad[3]["How"] == "Carrier pigeon"
    assert parsed.milestones.height + parsed.quarantine.height == parsed.rows


def test_it_reads_the_same_from_excel_and_parquet(tmp_path):
    from openpyxl import Workbook

    csv_rows = _parse(tmp_path).milestones
    book = Workbook()
    sheet = book.active
    frame = pl.read_csv((tmp_path / "theirs.csv"), infer_schema=False)
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append(list(row))
    book.save(tmp_path / "theirs.xlsx")
    mapping = mapping_merge(Mapping(), columns=COLUMNS, values=VALUES)
    xlsx = milestones_parse(file_read(tmp_path / "theirs.xlsx"), mapping=mapping, tz=NEW_YORK)
    frame.write_parquet(tmp_path / "theirs.parquet")
    parquet = milestones_parse(file_read(tmp_path / "theirs.parquet"), mapping=mapping, tz=NEW_YORK)
    # The blank row is kept in both, so the row numbers are the CSV's.
    assert xlsx.milestones.equals(csv_rows)
    assert parquet.milestones.equals(csv_rows)


def test_it_reads_parquet_times_with_their_zone(tmp_path):
    frame = pl.DataFrame(
        {
            "received": [dt.datetime(2026, 3, 2, 14, tzinfo=UTC)],
            "local": [dt.datetime(2026, 3, 2, 12)],
        }
    )
    frame.write_parquet(tmp_path / "typed.parquet")
    mapping = mapping_merge(Mapping(), columns=["received_at=received", "decided_at=local"])
    parsed = milestones_parse(file_read(tmp_path / "typed.parquet"), mapping=mapping, tz=NEW_YORK)
    row = parsed.milestones.row(0, named=True)
    assert row["received_at"] == dt.datetime(2026, 3, 2, 14, tzinfo=UTC)
    assert row["decided_at"] == dt.datetime(2026, 3, 2, 17, tzinfo=UTC)  # naive: New York time


def test_it_takes_a_saved_mapping_in_the_import_sources_shape(tmp_path):
    saved = {
        # The file import's own field names for the same things are understood.
        "columns": {"sender_reference": "Ref", "received_at": "Date Received",
                    "service_line": "Dept", "closed_at": "Report", "completed_at": "Seen",
                    "decided_at": "Decided", "patient_mrn": ""},
        "values": {"service_line": {"cardio": "Cardiology"}},
        "date_formats": ["%m/%d/%Y"],
        "datetime_formats": ["%m/%d/%Y %H:%M"],
    }  # fmt: skip
    (tmp_path / "mapping.json").write_text(json.dumps(saved))
    mapping = mapping_load(tmp_path / "mapping.json")
    assert mapping.columns["report_sent_at"] == "Report" and "patient_key" not in mapping.columns
    assert mapping.date_formats == ("%m/%d/%Y", "%m/%d/%Y %H:%M")
    # The command line adds to a saved mapping.
    mapping = mapping_merge(mapping, values=["service_line:Derm=Dermatology"])
    parsed = _parse(tmp_path, mapping=mapping)
    lines = parsed.milestones["service_line"].to_list()
    assert set(lines) == {"Cardiology", "Dermatology"}
    first = parsed.milestones.row(0, named=True)
    assert first["received_at"] == dt.datetime(2026, 3, 2, 14, tzinfo=UTC)
    assert first["state"] == "closed"  # no state column: the latest milestone says it


@pytest.mark.parametrize(
    ("columns", "values", "message"),
    [
        (["reveived_at=Date Received"], [], "Unknown field 'reveived_at'"),
        (["received_at=Date Recieved"], [], "Columns not in the file: Date Recieved."),
        (["service_line=Dept"], [], "The mapping has no column for received_at"),
        (["received_at"], [], "--column 'received_at': write it as"),
        (["received_at=Date Received"], ["channel=fax"], "--value 'channel=fax': write it as"),
        (["received_at=Date Received"], ["chanel:Fax=fax"], "Unknown field 'chanel'"),
    ],
)
def test_it_explains_a_wrong_mapping(tmp_path, columns, values, message):
    with pytest.raises(AuditError, match="^" + message.replace("(", r"\(")):
        _parse(tmp_path, mapping=mapping_merge(Mapping(), columns=columns, values=values))


def test_it_explains_an_unreadable_file(tmp_path):
    with pytest.raises(AuditError, match="no such file"):
        file_read(tmp_path / "gone.csv")
    (tmp_path / "notes.docx").write_text("x")
    with pytest.raises(AuditError, match="give a CSV"):
        file_read(tmp_path / "notes.docx")
    (tmp_path / "broken.xlsx").write_text("not a zip")
    with pytest.raises(AuditError, match="is not an Excel workbook"):
        file_read(tmp_path / "broken.xlsx")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 nope")
    with pytest.raises(AuditError, match="cannot be read as parquet"):
        file_read(tmp_path / "broken.parquet")


def test_it_knows_our_codes_as_the_app_does():
    from refloop.referrals.enums import Channel, Priority, State

    assert CHOICES["state"] == tuple(State.values)
    assert CHOICES["priority"] == tuple(Priority.values)
    assert CHOICES["channel"] == tuple(Channel.values)


def test_it_maps_refloops_own_export_columns():
    from refloop.interop.files.queries import REFERRAL_COLUMNS

    exported = {c.name for c in REFERRAL_COLUMNS}
    assert set(REFLOOP_EXPORT.columns.values()) <= exported
