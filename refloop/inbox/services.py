"""Every write to the document inbox.

Receiving commits the file as it came before anything reads it: a file we cannot read is still
kept, with the error, for a person to look at (never dropped). Filing goes through the referrals
services only (referral_receive for a new referral, document_add and checklist_item_set for an
existing one), so the referral's events, checklist and blockers move as for any other document.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from refloop.core.calendar import practice_calendar
from refloop.core.errors import Conflict, DomainError, NotFound
from refloop.core.text import nul_shown
from refloop.directory.enums import DocumentKind
from refloop.inbox.models import OPEN_STATUSES, InboxDocument, InboxPart, InboxStatus, Source
from refloop.referrals.enums import Channel, ChecklistStatus
from refloop.referrals.models import ChecklistItem, Referral
from refloop.referrals.services import (
    IncomingDocument,
    ReceiveResult,
    ReferralSubmission,
    checklist_item_set,
    document_add,
    files_removed_on_failure,
    referral_receive,
    require,
)
from refloop.referrals.services.documents import (
    _remove_on_rollback,  # files written here go too if the transaction rolls back
    document_check,
    tiff_to_pdf,
)

log = logging.getLogger(__name__)

# Filed referrals made from the inbox carry this as sender_system, and the part as the reference:
# filing the same part twice (a double click, a retry after a crash) gives the same referral.
SENDER_SYSTEM = "inbox"


@dataclass(frozen=True)
class Arrival:
    """One file as a channel delivered it, before anything was read from it."""

    source: str
    provider: str
    provider_id: str
    filename: str
    content: bytes
    sender: str = ""
    recipient: str = ""
    received_at: dt.datetime | None = None
    raw: dict = field(default_factory=dict)
    # What the channel already knows is wrong (a fax the provider could not receive).
    error: str = ""


def file_within() -> dt.timedelta:
    """How long an unfiled document may wait, in business hours (settings)."""
    return dt.timedelta(hours=float(settings.REFLOOP_INBOX_FILE_WITHIN_HOURS))


# Receiving ------------------------------------------------------------------------------------


def inbox_document_receive(*, arrival: Arrival) -> tuple[InboxDocument, bool]:
    """Keep what arrived; returns (document, created). The same provider id again returns the
    first document unchanged (a resent webhook, a mailbox read twice)."""
    arrival = _storable(arrival)
    existing = _already_received(arrival)
    if existing:
        return existing, False
    try:
        with files_removed_on_failure(), transaction.atomic():
            return _store(arrival), True
    except IntegrityError:
        # The same delivery raced in twice: the other copy won.
        existing = _already_received(arrival)
        if existing is None:
            raise
        return existing, False


def _storable(arrival: Arrival) -> Arrival:
    """Anyone can send an e-mail with a NUL in its Message-ID, From or file name, and PostgreSQL
    stores none: kept visible as U+2400, where the failed write would have stopped the mailbox
    at that message on every poll."""
    return dataclasses.replace(
        arrival,
        provider_id=nul_shown(arrival.provider_id),
        sender=nul_shown(arrival.sender),
        recipient=nul_shown(arrival.recipient),
        filename=nul_shown(arrival.filename),
        raw={
            nul_shown(key): nul_shown(value) if isinstance(value, str) else value
            for key, value in arrival.raw.items()
        },
    )


def _already_received(arrival: Arrival) -> InboxDocument | None:
    if not arrival.provider_id:
        return None
    return InboxDocument.objects.filter(
        provider=arrival.provider, provider_id=arrival.provider_id
    ).first()


def _store(arrival: Arrival) -> InboxDocument:
    received_at = arrival.received_at or timezone.now()
    document = InboxDocument(
        source=arrival.source,
        provider=arrival.provider,
        provider_id=arrival.provider_id[:200],
        sender=arrival.sender[:200],
        recipient=arrival.recipient[:200],
        received_at=received_at,
        filename=arrival.filename[:200],
        size=len(arrival.content),
        raw=arrival.raw,
        error=arrival.error,
    )
    _clock_start(document)
    if arrival.content:
        # The original first, as it came: whatever happens next, it is kept.
        document.original.save(arrival.filename or "file", ContentFile(arrival.content), False)
        _remove_on_rollback(document.original)
        try:
            _make_viewable(document, arrival)
        except DomainError as problem:
            document.error = " ".join(filter(None, [document.error, problem.message]))
        else:
            if document.viewable:
                _remove_on_rollback(document.viewable)
    elif not document.error:
        document.error = "Nothing arrived: the file is empty."
    document.save()
    log.info(
        "inbox document %s received from %s (%s pages%s)",
        document.pk,
        document.provider,
        document.page_count,
        ", with an error" if document.error else "",
    )
    return document


def _make_viewable(document: InboxDocument, arrival: Arrival) -> None:
    """A PDF of every page; a TIFF fax (or a photo) is converted, a PDF is checked it opens."""
    incoming = IncomingDocument(
        kind=DocumentKind.OTHER, filename=arrival.filename or "file", content=arrival.content
    )
    document.content_type = document_check(incoming)
    if document.content_type == "application/pdf":
        document.page_count = _pdf_page_count(arrival.content)
        return
    pdf, document.page_count = tiff_to_pdf(arrival.content)  # Pillow reads PNG and JPEG too
    document.viewable.save("view.pdf", ContentFile(pdf), save=False)


def _pdf_page_count(content: bytes) -> int:
    try:
        pages = len(PdfReader(io.BytesIO(content)).pages)
    except (PyPdfError, ValueError, OSError) as exc:
        raise DomainError("This PDF is damaged and cannot be read.", code="file_damaged") from exc
    if pages == 0:
        raise DomainError("This PDF has no pages.", code="file_damaged")
    return pages


# The clock ------------------------------------------------------------------------------------


def _clock_start(document: InboxDocument) -> None:
    calendar = practice_calendar()
    seconds = int(file_within().total_seconds())
    document.due_at = calendar.add(document.received_at, seconds)
    document.at_risk_at = calendar.add(document.received_at, int(seconds * 0.75))
    document.next_check_at = document.at_risk_at


def _status_refresh(document: InboxDocument) -> None:
    """Filed once every page is in a filed part; the clock stops then."""
    parts = list(document.parts.all())
    filed_pages = set()
    for part in parts:
        if part.is_filed:
            filed_pages.update(range(part.first_page, part.last_page + 1))
    if document.status == InboxStatus.DISCARDED:
        return
    if document.page_count and filed_pages >= set(range(1, document.page_count + 1)):
        document.status = InboxStatus.FILED
    elif filed_pages:
        document.status = InboxStatus.PARTLY_FILED
    else:
        document.status = InboxStatus.UNFILED
    if document.status not in OPEN_STATUSES:
        document.next_check_at = None
    document.save(update_fields=["status", "next_check_at"])


# Splitting ------------------------------------------------------------------------------------

RANGE = re.compile(r"^\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*$")


def page_ranges_parse(text: str) -> list[tuple[int, int]]:
    """ "1-2, 3, 4-6" -> [(1, 2), (3, 3), (4, 6)]; a clear error naming the bad piece."""
    ranges = []
    for piece in filter(None, (p.strip() for p in text.split(","))):
        match = RANGE.match(piece)
        if not match:
            raise DomainError(f"'{piece[:20]}' is not a page or a page range like 2-4.")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        ranges.append((first, last))
    if not ranges:
        raise DomainError("Give the page ranges of the parts, like 1-2, 3-5.")
    return ranges


@transaction.atomic
def inbox_document_split(
    *, document_id: int, ranges: list[tuple[int, int]], actor
) -> list[InboxPart]:
    """Replace the unfiled parts with these page ranges. Filed parts stay as they are; a new
    part may not overlap one, nor another new part, nor run past the last page."""
    require(actor, "receive_referral")
    document = _document_locked(document_id)
    _require_open(document)
    if not document.page_count:
        raise DomainError("This document has no readable pages to split.", code="no_pages")
    filed = [p for p in document.parts.all() if p.is_filed]
    taken = {page for p in filed for page in range(p.first_page, p.last_page + 1)}
    problems = []
    for first, last in sorted(ranges):
        if first < 1 or last < first or last > document.page_count:
            problems.append(
                f"Pages {first}-{last} are not within 1-{document.page_count}, in order."
            )
            continue
        pages = set(range(first, last + 1))
        if pages & taken:
            problems.append(f"Pages {first}-{last} overlap another part.")
        taken |= pages
    if problems:
        raise DomainError(" ".join(problems), code="page_ranges")
    document.parts.filter(filed_at__isnull=True).delete()
    return [
        InboxPart.objects.create(document=document, first_page=first, last_page=last)
        for first, last in sorted(ranges)
    ]


def _document_locked(document_id: int) -> InboxDocument:
    document = InboxDocument.objects.select_for_update().filter(pk=document_id).first()
    if document is None:
        raise NotFound("No such inbox document.")
    return document


def _require_open(document: InboxDocument) -> None:
    if document.status == InboxStatus.DISCARDED:
        raise Conflict("This document was discarded.", code="inbox_discarded")
    if document.status == InboxStatus.FILED:
        raise Conflict("Every page of this document is filed already.", code="inbox_filed")


# Filing ---------------------------------------------------------------------------------------


def part_pdf(part: InboxPart) -> bytes:
    """The part's pages as a PDF of their own (from the viewable PDF of the whole document)."""
    document = part.document
    source = document.viewable if document.viewable else document.original
    with source.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    writer = PdfWriter()
    for index in range(part.first_page - 1, part.last_page):
        writer.add_page(reader.pages[index])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _part_incoming(part: InboxPart, kind: str) -> IncomingDocument:
    document = part.document
    return IncomingDocument(
        kind=kind,
        # Ids only in the name: it is shown on the referral page and in downloads.
        filename=f"{document.source}-{document.pk}-pages-{part.first_page}-{part.last_page}.pdf",
        title=f"{Source(document.source).label} {document.pk}, pages {part.pages_label}",
        content=part_pdf(part),
    )


