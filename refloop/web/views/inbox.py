"""The document inbox: faxes and e-mails waiting to be split and filed.

A fax is PHI before anyone knows whose it is: every page that shows a document or its pages
writes the access log (with the patient once a part is filed to a referral).
"""

from django.contrib import messages
from django.core.files.base import ContentFile
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from refloop.core.access_log import access_log_write
from refloop.core.errors import DomainError
from refloop.core.models import AccessLogEntry
from refloop.directory.enums import DocumentKind
from refloop.inbox.models import InboxDocument, Source
from refloop.inbox.queries import (
    inbox_document_for_page,
    inbox_done,
    inbox_open,
    inbox_part_for_page,
    referral_for_filing,
)
from refloop.inbox.services import (
    inbox_document_discard,
    inbox_document_split,
    inbox_part_file_to_referral,
    page_ranges_parse,
    part_pdf,
)
from refloop.web.errors import domain_error_render
from refloop.web.views import requires

LIST_LIMIT = 200
SUFFIX = {"application/pdf": "pdf", "image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg"}
FILING_KINDS = [(k.value, k.label) for k in DocumentKind if k != DocumentKind.REPORT]


@requires("receive_referral")
def inbox(request):
    now = timezone.now()
    waiting = list(inbox_open()[: LIST_LIMIT + 1])
    show_done = request.GET.get("show") == "done"
    context = {
        "rows": [(d, d.clock_status(now)) for d in waiting[:LIST_LIMIT]],
        "more": len(waiting) > LIST_LIMIT,
        "done": inbox_done() if show_done else None,
        "show_done": show_done,
    }
    return render(request, "web/inbox/list.html", context)


def _document_or_404(pk: int) -> InboxDocument:
    document = inbox_document_for_page(document_id=pk)
    if document is None:
        raise Http404("No such inbox document.")
    return document


def _log(request, action: str, document: InboxDocument, patient_id=None) -> None:
    access_log_write(
        request=request,
        action=action,
        object_type="inbox_document",
        object_id=document.pk,
        patient_id=patient_id,
    )


def _page(request, document: InboxDocument, *, status=200, error: DomainError | None = None):
    _log(request, AccessLogEntry.Action.VIEW, document)
    parts = list(document.parts.all())
    context = {
        "document": document,
        "clock": document.clock_status(),
        "parts": parts,
        "filing_kinds": FILING_KINDS,
        "default_ranges": _ranges_text(parts, document.page_count),
        "source_label": Source(document.source).label,
    }
    if error is not None:
        return domain_error_render(request, error, "web/inbox/document.html", context)
    return render(request, "web/inbox/document.html", context, status=status)


def _ranges_text(parts, page_count: int) -> str:
    """What the split field starts with: the parts as they are, or every page as one."""
    if parts:
        return ", ".join(
            str(p.first_page) if p.first_page == p.last_page else f"{p.first_page}-{p.last_page}"
            for p in parts
        )
    return f"1-{page_count}" if page_count else ""


@requires("receive_referral")
def inbox_document(request, pk: int):
    return _page(request, _document_or_404(pk))


