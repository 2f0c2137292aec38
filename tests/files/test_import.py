"""Importing referrals from other systems' CSV and Excel files."""

import datetime as dt
import traceback

import pytest
from django.utils import timezone

from refloop.core.errors import Conflict, DomainError
from refloop.interop.files.models import ImportRun, QuarantinedRow
from refloop.interop.files.services import (
    ImportStopped,
    import_run_claim,
    import_run_process,
    import_start,
    quarantine_dismiss,
    quarantine_reimport,
    source_save,
)
from refloop.referrals.enums import BlockerKind, Channel, EventKind, Priority, State
from refloop.referrals.models import Referral
from tests.files.conftest import csv_bytes, row, xlsx_bytes


def imported(source, content, actor, filename="export.csv", **kwargs):
    run = import_start(
        source_id=source.pk, filename=filename, content=content, actor=actor, queue=False
    )
    return import_run_process(run_id=run.pk, **kwargs)


def test_it_imports_a_csv_through_the_mapping(northside, clinician, intake, line):
    rows = [row(1, clinician), row(2, clinician, Urgency="STAT", Specialty="Bones & Joints")]
    run = imported(northside, csv_bytes(rows), intake)
    assert (run.status, run.rows_total, run.rows_done, run.created) == ("done", 2, 2, 2)
    first, second = Referral.objects.order_by("sender_reference")
    assert first.channel == Channel.FILE
    assert first.sender_system == "import:Northside Clinic EHR export"
    assert first.sender_reference == "NS-0001"
    assert first.referring_clinician == clinician
    assert first.priority == Priority.ROUTINE and second.priority == Priority.STAT
    assert second.service_line == line
    assert first.patient.birth_date == dt.date(1961, 4, 12)
    assert f"{timezone.localtime(first.received_at):%Y-%m-%d %H:%M}" == "2026-03-02 09:30"
    assert first.clocks.count() == 3
    assert first.blockers.filter(kind=BlockerKind.MISSING_RECORDS).exists()


def test_it_imports_an_excel_workbook(northside, clinician, intake):
    rows = [row(n, clinician) for n in range(1, 6)]
    run = imported(northside, xlsx_bytes(rows), intake, filename="export.xlsx")
    assert (run.status, run.created, run.quarantined) == ("done", 5, 0)
    assert run.file_format == "xlsx"
    assert Referral.objects.filter(patient__birth_date=dt.date(1961, 4, 12)).count() == 5


def test_it_keeps_the_file_as_uploaded_with_its_hash(northside, intake):
    content = csv_bytes([row(1)])
    run = import_start(
        source_id=northside.pk, filename="x.csv", content=content, actor=intake, queue=False
    )
    import hashlib

    assert run.file.read() == content
    assert run.sha256 == hashlib.sha256(content).hexdigest()
    assert run.status == ImportRun.Status.QUEUED


def test_it_quarantines_bad_rows_with_their_reasons_and_imports_the_rest(northside, intake):
    rows = [
        row(1),
        row(2, DOB="31/31/1961"),
        row(3, Specialty="Podiatry"),
        row(4, RefID=""),
        row(5, Dx="banana"),
        row(6, Urgency="Whenever"),
        row(7),
    ]
    run = imported(northside, csv_bytes(rows), intake)
    assert (run.created, run.quarantined, run.rows_done) == (2, 5, 7)
    reasons = {q.row_number: " ".join(q.reasons) for q in run.quarantine.all()}
    assert "Patient date of birth: '31/31/1961' is not a date" in reasons[3]
    assert "Service line: 'Podiatry' is not one of ours" in reasons[4]
    assert "Their referral id: missing" in reasons[5]
    assert "'banana' is not an ICD-10-CM code" in reasons[6]
    assert "Priority: 'Whenever' is not one of ours" in reasons[7]
    kept = run.quarantine.get(row_number=4)
    assert kept.raw["Specialty"] == "Podiatry" and kept.raw["RefID"] == "NS-0003"


def test_it_quarantines_a_row_with_a_nul_character_and_imports_the_rest(northside, intake):
    """PostgreSQL stores no NUL: such a row once stopped the run at its chunk on every resume."""
    rows = [row(1, Last="Imp\x00ortee"), row(2, Extra="stray\x00byte"), row(3)]
    run = imported(northside, csv_bytes(rows), intake)
    assert (run.status, run.created, run.quarantined) == ("done", 2, 1)
    kept = run.quarantine.get()
    assert kept.raw["Last"] == "Imp\u2400ortee"  # kept as given, the NUL shown
    assert kept.reasons == [
        "Patient last name: holds a NUL character (shown as \u2400), which is not text; "
        "correct or remove it."
    ]
    stray = Referral.objects.get(
        sender_reference="NS-0002"
    )  # an unmapped column's NUL is no matter
    assert stray.patient.last_name == "Importee2"
    done = quarantine_reimport(row_id=kept.pk, corrected={"Last": "Importee"}, actor=intake)
    assert done.referral.patient.last_name == "Importee"


