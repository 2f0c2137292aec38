"""`refloop audit`: another system's file read with a mapping; bad rows quarantined."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from pypdf import PdfReader

from refloop.analytics.audit import AuditError
from refloop.analytics.audit.mapping import (
    CHOICES,
    REFLOOP_EXPORT,
    Mapping,
    mapping_load,
    mapping_merge,
)
from refloop.analytics.audit.milestones import milestones_parse
from refloop.analytics.audit.program import Program
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


def test_it_quarantines_a_referral_the_file_gives_twice(tmp_path):
    again = "A1,03/02/2026 09:00,Cardio,Fax,Closed,03/02/2026 12:00,03/20/2026 10:00,\n"

    parsed = _parse(tmp_path, text=THEIRS + again)

    bad = {r["row"]: r for r in parsed.quarantine.to_dicts()}
    assert bad[10]["reasons"] == "reference (Ref): 'A1' is in an earlier row too"
    assert parsed.milestones["referral_id"].to_list() == [2, 8, 9]  # the first A1 is counted
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


def test_it_keeps_every_column_of_a_sheet_whose_names_repeat(tmp_path):
    from openpyxl import Workbook

    (tmp_path / "theirs.csv").write_text("Ref,Date,Date\nA1,2026-03-02,2026-03-05\n")
    book = Workbook()
    book.active.append(["Ref", "Date", "Date"])
    book.active.append(["A1", "2026-03-02", "2026-03-05"])
    book.save(tmp_path / "theirs.xlsx")

    xlsx = file_read(tmp_path / "theirs.xlsx")

    assert xlsx.equals(file_read(tmp_path / "theirs.csv"))
    assert xlsx.columns == ["row", "Ref", "Date", "Date_duplicated_0"]
    assert xlsx["Date"].to_list() == ["2026-03-02"]


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


# The command ---------------------------------------------------------------------------------

THEIR_NAMES = {
    "received_at": "Date Received",
    "service_line": "Dept",
    "priority": "Urgency",
    "referrer_key": "Referrer NPI",
    "referrer_name": "Referring Doctor",
    "practice": "Practice",
    "state": "Status",
    "decision": "Triage",
    "outcome_reason": "Why",
    "acknowledged_at": "Acknowledged",
    "decided_at": "Triaged",
    "booked_at": "Booked",
    "appointment_at": "Appt",
    "seen_at": "Seen",
    "report_sent_at": "Report Sent",
    "report_delivered_at": "Report Delivered",
}
AS_OF = "2026-11-01T00:00:00-04:00"


def _their_export(tmp_path) -> str:
    """The review test's hand-built month as another system would export it: their column
    names, US dates in local time, their words for the states."""
    from tests.analytics.test_review import month_facts

    local = month_facts().select(
        pl.col(c).dt.convert_time_zone("America/New_York").dt.strftime("%m/%d/%Y %H:%M")
        if c.endswith("_at") else pl.col(c).replace("", None)
        for c in THEIR_NAMES
    ).with_columns(
        pl.col("state").replace({"completed": "Visit done", "closed": "Done"})
    )  # fmt: skip
    path = tmp_path / "their-export.csv"
    local.rename(THEIR_NAMES).write_csv(path)
    return str(path)


def _printed(printed: str, label: str) -> list[str]:
    """The cells printed after a headline label (columns are two or more spaces apart)."""
    line = next(line for line in printed.splitlines() if line.startswith(label))
    return re.split(r"\s{2,}", line.strip())[1:]


def _args(tmp_path, path) -> list[str]:
    args = ["audit", path, "--month", "2026-10", "--out", str(tmp_path / "out"), "--as-of", AS_OF]
    args += [f"--column={ours}={theirs}" for ours, theirs in THEIR_NAMES.items()]
    args += ["--value", "state:Visit done=completed", "--value", "state:Done=closed"]
    return args + ["--date-format", "%m/%d/%Y %H:%M", "--name", "Riverside"]


def test_it_gives_the_reviews_numbers_from_another_systems_file(tmp_path, capsys):
    from refloop.analytics.audit.cli import main

    path = _their_export(tmp_path)
    # Their goals, and Refloop's standard clock targets (no "targets" key).
    from tests.analytics.test_review import GOALS

    program = tmp_path / "program.json"
    program.write_text(json.dumps({"goals": GOALS}))
    assert main(_args(tmp_path, path) + ["--program", str(program)]) == 0
    printed = capsys.readouterr().out
    # The same numbers as the app's review of the same month (test_review: worked out there);
    # here business time, targets and judgements come from facts_build on the file's dates.
    assert _printed(printed, "Referrals received") == ["4", "2", "+2"]
    assert _printed(printed, "Conversion (seen") == ["50%", "100%", "-50 pts", "60%", "off target"]
    assert _printed(printed, "Referrer acknowledged")[:1] == ["33%"]
    assert "Rows read: 36; in the metrics: 36; left out: 0." in printed
    html = (tmp_path / "out" / "review-2026-10.html").read_text()
    assert "<td>Conversion (seen / received)</td><td>50%</td><td>100%</td>" in html
    assert "<td>Dr Fading</td><td>Elm Clinic</td>" in html
    pdf = PdfReader(tmp_path / "out" / "review-2026-10.pdf")
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Referrals received\n4\n2\n+2" in text


def test_it_matches_the_apps_review_number_for_number(tmp_path):
    from refloop.analytics.audit.cli import audit_run
    from refloop.analytics.audit.program import program_standard
    from tests.analytics.test_review import GOALS, _review

    path = _their_export(tmp_path)
    mapping = mapping_merge(
        Mapping(),
        columns=[f"{ours}={theirs}" for ours, theirs in THEIR_NAMES.items()],
        values=["state:Visit done=completed", "state:Done=closed"],
        date_formats=["%m/%d/%Y %H:%M"],
    )
    program = program_standard()
    audit = audit_run(
        path=Path(path), mapping=mapping, tz=NEW_YORK, month=dt.date(2026, 10, 1),
        program=Program(targets=program.targets, goals=GOALS, closures=frozenset()),
        as_of=dt.datetime.fromisoformat(AS_OF), out=tmp_path / "out",
    )  # fmt: skip
    app = _review()
    assert audit.review.numbers == app.numbers
    assert audit.review.table("headline") == app.table("headline")
    assert audit.review.table("outcomes") == app.table("outcomes")
    assert audit.review.table("calls") == app.table("calls")


def test_it_quarantines_bad_rows_beside_the_report_and_says_how_many(tmp_path, capsys):
    from refloop.analytics.audit.cli import main

    path = tmp_path / "theirs.csv"
    path.write_text(THEIRS)
    args = [
        "audit",
        str(path),
        "--month",
        "2026-03",
        "--out",
        str(tmp_path / "out"),
        "--as-of",
        AS_OF,
        "--date-format",
        "%m/%d/%Y %H:%M",
        "--date-format",
        "%m/%d/%Y",
    ]
    args += [f"--column={c}" for c in COLUMNS] + [f"--value={v}" for v in VALUES]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Rows read: 7; in the metrics: 2; left out: 5." in printed
    assert "  row 4: received_at (Date Received): missing" in printed
    # Formats given replace the defaults: the ISO date of row 9 is not one of them.
    assert "  row 9: received_at (Date Received): '2026-03-08' is not a date" in printed
    quarantine = pl.read_csv(tmp_path / "out" / "quarantine-theirs.csv", infer_schema=False)
    assert quarantine["row"].to_list() == ["3", "4", "6", "7", "9"]
    assert quarantine.columns[:3] == ["row", "reasons", "Ref"]
    html = (tmp_path / "out" / "review-2026-03.html").read_text()
    assert "5 rows could not be read and are left out of every number" in html
    # The file has no delivery dates: not a false 0%.
    assert "<td>Report delivered within 14 days (not CMS50)</td><td>not in the data</td>" in html


def test_it_runs_without_django_settings_or_a_database(tmp_path):
    path = _their_export(tmp_path)
    script = (
        "import sys\n"
        "from refloop.analytics.audit.cli import main\n"
        f"code = main({_args(tmp_path, path)!r})\n"
        "from django.conf import settings\n"
        "assert not settings.configured, 'settings were configured'\n"
        "assert not [m for m in sys.modules if m.startswith('django.db.backends')]\n"
        "sys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Referrals received" in run.stdout
    assert not list(tmp_path.glob("*.sqlite3"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column=received_at=Date Recieved"], "Columns not in the file: Date Recieved."),
        (["--column=recieved=Date Received"], "Unknown field 'recieved'"),
        (["--column=received_at=Date Received", "--month=October"], "--month 'October'"),
        (["--column=received_at=Date Received", "--month=0001-01"], "--month '0001-01'"),
    ],
)
def test_it_stops_with_a_clear_error(tmp_path, capsys, args, message):
    from refloop.analytics.audit.cli import main

    path = tmp_path / "theirs.csv"
    path.write_text(THEIRS)
    assert main(["audit", str(path), "--out", str(tmp_path), *args]) == 2
    error = capsys.readouterr().err
    assert error.startswith("refloop audit: ") and message in error
    assert "Traceback" not in error


def test_it_reads_the_hour_the_clocks_go_back_in_the_order_things_happened(tmp_path):
    # November 1 2026, New York: 01:00-01:59 happens twice (EDT, UTC-4, then EST, UTC-5).
    text = (
        "Ref,Received,Acknowledged\n"
        "A,11/01/2026 01:30,11/01/2026 01:10\n"  # 01:30 EDT, then 01:10 EST (40 minutes on)
        "B,11/01/2026 00:50,11/01/2026 01:10\n"  # 00:50 EDT, then 01:10 EDT (the first one)
        "C,11/01/2026 01:30,10/31/2026 23:00\n"  # acknowledged the day before: still wrong
    )
    mapping = mapping_merge(
        Mapping(),
        columns=["reference=Ref", "received_at=Received", "acknowledged_at=Acknowledged"],
        date_formats=["%m/%d/%Y %H:%M"],
    )
    parsed = _parse(tmp_path, text=text, mapping=mapping)
    rows = {r["referral_id"]: r for r in parsed.milestones.to_dicts()}
    assert rows[2]["received_at"] == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert rows[2]["acknowledged_at"] == dt.datetime(2026, 11, 1, 6, 10, tzinfo=UTC)
    assert rows[3]["acknowledged_at"] == dt.datetime(2026, 11, 1, 5, 10, tzinfo=UTC)
    assert parsed.quarantine.to_dicts()[0]["reasons"] == (
        "acknowledged_at: before the referral was received"
    )
    assert parsed.quarantine["row"].to_list() == [4]


def test_it_is_installed_as_the_refloop_command():
    import importlib
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    module, _, name = project["project"]["scripts"]["refloop"].partition(":")
    main = getattr(importlib.import_module(module), name)
    with pytest.raises(SystemExit) as help_asked:
        main(["audit", "--help"])
    assert help_asked.value.code == 0
