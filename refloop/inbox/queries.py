"""Reads of the document inbox."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from refloop.alerts.queries import holders_of
from refloop.core.roles import Role
from refloop.inbox.models import OPEN_STATUSES, InboxDocument, InboxPart
from refloop.referrals.models import ChecklistItem, Referral

LIST_FIELDS = (
    "id",
    "source",
    "provider",
    "sender",
    "received_at",
    "page_count",
    "status",
    "error",
    "at_risk_at",
    "due_at",
    "filename",
)


def inbox_open() -> QuerySet[InboxDocument]:
    """Waiting for a coordinator, oldest first (the one closest to its due time on top)."""
    return (
        InboxDocument.objects.filter(status__in=OPEN_STATUSES)
        .only(*LIST_FIELDS)
        .annotate(filed_parts=Count("parts", filter=Q(parts__filed_at__isnull=False)))
        .order_by("received_at", "pk")
    )


def inbox_done(*, limit: int = 50) -> list[InboxDocument]:
    """The most recently received of those filed or discarded."""
    return list(
        InboxDocument.objects.exclude(status__in=OPEN_STATUSES)
        .only(*LIST_FIELDS)
        .annotate(filed_parts=Count("parts", filter=Q(parts__filed_at__isnull=False)))
        .order_by("-received_at", "-pk")[:limit]
    )


def inbox_document_for_page(*, document_id: int) -> InboxDocument | None:
    return (
        InboxDocument.objects.select_related("discarded_by")
        .prefetch_related(_parts_prefetch())
        .filter(pk=document_id)
        .first()
    )


def _parts_prefetch():
    from django.db.models import Prefetch

    return Prefetch(
        "parts",
        queryset=InboxPart.objects.select_related(
            "referral", "filed_by", "checklist_item"
        ).order_by("first_page"),
    )


def inbox_part_for_page(*, part_id: int) -> InboxPart | None:
    return InboxPart.objects.select_related("document", "referral").filter(pk=part_id).first()


def referral_for_filing(*, number: str) -> Referral | None:
    """The referral a part is filed to, by the number the coordinator typed, with its checklist."""
    pk = Referral.pk_from_number(number or "")
    if pk is None:
        return None
    return (
        Referral.objects.select_related("patient", "service_line")
        .prefetch_related("checklist")
        .filter(pk=pk)
        .first()
    )


def unfiled_alert_recipients() -> list[int]:
    """Who hears of an unfiled document: the intake coordinators (their work), or, in a
    practice without any, everyone who may receive referrals."""
    coordinators = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.INTAKE.label)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return coordinators or holders_of("receive_referral")


def checklist_of(*, referral_id: int) -> list[ChecklistItem]:
    return list(ChecklistItem.objects.filter(referral_id=referral_id).order_by("pk"))
