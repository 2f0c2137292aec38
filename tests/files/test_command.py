"""manage.py refloop_import, and the demo's spreadsheet."""

import json

import pytest
from django.core.management import CommandError, call_command

from refloop.interop.files.demo import demo_receive
from refloop.interop.files.models import ImportRun, ImportSource
from refloop.referrals.models import Referral
from tests import factories
from tests.files.conftest import COLUMNS, csv_bytes, row, xlsx_bytes


def test_it_imports_a_file_with_a_mapping_from_the_command_line(tmp_path, line, capsys):
    path = tmp_path / "export.xlsx"
    path.write_bytes(
        xlsx_bytes([row(n, Specialty="orthopedics", Urgency="routine") for n in range(1, 4)])
    )
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": COLUMNS, "datetime_formats": ["%m/%d/%Y %H:%M"]}))
    call_command("refloop_import", str(path), "--source", "Eastside", "--mapping", str(mapping))
    assert "3 rows, 3 new, 0 already here, 0 quarantined" in capsys.readouterr().out
    assert ImportSource.objects.get().name == "Eastside"
    assert Referral.objects.filter(sender_system="import:Eastside").count() == 3
    call_command("refloop_import", str(path), "--source", "Eastside")
    assert "0 new, 3 already here" in capsys.readouterr().out


def test_it_resumes_a_run_from_the_command_line(northside, intake, capsys):
    from refloop.interop.files.services import import_start

    run = import_start(
        source_id=northside.pk,
        filename="x.csv",
        content=csv_bytes([row(1), row(2)]),
        actor=intake,
        queue=False,
    )
    call_command("refloop_import", "--resume", str(run.pk), "--chunk", "1")
    assert ImportRun.objects.get().status == "done"
    assert "1 / 2 rows" in capsys.readouterr().out


def test_it_refuses_an_unknown_source(tmp_path, db):
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([row(1)]))
    with pytest.raises(CommandError, match="No source named"):
        call_command("refloop_import", str(path), "--source", "Nobody")


def test_it_imports_the_demo_spreadsheet_with_one_row_quarantined(line, clinician):
    factories.referral(line=line, clinician=clinician)
    summary = demo_receive()
    assert "11 referrals new" in summary and "1 quarantined" in summary
    assert "Their referral id: missing" in summary
    assert Referral.objects.filter(channel="file").count() == 11
    assert "0 referrals new, 11 already here" in demo_receive()
