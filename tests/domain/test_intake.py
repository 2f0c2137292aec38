"""One way in (DESIGN.md): referral_receive, documents, checklist, duplicates, identifiers."""

import dataclasses
import io
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from refloop.core.errors import DomainError, NotAllowed
from refloop.directory.enums import DocumentKind
from refloop.directory.models import Clinician, Patient
from refloop.directory.validators import npi_is_valid, validate_icd10cm, validate_npi
from refloop.referrals.enums import BlockerKind, CancelReason, ChecklistStatus, EventKind, State
from refloop.referrals.models import Document, Referral, ReferralEvent
from refloop.referrals.services import (
    IncomingDocument,
    PatientData,
    ReferrerData,
    checklist_item_set,
    document_add,
    referral_receive,
    referral_transition,
)
from tests import factories


def open_blockers(referral) -> set[str]:
    return set(referral.blockers.filter(resolved_at__isnull=True).values_list("kind", flat=True))


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def image_bytes(fmt: str, pages: int = 1, size=(200, 260)) -> bytes:
    frames = [Image.new("L", size, color=40 * (n + 1)) for n in range(pages)]
    out = io.BytesIO()
    if pages > 1:
        frames[0].save(out, format=fmt, save_all=True, append_images=frames[1:])
    else:
        frames[0].convert("RGB" if fmt == "JPEG" else "L").save(out, format=fmt)
    return out.getvalue()


