"""Documents on a referral: checked by their bytes, TIFF faxes converted to PDF for viewing."""

from __future__ import annotations

import io
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageSequence, UnidentifiedImageError

from refloop.core.errors import DomainError
from refloop.referrals.enums import CHECKLIST_DONE, BlockerKind, ChecklistStatus, EventKind
from refloop.referrals.models import ChecklistItem, Document, Referral

# Recognised by their first bytes, never by the name the sender gave.
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


@dataclass(frozen=True)
class IncomingDocument:
    kind: str
    filename: str
    content: bytes
    title: str = ""

    @property
    def content_type(self) -> str | None:
        for signature, content_type in SIGNATURES.items():
            if self.content.startswith(signature):
                return content_type
        return None


def document_check(incoming: IncomingDocument) -> str:
    """Refuse what we cannot keep, with a message that names the file; returns its type."""
    limit = settings.REFLOOP_MAX_UPLOAD_BYTES
    if not incoming.content:
        raise DomainError(f"'{incoming.filename}' is empty.", code="empty_file")
    if len(incoming.content) > limit:
        raise DomainError(
            f"'{incoming.filename}' is {len(incoming.content) / 1e6:.1f} MB; the limit is "
            f"{limit / 1e6:.0f} MB.",
            code="file_too_large",
        )
    content_type = incoming.content_type
    if content_type is None:
        raise DomainError(
            f"'{incoming.filename}' is not a PDF, TIFF, PNG or JPEG file.", code="file_type"
        )
    return content_type


def tiff_to_pdf(content: bytes) -> tuple[bytes, int]:
    """Every page of a (fax) TIFF as one PDF; returns the PDF and its page count."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            pages = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError) as exc:
        raise DomainError(
            "This TIFF file is damaged and cannot be read.", code="file_damaged"
        ) from exc
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=200)
    return out.getvalue(), len(pages)


def document_copy(*, document: Document, referral: Referral) -> Document:
    """The same stored file on another referral (a redirected referral takes its documents)."""
    return Document.objects.create(
        referral=referral,
        kind=document.kind,
        title=document.title,
        original=document.original.name,
        content_type=document.content_type,
        size=document.size,
        viewable=document.viewable.name,
        pages=document.pages,
        uploaded_by=document.uploaded_by,
    )


def document_store(*, referral: Referral, incoming: IncomingDocument, actor) -> Document:
    """Write one checked document. Call inside a transaction; files written are removed again if
    it rolls back, so a failed intake leaves nothing half-saved."""
    content_type = document_check(incoming)
    document = Document(
        referral=referral,
        kind=incoming.kind,
        title=incoming.title or incoming.filename[:200],
        content_type=content_type,
        size=len(incoming.content),
        uploaded_by=actor,
    )
    if content_type == "image/tiff":
        pdf, document.pages = tiff_to_pdf(incoming.content)
        document.viewable.save("view.pdf", ContentFile(pdf), save=False)
        _remove_on_rollback(document.viewable)
    document.original.save(incoming.filename, ContentFile(incoming.content), save=False)
    _remove_on_rollback(document.original)
    document.save()
    return document


_written: ContextVar[list | None] = ContextVar("documents_written", default=None)


def _remove_on_rollback(field_file) -> None:
    written = _written.get()
    if written is not None:
        written.append((field_file.name, field_file.storage))


@contextmanager
def files_removed_on_failure():
    """Around a transaction that stores documents: if it fails, the files it wrote go too.
    Nested inside another, the files of a block that succeeded are handed to the outer one, so
    they go if the outer transaction fails later."""
    outer = _written.get()
    written: list = []
    token = _written.set(written)
    try:
        yield
    except BaseException:
        for name, storage in written:
            storage.delete(name)
        raise
    else:
        if outer is not None:
            outer.extend(written)
    finally:
        _written.reset(token)


def document_add(
    *, referral_id: int, incoming: IncomingDocument, actor, match_checklist: bool = True
) -> Document:
    """Store a document on the referral. Letters we write ourselves (a records request, a decline
    letter) pass match_checklist=False: they must never tick off an item the sender owes us."""
    from refloop.referrals.services.lifecycle import event_append, referral_claim, require

    require(actor, "receive_referral", "schedule_referral", "close_referral")
    document_check(incoming)
    with files_removed_on_failure(), transaction.atomic():
        referral = referral_claim(referral_id=referral_id)
        document = document_store(referral=referral, incoming=incoming, actor=actor)
        event_append(
            referral=referral,
            kind=EventKind.DOCUMENT_ADDED,
            actor=actor,
            occurred_at=timezone.now(),
            code=document.kind,
            details={"document_id": document.pk},
        )
        if match_checklist:
            checklist_match(referral=referral, document=document, actor=actor)
    return document


def checklist_match(*, referral: Referral, document: Document, actor) -> None:
    """A document of a kind the checklist still needs ticks that item off."""
    item = (
        referral.checklist.exclude(status__in=CHECKLIST_DONE)
        .filter(document_kind=document.kind)
        .first()
    )
    if item:
        checklist_item_set(
            item=item, status=ChecklistStatus.RECEIVED, actor=actor, document=document
        )


@transaction.atomic
def checklist_item_set(
    *,
    item: ChecklistItem,
    status: str,
    actor,
    document: Document | None = None,
    expected_version: int | None = None,
):
    from refloop.referrals.services.lifecycle import (
        blocker_open,
        blocker_resolve,
        event_append,
        referral_claim,
        require,
    )

    require(actor, "receive_referral", "schedule_referral", "close_referral")
    if status not in ChecklistStatus.values:
        raise DomainError("Unknown checklist status.", code="checklist_status")
    if expected_version is not None:
        referral_claim(referral_id=item.referral_id, expected_version=expected_version)
    now = timezone.now()
    item.status = status
    item.document = document or item.document
    item.updated_at = now
    item.save()
    referral = item.referral
    event_append(
        referral=referral,
        kind=EventKind.CHECKLIST,
        actor=actor,
        occurred_at=now,
        code=status,
        details={"item": item.name},
    )
    missing = referral.checklist.exclude(status__in=CHECKLIST_DONE).exists()
    has_blocker = referral.blockers.filter(
        kind=BlockerKind.MISSING_RECORDS, resolved_at__isnull=True
    ).exists()
    if missing and not has_blocker and referral.is_open:
        blocker_open(referral_id=referral.pk, kind=BlockerKind.MISSING_RECORDS, actor=actor)
    elif not missing and has_blocker:
        blocker_resolve(referral_id=referral.pk, kind=BlockerKind.MISSING_RECORDS, actor=actor)
