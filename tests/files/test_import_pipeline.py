"""The import's pipeline (PostgreSQL, outside a caller's transaction): chunk N is written by
another connection while chunk N+1 is read and decided. These tests commit for real
(transactional), as a worker does; on SQLite the same run takes the plain path, one chunk after
the other, and must answer the same."""

import threading

import pytest

from refloop.directory.models import Patient
from refloop.interop.files import services
from refloop.interop.files.models import ImportRun
from refloop.interop.files.services import import_run_process, import_start
from refloop.referrals.models import Referral
from tests import factories
from tests.files.conftest import csv_bytes, row
from tests.files.test_bulk import snapshot
from tests.files.test_import import crash_and_resume
from tests.files.test_import_same import _file, _one_by_one, _outcomes

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_makes_across_chunks_what_referral_receive_makes_row_by_row(
    northside, clinician, intake, tmp_path
):
    """Chunks of three: row 4 is row 1's patient (a chunk later: a possible duplicate of a
    referral not committed when its chunk was decided), row 7 gives row 6's MRN with another
    birth date, row 9 gives it with row 6's, row 1 comes again two chunks later (a resend)."""
    factories.service_line(code="imaging", name="Imaging", checklist=())
    content = _file(clinician)
    (single_counts, single_reasons), single_rows = _one_by_one(northside, content, intake, tmp_path)
    before = Referral.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    run = import_start(
        source_id=northside.pk, filename="x.csv", content=content, actor=intake, queue=False
    )
    import_run_process(run_id=run.pk, chunk_size=3, overlap=True)
    imported_counts, imported_reasons = _outcomes(run.pk)
    assert imported_counts == single_counts == (8, 1, 4)
    assert imported_reasons == single_reasons
    assert snapshot(before) == single_rows


def _one_patient_in_three_chunks(source, clinician, actor, mrn: str):
    """Rows 1, 3 and 4 are one patient, in chunks of two, overlapped: (run, the patient's
    referrals, what each later one noted as possible duplicates)."""
    same = {"First": "Robin", "Last": "Carried", "MRN": mrn}
    rows = [row(1, clinician, **same), row(2), row(3, clinician, **same), row(4, **same)]
    run = import_start(
        source_id=source.pk, filename="x.csv", content=csv_bytes(rows), actor=actor, queue=False
    )
    done = import_run_process(run_id=run.pk, chunk_size=2, overlap=True)
    referrals = list(Referral.objects.filter(patient__mrn=mrn).order_by("pk"))
    noted = [r.events.get(kind="received").details["possible_duplicates"] for r in referrals[1:]]
    return done, referrals, noted


def test_it_matches_a_patient_made_a_chunk_earlier(northside, clinician, intake):
    done, referrals, noted = _one_patient_in_three_chunks(northside, clinician, intake, "M-77")
    assert (done.status, done.created, done.quarantined) == ("done", 4, 0)
    assert Patient.objects.filter(mrn="M-77").count() == 1
    first, *later = referrals
    assert len(later) == 2
    # Each later referral notes the open ones before it as possible duplicates.
    assert noted == [[first.pk], [first.pk, later[0].pk]]


def test_it_notes_a_possible_duplicate_once_when_the_writer_commits_first(
    northside, clinician, intake, monkeypatch
):
    """The writer is the quicker: the chunk before is committed by the time the next one looks
    up its patients, so the lookups find its referral and the carry names it too."""
    written = threading.Event()
    write, prepare = services._chunk_written, services._chunk_prepared

    def chunk_written(*args):
        write(*args)
        written.set()

    def chunk_prepared(run, mapping, chunk, carry):
        if carry is not None:
            assert written.wait(30)  # the chunk in flight has committed
        written.clear()
        return prepare(run, mapping, chunk, carry)

    monkeypatch.setattr(services, "_chunk_written", chunk_written)
    monkeypatch.setattr(services, "_chunk_prepared", chunk_prepared)
    done, referrals, noted = _one_patient_in_three_chunks(northside, clinician, intake, "M-78")
    assert (done.status, done.created, done.quarantined) == ("done", 4, 0)
    first, second, _ = referrals
    assert noted == [[first.pk], [first.pk, second.pk]]


def test_it_resumes_after_a_crash_between_chunks(northside, clinician, intake):
    done = crash_and_resume(northside, clinician, intake, overlap=True)
    assert ImportRun.objects.get(pk=done.pk).owner  # the worker that finished it


def test_it_imports_a_file_again_as_resends_only(northside, clinician, intake):
    content = csv_bytes([row(n, clinician) for n in range(1, 8)])
    for _ in range(2):
        run = import_start(
            source_id=northside.pk, filename="x.csv", content=content, actor=intake, queue=False
        )
        done = import_run_process(run_id=run.pk, chunk_size=2, overlap=True)
    assert (done.created, done.duplicate) == (0, 7)
    assert Referral.objects.count() == 7
