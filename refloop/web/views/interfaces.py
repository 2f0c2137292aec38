"""Interfaces: the HL7 v2 messages partners sent (failed first), one message with its raw text
(PHI: access logged) to correct and replay, and the patient-merge review queue."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from refloop.core.access_log import access_log_write, access_log_write_many
from refloop.core.errors import DomainError
from refloop.interop.hl7v2.models import Hl7Message
from refloop.interop.hl7v2.queries import (
    merge_reviews,
    message_for_page,
    message_patient_id,
    messages_for_list,
)
from refloop.interop.hl7v2.services import merge_review_decide, message_replay
from refloop.web.views import query_with, requires

PAGE_SIZE = 50
# Intake coordinators and managers (and admins) run the interfaces.
PERMISSION = "receive_referral"


@requires(PERMISSION)
def message_list(request):
    """Type, sender, control id, status and the problem: no patient data, so no access log."""
    status = request.GET.get("status", "")
    page = Paginator(messages_for_list(status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": Hl7Message.Status.choices,
        "pending_merges": merge_reviews().count(),
        "previous_query": query_with(request.GET, page=page.number - 1),
        "next_query": query_with(request.GET, page=page.number + 1),
    }
    return render(request, "web/interfaces/messages.html", context)


@requires(PERMISSION)
def message_detail(request, pk: int):
    message = _message_or_404(pk)
    access_log_write(
        request=request,
        action="view",
        object_type="hl7_message",
        object_id=message.pk,
        patient_id=message_patient_id(message),
    )
    context = {
        "message": message,
        "raw": message.raw_text.replace("\r", "\n"),
        "ack": bytes(message.ack).decode("utf-8", "replace").replace("\r", "\n")
        if message.ack
        else "",
        "replays": message.replays.order_by("-id").only("id", "status", "received_at"),
    }
    return render(request, "web/interfaces/message.html", context)


@require_POST
@requires(PERMISSION)
def message_replay_view(request, pk: int):
    message = _message_or_404(pk)
    try:
        replay = message_replay(
            message_id=message.pk, raw_text=request.POST.get("raw", ""), actor=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("hl7_message", pk=message.pk)
    messages.success(request, f"Replayed as message {replay.pk}: {replay.get_status_display()}.")
    return redirect("hl7_message", pk=replay.pk)


@requires(PERMISSION)
def merge_list(request):
    """The merges partners asked for (MRNs and the patients they name: access logged)."""
    show_all = request.GET.get("all") == "1"
    reviews = list(merge_reviews(pending_only=not show_all)[:PAGE_SIZE])
    rows = [
        (review.pk, patient_id)
        for review in reviews
        for patient_id in {review.surviving_patient_id, review.prior_patient_id} - {None}
    ]
    if rows:
        access_log_write_many(request=request, action="list", object_type="merge_review", rows=rows)
    return render(request, "web/interfaces/merges.html", {"reviews": reviews, "show_all": show_all})


@require_POST
@requires(PERMISSION)
def merge_decide(request, pk: int):
    decision = request.POST.get("decision")
    try:
        review = merge_review_decide(
            review_id=pk,
            apply=decision == "apply",
            actor=request.user,
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Merge review {review.pk}: {review.result}")
    return redirect("hl7_merges")


def _message_or_404(pk: int) -> Hl7Message:
    message = message_for_page(message_id=pk)
    if message is None:
        raise Http404
    return message