def _serve(request, field, *, name: str, content_type: str, attachment: bool):
    response = FileResponse(
        field.open("rb"), as_attachment=attachment, filename=name, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Shown in an <iframe> of our own pages: same-origin framing only (the default is DENY).
@xframe_options_sameorigin
@requires("receive_referral")
def inbox_document_view(request, pk: int):
    """The pages as one PDF, shown inline on the document page."""
    document = _document_or_404(pk)
    field = document.viewable or (
        document.original if document.content_type == "application/pdf" else None
    )
    if not field:
        raise Http404("This document has no pages to show.")
    _log(request, AccessLogEntry.Action.DOWNLOAD, document)
    return _serve(
        request,
        field,
        name=f"inbox-{document.pk}.pdf",
        content_type="application/pdf",
        attachment=False,
    )


@requires("receive_referral")
def inbox_document_original(request, pk: int):
    """The file exactly as it came (a fax's TIFF, an attachment we could not read)."""
    document = _document_or_404(pk)
    if not document.original:
        raise Http404("Nothing arrived with this document.")
    _log(request, AccessLogEntry.Action.DOWNLOAD, document)
    content_type = document.content_type or "application/octet-stream"
    return _serve(
        request,
        document.original,
        name=f"inbox-{document.pk}-original.{SUFFIX.get(content_type, 'bin')}",
        content_type=content_type,
        attachment=True,
    )


@require_POST
@requires("receive_referral")
def inbox_split(request, pk: int):
    document = _document_or_404(pk)
    try:
        ranges = page_ranges_parse(request.POST.get("ranges", ""))
        parts = inbox_document_split(document_id=pk, ranges=ranges, actor=request.user)
    except DomainError as error:
        return _page(request, document, error=error)
    messages.success(request, f"Split into {len(parts)} part{'s' if len(parts) != 1 else ''}.")
    return redirect("inbox_document", pk=pk)


@require_POST
@requires("receive_referral")
def inbox_discard(request, pk: int):
    document = _document_or_404(pk)
    try:
        inbox_document_discard(
            document_id=pk, reason=request.POST.get("reason", ""), actor=request.user
        )
    except DomainError as error:
        return _page(request, document, error=error)
    messages.success(request, f"Document {pk} discarded.")
    return redirect("inbox")


# Parts ----------------------------------------------------------------------------------------


def _part_or_404(pk: int):
    part = inbox_part_for_page(part_id=pk)
    if part is None:
        raise Http404("No such part.")
    return part


@xframe_options_sameorigin
@requires("receive_referral")
def inbox_part_view(request, pk: int):
    """The part's pages alone (beside the intake form, or before filing)."""
    part = _part_or_404(pk)
    if not part.document.page_count:
        raise Http404("This document has no pages to show.")
    _log(request, AccessLogEntry.Action.DOWNLOAD, part.document)
    return _serve(
        request,
        ContentFile(part_pdf(part)),
        name=f"inbox-{part.document_id}-part-{part.pk}.pdf",
        content_type="application/pdf",
        attachment=False,
    )


def intake_part(request):
    """The unfiled part the intake form files (?inbox_part=<id>), or None; its pages are shown
    beside the form."""
    raw = request.GET.get("inbox_part", "")
    if not raw:
        return None
    part = inbox_part_for_page(part_id=int(raw)) if raw.isdigit() else None
    if part is None:
        raise Http404("No such part.")
    _log(request, AccessLogEntry.Action.VIEW, part.document)
    return part


@requires("receive_referral")
def inbox_part_file(request, pk: int):
    """File a part to an existing referral: find it by number, then choose the checklist item
    the pages answer (or none: the checklist then matches them by kind)."""
    part = _part_or_404(pk)
    number = (request.POST if request.method == "POST" else request.GET).get("referral", "")
    referral = referral_for_filing(number=number) if number else None
    context = {
        "part": part,
        "document": part.document,
        "number": number,
        "referral": referral,
        "filing_kinds": FILING_KINDS,
        "not_found": bool(number) and referral is None,
    }
    if referral is not None:
        access_log_write(
            request=request,
            action=AccessLogEntry.Action.VIEW,
            object_type="referral",
            object_id=referral.pk,
            patient_id=referral.patient_id,
        )
    if request.method != "POST" or referral is None:
        status = 404 if context["not_found"] else 200
        return render(request, "web/inbox/part_file.html", context, status=status)
    item = request.POST.get("checklist_item", "")
    try:
        inbox_part_file_to_referral(
            part_id=part.pk,
            referral_id=referral.pk,
            checklist_item_id=int(item) if item.isdigit() else None,
            kind=request.POST.get("kind", DocumentKind.NOTES),
            actor=request.user,
        )
    except DomainError as error:
        return domain_error_render(request, error, "web/inbox/part_file.html", context)
    messages.success(
        request,
        f"Pages {part.pages_label} of document {part.document_id} filed to {referral.number}.",
    )
    return redirect(reverse("inbox_document", args=[part.document_id]))