def test_it_reimports_a_corrected_row(northside, intake):
    run = imported(northside, csv_bytes([row(1, Specialty="Podiatry")]), intake)
    quarantined = run.quarantine.get()
    with pytest.raises(DomainError):
        quarantine_reimport(row_id=quarantined.pk, corrected={"Specialty": "Feet"}, actor=intake)
    quarantined.refresh_from_db()
    assert quarantined.status == "open" and "'Feet'" in quarantined.reasons[0]
    done = quarantine_reimport(
        row_id=quarantined.pk, corrected={"Specialty": "orthopedics"}, actor=intake
    )
    assert done.status == QuarantinedRow.Status.REIMPORTED
    assert done.referral.sender_reference == "NS-0001"
    assert done.corrected == {"Specialty": "orthopedics"}
    assert done.raw["Specialty"] == "Podiatry"  # what was given stays as given
    with pytest.raises(Conflict):
        quarantine_dismiss(row_id=done.pk, reason="twice", actor=intake)


def test_it_dismisses_a_row_with_a_reason(northside, intake):
    run = imported(northside, csv_bytes([row(1, RefID="")]), intake)
    quarantined = run.quarantine.get()
    with pytest.raises(DomainError):
        quarantine_dismiss(row_id=quarantined.pk, reason=" ", actor=intake)
    done = quarantine_dismiss(row_id=quarantined.pk, reason="Test row", actor=intake)
    assert (done.status, done.dismiss_reason, done.resolved_by) == ("dismissed", "Test row", intake)


def test_it_creates_nothing_twice_when_the_same_file_comes_again(northside, clinician, intake):
    content = csv_bytes([row(n, clinician) for n in range(1, 8)] + [row(1, clinician)])
    first = imported(northside, content, intake, chunk_size=3)
    events = sum(r.events.count() for r in Referral.objects.all())
    second = imported(northside, content, intake, chunk_size=3)
    assert (first.created, first.duplicate) == (7, 1)
    assert (second.created, second.duplicate) == (0, 8)
    assert Referral.objects.count() == 7
    assert sum(r.events.count() for r in Referral.objects.all()) == events
    assert second.sha256 == first.sha256


class Killed(Exception):
    pass


def crash_and_resume(source, clinician, actor, **options) -> ImportRun:
    """Eleven rows in chunks of three, the worker killed after the second chunk, then run again:
    the finished run (the pipeline's tests call it with overlap=True)."""
    content = csv_bytes([row(n, clinician) for n in range(1, 11)] + [row(99, RefID="")])
    run = import_start(
        source_id=source.pk, filename="x.csv", content=content, actor=actor, queue=False
    )

    def die_after_two(current):
        if current.rows_done >= 6:
            raise Killed

    with pytest.raises(ImportStopped, match="Killed"):
        import_run_process(run_id=run.pk, chunk_size=3, on_chunk=die_after_two, **options)
    run.refresh_from_db()
    # A chunk decided but never written (the pipeline's third) leaves nothing behind.
    assert (run.status, run.rows_done, run.created) == ("running", 6, 6)
    assert Referral.objects.count() == 6
    done = import_run_process(run_id=run.pk, chunk_size=3, **options)
    assert (done.status, done.rows_done, done.created, done.quarantined) == ("done", 11, 10, 1)
    assert done.duplicate == 0
    assert Referral.objects.count() == 10
    assert QuarantinedRow.objects.count() == 1
    return done


def test_it_resumes_an_interrupted_import_where_it_stopped(northside, clinician, intake):
    crash_and_resume(northside, clinician, intake)


def test_it_lets_no_row_text_escape_to_the_logs_when_a_run_stops(northside, intake, caplog):
    """An unexpected error's text may quote a row (a name, a date of birth): the run keeps its
    type, and what escapes to the task runner (which logs it with its traceback) says no more."""
    run = import_start(
        source_id=northside.pk, filename="x.csv", content=csv_bytes([row(1)]), actor=intake,
        queue=False,
    )  # fmt: skip

    def fail(current):
        raise ValueError("Jane Quinn born 1961-06-15 at row 1")

    with pytest.raises(ImportStopped) as stopped:
        import_run_process(run_id=run.pk, on_chunk=fail)
    logged = "".join(traceback.format_exception(stopped.value))  # as logger.exception writes it
    assert "ValueError" in logged and "Jane" not in logged
    assert "Jane" not in caplog.text
    run.refresh_from_db()
    assert run.error == "Stopped after 1 rows: ValueError"