def pdf_page_count(content: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", content))


def with_patient(submission, **changes):
    return dataclasses.replace(
        submission, patient=dataclasses.replace(submission.patient, **changes)
    )


# Resends and matching


def test_it_answers_a_resend_with_the_same_referral_and_creates_nothing(line, clinician, intake):
    sub = factories.submission(
        line=line,
        clinician=clinician,
        documents=[factories.notes_pdf()],
        sender_system="ehr-north",
        sender_reference="ORD-778",
    )
    first = referral_receive(submission=sub, actor=intake)
    counts = (Referral.objects.count(), Patient.objects.count(), ReferralEvent.objects.count())
    documents = Document.objects.count()

    again = referral_receive(submission=sub, actor=intake)

    assert first.created and not again.created
    assert again.referral.pk == first.referral.pk
    assert (Referral.objects.count(), Patient.objects.count(), ReferralEvent.objects.count()) == (
        counts
    )
    assert Document.objects.count() == documents


def test_it_keeps_the_same_reference_from_another_sender_apart(line, clinician, intake):
    sub = factories.submission(
        line=line, clinician=clinician, sender_system="ehr-north", sender_reference="ORD-1"
    )
    first = referral_receive(submission=sub, actor=intake).referral
    other = referral_receive(
        submission=dataclasses.replace(sub, sender_system="ehr-south"), actor=intake
    ).referral
    assert other.pk != first.pk


def test_it_matches_the_patient_by_mrn(line, clinician, intake):
    sub = with_patient(factories.submission(line=line, clinician=clinician), mrn="MRN-0042")
    first = referral_receive(submission=sub, actor=intake).referral
    # Same MRN, name spelled differently: the same person.
    renamed = with_patient(
        factories.submission(line=factories.service_line("cardio", "Cardiology"), clinician=None),
        mrn="MRN-0042",
        last_name="Someoneelse",
    )
    second = referral_receive(submission=renamed, actor=intake).referral
    assert second.patient_id == first.patient_id
    assert Patient.objects.count() == 1


def test_it_refuses_a_referral_whose_mrn_is_another_persons(line, clinician, intake):
    """A sender's MRN may be its own numbering: the same MRN with another date of birth is not
    our patient, and the referral is refused with the reason rather than filed on them."""
    sub = with_patient(factories.submission(line=line, clinician=clinician), mrn="MRN-0042")
    first = referral_receive(submission=sub, actor=intake).referral
    other = with_patient(
        factories.submission(line=factories.service_line("cardio", "Cardiology"), clinician=None),
        mrn="MRN-0042",
        first_name="Other",
        birth_date=first.patient.birth_date.replace(year=1950),
    )
    with pytest.raises(DomainError, match="MRN belongs to a patient with another date of birth"):
        referral_receive(submission=other, actor=intake)
    assert Referral.objects.count() == 1 and Patient.objects.count() == 1


def test_it_matches_the_patient_by_name_and_date_of_birth(line, clinician, intake):
    sub = factories.submission(line=line, clinician=clinician, last_name="Quarry")
    first = referral_receive(submission=sub, actor=intake).referral
    same = with_patient(sub, first_name="ALEX", last_name=" quarry ")
    assert referral_receive(submission=same, actor=intake).referral.patient_id == first.patient_id
    other_birthday = with_patient(sub, birth_date=sub.patient.birth_date.replace(year=1971))
    other = referral_receive(submission=other_birthday, actor=intake).referral
    assert other.patient_id != first.patient_id
    assert Patient.objects.count() == 2


def test_it_links_a_known_referrer_and_their_practice(line, clinician, intake):
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    assert referral.referring_clinician == clinician
    assert referral.referring_organization == clinician.organizations.first()
    assert BlockerKind.REFERRER_NOT_VERIFIED not in open_blockers(referral)


def test_it_receives_from_a_referrer_not_in_the_directory_with_a_blocker(line, intake):
    referral = factories.referral(line=line, known_referrer=False, actor=intake)
    assert referral.referring_clinician is None
    assert "Dr Unknown" in referral.referrer_as_given
    assert open_blockers(referral) == {BlockerKind.REFERRER_NOT_VERIFIED}


def test_it_receives_from_a_referrer_without_an_npi_with_a_blocker(line, intake):
    no_npi = Clinician.objects.create(first_name="Robin", last_name="Newdoc", npi=None)
    sub = dataclasses.replace(
        factories.submission(line=line, documents=[factories.notes_pdf()]),
        referrer=ReferrerData(clinician_id=no_npi.pk),
    )
    referral = referral_receive(submission=sub, actor=intake).referral
    assert referral.referring_clinician == no_npi
    assert open_blockers(referral) == {BlockerKind.REFERRER_NOT_VERIFIED}


def test_it_keeps_a_referrer_with_a_wrong_npi_as_given(line, intake):
    sub = dataclasses.replace(
        factories.submission(line=line, documents=[factories.notes_pdf()]),
        referrer=ReferrerData(npi="1234567890", name="Dr Typo"),
    )
    referral = referral_receive(submission=sub, actor=intake).referral
    assert referral.referring_clinician is None
    assert "NPI 1234567890" in referral.referrer_as_given
    assert open_blockers(referral) == {BlockerKind.REFERRER_NOT_VERIFIED}


def test_it_refuses_intake_by_a_role_without_it(line, clinician, liaison, scheduler):
    for person in (liaison, scheduler):
        with pytest.raises(NotAllowed):
            referral_receive(
                submission=factories.submission(line=line, clinician=clinician), actor=person
            )
    assert not Referral.objects.exists()


# Documents


@pytest.mark.parametrize(
    "incoming, message",
    [
        (
            IncomingDocument(kind="notes", filename="letter.docx", content=b"PK\x03\x04 word"),
            "'letter.docx' is not a PDF, TIFF, PNG or JPEG file.",
        ),
        (
            IncomingDocument(kind="notes", filename="fake.pdf", content=b"MZ\x90\x00 not a pdf"),
            "'fake.pdf' is not a PDF, TIFF, PNG or JPEG file.",
        ),
        (
            IncomingDocument(kind="notes", filename="empty.pdf", content=b""),
            "'empty.pdf' is empty.",
        ),
    ],
)
def test_it_refuses_a_bad_document_and_writes_nothing(
    line, clinician, intake, settings, incoming, message
):
    sub = factories.submission(line=line, clinician=clinician, documents=[incoming])
    with pytest.raises(DomainError) as refused:
        referral_receive(submission=sub, actor=intake)
    assert message in refused.value.message
    assert not Referral.objects.exists()
    assert not Patient.objects.exists()
    assert stored_files(settings) == []


def test_it_refuses_a_document_over_the_size_limit_and_writes_nothing(
    line, clinician, intake, settings
):
    settings.REFLOOP_MAX_UPLOAD_BYTES = 2_000_000
    big = IncomingDocument(
        kind="imaging", filename="scan.pdf", content=factories.PDF_BYTES + b"0" * 2_500_000
    )
    sub = factories.submission(
        line=line, clinician=clinician, documents=[factories.notes_pdf(), big]
    )
    with pytest.raises(DomainError) as refused:
        referral_receive(submission=sub, actor=intake)
    assert refused.value.message == "'scan.pdf' is 2.5 MB; the limit is 2 MB."
    assert not Referral.objects.exists()
    assert not Patient.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_it_leaves_no_file_behind_when_a_later_document_turns_out_damaged(
    line, clinician, intake, settings
):
    damaged = IncomingDocument(kind="imaging", filename="fax.tif", content=b"II*\x00garbage")
    sub = factories.submission(
        line=line, clinician=clinician, documents=[factories.notes_pdf(), damaged]
    )
    with pytest.raises(DomainError, match="damaged"):
        referral_receive(submission=sub, actor=intake)
    assert not Referral.objects.exists()
    assert not Patient.objects.exists()
    assert stored_files(settings) == []


def test_it_keeps_a_tiff_fax_and_converts_it_to_a_two_page_pdf(line, clinician, intake, settings):
    fax = image_bytes("TIFF", pages=2)
    sub = factories.submission(
        line=line,
        clinician=clinician,
        documents=[IncomingDocument(kind="notes", filename="Fax 0312.TIF", content=fax)],
    )
    referral = referral_receive(submission=sub, actor=intake).referral
    document = referral.documents.get()
    assert document.content_type == "image/tiff"
    assert document.pages == 2
    with document.original.open("rb") as f:
        assert f.read() == fax
    with document.viewable.open("rb") as f:
        pdf = f.read()
    assert pdf.startswith(b"%PDF-")
    assert pdf_page_count(pdf) == 2
    # File names are opaque: nothing the sender wrote, such as a name, lands in a path.
    assert "Fax" not in document.original.name
    assert len(stored_files(settings)) == 2


@pytest.mark.parametrize(
    "fmt, filename, content_type",
    [("PNG", "card.png", "image/png"), ("JPEG", "card.jpg", "image/jpeg")],
)
def test_it_stores_a_png_or_jpeg_as_it_came(
    line, clinician, intake, settings, fmt, filename, content_type
):
    content = image_bytes(fmt)
    referral = factories.referral(line=line, clinician=clinician, actor=intake)
    document = document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(kind="insurance_card", filename=filename, content=content),
        actor=intake,
    )
    assert document.content_type == content_type
    assert not document.viewable
    with document.original.open("rb") as f:
        assert f.read() == content
    assert document.size == len(content)


