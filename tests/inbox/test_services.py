"""Splitting and filing through the referrals services."""

import dataclasses
import io

import pytest
from pypdf import PdfReader

from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.inbox.models import InboxStatus
from refloop.inbox.services import (
    inbox_document_discard,
    inbox_document_split,
    inbox_part_file_new_referral,
    inbox_part_file_to_referral,
    page_ranges_parse,
)
from refloop.referrals.enums import BlockerKind, Channel, ChecklistStatus, DocumentKind
from tests import factories
from tests.inbox.conftest import received


def test_it_parses_page_ranges():
    assert page_ranges_parse("1-2, 3 ,4–6") == [(1, 2), (3, 3), (4, 6)]
    with pytest.raises(DomainError, match="'two'"):
        page_ranges_parse("1, two")


def test_it_splits_within_the_pages_and_without_overlap(fax_document, intake):
    with pytest.raises(DomainError, match="not within 1-3"):
        inbox_document_split(document_id=fax_document.pk, ranges=[(1, 4)], actor=intake)
    with pytest.raises(DomainError, match="overlap"):
        inbox_document_split(document_id=fax_document.pk, ranges=[(1, 2), (2, 3)], actor=intake)
    parts = inbox_document_split(document_id=fax_document.pk, ranges=[(3, 3), (1, 2)], actor=intake)
    assert [(p.first_page, p.last_page) for p in parts] == [(1, 2), (3, 3)]
    # Splitting again replaces the unfiled parts.
    inbox_document_split(document_id=fax_document.pk, ranges=[(1, 3)], actor=intake)
    assert fax_document.parts.count() == 1


def test_it_refuses_people_who_do_not_receive_referrals(fax_document, liaison, triage):
    for person in (liaison, triage):
        with pytest.raises(NotAllowed):
            inbox_document_split(document_id=fax_document.pk, ranges=[(1, 3)], actor=person)


def test_it_files_a_part_as_a_new_fax_referral(fax_document, intake, line, clinician):
    first, second = inbox_document_split(
        document_id=fax_document.pk, ranges=[(1, 2), (3, 3)], actor=intake
    )
    # The form said phone; the document came by fax, and the referral says so.
    submission = dataclasses.replace(
        factories.submission(line=line, clinician=clinician), channel=Channel.PHONE
    )
    result = inbox_part_file_new_referral(part_id=first.pk, submission=submission, actor=intake)
    referral = result.referral
    assert result.created and referral.channel == Channel.FAX
    assert referral.received_at == fax_document.received_at
    document = referral.documents.get()
    assert document.kind == DocumentKind.REFERRAL_LETTER
    with document.original.open("rb") as handle:
        assert len(PdfReader(io.BytesIO(handle.read())).pages) == 2
    first.refresh_from_db()
    fax_document.refresh_from_db()
    assert first.referral == referral and first.referral_document == document and first.filed_by
    assert fax_document.status == InboxStatus.PARTLY_FILED and fax_document.next_check_at
    with pytest.raises(Conflict):
        inbox_part_file_new_referral(part_id=first.pk, submission=submission, actor=intake)
    assert referral.__class__.objects.count() == 1


def test_it_files_a_part_to_a_checklist_item_and_stops_the_clock(fax_document, intake, line):
    referral = factories.referral(line=line, complete=False)
    item = referral.checklist.get()
    assert referral.blockers.filter(kind=BlockerKind.MISSING_RECORDS, resolved_at=None).exists()
    (part,) = inbox_document_split(document_id=fax_document.pk, ranges=[(1, 3)], actor=intake)
    inbox_part_file_to_referral(
        part_id=part.pk,
        referral_id=referral.pk,
        checklist_item_id=item.pk,
        kind=DocumentKind.NOTES,
        actor=intake,
    )
    item.refresh_from_db()
    fax_document.refresh_from_db()
    assert item.status == ChecklistStatus.RECEIVED and item.document.referral == referral
    assert not referral.blockers.filter(kind=BlockerKind.MISSING_RECORDS, resolved_at=None).exists()
    assert fax_document.status == InboxStatus.FILED and fax_document.next_check_at is None


def test_it_refuses_a_checklist_item_of_another_referral(fax_document, intake, line):
    mine, other = factories.referral(line=line), factories.referral(line=line)
    (part,) = inbox_document_split(document_id=fax_document.pk, ranges=[(1, 3)], actor=intake)
    with pytest.raises(DomainError, match="not on"):
        inbox_part_file_to_referral(
            part_id=part.pk,
            referral_id=mine.pk,
            checklist_item_id=other.checklist.get().pk,
            actor=intake,
        )
    assert mine.documents.count() == 1 and part.__class__.objects.get().filed_at is None


def test_it_discards_with_a_reason_only(intake):
    document = received(provider_id="junk")
    with pytest.raises(DomainError, match="why"):
        inbox_document_discard(document_id=document.pk, reason=" ", actor=intake)
    inbox_document_discard(document_id=document.pk, reason="Advertising fax", actor=intake)
    document.refresh_from_db()
    assert document.status == InboxStatus.DISCARDED and document.discarded_by == intake
    assert document.next_check_at is None and document.original
    with pytest.raises(Conflict):
        inbox_document_split(document_id=document.pk, ranges=[(1, 1)], actor=intake)


def test_it_keeps_an_email_without_a_readable_attachment(db):
    document = received(content=b"PK\x03\x04 a word file", provider_id="docx", filename="a.docx")
    assert "not a PDF, TIFF, PNG or JPEG" in document.error and document.original
