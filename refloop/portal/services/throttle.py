"""Fixed-window counters in the database (portal.RateCount): shared by every web process."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from refloop.portal.models import RateCount

KEEP = dt.timedelta(days=1)


def window_start(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, tz=dt.UTC)


def _key(scope: str, key: str) -> str:
    return hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()


def rate_count(
    *, scope: str, key: str, window: dt.timedelta, now: dt.datetime | None = None
) -> int:
    """How many times `key` counted in the current window."""
    start = window_start(now or timezone.now(), window)
    row = RateCount.objects.filter(scope=scope, key=_key(scope, key), window_start=start).first()
    return row.count if row else 0


def rate_count_add(
    *, scope: str, key: str, window: dt.timedelta, now: dt.datetime | None = None
) -> int:
    """Count one more in the current window; returns the new count. Two processes counting at
    once both count: the UPDATE is atomic, and the create that loses the race updates instead."""
    start = window_start(now or timezone.now(), window)
    rows = RateCount.objects.filter(scope=scope, key=_key(scope, key), window_start=start)
    if not rows.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                RateCount.objects.create(
                    scope=scope, key=_key(scope, key), window_start=start, count=1
                )
        except IntegrityError:
            rows.update(count=F("count") + 1)
    return rows.values_list("count", flat=True).first() or 0


def rate_count_clear(*, scope: str, key: str) -> None:
    RateCount.objects.filter(scope=scope, key=_key(scope, key)).delete()


def rate_counts_prune(*, now: dt.datetime) -> int:
    """Old windows count for nothing: drop them."""
    deleted, _ = RateCount.objects.filter(window_start__lt=now - KEEP).delete()
    return deleted
