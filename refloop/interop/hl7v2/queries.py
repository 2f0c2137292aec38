"""Reads of the HL7 v2 interface for the staff app."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from refloop.directory.models import Patient
from refloop.interop.hl7v2.models import Hl7Message, MergeReview
from refloop.interop.hl7v2.parsing import Reader, message_parse, text_of

# What the list shows: type, sender, control id, status, the problem. Never the raw message.
LIST_FIELDS = (
    "id",
    "sender",
    "control_id",
    "message_type",
    "trigger",
    "received_at",
    "status",
    "error",
    "ack_code",
    "replay_count",
    "replay_of_id",
)


def messages_for_list(*, status: str = "") -> QuerySet[Hl7Message]:
    """Failed first (errors, then any left unprocessed), newest first within each."""
    rows = Hl7Message.objects.only(*LIST_FIELDS).annotate(
        problem=Case(
            When(status=Hl7Message.Status.ERROR, then=Value(0)),
            When(status=Hl7Message.Status.RECEIVED, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    )
    if status in Hl7Message.Status.values:
        rows = rows.filter(status=status)
    return rows.order_by("problem", "-received_at", "-id")


def message_for_page(*, message_id: int) -> Hl7Message | None:
    return (
        Hl7Message.objects.select_related("referral", "replay_of", "partner", "replayed_by")
        .filter(pk=message_id)
        .first()
    )


def merge_reviews(*, pending_only: bool = True) -> QuerySet[MergeReview]:
    rows = MergeReview.objects.select_related(
        "message", "surviving_patient", "prior_patient", "decided_by"
    )
    if pending_only:
        rows = rows.filter(status=MergeReview.Status.PENDING)
    return rows.order_by("status", "-created_at", "-id")


def message_patient_id(message: Hl7Message) -> int | None:
    """The patient a message is about, for the access log: its referral's, else ours with the
    MRN in PID-3 (an ADT), else None (not one of our patients, or no PID to read)."""
    if message.referral_id:
        return message.referral.patient_id
    from refloop.interop.hl7v2.handlers.common import mrn_of

    try:
        reader = Reader(message_parse(text_of(bytes(message.raw)), keep=frozenset({"PID"})))
        mrn = mrn_of(reader) if reader.has("PID") else ""
    except Exception:  # noqa: BLE001 - an unreadable message names nobody we can find
        return None
    return Patient.objects.filter(mrn=mrn).values_list("pk", flat=True).first() if mrn else None