def _part_locked(part_id: int) -> InboxPart:
    part = (
        InboxPart.objects.select_for_update(of=("self",))
        .select_related("document")
        .filter(pk=part_id)
        .first()
    )
    if part is None:
        raise NotFound("No such part.")
    return part


def _part_claim(part_id: int) -> InboxPart:
    """Lock the document, then the part (the order splitting takes too, so two coordinators
    never deadlock): the document's status is recomputed from all its parts."""
    document_id = InboxPart.objects.filter(pk=part_id).values_list("document_id", flat=True)
    if not document_id:
        raise NotFound("No such part.")
    _require_open(_document_locked(document_id[0]))
    part = _part_locked(part_id)
    if part.is_filed:
        raise Conflict("This part was filed already.", code="inbox_part_filed")
    return part


def source_channel(source: str) -> str:
    """The referral channel of a document's source (a drop folder is fed by a fax server or a
    scanner; settings say which)."""
    if source == Source.EMAIL:
        return Channel.EMAIL
    if source == Source.FOLDER:
        return settings.REFLOOP_INBOX_FOLDER_CHANNEL
    return Channel.FAX


def inbox_part_file_new_referral(
    *,
    part_id: int,
    submission: ReferralSubmission,
    actor,
    kind: str = DocumentKind.REFERRAL_LETTER,
) -> ReceiveResult:
    """The part starts a new referral: the intake form's submission, with the channel of the
    document's source, its arrival time, and the part's pages as the first document."""
    require(actor, "receive_referral")
    with files_removed_on_failure(), transaction.atomic():
        part = _part_claim(part_id)
        document = part.document
        submission = dataclasses.replace(
            submission,
            channel=source_channel(document.source),
            sender_system=SENDER_SYSTEM,
            sender_reference=f"part-{part.pk}",
            # The referral arrived when the fax did: its clocks start then.
            received_at=document.received_at,
            documents=(_part_incoming(part, kind), *submission.documents),
        )
        result = referral_receive(submission=submission, actor=actor)
        first_document = result.referral.documents.order_by("pk").first()
        _part_filed(part, referral=result.referral, document=first_document, actor=actor)
        part.new_referral = True
        part.kind = kind
        part.save(update_fields=["new_referral", "kind"])
    return result


