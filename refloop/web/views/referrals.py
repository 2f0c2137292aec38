"""Staff intake, the referral page and its actions, and the documents."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from refloop.access.queries import patient_section
from refloop.core.access_log import access_log_write
from refloop.core.errors import Conflict, DomainError, NotAllowed
from refloop.core.models import AccessLogEntry
from refloop.inbox.services import inbox_part_file_new_referral, source_channel
from refloop.loop.queries import loop_for_page
from refloop.loop.services.reports import WRITABLE_STATES
from refloop.messaging.queries import messages_for_referral
from refloop.referrals.enums import BlockerKind, ChecklistStatus
from refloop.referrals.models import Document, Referral
from refloop.referrals.queries import (
    open_referrals_of_patient,
    referral_for_page,
    referral_timeline,
    timeline_names,
)
from refloop.referrals.services import referral_receive
from refloop.web.actions import ACTIONS, action_label
from refloop.web.errors import domain_error_render
from refloop.web.forms import IntakeForm
from refloop.web.views import requires
from refloop.web.views.calendar import booking_choices
from refloop.web.views.inbox import intake_part

# Intake ---------------------------------------------------------------------------------------


@requires("receive_referral")
def referral_new(request):
    """Fax and phone referrals typed in by intake; the same way in as every channel. With
    ?inbox_part=<id> the form files pages from the document inbox, shown beside it."""
    part = intake_part(request)
    posted = request.method == "POST"
    initial = {"channel": source_channel(part.document.source)} if part else None
    form = IntakeForm(
        request.POST if posted else None, request.FILES if posted else None, initial=initial
    )
    template = "web/inbox/referral_new.html" if part else "web/referral_new.html"
    context = {
        "form": form,
        "duplicates": [],
        "max_upload_mb": settings.REFLOOP_MAX_UPLOAD_BYTES // 1_000_000,
        "inbox_part": part,
    }
    if not posted:
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=400)
    data = form.cleaned_data
    duplicates = open_referrals_of_patient(
        first_name=data["first_name"],
        last_name=data["last_name"],
        birth_date=data["birth_date"],
        service_line_id=data["service_line"].pk,
    )
    if duplicates and not data["receive_anyway"]:
        context["duplicates"] = duplicates
        context["files_dropped"] = bool(form.incoming)
        return render(request, template, context, status=200)
    try:
        if part:
            result = inbox_part_file_new_referral(
                part_id=part.pk, submission=form.submission(), actor=request.user
            )
        else:
            result = referral_receive(submission=form.submission(), actor=request.user)
    except DomainError as error:
        return domain_error_render(request, error, template, context)
    messages.success(request, f"Referral {result.referral.number} received.")
    return redirect("referral_detail", pk=result.referral.pk)


# The referral page ----------------------------------------------------------------------------


def _referral_or_404(pk: int) -> Referral:
    referral = referral_for_page(referral_id=pk)
    if referral is None:
        raise Http404("No such referral.")
    return referral


def _page_context(request, referral: Referral, bound=None) -> dict:
    """Everything the page shows, with a fresh form for each action this person may take here
    (or the form they just sent, with its errors)."""
    user = request.user
    now = timezone.now()
    forms = {}
    for action in ACTIONS.values():
        if not action.allowed(referral, user):
            continue
        if bound and bound.prefix == action.name:
            forms[action.name] = bound
        else:
            forms[action.name] = action.form_class(
                prefix=action.name, initial={"version": referral.version}
            )
    panel = [
        {"action": a, "label": action_label(a, referral), "form": forms[a.name]}
        for a in ACTIONS.values()
        if a.panel and a.name in forms
    ]
    blockers = list(referral.blockers.all())
    timeline = referral_timeline(referral_id=referral.pk)
    return {
        "referral": referral,
        "patient": referral.patient,
        "clocks": [(clock, clock.status(now)) for clock in referral.clocks.all()],
        "open_blockers": [b for b in blockers if b.is_open],
        "resolved_blockers": [b for b in blockers if not b.is_open],
        "blocker_labels": dict(BlockerKind.choices),
        "checklist_statuses": ChecklistStatus.choices,
        "timeline": timeline,
        "timeline_names": timeline_names(entries=timeline),
        "patient_contact": patient_section(referral=referral),
        "panel": panel,
        "forms": forms,
        "loop": loop_for_page(referral_id=referral.pk),
        "report_writable_states": WRITABLE_STATES,
        "outbound_messages": messages_for_referral(referral_id=referral.pk),
        "booking": booking_choices(referral, user, forms),
        "open_action": bound.prefix if bound else "",
        # Forms typed straight into the page's sections show their errors at the top.
        "bound_errors": bound.errors
        if bound is not None and not _shows_errors(bound, panel)
        else {},
    }


def _shows_errors(bound, panel) -> bool:
    return any(item["form"] is bound for item in panel) or bound.prefix in {"blocker_open", "note"}


def _render_page(request, referral, *, bound=None, error: DomainError | None = None, status=200):
    # Showing the page is a read of the patient's referral, whatever brought the person here.
    access_log_write(
        request=request,
        action=AccessLogEntry.Action.VIEW,
        object_type="referral",
        object_id=referral.pk,
        patient_id=referral.patient_id,
    )
    context = _page_context(request, referral, bound)
    if error is not None:
        return domain_error_render(request, error, "web/referral_detail.html", context)
    return render(request, "web/referral_detail.html", context, status=status)


@requires("view_phi")
def referral_detail(request, pk: int):
    return _render_page(request, _referral_or_404(pk))


@require_POST
@requires("view_phi")
def referral_act(request, pk: int, action: str):
    """One action on the referral, on the version the person saw; then back to the page."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action.")
    referral = Referral.objects.filter(pk=pk).first()
    if referral is None:
        raise Http404("No such referral.")
    form = spec.form_class(request.POST, request.FILES, prefix=action)
    if not form.is_valid():
        return _render_page(request, _referral_or_404(pk), bound=form, status=400)
    try:
        if form.cleaned_data["version"] != referral.version:
            raise Conflict("Someone else changed this referral.")
        if not spec.allowed(referral, request.user):
            raise NotAllowed("This action is not open to you on this referral now.")
        done = spec.run(referral, request.user, form.cleaned_data, form)
    except DomainError as error:
        # Show the referral as it is now, with fresh forms on the new version.
        return _render_page(request, _referral_or_404(pk), error=error)
    messages.success(request, done)
    return redirect("referral_detail", pk=pk)


