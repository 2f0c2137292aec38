"""Raising alerts. An alert is inserted under a key unique per person, so raising it again (two
schedulers, a retried pass) changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from refloop.alerts.models import Alert


@dataclass(frozen=True)
class AlertSpec:
    key: str
    recipient_ids: tuple[int, ...]
    text: str
    kind: str
    referral_id: int | None = None
    level: str = Alert.Level.WARNING


def alerts_raise(*, specs: list[AlertSpec], now: dt.datetime | None = None) -> int:
    """Insert the alerts that are not there yet; returns how many rows were offered."""
    now = now or timezone.now()
    rows = [
        Alert(
            key=spec.key,
            recipient_id=recipient_id,
            referral_id=spec.referral_id,
            level=spec.level,
            kind=spec.kind,
            text=spec.text[:300],
            created_at=now,
        )
        for spec in specs
        for recipient_id in spec.recipient_ids
    ]
    Alert.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def alerts_mark_read(*, user, alert_ids: list[int] | None = None) -> int:
    """Mark the person's own alerts read (all of them when no ids are given)."""
    rows = Alert.objects.filter(recipient=user, read_at__isnull=True)
    if alert_ids is not None:
        rows = rows.filter(pk__in=alert_ids)
    return rows.update(read_at=timezone.now())
