"""The issue's done-when: `refloop audit` on Refloop's own export gives the app's numbers.

The demo is loaded (its fact table built by the app from the referral tables), exported with the
referral export (interop.files: referrals, and the waiting blockers) as CSV files, and audited;
the audit reads nothing but the files (and the program's targets and closures, as a practice
would give them). Every headline number of every month must be equal."""

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from refloop.analytics.audit.cli import audit_run, main
from refloop.analytics.audit.history import REFLOOP_STATES, REFLOOP_WAITING, HistoryFile
from refloop.analytics.audit.mapping import BUILT_IN
from refloop.analytics.audit.program import program_load
from refloop.analytics.queries import facts_frame
from refloop.analytics.review import review_build
from refloop.analytics.review_services import review_goals
from refloop.demo.loader import demo_load
from refloop.interop.files.exports import csv_lines, parquet_file, xlsx_file
from refloop.interop.files.queries import ExportFilters, export_dataset

NOW = dt.datetime(2025, 6, 11, 19, 30, tzinfo=dt.UTC)
# Closed months, and June 2025 still running at NOW (judged as of NOW).
MONTHS = [dt.date(2024, 12, 1)] + [dt.date(2025, m, 1) for m in (1, 2, 3, 4, 5, 6)]


def _export(dataset: str, folder: Path, fmt: str = "csv") -> Path:
    manager = User.objects.get(username="manager")
    data = export_dataset(dataset=dataset, filters=ExportFilters(), user=manager)
    path = folder / f"{dataset}.{fmt}"
    if fmt == "csv":
        path.write_text("".join(csv_lines(data)), encoding="utf-8")
    else:
        with {"xlsx": xlsx_file, "parquet": parquet_file}[fmt](data) as handle:
            path.write_bytes(handle.read())
    return path


def _program(folder: Path) -> Path:
    """The program as a practice would write it down: its targets, goals and closed days."""
    path = folder / "program.json"
    call_command("refloop_program", "--out", str(path))
    return path


def test_it_gives_the_apps_headline_from_refloops_own_export(db, tmp_path, capsys):
    demo_load(scale=0.02, seed=7, now=NOW)
    referrals = _export("referrals", tmp_path)
    waiting = HistoryFile(path=_export("waiting", tmp_path), columns=REFLOOP_WAITING, values={})
    states = HistoryFile(path=_export("states", tmp_path), columns=REFLOOP_STATES, values={})
    program_file = _program(tmp_path)
    program = program_load(program_file)
    tz = ZoneInfo(settings.TIME_ZONE)
    app_facts = facts_frame()
    for month in MONTHS:
        audit = audit_run(
            path=referrals, mapping=BUILT_IN["refloop"], program=program, month=month, tz=tz,
            as_of=NOW, out=tmp_path / "out",
            waiting=waiting, states=states,
        )  # fmt: skip
        app = review_build(app_facts, month=month, targets=review_goals(), tz=tz, as_of=NOW)
        assert audit.parsed.quarantine.height == 0
        assert audit.review.numbers == app.numbers, month
        # The whole review, table for table (the same tables, in the same order).
        assert audit.review.tables == app.tables, month
        assert audit.review.numbers["received"] > 0
    # Referrers named as the app names them (a referrer to call reads the same in both).
    assert set(audit.facts["referrer_name"]) == set(app_facts["referrer_name"])

    # The same from the command line, as a practice would type it.
    args = ["audit", str(referrals), "--from", "refloop", "--waiting", str(waiting.path),
            "--states", str(states.path), "--program", str(program_file), "--month", "2025-05",
            "--as-of", NOW.isoformat(), "--out", str(tmp_path / "cli")]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    app = review_build(app_facts, month=MONTHS[-2], targets=review_goals(), tz=tz, as_of=NOW)
    for row in app.table("headline").rows:
        line = next(line for line in printed if line.startswith(row.cells[0]))
        assert re.split(r"\s{2,}", line.strip()) == [c for c in row.cells if c]

    # Excel (local times, as a spreadsheet has them) and Parquet (typed UTC times) too.
    for fmt in ("xlsx", "parquet"):
        folder = tmp_path / fmt
        folder.mkdir()
        audit = audit_run(
            path=_export("referrals", folder, fmt), mapping=BUILT_IN["refloop"], program=program,
            month=MONTHS[-2], tz=tz, as_of=NOW, out=folder / "out",
            waiting=HistoryFile(path=_export("waiting", folder, fmt), columns=REFLOOP_WAITING,
                                values={}),
            states=HistoryFile(path=_export("states", folder, fmt), columns=REFLOOP_STATES,
                               values={}),
        )  # fmt: skip
        assert audit.review.tables == app.tables, fmt