# Checklist and the missing-records blocker


@pytest.fixture
def two_item_line(db):
    return factories.service_line(
        code="cardiology",
        name="Cardiology",
        checklist=(DocumentKind.NOTES, DocumentKind.IMAGING),
    )


def checklist(referral) -> dict[str, str]:
    return dict(referral.checklist.values_list("document_kind", "status"))


def test_it_ticks_the_checklist_by_document_kind(two_item_line, clinician, intake):
    referral = factories.referral(line=two_item_line, clinician=clinician, actor=intake)
    assert checklist(referral) == {
        DocumentKind.NOTES: ChecklistStatus.RECEIVED,
        DocumentKind.IMAGING: ChecklistStatus.REQUIRED,
    }
    assert open_blockers(referral) == {BlockerKind.MISSING_RECORDS}
    # A document of a kind the checklist does not ask for ticks nothing.
    document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(kind="labs", filename="labs.pdf", content=factories.PDF_BYTES),
        actor=intake,
    )
    assert open_blockers(referral) == {BlockerKind.MISSING_RECORDS}


def test_it_resolves_missing_records_when_the_last_item_arrives(two_item_line, clinician, intake):
    referral = factories.referral(line=two_item_line, clinician=clinician, actor=intake)
    assert Referral.objects.get(pk=referral.pk).next_due_at is None  # waiting on records
    document_add(
        referral_id=referral.pk,
        incoming=IncomingDocument(kind="imaging", filename="mri.pdf", content=factories.PDF_BYTES),
        actor=intake,
    )
    assert checklist(referral)[DocumentKind.IMAGING] == ChecklistStatus.RECEIVED
    assert open_blockers(referral) == set()
    row = Referral.objects.get(pk=referral.pk)
    assert row.open_blocker_count == 0
    assert row.next_due_at is not None  # clocks run again
    assert referral.events.filter(
        kind=EventKind.BLOCKER_RESOLVED, code=BlockerKind.MISSING_RECORDS
    ).exists()


def test_it_resolves_missing_records_when_the_last_item_is_waived(two_item_line, clinician, intake):
    referral = factories.referral(line=two_item_line, clinician=clinician, actor=intake)
    item = referral.checklist.get(document_kind=DocumentKind.IMAGING)
    checklist_item_set(item=item, status=ChecklistStatus.WAIVED, actor=intake)
    assert open_blockers(referral) == set()
    # Asking for it again after all reopens the blocker.
    item.refresh_from_db()
    checklist_item_set(item=item, status=ChecklistStatus.REQUESTED, actor=intake)
    assert open_blockers(referral) == {BlockerKind.MISSING_RECORDS}
    assert Referral.objects.get(pk=referral.pk).open_blocker_count == 1


def test_it_opens_missing_records_when_nothing_came_with_the_referral(two_item_line, intake):
    referral = factories.referral(
        line=two_item_line, clinician=factories.referrer(), actor=intake, complete=False
    )
    assert set(checklist(referral).values()) == {ChecklistStatus.REQUIRED}
    assert open_blockers(referral) == {BlockerKind.MISSING_RECORDS}


