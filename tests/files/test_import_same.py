"""Importing a file makes exactly what referral_receive makes for its rows one by one (DESIGN.md,
One way in): the chunked import and the bulk path against the single door,
on the same file, across chunk edges."""

from django.db import transaction

from refloop.core.errors import DomainError
from refloop.directory.models import ServiceLine
from refloop.interop.files.models import ImportRun
from refloop.interop.files.reading import rows_read
from refloop.interop.files.rows import Mapping
from refloop.interop.files.services import import_run_process, import_start
from refloop.referrals.models import Referral
from refloop.referrals.services import referral_receive
from tests import factories
from tests.files.conftest import csv_bytes, row
from tests.files.test_bulk import Rollback, snapshot


def _file(clinician):
    return csv_bytes(
        [
            row(1, clinician),
            row(2, clinician, Urgency="STAT"),
            row(3),  # no NPI: referrer not verified
            row(4, clinician, Last="Importee1"),  # row 1's patient: a possible duplicate
            row(5, DOB="31/31/1961"),  # not a date
            row(6, MRN="M-1"),
            row(7, MRN="M-1", DOB="01/01/1950"),  # row 6's MRN, another person
            row(1, clinician),  # a resend of row 1
            row(8, Dx="banana"),  # not a code
            row(9, clinician, Specialty="Bones & Joints", MRN="M-1", Last="Other"),  # row 6's MRN
            row(10, **{"Referral Date": "12/31/2999 10:00"}),  # in the future
            row(11, clinician, Specialty="Imaging"),  # no checklist: its clocks run at once
            row(12, clinician, Specialty="Imaging", Urgency="Urgent"),
        ]
    )


def _outcomes(run_id):
    run = ImportRun.objects.get(pk=run_id)
    reasons = {q.row_number: q.reasons for q in run.quarantine.all()}
    return (run.created, run.duplicate, run.quarantined), reasons


def _imported(source, content, actor):
    before = Referral.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        with transaction.atomic():
            run = import_start(
                source_id=source.pk, filename="x.csv", content=content, actor=actor, queue=False
            )
            import_run_process(run_id=run.pk, chunk_size=3)
            result = (_outcomes(run.pk), snapshot(before))
            raise Rollback
    except Rollback:
        pass
    return result


def _one_by_one(source, content, actor, tmp_path):
    """The same rows read with the same mapping, each through referral_receive."""
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    lines = {}
    for pk, code, name in ServiceLine.objects.values_list("pk", "code", "name"):
        lines[code], lines[name] = pk, pk
    mapping = Mapping(
        source.mapping, lines=lines, sender_system=source.sender_system,
        default_received_at=factories.ago(hours=1),
    )  # fmt: skip
    before = Referral.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    counts, reasons = [0, 0, 0], {}
    try:
        with transaction.atomic():
            for number, raw in rows_read(str(path), "csv")[1]:
                parsed = mapping.parse(raw)
                try:
                    if parsed.problems:
                        raise DomainError(" ".join(parsed.problems))
                    created = referral_receive(submission=parsed.submission, actor=actor).created
                except DomainError as error:
                    counts[2] += 1
                    reasons[number] = parsed.problems or [error.message]
                else:
                    counts[0 if created else 1] += 1
            result = ((tuple(counts), reasons), snapshot(before))
            raise Rollback
    except Rollback:
        pass
    return result


def test_it_makes_what_referral_receive_makes_row_by_row(northside, clinician, intake, tmp_path):
    factories.service_line(code="imaging", name="Imaging", checklist=())
    content = _file(clinician)
    (imported_counts, imported_reasons), imported_rows = _imported(northside, content, intake)
    (single_counts, single_reasons), single_rows = _one_by_one(northside, content, intake, tmp_path)
    assert imported_counts == single_counts == (8, 1, 4)
    assert imported_reasons == single_reasons
    rows, coverages, patients = imported_rows
    assert len(rows) == 8
    assert imported_rows == single_rows
    # Both kinds of clocks were compared: paused at once (records missing) and running.
    clocks = [clock for *_, referral_clocks in rows for clock in referral_clocks]
    assert any(c["due_at"] for c in clocks) and any(c["paused_since"] for c in clocks)