def inbox_part_file_to_referral(
    *,
    part_id: int,
    referral_id: int,
    actor,
    kind: str = DocumentKind.NOTES,
    checklist_item_id: int | None = None,
) -> InboxPart:
    """The part becomes a document of an existing referral; with a checklist item chosen, that
    item is received with it (else the checklist matches it by kind, as for any document)."""
    require(actor, "receive_referral")
    if kind not in DocumentKind.values or kind == DocumentKind.REPORT:
        raise DomainError("Choose what kind of document this part is.", code="document_kind")
    with files_removed_on_failure(), transaction.atomic():
        part = _part_claim(part_id)
        referral = Referral.objects.filter(pk=referral_id).first()
        if referral is None:
            raise NotFound("No such referral.")
        item = None
        if checklist_item_id is not None:
            item = ChecklistItem.objects.filter(pk=checklist_item_id, referral=referral).first()
            if item is None:
                raise DomainError(
                    f"That checklist item is not on {referral.number}.", code="checklist_item"
                )
        stored = document_add(
            referral_id=referral.pk,
            incoming=_part_incoming(part, kind),
            actor=actor,
            match_checklist=item is None,
        )
        if item is not None:
            checklist_item_set(
                item=item, status=ChecklistStatus.RECEIVED, actor=actor, document=stored
            )
        part.kind = kind
        part.checklist_item = item
        part.save(update_fields=["kind", "checklist_item"])
        _part_filed(part, referral=referral, document=stored, actor=actor)
    return part


def _part_filed(part: InboxPart, *, referral: Referral, document, actor) -> None:
    part.referral = referral
    part.referral_document = document
    part.filed_by = actor
    part.filed_at = timezone.now()
    part.save(update_fields=["referral", "referral_document", "filed_by", "filed_at"])
    _status_refresh(part.document)
    log.info("inbox part %s filed to referral %s", part.pk, referral.pk)


# Discarding -----------------------------------------------------------------------------------


@transaction.atomic
def inbox_document_discard(*, document_id: int, reason: str, actor) -> InboxDocument:
    """Junk, a duplicate, a cover sheet left over: discarded with the reason, kept all the same
    (parts already filed stay filed)."""
    require(actor, "receive_referral")
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why this document is discarded.", code="discard_reason")
    document = _document_locked(document_id)
    _require_open(document)
    document.parts.filter(filed_at__isnull=True).delete()
    document.status = InboxStatus.DISCARDED
    document.discard_reason = reason[:300]
    document.discarded_by = actor
    document.discarded_at = timezone.now()
    document.next_check_at = None
    document.save()
    return document