# Duplicates


def test_it_returns_an_open_referral_of_the_same_patient_and_line_as_a_possible_duplicate(
    line, clinician, intake
):
    sub = factories.submission(line=line, clinician=clinician, last_name="Twice")
    first = referral_receive(submission=sub, actor=intake)
    second = referral_receive(submission=sub, actor=intake)
    assert first.possible_duplicates == []
    assert second.created
    assert [r.pk for r in second.possible_duplicates] == [first.referral.pk]
    received = second.referral.events.get(kind=EventKind.RECEIVED)
    assert received.details == {"possible_duplicates": [first.referral.pk]}


def test_it_does_not_call_an_ended_referral_or_another_line_a_duplicate(line, clinician, intake):
    sub = factories.submission(line=line, clinician=clinician, last_name="Again")
    first = referral_receive(submission=sub, actor=intake).referral
    other_line = factories.service_line("dermatology", "Dermatology")
    elsewhere = referral_receive(
        submission=dataclasses.replace(sub, service_line_id=other_line.pk), actor=intake
    )
    assert elsewhere.possible_duplicates == []
    referral_transition(
        referral_id=first.pk,
        to_state=State.CANCELLED,
        actor=intake,
        reason=CancelReason.ENTERED_IN_ERROR,
    )
    assert referral_receive(submission=sub, actor=intake).possible_duplicates == []


# Identifiers


@pytest.mark.parametrize("code", ["12345", "M17.111111", "ABC", "M1", "U1.1", "M17-11"])
def test_it_refuses_a_referral_with_an_invalid_icd10cm_code(line, clinician, intake, code):
    sub = dataclasses.replace(
        factories.submission(line=line, clinician=clinician), diagnoses=("E11.9", code)
    )
    with pytest.raises(DomainError) as refused:
        referral_receive(submission=sub, actor=intake)
    assert f"'{code}' is not an ICD-10-CM code" in refused.value.message
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    "code", ["M17.11", "E11.9", "Z00.00", "S72.001A", "I10", "U07.1", "m17.11"]
)
def test_it_accepts_valid_icd10cm_codes(code):
    validate_icd10cm(code)


def test_it_keeps_diagnoses_in_upper_case(line, clinician, intake):
    sub = dataclasses.replace(
        factories.submission(line=line, clinician=clinician), diagnoses=("m17.11", "U07.1")
    )
    referral = referral_receive(submission=sub, actor=intake).referral
    assert Referral.objects.get(pk=referral.pk).diagnoses == ["M17.11", "U07.1"]


def test_it_refuses_everything_wrong_with_a_submission_at_once(line, intake):
    sub = factories.submission(line=line, clinician=None)
    sub = dataclasses.replace(
        sub,
        reason="  ",
        diagnoses=("nope",),
        patient=PatientData(first_name="", last_name="X", birth_date=sub.patient.birth_date),
    )
    with pytest.raises(DomainError) as refused:
        referral_receive(submission=sub, actor=intake)
    message = refused.value.message
    assert "Give the reason" in message
    assert "first and last name" in message
    assert "'nope'" in message


def test_it_accepts_the_cms_example_npi():
    assert npi_is_valid("1234567893")
    validate_npi("1234567893")


@pytest.mark.parametrize("npi", ["1234567890", "1234567894", "2234567893"])
def test_it_refuses_an_npi_with_a_wrong_check_digit(npi):
    assert not npi_is_valid(npi)
    with pytest.raises(ValidationError, match="check digit"):
        validate_npi(npi)


@pytest.mark.parametrize("npi", ["123456789", "12345678930", "12345678a3", ""])
def test_it_refuses_an_npi_that_is_not_ten_digits(npi):
    with pytest.raises(ValidationError, match="exactly 10 digits"):
        validate_npi(npi)


def test_it_makes_valid_synthetic_npis():
    assert all(npi_is_valid(factories.npi(n)) for n in range(1, 500))


def test_it_removes_a_nested_document_when_the_outer_transaction_fails(
    line, clinician, intake, settings
):
    from django.db import transaction

    from refloop.referrals.services import document_add, files_removed_on_failure

    referral = factories.referral(line=line, clinician=clinician, actor=intake, complete=False)
    before = stored_files(settings)
    with pytest.raises(RuntimeError), files_removed_on_failure(), transaction.atomic():
        # A letter stored inside a larger piece of work (a status update job, a booking)...
        document_add(referral_id=referral.pk, incoming=factories.notes_pdf(), actor=intake)
        raise RuntimeError("...that fails after the document was written")
    assert stored_files(settings) == before