def test_it_keeps_the_name_of_a_source_that_has_imported(northside, clinician, intake, manager):
    """The name is the sender system of its referrals: renamed, the same file again would
    import every referral a second time."""
    content = csv_bytes([row(1, clinician)])
    assert imported(northside, content, intake).created == 1
    with pytest.raises(Conflict):
        source_save(
            name="Northside renamed", mapping=northside.mapping, actor=manager,
            source_id=northside.pk,
        )  # fmt: skip
    assert imported(northside, content, intake).duplicate == 1
    assert Referral.objects.count() == 1
    # Its mapping can still be corrected.
    source_save(name=northside.name, mapping=northside.mapping, actor=manager,
                source_id=northside.pk)  # fmt: skip


def test_it_leaves_a_run_held_by_a_live_worker_alone(northside, intake):
    run = import_start(
        source_id=northside.pk,
        filename="x.csv",
        content=csv_bytes([row(1)]),
        actor=intake,
        queue=False,
    )
    assert import_run_claim(run_id=run.pk, owner="other-worker")
    untouched = import_run_process(run_id=run.pk)
    assert (untouched.status, untouched.rows_done, untouched.owner) == (
        "running",
        0,
        "other-worker",
    )
    # The worker died: once its lease has run out, a resume takes the run over.
    later = untouched.lease_until + dt.timedelta(seconds=1)
    assert import_run_claim(run_id=run.pk, owner="me", now=later)


def test_it_fails_a_run_whose_mapping_names_columns_the_file_lacks(northside, intake):
    run = imported(northside, csv_bytes([{"Something": "else"}]), intake)
    assert run.status == "failed"
    assert "Columns not in the file" in run.error
    assert not Referral.objects.exists()


def test_it_refuses_other_files_and_people_without_the_permission(northside, intake, liaison):
    with pytest.raises(DomainError):
        import_start(source_id=northside.pk, filename="x.pdf", content=b"%PDF", actor=intake)
    with pytest.raises(DomainError):
        import_start(source_id=northside.pk, filename="x.csv", content=b"a,b", actor=liaison)


HISTORY = {
    "state": "Status",
    "accepted_at": "Accepted",
    "scheduled_at": "Booked",
    "appointment_at": "Appt",
    "seen_at": "Seen",
    "cancelled_at": "Cancelled",
    "cancel_reason": "Cancel Why",
    "closed_at": "Closed",
    "decline_reason": "Decline Why",
    "declined_at": "Declined",
}


@pytest.fixture
def with_history(northside):
    northside.mapping["columns"].update(HISTORY)
    northside.mapping["values"]["state"] = {
        "ACC": "accepted",
        "DONE": "completed",
        "X": "cancelled",
    }
    northside.mapping["values"]["cancel_reason"] = {"PT": "patient_declined"}
    northside.save()
    return northside


def test_it_replays_the_history_the_file_has_through_the_services(with_history, clinician, intake):
    blank = dict.fromkeys(HISTORY.values(), "")

    def hrow(n, **given):
        return row(n, clinician, **{**blank, **given})

    rows = [
        hrow(
            1,
            Status="DONE",
            Accepted="03/03/2026 10:00",
            Booked="03/03/2026 11:00",
            Appt="03/20/2026 09:00",
            Seen="03/20/2026 09:40",
        ),
        hrow(
            2,
            Status="X",
            Accepted="03/04/2026 10:00",
            Cancelled="03/05/2026 12:00",
            **{"Cancel Why": "PT"},
        ),
        hrow(3, Declined="03/04/2026 10:00", **{"Decline Why": "not_indicated"}),
        hrow(4, Status="ACC"),  # accepted, but when?
        hrow(5, Closed="03/30/2026 10:00"),
        hrow(6, Accepted="03/01/2026 10:00"),  # before it was received
    ]
    run = imported(with_history, csv_bytes(rows), intake)
    assert (run.created, run.quarantined) == (3, 3)
    seen = Referral.objects.get(sender_reference="NS-0001")
    assert seen.state == State.COMPLETED
    assert f"{timezone.localtime(seen.completed_at):%m/%d %H:%M}" == "03/20 09:40"
    assert seen.appointments.get().outcome == "attended"
    changes = list(
        seen.events.filter(kind=EventKind.STATE_CHANGED).values_list("to_state", "details")
    )
    assert [c[0] for c in changes] == ["triage", "accepted", "scheduled", "completed"]
    assert changes[0][1]["time_from"] == "accepted_at"  # triage had no time of its own
    assert Referral.objects.get(sender_reference="NS-0002").outcome_reason == "patient_declined"
    assert Referral.objects.get(sender_reference="NS-0003").state == State.DECLINED
    reasons = {q.row_number: " ".join(q.reasons) for q in run.quarantine.all()}
    assert "Accepted at: missing" in reasons[5]
    assert "consult report" in reasons[6]
    assert "before the step that came earlier" in reasons[7]


def test_it_fails_a_file_that_is_not_utf8_with_a_clear_reason(northside, intake):
    content = csv_bytes([row(1)]) + "NS-2,Zoë,Müller\n".encode("cp1252")
    run = imported(northside, content, intake)
    assert run.status == "failed" and "not UTF-8" in run.error
