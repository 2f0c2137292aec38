"""Reads of the content library: what may be used, the library list, an item's history, the
review queue, and the claims flags of a version."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from refloop.content.claims import CompiledRule, Flag, claims_check, rules_active
from refloop.content.enums import ContentState
from refloop.content.models import ContentDecision, ContentItem, ContentVersion

# The library's state filter also offers "expired": approved, but past its expiry date.
EXPIRED = "expired"


def content_usable(*, item: ContentItem, on: dt.date) -> ContentVersion | None:
    """The item's newest version that is approved and unexpired on `on`, if any."""
    return (
        item.versions.filter(state=ContentState.APPROVED, expires_on__gte=on)
        .order_by("-number")
        .first()
    )


def version_claims(
    *, version: ContentVersion, rules: list[CompiledRule] | None = None
) -> list[Flag]:
    """The claims flags of a version's subject and body (positions are within each)."""
    rules = rules_active() if rules is None else rules
    flags = []
    for where, text in (("subject", version.subject), ("body", version.body)):
        flags += [dataclasses.replace(f, where=where) for f in claims_check(text, rules=rules)]
    return flags


def content_library(
    *,
    on: dt.date,
    kind: str = "",
    state: str = "",
    service_line_id: int | None = None,
) -> QuerySet[ContentItem]:
    """Items with their latest version's number, state and expiry annotated (one query), and
    filtered on them; `state` may be EXPIRED (approved, expiry before `on`)."""
    latest = ContentVersion.objects.filter(item=OuterRef("pk")).order_by("-number")
    usable = ContentVersion.objects.filter(
        item=OuterRef("pk"), state=ContentState.APPROVED, expires_on__gte=on
    ).order_by("-number")
    items = (
        ContentItem.objects.select_related("service_line")
        .annotate(
            latest_number=Subquery(latest.values("number")[:1]),
            latest_state=Subquery(latest.values("state")[:1]),
            latest_expires_on=Subquery(latest.values("expires_on")[:1]),
            usable_number=Subquery(usable.values("number")[:1]),
            usable_expires_on=Subquery(usable.values("expires_on")[:1]),
        )
        .order_by("title", "id")
    )
    if kind:
        items = items.filter(kind=kind)
    if service_line_id:
        items = items.filter(service_line_id=service_line_id)
    if state == EXPIRED:
        items = items.filter(latest_state=ContentState.APPROVED, latest_expires_on__lt=on)
    elif state == ContentState.APPROVED:
        items = items.filter(latest_state=state, latest_expires_on__gte=on)
    elif state:
        items = items.filter(latest_state=state)
    return items


def content_item_for_page(*, item_id: int) -> ContentItem | None:
    """An item with every version (newest first) and each version's audit rows and people."""
    decisions = ContentDecision.objects.select_related("user").order_by("at", "id")
    return (
        ContentItem.objects.select_related("service_line", "created_by")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ContentVersion.objects.select_related("created_by")
                .prefetch_related(Prefetch("decisions", queryset=decisions))
                .order_by("-number"),
            )
        )
        .filter(pk=item_id)
        .first()
    )


def content_version_for_page(*, version_id: int) -> ContentVersion | None:
    return (
        ContentVersion.objects.select_related("item", "item__service_line", "created_by")
        .filter(pk=version_id)
        .first()
    )


def content_review_queue() -> QuerySet[ContentVersion]:
    """Versions waiting for a compliance decision, the longest waiting first."""
    return (
        ContentVersion.objects.filter(state=ContentState.IN_REVIEW)
        .select_related("item", "item__service_line", "created_by")
        .order_by("state_changed_at", "id")
    )


def content_expiring(*, on: dt.date, within_days: int) -> QuerySet[ContentVersion]:
    """Approved versions whose approval ends within `within_days` of `on` (not yet past), whose
    author has not been told yet."""
    return ContentVersion.objects.filter(
        Q(state=ContentState.APPROVED)
        & Q(expires_on__gte=on, expires_on__lte=on + dt.timedelta(days=within_days))
        & Q(expiry_alerted_at__isnull=True)
    )


def content_usable_versions(*, on: dt.date, kind: str = "") -> QuerySet[ContentVersion]:
    """Every version usable on `on` (approved, unexpired), newest approval first: what a campaign
    or a visit may pick from. An item has one approved version at a time (approving a new one
    retires the old), so this is one per item."""
    versions = ContentVersion.objects.filter(state=ContentState.APPROVED, expires_on__gte=on)
    if kind:
        versions = versions.filter(item__kind=kind)
    return versions.select_related("item", "item__service_line").order_by("item__title", "item_id")


def line_content(*, service_line_id: int, kind: str, on: dt.date) -> ContentVersion | None:
    """The usable text of a kind for a service line (say its provider page), the most recently
    approved if several items qualify; None when nothing is approved and unexpired."""
    return (
        ContentVersion.objects.filter(
            item__service_line_id=service_line_id,
            item__kind=kind,
            state=ContentState.APPROVED,
            expires_on__gte=on,
        )
        .select_related("item")
        .order_by("-state_changed_at", "-id")
        .first()
    )