# Documents ------------------------------------------------------------------------------------

SUFFIX = {"application/pdf": "pdf", "image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg"}


def _document_or_404(pk: int) -> Document:
    document = (
        Document.objects.select_related("referral")
        .only(
            "id",
            "kind",
            "original",
            "viewable",
            "content_type",
            "referral__id",
            "referral__patient_id",
        )
        .filter(pk=pk)
        .first()
    )
    if document is None:
        raise Http404("No such document.")
    return document


def _serve(request, document: Document, *, original: bool) -> FileResponse:
    if not request.user.has_perm("core.view_phi"):
        raise PermissionDenied
    access_log_write(
        request=request,
        action=AccessLogEntry.Action.DOWNLOAD,
        object_type="document",
        object_id=document.pk,
        patient_id=document.referral.patient_id,
    )
    if original or not document.viewable:
        field, content_type = document.original, document.content_type
    else:
        field, content_type = document.viewable, "application/pdf"
    # The file name carries the referral number and document id, never the patient's name.
    name = f"{document.referral.number}-document-{document.pk}.{SUFFIX.get(content_type, 'bin')}"
    response = FileResponse(
        field.open("rb"), as_attachment=original, filename=name, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@requires("view_phi")
def document_view(request, pk: int):
    return _serve(request, _document_or_404(pk), original=False)


@requires("view_phi")
def document_original(request, pk: int):
    return _serve(request, _document_or_404(pk), original=True)
