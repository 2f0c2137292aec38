"""Reads of campaigns: the list, one campaign's results, the managers' held queue."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from refloop.campaigns.enums import CampaignState, RecipientState
from refloop.campaigns.models import Campaign, CampaignEvent, CampaignRecipient, Suppression


def address_suppressed(*, email: str) -> bool:
    return Suppression.objects.filter(email=email.strip().lower()).exists()


def campaign_list(*, state: str | None = None) -> QuerySet[Campaign]:
    """Every campaign with what the list shows, in one query (no per-row reads)."""
    rows = Campaign.objects.select_related(
        "target_list", "content_item", "service_line", "created_by"
    ).annotate(
        sent_count=Count("recipients", filter=Q(recipients__state=RecipientState.SENT)),
    )
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-created_at", "-id")


def campaigns_held() -> QuerySet[Campaign]:
    return campaign_list(state=CampaignState.HELD).order_by("scheduled_at", "id")


def campaign_get(*, campaign_id: int) -> Campaign | None:
    return (
        Campaign.objects.select_related(
            "target_list",
            "content_item",
            "content_version",
            "service_line",
            "created_by",
            "hold_decided_by",
        )
        .filter(pk=campaign_id)
        .first()
    )


def campaign_counts(*, campaign_id: int) -> dict[str, int]:
    """Recipients by state, opens and clicks (counted plainly: one row per address)."""
    totals = CampaignRecipient.objects.filter(campaign_id=campaign_id).aggregate(
        total=Count("id"),
        **{
            state: Count("id", filter=Q(state=state))
            for state in (
                RecipientState.QUEUED,
                RecipientState.SENT,
                RecipientState.FAILED,
                RecipientState.SUPPRESSED,
            )
        },
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
    )
    return {key: int(value or 0) for key, value in totals.items()}


def campaign_events(*, campaign_id: int) -> QuerySet[CampaignEvent]:
    return CampaignEvent.objects.filter(campaign_id=campaign_id).select_related("actor")


def campaign_failures(*, campaign_id: int, limit: int = 200) -> QuerySet[CampaignRecipient]:
    """Addresses that were not sent, and why (failed or suppressed): referrers' offices, not
    patients."""
    return (
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id,
            state__in=(RecipientState.FAILED, RecipientState.SUPPRESSED),
        )
        .only("id", "email", "name", "state", "error")
        .order_by("state", "email")[:limit]
    )


def recipient_by_token(*, token: str) -> CampaignRecipient | None:
    if not token or len(token) > 64:
        return None
    return (
        CampaignRecipient.objects.select_related("campaign", "campaign__content_version")
        .filter(token=token)
        .first()
    )
